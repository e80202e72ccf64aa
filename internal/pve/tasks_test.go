package pve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const testUPID = "UPID:pve1:000A1B2C:0012D687:6745A3F1:qmstart:100:root@pam:"

// fakeTask is a task on the fake server: "running" for a number of polls,
// then "stopped" with an exit status.
type fakeTask struct {
	running     int      // polls answered "running" before "stopped"
	exit        string   // exit status once stopped
	log         []string // the task log
	onPoll      func(n int)
	unavailable int // polls answered 503 first, as by a restarting pveproxy

	mu       sync.Mutex
	polls    int
	logReads []string // "start,limit" of each log read
}

// addTask serves the status and log endpoints of upid on f.
func (f *fakePVE) addTask(upid string, task *fakeTask) {
	u, err := parseUPID(upid)
	if err != nil {
		f.t.Fatal(err)
	}
	prefix := "/nodes/" + u.node + "/tasks/{upid}"
	f.handle("GET "+prefix+"/status", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("upid") != upid {
			writeError(w, http.StatusBadRequest, "Parameter verification failed.", map[string]string{"upid": "unable to parse worker upid"})
			return
		}
		task.mu.Lock()
		if task.unavailable > 0 {
			task.unavailable--
			task.mu.Unlock()
			writeError(w, http.StatusServiceUnavailable, "Service Unavailable", nil)
			return
		}
		task.polls++
		n := task.polls
		task.mu.Unlock()
		if task.onPoll != nil {
			task.onPoll(n)
		}
		st := map[string]any{
			"upid": upid, "node": u.node, "pid": 662316, "pstart": 1234567, "starttime": 1732617201,
			"type": u.typ, "id": u.id, "user": "root@pam", "status": "running",
		}
		if n > task.running {
			st["status"] = "stopped"
			st["exitstatus"] = task.exit
		}
		writeData(w, st)
	})
	f.handle("GET "+prefix+"/log", func(w http.ResponseWriter, r *http.Request) {
		start, _ := strconv.Atoi(r.URL.Query().Get("start"))
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		task.mu.Lock()
		task.logReads = append(task.logReads, fmt.Sprintf("%d,%d", start, limit))
		task.mu.Unlock()
		// PVE::Tools::dump_logfile: n counts from 1; total counts all lines.
		lines := []map[string]any{}
		for i := start; i < len(task.log) && i < start+limit; i++ {
			lines = append(lines, map[string]any{"n": i + 1, "t": task.log[i]})
		}
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		_, _ = fmt.Fprintf(w, `{"data":%s,"total":%d}`, mustJSON(lines), len(task.log))
	})
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func numbered(n int, format string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(format, i+1)
	}
	return out
}

var fastWait = WaitOptions{FirstPoll: time.Millisecond, MaxPoll: 2 * time.Millisecond}

