package cluster_test

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/hcilab/terraform-provider-pve/internal/acctest"
	"github.com/hcilab/terraform-provider-pve/internal/pve"
	"github.com/hcilab/terraform-provider-pve/internal/testlab"
)

// clusterConfig is a cluster of the named nodes of lab, with the status
// data source read after it.
func clusterConfig(lab *testlab.Lab, nodes ...string) string {
	return clusterConfigRemoving(lab, "", nodes...)
}

// clusterConfigRemoving is clusterConfig with remove_nodes set to the HCL
// list remove ("" leaves it unset).
func clusterConfigRemoving(lab *testlab.Lab, remove string, nodes ...string) string {
	if remove != "" {
		remove = "\n  remove_nodes  = " + remove
	}
	return acctest.ProviderBlock(lab) + fmt.Sprintf(`
resource "pve_cluster" "test" {
  name          = "acc"
  first_node    = "pve1"
  root_password = %q
  allow_destroy = true%s
  nodes         = %s
}

data "pve_cluster_status" "test" {
  depends_on = [pve_cluster.test]
}

data "pve_nodes" "all" {
  depends_on = [pve_cluster.test]
}
`, lab.Password(), remove, acctest.NodesBlock(lab, nodes...))
}

// importedConfig is what a user writes to import a cluster: its name and
// members, no endpoints (those are only needed to join).
func importedConfig(lab *testlab.Lab, nodes ...string) string {
	body := ""
	for _, n := range nodes {
		body += fmt.Sprintf("    %s = {}\n", n)
	}
	return acctest.ProviderBlock(lab) + `
resource "pve_cluster" "test" {
  name = "acc"
  nodes = {
` + body + `  }
}
`
}

const clusterAddr = "pve_cluster.test"

// Three standalone nodes become one cluster in one apply; the status data
// source reports it quorate with quorum 2; importing it gives an empty plan;
// a fourth node joins later; dropping it from nodes is refused at plan time
// unless remove_nodes names it; removing a node that is online is refused,
// and once it is shut down it is removed.
func TestAccCluster_lifecycle(t *testing.T) {
	lab := acctest.StandaloneLab(t, 4)
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: clusterConfig(lab, "pve1", "pve2", "pve3"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(clusterAddr, tfjsonpath.New("id"), knownvalue.StringExact("acc")),
					statecheck.ExpectKnownValue(clusterAddr, tfjsonpath.New("quorate"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(clusterAddr, tfjsonpath.New("expected_votes"), knownvalue.Int64Exact(3)),
					statecheck.ExpectKnownValue(clusterAddr, tfjsonpath.New("quorum"), knownvalue.Int64Exact(2)),
					statecheck.ExpectKnownValue(clusterAddr, tfjsonpath.New("nodes").AtMapKey("pve1").AtMapKey("node_id"), knownvalue.Int64Exact(1)),
					statecheck.ExpectKnownValue("data.pve_cluster_status.test", tfjsonpath.New("name"), knownvalue.StringExact("acc")),
					statecheck.ExpectKnownValue("data.pve_cluster_status.test", tfjsonpath.New("quorate"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue("data.pve_cluster_status.test", tfjsonpath.New("quorum"), knownvalue.Int64Exact(2)),
					statecheck.ExpectKnownValue("data.pve_cluster_status.test", tfjsonpath.New("nodes"), knownvalue.ListSizeExact(3)),
					statecheck.ExpectKnownValue("data.pve_cluster_status.test", tfjsonpath.New("warnings"), knownvalue.ListSizeExact(0)),
					// read right after the joins: every node is online there
					// (the join waited for the node's first pvestatd broadcast)
					statecheck.ExpectKnownValue("data.pve_nodes.all", tfjsonpath.New("nodes"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.ObjectPartial(map[string]knownvalue.Check{"name": knownvalue.StringExact("pve1"), "status": knownvalue.StringExact("online")}),
						knownvalue.ObjectPartial(map[string]knownvalue.Check{"name": knownvalue.StringExact("pve2"), "status": knownvalue.StringExact("online")}),
						knownvalue.ObjectPartial(map[string]knownvalue.Check{"name": knownvalue.StringExact("pve3"), "status": knownvalue.StringExact("online")}),
					})),
				},
			},
			{
				// Forget the cluster, then import it by name with the
				// configuration a user with an existing cluster writes: the
				// import changes nothing, and the plan after it is empty.
				Config: acctest.ProviderBlock(lab) + `
removed {
  from = pve_cluster.test
  lifecycle {
    destroy = false
  }
}
`,
			},
			{
				Config: importedConfig(lab, "pve1", "pve2", "pve3") + `
import {
  to = pve_cluster.test
  id = "acc"
}
`,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(clusterAddr, plancheck.ResourceActionNoop),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(clusterAddr, tfjsonpath.New("first_node"), knownvalue.StringExact("pve1")),
					statecheck.ExpectKnownValue(clusterAddr, tfjsonpath.New("nodes"), knownvalue.MapSizeExact(3)),
				},
			},
			{
				Config:   importedConfig(lab, "pve1", "pve2", "pve3"),
				PlanOnly: true,
			},
			{
				Config: clusterConfig(lab, "pve1", "pve2", "pve3", "pve4"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(clusterAddr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(clusterAddr, tfjsonpath.New("expected_votes"), knownvalue.Int64Exact(4)),
					statecheck.ExpectKnownValue(clusterAddr, tfjsonpath.New("quorum"), knownvalue.Int64Exact(3)),
					statecheck.ExpectKnownValue("data.pve_cluster_status.test", tfjsonpath.New("warnings"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.StringRegexp(regexp.MustCompile(`even number of nodes \(4\)`)),
					})),
				},
			},
			{
				PreConfig: func() {
					if err := lab.StopNode("pve4"); err != nil {
						t.Fatal(err)
					}
				},
				// pve4 is off (maintenance, say) and its key is dropped by
				// mistake: nothing is removed without the opt-in.
				Config:      clusterConfig(lab, "pve1", "pve2", "pve3"),
				ExpectError: regexp.MustCompile(`(?s)Node Removal Needs Opt-In.*node pve4 is no longer in nodes.*remove_nodes`),
			},
			{
				PreConfig: func() {
					if err := lab.StartNode("pve4"); err != nil {
						t.Fatal(err)
					}
				},
				Config:      clusterConfigRemoving(lab, `["pve4"]`, "pve1", "pve2", "pve3"),
				ExpectError: regexp.MustCompile(`(?s)node pve4 is still online: shut it down first`),
			},
			{
				PreConfig: func() {
					if err := lab.StopNode("pve4"); err != nil {
						t.Fatal(err)
					}
				},
				Config: clusterConfigRemoving(lab, `["pve4"]`, "pve1", "pve2", "pve3"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(clusterAddr, tfjsonpath.New("nodes"), knownvalue.MapSizeExact(3)),
					statecheck.ExpectKnownValue(clusterAddr, tfjsonpath.New("expected_votes"), knownvalue.Int64Exact(3)),
				},
			},
		},
	})
}

