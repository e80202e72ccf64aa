//go:build ceph

package ceph_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/hcilab/terraform-provider-pve/internal/acctest"
)

// A replicated ssd rule and a pool on it, through librados (on the lab's
// real cluster), the rule imported, then refused
// deletion while the pool uses it.
func TestAccCephCrushRule_ssdPool(t *testing.T) {
	lab, c := cephLab(t, true)
	providerBlock := acctest.CephProviderBlock(lab, c)
	base := providerBlock + `
resource "pve_ceph_crush_rule" "fast" {
  name           = "fast"
  failure_domain = "host"
  device_class   = "ssd"
}
`
	pool := `
resource "pve_ceph_pool" "fast" {
  name              = "fastpool"
  size              = 2
  min_size          = 1
  pg_num            = 8
  pg_autoscale_mode = "off"
  crush_rule        = %s
}
`
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: base + fmt.Sprintf(pool, "pve_ceph_crush_rule.fast.name"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("pve_ceph_crush_rule.fast", tfjsonpath.New("root"), knownvalue.StringExact("default")),
					statecheck.ExpectKnownValue("pve_ceph_crush_rule.fast", tfjsonpath.New("rule_id"), knownvalue.NotNull()),
					statecheck.ExpectKnownValue("pve_ceph_pool.fast", tfjsonpath.New("crush_rule"), knownvalue.StringExact("fast")),
				},
			},
			{ResourceName: "pve_ceph_crush_rule.fast", ImportState: true, ImportStateId: "fast", ImportStateVerify: true},
			{
				// The rule leaves the configuration; the pool keeps using it.
				Config:      providerBlock + fmt.Sprintf(pool, `"fast"`),
				ExpectError: regexp.MustCompile(`(?s)rule fast is used by pool fastpool`),
			},
			{Config: base + fmt.Sprintf(pool, "pve_ceph_crush_rule.fast.name")},
		},
	})
}

// An EC profile and an erasure rule made from it; imported; the profile is
// not deleted while a pool (made outside) uses it.
func TestAccCephErasureCodeProfile_withRule(t *testing.T) {
	lab, c := cephLab(t, true)
	config := acctest.CephProviderBlock(lab, c) + `
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
`
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("pve_ceph_erasure_code_profile.ec", tfjsonpath.New("plugin"), knownvalue.NotNull()),
					statecheck.ExpectKnownValue("pve_ceph_crush_rule.ec", tfjsonpath.New("type"), knownvalue.StringExact("erasure")),
				},
			},
			{ResourceName: "pve_ceph_erasure_code_profile.ec", ImportState: true, ImportStateId: "ec21", ImportStateVerify: true},
			{
				PreConfig: func() {
					if _, err := c.Command("osd", "pool", "create", "ecpool", "8", "8", "erasure", "ec21", "ec21-rule"); err != nil {
						t.Fatal(err)
					}
				},
				Config:      strings.SplitN(config, `resource "pve_ceph_erasure_code_profile"`, 2)[0],
				ExpectError: regexp.MustCompile(`(?s)used by pool ecpool`),
			},
			{
				PreConfig: func() {
					if _, err := c.Command("osd", "pool", "rm", "ecpool", "ecpool", "--yes-i-really-really-mean-it"); err != nil {
						t.Fatal(err)
					}
				},
				Config: config,
			},
		},
	})
}

// The status and pool list of the lab's cluster through librados.
func TestAccCephStatusAndPools_librados(t *testing.T) {
	lab, c := cephLab(t, true)
	statusAndPools(t, c, acctest.CephProviderBlock(lab, c))
}
