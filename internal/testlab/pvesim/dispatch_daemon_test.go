package pvesim

import (
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/pvesim/pvetest"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/sim/simtest"
)

// startRunningCloneSource starts VM 100 on pve1 and a full clone of it,
// which holds its flock for about two seconds.
func startRunningCloneSource(t *testing.T, c *pvetest.Caller) string {
	t.Helper()
	createSimpleVM(t, c, "pve1", 100, nil)
	runTask(t, c, http.MethodPost, "/nodes/pve1/qemu/100/status/start", nil)
	return upidOf(t, c.Form(http.MethodPost, "/nodes/pve1/qemu/100/clone", url.Values{"newid": {"101"}}))
}

// pveproxy answers 596 when pvedaemon takes longer than its proxy
// timeout; the update goes on and lands.
func TestProxyTimeoutWhileWorkGoesOn(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{ProxyTimeout: 300 * time.Millisecond})
	requireSchema(t, lab)
	c := newCaller(t, lab).WithToken()
	clone := startRunningCloneSource(t, c)

	// waits for the clone's flock in its pvedaemon worker
	pvetest.Expect(t, c.Form(http.MethodPost, "/nodes/pve1/qemu/100/config", url.Values{"description": {"late"}}), 596, "Connection timed out")
	// a call pveproxy runs itself has no such timeout
	if conf := vmConfig(t, c, "pve1", 100, false); conf["description"] != nil {
		t.Fatalf("config before the clone ends = %v", conf)
	}
	if exit, lines := waitTask(t, c, clone); exit != "OK" {
		t.Fatalf("clone: %s %q", exit, lines)
	}
	simtest.WaitUntil(t, "the timed out update to land", func() bool {
		return vmConfig(t, c, "pve1", 100, false)["description"] == "late"
	})
	tasks := pvetest.DataList(t, c.Form(http.MethodGet, "/nodes/pve1/tasks", url.Values{"source": {"all"}, "typefilter": {"qmconfig"}}))
	if len(tasks) != 1 {
		t.Errorf("qmconfig tasks = %v, want the one of the timed out call", tasks)
	}
}

// pvedaemon runs 3 handlers at a time per node: while three config
// updates wait for a running clone's flock, a fourth protected call on
// that node waits for one of them, so it answers only after the clone;
// calls pveproxy runs itself and calls to another node's pvedaemon answer
// at once.
func TestPvedaemonWorkers(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	requireSchema(t, lab)
	c := newCaller(t, lab).WithToken()
	clone := startRunningCloneSource(t, c)
	cloneRunning := func() bool {
		lab.mu.Lock()
		defer lab.mu.Unlock()
		return lab.tasks[clone].running(time.Now())
	}

	var mu sync.Mutex
	duringClone := map[string]bool{}
	call := func(wg *sync.WaitGroup, name, method, path string, params url.Values) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := c.Form(method, path, params)
			running := cloneRunning()
			if res.Status != http.StatusOK {
				t.Errorf("%s: %d %s", name, res.Status, res.Reason)
			}
			mu.Lock()
			duringClone[name] = running
			mu.Unlock()
		}()
	}
	var wg sync.WaitGroup
	for _, d := range []string{"a", "b", "c"} {
		call(&wg, "update "+d, http.MethodPost, "/nodes/pve1/qemu/100/config", url.Values{"description": {d}})
	}
	time.Sleep(300 * time.Millisecond) // the three updates are in pvedaemon's workers, waiting for the flock
	if !cloneRunning() {
		t.Fatal("the clone ended before the test could use its flock")
	}
	call(&wg, "pve1 guest list", http.MethodGet, "/nodes/pve1/qemu", nil)        // protected: queued
	call(&wg, "pve2 guest list", http.MethodGet, "/nodes/pve2/qemu", nil)        // another node's pvedaemon
	call(&wg, "pve1 config", http.MethodGet, "/nodes/pve1/qemu/100/config", nil) // not protected: pveproxy
	wg.Wait()

	want := map[string]bool{"update a": false, "update b": false, "update c": false,
		"pve1 guest list": false, "pve2 guest list": true, "pve1 config": true}
	for name, during := range want {
		if duringClone[name] != during {
			t.Errorf("%s answered while the clone ran: %v, want %v", name, duringClone[name], during)
		}
	}
}
