package pbs

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParseUPID(t *testing.T) {
	tests := []struct {
		in   string
		want UPID
		str  string // String(), if not in: PBS writes task_id with at least 8 digits
		err  string
	}{
		{
			// proxmox-schema's own example.
			in:   "UPID:elsa:00004F37:0039E469:00000000:5CA78B83:garbage_collection::root@pam:",
			want: UPID{Node: "elsa", PID: 0x4F37, PStart: 0x39E469, TaskID: 0, StartTime: 0x5CA78B83, WorkerType: "garbage_collection", AuthID: "root@pam"},
		},
		{
			in:   testUPID,
			want: UPID{Node: "pbs1", PID: 0x7C4, PStart: 0x9A2B, TaskID: 3, StartTime: 0x6745A3F1, WorkerType: "create-datastore", WorkerID: "store1", AuthID: "root@pam"},
		},
		{
			// A 9-digit pstart (uptime > 497 days), a 16-digit task ID, a
			// token, and a worker ID escaped as systemd escapes unit names:
			// "store1:ns1/a-b" (':' \x3a, '/' '-', '-' \x2d).
			in: `UPID:pbs-2:0001E240:1000000AB:00000000000000FF:6745A3F1:prune:store1\x3ans1-a\x2db:admin@pbs!tf:`,
			want: UPID{Node: "pbs-2", PID: 0x1E240, PStart: 0x1000000AB, TaskID: 0xFF, StartTime: 0x6745A3F1,
				WorkerType: "prune", WorkerID: "store1:ns1/a-b", AuthID: "admin@pbs!tf"},
			str: `UPID:pbs-2:0001E240:1000000AB:000000FF:6745A3F1:prune:store1\x3ans1-a\x2db:admin@pbs!tf:`,
		},
		{in: "", err: "invalid task ID: empty UPID"},
		{in: "UPID:pve1:000A1B2C:0012D687:6745A3F1:qmstart:100:root@pam:", err: `invalid task ID "UPID:pve1:000A1B2C:0012D687:6745A3F1:qmstart:100:root@pam:": expected UPID:node:pid:pstart:task_id:starttime:type:id:authid:`},
		{in: "UPID:pbs1:000007C4:00009A2B:00000003:6745A3F1:create-datastore:store1:root@pam", err: "expected UPID:"},
		{in: "UPID:-pbs:000007C4:00009A2B:00000003:6745A3F1:x::root@pam:", err: "expected UPID:"},
		{in: `UPID:pbs1:000007C4:00009A2B:00000003:6745A3F1:x:a\x4:root@pam:`, err: "error in escape sequence"},
		{in: `UPID:pbs1:000007C4:00009A2B:00000003:6745A3F1:x:a\xzz:root@pam:`, err: "invalid hex digit"},
		{in: `UPID:pbs1:000007C4:00009A2B:00000003:6745A3F1:x:\xff:root@pam:`, err: "not valid UTF-8"},
	}
	for _, tt := range tests {
		got, err := ParseUPID(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseUPID(%q) = %+v, %v; want error %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseUPID(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			continue
		}
		want := tt.str
		if want == "" {
			want = tt.in
		}
		if s := got.String(); s != want {
			t.Errorf("String() = %q, want %q", s, want)
		}
	}
}

// FuzzParseUPID checks that every UPID the parser accepts renders to a
// string that parses to the same UPID.
func FuzzParseUPID(f *testing.F) {
	for _, s := range []string{
		testUPID,
		"UPID:elsa:00004F37:0039E469:00000000:5CA78B83:garbage_collection::root@pam:",
		`UPID:pbs-2:0001E240:1000000AB:00000000000000FF:6745A3F1:prune:store1\x3ans1-a\x2db:admin@pbs!tf:`,
		`UPID:n:00000000:00000000:00000000:00000000:t:\x2e.-\x2f:u@r:`,
		"UPID:n:ffffffff:fffffffff:ffffffffffffffff:ffffffff:t:é:u@r:",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseUPID(s)
		if err != nil {
			return
		}
		again, err := ParseUPID(u.String())
		if err != nil {
			t.Fatalf("ParseUPID(%q) = %+v, but its String() %q does not parse: %v", s, u, u.String(), err)
		}
		if again != u {
			t.Fatalf("ParseUPID(%q) = %+v, ParseUPID(String()) = %+v", s, u, again)
		}
	})
}

// fakeTask is a task on the fake server: "running" for a number of polls,
// then "stopped" with an exit status.
type fakeTask struct {
	running int      // polls answered "running" before "stopped"
	exit    string   // exit status once stopped
	log     []string // the task log

	mu       sync.Mutex
	polls    int
	logReads []string // "start,limit" of each log read
}

