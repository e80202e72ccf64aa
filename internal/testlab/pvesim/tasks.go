package pvesim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/pveschema"
)

// Tasks (workers) as PVE runs them: a UPID names each one, its status is
// "running" until it ends, then "stopped" with an exit status of "OK",
// "WARNINGS: n" or the error, and its log ends with "TASK OK", "TASK
// WARNINGS: n" or "TASK ERROR: <error>". A task's state is computed from
// the clock when asked, so no goroutine runs per task.

// exitInterrupted is the exit status of a task stopped through the API: the
// worker dies on SIGTERM with this message.
const exitInterrupted = "interrupted by signal"

// upidRE is PVE::Tools::upid_decode's pattern.
var upidRE = regexp.MustCompile(`^UPID:([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:\s]+):([^:\s]*):([^:\s]+):$`)

// task is one worker.
type task struct {
	upid     string
	node     string
	pid      int
	pstart   int64
	start    time.Time
	typ      string
	id       string
	user     string
	duration time.Duration
	lines    []string // log lines the worker writes while it runs
	exit     string   // exit status when the worker ends by itself
	killedAt time.Time
}

// end is the time the task stops (or stopped).
func (t *task) end() time.Time {
	if !t.killedAt.IsZero() {
		return t.killedAt
	}
	return t.start.Add(t.duration)
}

func (t *task) running(now time.Time) bool { return now.Before(t.end()) }

// exitStatus is the exit status once stopped.
func (t *task) exitStatus() string {
	if !t.killedAt.IsZero() {
		return exitInterrupted
	}
	return t.exit
}

// log returns the lines of the task log at time now: the lines written so
// far, spread over the run time, and the final status line once stopped.
func (t *task) log(now time.Time) []string {
	at := now
	if !t.running(now) {
		at = t.end()
	}
	n := len(t.lines)
	if t.duration > 0 && at.Before(t.start.Add(t.duration)) {
		frac := float64(at.Sub(t.start)) / float64(t.duration)
		n = int(math.Ceil(frac * float64(len(t.lines))))
	}
	out := slices.Clone(t.lines[:n])
	if t.running(now) {
		return out
	}
	switch status := t.exitStatus(); {
	case status == "OK":
		out = append(out, "TASK OK")
	case strings.HasPrefix(status, "WARNINGS: "):
		out = append(out, "TASK "+status)
	default:
		out = append(out, "TASK ERROR: "+status)
	}
	return out
}

// info is the task as the API shows it (upid_decode plus state).
func (t *task) info(now time.Time, withState bool) map[string]any {
	m := map[string]any{
		"upid":      t.upid,
		"node":      t.node,
		"pid":       t.pid,
		"pstart":    t.pstart,
		"starttime": t.start.Unix(),
		"type":      t.typ,
		"id":        t.id,
		"user":      t.user,
	}
	if withState && !t.running(now) {
		m["endtime"] = t.end().Unix()
		m["status"] = t.exitStatus()
	}
	return m
}

// statusType classifies an exit status like upid_normalize_status_type.
func statusType(exit string, running bool) string {
	switch {
	case running || exit == "":
		return "unknown"
	case exit == "OK":
		return "ok"
	case strings.HasPrefix(exit, "WARNINGS: "):
		return "warning"
	}
	return "error"
}

// StartTask starts a task on node that runs for duration, writing logLines
// to its log, and returns its UPID. It ends with exit status "OK" unless a
// FailNextTasks fault applies. typ is the worker type (e.g. "qmcreate"), id
// the object it works on (e.g. "100", may be empty), user who started it.
func (p *PVE) StartTask(node, typ, id, user string, duration time.Duration, logLines []string) string {
	return p.startTask(node, typ, id, user, duration, logLines, nil)
}

// StartTaskWithWarnings starts a task like StartTask whose log also has a
// "WARN: ..." line per warning, and which ends with exit status
// "WARNINGS: n" and the log line "TASK WARNINGS: n", as PVE workers that
// logged warnings do.
func (p *PVE) StartTaskWithWarnings(node, typ, id, user string, duration time.Duration, logLines, warnings []string) string {
	return p.startTask(node, typ, id, user, duration, logLines, warnings)
}

