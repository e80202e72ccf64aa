package pbssim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Worker tasks as proxmox-rest-server runs them (worker_task.rs): a UPID
//
//	UPID:{node}:{pid:08X}:{pstart:08X}:{task_id:08X}:{starttime:08X}:{type}:{id}:{authid}:
//
// (the worker ID escaped like a systemd unit name), a log whose lines start
// with the RFC 3339 time they were written and which ends with "TASK OK",
// "TASK WARNINGS: n" or "TASK ERROR: <message>", and a state read back
// from that last line (upid_read_status): a multi-line error leaves a last
// line without a time, which reads as "unknown" - PBS's own behaviour.
// Effects of a worker (a datastore in datastore.cfg, a removed chunk
// store) happen when it ends.

// task is one worker.
type task struct {
	upid     string
	taskID   int
	start    time.Time
	wtype    string
	wid      string
	auth     string
	duration time.Duration
	msgs     []string // messages the worker logs while it runs
	errMsg   string   // the error it ends with ("" for success)
	effect   func()   // applied when it ends without error (Server.mu held)
	done     bool
	// holdsLock: the worker holds the datastore.cfg lock while it runs.
	holdsLock bool
}

func (t *task) end() time.Time { return t.start.Add(t.duration) }

func (t *task) running(now time.Time) bool { return now.Before(t.end()) }

// timeFormat is proxmox_time::epoch_to_rfc3339: local time with offset.
const timeFormat = "2006-01-02T15:04:05-07:00"

// logLines is the task log at now: the messages written so far, spread
// over the run time, and the result line once the worker ended.
func (t *task) logLines(now time.Time) []string {
	var out []string
	add := func(at time.Time, msg string) {
		out = append(out, strings.Split(at.Format(timeFormat)+": "+msg, "\n")...)
	}
	for i, m := range t.msgs {
		at := t.start.Add(t.duration * time.Duration(i) / time.Duration(len(t.msgs)+1))
		if t.running(now) && at.After(now) {
			break
		}
		add(at, m)
	}
	if t.running(now) {
		return out
	}
	if t.errMsg != "" {
		add(t.end(), "TASK ERROR: "+t.errMsg)
	} else {
		add(t.end(), "TASK OK")
	}
	// the file ends with the message's own trailing newline(s)
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return out
}

// state is upid_read_status on the finished log: the end time and the
// status text ("OK", "WARNINGS: n", the error message or "unknown").
func (t *task) state() (int64, string) {
	lines := t.logLines(t.end())
	last := lines[len(lines)-1]
	endtime := t.start.Unix()
	ts, rest, ok := strings.Cut(last, ": ")
	if !ok {
		return endtime, "unknown"
	}
	parsed, err := time.Parse(timeFormat, ts)
	if err != nil {
		return endtime, "unknown"
	}
	endtime = parsed.Unix()
	rest, ok = strings.CutPrefix(rest, "TASK ")
	if !ok || rest == "" {
		return endtime, "unknown"
	}
	if msg, ok := strings.CutPrefix(rest, "ERROR: "); ok {
		return endtime, msg
	}
	return endtime, rest
}

// statusType is the TaskStateType of a status text.
func statusType(status string) string {
	switch {
	case status == "OK":
		return "ok"
	case status == "unknown":
		return "unknown"
	case strings.HasPrefix(status, "WARNINGS: "):
		return "warning"
	}
	return "error"
}

