package ceph_test

import (
	"fmt"
	"os/exec"
	"regexp"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/hcilab/terraform-provider-pve/internal/acctest"
	"github.com/hcilab/terraform-provider-pve/internal/testlab"
)

// cephLab is a PVE lab whose nodes run the lab's real Ceph cluster.
func cephLab(t *testing.T, allowDelete bool) (*testlab.PVE, *testlab.Ceph) {
	t.Helper()
	testlab.RequireCeph(t)
	c, err := testlab.StartCeph(testlab.CephOptions{AllowPoolDelete: allowDelete, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return acctest.StartLab(t, testlab.PVEOptions{Ceph: c}), c
}

func poolConfig(lab *testlab.PVE, size, minSize, pgNum int, extra string) string {
	return acctest.ProviderBlock(lab) + fmt.Sprintf(`
resource "pve_ceph_pool" "test" {
  name              = "acc-rbd"
  size              = %d
  min_size          = %d
  pg_num            = %d
  pg_autoscale_mode = "off"
  application       = "rbd"
  %s
}
`, size, minSize, pgNum, extra)
}

func checkPoolGone(c *testlab.Ceph, name string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		var pools []string
		if err := c.CommandJSON(&pools, "osd", "pool", "ls"); err != nil {
			return err
		}
		for _, p := range pools {
			if p == name {
				return fmt.Errorf("pool %s still exists", name)
			}
		}
		return nil
	}
}

// Through PVE's API on a real Ceph cluster: created, imported, changed in
// place (size before min_size, pg_num), refused deletion while it holds an
// object, deleted with force_destroy.
func TestAccCephPool_pveAPI(t *testing.T) {
	lab, c := cephLab(t, true)
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkPoolGone(c, "acc-rbd"),
		Steps: []resource.TestStep{
			{
				Config: poolConfig(lab, 3, 2, 8, ""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("pve_ceph_pool.test", tfjsonpath.New("pg_num_actual"), knownvalue.Int64Exact(8)),
					statecheck.ExpectKnownValue("pve_ceph_pool.test", tfjsonpath.New("application"), knownvalue.StringExact("rbd")),
					statecheck.ExpectKnownValue("pve_ceph_pool.test", tfjsonpath.New("crush_rule"), knownvalue.NotNull()),
				},
			},
			{ResourceName: "pve_ceph_pool.test", ImportState: true, ImportStateId: "acc-rbd", ImportStateVerify: true,
				ImportStateVerifyIgnore: []string{"objects"}},
			{
				Config: poolConfig(lab, 2, 1, 16, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("pve_ceph_pool.test", plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("pve_ceph_pool.test", tfjsonpath.New("size"), knownvalue.Int64Exact(2)),
					statecheck.ExpectKnownValue("pve_ceph_pool.test", tfjsonpath.New("min_size"), knownvalue.Int64Exact(1)),
					statecheck.ExpectKnownValue("pve_ceph_pool.test", tfjsonpath.New("pg_num"), knownvalue.Int64Exact(16)),
				},
			},
			{
				PreConfig: func() {
					cmd := exec.Command("rados", "-c", c.ConfPath(), "-k", c.KeyringPath(), "-p", "acc-rbd", "put", "hello", "/etc/hostname")
					if out, err := cmd.CombinedOutput(); err != nil {
						t.Fatalf("rados put: %v: %s", err, out)
					}
					// Ceph reports pool usage every few seconds: wait
					// until the object counts.
					deadline := time.Now().Add(30 * time.Second)
					for {
						var df struct {
							Pools []struct {
								Name  string `json:"name"`
								Stats struct {
									Objects int64 `json:"objects"`
								} `json:"stats"`
							} `json:"pools"`
						}
						if err := c.CommandJSON(&df, "df"); err != nil {
							t.Fatal(err)
						}
						for _, p := range df.Pools {
							if p.Name == "acc-rbd" && p.Stats.Objects > 0 {
								return
							}
						}
						if time.Now().After(deadline) {
							t.Fatal("Ceph never counted the object")
						}
						time.Sleep(500 * time.Millisecond)
					}
				},
				Config:      acctest.ProviderBlock(lab),
				ExpectError: regexp.MustCompile(`(?s)Ceph Pool Holds Data.*force_destroy`),
			},
			{Config: poolConfig(lab, 2, 1, 16, "force_destroy = true")},
		},
	})
}

// min_size above size is a plan-time error.
func TestAccCephPool_badInput(t *testing.T) {
	acctest.ExpectPlanError(t, `
resource "pve_ceph_pool" "test" {
  name     = "x"
  size     = 2
  min_size = 3
}
`, regexp.MustCompile(`(?s)min_size 3 is more than size 2`))
}
