package ceph_test

import (
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/hcilab/terraform-provider-pve/internal/acctest"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/cephlab"
)

// statusAndPools checks pve_ceph_status and pve_ceph_pools against the
// lab's cluster, through the transport providerBlock picks.
func statusAndPools(t *testing.T, c *cephlab.Cluster, providerBlock string) {
	if _, err := c.Command("osd", "pool", "create", "listed", "8"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Command("osd", "pool", "application", "enable", "listed", "rgw"); err != nil {
		t.Fatal(err)
	}
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: providerBlock + `
data "pve_ceph_status" "test" {}
data "pve_ceph_pools" "test" {}
`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.pve_ceph_status.test", tfjsonpath.New("fsid"), knownvalue.StringExact(c.FSID())),
				statecheck.ExpectKnownValue("data.pve_ceph_status.test", tfjsonpath.New("osds"), knownvalue.Int64Exact(3)),
				statecheck.ExpectKnownValue("data.pve_ceph_status.test", tfjsonpath.New("osds_up"), knownvalue.Int64Exact(3)),
				statecheck.ExpectKnownValue("data.pve_ceph_status.test", tfjsonpath.New("osds_in"), knownvalue.Int64Exact(3)),
				statecheck.ExpectKnownValue("data.pve_ceph_status.test", tfjsonpath.New("mons"), knownvalue.Int64Exact(1)),
				statecheck.ExpectKnownValue("data.pve_ceph_status.test", tfjsonpath.New("quorum_names"), knownvalue.ListSizeExact(1)),
				statecheck.ExpectKnownValue("data.pve_ceph_status.test", tfjsonpath.New("health"), knownvalue.StringRegexp(regexp.MustCompile(`^HEALTH_(OK|WARN|ERR)$`))),
				// Sorted by name: the manager's device_health_metrics, then ours.
				statecheck.ExpectKnownValue("data.pve_ceph_pools.test", tfjsonpath.New("pools"), knownvalue.ListPartial(map[int]knownvalue.Check{
					1: knownvalue.ObjectPartial(map[string]knownvalue.Check{
						"name":        knownvalue.StringExact("listed"),
						"type":        knownvalue.StringExact("replicated"),
						"pg_num":      knownvalue.Int64Exact(8),
						"crush_rule":  knownvalue.StringExact("replicated_rule"),
						"application": knownvalue.StringExact("rgw"),
					}),
				})),
			},
		}},
	})
}

// The same through PVE's API (no ceph {} block).
func TestAccCephStatusAndPools_pveAPI(t *testing.T) {
	lab, c := cephLab(t, true)
	statusAndPools(t, c, acctest.ProviderBlock(lab))
}
