package bmc_test

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/hcilab/terraform-provider-pve/internal/acctest"
	"github.com/hcilab/terraform-provider-pve/internal/testlab"
)

// The `bmc` object is ignored by the verifications below as in
// TestAccBMCPower_basic: an import knows only the endpoint, the
// credentials come from the provider's bmc {} block.

func mediaImportConfig(lab *testlab.Lab, node string) string {
	return provider(lab) + fmt.Sprintf(`
resource "pve_bmc_virtual_media" "test" {
  bmc   = { endpoint = %q }
  image = %q
  slot  = "CD1"
}
`, lab.BMCEndpoint(node), iso)
}

// Inserted, then imported by its ID (<endpoint>#<system>#<slot>) and by
// <endpoint>##<slot>: the state read from the BMC is the one the apply
// left; an ID without a slot is refused.
func TestAccBMCVirtualMedia_import(t *testing.T) {
	lab := acctest.Lab()
	if lab == nil {
		t.Skip("needs the simulated lab's BMCs (TF_ACC=1, no PVE_ENDPOINT)")
	}
	const node = "pve3"
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkMedia(lab, node, ""),
		Steps: []resource.TestStep{
			{
				Config: mediaImportConfig(lab, node),
				Check:  checkMedia(lab, node, iso),
			},
			{
				ResourceName:            "pve_bmc_virtual_media.test",
				ImportState:             true,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"bmc"},
			},
			{
				ResourceName:            "pve_bmc_virtual_media.test",
				ImportState:             true,
				ImportStateId:           lab.BMCEndpoint(node) + "##CD1",
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"bmc"},
			},
			{
				ResourceName:  "pve_bmc_virtual_media.test",
				ImportState:   true,
				ImportStateId: lab.BMCEndpoint(node),
				ExpectError:   regexp.MustCompile(`expected <BMC endpoint>#<system id>#<slot>`),
			},
		},
	})
}

// A boot override that is still pending (no reset): imported by
// <endpoint> and <endpoint>#<system id>, it reads back as applied.
func TestAccBMCBootOverride_import(t *testing.T) {
	lab := acctest.Lab()
	if lab == nil {
		t.Skip("needs the simulated lab's BMCs (TF_ACC=1, no PVE_ENDPOINT)")
	}
	const node = "pve3"
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: provider(lab) + fmt.Sprintf(`
resource "pve_bmc_boot_override" "test" {
  bmc     = { endpoint = %q }
  target  = "Pxe"
  enabled = "Continuous"
}
`, lab.BMCEndpoint(node)),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("pve_bmc_boot_override.test", tfjsonpath.New("target"), knownvalue.StringExact("Pxe")),
				},
			},
			{
				ResourceName:            "pve_bmc_boot_override.test",
				ImportState:             true,
				ImportStateId:           lab.BMCEndpoint(node),
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"bmc"},
			},
			{
				ResourceName:            "pve_bmc_boot_override.test",
				ImportState:             true,
				ImportStateVerify:       true, // by its ID, <endpoint>#<system id>
				ImportStateVerifyIgnore: []string{"bmc"},
			},
		},
	})
}