// addTask serves the status and log endpoints of upid on f as
// src/api2/node/tasks.rs does, beside the tasks added before.
func (f *fakePBS) addTask(upid string, task *fakeTask) {
	if _, err := ParseUPID(upid); err != nil {
		f.t.Fatal(err)
	}
	f.mu.Lock()
	first := f.tasks == nil
	if first {
		f.tasks = map[string]*fakeTask{}
	}
	f.tasks[upid] = task
	f.mu.Unlock()
	if !first {
		return
	}
	lookup := func(w http.ResponseWriter, r *http.Request) (*fakeTask, UPID, bool) {
		f.mu.Lock()
		task := f.tasks[r.PathValue("upid")]
		f.mu.Unlock()
		u, err := ParseUPID(r.PathValue("upid"))
		if err != nil {
			writeError(w, http.StatusBadRequest, "parameter verification failed - 'upid': value does not match the regex pattern")
			return nil, u, false
		}
		if task == nil {
			writeError(w, http.StatusBadRequest, "unable to open task log \"/var/log/proxmox-backup/tasks/...\" - ENOENT: No such file or directory")
			return nil, u, false
		}
		return task, u, true
	}
	f.handle("GET /nodes/{node}/tasks/{upid}/status", func(w http.ResponseWriter, r *http.Request) {
		task, u, ok := lookup(w, r)
		if !ok {
			return
		}
		task.mu.Lock()
		task.polls++
		n := task.polls
		task.mu.Unlock()
		st := map[string]any{
			"upid": r.PathValue("upid"), "node": u.Node, "pid": u.PID, "pstart": u.PStart, "starttime": u.StartTime,
			"type": u.WorkerType, "id": u.WorkerID, "user": "root@pam", "status": "running",
		}
		if n > task.running {
			st["status"] = "stopped"
			st["exitstatus"] = task.exit
		}
		writeData(w, st)
	})
	f.handle("GET /nodes/{node}/tasks/{upid}/log", func(w http.ResponseWriter, r *http.Request) {
		task, _, ok := lookup(w, r)
		if !ok {
			return
		}
		start, _ := strconv.Atoi(r.URL.Query().Get("start"))
		limit, err := strconv.Atoi(r.URL.Query().Get("limit"))
		if err != nil {
			limit = 50
		}
		task.mu.Lock()
		task.logReads = append(task.logReads, fmt.Sprintf("%d,%d", start, limit))
		task.mu.Unlock()
		// read_task_log: lines count from 1, those below start are
		// skipped, limit 0 reads to the end; "total" counts all lines.
		lines := []map[string]any{}
		all := limit == 0
		for i, text := range task.log {
			n := i + 1
			if n < start {
				continue
			}
			if !all {
				if limit == 0 {
					continue
				}
				limit--
			}
			lines = append(lines, map[string]any{"n": n, "t": text})
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"data":%s,"total":%d,"success":1}`, mustJSON(lines), len(task.log))
	})
}

func numbered(n int, format string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(format, i+1)
	}
	return out
}

func TestWaitTask(t *testing.T) {
	const chunkErr = `unable to create chunk store 'store1' subdir "/mnt/datastore/store1/.chunks" - EEXIST: File exists`
	longLog := append(numbered(24, "Chunkstore create: %d%%"), "TASK ERROR: "+chunkErr)
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
			wantResult: &TaskResult{ExitStatus: "OK"},
		},
		{
			name: "warnings count as success",
			task: &fakeTask{exit: "WARNINGS: 2", log: []string{"starting", "WARN: a", "WARN: b", "TASK WARNINGS: 2"}},
			wantResult: &TaskResult{ExitStatus: "WARNINGS: 2", Warnings: 2,
				LogTail: []string{"starting", "WARN: a", "WARN: b", "TASK WARNINGS: 2"}},
			wantLogs: []string{"0,10"},
		},
		{
			name:     "failed, short log: the repeated TASK ERROR line is left out of the message",
			task:     &fakeTask{running: 1, exit: chunkErr, log: []string{"Chunkstore create: 1%", "TASK ERROR: " + chunkErr}},
			wantErr:  "task " + testUPID + " (create-datastore) failed: " + chunkErr + "\nChunkstore create: 1%",
			wantLogs: []string{"0,10"},
		},
		{
			name:     "failed, long log: only the tail is read",
			task:     &fakeTask{exit: chunkErr, log: longLog},
			opts:     WaitOptions{LogLines: 3},
			wantErr:  "task " + testUPID + " (create-datastore) failed: " + chunkErr + "\nChunkstore create: 23%\nChunkstore create: 24%",
			wantLogs: []string{"0,3", "23,3"},
		},
		{
			name:     "unknown end",
			task:     &fakeTask{exit: "unknown"},
			wantErr:  "task " + testUPID + " (create-datastore) failed: unknown",
			wantLogs: []string{"0,10"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakePBS(t, false)
			f.addTask(testUPID, tt.task)
			c := newTestClient(t, f, nil)
			opts := tt.opts
			opts.FirstPoll, opts.MaxPoll = fastWait.FirstPoll, fastWait.MaxPoll
			res, err := c.WaitTaskResult(context.Background(), testUPID, opts)
			if tt.wantErr != "" {
				var te *TaskError
				if !errors.As(err, &te) {
					t.Fatalf("err = %v, want a *TaskError", err)
				}
				if err.Error() != tt.wantErr {
					t.Errorf("err =\n%s\nwant\n%s", err, tt.wantErr)
				}
				if te.ExitStatus != tt.task.exit || te.UPID.Node != "pbs1" {
					t.Errorf("TaskError = %+v", te)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				tt.wantResult.UPID, _ = ParseUPID(testUPID)
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

// TestWaitTaskEscapedID waits for a task whose worker ID holds systemd
// escapes: the UPID travels path-escaped and arrives intact.
func TestWaitTaskEscapedID(t *testing.T) {
	const upid = `UPID:pbs1:000007C4:00009A2B:00000004:6745A3F1:prune:store1\x3ans1-a:root@pam!terraform:`
	f := newFakePBS(t, false)
	f.addTask(upid, &fakeTask{running: 1, exit: "OK"})
	c := newTestClient(t, f, nil)
	if err := c.WaitTask(context.Background(), upid); err != nil {
		t.Fatal(err)
	}
}

// TestTaskErrorNamesTheUPIDAsGiven: the error quotes the UPID as PBS wrote
// it (here with lower-case hex and a long task ID), so that it can be found
// in PBS's task list.
func TestTaskErrorNamesTheUPIDAsGiven(t *testing.T) {
	const upid = "UPID:pbs1:000007c4:00009a2b:00000000000000ff:6745a3f1:delete-datastore:store1:root@pam:"
	f := newFakePBS(t, false)
	f.addTask(upid, &fakeTask{exit: "datastore is in use"})
	c := newTestClient(t, f, nil)
	err := c.WaitTask(context.Background(), upid)
	if want := "task " + upid + " (delete-datastore) failed: datastore is in use"; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
}

// TestWaitTaskSchedule waits with the default options: the first poll comes
// after FirstPoll, the status is polled until the task stops, and nothing
// else is requested for an OK task.
func TestWaitTaskSchedule(t *testing.T) {
	if o := (WaitOptions{}).withDefaults(); o.FirstPoll != 100*time.Millisecond || o.MaxPoll != 2*time.Second || o.LogLines != 10 {
		t.Fatalf("defaults = %+v", o)
	}
	f := newFakePBS(t, false)
	f.addTask(testUPID, &fakeTask{running: 2, exit: "OK"})
	c := newTestClient(t, f, func(cfg *Config) { cfg.Wait = WaitOptions{} })
	before := len(f.log())
	if err := c.WaitTask(context.Background(), testUPID); err != nil {
		t.Fatal(err)
	}
	status := "GET /nodes/localhost/tasks/" + testUPID + "/status"
	if got, want := strings.Join(f.log()[before:], "\n"), strings.Repeat(status+"\n", 3); got+"\n" != want {
		t.Errorf("requests:\n%s\nwant three status polls", got)
	}
}

func TestWaitTaskCancel(t *testing.T) {
	f := newFakePBS(t, false)
	f.addTask(testUPID, &fakeTask{running: 1 << 30})
	c := newTestClient(t, f, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := c.WaitTask(ctx, testUPID)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "stopped waiting for task "+testUPID+", which may still be running") {
		t.Errorf("err = %v", err)
	}
	if err := c.WaitTask(context.Background(), "not a upid"); err == nil || !strings.Contains(err.Error(), "invalid task ID") {
		t.Errorf("bad UPID: %v", err)
	}
}

func TestNextPoll(t *testing.T) {
	for _, tt := range []struct {
		jitter float64
		want   []time.Duration
	}{
		{0, []time.Duration{150, 225, 337, 506, 759, 1139, 1708, 2000, 2000}},
		{0.999999, []time.Duration{199, 399, 799, 1599, 2000, 2000}},
	} {
		d := 100 * time.Millisecond
		for i, want := range tt.want {
			d = nextPoll(d, 2*time.Second, tt.jitter)
			if d.Milliseconds() != int64(want) {
				t.Errorf("jitter %v, poll %d: %s, want %dms", tt.jitter, i+2, d, want)
			}
		}
	}
}
