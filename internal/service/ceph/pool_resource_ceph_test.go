//go:build ceph

package ceph_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/hcilab/terraform-provider-pve/internal/acctest"
)

// The same life cycle through librados (the provider's ceph {} block).
func TestAccCephPool_librados(t *testing.T) {
	lab, c := cephLab(t, true)
	poolLifecycle(t, c, acctest.CephProviderBlock(lab, c), knownvalue.Null())
}

// Two pools through librados: the guard reads "ceph df" by pool name.
func TestAccCephPool_libradosTwoPools(t *testing.T) {
	lab, c := cephLab(t, true)
	twoPoolGuard(t, c, acctest.CephProviderBlock(lab, c))
}

// What only librados sets: quotas (set, changed, removed), an application
// changed (the old one disabled), and an erasure-coded pool from a profile
// and its rule, with overwrites on; turning them off is refused at plan
// time. Ceph's own view is checked, not only the provider's.
func TestAccCephPool_libradosQuotaAndEC(t *testing.T) {
	lab, c := cephLab(t, true)
	config := func(quota, app string) string {
		return acctest.CephProviderBlock(lab, c) + fmt.Sprintf(`
resource "pve_ceph_pool" "q" {
  name              = "quota"
  node              = "pve1" # kept, though librados does not use it
  pg_num            = 8
  pg_autoscale_mode = "off"
  application       = %q
  %s
}

resource "pve_ceph_erasure_code_profile" "ec" {
  name           = "ec21"
  k              = 2
  m              = 1
  failure_domain = "osd"
}

resource "pve_ceph_crush_rule" "ec" {
  name                 = "ec21-rule"
  type                 = "erasure"
  erasure_code_profile = pve_ceph_erasure_code_profile.ec.name
}

resource "pve_ceph_pool" "ec" {
  name                 = "ecdata"
  pg_num               = 8
  pg_autoscale_mode    = "off"
  erasure_code_profile = pve_ceph_erasure_code_profile.ec.name
  crush_rule           = pve_ceph_crush_rule.ec.name
  allow_ec_overwrites  = true
  application          = "rbd"
}
`, app, quota)
	}
	// Ceph's own view: "osd pool ls detail".
	cephSees := func(maxObjects, maxBytes int64, app string) resource.TestCheckFunc {
		return func(*terraform.State) error {
			var pools []struct {
				Name       string         `json:"pool_name"`
				MaxObjects int64          `json:"quota_max_objects"`
				MaxBytes   int64          `json:"quota_max_bytes"`
				Apps       map[string]any `json:"application_metadata"`
			}
			if err := c.CommandJSON(&pools, "osd", "pool", "ls", "detail"); err != nil {
				return err
			}
			for _, p := range pools {
				if p.Name != "quota" {
					continue
				}
				if p.MaxObjects != maxObjects || p.MaxBytes != maxBytes || len(p.Apps) != 1 || p.Apps[app] == nil {
					return fmt.Errorf("Ceph has quotas %d objects, %d bytes and applications %v, want %d, %d and only %s",
						p.MaxObjects, p.MaxBytes, p.Apps, maxObjects, maxBytes, app)
				}
				return nil
			}
			return fmt.Errorf("Ceph has no pool quota")
		}
	}
	const q, ec = "pve_ceph_pool.q", "pve_ceph_pool.ec"
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             resource.ComposeTestCheckFunc(checkPoolGone(c, "quota"), checkPoolGone(c, "ecdata")),
		Steps: []resource.TestStep{
			{
				Config: config("quota_max_objects = 1000\n  quota_max_bytes = 1073741824", "rbd"),
				Check:  cephSees(1000, 1073741824, "rbd"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(q, tfjsonpath.New("quota_max_objects"), knownvalue.Int64Exact(1000)),
					statecheck.ExpectKnownValue(ec, tfjsonpath.New("erasure_code_profile"), knownvalue.StringExact("ec21")),
					statecheck.ExpectKnownValue(ec, tfjsonpath.New("crush_rule"), knownvalue.StringExact("ec21-rule")),
					statecheck.ExpectKnownValue(ec, tfjsonpath.New("allow_ec_overwrites"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(ec, tfjsonpath.New("size"), knownvalue.Int64Exact(3)),
				},
			},
			{ResourceName: ec, ImportState: true, ImportStateId: "ecdata", ImportStateVerify: true,
				ImportStateVerifyIgnore: []string{"objects", "bytes_used"}},
			{ResourceName: q, ImportState: true, ImportStateId: "quota", ImportStateVerify: true,
				ImportStateVerifyIgnore: []string{"objects", "bytes_used", "node"}},
			{
				Config: config("quota_max_objects = 0\n  quota_max_bytes = 2147483648", "cephfs"),
				Check:  cephSees(0, 2147483648, "cephfs"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(q, plancheck.ResourceActionUpdate),
				}},
			},
			{
				Config:      strings.Replace(config("", "cephfs"), "allow_ec_overwrites  = true", "allow_ec_overwrites  = false", 1),
				ExpectError: regexp.MustCompile(`(?s)EC Overwrites Stay On`),
			},
		},
	})
}

// A pool deleted behind Terraform's back is planned again.
func TestAccCephPool_disappears(t *testing.T) {
	lab, c := cephLab(t, true)
	config := poolConfig(acctest.CephProviderBlock(lab, c), "pg_num = 8")
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: config,
				Check: func(*terraform.State) error {
					_, err := c.Command("osd", "pool", "rm", "acc-rbd", "acc-rbd", "--yes-i-really-really-mean-it")
					return err
				},
				ExpectNonEmptyPlan: true,
			},
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("pve_ceph_pool.test", plancheck.ResourceActionCreate),
				}},
			},
		},
	})
}