// escapeUPIDID is upid.rs escape_id: systemd unit name escaping.
func escapeUPIDID(id string) string {
	var b strings.Builder
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c == '/':
			b.WriteByte('-')
		case (i == 0 && c == '.') || !(c == '_' || c == '.' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')):
			fmt.Fprintf(&b, "\\x%02x", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// spawnTaskLocked starts a worker; a FailNextTasks fault makes it fail.
// The caller holds s.mu.
func (s *Server) spawnTaskLocked(wtype, wid, auth string, msgs []string, errMsg string, effect func(), holdsLock bool) *task {
	now := time.Now()
	if exit, ok := s.faults.TaskFailure(wtype); ok {
		errMsg, effect = exit, nil
	}
	if s.nextTaskID == 0 {
		s.nextTaskID = 16 + rand64(64)
	}
	t := &task{
		taskID: s.nextTaskID, start: now, wtype: wtype, wid: wid, auth: auth,
		duration: s.taskTime, msgs: msgs, errMsg: errMsg, effect: effect, holdsLock: holdsLock,
	}
	s.nextTaskID++
	t.upid = fmt.Sprintf("UPID:%s:%08X:%08X:%08X:%08X:%s:%s:%s:", s.hostname, s.pid, s.pstart, t.taskID, now.Unix(), wtype, escapeUPIDID(wid), auth)
	s.tasks = append(s.tasks, t)
	return t
}

func rand64(n int) int { return int(time.Now().UnixNano() % int64(n)) }

// settleLocked applies the effects of workers that have ended.
func (s *Server) settleLocked(now time.Time) {
	for _, t := range s.tasks {
		if t.done || t.running(now) {
			continue
		}
		t.done = true
		if t.errMsg == "" && t.effect != nil {
			t.effect()
		}
	}
}

// waitConfigLock waits, like lock_config does, until no worker holds the
// datastore.cfg lock, and returns with s.mu held and the effects of ended
// workers applied. A SetLockContention fault makes it fail as the lock
// timeout does.
func (s *Server) waitConfigLock() error {
	if s.faults.LockTimeout() {
		// Guessed: proxmox-sys open_file_locked's timeout, EINTR from the alarm.
		return fmt.Errorf("Unable to acquire lock %q - EINTR: Interrupted system call", "/etc/proxmox-backup/.datastore.lck")
	}
	for {
		s.mu.Lock()
		now := time.Now()
		s.settleLocked(now)
		var until time.Time
		for _, t := range s.tasks {
			if t.holdsLock && t.running(now) && t.end().After(until) {
				until = t.end()
			}
		}
		if until.IsZero() {
			return nil
		}
		s.mu.Unlock()
		time.Sleep(time.Until(until) + time.Millisecond)
	}
}

var upidRE = regexp.MustCompile(`^UPID:([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8,16}):([0-9A-Fa-f]{8}):([^:\s]+):([^:\s]*):([^:\s]+):$`)

func (s *Server) registerTaskRoutes() {
	s.routes.handle(http.MethodGet, "/nodes", func(*request) (any, error) {
		return []map[string]any{{"node": s.hostname}}, nil
	}, false)
	s.routes.handle(http.MethodGet, "/nodes/{node}/tasks", s.listTasks, false)
	s.routes.handle(http.MethodGet, "/nodes/{node}/tasks/{upid}", func(*request) (any, error) {
		return []map[string]any{{"subdir": "log"}, {"subdir": "status"}}, nil
	}, false)
	s.routes.handle(http.MethodGet, "/nodes/{node}/tasks/{upid}/status", s.taskStatus, false)
	s.routes.handle(http.MethodGet, "/nodes/{node}/tasks/{upid}/log", s.taskLog, false)
	s.routes.handle(http.MethodDelete, "/nodes/{node}/tasks/{upid}", s.stopTask, false)
}

// parseUPID is UPID's FromStr: the fields of a well-formed UPID.
func parseUPID(upid string) (map[string]any, error) {
	m := upidRE.FindStringSubmatch(upid)
	if m == nil {
		return nil, fmt.Errorf("unable to parse UPID '%s'", upid)
	}
	hexInt := func(s string) int64 { n, _ := strconv.ParseInt(s, 16, 64); return n }
	var id any
	if m[8] != "" {
		id = unescapeUPIDID(m[8])
	}
	return map[string]any{
		"node": m[1], "pid": hexInt(m[3]), "pstart": hexInt(m[4]), "task_id": hexInt(m[5]),
		"starttime": hexInt(m[6]), "type": m[7], "id": id, "authid": m[9],
	}, nil
}

func unescapeUPIDID(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+3 < len(s) && s[i+1] == 'x':
			n, err := strconv.ParseUint(s[i+2:i+4], 16, 8)
			if err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
			b.WriteByte(s[i])
		case s[i] == '-':
			b.WriteByte('/')
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

func (s *Server) taskByUPID(upid string) *task {
	for _, t := range s.tasks {
		if t.upid == upid {
			return t
		}
	}
	return nil
}

// taskStatus serves GET /nodes/{node}/tasks/{upid}/status. A well-formed
// UPID of no known worker reads as stopped with status "unknown", as PBS
// answers for a task whose log it cannot read.
func (s *Server) taskStatus(r *request) (any, error) {
	upid, _ := r.str("upid")
	f, err := parseUPID(upid)
	if err != nil {
		return nil, err
	}
	user, tokenName, isToken := strings.Cut(f["authid"].(string), "!")
	res := map[string]any{
		"upid": upid, "node": f["node"], "pid": f["pid"], "pstart": f["pstart"], "starttime": f["starttime"],
		"type": f["type"], "id": f["id"], "user": user,
	}
	if isToken {
		res["tokenid"] = tokenName
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	s.settleLocked(now)
	t := s.taskByUPID(upid)
	switch {
	case t != nil && t.running(now):
		res["status"] = "running"
	case t != nil:
		_, st := t.state()
		res["status"], res["exitstatus"] = "stopped", st
	default:
		res["status"], res["exitstatus"] = "stopped", "unknown"
	}
	return res, nil
}

// taskLog serves GET /nodes/{node}/tasks/{upid}/log (read_task_log): the
// answer is written by the handler, {"data": [...], "total": n,
// "success": 1}, with Content-Type application/json.
func (s *Server) taskLog(r *request) (any, error) {
	upid, _ := r.str("upid")
	if _, err := parseUPID(upid); err != nil {
		return nil, err
	}
	s.mu.Lock()
	now := time.Now()
	s.settleLocked(now)
	t := s.taskByUPID(upid)
	var lines []string
	var active bool
	if t != nil {
		lines = t.logLines(now)
		active = t.running(now)
	}
	s.mu.Unlock()
	if t == nil {
		return nil, fmt.Errorf("No such file or directory (os error 2)")
	}
	if r.boolean("download", false) {
		if _, ok := r.Params["start"]; ok {
			return nil, fmt.Errorf("Parameter 'download' cannot be used with other parameters")
		}
		return &rawResponse{ctype: "text/plain", body: []byte(strings.Join(lines, "\n") + "\n")}, nil
	}
	start, _ := r.integer("start")
	limit, ok := r.integer("limit")
	if !ok {
		limit = 50
	}
	all := limit == 0
	out := []map[string]any{}
	count := int64(0)
	for _, l := range lines {
		count++
		if count < start {
			continue
		}
		if !all {
			if limit == 0 {
				continue
			}
			limit--
		}
		out = append(out, map[string]any{"n": count, "t": l})
	}
	body := map[string]any{"data": out, "total": count, "success": 1}
	if r.boolean("test-status", false) {
		body["active"] = active
	}
	raw, _ := json.Marshal(body)
	return &rawResponse{ctype: "application/json", body: raw}, nil
}

// stopTask serves DELETE /nodes/{node}/tasks/{upid}. The workers of the
// simulator do not check for abort requests (nor do PBS's datastore
// workers), so the request has no effect.
func (s *Server) stopTask(r *request) (any, error) {
	upid, _ := r.str("upid")
	if _, err := parseUPID(upid); err != nil {
		return nil, err
	}
	return nil, nil
}

// taskOfStore is check_job_store: whether a job's worker ran on store.
// Other workers (create-datastore, ...) match no store.
func taskOfStore(t *task, store string) bool {
	switch {
	case strings.HasPrefix(t.wtype, "verif"):
		return t.wid == store || strings.HasPrefix(t.wid, store+":")
	case t.wtype == "prune", t.wtype == "prunejob", t.wtype == "backup", t.wtype == "garbage_collection":
		return t.wid == store || strings.HasPrefix(t.wid, store+":")
	}
	return false
}

// listTasks serves GET /nodes/{node}/tasks: running workers first, then
// the finished ones by end time, newest first.
func (s *Server) listTasks(r *request) (any, error) {
	start, _ := r.integer("start")
	limit, ok := r.integer("limit")
	if !ok {
		limit = 50
	}
	if limit <= 0 {
		limit = 1 << 62
	}
	running := r.boolean("running", false)
	errorsOnly := r.boolean("errors", false)
	user, hasUser := r.str("userfilter")
	typ, hasType := r.str("typefilter")
	store, hasStore := r.str("store")
	since, hasSince := r.integer("since")
	until, hasUntil := r.integer("until")
	var statusFilter []string
	if l, ok := r.Params["statusfilter"].([]any); ok {
		for _, v := range l {
			statusFilter = append(statusFilter, fmt.Sprint(v))
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	s.settleLocked(now)
	var active, finished []*task
	for _, t := range s.tasks {
		if t.running(now) {
			active = append(active, t)
		} else {
			finished = append(finished, t)
		}
	}
	slices.SortStableFunc(active, func(a, b *task) int { return b.start.Compare(a.start) })
	slices.SortStableFunc(finished, func(a, b *task) int { return b.end().Compare(a.end()) })
	list := active
	if !running {
		list = append(list, finished...)
	}
	out := []map[string]any{}
	skipped := int64(0)
	for _, t := range list {
		isRunning := t.running(now)
		var endtime int64
		status := ""
		if !isRunning {
			endtime, status = t.state()
		}
		if hasUntil && t.start.Unix() > until {
			continue
		}
		if hasSince {
			if !isRunning && endtime < since {
				break
			}
			if t.start.Unix() < since {
				continue
			}
		}
		if hasUser && !strings.Contains(t.auth, user) {
			continue
		}
		if hasStore && !taskOfStore(t, store) {
			continue
		}
		if hasType && !strings.Contains(t.wtype, typ) {
			continue
		}
		if !isRunning && errorsOnly && status == "OK" {
			continue
		}
		if statusFilter != nil && (isRunning || !slices.Contains(statusFilter, statusType(status))) {
			continue
		}
		if skipped < start {
			skipped++
			continue
		}
		e := map[string]any{
			"upid": t.upid, "node": taskListNode, "pid": s.pid, "pstart": s.pstart, "starttime": t.start.Unix(),
			"worker_type": t.wtype, "worker_id": t.wid, "user": t.auth,
		}
		if t.wid == "" {
			e["worker_id"] = nil
		}
		if !isRunning {
			e["endtime"], e["status"] = endtime, status
		}
		out = append(out, e)
		if int64(len(out)) >= limit {
			break
		}
	}
	count := int64(len(out)) + start
	if len(out) > 0 && int64(len(out)) >= limit {
		count++
	}
	r.attrs["total"] = count
	return out, nil
}
