package vm_test

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/hcilab/terraform-provider-pve/internal/acctest"
	"github.com/hcilab/terraform-provider-pve/internal/testlab"
)

// Three full clones of one running VM at once: each mirrors the source's
// disk under an exclusive flock that the others wait for only 1 s
// (qemu-server clone_vm), so all but one fail on the lock at first; they
// take turns and all three are made.
func TestAccVM_parallelClonesOfRunningVM(t *testing.T) {
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkVMsDestroyed(t),
		Steps: []resource.TestStep{{
			Config: `
resource "pve_vm" "source" {
  node    = "pve2"
  name    = "clone-source"
  started = true
  disks = {
    scsi0 = { storage = "local-lvm", size = 8 }
  }
  network = {
    net0 = { model = "virtio", bridge = "vmbr0" }
  }
}

resource "pve_vm" "copy" {
  count   = 3
  node    = "pve2"
  name    = "copy-${count.index}"
  started = false
  clone = {
    source_vmid = pve_vm.source.vmid
    full        = true
  }
}
`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("pve_vm.copy[0]", tfjsonpath.New("disks").AtMapKey("scsi0").AtMapKey("size"), knownvalue.Int64Exact(8)),
				statecheck.ExpectKnownValue("pve_vm.copy[1]", tfjsonpath.New("name"), knownvalue.StringExact("copy-1")),
				statecheck.ExpectKnownValue("pve_vm.copy[2]", tfjsonpath.New("network"), knownvalue.MapSizeExact(1)),
				statecheck.ExpectKnownValue("pve_vm.source", tfjsonpath.New("started"), knownvalue.Bool(true)),
			},
			Check: func(s *terraform.State) error {
				ids := map[string]bool{}
				for _, rs := range s.RootModule().Resources {
					if rs.Type == "pve_vm" {
						ids[rs.Primary.Attributes["vmid"]] = true
					}
				}
				if len(ids) != 4 {
					return fmt.Errorf("%d distinct VMs in state, want 4", len(ids))
				}
				return nil
			},
		}},
	})
}

// backupVMID is the VM a scheduled backup locks while Terraform changes it.
const backupVMID = 9201

// A change to a VM that a scheduled backup holds ("lock: backup", for
// longer than the provider used to try) waits until the backup ends,
// within the update's timeout.
func TestAccVM_updateDuringBackup(t *testing.T) {
	lab := acctest.Lab()
	if lab == nil {
		t.Skip("needs the simulated lab: it starts a scheduled backup job")
	}
	config := func(description string) string {
		return fmt.Sprintf(`
resource "pve_vm" "test" {
  node        = "pve3"
  vmid        = %d
  name        = "backed-up"
  description = %q
  started     = false
  disks = {
    scsi0 = { storage = "local-lvm", size = 4 }
  }
}
`, backupVMID, description)
	}
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkVMsDestroyed(t),
		Steps: []resource.TestStep{
			{Config: config("before")},
			{
				PreConfig: func() {
					if _, err := lab.RunBackupJob(backupVMID, 25*time.Second); err != nil {
						t.Fatal(err)
					}
				},
				Config: config("after"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(vmAddr, tfjsonpath.New("description"), knownvalue.StringExact("after")),
				},
			},
		},
	})
}

// proxyVMID is the VM whose config change pveproxy gives up on.
const proxyVMID = 9301

// pveproxy answers 596 when the change waits longer than its proxy
// timeout for the flock a clone holds (shortened here from 30 s); the
// change goes on and lands. The provider finds out that it landed, instead
// of failing or sending it again.
func TestAccVM_updateAnsweredProxyTimeout(t *testing.T) {
	lab := acctest.StartLab(t, testlab.Options{ProxyTimeout: 500 * time.Millisecond})
	c := acctest.LabClient(t, lab)
	config := func(description string) string {
		return acctest.ProviderBlock(lab) + fmt.Sprintf(`
resource "pve_vm" "test" {
  node        = "pve1"
  vmid        = %d
  name        = "behind-proxy"
  description = %q
  started     = true
  disks = {
    scsi0 = { storage = "local-lvm", size = 120 }
  }
}
`, proxyVMID, description)
	}
	acctest.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: config("before")},
			{
				PreConfig: func() {
					// a full clone of the running VM holds its flock for about
					// 8 s: less than the 10 s the change waits for it, longer
					// than the proxy waits for the change
					var upid string
					if err := c.Post(context.Background(), fmt.Sprintf("/nodes/pve1/qemu/%d/clone", proxyVMID),
						url.Values{"newid": {"9302"}}, &upid); err != nil {
						t.Fatal(err)
					}
				},
				Config: config("after"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(vmAddr, tfjsonpath.New("description"), knownvalue.StringExact("after")),
				},
			},
		},
	})
}
