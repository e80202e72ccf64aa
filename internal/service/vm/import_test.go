package vm_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/hcilab/terraform-provider-pve/internal/acctest"
	"github.com/hcilab/terraform-provider-pve/internal/testlab"
)

// An imported VM takes node and started from what PVE reports, also while
// HA manages it (framework/guest ImportState, KeepHAOwned): a stopped
// VM that HA keeps stopped imports as started = false, as a container
// does. Before, the VM's import wrote started = true, which the read then
// kept for an HA-managed VM: a state that said it ran.
func TestAccVM_importHAManagedStopped(t *testing.T) {
	lab := acctest.StartLab(t, testlab.Options{HARound: 300 * time.Millisecond})
	config := acctest.ProviderBlock(lab) + `
resource "pve_vm" "ha" {
  node    = "pve1"
  name    = "acc-ha-import"
  started = false
}

resource "pve_ha_resource" "ha" {
  sid   = "vm:${pve_vm.ha.vmid}"
  state = "stopped"
}
`
	acctest.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: config},
			{
				ResourceName: "pve_vm.ha",
				ImportState:  true,
				ImportStateIdFunc: func(s *terraform.State) (string, error) {
					return s.RootModule().Resources["pve_vm.ha"].Primary.Attributes["vmid"], nil
				},
				ImportStateCheck: func(states []*terraform.InstanceState) error {
					if len(states) != 1 {
						return fmt.Errorf("%d imported states, want 1", len(states))
					}
					if got := states[0].Attributes["started"]; got != "false" {
						return fmt.Errorf("imported started = %q, want false (the VM is stopped)", got)
					}
					if got := states[0].Attributes["node"]; got != "pve1" {
						return fmt.Errorf("imported node = %q, want pve1", got)
					}
					return nil
				},
			},
		},
	})
}
