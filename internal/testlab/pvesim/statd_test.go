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