func (p *PVE) startTask(node, typ, id, user string, duration time.Duration, logLines, warnings []string) string {
	t := &task{
		node:     node,
		typ:      typ,
		id:       id,
		user:     user,
		duration: max(duration, 0),
		lines:    slices.Clone(logLines),
		exit:     "OK",
	}
	for _, w := range warnings {
		t.lines = append(t.lines, "WARN: "+w)
	}
	if len(warnings) > 0 {
		t.exit = fmt.Sprintf("WARNINGS: %d", len(warnings))
	}
	if exit, ok := p.faults.TaskFailure(t.typ); ok {
		t.exit = dieStatus(exit)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.spawnLocked(t, time.Now())
	return t.upid
}

// dieStatus is the exit status of a worker that died with msg: PVE writes
// the message on one line.
func dieStatus(msg string) string {
	return strings.ReplaceAll(strings.TrimRight(msg, "\n"), "\n", " ")
}

// spawnLocked starts t at now: it gives the task its PID and UPID and
// records it. The caller holds p.mu and has set node, typ, id, user,
// duration, lines and exit.
func (p *PVE) spawnLocked(t *task, now time.Time) {
	if p.lastPID == 0 {
		p.lastPID = 100000 + rand.IntN(900000)
	}
	p.lastPID += 1 + rand.IntN(40)
	t.pid = p.lastPID
	t.start = now
	boot := now.Add(-time.Hour)
	if n := p.nodeLocked(t.node); n != nil {
		boot = n.Boot()
	}
	t.pstart = int64(now.Sub(boot).Seconds() * userHZ)
	t.upid = fmt.Sprintf("UPID:%s:%08X:%08X:%08X:%s:%s:%s:", t.node, t.pid, t.pstart, now.Unix(), t.typ, t.id, t.user)
	p.tasks[t.upid] = t
}

// taskOn returns the task of a UPID on node, or PVE's parameter error:
// each node only knows its own tasks.
func (p *PVE) taskOn(node, upid string) (*task, error) {
	if !upidRE.MatchString(upid) {
		return nil, ParamError(map[string]string{"upid": "unable to parse worker upid"})
	}
	p.mu.Lock()
	t := p.tasks[upid]
	p.mu.Unlock()
	if t == nil || t.node != node {
		return nil, nil
	}
	return t, nil
}

// existingTask is the task a status or stop request names; PVE answers
// "no such task" for a well-formed UPID it does not know.
func (p *PVE) existingTask(r *Request) (*task, error) {
	t, err := p.taskOn(r.PathParams["node"], r.PathParams["upid"])
	if err == nil && t == nil {
		err = ParamError(map[string]string{"upid": "no such task"})
	}
	return t, err
}

func (p *PVE) registerTaskRoutes() {
	p.Handle(http.MethodGet, "/nodes/{node}/tasks", p.listTasks)
	p.Handle(http.MethodGet, "/nodes/{node}/tasks/{upid}", func(*Request) (any, error) {
		return []map[string]any{{"name": "log"}, {"name": "status"}}, nil
	})
	p.Handle(http.MethodGet, "/nodes/{node}/tasks/{upid}/status", p.taskStatus)
	p.Handle(http.MethodGet, "/nodes/{node}/tasks/{upid}/log", p.taskLog)
	p.Handle(http.MethodDelete, "/nodes/{node}/tasks/{upid}", p.stopTask, WithoutConfigLock(), WithoutQuorum())
}

// listTasks serves GET /nodes/{node}/tasks (node_tasks).
func (p *PVE) listTasks(r *Request) (any, error) {
	node := r.PathParams["node"]
	start, err := r.Int("start", 0)
	if err != nil {
		return nil, err
	}
	limit, err := r.Int("limit", 0)
	if err != nil {
		return nil, err
	}
	if limit == 0 {
		limit = 50 // "$param->{limit} || 50"
	}
	vmid, _ := r.String("vmid")
	since, err := r.Int("since", 0)
	if err != nil {
		return nil, err
	}
	until, err := r.Int("until", 0)
	if err != nil {
		return nil, err
	}
	userFilter, _ := r.String("userfilter")
	typeFilter, _ := r.String("typefilter")
	source, ok := r.String("source")
	if !ok {
		source = "archive"
	}
	var statusFilter []string
	if sf, ok := r.String("statusfilter"); ok {
		for _, s := range pveschema.SplitList(sf) {
			statusFilter = append(statusFilter, strings.ToLower(s))
		}
	}
	onlyErrors := r.Bool("errors", false)

	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.settleLocked(now)
	var all []*task
	for _, t := range p.tasks {
		if t.node == node {
			all = append(all, t)
		}
	}
	slices.SortFunc(all, func(a, b *task) int {
		if c := b.start.Compare(a.start); c != 0 {
			return c
		}
		return strings.Compare(b.upid, a.upid)
	})

	var out []map[string]any
	count := int64(0)
	for _, t := range all {
		running := t.running(now)
		switch {
		case source == "archive" && running, source == "active" && !running:
			continue
		case userFilter != "" && !strings.Contains(strings.ToLower(t.user), strings.ToLower(userFilter)):
			continue
		case typeFilter != "" && t.typ != typeFilter:
			continue
		case vmid != "" && t.id != vmid:
			continue
		case since != 0 && t.start.Unix() < since, until != 0 && t.start.Unix() > until:
			continue
		case onlyErrors && !running && t.exitStatus() == "OK":
			continue
		case statusFilter != nil && !slices.Contains(statusFilter, statusType(t.exitStatus(), running)):
			continue
		}
		count++
		if count <= start || int64(len(out)) >= limit {
			continue
		}
		out = append(out, t.info(now, true))
	}
	if out == nil {
		out = []map[string]any{}
	}
	return Listing{Data: out, Total: int(count)}, nil
}

// taskStatus serves GET /nodes/{node}/tasks/{upid}/status (read_task_status).
func (p *PVE) taskStatus(r *Request) (any, error) {
	t, err := p.existingTask(r)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.settleLocked(now)
	res := t.info(now, false)
	if t.running(now) {
		res["status"] = "running"
	} else {
		res["status"] = "stopped"
		res["exitstatus"] = t.exitStatus()
	}
	return res, nil
}

// taskLog serves GET /nodes/{node}/tasks/{upid}/log (read_task_log).
func (p *PVE) taskLog(r *Request) (any, error) {
	t, err := p.taskOn(r.PathParams["node"], r.PathParams["upid"])
	if err != nil {
		return nil, err
	}
	start, err := r.Int("start", 0)
	if err != nil {
		return nil, err
	}
	limit, err := r.Int("limit", 0)
	if err != nil {
		return nil, err
	}
	if limit == 0 {
		limit = 50
	}
	if t == nil {
		// dump_logfile cannot open the log file
		return Listing{Data: []map[string]any{{"n": 1, "t": "unable to open file - No such file or directory"}}, Total: 1}, nil
	}
	p.mu.Lock()
	now := time.Now()
	p.settleLocked(now)
	lines := t.log(now)
	p.mu.Unlock()
	out := []map[string]any{}
	count := int64(0)
	for _, line := range lines {
		count++
		if count <= start || int64(len(out)) >= limit {
			continue
		}
		out = append(out, map[string]any{"n": count, "t": line})
	}
	if count == 0 {
		count = 1
		out = append(out, map[string]any{"n": 1, "t": "no content"})
	}
	return Listing{Data: out, Total: int(count)}, nil
}

// stopTask serves DELETE /nodes/{node}/tasks/{upid} (stop_task).
func (p *PVE) stopTask(r *Request) (any, error) {
	t, err := p.existingTask(r)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	p.mu.Lock()
	if t.running(now) {
		t.killedAt = now
	}
	p.mu.Unlock()
	return nil, nil
}
