package pvesim

import (
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"testing"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/pvesim/pvetest"
)

// The lab's topology with the release, datacenter.cfg and HA: the release
// is the lab's, datacenter.cfg and /etc/pve/ha belong to a cluster (or to a
// standalone node), and their writes need quorum like other cluster-wide
// writes.

// haSIDs returns the SIDs of /cluster/ha/resources as seen through c.
func haSIDs(t *testing.T, c *pvetest.Caller) []string {
	t.Helper()
	var out []string
	for _, e := range pvetest.DataList(t, c.Get("/cluster/ha/resources")) {
		out = append(out, e["sid"].(string))
	}
	return out
}

// Standalone PVE 8.4 hosts form a cluster: every node reports 8.4 before
// and after, the cluster API of the 8.4 schema serves the create and the
// joins, and the cluster has the creator's HA groups and options.
func TestStandalonePVE8FormsCluster(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{Standalone: true, Version: "8.4"})
	requireSchema(t, lab)
	c := newCaller(t, lab).WithToken()
	pve1, pve2, pve3 := c.OnNode("pve1"), c.OnNode("pve2"), c.OnNode("pve3")
	nodes := []*pvetest.Caller{pve1, pve2, pve3}

	checkRelease := func(nc *pvetest.Caller, other string) {
		t.Helper()
		if v := dataMap(t, nc.Get("/version")); v["version"] != "8.4.1" || v["release"] != "8.4" {
			t.Errorf("%s: version %v", nc.Node, v)
		}
		if st := dataMap(t, nc.Get("/nodes/"+other+"/status")); st["pveversion"] != "pve-manager/8.4.1/2a5fa54a8503f96d" {
			t.Errorf("%s: status of %s: %v", nc.Node, other, st["pveversion"])
		}
		// HA groups, no rules: the 8.4 API
		if ids := pvetest.DataList(t, nc.Get("/cluster/ha")); len(ids) != 3 {
			t.Errorf("%s: /cluster/ha %v", nc.Node, ids)
		}
		pvetest.Expect(t, nc.Get("/cluster/ha/rules"), http.StatusNotImplemented, "Method 'GET /cluster/ha/rules' not implemented")
	}
	for _, nc := range nodes {
		checkRelease(nc, nc.Node)
	}

	// standalone: each host has its own datacenter.cfg and HA groups
	pvetest.Expect(t, pve1.Form(http.MethodPut, "/cluster/options", url.Values{"keyboard": {"de"}}), http.StatusOK, "OK")
	pvetest.Expect(t, pve2.Form(http.MethodPut, "/cluster/options", url.Values{"keyboard": {"fr"}}), http.StatusOK, "OK")
	pvetest.Expect(t, pve1.Form(http.MethodPost, "/cluster/ha/groups", url.Values{"group": {"prod"}, "nodes": {"pve1"}}), http.StatusOK, "OK")
	if list := pvetest.DataList(t, pve2.Get("/cluster/ha/groups")); len(list) != 0 {
		t.Errorf("pve2: groups %v", list)
	}

	createCluster(t, pve1, "lab8")
	runTask(t, pve2, http.MethodPost, "/cluster/config/join", joinParams(lab, "pve1"))
	runTask(t, pve3, http.MethodPost, "/cluster/config/join", joinParams(lab, "pve2"))
	all := map[string]bool{"pve1": true, "pve2": true, "pve3": true}
	for i, nc := range nodes {
		checkStatus(t, nc, "lab8", 3, true, all)
		checkRelease(nc, nodes[(i+1)%3].Node) // the status of another member, proxied
		if o := dataMap(t, nc.Get("/cluster/options")); o["keyboard"] != "de" {
			t.Errorf("%s: options %v", nc.Node, o)
		}
		if list := pvetest.DataList(t, nc.Get("/cluster/ha/groups")); len(list) != 1 || list[0]["group"] != "prod" {
			t.Errorf("%s: groups %v", nc.Node, list)
		}
	}

	// the cluster's HA on 8.4: a group of the members, a resource in it
	pvetest.Expect(t, pve3.Form(http.MethodPut, "/cluster/ha/groups/prod", url.Values{"nodes": {"pve1,pve2,pve3"}}), http.StatusOK, "OK")
	createSimpleVM(t, pve2, "pve3", 100, nil)
	pvetest.Expect(t, pve1.Form(http.MethodPost, "/cluster/ha/resources", url.Values{"sid": {"vm:100"}, "group": {"prod"}}), http.StatusOK, "OK")
	if r := dataMap(t, pve2.Get("/cluster/ha/resources/vm:100")); r["group"] != "prod" {
		t.Errorf("resource %v", r)
	}
	if g := dataMap(t, pve1.Get("/cluster/ha/groups/prod")); g["nodes"] != "pve1,pve2,pve3" {
		t.Errorf("group %v", g)
	}

	// without quorum the ha domain cannot be locked
	for _, n := range []string{"pve2", "pve3"} {
		if err := lab.StopNode(n); err != nil {
			t.Fatal(err)
		}
	}
	expectDie(t, pve1.Form(http.MethodPost, "/cluster/ha/groups", url.Values{"group": {"test"}, "nodes": {"pve1"}}), "create ha group failed: cfs-lock 'domain-ha' error: no quorum!")
	expectDie(t, pve1.Form(http.MethodPut, "/cluster/ha/resources/vm:100", url.Values{"state": {"stopped"}}), "update resource failed: cfs-lock 'domain-ha' error: no quorum!")
	expectDie(t, pve1.Form(http.MethodPut, "/cluster/options", url.Values{"keyboard": {"it"}}), "cfs-lock 'file-datacenter_cfg' error: no quorum!")
}

