package sim

import (
	"testing"
	"time"
)

func TestFaultRatesAndJitter(t *testing.T) {
	f := NewFaults()
	f.SetTaskFailureRate(1, "boom")
	if exit, ok := f.TaskFailure("qmstart"); !ok || exit != "boom" {
		t.Errorf("TaskFailure = %q, %v; want boom", exit, ok)
	}
	f.SetTaskFailureRate(0, "")
	if _, ok := f.TaskFailure("qmstart"); ok {
		t.Error("a task failed with the rate at 0")
	}
	f.SetLatency(10 * time.Millisecond)
	f.SetJitter(5 * time.Millisecond)
	seen := map[bool]bool{}
	for range 200 {
		d := f.RequestLatency()
		if d < 5*time.Millisecond || d > 15*time.Millisecond {
			t.Fatalf("latency %s outside 10ms ± 5ms", d)
		}
		seen[d < 10*time.Millisecond] = true
	}
	if len(seen) != 2 {
		t.Error("the jitter never went both ways in 200 draws")
	}
	f.Reset()
	if d := f.RequestLatency(); d != 0 {
		t.Errorf("latency after Reset = %s", d)
	}
}

// FailNextTasksOf fails only tasks of its type, and leaves the others.
func TestFailNextTasksOf(t *testing.T) {
	f := NewFaults()
	f.FailNextTasksOf("qmstart", 1, "start failed")
	if _, ok := f.TaskFailure("qmcreate"); ok {
		t.Error("a qmcreate failed")
	}
	if exit, ok := f.TaskFailure("qmstart"); !ok || exit != "start failed" {
		t.Errorf("qmstart: %q %v, want it to fail", exit, ok)
	}
	if _, ok := f.TaskFailure("qmstart"); ok {
		t.Error("the second qmstart failed too")
	}
}
