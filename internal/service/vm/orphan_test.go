package vm_test

import (
	"context"
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/hcilab/terraform-provider-pve/internal/acctest"
)

func orphanVMConfig(timeout string) string {
	return fmt.Sprintf(`
resource "pve_vm" "slow" {
  node    = "pve3"
  name    = "acc-slow-create"
  started = false
  disks = {
    scsi0 = { storage = "local-lvm", size = 2000 }
  }
  timeouts = { create = %q }
}
`, timeout)
}

// A create PVE accepted whose wait times out (a 2 TB disk takes longer to
// allocate than the create timeout allows) leaves a tainted resource with
// the new VM's ID, not an orphan: the next apply replaces it, and exactly
// one such VM exists afterwards (before, a second VM was created with the
// next free ID and the first was left behind).
func TestAccVM_createTimeoutNoOrphan(t *testing.T) {
	count := func(want int) func(*terraform.State) error {
		return func(*terraform.State) error {
			guests, err := acctest.PVEClient(t).ClusterResources(context.Background(), "vm")
			if err != nil {
				return err
			}
			n := 0
			for _, g := range guests {
				cfg, err := acctest.PVEClient(t).GuestConfig(context.Background(), "qemu", g.Node, g.VMID, false)
				if err == nil && cfg.Values["name"] == "acc-slow-create" {
					n++
				}
			}
			if n != want {
				return fmt.Errorf("%d VMs named acc-slow-create, want %d", n, want)
			}
			return nil
		}
	}
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkVMsDestroyed(t),
		Steps: []resource.TestStep{
			{
				Config:      orphanVMConfig("1s"),
				ExpectError: regexp.MustCompile(`(?s)Unable to Create VM`),
			},
			{
				Config: orphanVMConfig("5m"),
				Check:  count(1),
			},
		},
	})
}
