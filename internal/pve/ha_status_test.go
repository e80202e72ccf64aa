package pve

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// haStatusSequence serves /cluster/ha/status/current with one service
// entry per call, the last one repeated.
func haStatusSequence(f *fakePVE, sid string, entries ...map[string]any) {
	var mu sync.Mutex
	i := 0
	f.handle("GET /cluster/ha/status/current", func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		e := entries[min(i, len(entries)-1)]
		i++
		mu.Unlock()
		svc := map[string]any{"id": "service:" + sid, "type": "service", "sid": sid}
		for k, v := range e {
			svc[k] = v
		}
		writeData(w, []any{map[string]any{"id": "quorum", "type": "quorum", "quorate": 1}, svc})
	})
}

func fastHAPoll(t *testing.T) {
	old := HAPollInterval
	HAPollInterval = 4 * time.Millisecond
	t.Cleanup(func() { HAPollInterval = old })
}

// A started request is done when HA shows the service "started" (running),
// not when the manager has it in its started state ("starting").
func TestWaitHARequestedState(t *testing.T) {
	fastHAPoll(t)
	f := newFakePVE(t, false)
	haStatusSequence(f, "vm:100",
		map[string]any{"node": "pve1", "state": "queued"},
		map[string]any{"node": "pve1", "crm_state": "started", "state": "starting"},
		map[string]any{"node": "pve1", "crm_state": "started", "state": "starting"},
		map[string]any{"node": "pve1", "crm_state": "started", "state": "started"},
	)
	c := newTestClient(t, f, nil)
	if err := c.WaitHARequestedState(context.Background(), "vm:100", "started"); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(strings.Join(f.log(), "\n"), "GET /cluster/ha/status/current"); n != 4 {
		t.Errorf("status reads = %d, want 4", n)
	}
	// ignored is not waited for
	if err := c.WaitHARequestedState(context.Background(), "vm:100", "ignored"); err != nil {
		t.Fatal(err)
	}
}

func TestWaitHARequestedStateError(t *testing.T) {
	fastHAPoll(t)
	f := newFakePVE(t, false)
	haStatusSequence(f, "ct:101",
		map[string]any{"node": "pve2", "crm_state": "started", "state": "starting"},
		map[string]any{"node": "pve2", "crm_state": "error", "state": "error"},
	)
	c := newTestClient(t, f, nil)
	err := c.WaitHARequestedState(context.Background(), "ct:101", "started")
	if err == nil || !strings.Contains(err.Error(), "HA service ct:101 is in the error state") {
		t.Fatalf("err = %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	haStatusSequence(f, "ct:101", map[string]any{"node": "pve2", "crm_state": "started", "state": "starting"})
	if err := c.WaitHARequestedState(ctx, "ct:101", "started"); err == nil || !strings.Contains(err.Error(), "starting on pve2") {
		t.Fatalf("err = %v", err)
	}
}

// A migration is done once HA has the service on the target; HA trying and
// leaving it on the source is an error.
func TestWaitHAMigration(t *testing.T) {
	fastHAPoll(t)
	f := newFakePVE(t, false)
	haStatusSequence(f, "vm:100",
		map[string]any{"node": "pve1", "crm_state": "started", "state": "started"},
		map[string]any{"node": "pve1", "crm_state": "migrate", "state": "migrate"},
		map[string]any{"node": "pve2", "crm_state": "started", "state": "starting"},
	)
	c := newTestClient(t, f, nil)
	if err := c.WaitHAMigration(context.Background(), "vm:100", "pve2"); err != nil {
		t.Fatal(err)
	}
	haStatusSequence(f, "vm:100",
		map[string]any{"node": "pve1", "crm_state": "migrate", "state": "migrate"},
		map[string]any{"node": "pve1", "crm_state": "started", "state": "started"},
	)
	err := c.WaitHAMigration(context.Background(), "vm:100", "pve2")
	if err == nil || !strings.Contains(err.Error(), "HA did not move vm:100 to pve2: it is started on pve1") {
		t.Fatalf("err = %v", err)
	}
}
