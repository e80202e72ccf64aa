package pbs_test

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"

	"github.com/hcilab/terraform-provider-pve/internal/acctest"
)

// A refresh of many namespaces of a datastore reads its namespace list once
// (pbs.NamespacesShared), not once per namespace: one request for six,
// counted by the simulated PBS. A namespace deleted outside Terraform shows
// in the next plan.
func TestAccPBSNamespace_refreshSharesList(t *testing.T) {
	s := acctest.StartPBS(t, nil)
	config := acctest.PBSProviderBlock(nil, s) + `
resource "pve_pbs_datastore" "store" {
  name = "backups"
  path = "/mnt/datastore/backups"
}

resource "pve_pbs_namespace" "many" {
  count = 6
  store = pve_pbs_datastore.store.name
  name  = "tenant-${count.index}"
}
`
	const list = "GET /admin/datastore/{store}/namespace"
	acctest.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: config},
			// one refresh (a PlanOnly step plans once without and once
			// with refresh)
			{PreConfig: s.ResetRequests, Config: config, PlanOnly: true},
			{
				PreConfig: func() {
					got := s.Requests()
					t.Logf("PBS requests of a refresh of a datastore and 6 namespaces: %v", got)
					if got[list] != 1 {
						t.Errorf("a refresh of 6 namespaces: %d %s, want 1 (shared): %v", got[list], list, got)
					}
					if err := client(t, s).DeleteNamespace(context.Background(), "backups", "tenant-4", false); err != nil {
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
					plancheck.ExpectResourceAction("pve_pbs_namespace.many[4]", plancheck.ResourceActionCreate),
				}},
			},
		},
	})
}
