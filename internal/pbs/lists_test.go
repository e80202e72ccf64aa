package pbs

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeNamespaces serves a datastore's namespace list, slowly enough that
// concurrent reads overlap; names is what it lists (changed by the test).
func fakeNamespaces(f *fakePBS, names *atomic.Value) {
	f.handle("GET /admin/datastore/{store}/namespace", func(w http.ResponseWriter, _ *http.Request) {
		time.Sleep(30 * time.Millisecond)
		var out []Namespace
		for _, n := range names.Load().([]string) {
			out = append(out, Namespace{NS: n})
		}
		writeData(w, out)
	})
}

const nsList = "GET /admin/datastore/backups/namespace"

// Concurrent reads of a datastore's namespaces share one request.
func TestNamespacesShared_concurrentReadsShareOneRequest(t *testing.T) {
	f := newFakePBS(t, false)
	var names atomic.Value
	names.Store([]string{"", "a", "b"})
	fakeNamespaces(f, &names)
	c := newTestClient(t, f, nil)
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nss, err := c.NamespacesShared(context.Background(), "backups")
			if err != nil || len(nss) != 3 || nss[1].NS != "a" {
				t.Errorf("namespaces: %v, %v", nss, err)
			}
		}()
	}
	wg.Wait()
	if n := f.count(nsList); n != 1 {
		t.Errorf("%d list requests for 10 concurrent reads, want 1", n)
	}
}

// A write of the same run, the end of an awaited task and the expiry make
// the list stale; what others change shows in the next run at once.
func TestNamespacesShared_stale(t *testing.T) {
	f := newFakePBS(t, false)
	var names atomic.Value
	names.Store([]string{"", "a"})
	fakeNamespaces(f, &names)
	f.handle("POST /admin/datastore/{store}/namespace", data("b"))
	f.addTask(testUPID, &fakeTask{exit: "OK"})
	c := newTestClient(t, f, nil)
	ctx := context.Background()
	read := func(c *Client) []Namespace {
		t.Helper()
		nss, err := c.NamespacesShared(ctx, "backups")
		if err != nil {
			t.Fatal(err)
		}
		return nss
	}
	read(c)
	names.Store([]string{"", "a", "b"})
	if got := read(newTestClient(t, f, nil)); len(got) != 3 {
		t.Errorf("the next run: %v, want the change made by others", got)
	}

	before := f.count(nsList)
	if _, err := c.CreateNamespace(ctx, "backups", "", "b"); err != nil {
		t.Fatal(err)
	}
	if got := read(c); len(got) != 3 || f.count(nsList) != before+1 {
		t.Errorf("after the run's own write: %v, %d list reads; want it read afresh", got, f.count(nsList)-before)
	}

	before = f.count(nsList)
	if err := c.WaitTask(ctx, testUPID); err != nil {
		t.Fatal(err)
	}
	read(c)
	if f.count(nsList) != before+1 {
		t.Errorf("after a task ended: %d list reads, want 1", f.count(nsList)-before)
	}

	defer func(d time.Duration) { sharedListTTL = d }(sharedListTTL)
	sharedListTTL = 20 * time.Millisecond
	read(c)
	time.Sleep(40 * time.Millisecond)
	before = f.count(nsList)
	read(c)
	if f.count(nsList) != before+1 {
		t.Errorf("after the expiry: %d list reads, want 1", f.count(nsList)-before)
	}
}

// Concurrent reads of prune jobs share the list, with its config digest; a
// job the list does not show is read on its own.
func TestPruneJobShared(t *testing.T) {
	f := newFakePBS(t, false)
	f.handle("GET /config/prune", func(w http.ResponseWriter, _ *http.Request) {
		time.Sleep(30 * time.Millisecond)
		writeData(w, []PruneJob{{ID: "a", Store: "backups", Schedule: "daily"}, {ID: "b", Store: "backups", Schedule: "weekly"}}, "digest", "d1")
	})
	f.handle("GET /config/prune/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != "hidden" {
			writeError(w, http.StatusInternalServerError, "no such prune '"+r.PathValue("id")+"'")
			return
		}
		writeData(w, PruneJob{ID: "hidden", Store: "other", Schedule: "daily"}, "digest", "d1")
	})
	c := newTestClient(t, f, nil)
	var wg sync.WaitGroup
	for range 5 {
		for _, id := range []string{"a", "b"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				j, digest, err := c.PruneJobShared(context.Background(), id)
				if err != nil || j.ID != id || digest != "d1" {
					t.Errorf("%s: %+v, %q, %v", id, j, digest, err)
				}
			}()
		}
	}
	wg.Wait()
	if n := f.count("GET /config/prune"); n != 1 {
		t.Errorf("%d list requests for 10 concurrent reads, want 1", n)
	}
	if j, digest, err := c.PruneJobShared(context.Background(), "hidden"); err != nil || j.Store != "other" || digest != "d1" {
		t.Errorf("a job the list leaves out: %+v, %q, %v", j, digest, err)
	}
	if _, _, err := c.PruneJobShared(context.Background(), "gone"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a job that does not exist: %v, want ErrNotFound", err)
	}
}
