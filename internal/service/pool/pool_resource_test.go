package pool_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/hcilab/terraform-provider-pve/internal/acctest"
	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

func TestMain(m *testing.M) {
	os.Exit(acctest.Run(m))
}

func checkPoolsDestroyed(t *testing.T) func(*terraform.State) error {
	return func(s *terraform.State) error {
		for _, rs := range s.RootModule().Resources {
			if rs.Type != "pve_pool" {
				continue
			}
			_, err := acctest.PVEClient(t).GetPool(context.Background(), rs.Primary.ID)
			if err == nil {
				return fmt.Errorf("pool %s still exists", rs.Primary.ID)
			}
			if !errors.Is(err, pve.ErrNotFound) {
				return err
			}
		}
		return nil
	}
}

func poolConfig(comment string) string {
	c := ""
	if comment != "" {
		c = fmt.Sprintf("comment = %q", comment)
	}
	return fmt.Sprintf(`
resource "pve_pool" "test" {
  pool_id = "acc-team"
  %s
}

resource "pve_pool" "child" {
  pool_id = "${pve_pool.test.pool_id}/web"
}
`, c)
}

// Create with a nested child, import, change the comment in place, remove
// it; then the pool deleted out of band is planned again.
func TestAccPool_basic(t *testing.T) {
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkPoolsDestroyed(t),
		Steps: []resource.TestStep{
			{
				Config: poolConfig("Team A"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("pve_pool.test", tfjsonpath.New("id"), knownvalue.StringExact("acc-team")),
					statecheck.ExpectKnownValue("pve_pool.test", tfjsonpath.New("comment"), knownvalue.StringExact("Team A")),
					statecheck.ExpectKnownValue("pve_pool.child", tfjsonpath.New("id"), knownvalue.StringExact("acc-team/web")),
				},
			},
			{ResourceName: "pve_pool.test", ImportState: true, ImportStateId: "acc-team", ImportStateVerify: true},
			{
				Config: poolConfig("Team B"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("pve_pool.test", plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("pve_pool.test", tfjsonpath.New("comment"), knownvalue.StringExact("Team B")),
				},
			},
			{
				Config: poolConfig(""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("pve_pool.test", tfjsonpath.New("comment"), knownvalue.Null()),
				},
			},
			{
				PreConfig: func() {
					if err := acctest.PVEClient(t).DeletePool(context.Background(), "acc-team/web"); err != nil {
						t.Fatal(err)
					}
				},
				Config:             poolConfig(""),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
		},
	})
}

// A pool that still has a guest is not deleted: the error names the guest.
func TestAccPool_deleteWithMembers(t *testing.T) {
	const vmid = 4711
	c := func() *pve.Client { return acctest.PVEClient(t) }
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkPoolsDestroyed(t),
		Steps: []resource.TestStep{
			{
				Config: `resource "pve_pool" "test" { pool_id = "acc-busy" }`,
			},
			{
				PreConfig: func() {
					ctx := context.Background()
					if _, err := c().CreateGuest(ctx, pve.QEMU, "pve1", map[string][]string{"vmid": {fmt.Sprint(vmid)}, "pool": {"acc-busy"}}); err != nil {
						t.Fatal(err)
					}
				},
				Config:      `# pool removed`,
				ExpectError: regexp.MustCompile(`(?s)pool acc-busy still has members.*qemu/4711`),
			},
			{
				PreConfig: func() {
					if _, err := c().DeleteGuest(context.Background(), pve.QEMU, "pve1", vmid, true); err != nil {
						t.Fatal(err)
					}
				},
				Config: `# pool removed`,
			},
		},
	})
}

func TestAccPool_badID(t *testing.T) {
	acctest.ExpectPlanError(t, `resource "pve_pool" "test" { pool_id = "a/b/c/d" }`, regexp.MustCompile(`(?s)Invalid Attribute Value.*pool_id = "a/b/c/d".*nested at most\s+three levels`))
}
