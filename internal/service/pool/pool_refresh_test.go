package pool_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/hcilab/terraform-provider-pve/internal/acctest"
	"github.com/hcilab/terraform-provider-pve/internal/testlab"
)

// A refresh of many pools reads the pool index once (pve.GetPoolShared),
// not each pool: one request for all of them, counted by the lab. A comment
// changed outside Terraform shows in the next plan.
func TestAccPool_refreshSharesList(t *testing.T) {
	const n = 8
	lab := acctest.StartLab(t, testlab.Options{Nodes: 1})
	config := acctest.ProviderBlock(lab) + fmt.Sprintf(`
resource "pve_pool" "many" {
  count   = %d
  pool_id = "acc-many-${count.index}"
  comment = "pool ${count.index}"
}
`, n)
	acctest.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkPoolsDestroyed(t),
		Steps: []resource.TestStep{
			{Config: config},
			// one refresh (a PlanOnly step plans once without and once
			// with refresh)
			{PreConfig: lab.ResetRequests, Config: config, PlanOnly: true},
			{
				PreConfig: func() {
					got := lab.Requests()
					t.Logf("requests of a refresh of %d pools: %v", n, got)
					if got["GET /pools"] != 1 {
						t.Errorf("a refresh of %d pools: %d GET /pools, want 1 (the index, shared): %v", n, got["GET /pools"], got)
					}
					if err := acctest.LabClient(t, lab).SetPoolComment(context.Background(), "acc-many-3", "changed outside"); err != nil {
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
					plancheck.ExpectResourceAction("pve_pool.many[3]", plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("pve_pool.many[3]", tfjsonpath.New("comment"), knownvalue.StringExact("pool 3")),
				},
			},
		},
	})
}
