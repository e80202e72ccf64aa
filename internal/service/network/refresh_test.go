package network_test

import (
	"context"
	"fmt"
	"net/url"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/hcilab/terraform-provider-pve/internal/acctest"
	"github.com/hcilab/terraform-provider-pve/internal/testlab"
)

// A refresh of many interfaces reads each node's network list once
// (pve.NetworkConfigShared), not once per interface: two requests for
// eight bridges on two nodes, counted by the lab. A comment changed outside
// Terraform shows in the next plan.
func TestAccNetwork_refreshSharesList(t *testing.T) {
	lab := acctest.StartLab(t, testlab.Options{Nodes: 2})
	config := acctest.ProviderBlock(lab) + `
resource "pve_network_bridge" "many" {
  count     = 8
  node      = count.index < 4 ? "pve1" : "pve2"
  name      = "vmbr${10 + count.index}"
  comment   = "bridge ${count.index}"
  autostart = true
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
					t.Logf("requests of a refresh of 8 bridges on 2 nodes: %v", got)
					if got["GET /nodes/{node}/network"] != 2 || got["GET /nodes/{node}/network/{iface}"] != 0 {
						t.Errorf("a refresh of 8 bridges on 2 nodes: %v, want 2 GET /nodes/{node}/network (one per node)", got)
					}
					c := acctest.LabClient(t, lab)
					ctx := context.Background()
					if err := c.UpdateNetworkInterface(ctx, "pve2", "vmbr17", url.Values{"type": {"bridge"}, "comments": {"changed outside"}, "autostart": {"1"}}); err != nil {
						t.Fatal(err)
					}
					if _, err := c.ReloadNetwork(ctx, "pve2"); err != nil {
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
					plancheck.ExpectResourceAction("pve_network_bridge.many[7]", plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("pve_network_bridge.many[7]", tfjsonpath.New("comment"), knownvalue.StringExact(fmt.Sprintf("bridge %d", 7))),
				},
			},
		},
	})
}
