package pbs_test

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"

	"github.com/hcilab/terraform-provider-pve/internal/acctest"
)

// A refresh of many namespaces of a datastore reads its namespace list once
// (pbs.NamespacesShared), not once per namespace, and of many prune jobs the
// prune job list once (pbs.PruneJobShared): one request each for six,
// counted by the simulated PBS. A namespace deleted outside Terraform shows
// in the next plan.
func TestAccPBS_refreshSharesLists(t *testing.T) {
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

resource "pve_pbs_prune_job" "many" {
  count     = 6
  id        = "prune-${count.index}"
  store     = pve_pbs_datastore.store.name
  schedule  = "daily"
  namespace = pve_pbs_namespace.many[count.index].name

  keep {
    last = 3
  }
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
					if got["GET /config/prune"] != 1 || got["GET /config/prune/{id}"] != 0 {
						t.Errorf("a refresh of 6 prune jobs: %v, want 1 GET /config/prune (shared)", got)
					}
					if err := client(t, s).DeletePruneJob(context.Background(), "prune-4", ""); err != nil {
						t.Fatal(err)
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
					plancheck.ExpectResourceAction("pve_pbs_prune_job.many[4]", plancheck.ResourceActionCreate),
				}},
			},
		},
	})
}
