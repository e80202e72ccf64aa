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
	acctest.Test(t, resource.TestCase{
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

// Devices PVE refuses are refused at plan time, naming the attribute: a
// disk in the CD-ROM's slot, and raw host devices when the provider
// authenticates with an API token (qemu-server lets only root@pam itself
// pass them through).
func TestAccVM_badDevices(t *testing.T) {
	for _, tt := range []struct {
		name, attrs string
		want        *regexp.Regexp
	}{
		{"disk in the cdrom slot", `cdrom = "none"
  disks = { ide2 = { storage = "local-lvm", size = 4 } }`, regexp.MustCompile(`(?s)Slot Taken by the CD-ROM.*ide2`)},
		{"raw PCI device with a token", `hostpci = { hostpci0 = { id = "0000:01:00.0" } }`,
			regexp.MustCompile(`(?s)Raw Device Needs root@pam.*0000:01:00.0.*an API token`)},
		{"host USB device with a token", `usb = { usb0 = { host = "1234:5678" } }`,
			regexp.MustCompile(`(?s)Raw Device Needs root@pam.*1234:5678`)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			acctest.ExpectPlanError(t, fmt.Sprintf(`
resource "pve_vm" "test" {
  node    = "pve1"
  started = false
  %s
}
`, tt.attrs), tt.want)
		})
	}
}
