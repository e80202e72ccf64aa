package cluster_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/hcilab/terraform-provider-pve/internal/acctest"
	"github.com/hcilab/terraform-provider-pve/internal/testlab"
)

// A refresh of many HA resources and rules reads each index once
// (pve.GetHAShared), not each object: one GET /cluster/ha/resources (which
// the guests' HA check shares) and one GET /cluster/ha/rules for four of
// each, counted by the lab. A rule changed outside Terraform shows in the
// next plan.
func TestAccHA_refreshSharesList(t *testing.T) {
	lab := acctest.StartLab(t, testlab.Options{HARound: 200 * time.Millisecond})
	config := acctest.ProviderBlock(lab) + `
resource "pve_vm" "ha" {
  count   = 4
  node    = "pve1"
  name    = "acc-ha-${count.index}"
  started = false
}

resource "pve_ha_resource" "many" {
  count = 4
  sid   = "vm:${pve_vm.ha[count.index].vmid}"
  state = "stopped"
}

resource "pve_ha_rule" "many" {
  count     = 4
  rule      = "acc-rule-${count.index}"
  type      = "node-affinity"
  resources = [pve_ha_resource.many[count.index].sid]
  nodes     = { pve1 = 1 }
  comment   = "rule ${count.index}"
}
`
	acctest.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: config},
			// one refresh (a PlanOnly step plans once without and once
			// with refresh)
			{PreConfig: lab.ResetRequests, Config: config, PlanOnly: true},
			{
				PreConfig: func() {
					got := lab.Requests()
					t.Logf("requests of a refresh of 4 VMs, 4 HA resources and 4 HA rules: %v", got)
					for route, want := range map[string]int{
						"GET /cluster/ha/resources":            1,
						"GET /cluster/ha/resources/{sid}":      0,
						"GET /cluster/ha/rules":                1,
						"GET /cluster/ha/rules/{rule}":         0,
						"GET /nodes/{node}/qemu/{vmid}/config": 4,
					} {
						if got[route] != want {
							t.Errorf("%s: %d requests, want %d (all: %v)", route, got[route], want, got)
						}
					}
					// the version every HA object's plan checks: once per
					// plan besides the provider's connect, for both plans
					if got["GET /version"] > 4 {
						t.Errorf("GET /version: %d requests, want at most 4 (all: %v)", got["GET /version"], got)
					}
					err := acctest.LabClient(t, lab).UpdateHA(context.Background(), "rules", "acc-rule-2",
						url.Values{"type": {"node-affinity"}, "comment": {"changed outside"}})
					if err != nil {
						t.Fatal(err)
					}
				},
				Config:             config,
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("pve_ha_rule.many[2]", plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("pve_ha_rule.many[2]", tfjsonpath.New("comment"), knownvalue.StringExact("rule 2")),
				},
			},
		},
	})
}
