package vm_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/hcilab/terraform-provider-pve/internal/acctest"
	"github.com/hcilab/terraform-provider-pve/internal/pve"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/mirror"
)

func TestMain(m *testing.M) {
	os.Exit(acctest.Run(m))
}

const vmAddr = "pve_vm.test"

// checkVMsDestroyed is a CheckDestroy: no VM of the state exists any more.
func checkVMsDestroyed(t *testing.T) func(*terraform.State) error {
	return func(s *terraform.State) error {
		c := acctest.PVEClient(t)
		for _, rs := range s.RootModule().Resources {
			if rs.Type != "pve_vm" {
				continue
			}
			vmid, _ := strconv.Atoi(rs.Primary.Attributes["vmid"])
			if g, err := c.FindGuest(context.Background(), vmid); err == nil {
				return fmt.Errorf("VM %d still exists on %s", vmid, g.Node)
			}
		}
		return nil
	}
}

func vmConfig(node, disks, nics string) string {
	return fmt.Sprintf(`
resource "pve_vm" "test" {
  node    = %q
  name    = "acc-vm"
  cpu     = { cores = 2 }
  memory  = { size = 2048 }
  cdrom   = "local:iso/proxmox-ve_9.1-1.iso"
  tags    = ["acc", "web"]
  disks = {
%s
  }
  network = {
%s
  }
}
`, node, disks, nics)
}

// preCheckISO is acctest.PreCheck, then the installer ISO the VMs boot
// from (vmConfig's cdrom), put on every node through PVE's download-url (a
// fresh node has none, and a VM whose ISO is missing does not start).
func preCheckISO(t *testing.T) {
	t.Helper()
	acctest.PreCheck(t)
	c := acctest.PVEClient(t)
	for _, node := range []string{"pve1", "pve2", "pve3"} {
		acctest.EnsureFile(t, c, node, mirror.ProxmoxISO)
	}
}

func noCDROM(config string) string {
	return strings.Replace(config, `  cdrom   = "local:iso/proxmox-ve_9.1-1.iso"`+"\n", "", 1)
}

const (
	disk0 = `    scsi0 = { storage = "local-lvm", size = 8, discard = true }`
	disk1 = `    scsi1 = { storage = "local-lvm", size = 4, format = "raw" }`
	nic0  = `    net0 = { model = "virtio", bridge = "vmbr0" }`
	nic1  = `    net1 = { model = "virtio", bridge = "vmbr0", firewall = true }`
)

