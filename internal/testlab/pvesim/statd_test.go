package pvesim

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/pvesim/pvetest"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/sim/simtest"
)

// TestStatdClusterResources: a guest's status, name and template flag in
// /cluster/resources are what its node's pvestatd last broadcast
// ("unknown" and nameless before the first broadcast), while the node's
// guest list and status/current are live. The lab's automatic broadcasts
// are an hour apart here; the test broadcasts itself.
func TestStatdClusterResources(t *testing.T) {
	lab := simtest.Start(t, func() (*PVE, error) {
		return start(Options{Nodes: 1, StatdInterval: time.Hour, Logf: t.Logf}, func(d time.Duration) time.Duration { return d })
	})
	c := newCaller(t, lab).WithToken()
	broadcast := func() { lab.lab.broadcastStatus(lab.lab.host("pve1")) }
	resource := func() map[string]any {
		t.Helper()
		for _, r := range pvetest.DataList(t, c.Form(http.MethodGet, "/cluster/resources", url.Values{"type": {"vm"}})) {
			if r["vmid"] == 100.0 {
				return r
			}
		}
		t.Fatal("/cluster/resources has no guest 100")
		return nil
	}
	live := func(path string) map[string]any {
		t.Helper()
		return dataMap(t, c.Get(path))
	}

	createSimpleVM(t, c, "pve1", 100, url.Values{"name": {"web"}})
	if r := resource(); r["status"] != "unknown" || r["name"] != nil || r["template"] != nil || r["uptime"] != nil || r["node"] != "pve1" {
		t.Errorf("before pvestatd's first broadcast: %v, want status unknown and no name, template or uptime", r)
	}
	if l := pvetest.DataList(t, c.Get("/nodes/pve1/qemu")); len(l) != 1 || l[0]["status"] != "stopped" || l[0]["name"] != "web" {
		t.Errorf("the node's guest list = %v, want guest 100 stopped, named web", l)
	}

	broadcast()
	if r := resource(); r["status"] != "stopped" || r["name"] != "web" || r["template"] != 0.0 || r["uptime"] != 0.0 {
		t.Errorf("after a broadcast: %v", r)
	}

	runTask(t, c, http.MethodPost, "/nodes/pve1/qemu/100/status/start", nil)
	if st := live("/nodes/pve1/qemu/100/status/current"); st["status"] != "running" {
		t.Errorf("status/current = %v, want running", st)
	}
	if r := resource(); r["status"] != "stopped" {
		t.Errorf("/cluster/resources right after the start: status %v, want stopped (the last broadcast)", r["status"])
	}
	broadcast()
	if r := resource(); r["status"] != "running" {
		t.Errorf("after the next broadcast: status %v, want running", r["status"])
	}
}

func TestStatdInterval(t *testing.T) {
	if _, err := Start(Options{StatdInterval: -time.Second}); err == nil {
		t.Error("Start accepted a negative statd interval")
	}
	lab := startLab(t, Options{Nodes: 1})
	if lab.lab.statdInterval != DefaultStatdInterval || DefaultStatdInterval != 10*time.Second {
		t.Errorf("statd interval = %s, want PVE's 10s", lab.lab.statdInterval)
	}
}

// TestStatdNodesAndStorage: a node's status and statistics in /nodes and
// /cluster/resources, and its storages' usage, are what its pvestatd last
// broadcast. A node that has just joined a cluster is "unknown" there until
// it has broadcast once; storage usage changes with the next broadcast.
func TestStatdNodesAndStorage(t *testing.T) {
	lab := simtest.Start(t, func() (*PVE, error) {
		return start(Options{Nodes: 2, Standalone: true, StatdInterval: time.Hour, Logf: t.Logf}, func(d time.Duration) time.Duration { return d })
	})
	c := newCaller(t, lab).WithToken()
	pve1, pve2 := c.OnNode("pve1"), c.OnNode("pve2")
	broadcast := func(node string) { lab.lab.broadcastStatus(lab.lab.host(node)) }
	nodeStatus := func(nc *pvetest.Caller, node string) map[string]any {
		t.Helper()
		for _, e := range pvetest.DataList(t, nc.Get("/nodes")) {
			if e["node"] == node {
				return e
			}
		}
		t.Fatalf("/nodes of %s has no %s", nc.Node, node)
		return nil
	}
	if e := nodeStatus(pve1, "pve1"); e["status"] != "online" || e["uptime"] == nil || e["maxcpu"] == nil {
		t.Errorf("a standalone node that has been running: %v, want online with statistics", e)
	}

	createCluster(t, pve1, "lab")
	runTask(t, pve2, http.MethodPost, "/cluster/config/join", joinParams(lab, "pve1"))
	if e := nodeStatus(pve1, "pve2"); e["status"] != "unknown" || e["uptime"] != nil {
		t.Errorf("pve2 right after its join, before its first broadcast: %v, want unknown without statistics", e)
	}
	broadcast("pve2")
	if e := nodeStatus(pve1, "pve2"); e["status"] != "online" || e["maxmem"] == nil {
		t.Errorf("pve2 after its broadcast: %v, want online", e)
	}

	storage := func(id string) map[string]any {
		t.Helper()
		for _, r := range pvetest.DataList(t, pve1.Form(http.MethodGet, "/cluster/resources", url.Values{"type": {"storage"}})) {
			if r["id"] == id {
				return r
			}
		}
		t.Fatalf("/cluster/resources has no %s", id)
		return nil
	}
	if st := storage("storage/pve1/local-lvm"); st["status"] != "available" || st["maxdisk"] == nil {
		t.Errorf("local-lvm of pve1: %v, want available with its size", st)
	}
	res := pve1.Form(http.MethodPost, "/storage", url.Values{"storage": {"extra"}, "type": {"dir"}, "path": {"/mnt/extra"}, "content": {"iso"}})
	pvetest.Expect(t, res, http.StatusOK, "OK")
	if st := storage("storage/pve1/extra"); st["status"] != "unknown" || st["disk"] != nil {
		t.Errorf("a storage added after pve1's last broadcast: %v, want unknown without usage", st)
	}
	broadcast("pve1")
	if st := storage("storage/pve1/extra"); st["status"] != "available" || st["maxdisk"] == nil {
		t.Errorf("the storage after pve1's broadcast: %v, want available with its size", st)
	}
}

// pmxcfs forgets RRD entries that have not been renewed for 5 minutes.
func TestRRDExpiry(t *testing.T) {
	now := time.Now()
	m := map[string]rrdStats{"pve1": {at: now, values: map[string]any{"cpu": 0.1}}}
	if _, ok := rrdEntryLocked(m, "pve1", now.Add(5*time.Minute)); !ok {
		t.Error("an entry 5 minutes old is gone")
	}
	if _, ok := rrdEntryLocked(m, "pve1", now.Add(5*time.Minute+time.Second)); ok {
		t.Error("an entry older than 5 minutes is still there")
	}
}
