package cluster_test

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

func haConfig(state string, nodes string) string {
	return `
resource "pve_vm" "ha" {
  node    = "pve1"
  name    = "acc-ha"
  started = false
}

resource "pve_ha_resource" "test" {
  sid          = "vm:${pve_vm.ha.vmid}"
  state        = "` + state + `"
  max_restart  = 2
  comment      = "kept running"
}

resource "pve_ha_rule" "test" {
  rule      = "acc-prefer"
  type      = "node-affinity"
  resources = [pve_ha_resource.test.sid]
  nodes     = ` + nodes + `
}
`
}

// An HA resource for a VM and a node-affinity rule (PVE 9): created,
// imported, changed in place.
func TestAccHAResource_basic(t *testing.T) {
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: haConfig("started", `{ pve1 = 2, pve2 = 1 }`),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("pve_ha_resource.test", tfjsonpath.New("state"), knownvalue.StringExact("started")),
					statecheck.ExpectKnownValue("pve_ha_resource.test", tfjsonpath.New("max_restart"), knownvalue.Int64Exact(2)),
					statecheck.ExpectKnownValue("pve_ha_rule.test", tfjsonpath.New("nodes"), knownvalue.MapExact(map[string]knownvalue.Check{
						"pve1": knownvalue.Int64Exact(2), "pve2": knownvalue.Int64Exact(1)})),
				},
			},
			{ResourceName: "pve_ha_resource.test", ImportState: true, ImportStateVerify: true},
			{ResourceName: "pve_ha_rule.test", ImportState: true, ImportStateVerify: true},
			{
				Config: haConfig("stopped", `{ pve2 = 0, pve3 = 1 }`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("pve_ha_resource.test", plancheck.ResourceActionUpdate),
					plancheck.ExpectResourceAction("pve_ha_rule.test", plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("pve_ha_resource.test", tfjsonpath.New("state"), knownvalue.StringExact("stopped")),
					statecheck.ExpectKnownValue("pve_ha_rule.test", tfjsonpath.New("nodes").AtMapKey("pve3"), knownvalue.Int64Exact(1)),
				},
			},
		},
	})
}

// HA groups are PVE 8's: on PVE 9 a plan-time error points to rules; on a
// PVE 8 lab groups work and rules are refused.
func TestAccHAGroup_versions(t *testing.T) {
	acctest.ExpectPlanError(t, `
resource "pve_ha_group" "test" {
  group = "web"
  nodes = { pve1 = 1 }
}
`, regexp.MustCompile(`(?s)Wrong PVE Version.*pve_ha_group does not exist in PVE 9.*use pve_ha_rule`))

	lab := acctest.StartLab(t, testlab.Options{Version: "8.4"})
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: acctest.ProviderBlock(lab) + `
resource "pve_ha_group" "test" {
  group      = "web"
  nodes      = { pve1 = 2, pve2 = 1 }
  restricted = true
}
`,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("pve_ha_group.test", tfjsonpath.New("restricted"), knownvalue.Bool(true)),
				},
			},
			{ResourceName: "pve_ha_group.test", ImportState: true, ImportStateVerify: true},
			{
				Config: acctest.ProviderBlock(lab) + `
resource "pve_ha_rule" "test" {
  rule  = "web"
  type  = "node-affinity"
  nodes = { pve1 = 1 }
}
`,
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Wrong PVE Version.*pve_ha_rule does not exist in PVE 8.*use pve_ha_group`),
			},
		},
	})
}