// From scratch; then a disk and a NIC added to the running VM, which
// neither replaces it nor touches the devices it had; then a disk grown;
// then a move to another node, which migrates it. Every apply is followed
// by an empty plan (the test framework checks that).
func TestAccVM_lifecycle(t *testing.T) {
	sameVolume := statecheck.CompareValue(compare.ValuesSame())
	sameMAC := statecheck.CompareValue(compare.ValuesSame())
	sameID := statecheck.CompareValue(compare.ValuesSame())
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { preCheckISO(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkVMsDestroyed(t),
		Steps: []resource.TestStep{
			{
				Config: vmConfig("pve1", disk0, nic0),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(vmAddr, tfjsonpath.New("started"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(vmAddr, tfjsonpath.New("disks").AtMapKey("scsi0").AtMapKey("volume"),
						knownvalue.StringRegexp(regexp.MustCompile(`^local-lvm:vm-\d+-disk-\d+$`))),
					statecheck.ExpectKnownValue(vmAddr, tfjsonpath.New("network").AtMapKey("net0").AtMapKey("mac"),
						knownvalue.StringRegexp(regexp.MustCompile(`^([0-9A-F]{2}:){5}[0-9A-F]{2}$`))),
					sameVolume.AddStateValue(vmAddr, tfjsonpath.New("disks").AtMapKey("scsi0").AtMapKey("volume")),
					sameMAC.AddStateValue(vmAddr, tfjsonpath.New("network").AtMapKey("net0").AtMapKey("mac")),
					sameID.AddStateValue(vmAddr, tfjsonpath.New("vmid")),
				},
			},
			{
				ResourceName:            vmAddr,
				ImportState:             true,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"timeouts"},
				ImportStateIdFunc: func(s *terraform.State) (string, error) {
					rs := s.RootModule().Resources[vmAddr]
					return rs.Primary.Attributes["node"] + "/" + rs.Primary.Attributes["vmid"], nil
				},
			},
			{
				Config: vmConfig("pve1", disk0+"\n"+disk1, nic0+"\n"+nic1),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(vmAddr, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(vmAddr, tfjsonpath.New("disks"), knownvalue.MapSizeExact(2)),
					statecheck.ExpectKnownValue(vmAddr, tfjsonpath.New("network"), knownvalue.MapSizeExact(2)),
					sameVolume.AddStateValue(vmAddr, tfjsonpath.New("disks").AtMapKey("scsi0").AtMapKey("volume")),
					sameMAC.AddStateValue(vmAddr, tfjsonpath.New("network").AtMapKey("net0").AtMapKey("mac")),
				},
			},
			{
				Config: vmConfig("pve1", `    scsi0 = { storage = "local-lvm", size = 12, discard = true }`+"\n"+disk1, nic0+"\n"+nic1),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(vmAddr, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(vmAddr, tfjsonpath.New("disks").AtMapKey("scsi0").AtMapKey("size"), knownvalue.Int64Exact(12)),
					sameVolume.AddStateValue(vmAddr, tfjsonpath.New("disks").AtMapKey("scsi0").AtMapKey("volume")),
				},
			},
			{
				// The local ISO is ejected in the same apply: PVE cannot migrate a
				// VM with a local CD-ROM image.
				Config: noCDROM(vmConfig("pve2", `    scsi0 = { storage = "local-lvm", size = 12, discard = true }`+"\n"+disk1, nic0+"\n"+nic1)),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(vmAddr, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(vmAddr, tfjsonpath.New("node"), knownvalue.StringExact("pve2")),
					statecheck.ExpectKnownValue(vmAddr, tfjsonpath.New("started"), knownvalue.Bool(true)),
					sameID.AddStateValue(vmAddr, tfjsonpath.New("vmid")),
					sameMAC.AddStateValue(vmAddr, tfjsonpath.New("network").AtMapKey("net0").AtMapKey("mac")),
				},
			},
		},
	})
}

func TestAccVM_badInput(t *testing.T) {
	tests := []struct {
		name, disks string
		want        *regexp.Regexp
	}{
		{"slot out of range", `    scsi31 = { storage = "local-lvm", size = 8 }`, regexp.MustCompile(`(?s)Invalid Slot.*scsi31`)},
		{"unknown slot family", `    nvme0 = { storage = "local-lvm", size = 8 }`, regexp.MustCompile(`(?s)Invalid Slot.*nvme0`)},
		{"zero size", `    scsi0 = { storage = "local-lvm", size = 0 }`, regexp.MustCompile(`(?s)size.*at least 1`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acctest.ExpectPlanError(t, vmConfig("pve1", tt.disks, nic0), tt.want)
		})
	}
}

