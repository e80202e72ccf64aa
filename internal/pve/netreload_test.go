package pve

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// reloadServer serves network edits, reverts and reloads of any node and
// counts them per node.
type reloadCounts struct{ edits, reverts, reloads atomic.Int32 }

func reloadServer(t *testing.T) (*fakePVE, map[string]*reloadCounts) {
	f := newFakePVE(t, false)
	counts := map[string]*reloadCounts{"pve1": {}, "pve2": {}}
	for _, node := range []string{"pve1", "pve2"} {
		f.handle("POST /nodes/"+node+"/network", func(w http.ResponseWriter, r *http.Request) {
			counts[node].edits.Add(1)
			if r.FormValue("iface") == "bad0" {
				writeError(w, http.StatusBadRequest, "Parameter verification failed.", map[string]string{"slaves": "eno1 is already used on interface 'vmbr0'."})
				return
			}
			writeData(w, nil)
		})
		f.handle("DELETE /nodes/"+node+"/network", func(w http.ResponseWriter, _ *http.Request) {
			counts[node].reverts.Add(1)
			writeData(w, nil)
		})
		upid := "UPID:" + node + ":000A1B2C:0012D687:6745A3F1:srvreload:networking:root@pam:"
		f.addTask(upid, &fakeTask{exit: "OK"})
		f.handle("PUT /nodes/"+node+"/network", func(w http.ResponseWriter, _ *http.Request) {
			counts[node].reloads.Add(1)
			writeData(w, upid)
		})
	}
	return f, counts
}

// createIface stages the creation of iface on node through EditNetwork.
func createIface(ctx context.Context, c *Client, node, iface string) error {
	return c.EditNetwork(ctx, node, iface, iface+" created", func(ctx context.Context) error {
		return c.CreateNetworkInterface(ctx, node, iface, map[string][]string{"type": {"bond"}})
	})
}

// Edits of one node never reload it by themselves; a read settles them
// in one reload.
func TestEditNetworkBatchesReloads(t *testing.T) {
	f, counts := reloadServer(t)
	c := newTestClient(t, f, nil)
	ctx := context.Background()
	for _, iface := range []string{"bond0", "vmbr0", "vlan40"} {
		if err := createIface(ctx, c, "pve1", iface); err != nil {
			t.Fatal(err)
		}
	}
	if n := counts["pve1"].reloads.Load(); n != 0 {
		t.Fatalf("%d reloads before the node settled, want none", n)
	}
	if err := c.SettleNetwork(ctx, "pve1"); err != nil {
		t.Fatal(err)
	}
	if err := c.SettleNetwork(ctx, "pve1"); err != nil {
		t.Fatal(err)
	}
	if n := counts["pve1"].reloads.Load(); n != 1 {
		t.Fatalf("%d reloads for three edits, want exactly one", n)
	}
}

// Without a read, the edits go live when the run ends (the provider's
// exit flushes them).
func TestEditNetworkReloadsAtFlush(t *testing.T) {
	f, counts := reloadServer(t)
	c := newTestClient(t, f, nil)
	if err := createIface(context.Background(), c, "pve2", "bond0"); err != nil {
		t.Fatal(err)
	}
	if n := counts["pve2"].reloads.Load(); n != 0 {
		t.Fatalf("%d reloads before the flush, want none", n)
	}
	var logged []string
	FlushLog = func(format string, args ...any) { logged = append(logged, fmt.Sprintf(format, args...)) }
	t.Cleanup(func() { FlushLog = nil })
	FlushNetworkReloads(context.Background())
	if n := counts["pve2"].reloads.Load(); n != 1 {
		t.Fatalf("%d reloads after the flush, want 1", n)
	}
	// what the flush did is told (the provider's stderr, after the CLI
	// stopped it)
	if len(logged) != 1 || !strings.Contains(logged[0], "network of node pve2: reload at the end of the run (bond0 created): ok") {
		t.Errorf("flush log %q", logged)
	}
	FlushNetworkReloads(context.Background())
	if n := counts["pve2"].reloads.Load(); n != 1 {
		t.Fatalf("%d reloads after a second flush, want still 1", n)
	}
}

// A guest settles the node only for bridges the run edited.
func TestSettleOnlyForEditedBridges(t *testing.T) {
	f, counts := reloadServer(t)
	c := newTestClient(t, f, nil)
	ctx := context.Background()
	if err := createIface(ctx, c, "pve1", "vmbr1"); err != nil {
		t.Fatal(err)
	}
	if !c.StagedThisRun("pve1") || c.StagedThisRun("pve2") {
		t.Fatal("StagedThisRun: want pve1 only")
	}
	if err := c.SettleNetwork(ctx, "pve1", "vmbr0"); err != nil {
		t.Fatal(err)
	}
	if n := counts["pve1"].reloads.Load(); n != 0 {
		t.Fatalf("a guest on vmbr0 reloaded the node %d times, want none", n)
	}
	if err := c.SettleNetwork(ctx, "pve1", "vmbr0", "vmbr1"); err != nil {
		t.Fatal(err)
	}
	if n := counts["pve1"].reloads.Load(); n != 1 {
		t.Fatalf("a guest on vmbr1 reloaded the node %d times, want 1", n)
	}
	if c.StagedThisRun("pve1") {
		t.Fatal("StagedThisRun after the reload: want false")
	}
}

