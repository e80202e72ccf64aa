package ceph_test

import (
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
	"github.com/hcilab/terraform-provider-pve/internal/testlab"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/cephlab"
)

// cephLab is a PVE lab whose nodes run the lab's real Ceph cluster.
func cephLab(t *testing.T, allowDelete bool) (*testlab.Lab, *cephlab.Cluster) {
	t.Helper()
	cephlab.Require(t)
	c, err := cephlab.Start(cephlab.Options{AllowPoolDelete: allowDelete, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return acctest.StartLab(t, testlab.Options{Ceph: c}), c
}

// poolConfig is the test pool with the given settings (HCL lines).
func poolConfig(providerBlock, settings string) string {
	return providerBlock + fmt.Sprintf(`
resource "pve_ceph_pool" "test" {
  name              = "acc-rbd"
  pg_autoscale_mode = "off"
  application       = "rbd"
  %s
}
`, settings)
}

func checkPoolGone(c *cephlab.Cluster, name string) resource.TestCheckFunc {
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

// putObject writes an object into pool and waits until Ceph counts it
// (it reports pool usage every few seconds).
func putObject(t *testing.T, c *cephlab.Cluster, pool string) {
	t.Helper()
	if err := c.PutObject(pool, "hello", []byte("hello\n")); err != nil {
		t.Fatal(err)
	}
}

// poolLifecycle is the pool test both transports pass (providerBlock
// picks one): created, imported, changed in place (size before min_size:
// 2/1 to 3/3 works only in that order; pg_num; the autoscaler targets,
// one replaced by the other), a size change alone letting Ceph lower
// min_size, refused deletion while it holds an object, deleted with
// force_destroy.
func poolLifecycle(t *testing.T, c *cephlab.Cluster, providerBlock string, node knownvalue.Check) {
	const name = "pve_ceph_pool.test"
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkPoolGone(c, "acc-rbd"),
		Steps: []resource.TestStep{
			{
				Config: poolConfig(providerBlock, "size = 2\n min_size = 1\n pg_num = 8\n target_size_bytes = 1073741824"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(name, tfjsonpath.New("id"), knownvalue.StringRegexp(regexp.MustCompile(`^[0-9]+$`))),
					statecheck.ExpectKnownValue(name, tfjsonpath.New("node"), node),
					statecheck.ExpectKnownValue(name, tfjsonpath.New("pg_num_actual"), knownvalue.Int64Exact(8)),
					statecheck.ExpectKnownValue(name, tfjsonpath.New("application"), knownvalue.StringExact("rbd")),
					statecheck.ExpectKnownValue(name, tfjsonpath.New("crush_rule"), knownvalue.StringExact("replicated_rule")),
					statecheck.ExpectKnownValue(name, tfjsonpath.New("target_size_bytes"), knownvalue.Int64Exact(1073741824)),
				},
			},
			{ResourceName: name, ImportState: true, ImportStateId: "acc-rbd", ImportStateVerify: true,
				ImportStateVerifyIgnore: []string{"objects", "bytes_used"}},
			{
				Config: poolConfig(providerBlock, "size = 3\n min_size = 3\n pg_num = 16\n target_size_ratio = 0.2"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(name, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(name, tfjsonpath.New("size"), knownvalue.Int64Exact(3)),
					statecheck.ExpectKnownValue(name, tfjsonpath.New("min_size"), knownvalue.Int64Exact(3)),
					statecheck.ExpectKnownValue(name, tfjsonpath.New("pg_num"), knownvalue.Int64Exact(16)),
					statecheck.ExpectKnownValue(name, tfjsonpath.New("target_size_ratio"), knownvalue.Float64Exact(0.2)),
					statecheck.ExpectKnownValue(name, tfjsonpath.New("target_size_bytes"), knownvalue.Null()),
				},
			},
			{
				// min_size left out: Ceph lowers it to the new size.
				Config: poolConfig(providerBlock, "size = 2\n pg_num = 16"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectUnknownValue(name, tfjsonpath.New("min_size")),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(name, tfjsonpath.New("size"), knownvalue.Int64Exact(2)),
					statecheck.ExpectKnownValue(name, tfjsonpath.New("min_size"), knownvalue.Int64Exact(2)),
					statecheck.ExpectKnownValue(name, tfjsonpath.New("target_size_ratio"), knownvalue.Null()),
				},
			},
			{
				PreConfig:   func() { putObject(t, c, "acc-rbd") },
				Config:      providerBlock,
				ExpectError: regexp.MustCompile(`(?s)Ceph Pool Holds Data.*force_destroy`),
			},
			{Config: poolConfig(providerBlock, "size = 2\n pg_num = 16\n force_destroy = true")},
		},
	})
}

// checkPoolExists fails when Ceph has no pool name.
func checkPoolExists(c *cephlab.Cluster, name string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		if checkPoolGone(c, name)(s) == nil {
			return fmt.Errorf("pool %s is gone", name)
		}
		return nil
	}
}

// twoPools is an older pool and a newer one created after it (a higher
// pool ID: the last in "ceph df"), with older's force_destroy.
func twoPools(providerBlock string, older bool, force bool) string {
	cfg := providerBlock + `
resource "pve_ceph_pool" "newer" {
  name              = "acc-newer"
  pg_autoscale_mode = "off"
  pg_num            = 8
`
	if older {
		cfg += "  depends_on = [pve_ceph_pool.older]\n"
	}
	cfg += "}\n"
	if older {
		cfg += fmt.Sprintf(`
resource "pve_ceph_pool" "older" {
  name              = "acc-older"
  pg_autoscale_mode = "off"
  pg_num            = 8
  force_destroy     = %t
}
`, force)
	}
	return cfg
}

// twoPoolGuard: the older of two pools holds an object, the newer is
// empty; removing the older from the configuration is refused without
// force_destroy. PVE up to 9.1.11 answers a pool's status with the newer
// pool's statistics (the lab models 9.1.3), so a guard that trusted them
// would delete the older pool's data.
func twoPoolGuard(t *testing.T, c *cephlab.Cluster, providerBlock string) {
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             resource.ComposeTestCheckFunc(checkPoolGone(c, "acc-older"), checkPoolGone(c, "acc-newer")),
		Steps: []resource.TestStep{
			{Config: twoPools(providerBlock, true, false)},
			{
				PreConfig:   func() { putObject(t, c, "acc-older") },
				Config:      twoPools(providerBlock, false, false),
				ExpectError: regexp.MustCompile(`(?s)Ceph Pool Holds Data.*pool acc-older holds`),
			},
			{
				Config: twoPools(providerBlock, true, true),
				Check:  checkPoolExists(c, "acc-older"),
			},
			{Config: twoPools(providerBlock, false, true), Check: checkPoolGone(c, "acc-older")},
		},
	})
}

