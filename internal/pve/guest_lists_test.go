package pve

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab"
)

// listLab is a three-node lab with n stopped VMs (100, 101, ...) spread
// over the nodes, and a client of it.
func listLab(t *testing.T, n int) (*testlab.Lab, *Client) {
	t.Helper()
	lab, err := testlab.Start(testlab.Options{Nodes: 3, TaskSpeed: 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lab.Close() })
	c := labClient(t, lab)
	ctx := context.Background()
	for i := range n {
		node := "pve" + strconv.Itoa(i%3+1)
		if _, err := c.CreateGuest(ctx, QEMU, node, url.Values{"vmid": {strconv.Itoa(100 + i)}, "name": {"g" + strconv.Itoa(i)}, "memory": {"512"}}); err != nil {
			t.Fatal(err)
		}
	}
	return lab, c
}

func labClient(t *testing.T, lab *testlab.Lab) *Client {
	t.Helper()
	c, err := New(context.Background(), Config{Endpoint: lab.Endpoint(), APIToken: lab.APIToken(), TLSFingerprint: lab.Fingerprint()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// readAll reads the VMs 100..100+n-1 at once, as a refresh does, and
// returns them by VMID.
func readAll(t *testing.T, c *Client, n int) map[int]*ClusterResource {
	t.Helper()
	var mu sync.Mutex
	out := map[int]*ClusterResource{}
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g, _, err := c.FindGuestConfig(context.Background(), QEMU, 100+i)
			if err != nil {
				t.Error(err)
				return
			}
			if _, err := c.GuestHAManaged(context.Background(), QEMU, 100+i); err != nil {
				t.Error(err)
			}
			mu.Lock()
			out[100+i] = g
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

// Concurrent reads of many guests share one /cluster/resources and one
// guest list per node: one request per guest (its config) and four in all,
// counted by the lab.
func TestSharedLists_concurrentReadsShareOneRequest(t *testing.T) {
	const n = 30
	lab, c := listLab(t, n)
	lab.Faults().SetLatency(30 * time.Millisecond) // the reads overlap
	lab.ResetRequests()
	got := readAll(t, c, n)
	for i := range n {
		if g := got[100+i]; g == nil || g.Node != "pve"+strconv.Itoa(i%3+1) || g.Status != "stopped" || g.Name != "g"+strconv.Itoa(i) {
			t.Errorf("VM %d: %+v", 100+i, g)
		}
	}
	reqs := lab.Requests()
	want := map[string]int{
		"GET /cluster/resources":                       1,
		"GET /nodes/{node}/qemu":                       3,
		"GET /nodes/{node}/qemu/{vmid}/config":         n,
		"GET /nodes/{node}/qemu/{vmid}/status/current": 0,
		"GET /cluster/ha/resources":                    0, // no guest has an HA state
	}
	for k, v := range want {
		if reqs[k] != v {
			t.Errorf("%s: %d requests, want %d (all: %v)", k, reqs[k], v, reqs)
		}
	}
	total := 0
	for _, v := range reqs {
		total += v
	}
	if total != n+4 {
		t.Errorf("%d requests for %d guests, want %d: %v", total, n, n+4, reqs)
	}
}

// A guest migrated by someone else after the lists were read is found
// where it is now.
func TestSharedLists_migratedOutOfBand(t *testing.T) {
	lab, c := listLab(t, 3)
	if g := readAll(t, c, 3)[100]; g.Node != "pve1" {
		t.Fatalf("VM 100 on %s, want pve1", g.Node)
	}
	other := labClient(t, lab) // another client: this run knows nothing of it
	if _, err := other.MigrateGuest(context.Background(), QEMU, "pve1", 100, "pve2", false); err != nil {
		t.Fatal(err)
	}
	g, cfg, err := c.FindGuestConfig(context.Background(), QEMU, 100)
	if err != nil {
		t.Fatal(err)
	}
	if g.Node != "pve2" || cfg.Values["name"] != "g0" {
		t.Errorf("after the migration: %+v, name %q; want on pve2", g, cfg.Values["name"])
	}
}

// A write of the same run invalidates the lists: a read after it (or after
// the task it started) never sees the list from before.
func TestSharedLists_noStaleListAcrossWrite(t *testing.T) {
	lab, c := listLab(t, 3)
	ctx := context.Background()
	if g := readAll(t, c, 3)[101]; g.Status != "stopped" {
		t.Fatalf("VM 101: %+v", g)
	}
	if _, err := c.GuestAction(ctx, QEMU, "pve2", 101, "start", nil); err != nil {
		t.Fatal(err)
	}
	lab.ResetRequests()
	g, _, err := c.FindGuestConfig(ctx, QEMU, 101)
	if err != nil {
		t.Fatal(err)
	}
	if g.Status != "running" {
		t.Errorf("after the start: status %q, want running", g.Status)
	}
	if r := lab.Requests(); r["GET /nodes/{node}/qemu"] != 1 || r["GET /cluster/resources"] != 1 {
		t.Errorf("want the lists read afresh: %v", r)
	}
	// the same run migrates: found on the new node from the lists, with no
	// fresh lookup
	if _, err := c.MigrateGuest(ctx, QEMU, "pve3", 102, "pve1", false); err != nil {
		t.Fatal(err)
	}
	lab.ResetRequests()
	if g, _, err = c.FindGuestConfig(ctx, QEMU, 102); err != nil || g.Node != "pve1" {
		t.Fatalf("after the migration: %+v, %v", g, err)
	}
	if r := lab.Requests(); r["GET /nodes/{node}/qemu/{vmid}/status/current"] != 0 || r["GET /cluster/resources"] != 1 {
		t.Errorf("want one fresh list and no fallback: %v", r)
	}
	// and reads without a write in between share them
	lab.ResetRequests()
	if _, _, err = c.FindGuestConfig(ctx, QEMU, 100); err != nil {
		t.Fatal(err)
	}
	if r := lab.Requests(); len(r) != 1 || r["GET /nodes/{node}/qemu/{vmid}/config"] != 1 {
		t.Errorf("want only the config read: %v", r)
	}
}

// A list is served no longer than sharedListTTL.
func TestSharedLists_expire(t *testing.T) {
	lab, c := listLab(t, 1)
	defer func(d time.Duration) { sharedListTTL = d }(sharedListTTL)
	sharedListTTL = 50 * time.Millisecond
	ctx := context.Background()
	if _, _, err := c.FindGuestConfig(ctx, QEMU, 100); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	lab.ResetRequests()
	if _, _, err := c.FindGuestConfig(ctx, QEMU, 100); err != nil {
		t.Fatal(err)
	}
	if r := lab.Requests(); r["GET /cluster/resources"] != 1 || r["GET /nodes/{node}/qemu"] != 1 {
		t.Errorf("want the lists read again: %v", r)
	}
}

// HA: one shared list of HA resources once a guest has an HA state; an
// ignored resource is not HA-managed; a guest that is gone is ErrNotFound.
func TestSharedLists_haManaged(t *testing.T) {
	lab, c := listLab(t, 4)
	ctx := context.Background()
	for sid, state := range map[string]string{"vm:100": "started", "vm:101": "ignored"} {
		if err := c.Post(ctx, "/cluster/ha/resources", url.Values{"sid": {sid}, "state": {state}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	lab.ResetRequests()
	var wg sync.WaitGroup
	got := make([]bool, 4)
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if got[i], err = c.GuestHAManaged(ctx, QEMU, 100+i); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if !got[0] || got[1] || got[2] || got[3] {
		t.Errorf("HA-managed: %v, want only VM 100", got)
	}
	if r := lab.Requests(); r["GET /cluster/ha/resources"] != 1 || r["GET /cluster/resources"] != 1 {
		t.Errorf("want one HA list and one resource list: %v", r)
	}
	if _, err := c.DeleteGuest(ctx, QEMU, "pve3", 102, false); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.FindGuestConfig(ctx, QEMU, 102); !isNotFound(err) {
		t.Errorf("deleted VM: %v, want ErrNotFound", err)
	}
}

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// A list read while a task runs is not served after the task has ended.
func TestSharedLists_noStaleListAcrossTask(t *testing.T) {
	_, c := listLab(t, 1)
	ctx := context.Background()
	var upid string
	if err := c.Post(ctx, "/nodes/pve1/qemu/100/status/start", nil, &upid); err != nil {
		t.Fatal(err)
	}
	during, _, err := c.FindGuestConfig(ctx, QEMU, 100) // read while the task runs
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitTask(ctx, upid, WaitOptions{}); err != nil {
		t.Fatal(err)
	}
	after, _, err := c.FindGuestConfig(ctx, QEMU, 100)
	if err != nil {
		t.Fatal(err)
	}
	if after.Status != "running" {
		t.Errorf("after the start task: %q (while it ran: %q), want running", after.Status, during.Status)
	}
	t.Logf("while the task ran: %s", during.Status)
}
