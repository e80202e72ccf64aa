package pve

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/hcilab/terraform-provider-pve/internal/apiclient"
)

// Defaults of WaitOptions.
const (
	defaultFirstPoll = 25 * time.Millisecond
	defaultLogLines  = 10
	// waitBudget is how late WaitTask may see a task end, counting the
	// status read's own round trips: the interval between polls is at most
	// waitBudget less two round trips and waitMargin (see nextPoll).
	waitBudget = 150 * time.Millisecond
	waitMargin = 10 * time.Millisecond
	// tightFor is how long a task is watched within waitBudget. A task
	// still running after it (a big clone, a download) is polled at most
	// every longPoll: its end is then seen up to about a second late,
	// under 2% of its run, instead of its status being read ten times a
	// second for minutes from an API the cluster's other users share.
	tightFor = 60 * time.Second
	longPoll = time.Second
)

// TaskResult is a task that ended with "OK" or "WARNINGS: n".
type TaskResult struct {
	UPID       string
	Node       string
	Type       string // e.g. "qmstart", "vzcreate"
	ID         string // e.g. the VMID; may be empty
	ExitStatus string // "OK" or "WARNINGS: n"
	Warnings   int    // n of "WARNINGS: n"
	LogTail    []string
}

// TaskError is a task that failed: its exit status is neither "OK" nor
// "WARNINGS: n". It matches ErrLocked when the task failed on a lock.
type TaskError struct {
	UPID       string
	Node       string
	Type       string
	ExitStatus string   // PVE's reason, e.g. "VM 100 already running"
	LogTail    []string // the last lines of the task log
}

// Error renders the exit status, then the log tail line by line.
func (e *TaskError) Error() string {
	status := e.ExitStatus
	if status == "" {
		status = "no exit status"
	}
	msg := fmt.Sprintf("task %s (%s) failed: %s", e.UPID, e.Type, status)
	if len(e.LogTail) > 0 {
		msg += "\n" + strings.Join(e.LogTail, "\n")
	}
	return msg
}

// Is reports whether the task failed on a lock.
func (e *TaskError) Is(target error) bool {
	return target == ErrLocked && containsAny(strings.ToLower(e.ExitStatus), lockPhrases)
}

// WaitOptions tune WaitTask. Zero fields take the defaults.
type WaitOptions struct {
	FirstPoll time.Duration // delay before the first status poll, and the shortest between polls; default 25 ms
	// MaxPoll is the longest delay between polls. Zero (the default) keeps
	// the end of a task of up to a minute seen within 150 ms, counting the
	// status read's round trip, and of a longer one within about a second;
	// a caller that waits for long tasks and does not mind seeing their
	// end later may set a longer one.
	MaxPoll  time.Duration
	LogLines int // log lines kept on warnings and failures; default 10

	clock taskClock // tests: a fake clock; zero = the real one
}

func (o WaitOptions) withDefaults() WaitOptions {
	if o.FirstPoll <= 0 {
		o.FirstPoll = defaultFirstPoll
	}
	if o.MaxPoll > 0 {
		o.MaxPoll = max(o.MaxPoll, o.FirstPoll)
	}
	if o.LogLines <= 0 {
		o.LogLines = defaultLogLines
	}
	if o.clock.now == nil {
		o.clock = taskClock{now: time.Now, sleep: apiclient.Sleep}
	}
	return o
}

// taskClock is the time WaitTask waits by.
type taskClock struct {
	now   func() time.Time
	sleep func(context.Context, time.Duration) error
}

// WaitTask waits until the task upid stops. PVE offers no way to wait for
// a task's end but to poll its status (PVE::API2::Tasks read_task_status
// answers at once from the worker's pid and start time; only the CLI
// waits for its workers, PVE::RESTEnvironment fork_worker's sync mode).
// The status is polled first after opts.FirstPoll, then at intervals that
// double up to a cap (nextPoll): by default the cap keeps the end of a
// task seen within about 150 ms of when it ended, counting the status
// read's own round trip, at the cost of a poll about every tenth of a
// second (plus the round trip), for the task's first minute (tightFor);
// after that the polls come about every second (longPoll).
// A task that ends "OK" or "WARNINGS: n" gives a result (with the log tail
// for warnings); any other end gives a *TaskError with the exit status and
// log tail. When ctx ends first, the error wraps ctx.Err() and names the
// task, which may still be running.
func (c *Client) WaitTask(ctx context.Context, upid string, opts WaitOptions) (*TaskResult, error) {
	u, err := parseUPID(upid)
	if err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	// the task changed what lists read before it ended show
	defer c.lists.invalidate()
	taskPath := "/nodes/" + url.PathEscape(u.node) + "/tasks/" + url.PathEscape(upid)

	delay := opts.FirstPoll
	began := opts.clock.now()
	for polls := 1; ; polls++ {
		if err := opts.clock.sleep(ctx, delay); err != nil {
			return nil, stoppedWaiting(upid, err)
		}
		var st struct {
			Status     string `json:"status"`
			ExitStatus string `json:"exitstatus"`
		}
		sent := opts.clock.now()
		if err := c.Get(ctx, taskPath+"/status", nil, &st); err != nil {
			if cerr := ctx.Err(); cerr != nil {
				return nil, stoppedWaiting(upid, cerr)
			}
			return nil, fmt.Errorf("read status of task %s: %w", upid, err)
		}
		if st.Status == "stopped" {
			return c.taskOutcome(ctx, u, upid, taskPath, st.ExitStatus, opts.LogLines)
		}
		maxPoll := opts.MaxPoll
		if maxPoll <= 0 && opts.clock.now().Sub(began) >= tightFor {
			maxPoll = longPoll
		}
		delay = nextPoll(polls, opts.clock.now().Sub(sent), opts.FirstPoll, maxPoll, rand.Float64())
	}
}