// A node that joins a cluster sees the cluster's datacenter.cfg and HA
// configuration instead of its own; one still standalone keeps its own;
// a node removed from the cluster keeps a stale copy it cannot change.
func TestJoinedNodeSeesClusterOptionsAndHA(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{Standalone: true, HARound: manualHA})
	requireSchema(t, lab)
	c := newCaller(t, lab).WithToken()
	pve1, pve2, pve3 := c.OnNode("pve1"), c.OnNode("pve2"), c.OnNode("pve3")
	nextID := func(nc *pvetest.Caller) any {
		t.Helper()
		res := nc.Get("/cluster/nextid")
		pvetest.Expect(t, res, http.StatusOK, "OK")
		return res.Body["data"]
	}

	// standalone hosts: datacenter.cfg, next-id and HA are each host's own
	pvetest.Expect(t, pve1.Form(http.MethodPut, "/cluster/options", url.Values{"keyboard": {"de"}, "next-id": {"lower=500"}}), http.StatusOK, "OK")
	pvetest.Expect(t, pve2.Form(http.MethodPut, "/cluster/options", url.Values{"keyboard": {"fr"}, "next-id": {"lower=700"}}), http.StatusOK, "OK")
	if a, b, c := nextID(pve1), nextID(pve2), nextID(pve3); a != "500" || b != "700" || c != "100" {
		t.Errorf("nextid: pve1 %v, pve2 %v, pve3 %v", a, b, c)
	}
	createSimpleVM(t, pve1, "pve1", 500, nil)
	pvetest.Expect(t, pve1.Form(http.MethodPost, "/cluster/ha/resources", url.Values{"sid": {"vm:500"}}), http.StatusOK, "OK")
	expectDie(t, pve2.Form(http.MethodPost, "/cluster/ha/resources", url.Values{"sid": {"vm:500"}}), "resource 'vm:500' does not exists in cluster")
	if sids := haSIDs(t, pve2); len(sids) != 0 {
		t.Errorf("pve2: HA resources %v", sids)
	}

	// pve2 joins pve1's cluster: pve1's /etc/pve replaces its own
	createCluster(t, pve1, "lab")
	runTask(t, pve2, http.MethodPost, "/cluster/config/join", joinParams(lab, "pve1"))
	crmRound(lab) // the cluster's CRM master has vm:500 started (ha_manager.go)
	for _, nc := range []*pvetest.Caller{pve1, pve2} {
		o := dataMap(t, nc.Get("/cluster/options"))
		if o["keyboard"] != "de" || !reflect.DeepEqual(o["next-id"], map[string]any{"lower": "500"}) {
			t.Errorf("%s: options %v", nc.Node, o)
		}
		if sids := haSIDs(t, nc); !slices.Equal(sids, []string{"vm:500"}) {
			t.Errorf("%s: HA resources %v", nc.Node, sids)
		}
		if id := nextID(nc); id != "501" {
			t.Errorf("%s: nextid %v", nc.Node, id)
		}
		vms := pvetest.DataList(t, nc.Form(http.MethodGet, "/cluster/resources", url.Values{"type": {"vm"}}))
		if len(vms) != 1 || vms[0]["vmid"] != float64(500) || vms[0]["hastate"] != "started" {
			t.Errorf("%s: resources %v", nc.Node, vms)
		}
		st := byIDOf(t, nc)
		if q := st["quorum"]; q["node"] != nc.Node || q["status"] != "OK" || q["quorate"] != float64(1) {
			t.Errorf("%s: quorum %v", nc.Node, q)
		}
		if st["service:vm:500"] == nil || st["lrm:pve2"] == nil {
			t.Errorf("%s: HA status %v", nc.Node, st)
		}
	}
	// writes through the new member land in the cluster's files; a rule may
	// name the node that answers
	pvetest.Expect(t, pve2.Form(http.MethodPut, "/cluster/options", url.Values{"keyboard": {"it"}}), http.StatusOK, "OK")
	pvetest.Expect(t, pve2.Form(http.MethodPost, "/cluster/ha/rules", url.Values{"rule": {"here"}, "type": {"node-affinity"}, "resources": {"vm:500"}, "nodes": {"pve2"}}), http.StatusOK, "OK")
	if o := dataMap(t, pve1.Get("/cluster/options")); o["keyboard"] != "it" {
		t.Errorf("pve1: options %v", o)
	}
	if r := dataMap(t, pve1.Get("/cluster/ha/rules/here")); r["nodes"] != "pve2" || r["resources"] != "vm:500" {
		t.Errorf("pve1: rule %v", r)
	}

	// pve3 is still a host of its own
	if o := dataMap(t, pve3.Get("/cluster/options")); o["keyboard"] != nil || o["next-id"] != nil {
		t.Errorf("pve3: options %v", o)
	}
	if sids := haSIDs(t, pve3); len(sids) != 0 {
		t.Errorf("pve3: HA resources %v", sids)
	}
	pvetest.Expect(t, pve3.Form(http.MethodPut, "/cluster/options", url.Values{"keyboard": {"sv"}}), http.StatusOK, "OK")
	if o := dataMap(t, pve1.Get("/cluster/options")); o["keyboard"] != "it" {
		t.Errorf("pve1 after pve3's write: options %v", o)
	}

	// pve2 removed while online: a stale copy, read-only without quorum
	runTask(t, pve3, http.MethodPost, "/cluster/config/join", joinParams(lab, "pve1"))
	expectNull(t, pve1.Form(http.MethodDelete, "/cluster/config/nodes/pve2", nil))
	if o := dataMap(t, pve2.Get("/cluster/options")); o["keyboard"] != "it" {
		t.Errorf("removed pve2: options %v", o)
	}
	if sids := haSIDs(t, pve2); !slices.Equal(sids, []string{"vm:500"}) {
		t.Errorf("removed pve2: HA resources %v", sids)
	}
	expectDie(t, pve2.Form(http.MethodPut, "/cluster/options", url.Values{"keyboard": {"fr"}}), "cfs-lock 'file-datacenter_cfg' error: no quorum!")
	expectDie(t, pve2.Form(http.MethodDelete, "/cluster/ha/rules/here", nil), "delete ha rule failed: cfs-lock 'domain-ha' error: no quorum!")
	if q := byIDOf(t, pve2)["quorum"]; q["status"] != "No quorum on node 'pve2'!" || q["quorate"] != float64(0) {
		t.Errorf("removed pve2: quorum %v", q)
	}
	// the cluster goes on without it
	pvetest.Expect(t, pve3.Form(http.MethodPut, "/cluster/options", url.Values{"keyboard": {"fr"}}), http.StatusOK, "OK")
	if o := dataMap(t, pve1.Get("/cluster/options")); o["keyboard"] != "fr" {
		t.Errorf("pve1: options %v", o)
	}
}

