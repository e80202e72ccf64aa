package pve

import (
	"context"
	"net/http"
	"sync"
	"testing"
)

// A create whose answer was lost is settled by looking for the object: not
// sent again when it is there, sent again when it is not, and a second
// attempt answered "already exists" (the first landed late) is success.
func TestCreatePoolInDoubt(t *testing.T) {
	tests := []struct {
		name     string
		landed   bool // the first attempt made the pool
		late     bool // ... but only after the look
		wantSent int
	}{
		{"lost before it ran", false, false, 2},
		{"ran", true, false, 1},
		{"ran late", true, true, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			shortWaits(t)
			f := newFakePVE(t, false)
			var mu sync.Mutex
			sent, exists := 0, false
			f.handle("POST /pools", func(w http.ResponseWriter, _ *http.Request) {
				mu.Lock()
				defer mu.Unlock()
				sent++
				switch {
				case sent == 1:
					exists = tt.landed && !tt.late
					writeError(w, 596, "Connection timed out", nil)
				case tt.late:
					writeError(w, 500, "pool 'ml' already exists", nil)
				default:
					exists = true
					writeData(w, nil)
				}
			})
			f.handle("GET /pools", func(w http.ResponseWriter, _ *http.Request) {
				mu.Lock()
				defer mu.Unlock()
				if !exists {
					writeError(w, 500, "pool 'ml' does not exist", nil)
					return
				}
				writeData(w, []map[string]any{{"poolid": "ml"}})
			})
			c := newTestClient(t, f, nil)
			if err := c.CreatePool(context.Background(), "ml", ""); err != nil {
				t.Fatal(err)
			}
			if sent != tt.wantSent {
				t.Errorf("%d create requests, want %d", sent, tt.wantSent)
			}
		})
	}
}