// Destroying the cluster is refused at plan time unless allow_destroy is
// set; with it, the cluster is only forgotten.
func TestAccCluster_destroyRefused(t *testing.T) {
	lab := acctest.StandaloneLab(t, 2)
	config := func(allow bool) string {
		return acctest.ProviderBlock(lab) + fmt.Sprintf(`
resource "pve_cluster" "test" {
  name          = "acc"
  root_password = %q
  allow_destroy = %t
  nodes         = %s
}
`, lab.Password(), allow, acctest.NodesBlock(lab, "pve1", "pve2"))
	}
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: config(false)},
			{
				Config:      acctest.ProviderBlock(lab),
				ExpectError: regexp.MustCompile(`(?s)Cluster Destroy Refused.*allow_destroy`),
			},
			{Config: config(true)},
		},
	})
}

// A node that hosts a guest cannot join: said at plan time, before the
// cluster is created.
func TestAccCluster_nodeWithGuests(t *testing.T) {
	lab := acctest.StandaloneLab(t, 2)
	acctest.Test(t, resource.TestCase{
		PreCheck: func() {
			acctest.PreCheck(t)
			c, err := pve.New(context.Background(), pve.Config{Endpoint: lab.NodeEndpoint("pve2"), APIToken: lab.APIToken(),
				TLSFingerprint: lab.NodeFingerprint("pve2")})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.CreateGuest(context.Background(), pve.QEMU, "pve2", url.Values{"vmid": {"100"}}); err != nil {
				t.Fatal(err)
			}
		},
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config:      clusterConfig(lab, "pve1", "pve2"),
			PlanOnly:    true,
			ExpectError: regexp.MustCompile(`(?s)Node Hosts Guests.*node pve2 hosts VM 100`),
		}},
	})
}

// Once two of three nodes are off, the cluster has no quorum and a write
// fails with a message that says so.
func TestAccCluster_noQuorum(t *testing.T) {
	lab := acctest.StandaloneLab(t, 3)
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: clusterConfig(lab, "pve1", "pve2", "pve3")},
			{
				PreConfig: func() {
					for _, n := range []string{"pve2", "pve3"} {
						if err := lab.StopNode(n); err != nil {
							t.Fatal(err)
						}
					}
				},
				Config: clusterConfig(lab, "pve1", "pve2", "pve3") + `
resource "pve_pool" "late" { pool_id = "late" }
`,
				ExpectError: regexp.MustCompile(`(?s)create pool failed: cfs-lock\s+'file-user_cfg' error: no quorum!.*lost\s+quorum`),
			},
			{
				PreConfig: func() {
					for _, n := range []string{"pve2", "pve3"} {
						if err := lab.StartNode(n); err != nil {
							t.Fatal(err)
						}
					}
				},
				Config: clusterConfig(lab, "pve1", "pve2", "pve3"),
			},
		},
	})
}

// Corosync links PVE's corosync-link format refuses are refused at plan
// time, naming the attribute.
func TestAccCluster_badLinks(t *testing.T) {
	for _, tt := range []struct{ link, want string }{
		{`10.0.0.2,priority=300`, `priority must be 0 to 255`},
		{`10.0.0.2/24`, `neither an IP address nor a DNS name`},
		{`10.0.0.2,mtu=9000`, `unknown key "mtu"`},
	} {
		acctest.ExpectPlanError(t, fmt.Sprintf(`
resource "pve_cluster" "test" {
  name          = "acc"
  root_password = "x"
  nodes = {
    pve1 = { link0 = %q }
  }
}
`, tt.link), regexp.MustCompile(`(?s)invalid corosync link.*`+strings.ReplaceAll(regexp.QuoteMeta(tt.want), " ", `\s+`)))
	}
}