// A failed edit reverts the run's staged edits of the node at once, and
// nothing of the run goes live there afterwards: later edits are refused
// unsent, whatever succeeds later, and neither reads, guests nor the flush
// reload the node.
func TestFailedEditRevertsAndHolds(t *testing.T) {
	f, counts := reloadServer(t)
	c := newTestClient(t, f, nil)
	ctx := context.Background()
	if err := createIface(ctx, c, "pve1", "bond0"); err != nil {
		t.Fatal(err)
	}
	err := createIface(ctx, c, "pve1", "bad0")
	if err == nil || !strings.Contains(err.Error(), "already used") || !strings.Contains(err.Error(), "bond0 created") {
		t.Fatalf("want the edit's error naming the edits given up, got %v", err)
	}
	if n := counts["pve1"].reverts.Load(); n != 1 {
		t.Fatalf("%d reverts after the failed edit, want 1", n)
	}
	sent := counts["pve1"].edits.Load()
	err = createIface(ctx, c, "pve1", "vmbr0")
	var held *NetworkEditFailed
	if !errors.As(err, &held) || held.Edit != "bad0 created" {
		t.Fatalf("an edit after the failure: want *NetworkEditFailed for bad0, got %v", err)
	}
	if n := counts["pve1"].edits.Load(); n != sent {
		t.Fatal("the edit after the failure was sent")
	}
	if err := c.SettleNetwork(ctx, "pve1"); err != nil {
		t.Fatal(err)
	}
	if err := c.SettleNetwork(ctx, "pve1", "bond0"); !errors.As(err, &held) {
		t.Fatalf("a guest on a bridge given up: want *NetworkEditFailed, got %v", err)
	}
	FlushNetworkReloads(ctx)
	if n := counts["pve1"].reloads.Load(); n != 0 {
		t.Fatalf("reloaded %d times after a failed edit, want 0", n)
	}
	// The other node is not affected.
	if err := createIface(ctx, c, "pve2", "vmbr0"); err != nil {
		t.Fatal(err)
	}
	FlushNetworkReloads(ctx)
	if n := counts["pve2"].reloads.Load(); n != 1 {
		t.Fatalf("pve2 reloaded %d times, want 1", n)
	}
}

// A first edit that fails has nothing of the run to revert, and leaves the
// node's staged changes (someone else's) alone.
func TestFailedFirstEditRevertsNothing(t *testing.T) {
	f, counts := reloadServer(t)
	c := newTestClient(t, f, nil)
	if err := createIface(context.Background(), c, "pve1", "bad0"); err == nil {
		t.Fatal("want the edit's error")
	}
	if n := counts["pve1"].reverts.Load(); n != 0 {
		t.Fatalf("%d reverts, want none", n)
	}
}

func TestGuestBridges(t *testing.T) {
	got := GuestBridges(map[string]string{
		"net0":    "virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1",
		"net1":    "name=eth1,bridge=vmbr1,ip=dhcp",
		"net2":    "e1000,bridge=vmbr0",
		"network": "bridge=vmbr9",
		"scsi0":   "local-lvm:vm-100-disk-0,size=8G",
	})
	if want := []string{"vmbr0", "vmbr1"}; !slices.Equal(got, want) {
		t.Fatalf("GuestBridges = %v, want %v", got, want)
	}
}

// Edits of different nodes do not wait for each other.
func TestEditNetworkNodesIndependent(t *testing.T) {
	f, _ := reloadServer(t)
	c := newTestClient(t, f, nil)
	ctx := context.Background()
	inside := make(chan struct{})
	leave := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- c.EditNetwork(ctx, "pve1", "vmbr9", "vmbr9 created", func(context.Context) error {
			close(inside)
			<-leave
			return nil
		})
	}()
	<-inside
	// pve1 is mid-edit: pve2 must go ahead, and pve1 must wait.
	if err := createIface(ctx, c, "pve2", "bond0"); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := createIface(short, c, "pve1", "vmbr0"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a second edit of the same node must wait, got %v", err)
	}
	close(leave)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// A failed reload is reported by the settle that waits for it.
func TestSettleReportsFailedReload(t *testing.T) {
	f, _ := reloadServer(t)
	upid := "UPID:pve1:000A1B2D:0012D687:6745A3F1:srvreload:networking:root@pam:"
	f.addTask(upid, &fakeTask{exit: "command 'ifreload -a' failed: exit code 1", log: []string{"error: vmbr0: bridge port bond9 does not exist", "TASK ERROR: command 'ifreload -a' failed: exit code 1"}})
	f.handle("PUT /nodes/pve1/network", func(w http.ResponseWriter, _ *http.Request) { writeData(w, upid) })
	c := newTestClient(t, f, nil)
	ctx := context.Background()
	if err := createIface(ctx, c, "pve1", "vmbr0"); err != nil {
		t.Fatal(err)
	}
	err := c.SettleNetwork(ctx, "pve1")
	var te *TaskError
	if !errors.As(err, &te) || te.ExitStatus != "command 'ifreload -a' failed: exit code 1" {
		t.Fatalf("want the reload's task error, got %v", err)
	}
}