// Values PVE checks with named formats (cpu, ipconfig[n]) are refused at
// plan time, naming the attribute, before anything is sent.
func TestAccVM_badFormats(t *testing.T) {
	config := func(cpu, ipConfig string) string {
		return fmt.Sprintf(`
resource "pve_vm" "test" {
  node    = "pve1"
  started = false
  cpu     = { cores = 1, type = %q }
  network = {
    net0 = { model = "virtio", bridge = "vmbr0" }
  }
  cloud_init = {
    storage   = "local-lvm"
    ip_config = {
      net0 = { %s }
    }
  }
}
`, cpu, ipConfig)
	}
	for _, tt := range []struct {
		name, cpu, ipConfig string
		want                *regexp.Regexp
	}{
		{"unknown cpu type", "Skylake", `ipv4 = "dhcp"`, regexp.MustCompile(`(?s)Unknown CPU Type.*"Skylake"`)},
		{"address without prefix", "host", `ipv4 = "10.5.0.10"`, regexp.MustCompile(`(?s)Invalid Address.*"10.5.0.10" is not dhcp, manual or an IPv4`)},
		{"gateway without address", "host", `gw = "10.5.0.1"`, regexp.MustCompile(`(?s)Invalid Attribute Combination.*ipv4`)},
		{"IPv6 gateway as IPv4", "host", `ipv6 = "auto", gw6 = "10.5.0.1"`, regexp.MustCompile(`(?s)Invalid Address.*"10.5.0.1" is not an IPv6 address`)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			acctest.ExpectPlanError(t, config(tt.cpu, tt.ipConfig), tt.want)
		})
	}
}

// Tags and names PVE checks with its pve-tag and dns-name formats are
// refused at plan time, naming the attribute.
func TestAccVM_badTagsAndName(t *testing.T) {
	for _, tt := range []struct {
		name, attrs string
		want        *regexp.Regexp
	}{
		{"tag with a space", `tags = ["web server"]`, regexp.MustCompile(`(?s)tags.*invalid tag "web server"`)},
		{"tag starting with a dot", `tags = [".hidden"]`, regexp.MustCompile(`(?s)tags.*invalid tag ".hidden"`)},
		{"name with an empty label", `name = "web..example"`, regexp.MustCompile(`(?s)name.*"web..example" is not a DNS name`)},
		{"name label ending in a hyphen", `name = "web-.example"`, regexp.MustCompile(`(?s)name.*is not a DNS name`)},
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

// Shrinking a disk is refused at plan time, naming the attribute; the VM is
// neither changed nor replaced.
func TestAccVM_shrinkDisk(t *testing.T) {
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { preCheckISO(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkVMsDestroyed(t),
		Steps: []resource.TestStep{
			{Config: vmConfig("pve3", disk0, nic0)},
			{
				Config:      vmConfig("pve3", `    scsi0 = { storage = "local-lvm", size = 4, discard = true }`, nic0),
				ExpectError: regexp.MustCompile(`(?s)Disks Only Grow.*scsi0 is 8 GiB; it cannot shrink to 4 GiB`),
			},
			{
				Config:      vmConfig("pve3", `    scsi0 = { storage = "local-lvm", size = 8, discard = true, format = "qcow2" }`, nic0),
				ExpectError: regexp.MustCompile(`(?s)Converting Disks Not Supported.*scsi0 is raw; converting it to qcow2`),
			},
		},
	})
}

// Ten VMs created at once without a vmid get ten distinct ids.
func TestAccVM_parallelIDs(t *testing.T) {
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { preCheckISO(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkVMsDestroyed(t),
		Steps: []resource.TestStep{{
			Config: `
resource "pve_vm" "many" {
  count   = 10
  node    = "pve${count.index % 3 + 1}"
  name    = "many-${count.index}"
  started = false
}
`,
			Check: func(s *terraform.State) error {
				seen := map[string]string{}
				for name, rs := range s.RootModule().Resources {
					if rs.Type != "pve_vm" {
						continue
					}
					id := rs.Primary.Attributes["vmid"]
					if other, dup := seen[id]; dup {
						return fmt.Errorf("%s and %s both got vmid %s", name, other, id)
					}
					seen[id] = name
				}
				if len(seen) != 10 {
					return fmt.Errorf("%d VMs in state, want 10", len(seen))
				}
				return nil
			},
		}},
	})
}

// A VM made outside Terraform imports with an empty plan.
func TestAccVM_importExternal(t *testing.T) {
	const vmid = 4242
	acctest.Test(t, resource.TestCase{
		PreCheck: func() {
			preCheckISO(t)
			_, err := acctest.PVEClient(t).CreateGuest(context.Background(), pve.QEMU, "pve2", url.Values{
				"vmid": {strconv.Itoa(vmid)}, "name": {"made-by-hand"}, "cores": {"2"}, "memory": {"1024"},
				"scsi0": {"local-lvm:4,ssd=1"}, "net0": {"virtio,bridge=vmbr0"}, "start": {"1"},
			})
			if err != nil {
				t.Fatal(err)
			}
		},
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkVMsDestroyed(t),
		Steps: []resource.TestStep{{
			Config: `
data "pve_nodes" "all" {}

import {
  to = pve_vm.test
  id = "4242"
}

resource "pve_vm" "test" {
  node   = "pve2"
  vmid   = 4242
  name   = "made-by-hand"
  cpu    = { cores = 2 }
  memory = { size = 1024 }
  disks = {
    scsi0 = { storage = "local-lvm", size = 4, ssd = true }
  }
  network = {
    net0 = { model = "virtio", bridge = "vmbr0" }
  }
}
`,
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(vmAddr, plancheck.ResourceActionNoop)},
			},
		}},
	})
}

