package vm_test

import (
	"context"
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/hcilab/terraform-provider-pve/internal/acctest"
	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

func protectedVMConfig(vmid int, protection bool) string {
	return fmt.Sprintf(`
resource "pve_vm" "protected" {
  vmid       = %d
  node       = "pve2"
  name       = "acc-protected"
  protection = %t
}
`, vmid, protection)
}

// Destroying or replacing a running VM with protection = true is refused
// at plan time, and the VM keeps running (before, the destroy stopped it
// and then PVE refused the delete: an outage, and nothing deleted).
func TestAccVM_protected(t *testing.T) {
	const vmid = 4701
	running := func(*terraform.State) error {
		st, err := acctest.PVEClient(t).GuestCurrentStatus(context.Background(), pve.QEMU, "pve2", vmid)
		if err != nil {
			return err
		}
		if st.Status != "running" {
			return fmt.Errorf("VM %d is %s after the refused destroy, want running", vmid, st.Status)
		}
		return nil
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkVMsDestroyed(t),
		Steps: []resource.TestStep{
			{Config: protectedVMConfig(vmid, true), Check: running},
			{
				Config:      `# nothing: destroys the VM`,
				ExpectError: regexp.MustCompile(`(?s)VM Is Protected.*destroys VM 4701, which has protection = true`),
			},
			{
				// a new vmid replaces the VM
				Config:      protectedVMConfig(vmid+1, true),
				ExpectError: regexp.MustCompile(`(?s)VM Is Protected.*replaces VM 4701`),
			},
			{
				PreConfig: func() {
					if err := running(nil); err != nil {
						t.Error(err)
					}
				},
				Config: protectedVMConfig(vmid, false),
			},
		},
	})
}
