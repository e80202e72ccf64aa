package network_test

import (
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/hcilab/terraform-provider-pve/internal/acctest"
	"github.com/hcilab/terraform-provider-pve/internal/testlab"
)

const bridgeAddr = "pve_network_bridge.test"

func TestAccNetworkBridge_basic(t *testing.T) {
	first := lines(
		`resource "pve_network_bridge" "test" {`,
		`  node       = "pve1"`,
		`  name       = "vmbr7"`,
		`  ports      = ["eno4"]`,
		`  vlan_aware = true`,
		`  vids       = ["10", "20", "100-200"]`,
		`  mtu        = 1400`,
		`  cidr       = "10.77.0.11/24"`,
		`  autostart  = true`,
		`  comment    = "guests"`,
		`}`)
	acctest.TestOutOfProcess(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkDestroyed(t, "pve_network_bridge"),
		Steps: []resource.TestStep{
			{
				Config: first,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(bridgeAddr, tfjsonpath.New("id"), knownvalue.StringExact("pve1:vmbr7")),
					statecheck.ExpectKnownValue(bridgeAddr, tfjsonpath.New("ports"), knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("eno4")})),
					statecheck.ExpectKnownValue(bridgeAddr, tfjsonpath.New("vids"), knownvalue.ListSizeExact(3)),
					statecheck.ExpectKnownValue(bridgeAddr, tfjsonpath.New("mtu"), knownvalue.Int64Exact(1400)),
				},
			},
			{
				// The post-apply refresh has settled the node: the bridge is up
				// and nothing is left to do.
				Config: first,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(bridgeAddr, tfjsonpath.New("active"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(bridgeAddr, tfjsonpath.New("pending"), knownvalue.Bool(false)),
				},
			},
			{
				ResourceName:      bridgeAddr,
				ImportState:       true,
				ImportStateId:     "pve1:vmbr7",
				ImportStateVerify: true,
			},
			{
				// In place: MTU and comment dropped, VLANs changed.
				Config: lines(
					`resource "pve_network_bridge" "test" {`,
					`  node       = "pve1"`,
					`  name       = "vmbr7"`,
					`  ports      = ["eno4"]`,
					`  vlan_aware = true`,
					`  vids       = ["10", "30"]`,
					`  cidr       = "10.77.0.11/24"`,
					`  autostart  = true`,
					`}`),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(bridgeAddr, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(bridgeAddr, tfjsonpath.New("mtu"), knownvalue.Null()),
					statecheck.ExpectKnownValue(bridgeAddr, tfjsonpath.New("comment"), knownvalue.Null()),
					statecheck.ExpectKnownValue(bridgeAddr, tfjsonpath.New("vids"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.StringExact("10"), knownvalue.StringExact("30"),
					})),
				},
			},
		},
	})
}

func TestAccNetworkBridge_disappears(t *testing.T) {
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkDestroyed(t, "pve_network_bridge"),
		Steps: []resource.TestStep{{
			Config: lines(
				`resource "pve_network_bridge" "test" {`,
				`  node      = "pve1"`,
				`  name      = "vmbr8"`,
				`  autostart = true`,
				`}`),
			Check:              deleteOutOfBand(t, "pve1", "vmbr8"),
			ExpectNonEmptyPlan: true,
		}},
	})
}

// The bridge every PVE install has can be imported and then managed: an
// import block with a configuration that matches plans no change.
func TestAccNetworkBridge_importExisting(t *testing.T) {
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: lines(
					`data "pve_network_interfaces" "pve3" {`,
					`  node = "pve3"`,
					`}`,
					`locals {`,
					`  vmbr0 = one([for i in data.pve_network_interfaces.pve3.interfaces : i if i.name == "vmbr0"])`,
					`}`,
					`import {`,
					`  to = pve_network_bridge.test`,
					`  id = "pve3:vmbr0"`,
					`}`,
					`resource "pve_network_bridge" "test" {`,
					`  node      = "pve3"`,
					`  name      = "vmbr0"`,
					`  ports     = local.vmbr0.ports`,
					`  cidr      = local.vmbr0.cidr`,
					`  gateway   = local.vmbr0.gateway`,
					`  autostart = true`,
					`}`),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(bridgeAddr, plancheck.ResourceActionNoop)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(bridgeAddr, tfjsonpath.New("ports"), knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("eno1")})),
					statecheck.ExpectKnownValue(bridgeAddr, tfjsonpath.New("active"), knownvalue.Bool(true)),
				},
			},
			{
				// Forgotten again, not destroyed: the test leaves pve3's
				// management bridge in place.
				Config: lines(
					`removed {`,
					`  from = pve_network_bridge.test`,
					`  lifecycle {`,
					`    destroy = false`,
					`  }`,
					`}`),
				Check: stillConfigured(t, "pve3", "vmbr0"),
			},
		},
	})
}

