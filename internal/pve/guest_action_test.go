package pve

import (
	"context"
	"net/http"
	"net/url"
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
