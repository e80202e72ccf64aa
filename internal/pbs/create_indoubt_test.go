package pbs

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"
)

// A prune job create whose connection was lost after it went out is
// settled by looking for the job: not sent again when it is there, sent
// again when it is not.
func TestCreatePruneJobInDoubt(t *testing.T) {
	old, oldPoll := inDoubtWait, inDoubtPoll
	inDoubtWait, inDoubtPoll = 100*time.Millisecond, 5*time.Millisecond
	t.Cleanup(func() { inDoubtWait, inDoubtPoll = old, oldPoll })
	for _, landed := range []bool{false, true} {
		t.Run(map[bool]string{false: "lost before it ran", true: "ran"}[landed], func(t *testing.T) {
			f := newFakePBS(t, false)
			var mu sync.Mutex
			sent, exists := 0, false
			f.handle("POST /config/prune", func(w http.ResponseWriter, _ *http.Request) {
				mu.Lock()
				defer mu.Unlock()
				sent++
				if sent == 1 {
					exists = landed
					dropConnection(w)
					return
				}
				exists = true
				writeData(w, nil)
			})
			f.handle("GET /config/prune/{id}", func(w http.ResponseWriter, _ *http.Request) {
				mu.Lock()
				defer mu.Unlock()
				if !exists {
					writeError(w, http.StatusNotFound, "job 'nightly' does not exist.")
					return
				}
				writeData(w, map[string]any{"id": "nightly", "store": "backups", "schedule": "daily"})
			})
			c := newTestClient(t, f, nil)
			if err := c.CreatePruneJob(context.Background(), PruneJob{ID: "nightly", Store: "backups", Schedule: "daily"}); err != nil {
				t.Fatal(err)
			}
			if want := map[bool]int{false: 2, true: 1}[landed]; sent != want {
				t.Errorf("%d create requests, want %d", sent, want)
			}
		})
	}
}