func TestAccNetworkBridge_badInput(t *testing.T) {
	tests := []struct {
		name, body string
		want       *regexp.Regexp
	}{
		{"name", `name = "br0"`, regexp.MustCompile(`(?s)Invalid Attribute Value.*vmbrN`)},
		{"mtu", `name = "vmbr9"` + "\n" + `mtu = 1000`, regexp.MustCompile(`(?s)mtu.*1280`)},
		{"gateway outside", `name = "vmbr9"` + "\n" + `cidr = "10.0.0.5/24"` + "\n" + `gateway = "10.0.1.1"`, regexp.MustCompile(`(?s)Gateway Outside Network.*gateway`)},
		{"vids without vlan_aware", `name = "vmbr9"` + "\n" + `vids = ["10"]`, regexp.MustCompile(`(?s)VLANs Without a VLAN-Aware Bridge`)},
		{"port name", `name = "vmbr9"` + "\n" + `ports = ["eno 1"]`, regexp.MustCompile(`(?s)ports.*interface name`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acctest.ExpectPlanError(t, "resource \"pve_network_bridge\" \"test\" {\nnode = \"pve1\"\n"+tt.body+"\n}\n", tt.want)
		})
	}
}

// A port that does not exist is refused by PVE when the edit is staged; the
// error reads as PVE wrote it.
func TestAccNetworkBridge_missingPort(t *testing.T) {
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkDestroyed(t, "pve_network_bridge"),
		Steps: []resource.TestStep{{
			Config: lines(
				`resource "pve_network_bridge" "test" {`,
				`  node  = "pve2"`,
				`  name  = "vmbr6"`,
				`  ports = ["eno9"]`,
				`}`),
			ExpectError: regexp.MustCompile(`(?s)Unable to Create Linux Bridge.*unable to find bridge port 'eno9'`),
		}},
	})
}

// A reload that fails (twice: a failed reload is run once more) is not
// taken for success: the next plan shows the interface that did not come
// up as a change, and applying it reloads the node again.
func TestAccNetworkBridge_failedReload(t *testing.T) {
	lab := acctest.Lab()
	if lab == nil {
		t.Skip("needs the simulated lab's fault injection")
	}
	config := lines(
		`resource "pve_network_bridge" "test" {`,
		`  node      = "pve2"`,
		`  name      = "vmbr5"`,
		`  autostart = true`,
		`}`)
	acctest.TestOutOfProcess(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkDestroyed(t, "pve_network_bridge"),
		Steps: []resource.TestStep{
			{
				PreConfig: func() {
					// Reloads other tests left scheduled must not take the fault.
					settleAll(t)
					lab.Faults().FailNextTasksOf("srvreload", 2, "command 'ifreload -a' failed: exit code 1")
				},
				Config:             config,
				ExpectNonEmptyPlan: true,
			},
			{
				// At the provider's exit the CLI leaves too little time for
				// the second try (main.go's flushTimeout): whether it came
				// or not, the bridge is down, and no failure is left over.
				PreConfig: func() { lab.Faults().FailNextTasksOf("", 0, "") },
				Config:    config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(bridgeAddr, plancheck.ResourceActionUpdate)},
				},
			},
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(bridgeAddr, tfjsonpath.New("active"), knownvalue.Bool(true)),
				},
			},
		},
	})
}

// A reload whose task failed once is run again (PVE has moved the staged
// file into place; a second `ifreload -a` brings up what the first left
// down): the bridge is up after one apply. In-process, the run's reload
// comes before the next command, with time to wait for both tries; at a
// real provider's exit the CLI leaves it two seconds (main.go), enough to
// start the first reload only, so the retry helps the reloads made within
// an apply (a guest on the bridge, a read of the node's interfaces).
func TestAccNetworkBridge_reloadFailsOnce(t *testing.T) {
	lab := acctest.StartLab(t, testlab.Options{Nodes: 1})
	config := acctest.ProviderBlock(lab) + lines(
		`resource "pve_network_bridge" "test" {`,
		`  node      = "pve1"`,
		`  name      = "vmbr5"`,
		`  autostart = true`,
		`}`)
	acctest.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				PreConfig: func() {
					lab.Faults().FailNextTasksOf("srvreload", 1, "command 'ifreload -a' failed: exit code 1")
				},
				Config: config,
			},
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(bridgeAddr, tfjsonpath.New("active"), knownvalue.Bool(true)),
				},
			},
		},
	})
}
