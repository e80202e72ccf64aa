package storage_test

import (
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/hcilab/terraform-provider-pve/internal/acctest"
)

// Filters by content: local-lvm has no ISO images; a storage that does not
// exist is an error; a bad content type is refused at plan time.
func TestAccStorageContentDataSource(t *testing.T) {
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: `data "pve_storage_content" "none" {
  node    = "pve3"
  storage = "local-lvm"
  content = "iso"
}`,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.pve_storage_content.none", tfjsonpath.New("volumes"), knownvalue.ListSizeExact(0)),
				},
			},
			{
				Config:      "data \"pve_storage_content\" \"missing\" {\n  node    = \"pve1\"\n  storage = \"nfs\"\n}",
				ExpectError: regexp.MustCompile(`(?s)Unable to Read Storage Content.*storage 'nfs' does not exist`),
			},
		},
	})
	acctest.ExpectPlanError(t, "data \"pve_storage_content\" \"bad\" {\n  node    = \"pve1\"\n  storage = \"local\"\n  content = \"isos\"\n}",
		regexp.MustCompile(`(?s)content.*value must be one of`))
}
