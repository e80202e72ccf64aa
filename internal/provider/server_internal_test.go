package provider

import (
	"context"
	"errors"
	"testing"
	"time"
)

type testKey struct{}

// While the request runs, its context is the request's: values, deadline,
// and cancellation reach what the framework derives from it; after release
// it holds nothing and is done.
func TestRequestContext(t *testing.T) {
	deadline := time.Now().Add(time.Hour)
	parent, cancel := context.WithDeadline(context.WithValue(context.Background(), testKey{}, "v"), deadline)
	rc := newRequestContext(parent)
	derived, stop := context.WithCancel(rc) // what the framework does
	defer stop()
	if rc.Value(testKey{}) != "v" || derived.Value(testKey{}) != "v" {
		t.Fatal("the request's values do not reach the derived context")
	}
	if d, ok := derived.Deadline(); !ok || !d.Equal(deadline) {
		t.Fatalf("deadline %v %v, want %v", d, ok, deadline)
	}
	if derived.Err() != nil {
		t.Fatal("derived context done before the request")
	}
	cancel()
	select {
	case <-derived.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("cancelling the request does not reach the derived context")
	}
	if !errors.Is(derived.Err(), context.Canceled) {
		t.Fatalf("derived Err = %v", derived.Err())
	}
	rc.release()
	if rc.Value(testKey{}) != nil || derived.Value(testKey{}) != nil {
		t.Error("a released context still hands on the request's values")
	}
	if _, ok := rc.Deadline(); ok {
		t.Error("a released context has a deadline")
	}
	select {
	case <-rc.Done():
	default:
		t.Error("a released context is not done")
	}
	if !errors.Is(rc.Err(), context.Canceled) {
		t.Errorf("released Err = %v", rc.Err())
	}
}