func stoppedWaiting(upid string, err error) error {
	return fmt.Errorf("stopped waiting for task %s, which may still be running: %w", upid, err)
}

// nextPoll is the delay before poll n+1, after n polls of which the last
// took rtt from request to answer: first doubled n times, less up to a
// fifth by jitter in [0, 1) (so that the waits of one apply spread out),
// and at most the cap, never below first.
//
// The cap is maxPoll when set. Otherwise it is what keeps a task's end seen
// within waitBudget: a task that ends just after the server read its status
// for poll n is seen when the answer to poll n+1 is in, at most two round
// trips and the delay later; so the delay is at most waitBudget less two
// round trips and waitMargin (100 ms at 20 ms a request). Where the round
// trips alone use up the budget, the polls follow each other at first.
func nextPoll(n int, rtt, first, maxPoll time.Duration, jitter float64) time.Duration {
	limit := maxPoll
	if limit <= 0 {
		limit = waitBudget - 2*rtt - waitMargin
	}
	d := first
	for i := 0; i < n && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	d -= time.Duration(float64(d) * 0.2 * jitter)
	return max(d, first)
}

// taskOutcome turns the exit status of a stopped task into its result.
func (c *Client) taskOutcome(ctx context.Context, u upid, upidText, taskPath, exit string, lines int) (*TaskResult, error) {
	res := &TaskResult{UPID: upidText, Node: u.node, Type: u.typ, ID: u.id, ExitStatus: exit}
	if exit == "OK" {
		return res, nil
	}
	if n, ok := parseWarnings(exit); ok {
		res.Warnings = n
		res.LogTail = c.taskLogTail(ctx, taskPath, lines)
		return res, nil
	}
	return nil, &TaskError{
		UPID:       upidText,
		Node:       u.node,
		Type:       u.typ,
		ExitStatus: exit,
		LogTail:    c.taskLogTail(ctx, taskPath, lines),
	}
}

// parseWarnings reads n of the exit status "WARNINGS: n".
func parseWarnings(exit string) (int, bool) {
	rest, ok := strings.CutPrefix(exit, "WARNINGS: ")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSpace(rest))
	return n, err == nil
}

// taskLogTail returns the last n lines of a task's log. PVE's answer
// carries the total line count beside the data, so a short log takes one
// request and a long one two. The tail only decorates a result or error,
// so failing to read it is logged, not returned.
func (c *Client) taskLogTail(ctx context.Context, taskPath string, n int) []string {
	lines, total, err := c.taskLog(ctx, taskPath, 0, n)
	if err == nil && total > n {
		lines, _, err = c.taskLog(ctx, taskPath, total-n, n)
	}
	if err != nil {
		tflog.Warn(ctx, "could not read the task log", map[string]any{"task_path": taskPath, "error": err.Error()})
		return nil
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines
}

// taskLog reads limit lines of a task log from line start (0-based), and
// the log's total line count.
func (c *Client) taskLog(ctx context.Context, taskPath string, start, limit int) ([]string, int, error) {
	var env struct {
		Data []struct {
			N int    `json:"n"`
			T string `json:"t"`
		} `json:"data"`
		Total int `json:"total"`
	}
	q := url.Values{"start": {strconv.Itoa(start)}, "limit": {strconv.Itoa(limit)}}
	if err := c.send(ctx, http.MethodGet, taskPath+"/log", q, &env); err != nil {
		return nil, 0, err
	}
	lines := make([]string, len(env.Data))
	for i, l := range env.Data {
		lines[i] = l.T
	}
	return lines, env.Total, nil
}

// upid is what the provider needs of a task ID,
// UPID:node:pid:pstart:starttime:type:id:user:
type upid struct {
	node, typ, id string
}

// upidPattern is PVE's own (PVE::Tools::upid_decode).
var upidPattern = regexp.MustCompile(
	`^UPID:([a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:\s]+):([^:\s]*):([^:\s]+):$`)

// parseUPID decodes a task ID.
func parseUPID(s string) (upid, error) {
	if s == "" {
		return upid{}, errors.New("invalid task ID: empty UPID")
	}
	m := upidPattern.FindStringSubmatch(s)
	if m == nil {
		//lint:ignore ST1005 the form it names ends with a colon
		return upid{}, fmt.Errorf("invalid task ID %q: expected UPID:node:pid:pstart:starttime:type:id:user:", s)
	}
	return upid{node: m[1], typ: m[5], id: m[6]}, nil
}

// TaskSummary is one entry of a node's task list.
type TaskSummary struct {
	UPID      string `json:"upid"`
	Type      string `json:"type"`
	ID        string `json:"id"`
	User      string `json:"user"`
	Status    string `json:"status"` // "OK", an error, or empty while running
	StartTime int64  `json:"starttime"`
	EndTime   int64  `json:"endtime"`
}

// NodeTasks lists a node's tasks, running and finished, newest first;
// typ filters by task type ("srvreload", "qmstart", ...; "" for all).
func (c *Client) NodeTasks(ctx context.Context, node, typ string) ([]TaskSummary, error) {
	q := url.Values{"source": {"all"}, "limit": {"1000"}}
	if typ != "" {
		q.Set("typefilter", typ)
	}
	var out []TaskSummary
	if err := c.Get(ctx, "/nodes/"+url.PathEscape(node)+"/tasks", q, &out); err != nil {
		return nil, err
	}
	return out, nil
}
