package pvesim

import (
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/pvesim/pvetest"
)

// POST .../config waits for the VM's flock in the API call, 10 s
// (update_vm_api's lock_config), and answers 500 without a task when it
// does not get it; once it has it, its worker holds it.
func TestQemuConfigUpdateWaitsForFlockInAPI(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()
	// a full clone of a running VM with a large disk holds the source's
	// flock exclusively for well over 10 s
	createSimpleVM(t, c, "pve1", 100, url.Values{"scsi0": {"local-lvm:240,iothread=1"}})
	runTask(t, c, http.MethodPost, "/nodes/pve1/qemu/100/status/start", nil)
	clone := upidOf(t, c.Form(http.MethodPost, "/nodes/pve1/qemu/100/clone", url.Values{"newid": {"101"}}))

	var wg sync.WaitGroup
	results := map[string]pvetest.Result{}
	var mu sync.Mutex
	for _, method := range []string{http.MethodPost, http.MethodPut} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := c.Form(method, "/nodes/pve1/qemu/100/config", url.Values{"description": {method}})
			mu.Lock()
			results[method] = res
			mu.Unlock()
		}()
	}
	wg.Wait()
	for _, method := range []string{http.MethodPost, http.MethodPut} {
		expectError(t, results[method], "can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout")
	}
	tasks := pvetest.DataList(t, c.Form(http.MethodGet, "/nodes/pve1/tasks", url.Values{"source": {"all"}, "typefilter": {"qmconfig"}}))
	if len(tasks) != 0 {
		t.Errorf("qmconfig tasks = %v, want none", tasks)
	}
	if exit, lines := waitTask(t, c, clone); exit != "OK" {
		t.Fatalf("clone: %s %q", exit, lines)
	}

	// the worker of an accepted update holds the flock: a sync update
	// waits for it, then sees its change
	upid := upidOf(t, c.Form(http.MethodPost, "/nodes/pve1/qemu/100/config", url.Values{"description": {"first"}}))
	pvetest.Expect(t, c.Form(http.MethodPut, "/nodes/pve1/qemu/100/config", url.Values{"name": {"second"}}), http.StatusOK, "OK")
	if exit, _ := waitTask(t, c, upid); exit != "OK" {
		t.Fatalf("update: %s", exit)
	}
	if conf := vmConfig(t, c, "pve1", 100, false); conf["description"] != "first" || conf["name"] != "second" {
		t.Errorf("config = %v", conf)
	}
}

// A scheduled backup marks the VM "lock: backup" while it runs: config
// changes fail at once until it ends.
func TestQemuBackupJobLocksVM(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()
	createSimpleVM(t, c, "pve1", 100, nil)
	upid, err := lab.RunBackupJob(100, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	expectError(t, c.Form(http.MethodPut, "/nodes/pve1/qemu/100/config", url.Values{"name": {"x"}}), "VM is locked (backup)")
	if st := dataMap(t, c.Get("/nodes/pve1/qemu/100/status/current")); st["lock"] != "backup" {
		t.Errorf("status = %v", st)
	}
	if exit, lines := waitTask(t, c, upid); exit != "OK" {
		t.Fatalf("backup: %s %q", exit, lines)
	}
	pvetest.Expect(t, c.Form(http.MethodPut, "/nodes/pve1/qemu/100/config", url.Values{"name": {"x"}}), http.StatusOK, "OK")
	if _, err := lab.RunBackupJob(999, time.Second); err == nil {
		t.Error("a backup of a missing VM started")
	}
}
