package pve

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"
)

// fakeClock is WaitTask's time in a test: sleeps advance it at once, and so
// does the fake server, by a round trip per request.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func (c *fakeClock) taskClock() taskClock {
	return taskClock{now: c.now, sleep: func(ctx context.Context, d time.Duration) error {
		c.advance(d)
		return ctx.Err()
	}}
}

// waitOnFakeClock waits with the default schedule for a task that ends
// duration after WaitTask starts, on a server whose every status read
// takes rtt and reads the status as the request arrives (the latest it
// can: the end of a task that stops just after is seen one poll later). It
// returns how late WaitTask returned after the task ended, and the polls.
func waitOnFakeClock(t *testing.T, duration, rtt time.Duration) (time.Duration, int) {
	t.Helper()
	f := newFakePVE(t, false)
	clock := &fakeClock{t: time.Unix(1732617201, 0)}
	end := clock.now().Add(duration)
	polls := 0
	f.handle("GET /nodes/pve1/tasks/{upid}/status", func(w http.ResponseWriter, _ *http.Request) {
		polls++
		st := map[string]any{"upid": testUPID, "status": "running"}
		if !clock.now().Before(end) {
			st = map[string]any{"upid": testUPID, "status": "stopped", "exitstatus": "OK"}
		}
		clock.advance(rtt)
		writeData(w, st)
	})
	c := newTestClient(t, f, nil)
	if _, err := c.WaitTask(context.Background(), testUPID, WaitOptions{clock: clock.taskClock()}); err != nil {
		t.Fatal(err)
	}
	return clock.now().Sub(end), polls
}

// TestWaitTaskSeesEndWithinBudget: with the default options, a task of up
// to a minute (tightFor) is seen to end within 150 ms of its end, counting
// 20 ms for every status read (pvelab -latency 20ms), and the polls stay
// about one per 100 ms of the task's run (the interval less jitter, plus
// the round trip); a longer task is seen within longPoll and two round
// trips, with a poll about every second after its first minute. The old
// schedule, a tenth of the time waited up to 2 s, saw the end of a 3 s
// task up to 0.3 s late and of a minute's task up to 2 s.
func TestWaitTaskSeesEndWithinBudget(t *testing.T) {
	const rtt = 20 * time.Millisecond
	var lengths []time.Duration
	for d := time.Duration(0); d < 3*time.Second; d += 7 * time.Millisecond {
		lengths = append(lengths, d)
	}
	lengths = append(lengths, 10*time.Second, 59*time.Second, 61*time.Second, 10*time.Minute)
	var worst time.Duration
	defer func() { t.Logf("the latest end seen: %s after it", worst) }()
	for _, d := range lengths {
		late, polls := waitOnFakeClock(t, d, rtt)
		worst = max(worst, late)
		budget, most := waitBudget, int(d/(100*time.Millisecond))+4
		if d > tightFor {
			budget = longPoll + 2*rtt
			most = int(tightFor/(100*time.Millisecond)) + int((d-tightFor)/(800*time.Millisecond)) + 4
		}
		if late > budget {
			t.Errorf("a task of %s: seen %s after its end, want at most %s", d, late, budget)
		}
		if polls > most {
			t.Errorf("a task of %s: %d polls, want at most %d", d, polls, most)
		}
		switch d {
		case 0, 196 * time.Millisecond, 301 * time.Millisecond, 994 * time.Millisecond, 2996 * time.Millisecond,
			10 * time.Second, 59 * time.Second, 61 * time.Second, 10 * time.Minute:
			t.Logf("a task of %s: %d polls, seen %s after its end", d, polls, late)
		}
	}
}

// TestWaitTaskSlowRoundTrips: where round trips alone use up the budget,
// the polls follow each other at the shortest interval; with a longer
// MaxPoll set, the caller's cap holds.
func TestWaitTaskSlowRoundTrips(t *testing.T) {
	late, polls := waitOnFakeClock(t, 5*time.Second, 80*time.Millisecond)
	if want := 80*time.Millisecond*2 + defaultFirstPoll; late > want {
		t.Errorf("at 80 ms a request: seen %s late, want at most %s", late, want)
	}
	if polls > int(5*time.Second/(80*time.Millisecond+defaultFirstPoll))+2 {
		t.Errorf("at 80 ms a request: %d polls", polls)
	}
	if got := nextPoll(10, 0, defaultFirstPoll, 5*time.Second, 0); got != 5*time.Second {
		t.Errorf("MaxPoll 5s after 10 polls: %s, want 5s", got)
	}
}
