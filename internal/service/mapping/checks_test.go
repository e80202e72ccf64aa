package mapping

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/hcilab/terraform-provider-pve/internal/pve"
	"github.com/hcilab/terraform-provider-pve/internal/testlab"
)

// labClient starts a lab of its own (this package's acceptance tests go
// through the provider; these call the checks directly).
func labClient(t *testing.T) *pve.Client {
	t.Helper()
	lab, err := testlab.Start(testlab.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lab.Close() })
	c, err := pve.New(context.Background(), pve.Config{Endpoint: lab.Endpoint(), APIToken: lab.APIToken(), TLSFingerprint: lab.Fingerprint()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestEntryRoundTrip(t *testing.T) {
	for _, in := range []string{
		"node=pve1,path=0000:01:00,id=10de:2204,subsystem-id=1458:403b,iommugroup=2,description=GPU",
		"node=pve2,path=0000:01:00.0;0000:02:00.0,id=10de:2204",
	} {
		o, err := entryFromAPI(pciEntryKeys, in)
		if err != nil {
			t.Fatal(err)
		}
		if got := entryToAPI(pciEntryKeys, o); got != in {
			t.Errorf("round trip %q -> %q", in, got)
		}
	}
	if _, err := entryFromAPI(pciEntryKeys, "node=pve1,path=0000:01:00,id=10de:2204,iommugroup=x"); err == nil {
		t.Error("a non-numeric IOMMU group should fail")
	}
	if got := devicePath("0000:01:00.1"); got != "0000:01:00" {
		t.Errorf("devicePath = %q", got)
	}
}

// A mapping whose pve3 entry names a GPU pve3 does not have, and whose pve1
// entry maps only the GPU's first function (its audio function shares the
// IOMMU group): the checks warn about both, and only about those.
func TestCheckNodesWarns(t *testing.T) {
	c := labClient(t)
	ctx := context.Background()
	entries := []string{
		"node=pve1,path=0000:01:00.0,id=10de:2204,subsystem-id=1458:403b,iommugroup=2",
		"node=pve2,path=0000:01:00,id=10de:2204,subsystem-id=1458:403b,iommugroup=2",
		"node=pve3,path=0000:01:00.0,id=10de:2204,subsystem-id=1458:403b,iommugroup=2",
	}
	if err := c.CreateMapping(ctx, pve.PCIMapping, "gpu", url.Values{"map": entries}); err != nil {
		t.Fatal(err)
	}
	r := NewPCIResource().(*mappingResource)
	var elems []attr.Value
	for _, e := range entries {
		o, err := entryFromAPI(pciEntryKeys, e)
		if err != nil {
			t.Fatal(err)
		}
		elems = append(elems, o)
	}
	m := mappingModel{Name: types.StringValue("gpu"), Map: types.SetValueMust(r.entryType(), elems)}
	var diags diag.Diagnostics
	r.checkNodes(ctx, c, m, &diags)
	if diags.HasError() {
		t.Fatalf("checks are warnings, got errors: %v", diags)
	}
	var texts []string
	for _, d := range diags.Warnings() {
		texts = append(texts, d.Summary()+": "+d.Detail())
	}
	all := strings.Join(texts, "\n")
	if len(texts) != 2 {
		t.Fatalf("want 2 warnings (pve3's missing GPU, pve1's shared IOMMU group), got %d:\n%s", len(texts), all)
	}
	for _, want := range []string{"on node pve3", "not found", "IOMMU Group Shared", "node pve1", "0000:01:00.1"} {
		if !strings.Contains(all, want) {
			t.Errorf("warnings do not mention %q:\n%s", want, all)
		}
	}
}
