//go:build ceph

package ceph_test

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/hcilab/terraform-provider-pve/internal/acctest"
)

// A replicated ssd rule through librados, a pool on it through PVE's API
// (both on the lab's real cluster), the rule imported, then refused
// deletion while the pool uses it.
func TestAccCephCrushRule_ssdPool(t *testing.T) {
	lab, c := cephLab(t, true)
	providerBlock := fmt.Sprintf(`
provider "pve" {
  endpoint        = %q
  api_token       = %q
  tls_fingerprint = %q
  ceph {
    mon_host = %q
    key      = %q
  }
}
`, lab.Endpoint(), lab.APIToken(), lab.Fingerprint(), c.MonHost(), c.AdminKey())
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
	resource.Test(t, resource.TestCase{
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
