package pbs_test

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/hcilab/terraform-provider-pve/internal/acctest"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/pbssim"
)

func slowDatastoreConfig(timeout string) string {
	return `
resource "pve_pbs_datastore" "slow" {
  name     = "slow"
  path     = "/mnt/datastore/slow"
  timeouts = { create = "` + timeout + `" }
}
`
}

// A datastore create PBS accepted whose task outlasts the create timeout
// leaves a tainted resource, not an orphan: the next apply replaces it
// (before, it failed "datastore slow exists already: import it").
func TestAccPBSDatastore_createTimeoutNoOrphan(t *testing.T) {
	s, err := pbssim.Start(pbssim.Options{TaskDuration: 3 * time.Second, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	provider := acctest.PBSProviderBlock(nil, s)
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkDatastoreGone(t, s, "slow", "/mnt/datastore/slow", true),
		Steps: []resource.TestStep{
			{
				Config:      provider + slowDatastoreConfig("1s"),
				ExpectError: regexp.MustCompile(`(?s)Unable to Create PBS Datastore`),
			},
			{
				Config: provider + slowDatastoreConfig("5m"),
				Check: func(*terraform.State) error {
					_, _, err := client(t, s).Datastore(context.Background(), "slow")
					return err
				},
			},
		},
	})
}