// HA and options writes need quorum and fail with the lock errors PVE
// gives; reads work, and the HA status tells that quorum is lost.
func TestHAAndOptionsWithoutQuorum(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	requireSchema(t, lab)
	c := newCaller(t, lab).WithToken()
	pve1 := c.OnNode("pve1")
	createSimpleVM(t, pve1, "pve1", 100, nil)
	createSimpleVM(t, pve1, "pve1", 101, nil)
	pvetest.Expect(t, pve1.Form(http.MethodPost, "/cluster/ha/resources", url.Values{"sid": {"vm:100"}}), http.StatusOK, "OK")
	pvetest.Expect(t, pve1.Form(http.MethodPut, "/cluster/options", url.Values{"keyboard": {"de"}}), http.StatusOK, "OK")

	for _, n := range []string{"pve2", "pve3"} {
		if err := lab.StopNode(n); err != nil {
			t.Fatal(err)
		}
	}
	expectDie(t, pve1.Form(http.MethodPut, "/cluster/options", url.Values{"keyboard": {"fr"}}), "cfs-lock 'file-datacenter_cfg' error: no quorum!")
	expectDie(t, pve1.Form(http.MethodPost, "/cluster/ha/resources", url.Values{"sid": {"vm:101"}}), "create resource failed: cfs-lock 'domain-ha' error: no quorum!")
	expectDie(t, pve1.Form(http.MethodPut, "/cluster/ha/resources/vm:100", url.Values{"state": {"stopped"}}), "update resources config failed: cfs-lock 'domain-ha' error: no quorum!")
	expectDie(t, pve1.Form(http.MethodDelete, "/cluster/ha/resources/vm:100", nil), "delete resource failed: cfs-lock 'domain-ha' error: no quorum!")
	expectDie(t, pve1.Form(http.MethodPost, "/cluster/ha/rules", url.Values{"rule": {"keep"}, "type": {"node-affinity"}, "resources": {"vm:100"}, "nodes": {"pve1"}}), "create ha rule failed: cfs-lock 'domain-ha' error: no quorum!")
	// creating a guest with ha-managed is refused before anything
	expectError(t, pve1.Form(http.MethodPost, "/nodes/pve1/qemu", url.Values{"vmid": {"102"}, "ha-managed": {"1"}}), "cluster not ready - no quorum?")

	// reads work
	if o := dataMap(t, pve1.Get("/cluster/options")); o["keyboard"] != "de" {
		t.Errorf("options %v", o)
	}
	if r := dataMap(t, pve1.Get("/cluster/ha/resources/vm:100")); r["sid"] != "vm:100" {
		t.Errorf("resource %v", r)
	}
	if q := byIDOf(t, pve1)["quorum"]; q["node"] != "pve1" || q["status"] != "No quorum on node 'pve1'!" || q["quorate"] != float64(0) {
		t.Errorf("quorum %v", q)
	}
	if ms := dataMap(t, pve1.Get("/cluster/ha/status/manager_status")); !reflect.DeepEqual(ms["quorum"], map[string]any{"node": "pve1", "quorate": ""}) {
		t.Errorf("manager status quorum %v", ms["quorum"])
	}

	// quorum again
	if err := lab.StartNode("pve2"); err != nil {
		t.Fatal(err)
	}
	pvetest.Expect(t, pve1.Form(http.MethodPut, "/cluster/options", url.Values{"keyboard": {"fr"}}), http.StatusOK, "OK")
	pvetest.Expect(t, c.OnNode("pve2").Form(http.MethodPost, "/cluster/ha/resources", url.Values{"sid": {"vm:101"}}), http.StatusOK, "OK")
	if sids := haSIDs(t, pve1); !slices.Equal(sids, []string{"vm:100", "vm:101"}) {
		t.Errorf("HA resources %v", sids)
	}
	if q := byIDOf(t, c.OnNode("pve2"))["quorum"]; q["node"] != "pve2" || q["status"] != "OK" || q["quorate"] != float64(1) {
		t.Errorf("quorum %v", q)
	}
}