// Two pools through PVE's API: the guard reads the pool list's bytes_used,
// which is per pool on every release.
func TestAccCephPool_pveAPITwoPools(t *testing.T) {
	lab, c := cephLab(t, true)
	twoPoolGuard(t, c, acctest.ProviderBlock(lab))
}

// Through PVE's API (no ceph {} block), on a real Ceph cluster.
func TestAccCephPool_pveAPI(t *testing.T) {
	lab, c := cephLab(t, true)
	poolLifecycle(t, c, acctest.ProviderBlock(lab), knownvalue.StringExact("pve1"))
}

// Settings only librados sets are plan-time errors through PVE's API.
func TestAccCephPool_needsLibrados(t *testing.T) {
	acctest.ExpectPlanError(t, `
resource "pve_ceph_pool" "test" {
  name            = "x"
  quota_max_bytes = 1024
}
`, regexp.MustCompile(`(?s)Needs librados.*quota_max_bytes is set through librados only.*ceph \{\} block`))
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
	acctest.ExpectPlanError(t, `
resource "pve_ceph_pool" "test" {
  name = "x"
  size = 1
}
`, regexp.MustCompile(`(?s)Single Replica Needs Opt-In.*allow_single_replica`))
}

// A pool that exists already is not adopted: the error says to import it.
func TestAccCephPool_exists(t *testing.T) {
	lab, c := cephLab(t, true)
	if _, err := c.Command("osd", "pool", "create", "acc-rbd", "8"); err != nil {
		t.Fatal(err)
	}
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config:      poolConfig(acctest.ProviderBlock(lab), "pg_num = 8"),
			ExpectError: regexp.MustCompile(`(?s)pool acc-rbd exists already: import it`),
		}},
	})
}