// A VM plugged into a bridge the same apply creates starts: the provider
// runs the node's staged network reload before it starts the VM.
func TestAccVM_onNewBridge(t *testing.T) {
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { preCheckISO(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkVMsDestroyed(t),
		Steps: []resource.TestStep{{
			Config: `
resource "pve_network_bridge" "guests" {
  node      = "pve3"
  name      = "vmbr3"
  autostart = true
}

resource "pve_vm" "test" {
  node = "pve3"
  name = "on-new-bridge"
  network = {
    net0 = { model = "virtio", bridge = pve_network_bridge.guests.name }
  }
}
`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(vmAddr, tfjsonpath.New("started"), knownvalue.Bool(true)),
			},
		}},
	})
}

// A VM cloned from a template gets the rest of its configuration applied:
// its disk grows, a NIC is added, and it starts; what the configuration
// leaves unset stays as the template has it.
func TestAccVM_clone(t *testing.T) {
	const template = 9001
	acctest.Test(t, resource.TestCase{
		PreCheck: func() {
			preCheckISO(t)
			c := acctest.PVEClient(t)
			ctx := context.Background()
			if _, err := c.CreateGuest(ctx, pve.QEMU, "pve1", url.Values{"vmid": {strconv.Itoa(template)}, "name": {"tmpl"},
				"cores": {"4"}, "bios": {"ovmf"}, "scsi0": {"local-lvm:4"}, "net0": {"virtio,bridge=vmbr0"},
				"agent": {"enabled=1,fstrim_cloned_disks=1"}, "serial0": {"socket"}, "vga": {"serial0"}, "startup": {"order=2"}}); err != nil {
				t.Fatal(err)
			}
			var upid string
			if err := c.Post(ctx, fmt.Sprintf("/nodes/pve1/qemu/%d/template", template), nil, &upid); err != nil {
				t.Fatal(err)
			}
			if upid != "" {
				if _, err := c.WaitTask(ctx, upid, pve.WaitOptions{}); err != nil {
					t.Fatal(err)
				}
			}
		},
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkVMsDestroyed(t),
		Steps: []resource.TestStep{{
			Config: fmt.Sprintf(`
resource "pve_vm" "test" {
  node   = "pve1"
  name   = "cloned"
  memory = { size = 1024 }
  clone = {
    source_vmid = %d
  }
  disks = {
    scsi0 = { storage = "local-lvm", size = 10 }
  }
  network = {
    net0 = { model = "virtio", bridge = "vmbr0" }
    net1 = { model = "virtio", bridge = "vmbr0" }
  }
}
`, template),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(vmAddr, tfjsonpath.New("disks").AtMapKey("scsi0").AtMapKey("size"), knownvalue.Int64Exact(10)),
				statecheck.ExpectKnownValue(vmAddr, tfjsonpath.New("network"), knownvalue.MapSizeExact(2)),
				statecheck.ExpectKnownValue(vmAddr, tfjsonpath.New("started"), knownvalue.Bool(true)),
				statecheck.ExpectKnownValue(vmAddr, tfjsonpath.New("memory").AtMapKey("size"), knownvalue.Int64Exact(1024)),
				// Left unset, these are the template's, not PVE's defaults.
				statecheck.ExpectKnownValue(vmAddr, tfjsonpath.New("cpu").AtMapKey("cores"), knownvalue.Int64Exact(4)),
				statecheck.ExpectKnownValue(vmAddr, tfjsonpath.New("bios"), knownvalue.StringExact("ovmf")),
				statecheck.ExpectKnownValue(vmAddr, tfjsonpath.New("agent"), knownvalue.ObjectExact(map[string]knownvalue.Check{
					"enabled": knownvalue.Bool(true), "trim": knownvalue.Bool(true), "type": knownvalue.Null()})),
				statecheck.ExpectKnownValue(vmAddr, tfjsonpath.New("serial"), knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("socket")})),
				statecheck.ExpectKnownValue(vmAddr, tfjsonpath.New("vga").AtMapKey("type"), knownvalue.StringExact("serial0")),
				statecheck.ExpectKnownValue(vmAddr, tfjsonpath.New("startup").AtMapKey("order"), knownvalue.Int64Exact(2)),
			},
		}},
	})
}