func TestWaitTask(t *testing.T) {
	longLog := append(numbered(24, "progress line %d"), "TASK ERROR: start failed: QEMU exited with code 1")
	tests := []struct {
		name       string
		task       *fakeTask
		opts       WaitOptions
		wantResult *TaskResult
		wantErr    string   // the *TaskError's text
		wantLogs   []string // log reads
	}{
		{
			name:       "OK",
			task:       &fakeTask{running: 2, exit: "OK", log: []string{"TASK OK"}},
			wantResult: &TaskResult{UPID: testUPID, Node: "pve1", Type: "qmstart", ID: "100", ExitStatus: "OK"},
		},
		{
			name: "warnings",
			task: &fakeTask{exit: "WARNINGS: 2", log: []string{"starting", "WARN: old machine type", "WARN: no efidisk", "TASK WARNINGS: 2"}},
			wantResult: &TaskResult{UPID: testUPID, Node: "pve1", Type: "qmstart", ID: "100", ExitStatus: "WARNINGS: 2", Warnings: 2,
				LogTail: []string{"starting", "WARN: old machine type", "WARN: no efidisk", "TASK WARNINGS: 2"}},
			wantLogs: []string{"0,10"},
		},
		{
			name:     "failed, short log",
			task:     &fakeTask{running: 1, exit: "VM 100 already running", log: []string{"TASK ERROR: VM 100 already running"}},
			wantErr:  "task " + testUPID + " (qmstart) failed: VM 100 already running\nTASK ERROR: VM 100 already running",
			wantLogs: []string{"0,10"},
		},
		{
			name:     "failed, long log: only the tail is read",
			task:     &fakeTask{exit: "start failed: QEMU exited with code 1", log: longLog},
			opts:     WaitOptions{LogLines: 3},
			wantErr:  "task " + testUPID + " (qmstart) failed: start failed: QEMU exited with code 1\nprogress line 23\nprogress line 24\nTASK ERROR: start failed: QEMU exited with code 1",
			wantLogs: []string{"0,3", "22,3"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakePVE(t, false)
			f.addTask(testUPID, tt.task)
			c := newTestClient(t, f, nil)
			opts := tt.opts
			opts.FirstPoll, opts.MaxPoll = fastWait.FirstPoll, fastWait.MaxPoll
			res, err := c.WaitTask(context.Background(), testUPID, opts)
			if tt.wantErr != "" {
				var te *TaskError
				if !errors.As(err, &te) {
					t.Fatalf("err = %v, want a *TaskError", err)
				}
				if err.Error() != tt.wantErr {
					t.Errorf("err =\n%s\nwant\n%s", err, tt.wantErr)
				}
				if te.ExitStatus != tt.task.exit || te.Node != "pve1" {
					t.Errorf("TaskError = %+v", te)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if fmt.Sprintf("%+v", res) != fmt.Sprintf("%+v", tt.wantResult) {
					t.Errorf("result = %+v, want %+v", res, tt.wantResult)
				}
			}
			if tt.task.polls != tt.task.running+1 {
				t.Errorf("polled %d times, want %d", tt.task.polls, tt.task.running+1)
			}
			if strings.Join(tt.task.logReads, " ") != strings.Join(tt.wantLogs, " ") {
				t.Errorf("log reads = %v, want %v", tt.task.logReads, tt.wantLogs)
			}
		})
	}
}

// TestWaitTaskSchedule waits with the default options: the first poll comes
// after FirstPoll, the status is polled until the task stops, and nothing
// else is requested for an OK task.
func TestWaitTaskSchedule(t *testing.T) {
	if o := (WaitOptions{}).withDefaults(); o.FirstPoll != 25*time.Millisecond || o.MaxPoll != 0 || o.LogLines != 10 {
		t.Fatalf("defaults = %+v", o)
	}
	f := newFakePVE(t, false)
	f.addTask(testUPID, &fakeTask{running: 2, exit: "OK"})
	c := newTestClient(t, f, nil)
	before := len(f.log())
	if _, err := c.WaitTask(context.Background(), testUPID, WaitOptions{}); err != nil {
		t.Fatal(err)
	}
	status := "GET /nodes/pve1/tasks/" + testUPID + "/status"
	if got, want := strings.Join(f.log()[before:], "\n"), strings.Repeat(status+"\n", 3); got+"\n" != want {
		t.Errorf("requests:\n%s\nwant three status polls", got)
	}
}

func TestNextPoll(t *testing.T) {
	const first = 25 * time.Millisecond
	for _, tt := range []struct {
		polls   int
		rtt     time.Duration
		maxPoll time.Duration
		jitter  float64
		want    time.Duration
	}{
		{polls: 1, rtt: 20 * time.Millisecond, want: 50 * time.Millisecond},
		{polls: 1, rtt: 20 * time.Millisecond, jitter: 0.5, want: 45 * time.Millisecond},
		{polls: 2, rtt: 20 * time.Millisecond, want: 100 * time.Millisecond},
		// 150 ms less two round trips of 20 ms and 10 ms of margin
		{polls: 3, rtt: 20 * time.Millisecond, want: 100 * time.Millisecond},
		{polls: 500, rtt: 20 * time.Millisecond, jitter: 0.999999, want: 80 * time.Millisecond},
		{polls: 500, rtt: time.Millisecond, want: 138 * time.Millisecond},
		{polls: 500, rtt: 40 * time.Millisecond, want: 60 * time.Millisecond},
		// the round trips use up the budget: the shortest interval
		{polls: 500, rtt: 70 * time.Millisecond, want: first},
		{polls: 500, rtt: time.Second, jitter: 0.9, want: first},
		// a caller's MaxPoll replaces the budget
		{polls: 3, rtt: 20 * time.Millisecond, maxPoll: 5 * time.Second, want: 200 * time.Millisecond},
		{polls: 500, rtt: 20 * time.Millisecond, maxPoll: 5 * time.Second, want: 5 * time.Second},
	} {
		if got := nextPoll(tt.polls, tt.rtt, first, tt.maxPoll, tt.jitter).Truncate(time.Millisecond); got != tt.want {
			t.Errorf("after %d polls, rtt %s, MaxPoll %s, jitter %v: %s, want %s", tt.polls, tt.rtt, tt.maxPoll, tt.jitter, got, tt.want)
		}
	}
}

func TestWaitTaskCancel(t *testing.T) {
	f := newFakePVE(t, false)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	task := &fakeTask{running: 1 << 30, onPoll: func(n int) {
		if n == 3 {
			cancel()
		}
	}}
	f.addTask(testUPID, task)
	c := newTestClient(t, f, nil)
	_, err := c.WaitTask(ctx, testUPID, fastWait)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "stopped waiting for task "+testUPID) {
		t.Errorf("err = %v, want context.Canceled naming the task", err)
	}
	if task.polls != 3 {
		t.Errorf("polled %d times after cancel, want 3", task.polls)
	}
}

