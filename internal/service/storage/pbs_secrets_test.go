package storage

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// A version 0 state (password and encryption_key stored) upgrades to
// version 1 with both gone and the rest kept.
func TestPBSStateUpgrade(t *testing.T) {
	ctx := context.Background()
	r := &pbsResource{}
	old := `{"id":"backup","storage_id":"backup","server":"pbs1","port":8007,"datastore":"ds1","namespace":null,
"username":"root@pam","password":"s3cret","fingerprint":null,"encryption_key":"autogen",
"generated_encryption_key":"{\"data\":\"x\"}","content":["backup"],"nodes":null,"disable":null,"prune_backups":null}`
	up := r.UpgradeState(ctx)[0]
	var resp resource.UpgradeStateResponse
	up.StateUpgrader(ctx, resource.UpgradeStateRequest{RawState: &tfprotov6.RawState{JSON: []byte(old)}}, &resp)
	if resp.Diagnostics.HasError() {
		t.Fatal(resp.Diagnostics)
	}
	var sch resource.SchemaResponse
	r.Schema(ctx, resource.SchemaRequest{}, &sch)
	val, err := resp.DynamicValue.Unmarshal(sch.Schema.Type().TerraformType(ctx))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]tftypes.Value
	if err := val.As(&m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"password", "encryption_key", "password_version", "allow_encryption_key_loss"} {
		if !m[k].IsNull() {
			t.Errorf("%s after the upgrade: %v, want null", k, m[k])
		}
	}
	var key, server string
	_ = m["generated_encryption_key"].As(&key)
	_ = m["server"].As(&server)
	if key != `{"data":"x"}` || server != "pbs1" {
		t.Errorf("kept values: generated_encryption_key %q, server %q", key, server)
	}
}
