package pve

import (
	"context"
	"encoding/json"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkWaitTaskOvershoot measures how late WaitTask sees a task end,
// with the default poll schedule and 20 ms per request (as pvelab
// -latency 20ms): overshoot-ms is the time from the task's end to
// WaitTask's return (max-overshoot-ms the worst of the run), polls/op the
// status reads. The goal is that a task of any length (the lab's create
// takes 300 ms, its destroy 200 ms) is seen to end within 150 ms;
// TestWaitTaskSeesEndWithinBudget checks the schedule for longer tasks on
// a fake clock.
func BenchmarkWaitTaskOvershoot(b *testing.B) {
	for _, d := range []time.Duration{100 * time.Millisecond, 300 * time.Millisecond, time.Second, 2 * time.Second} {
		b.Run(d.String(), func(b *testing.B) {
			f := newFakePVE(b, false)
			var end atomic.Int64 // unix nanos at which the task stops
			var polls atomic.Int64
			f.handle("GET /nodes/pve1/tasks/{upid}/status", func(w http.ResponseWriter, _ *http.Request) {
				time.Sleep(20 * time.Millisecond)
				polls.Add(1)
				st := map[string]any{"status": "running"}
				if time.Now().UnixNano() >= end.Load() {
					st = map[string]any{"status": "stopped", "exitstatus": "OK"}
				}
				w.Header().Set("Content-Type", "application/json")
				_ = json.NewEncoder(w).Encode(map[string]any{"data": st})
			})
			c, err := New(context.Background(), Config{Endpoint: f.srv.URL, Insecure: true, APIToken: testToken})
			if err != nil {
				b.Fatal(err)
			}
			var over, worst time.Duration
			polls.Store(0)
			b.ResetTimer()
			for range b.N {
				e := time.Now().Add(d)
				end.Store(e.UnixNano())
				if _, err := c.WaitTask(context.Background(), testUPID, WaitOptions{}); err != nil {
					b.Fatal(err)
				}
				late := time.Since(e)
				over += late
				worst = max(worst, late)
			}
			b.ReportMetric(float64(over.Milliseconds())/float64(b.N), "overshoot-ms")
			b.ReportMetric(float64(worst.Milliseconds()), "max-overshoot-ms")
			b.ReportMetric(float64(polls.Load())/float64(b.N), "polls/op")
		})
	}
}
