package pbs_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/hcilab/terraform-provider-pve/internal/acctest"
	"github.com/hcilab/terraform-provider-pve/internal/pbs"
)

func pruneConfig(keep, extra string) string {
	return `
resource "pve_pbs_datastore" "store" {
  name = "backups"
  path = "/mnt/datastore/backups"
}

resource "pve_pbs_namespace" "cluster" {
  store = pve_pbs_datastore.store.name
  name  = "cluster-a"
}

resource "pve_pbs_namespace" "vms" {
  store = pve_pbs_datastore.store.name
  name  = "${pve_pbs_namespace.cluster.name}/vms"
}

resource "pve_pbs_prune_job" "test" {
  id        = "backups-vms"
  store     = pve_pbs_datastore.store.name
  schedule  = "mon..fri 02:30"
  namespace = pve_pbs_namespace.vms.name
  ` + extra + `

  keep {
    ` + keep + `
  }
}
`
}

// A prune job on a nested namespace: created, imported (with the
// namespaces), its retention and settings changed in place and removed,
// and gone with everything else on destroy.
func TestAccPBSPruneJob_basic(t *testing.T) {
	s := acctest.StartPBS(t, nil)
	provider := acctest.PBSProviderBlock(nil, s)
	const job = "pve_pbs_prune_job.test"
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			if _, _, err := client(t, s).PruneJob(context.Background(), "backups-vms"); !errors.Is(err, pbs.ErrNotFound) {
				return fmt.Errorf("the prune job after destroy: %v", err)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: provider + pruneConfig("last = 3\n    daily = 7\n    weekly = 4", `max_depth = 1
  comment   = "VMs of cluster A"`),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(job, tfjsonpath.New("keep").AtMapKey("daily"), knownvalue.Int64Exact(7)),
					statecheck.ExpectKnownValue(job, tfjsonpath.New("keep").AtMapKey("monthly"), knownvalue.Null()),
					statecheck.ExpectKnownValue(job, tfjsonpath.New("namespace"), knownvalue.StringExact("cluster-a/vms")),
					statecheck.ExpectKnownValue("pve_pbs_namespace.vms", tfjsonpath.New("id"), knownvalue.StringExact("backups:cluster-a/vms")),
				},
			},
			{ResourceName: job, ImportState: true, ImportStateId: "backups-vms", ImportStateVerify: true},
			{ResourceName: "pve_pbs_namespace.vms", ImportState: true, ImportStateId: "backups:cluster-a/vms", ImportStateVerify: true},
			{
				Config: provider + pruneConfig("last = 5\n    monthly = 12", `disable = true`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(job, plancheck.ResourceActionUpdate),
				}},
				Check: func(*terraform.State) error {
					j, _, err := client(t, s).PruneJob(context.Background(), "backups-vms")
					if err != nil {
						return err
					}
					if j.KeepDaily != nil || j.KeepWeekly != nil || j.KeepMonthly == nil || *j.KeepMonthly != 12 || j.MaxDepth != nil ||
						j.Comment != "" || !j.Disable {
						return fmt.Errorf("PBS holds %+v", j)
					}
					return nil
				},
			},
			{ResourceName: job, ImportState: true, ImportStateId: "backups-vms", ImportStateVerify: true},
		},
	})
}

// PBS's refusal comes through: a namespace whose parent does not exist.
// (PBS takes a prune job for a datastore it does not have: the job fails
// when it runs.) A namespace that exists already, which PBS would answer
// with success, is not adopted.
func TestAccPBSNamespace_refused(t *testing.T) {
	s := acctest.StartPBS(t, nil)
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: acctest.PBSProviderBlock(nil, s) + `
resource "pve_pbs_datastore" "store" {
  name = "backups"
  path = "/mnt/datastore/backups"
}

resource "pve_pbs_namespace" "orphan" {
  store = pve_pbs_datastore.store.name
  name  = "missing/child"
}
`,
			ExpectError: regexp.MustCompile(`(?s)Unable to Create PBS Namespace.*parent missing doesn't already exists`),
		}, {
			PreConfig: func() {
				if _, err := client(t, s).CreateNamespace(context.Background(), "backups", "", "taken"); err != nil {
					t.Fatal(err)
				}
			},
			Config: acctest.PBSProviderBlock(nil, s) + `
resource "pve_pbs_datastore" "store" {
  name = "backups"
  path = "/mnt/datastore/backups"
}

resource "pve_pbs_namespace" "taken" {
  store = pve_pbs_datastore.store.name
  name  = "taken"
}
`,
			ExpectError: regexp.MustCompile(`(?s)namespace taken of datastore backups exists already: import it`),
		}},
	})
}

// A prune job without retention, a bad namespace and a bad import ID are
// refused before anything is sent.
func TestAccPBSPruneJob_badInput(t *testing.T) {
	acctest.ExpectPlanError(t, `
resource "pve_pbs_prune_job" "t" {
  id       = "job"
  store    = "backups"
  schedule = "daily"
}
`, regexp.MustCompile(`(?s)Missing Retention`))
	acctest.ExpectPlanError(t, `
resource "pve_pbs_namespace" "t" {
  store = "backups"
  name  = "a/b/c/d/e/f/g/h"
}
`, regexp.MustCompile(`(?s)7 levels at most`))
	// A schedule PBS's calendar-event grammar refuses ("daily" takes no
	// time), against a PBS that would otherwise take the job.
	s := acctest.StartPBS(t, nil)
	acctest.ExpectPBSPlanError(t, s, acctest.PBSProviderBlock(nil, s)+`
resource "pve_pbs_prune_job" "t" {
  id       = "job"
  store    = "backups"
  schedule = "daily 02:00"
  keep {
    last = 1
  }
}
`, regexp.MustCompile(`(?s)schedule = "daily 02:00".*unable to parse calendar event at 'daily' - Context\("weekday"\)`))
}

// A prune job and a namespace deleted behind Terraform's back are planned
// again, and made again.
func TestAccPBSPruneJob_disappears(t *testing.T) {
	s := acctest.StartPBS(t, nil)
	config := acctest.PBSProviderBlock(nil, s) + pruneConfig("last = 1", "")
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: config,
				Check: func(*terraform.State) error {
					c := client(t, s)
					if err := c.DeletePruneJob(context.Background(), "backups-vms", ""); err != nil {
						return err
					}
					return c.DeleteNamespace(context.Background(), "backups", "cluster-a/vms", false)
				},
				ExpectNonEmptyPlan: true,
			},
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("pve_pbs_prune_job.test", plancheck.ResourceActionCreate),
					plancheck.ExpectResourceAction("pve_pbs_namespace.vms", plancheck.ResourceActionCreate),
				}},
			},
		},
	})
}
