package pve

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// reloadServer serves network edits and reloads of any node and counts the
// reloads per node.
func reloadServer(t *testing.T) (*fakePVE, map[string]*atomic.Int32) {
	f := newFakePVE(t, false)
	counts := map[string]*atomic.Int32{"pve1": {}, "pve2": {}}
	f.handle("POST /nodes/{node}/network", func(w http.ResponseWriter, r *http.Request) {
		if r.FormValue("iface") == "bad0" {
			writeError(w, http.StatusBadRequest, "Parameter verification failed.", map[string]string{"slaves": "eno1 is already used on interface 'vmbr0'."})
			return
		}
		writeData(w, nil)
	})
	for _, node := range []string{"pve1", "pve2"} {
		upid := "UPID:" + node + ":000A1B2C:0012D687:6745A3F1:srvreload:networking:root@pam:"
		f.addTask(upid, &fakeTask{exit: "OK"})
		f.handle("PUT /nodes/"+node+"/network", func(w http.ResponseWriter, _ *http.Request) {
			counts[node].Add(1)
			writeData(w, upid)
		})
	}
	return f, counts
}

func withReloadDelay(t *testing.T, d time.Duration) {
	old := ReloadDelay
	ReloadDelay = d
	t.Cleanup(func() { ReloadDelay = old })
}

func create(c *Client, node, iface string) func(context.Context) error {
	return func(ctx context.Context) error {
		return c.CreateNetworkInterface(ctx, node, iface, map[string][]string{"type": {"bond"}})
	}
}

// Edits of one node that follow each other within the delay go live in one
// reload, after the last of them; a read settles the node at once.
func TestEditNetworkBatchesReloads(t *testing.T) {
	withReloadDelay(t, time.Hour) // only a settle reloads in this test
	f, counts := reloadServer(t)
	c := newTestClient(t, f, nil)
	ctx := context.Background()
	for _, iface := range []string{"bond0", "vmbr0", "vlan40"} {
		if err := c.EditNetwork(ctx, "pve1", create(c, "pve1", iface)); err != nil {
			t.Fatal(err)
		}
	}
	if n := counts["pve1"].Load(); n != 0 {
		t.Fatalf("%d reloads before the node settled, want none", n)
	}
	if err := c.SettleNetwork(ctx, "pve1"); err != nil {
		t.Fatal(err)
	}
	if err := c.SettleNetwork(ctx, "pve1"); err != nil {
		t.Fatal(err)
	}
	if n := counts["pve1"].Load(); n != 1 {
		t.Fatalf("%d reloads for three edits, want exactly one", n)
	}
}

// Without a read, the reload runs by itself after the delay.
func TestEditNetworkReloadsAfterDelay(t *testing.T) {
	withReloadDelay(t, 20*time.Millisecond)
	f, counts := reloadServer(t)
	c := newTestClient(t, f, nil)
	if err := c.EditNetwork(context.Background(), "pve2", create(c, "pve2", "bond0")); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(10 * time.Second) // a guard against hanging, not a timing assertion
	for counts["pve2"].Load() == 0 {
		select {
		case <-deadline:
			t.Fatal("the scheduled reload never ran")
		case <-time.After(5 * time.Millisecond):
		}
	}
	if err := c.SettleNetwork(context.Background(), "pve2"); err != nil {
		t.Fatal(err)
	}
	if n := counts["pve2"].Load(); n != 1 {
		t.Fatalf("%d reloads, want 1", n)
	}
}

// A failed edit holds the node's staged changes back until an edit of that
// node succeeds again.
func TestFailedEditHoldsReload(t *testing.T) {
	withReloadDelay(t, time.Hour)
	f, counts := reloadServer(t)
	c := newTestClient(t, f, nil)
	ctx := context.Background()
	if err := c.EditNetwork(ctx, "pve1", create(c, "pve1", "bond0")); err != nil {
		t.Fatal(err)
	}
	err := c.EditNetwork(ctx, "pve1", create(c, "pve1", "bad0"))
	if err == nil {
		t.Fatal("want the edit's error")
	}
	if err := c.SettleNetwork(ctx, "pve1"); err != nil {
		t.Fatal(err)
	}
	if n := counts["pve1"].Load(); n != 0 {
		t.Fatalf("reloaded %d times after a failed edit, want 0", n)
	}
	if err := c.EditNetwork(ctx, "pve1", create(c, "pve1", "vmbr0")); err != nil {
		t.Fatal(err)
	}
	if err := c.SettleNetwork(ctx, "pve1"); err != nil {
		t.Fatal(err)
	}
	if n := counts["pve1"].Load(); n != 1 {
		t.Fatalf("reloaded %d times after the fix, want 1", n)
	}
}

// Edits of different nodes do not wait for each other.
func TestEditNetworkNodesIndependent(t *testing.T) {
	withReloadDelay(t, time.Hour)
	f, _ := reloadServer(t)
	c := newTestClient(t, f, nil)
	ctx := context.Background()
	inside := make(chan struct{})
	leave := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- c.EditNetwork(ctx, "pve1", func(context.Context) error {
			close(inside)
			<-leave
			return nil
		})
	}()
	<-inside
	// pve1 is mid-edit: pve2 must go ahead, and pve1 must wait.
	if err := c.EditNetwork(ctx, "pve2", create(c, "pve2", "bond0")); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := c.EditNetwork(short, "pve1", create(c, "pve1", "vmbr0")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a second edit of the same node must wait, got %v", err)
	}
	close(leave)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// A failed reload is reported by the settle that waits for it.
func TestSettleReportsFailedReload(t *testing.T) {
	withReloadDelay(t, time.Hour)
	f, _ := reloadServer(t)
	upid := "UPID:pve1:000A1B2D:0012D687:6745A3F1:srvreload:networking:root@pam:"
	f.addTask(upid, &fakeTask{exit: "command 'ifreload -a' failed: exit code 1", log: []string{"error: vmbr0: bridge port bond9 does not exist", "TASK ERROR: command 'ifreload -a' failed: exit code 1"}})
	f.handle("PUT /nodes/pve1/network", func(w http.ResponseWriter, _ *http.Request) { writeData(w, upid) })
	c := newTestClient(t, f, nil)
	ctx := context.Background()
	if err := c.EditNetwork(ctx, "pve1", create(c, "pve1", "vmbr0")); err != nil {
		t.Fatal(err)
	}
	err := c.SettleNetwork(ctx, "pve1")
	var te *TaskError
	if !errors.As(err, &te) || te.ExitStatus != "command 'ifreload -a' failed: exit code 1" {
		t.Fatalf("want the reload's task error, got %v", err)
	}
}
