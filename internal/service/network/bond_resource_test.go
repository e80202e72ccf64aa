package network_test

import (
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/hcilab/terraform-provider-pve/internal/acctest"
)

const bondAddr = "pve_network_bond.test"

func bondConfig(node, mode, extra string) string {
	return lines(
		`resource "pve_network_bond" "test" {`,
		`  node      = "`+node+`"`,
		`  name      = "bond3"`,
		`  slaves    = ["eno3", "eno4"]`,
		`  mode      = "`+mode+`"`,
		extra,
		`  autostart = true`,
		`}`)
}

func TestAccNetworkBond_basic(t *testing.T) {
	lacp := bondConfig("pve3", "802.3ad", `xmit_hash_policy = "layer3+4"`+"\n"+`mtu = 9000`+"\n"+`cidr = "10.88.0.13/24"`)
	acctest.TestOutOfProcess(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkDestroyed(t, "pve_network_bond"),
		Steps: []resource.TestStep{
			{
				Config: lacp,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(bondAddr, tfjsonpath.New("mode"), knownvalue.StringExact("802.3ad")),
					statecheck.ExpectKnownValue(bondAddr, tfjsonpath.New("xmit_hash_policy"), knownvalue.StringExact("layer3+4")),
					statecheck.ExpectKnownValue(bondAddr, tfjsonpath.New("slaves"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.StringExact("eno3"), knownvalue.StringExact("eno4"),
					})),
				},
			},
			{
				Config: lacp,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(bondAddr, tfjsonpath.New("active"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(bondAddr, tfjsonpath.New("miimon"), knownvalue.Int64Exact(100)),
				},
			},
			{
				ResourceName:      bondAddr,
				ImportState:       true,
				ImportStateId:     "pve3:bond3",
				ImportStateVerify: true,
			},
			{
				// active-backup in place: the LACP hash policy is dropped.
				Config: bondConfig("pve3", "active-backup", `primary = "eno4"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(bondAddr, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(bondAddr, tfjsonpath.New("mode"), knownvalue.StringExact("active-backup")),
					statecheck.ExpectKnownValue(bondAddr, tfjsonpath.New("primary"), knownvalue.StringExact("eno4")),
					statecheck.ExpectKnownValue(bondAddr, tfjsonpath.New("mtu"), knownvalue.Null()),
					statecheck.ExpectKnownValue(bondAddr, tfjsonpath.New("cidr"), knownvalue.Null()),
				},
			},
		},
	})
}

func TestAccNetworkBond_disappears(t *testing.T) {
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkDestroyed(t, "pve_network_bond"),
		Steps: []resource.TestStep{{
			Config:             bondConfig("pve2", "balance-rr", ""),
			Check:              deleteOutOfBand(t, "pve2", "bond3"),
			ExpectNonEmptyPlan: true,
		}},
	})
}

// What the issue asks to see: a hash policy on an active-backup bond fails
// at plan time, naming the attribute, before anything is sent.
func TestAccNetworkBond_badInput(t *testing.T) {
	tests := []struct {
		name, mode, extra string
		want              *regexp.Regexp
	}{
		{"hash policy on active-backup", "active-backup", `xmit_hash_policy = "layer2+3"`,
			regexp.MustCompile(`(?s)Transmit Hash Policy Needs a Hashing Mode.*xmit_hash_policy`)},
		{"primary without active-backup", "802.3ad", `primary = "eno3"`, regexp.MustCompile(`(?s)Primary Slave Needs Active-Backup.*primary`)},
		{"primary not a slave", "active-backup", `primary = "eno1"`, regexp.MustCompile(`(?s)Primary Is Not a Slave`)},
		{"unknown mode", "lacp", "", regexp.MustCompile(`(?s)mode.*802\.3ad`)},
		{"encap policy", "802.3ad", `xmit_hash_policy = "encap3+4"`, regexp.MustCompile(`(?s)xmit_hash_policy.*layer3\+4`)},
		{"mtu too large", "802.3ad", `mtu = 70000`, regexp.MustCompile(`(?s)mtu.*65520`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := -1 // counted only when the test runs (TF_ACC)
			acctest.Test(t, resource.TestCase{
				PreCheck: func() {
					acctest.PreCheck(t)
					before = reloads(t, "pve1")
				},
				ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:      bondConfig("pve1", tt.mode, tt.extra),
					PlanOnly:    true,
					ExpectError: tt.want,
				}},
			})
			if before < 0 {
				return
			}
			if after := reloads(t, "pve1"); after != before {
				t.Fatalf("a plan-time error must send nothing, but pve1 reloaded %d times", after-before)
			}
		})
	}
}

// PVE's own refusal comes back readable, and nothing is reloaded.
func TestAccNetworkBond_slaveInUse(t *testing.T) {
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkDestroyed(t, "pve_network_bond"),
		Steps: []resource.TestStep{{
			Config: lines(
				`resource "pve_network_bond" "test" {`,
				`  node   = "pve1"`,
				`  name   = "bond5"`,
				`  slaves = ["eno1", "eno2"]`,
				`  mode   = "active-backup"`,
				`}`),
			ExpectError: regexp.MustCompile(`(?s)Unable to Create Linux Bond.*eno1 is already used on interface 'vmbr0'`),
		}},
	})
}

// One apply builds bond0 (LACP, two slaves, MTU 9000) and vmbr1 on top of
// it: the node is reloaded exactly once, after both edits, and both are up.
func TestAccNetwork_bondAndBridgeOneReload(t *testing.T) {
	const node = "pve2"
	config := lines(
		`resource "pve_network_bond" "bond0" {`,
		`  node             = "`+node+`"`,
		`  name             = "bond0"`,
		`  slaves           = ["eno2", "eno3"]`,
		`  mode             = "802.3ad"`,
		`  xmit_hash_policy = "layer3+4"`,
		`  mtu              = 9000`,
		`  autostart        = true`,
		`}`,
		`resource "pve_network_bridge" "vmbr1" {`,
		`  node       = "`+node+`"`,
		`  name       = "vmbr1"`,
		`  ports      = [pve_network_bond.bond0.name]`,
		`  mtu        = 9000`,
		`  vlan_aware = true`,
		`  cidr       = "10.99.0.12/24"`,
		`  autostart  = true`,
		`}`)
	var before int
	acctest.TestOutOfProcess(t, resource.TestCase{
		PreCheck: func() {
			acctest.PreCheck(t)
			settleAll(t) // reloads left scheduled by earlier tests are not this test's
			before = reloads(t, node)
		},
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkDestroyed(t, "pve_network_bond"),
		Steps: []resource.TestStep{
			{Config: config},
			{
				// The same configuration again: the refresh has settled the
				// node, so the reload has run; nothing is left to do.
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("pve_network_bond.bond0", tfjsonpath.New("active"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue("pve_network_bridge.vmbr1", tfjsonpath.New("active"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue("pve_network_bridge.vmbr1", tfjsonpath.New("pending"), knownvalue.Bool(false)),
				},
				Check: func(*terraform.State) error {
					if n := reloads(t, node) - before; n != 1 {
						t.Errorf("%s was reloaded %d times for the bond and the bridge, want exactly 1", node, n)
					}
					return nil
				},
			},
		},
	})
}
