package pve

import (
	"context"
	"errors"
	"net/http"
	"testing"
)

// The VMID of a create PVE accepted whose task failed stays reserved in
// the process: the failed create removed its guest, so nextid offers the
// id again, but the state names it (tainted); a create beside it that took
// it would be the guest the tainted resource's replacement destroys.
func TestCreateWithNewVMIDKeepsFailedCreateReserved(t *testing.T) {
	f := newFakePVE(t, false)
	f.handle("GET /cluster/nextid", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("vmid") != "" {
			writeData(w, r.URL.Query().Get("vmid")) // free
			return
		}
		writeData(w, "100") // the failed create's guest is gone: 100 is free
	})
	c := newTestClient(t, f, nil)
	ctx := context.Background()
	failed, err := c.CreateWithNewVMID(ctx, func(int) error {
		return &AcceptedError{Err: errors.New("task failed")}
	})
	if failed != 100 || err == nil {
		t.Fatalf("first create: %d, %v", failed, err)
	}
	next, err := c.CreateWithNewVMID(ctx, func(int) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if next == failed {
		t.Errorf("the next create got VMID %d, the failed create's", next)
	}
}
