package network_test

import (
	"context"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/hcilab/terraform-provider-pve/internal/acctest"
	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

// holdConfig is a bond with a bridge on it, an unrelated VLAN and a VM on
// the existing vmbr0, all on one node. The VM is created between the bond
// and the bridge (depends_on), where a guest that reloads its node would
// bring the bond live alone. With gateway set, PVE refuses the bridge (the
// node's default gateway is on vmbr0: "Default gateway already exists").
func holdConfig(node string, gateway bool) string {
	gw := ""
	if gateway {
		gw = `  gateway   = "10.98.0.1"`
	}
	return lines(
		`resource "pve_network_bond" "bond1" {`,
		`  node      = "`+node+`"`,
		`  name      = "bond1"`,
		`  slaves    = ["eno3", "eno4"]`,
		`  mode      = "active-backup"`,
		`  autostart = true`,
		`}`,
		`resource "pve_vm" "guest" {`,
		`  node       = "`+node+`"`,
		`  name       = "hold-guest"`,
		`  started    = false`,
		`  network    = { net0 = { model = "virtio", bridge = "vmbr0" } }`,
		`  depends_on = [pve_network_bond.bond1]`,
		`}`,
		`resource "pve_network_bridge" "vmbr7" {`,
		`  node      = "`+node+`"`,
		`  name      = "vmbr7"`,
		`  ports     = [pve_network_bond.bond1.name]`,
		`  cidr      = "10.98.0.13/24"`,
		gw,
		`  autostart = true`,
		`  depends_on = [pve_vm.guest]`,
		`}`,
		`resource "pve_network_vlan" "vlan60" {`,
		`  node      = "`+node+`"`,
		`  name      = "eno2.60"`,
		`  autostart = true`,
		`}`)
}

// A bond and the bridge on it where PVE refuses the bridge, with an
// unrelated VLAN and a guest created on the same node in the same apply:
// nothing of the bond goes live, nothing stays staged for a reboot to
// apply, and the node's API stays reachable. After the bridge is fixed, the
// next apply converges with exactly one reload of the node.
func TestAccNetwork_failedEditHoldsNode(t *testing.T) {
	const node = "pve3"
	var before int
	noneLive := func() {
		t.Helper()
		cfg, err := acctest.PVEClient(t).NetworkConfig(context.Background(), node, "")
		if err != nil {
			t.Fatalf("the node's API after the failed apply: %v", err)
		}
		if cfg.Changes != "" {
			t.Errorf("%s still has staged network changes after the failed apply:\n%s", node, cfg.Changes)
		}
		for _, name := range []string{"bond1", "vmbr7", "eno2.60"} {
			if i := cfg.Interface(name); i != nil {
				t.Errorf("%s is configured on %s after the failed apply (active %v)", name, node, bool(i.Active))
			}
		}
		if n := reloads(t, node) - before; n != 0 {
			t.Errorf("%s was reloaded %d times by the failed apply, want none", node, n)
		}
	}
	acctest.TestOutOfProcess(t, resource.TestCase{
		PreCheck: func() {
			acctest.PreCheck(t)
			settleAll(t)
			before = reloads(t, node)
		},
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkDestroyed(t, "pve_network_bond"),
		Steps: []resource.TestStep{
			{
				Config:      holdConfig(node, true),
				ExpectError: regexp.MustCompile(`(?s)Unable to Create Linux Bridge.*Default gateway already exists`),
			},
			{
				// The run of the failed apply has ended: what it left.
				PreConfig: func() {
					pve.FlushNetworkReloads(context.Background())
					noneLive()
					before = reloads(t, node)
				},
				Config: holdConfig(node, false),
				Check: func(*terraform.State) error {
					if n := reloads(t, node) - before; n != 1 {
						t.Errorf("%s was reloaded %d times by the fixed apply, want exactly 1", node, n)
					}
					return nil
				},
			},
			{
				Config: holdConfig(node, false),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
		},
	})
}

// mgmtConfig manages pve3's vmbr0, which carries the address the cluster
// reaches pve3 through (192.168.100.13 in the lab), with the given cidr and
// opt-in.
func mgmtConfig(cidr, allow string) string {
	return lines(
		`import {`,
		`  to = pve_network_bridge.mgmt`,
		`  id = "pve3:vmbr0"`,
		`}`,
		`resource "pve_network_bridge" "mgmt" {`,
		`  node      = "pve3"`,
		`  name      = "vmbr0"`,
		`  ports     = ["eno1"]`,
		`  cidr      = "`+cidr+`"`,
		`  gateway   = "192.168.100.1"`,
		`  autostart = true`,
		allow,
		`}`)
}

// A plan that would take a node's management address away is refused at
// plan time, naming the address, unless the interface opts in; nothing is
// sent to the node.
func TestAccNetworkBridge_managementAddress(t *testing.T) {
	const addr = "pve_network_bridge.mgmt"
	var before int
	acctest.Test(t, resource.TestCase{
		PreCheck: func() {
			acctest.PreCheck(t)
			settleAll(t)
			before = reloads(t, "pve3")
		},
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: mgmtConfig("192.168.100.13/24", ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(addr, plancheck.ResourceActionNoop)},
				},
			},
			{
				Config:      mgmtConfig("192.168.100.113/24", ""),
				ExpectError: regexp.MustCompile(`(?s)Plan Removes the Node's Management Address.*192\.168\.100\.13.*allow_management_address_change`),
			},
			{
				// Opted in, the plan is made (and not applied here: it would
				// take pve3 off the lab's network).
				Config:             mgmtConfig("192.168.100.113/24", "  allow_management_address_change = true"),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				Config: lines(
					`removed {`,
					`  from = pve_network_bridge.mgmt`,
					`  lifecycle {`,
					`    destroy = false`,
					`  }`,
					`}`),
				Check: func(*terraform.State) error {
					if n := reloads(t, "pve3") - before; n != 0 {
						t.Errorf("pve3 was reloaded %d times, want none", n)
					}
					return stillConfigured(t, "pve3", "vmbr0")(nil)
				},
			},
		},
	})
}
