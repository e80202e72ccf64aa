package pve

import (
	"context"
	"net/http"
	"net/url"
	"sync"
	"testing"
)

// A shutdown (or start, stop) whose worker could not get the guest's
// config lock did nothing: it is run again until it gets the lock.
func TestGuestActionWaitsOutLock(t *testing.T) {
	shortWaits(t)
	f := newFakePVE(t, false)
	const shutdown = "UPID:pve1:000A1B2E:0012D687:6745A3F1:qmshutdown:100:root@pam:"
	task := &fakeTask{}
	f.addTask(shutdown, task)
	sent := 0
	f.handle("POST /nodes/pve1/qemu/100/status/shutdown", func(w http.ResponseWriter, _ *http.Request) {
		task.mu.Lock()
		sent++
		task.exit = "can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout"
		if sent == 2 {
			task.exit = "OK"
		}
		task.mu.Unlock()
		writeData(w, shutdown)
	})
	c := newTestClient(t, f, nil)
	if _, err := c.GuestAction(context.Background(), QEMU, "pve1", 100, "shutdown", url.Values{"forceStop": {"1"}}); err != nil {
		t.Fatal(err)
	}
	if sent != 2 {
		t.Errorf("%d shutdown requests, want 2", sent)
	}
}

// A cluster join whose worker could not get /var/lock/pvecm.lock did
// nothing: it is sent again.
func TestJoinClusterWaitsOutLock(t *testing.T) {
	shortWaits(t)
	f := newFakePVE(t, false)
	const join = "UPID:pve2:000A1B2F:0012D687:6745A3F1:clusterjoin::root@pam:"
	task := &fakeTask{}
	f.addTask(join, task)
	sent := 0
	f.handle("POST /cluster/config/join", func(w http.ResponseWriter, _ *http.Request) {
		task.mu.Lock()
		sent++
		task.exit = "can't lock file '/var/lock/pvecm.lock' - got timeout"
		if sent == 2 {
			task.exit = "OK"
		}
		task.mu.Unlock()
		writeData(w, join)
	})
	c := newTestClient(t, f, nil)
	if _, err := c.JoinCluster(context.Background(), JoinRequest{Hostname: "192.168.100.11", Fingerprint: "AA", Password: "x"}, nil); err != nil {
		t.Fatal(err)
	}
	if sent != 2 {
		t.Errorf("%d join requests, want 2", sent)
	}
}

// A create whose answer was lost is settled by watching for the guest:
// sent again when it did not appear, not sent again when it did.
func TestCreateGuestInDoubt(t *testing.T) {
	const upid = "UPID:pve1:000A1B30:0012D687:6745A3F1:qmcreate:100:root@pam:"
	for _, landed := range []bool{false, true} {
		t.Run(map[bool]string{false: "lost before it ran", true: "ran"}[landed], func(t *testing.T) {
			shortWaits(t)
			f := newFakePVE(t, false)
			f.addTask(upid, &fakeTask{exit: "OK"})
			var mu sync.Mutex
			sent, exists := 0, false
			f.handle("POST /nodes/pve1/qemu", func(w http.ResponseWriter, _ *http.Request) {
				mu.Lock()
				defer mu.Unlock()
				sent++
				if sent == 1 {
					exists = landed
					writeError(w, 596, "Connection timed out", nil)
					return
				}
				exists = true
				writeData(w, upid)
			})
			f.handle("GET /cluster/resources", func(w http.ResponseWriter, _ *http.Request) {
				mu.Lock()
				defer mu.Unlock()
				var rs []map[string]any
				if exists {
					rs = append(rs, map[string]any{"id": "qemu/100", "type": "qemu", "vmid": 100, "node": "pve1"})
				}
				writeData(w, rs)
			})
			f.handle("GET /nodes/pve1/qemu/100/status/current", data(map[string]any{"vmid": 100, "status": "stopped"}))
			c := newTestClient(t, f, nil)
			if _, err := c.CreateGuest(context.Background(), QEMU, "pve1", url.Values{"vmid": {"100"}}); err != nil {
				t.Fatal(err)
			}
			want := map[bool]int{false: 2, true: 1}[landed]
			if sent != want {
				t.Errorf("%d create requests, want %d", sent, want)
			}
		})
	}
}

// A start whose answer was lost is settled by the guest's state.
func TestGuestActionInDoubt(t *testing.T) {
	const upid = "UPID:pve1:000A1B31:0012D687:6745A3F1:qmstart:100:root@pam:"
	for _, landed := range []bool{false, true} {
		t.Run(map[bool]string{false: "lost before it ran", true: "ran"}[landed], func(t *testing.T) {
			shortWaits(t)
			f := newFakePVE(t, false)
			f.addTask(upid, &fakeTask{exit: "OK"})
			var mu sync.Mutex
			sent, running := 0, false
			f.handle("POST /nodes/pve1/qemu/100/status/start", func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				defer mu.Unlock()
				sent++
				if sent == 1 {
					running = landed
					dropConnection(w)
					return
				}
				running = true
				writeData(w, upid)
			})
			f.handle("GET /nodes/pve1/qemu/100/status/current", func(w http.ResponseWriter, _ *http.Request) {
				mu.Lock()
				defer mu.Unlock()
				writeData(w, map[string]any{"vmid": 100, "status": map[bool]string{false: "stopped", true: "running"}[running]})
			})
			c := newTestClient(t, f, nil)
			if _, err := c.GuestAction(context.Background(), QEMU, "pve1", 100, "start", nil); err != nil {
				t.Fatal(err)
			}
			if want := map[bool]int{false: 2, true: 1}[landed]; sent != want {
				t.Errorf("%d start requests, want %d", sent, want)
			}
		})
	}
}
