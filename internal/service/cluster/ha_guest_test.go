package cluster_test

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/hcilab/terraform-provider-pve/internal/acctest"
	"github.com/hcilab/terraform-provider-pve/internal/pve"
	"github.com/hcilab/terraform-provider-pve/internal/testlab"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/mirror"
)

// haGuestConfig is a VM that pve_ha_resource keeps started.
func haGuestConfig(lab *testlab.Lab, node string, started bool, description ...string) string {
	desc := "kept by HA"
	if len(description) > 0 {
		desc = description[0]
	}
	return acctest.ProviderBlock(lab) + fmt.Sprintf(`
resource "pve_vm" "ha" {
  node        = %q
  name        = "acc-ha-guest"
  description = %q
  started     = %t
}

resource "pve_ha_resource" "ha" {
  sid   = "vm:${pve_vm.ha.vmid}"
  state = "started"
}
`, node, desc, started)
}

// A VM under pve_ha_resource: HA starts it (the apply waits for that) and
// the next plan is empty although `started = false`; after an HA migration
// done out of band and after a failover (its node powered off), the next
// plan does not move it back; a change of `started` is refused at plan
// time; a change of `node` migrates it through HA. The lab runs PVE's HA
// manager with short rounds (pvesim ha_manager.go).
func TestAccHAResource_guestFollowsHA(t *testing.T) {
	lab := acctest.StartLab(t, testlab.Options{HARound: 300 * time.Millisecond})
	c := acctest.LabClient(t, lab)
	ctx := context.Background()
	var vmid int
	readVMID := func(s *terraform.State) error {
		id, err := strconv.Atoi(s.RootModule().Resources["pve_vm.ha"].Primary.Attributes["vmid"])
		vmid = id
		return err
	}
	running := func(node string) resource.TestCheckFunc {
		return func(*terraform.State) error {
			st, err := c.GuestCurrentStatus(ctx, pve.QEMU, node, vmid)
			if err != nil {
				return err
			}
			if st.Status != "running" {
				return fmt.Errorf("VM %d on %s is %s, want running", vmid, node, st.Status)
			}
			return nil
		}
	}
	waitCtx := func() (context.Context, context.CancelFunc) { return context.WithTimeout(ctx, 2*time.Minute) }
	keepsNode := func(node string) []statecheck.StateCheck {
		return []statecheck.StateCheck{
			statecheck.ExpectKnownValue("pve_vm.ha", tfjsonpath.New("node"), knownvalue.StringExact(node)),
			statecheck.ExpectKnownValue("pve_vm.ha", tfjsonpath.New("started"), knownvalue.Bool(false)),
		}
	}
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				// started through HA: running when the apply returns, and no
				// plan to stop it
				Config:            haGuestConfig(lab, "pve1", false),
				Check:             resource.ComposeTestCheckFunc(readVMID, running("pve1")),
				ConfigStateChecks: keepsNode("pve1"),
			},
			{
				// an HA migration out of band (the guest API's migrate is one)
				PreConfig: func() {
					ctx, cancel := waitCtx()
					defer cancel()
					if _, err := c.MigrateGuest(ctx, pve.QEMU, "pve1", vmid, "pve2", true); err != nil {
						t.Fatal(err)
					}
					if err := c.WaitHAMigration(ctx, pve.HASID(pve.QEMU, vmid), "pve2"); err != nil {
						t.Fatal(err)
					}
				},
				Config:   haGuestConfig(lab, "pve1", false),
				PlanOnly: true,
			},
			{
				// its node fails: HA fences it and recovers the VM elsewhere;
				// the plan neither moves it back nor touches pve2
				PreConfig: func() {
					if err := lab.StopNode("pve2"); err != nil {
						t.Fatal(err)
					}
					ctx, cancel := waitCtx()
					defer cancel()
					err := c.WaitHAService(ctx, pve.HASID(pve.QEMU, vmid), func(s *pve.HAService) (bool, error) {
						return s.Node != "pve2" && s.State == "started", nil
					})
					if err != nil {
						t.Fatal(err)
					}
				},
				Config:   haGuestConfig(lab, "pve1", false),
				PlanOnly: true,
			},
			{
				// another change while pve2 is still down: made where the VM
				// is now, and it stays there
				Config:            haGuestConfig(lab, "pve1", false, "changed while pve2 is down"),
				ConfigStateChecks: keepsNode("pve1"),
			},
			{
				Config:      haGuestConfig(lab, "pve1", true, "changed while pve2 is down"),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Run State Owned by HA.*pve_ha_resource`),
			},
			{
				// a new node in the configuration: migrated through HA
				Config: haGuestConfig(lab, "pve3", false, "changed while pve2 is down"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("pve_vm.ha", plancheck.ResourceActionUpdate),
				}},
				Check:             running("pve3"),
				ConfigStateChecks: keepsNode("pve3"),
			},
		},
	})
}

// haMovedOutOfBand is a step that has HA move a guest to target through
// the guest API (PVE turns it into an HA migration) and waits until HA has
// done it.
func haMovedOutOfBand(t *testing.T, c *pve.Client, kind pve.GuestKind, from, target string, vmid *int) func() {
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if _, err := c.MigrateGuest(ctx, kind, from, *vmid, target, true); err != nil {
			t.Fatal(err)
		}
		if err := c.WaitHAMigration(ctx, pve.HASID(kind, *vmid), target); err != nil {
			t.Fatal(err)
		}
	}
}

// A running VM and container under pve_ha_resource that HA moved out of
// band: the next plan is empty (before, it migrated them back).
func TestAccHAResource_noMoveBack(t *testing.T) {
	lab := acctest.StartLab(t, testlab.Options{HARound: 300 * time.Millisecond})
	c := acctest.LabClient(t, lab)
	config := acctest.ProviderBlock(lab) + `
resource "pve_vm" "ha" {
  node = "pve1"
  name = "acc-ha-vm"
}

resource "pve_container" "ha" {
  node       = "pve1"
  hostname   = "acc-ha-ct"
  ostemplate = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"
  rootfs     = { storage = "local-lvm", size = 4 }
}

resource "pve_ha_resource" "vm" {
  sid   = "vm:${pve_vm.ha.vmid}"
  state = "started"
}

resource "pve_ha_resource" "ct" {
  sid   = "ct:${pve_container.ha.vmid}"
  state = "started"
}
`
	var vmID, ctID int
	readIDs := func(s *terraform.State) error {
		var err error
		if vmID, err = strconv.Atoi(s.RootModule().Resources["pve_vm.ha"].Primary.Attributes["vmid"]); err != nil {
			return err
		}
		ctID, err = strconv.Atoi(s.RootModule().Resources["pve_container.ha"].Primary.Attributes["vmid"])
		return err
	}
	acctest.Test(t, resource.TestCase{
		PreCheck: func() {
			acctest.PreCheck(t)
			acctest.EnsureFile(t, c, "pve1", mirror.DebianTemplate)
		},
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: config, Check: readIDs},
			{
				PreConfig: func() {
					haMovedOutOfBand(t, c, pve.QEMU, "pve1", "pve2", &vmID)()
					haMovedOutOfBand(t, c, pve.LXC, "pve1", "pve3", &ctID)()
				},
				Config:   config,
				PlanOnly: true,
			},
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("pve_vm.ha", tfjsonpath.New("node"), knownvalue.StringExact("pve1")),
					statecheck.ExpectKnownValue("pve_container.ha", tfjsonpath.New("node"), knownvalue.StringExact("pve1")),
				},
			},
		},
	})
}

// A VM made HA-managed out of band (an HA resource the configuration does
// not have): the plan stays empty, and destroying it waits for HA to stop
// it (the stop is a request to HA) before deleting it with its HA resource.
func TestAccHAResource_outOfBandDestroy(t *testing.T) {
	lab := acctest.StartLab(t, testlab.Options{HARound: 300 * time.Millisecond})
	c := acctest.LabClient(t, lab)
	config := acctest.ProviderBlock(lab) + `
resource "pve_vm" "ha" {
  node = "pve1"
  name = "acc-ha-oob"
}
`
	var vmid int
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			if g, err := c.FindGuest(context.Background(), vmid); err == nil {
				return fmt.Errorf("VM %d still exists on %s", vmid, g.Node)
			}
			if managed, err := c.GuestHAManaged(context.Background(), pve.QEMU, vmid); err != nil || managed {
				return fmt.Errorf("VM %d still has an HA resource (%v)", vmid, err)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: config,
				Check: func(s *terraform.State) error {
					var err error
					vmid, err = strconv.Atoi(s.RootModule().Resources["pve_vm.ha"].Primary.Attributes["vmid"])
					return err
				},
			},
			{
				PreConfig: func() {
					ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
					defer cancel()
					sid := pve.HASID(pve.QEMU, vmid)
					if err := c.CreateHA(ctx, "resources", url.Values{"sid": {sid}, "state": {"started"}}); err != nil {
						t.Fatal(err)
					}
					if err := c.WaitHARequestedState(ctx, sid, "started"); err != nil {
						t.Fatal(err)
					}
				},
				Config:   config,
				PlanOnly: true,
			},
		},
	})
}