func TestAccVMs_dataSource(t *testing.T) {
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { preCheckISO(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkVMsDestroyed(t),
		Steps: []resource.TestStep{{
			Config: vmConfig("pve3", disk0, nic0) + `
data "pve_vms" "acc" {
  node       = "pve3"
  tag        = "web"
  name_regex = "^acc-"
  template   = false
  depends_on = [pve_vm.test]
}
`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.pve_vms.acc", tfjsonpath.New("vms"), knownvalue.ListSizeExact(1)),
				statecheck.CompareValuePairs("data.pve_vms.acc", tfjsonpath.New("vms").AtSliceIndex(0).AtMapKey("vmid"),
					vmAddr, tfjsonpath.New("vmid"), compare.ValuesSame()),
				statecheck.ExpectKnownValue("data.pve_vms.acc", tfjsonpath.New("vms").AtSliceIndex(0).AtMapKey("tags"),
					knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("acc"), knownvalue.StringExact("web")})),
			},
		}},
	})
}

// UEFI with an EFI disk and a TPM, the guest agent and the start order;
// then the agent and start order change in place; import matches.
func TestAccVM_firmwareAndAgent(t *testing.T) {
	config := func(agentType string, order int) string {
		vga := `{ type = "serial0" }`
		if agentType == "isa" {
			vga = `{ type = "std", memory = 32 }`
		}
		return fmt.Sprintf(`
resource "pve_vm" "test" {
  node    = "pve2"
  name    = "uefi"
  bios    = "ovmf"
  machine = "q35"
  cpu     = { type = "host", sockets = 2, numa = true }
  memory  = { size = 4096, balloon = 1024 }
  started = false
  serial  = ["socket"]
  vga     = `+vga+`
  efi_disk = {
    storage           = "local-lvm"
    type              = "4m"
    pre_enrolled_keys = true
  }
  tpm_state = {
    storage = "local-lvm"
    version = "v2.0"
  }
  agent = {
    enabled = true
    trim    = true
    type    = %q
  }
  startup = {
    order = %d
    up    = 30
  }
  disks = {
    scsi0 = { storage = "local-lvm", size = 8 }
  }
}
`, agentType, order)
	}
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { preCheckISO(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkVMsDestroyed(t),
		Steps: []resource.TestStep{
			{
				Config: config("virtio", 2),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(vmAddr, tfjsonpath.New("efi_disk").AtMapKey("volume"),
						knownvalue.StringRegexp(regexp.MustCompile(`^local-lvm:vm-\d+-disk-\d+$`))),
					statecheck.ExpectKnownValue(vmAddr, tfjsonpath.New("tpm_state").AtMapKey("version"), knownvalue.StringExact("v2.0")),
					statecheck.ExpectKnownValue(vmAddr, tfjsonpath.New("agent").AtMapKey("trim"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(vmAddr, tfjsonpath.New("cpu"), knownvalue.ObjectExact(map[string]knownvalue.Check{
						"type": knownvalue.StringExact("host"), "sockets": knownvalue.Int64Exact(2), "numa": knownvalue.Bool(true),
						"cores": knownvalue.Null()})),
					statecheck.ExpectKnownValue(vmAddr, tfjsonpath.New("memory").AtMapKey("balloon"), knownvalue.Int64Exact(1024)),
				},
			},
			{
				ResourceName:            vmAddr,
				ImportState:             true,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"timeouts"},
				ImportStateIdFunc: func(s *terraform.State) (string, error) {
					return s.RootModule().Resources[vmAddr].Primary.Attributes["vmid"], nil
				},
			},
			{
				Config: config("isa", 3),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(vmAddr, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(vmAddr, tfjsonpath.New("agent").AtMapKey("type"), knownvalue.StringExact("isa")),
					statecheck.ExpectKnownValue(vmAddr, tfjsonpath.New("startup").AtMapKey("order"), knownvalue.Int64Exact(3)),
					statecheck.ExpectKnownValue(vmAddr, tfjsonpath.New("vga").AtMapKey("memory"), knownvalue.Int64Exact(32)),
					statecheck.ExpectKnownValue(vmAddr, tfjsonpath.New("serial"), knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("socket")})),
				},
			},
		},
	})
}

