package pve

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"
)

func TestVMConfigDecodes(t *testing.T) {
	f := newFakePVE(t, false)
	f.handle("GET /nodes/pve1/qemu/100/config", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("current") != "1" {
			t.Errorf("current = %q", r.URL.Query().Get("current"))
		}
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		_, _ = w.Write([]byte(`{"data":{"cores":4,"memory":"8192","name":"web","scsi0":"local-lvm:vm-100-disk-0,size=32G","digest":"2d4f0e5c0ba33e3bf1c6c4a4c3d7bbf1a5c6a3d2","meta":{"x":1}}}`))
	})
	c := newTestClient(t, f, nil)
	cfg, err := c.GuestConfig(context.Background(), QEMU, "pve1", 100, true)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Values["cores"] != "4" || cfg.Values["memory"] != "8192" || cfg.Digest == "" || cfg.Values["scsi0"] == "" {
		t.Fatalf("config = %+v", cfg)
	}
	if _, ok := cfg.Get("digest"); ok {
		t.Fatal("the digest is not a configuration key")
	}
}

// Parallel creates without a VMID get distinct ids even though PVE's
// nextid answers the same id to all of them until one is created.
func TestCreateWithNewVMIDParallel(t *testing.T) {
	f := newFakePVE(t, false)
	var mu sync.Mutex
	used := map[int]bool{100: true}
	lowestFree := func() int {
		for id := 100; ; id++ {
			if !used[id] {
				return id
			}
		}
	}
	f.handle("GET /cluster/nextid", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if v := r.URL.Query().Get("vmid"); v != "" {
			id, _ := strconv.Atoi(v)
			if used[id] {
				writeError(w, http.StatusBadRequest, "Parameter verification failed.", map[string]string{"vmid": fmt.Sprintf("VM %d already exists", id)})
				return
			}
			writeData(w, v)
			return
		}
		writeData(w, strconv.Itoa(lowestFree()))
	})
	c := newTestClient(t, f, nil)
	const n = 10
	got := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			vmid, err := c.CreateWithNewVMID(context.Background(), func(vmid int) error {
				time.Sleep(5 * time.Millisecond) // the create task runs a moment
				mu.Lock()
				defer mu.Unlock()
				if used[vmid] {
					return fmt.Errorf("unable to create VM %d - VM %d already exists on node 'pve1'", vmid, vmid)
				}
				used[vmid] = true
				return nil
			})
			if err != nil {
				t.Error(err)
			}
			got <- vmid
		}()
	}
	wg.Wait()
	close(got)
	seen := map[int]bool{}
	for id := range got {
		if seen[id] {
			t.Fatalf("VMID %d was handed out twice", id)
		}
		seen[id] = true
	}
	if len(seen) != n {
		t.Fatalf("%d distinct ids, want %d", len(seen), n)
	}
}

// An id taken by another client between nextid and create is retried.
func TestCreateWithNewVMIDRetriesTakenID(t *testing.T) {
	f := newFakePVE(t, false)
	f.handle("GET /cluster/nextid", func(w http.ResponseWriter, _ *http.Request) { writeData(w, "105") })
	c := newTestClient(t, f, nil)
	calls := 0
	_, err := c.CreateWithNewVMID(context.Background(), func(vmid int) error {
		calls++
		return errors.New("unable to create VM 105 - VM 105 already exists on node 'pve2'")
	})
	if err == nil || calls != 10 {
		t.Fatalf("want 10 attempts and an error, got %d, %v", calls, err)
	}
	calls = 0
	_, err = c.CreateWithNewVMID(context.Background(), func(int) error {
		calls++
		return errors.New("storage 'nope' does not exist")
	})
	if err == nil || calls != 1 {
		t.Fatalf("other errors must not be retried: %d calls, %v", calls, err)
	}
}
