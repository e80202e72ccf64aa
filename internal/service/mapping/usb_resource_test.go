package mapping_test

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/hcilab/terraform-provider-pve/internal/acctest"
)

func upsMapping(entries string) string {
	return `
resource "pve_mapping_usb" "ups" {
  name        = "ups"
  description = "APC Back-UPS"
  map = [
` + entries + `
  ]
}
`
}

// The UPS by vendor:product on pve1, then also by port; imported.
func TestAccMappingUSB_basic(t *testing.T) {
	const byID = `    { node = "pve1", id = "051d:0002" },`
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkMappingsDestroyed(t),
		Steps: []resource.TestStep{
			{
				Config: upsMapping(byID),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("pve_mapping_usb.ups", tfjsonpath.New("map"), knownvalue.SetExact([]knownvalue.Check{
						knownvalue.ObjectExact(map[string]knownvalue.Check{"node": knownvalue.StringExact("pve1"),
							"id": knownvalue.StringExact("051d:0002"), "path": knownvalue.Null(), "description": knownvalue.Null()}),
					})),
				},
			},
			{ResourceName: "pve_mapping_usb.ups", ImportState: true, ImportStateId: "ups", ImportStateVerify: true},
			{
				Config: upsMapping(`    { node = "pve1", id = "051d:0002", path = "1-4", description = "rack A" },`),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("pve_mapping_usb.ups", tfjsonpath.New("map"), knownvalue.SetExact([]knownvalue.Check{
						knownvalue.ObjectExact(map[string]knownvalue.Check{"node": knownvalue.StringExact("pve1"),
							"id": knownvalue.StringExact("051d:0002"), "path": knownvalue.StringExact("1-4"), "description": knownvalue.StringExact("rack A")}),
					})),
				},
			},
		},
	})
}