func TestWaitTaskErrors(t *testing.T) {
	f := newFakePVE(t, false)
	c := newTestClient(t, f, nil)
	before := len(f.log())
	for _, tt := range []struct{ upid, want string }{
		{"", "invalid task ID: empty UPID"},
		{"UPID:pve1", `invalid task ID "UPID:pve1"`},
		{"not-a-upid", `invalid task ID "not-a-upid"`},
		{strings.TrimSuffix(testUPID, ":"), "invalid task ID"},
		{"UPID:pve1:000A1B2C:0012D687:6745A3F1:qmstart:100:root@pam:extra:", "invalid task ID"},
		{"UPID:-pve:000A1B2C:0012D687:6745A3F1:qmstart:100:root@pam:", "invalid task ID"},
		{"UPID:pve1:XYZ:0012D687:6745A3F1:qmstart:100:root@pam:", "invalid task ID"},
	} {
		if _, err := c.WaitTask(context.Background(), tt.upid, fastWait); err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("WaitTask(%q) = %v, want %q", tt.upid, err, tt.want)
		}
	}
	if n := len(f.log()) - before; n != 0 {
		t.Errorf("%d requests for invalid UPIDs", n)
	}

	// A task PVE does not know: its 400 is returned, naming the task.
	const unknown = "UPID:pve1:00000001:00000001:00000001:qmstart:999:root@pam:"
	f.handle("GET /nodes/pve1/tasks/{upid}/status", func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusBadRequest, "Parameter verification failed.", map[string]string{"upid": "no such task"})
	})
	_, err := c.WaitTask(context.Background(), unknown, fastWait)
	want := "read status of task " + unknown + ": GET /nodes/pve1/tasks/" + unknown + "/status: 400 parameter verification failed: upid: no such task"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
}

func TestWaitTaskTransientPoll(t *testing.T) {
	f := newFakePVE(t, false)
	task := &fakeTask{running: 1, exit: "OK", unavailable: 2}
	f.addTask(testUPID, task)
	c := newTestClient(t, f, nil)
	if _, err := c.WaitTask(context.Background(), testUPID, fastWait); err != nil {
		t.Fatal(err)
	}
	status := "GET /nodes/pve1/tasks/" + testUPID + "/status"
	if task.polls != 2 || f.count(status) != 4 {
		t.Errorf("task answered %d polls of %d requests, want 2 of 4", task.polls, f.count(status))
	}
}

func TestTaskErrorIsLocked(t *testing.T) {
	err := error(&TaskError{UPID: testUPID, Type: "qmstart", ExitStatus: "can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout"})
	if !errors.Is(err, ErrLocked) || errors.Is(err, ErrNotFound) {
		t.Errorf("errors.Is(%v, ErrLocked) = false", err)
	}
	if errors.Is(&TaskError{ExitStatus: "VM 100 already running"}, ErrLocked) {
		t.Error("an unrelated failure matches ErrLocked")
	}
	if got := (&TaskError{UPID: testUPID, Type: "qmstart"}).Error(); got != "task "+testUPID+" (qmstart) failed: no exit status" {
		t.Errorf("Error() = %q", got)
	}
}

func TestParseUPID(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want upid
	}{
		{testUPID, upid{node: "pve1", typ: "qmstart", id: "100"}},
		{"UPID:pve-2:00001234:1A2B3C4D5:6745A3F1:vzdump::root@pam!terraform:", upid{node: "pve-2", typ: "vzdump"}},
		{"UPID:n:00000000:00000000:00000000:srvreload:networking:alice@pve:", upid{node: "n", typ: "srvreload", id: "networking"}},
	} {
		got, err := parseUPID(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("parseUPID(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func FuzzParseUPID(f *testing.F) {
	for _, s := range []string{
		testUPID, "", "UPID:", "UPID:pve1:::::::", "UPID:pve-2:00001234:1A2B3C4D5:6745A3F1:vzdump::root@pam!tf:",
		"UPID:pve1:000A1B2C:0012D687:6745A3F1:qmstart:100:root@pam:\n", "UPID:pve1:000A1B2C:0012D687:6745A3F1:q m:100:root@pam:",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := parseUPID(s)
		if err != nil {
			if u != (upid{}) {
				t.Errorf("parseUPID(%q) failed but returned %+v", s, u)
			}
			return
		}
		if u.node == "" || u.typ == "" {
			t.Errorf("parseUPID(%q) = %+v: empty required field", s, u)
		}
		for _, field := range []string{u.node, u.typ, u.id} {
			if strings.ContainsAny(field, ": \t\r\n") {
				t.Errorf("parseUPID(%q): field %q holds a separator or space", s, field)
			}
		}
		// The fields are where PVE's format puts them: node second, type
		// and ID sixth and seventh of nine colon-separated parts.
		parts := strings.Split(s, ":")
		if len(parts) != 9 || parts[0] != "UPID" || parts[1] != u.node || parts[5] != u.typ || parts[6] != u.id || parts[7] == "" || parts[8] != "" {
			t.Errorf("parseUPID(%q) = %+v does not match its parts %q", s, u, parts)
		}
	})
}