func TestAccVM_cloudInit(t *testing.T) {
	config := func(user, ipv6 string) string {
		return cloudInitConfig(user, ipv6, "s3cret-Passw0rd", "")
	}
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { preCheckISO(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkVMsDestroyed(t),
		Steps: []resource.TestStep{
			{
				Config: config("ops", ""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(vmAddr, tfjsonpath.New("cloud_init").AtMapKey("ssh_keys"), knownvalue.ListSizeExact(2)),
					statecheck.ExpectKnownValue(vmAddr, tfjsonpath.New("cloud_init").AtMapKey("ip_config").AtMapKey("net0").AtMapKey("ipv4"),
						knownvalue.StringExact("10.5.0.10/24")),
					// write-only: never in the state
					statecheck.ExpectKnownValue(vmAddr, tfjsonpath.New("cloud_init").AtMapKey("password"), knownvalue.Null()),
				},
			},
			{
				ResourceName:            vmAddr,
				ImportState:             true,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"timeouts"},
				ImportStateIdFunc: func(s *terraform.State) (string, error) {
					return s.RootModule().Resources[vmAddr].Primary.Attributes["vmid"], nil
				},
			},
			{
				Config: config("admin", `, ipv6 = "auto"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(vmAddr, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(vmAddr, tfjsonpath.New("cloud_init").AtMapKey("user"), knownvalue.StringExact("admin")),
					statecheck.ExpectKnownValue(vmAddr, tfjsonpath.New("cloud_init").AtMapKey("ip_config").AtMapKey("net0").AtMapKey("ipv6"),
						knownvalue.StringExact("auto")),
				},
			},
			{
				// A new password alone changes nothing: it is write-only...
				Config:   cloudInitConfig("admin", `, ipv6 = "auto"`, "an0ther-Passw0rd", ""),
				PlanOnly: true,
			},
			{
				// ...until its version changes.
				Config: cloudInitConfig("admin", `, ipv6 = "auto"`, "an0ther-Passw0rd", "password_version = 2"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(vmAddr, plancheck.ResourceActionUpdate)},
				},
			},
		},
	})
}

// cloudInitConfig is a VM with cloud-init settings.
func cloudInitConfig(user, ipv6, password, extra string) string {
	return fmt.Sprintf(`
resource "pve_vm" "test" {
  node    = "pve1"
  name    = "ci"
  started = false
  disks = {
    scsi0 = { storage = "local-lvm", size = 8 }
  }
  network = {
    net0 = { model = "virtio", bridge = "vmbr0" }
  }
  cloud_init = {
    storage    = "local-lvm"
    user       = %q
    password   = %q
    %s
    ssh_keys   = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHh0ZXN0a2V5 ops@lab", "ssh-rsa AAAAB3NzaC1yc2E ops@old"]
    nameserver = "10.5.0.1"
    ip_config = {
      net0 = { ipv4 = "10.5.0.10/24", gw = "10.5.0.1"%s }
    }
  }
}
`, user, password, extra, ipv6)
}

func TestAccVMDataSource(t *testing.T) {
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { preCheckISO(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkVMsDestroyed(t),
		Steps: []resource.TestStep{
			{
				Config: vmConfig("pve2", disk0, nic0) + `
data "pve_vm" "one" {
  vmid = pve_vm.test.vmid
}
`,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.pve_vm.one", tfjsonpath.New("node"), knownvalue.StringExact("pve2")),
					statecheck.ExpectKnownValue("data.pve_vm.one", tfjsonpath.New("name"), knownvalue.StringExact("acc-vm")),
					statecheck.ExpectKnownValue("data.pve_vm.one", tfjsonpath.New("cores"), knownvalue.Int64Exact(2)),
					statecheck.ExpectKnownValue("data.pve_vm.one", tfjsonpath.New("status"), knownvalue.StringExact("running")),
				},
			},
			{
				Config:      `data "pve_vm" "missing" { vmid = 999999 }`,
				ExpectError: regexp.MustCompile(`(?s)VM Not Found.*999999`),
			},
		},
	})
}

func poolUSBConfig(pool, usb string) string {
	return fmt.Sprintf(`
resource "pve_pool" "a" { pool_id = "acc-a" }
resource "pve_pool" "b" { pool_id = "acc-b" }

resource "pve_vm" "test" {
  node    = "pve1"
  name    = "acc-usb"
  os_type = "l26"
  machine = "q35"
  pool    = %s
  usb = {
%s
  }
}
`, pool, usb)
}

// A VM in a pool with USB devices beyond usb4 (q35 and l26 allow them):
// moved to another pool and out of pools; a USB device removed and one
// changed, the others untouched; import matches.
func TestAccVM_poolAndUSB(t *testing.T) {
	usb := func(more string) string {
		return `    usb0 = { host = "spice" }
    usb7 = { host = "spice", usb3 = true }
` + more
	}
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { preCheckISO(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkVMsDestroyed(t),
		Steps: []resource.TestStep{
			{
				Config: poolUSBConfig("pve_pool.a.pool_id", usb(`    usb13 = { host = "spice" }`)),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(vmAddr, tfjsonpath.New("pool"), knownvalue.StringExact("acc-a")),
					statecheck.ExpectKnownValue(vmAddr, tfjsonpath.New("usb"), knownvalue.MapSizeExact(3)),
					statecheck.ExpectKnownValue(vmAddr, tfjsonpath.New("usb").AtMapKey("usb7").AtMapKey("usb3"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(vmAddr, tfjsonpath.New("usb").AtMapKey("usb0").AtMapKey("usb3"), knownvalue.Bool(false)),
				},
				Check: checkVMConfig(t, "usb13", "spice"),
			},
			{ResourceName: vmAddr, ImportState: true, ImportStateVerify: true, ImportStateVerifyIgnore: []string{"reboot_on_change"}},
			{
				Config: poolUSBConfig("pve_pool.b.pool_id", usb("")),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(vmAddr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(vmAddr, tfjsonpath.New("pool"), knownvalue.StringExact("acc-b")),
					statecheck.ExpectKnownValue(vmAddr, tfjsonpath.New("usb"), knownvalue.MapSizeExact(2)),
				},
				Check: resource.ComposeTestCheckFunc(checkVMConfig(t, "usb13", ""), checkPoolMembers(t, "acc-a"), checkPoolMembers(t, "acc-b", "qemu/")),
			},
			{
				Config: poolUSBConfig("null", usb("")),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(vmAddr, tfjsonpath.New("pool"), knownvalue.Null()),
				},
				Check: checkPoolMembers(t, "acc-b"),
			},
		},
	})
}

// checkVMConfig checks one key of the test VM's configuration as PVE has
// it; want "" means the key is absent.
func checkVMConfig(t *testing.T, key, want string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		rs := s.RootModule().Resources[vmAddr]
		vmid, _ := strconv.Atoi(rs.Primary.Attributes["vmid"])
		cfg, err := acctest.PVEClient(t).GuestConfig(context.Background(), pve.QEMU, rs.Primary.Attributes["node"], vmid, false)
		if err != nil {
			return err
		}
		if got := cfg.Values[key]; got != want {
			return fmt.Errorf("VM %d %s = %q, want %q", vmid, key, got, want)
		}
		return nil
	}
}

// checkPoolMembers checks the members of a pool by ID prefix ("qemu/").
func checkPoolMembers(t *testing.T, pool string, prefixes ...string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		p, err := acctest.PVEClient(t).GetPool(context.Background(), pool)
		if err != nil {
			return err
		}
		if len(p.Members) != len(prefixes) {
			return fmt.Errorf("pool %s has members %+v, want %v", pool, p.Members, prefixes)
		}
		for i, m := range p.Members {
			if !strings.HasPrefix(m.ID, prefixes[i]) {
				return fmt.Errorf("pool %s member %d is %s, want %s...", pool, i, m.ID, prefixes[i])
			}
		}
		return nil
	}
}

// USB slots beyond usb4 and PCIe devices are checked against the machine
// and OS type at plan time, naming the slot.
func TestAccVM_passthroughBadInput(t *testing.T) {
	tests := []struct {
		name, body string
		want       *regexp.Regexp
	}{
		{"usb5 with an old OS type", `os_type = "win7"
  usb = { usb5 = { host = "spice" } }`, regexp.MustCompile(`(?s)USB Slot Not Available.*usb5.*os_type is win7`)},
		{"usb5 with an old machine", `os_type = "l26"
  machine = "pc-q35-6.2"
  usb = { usb5 = { host = "spice" } }`, regexp.MustCompile(`(?s)USB Slot Not Available.*machine version 7.1`)},
		{"usb14", `usb = { usb14 = { host = "spice" } }`, regexp.MustCompile(`(?s)Invalid Slot.*usb14`)},
		{"host and mapping", `usb = { usb0 = { host = "spice", mapping = "key" } }`, regexp.MustCompile(`(?s)Invalid Attribute Combination`)},
		{"pcie without q35", `hostpci = { hostpci0 = { mapping = "gpu", pcie = true } }`, regexp.MustCompile(`(?s)PCIe Needs Q35.*hostpci0.*machine is unset`)},
		{"bad PCI id", `hostpci = { hostpci0 = { id = "10de:2204" } }`, regexp.MustCompile(`(?s)must be a PCI address`)},
		{"hostpci16", `hostpci = { hostpci16 = { mapping = "gpu" } }`, regexp.MustCompile(`(?s)Invalid Slot.*hostpci16`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acctest.ExpectPlanError(t, "resource \"pve_vm\" \"test\" {\n  node = \"pve1\"\n  "+tt.body+"\n}\n", tt.want)
		})
	}
}

// With an API token, PVE refuses a raw host PCI device (only root@pam may
// pass one through): the plan says so, before anything is sent.
func TestAccVM_rawHostPCIRefusedToTokens(t *testing.T) {
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { preCheckISO(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: `
resource "pve_vm" "raw" {
  node    = "pve1"
  machine = "q35"
  started = false
  hostpci = {
    hostpci0 = { id = "0000:01:00", pcie = true }
  }
}
`,
			PlanOnly:    true,
			ExpectError: regexp.MustCompile(`(?s)Raw Device Needs root@pam.*only\s+root\s+can\s+set`),
		}},
	})
}
