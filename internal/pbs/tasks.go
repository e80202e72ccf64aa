package pbs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/hcilab/terraform-provider-pve/internal/apiclient"
)

// Defaults of WaitOptions.
const (
	defaultFirstPoll = 100 * time.Millisecond
	defaultMaxPoll   = 2 * time.Second
	defaultLogLines  = 10
)

// UPID is a PBS task ID, as proxmox-schema writes it:
//
//	UPID:{node}:{pid:08X}:{pstart:08X}:{task_id:08X}:{starttime:08X}:{worker_type}:{worker_id}:{auth_id}:
//
// pstart may have 9 hex digits (a process started after 497 days of
// uptime), task_id up to 16. The worker ID is escaped as systemd escapes
// unit names: '/' becomes '-', and every byte other than letters, digits,
// '_' and '.' (and a leading '.') becomes \xNN.
type UPID struct {
	Node       string
	PID        uint32
	PStart     uint64 // process start time, in clock ticks since boot
	TaskID     uint64 // task counter inside the process
	StartTime  int64  // task start, Unix seconds
	WorkerType string // e.g. "create-datastore", "garbage_collection"
	WorkerID   string // unescaped, e.g. a datastore name; may be empty
	AuthID     string // who started the task: user@realm or user@realm!token
}

// upidPattern is PROXMOX_UPID_REGEX of proxmox-schema.
var upidPattern = regexp.MustCompile(
	`^UPID:([a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8,16}):([0-9A-Fa-f]{8}):([^:\s]+):([^:\s]*):([^:\s]+):$`)

// ParseUPID decodes a task ID.
func ParseUPID(s string) (UPID, error) {
	if s == "" {
		return UPID{}, errors.New("invalid task ID: empty UPID")
	}
	m := upidPattern.FindStringSubmatch(s)
	if m == nil {
		//lint:ignore ST1005 the form it names ends with a colon
		return UPID{}, fmt.Errorf("invalid task ID %q: expected UPID:node:pid:pstart:task_id:starttime:type:id:authid:", s)
	}
	pid, _ := strconv.ParseUint(m[2], 16, 32)
	pstart, _ := strconv.ParseUint(m[3], 16, 64)
	taskID, err := strconv.ParseUint(m[4], 16, 64)
	if err != nil {
		return UPID{}, fmt.Errorf("invalid task ID %q: task_id: %w", s, err)
	}
	start, _ := strconv.ParseInt(m[5], 16, 64)
	wid, err := unescapeWorkerID(m[7])
	if err != nil {
		return UPID{}, fmt.Errorf("invalid task ID %q: worker ID: %w", s, err)
	}
	return UPID{
		Node: m[1], PID: uint32(pid), PStart: pstart, TaskID: taskID, StartTime: start,
		WorkerType: m[6], WorkerID: wid, AuthID: m[8],
	}, nil
}

// String renders the UPID as PBS does.
func (u UPID) String() string {
	return fmt.Sprintf("UPID:%s:%08X:%08X:%08X:%08X:%s:%s:%s:",
		u.Node, u.PID, u.PStart, u.TaskID, uint32(u.StartTime), u.WorkerType, escapeWorkerID(u.WorkerID), u.AuthID)
}

// escapeWorkerID is proxmox-schema's escape_id (systemd unit name escaping
// without the path rules).
func escapeWorkerID(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '/':
			b.WriteByte('-')
		case (i == 0 && c == '.') || !(c == '_' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'):
			fmt.Fprintf(&b, `\x%02x`, c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// unescapeWorkerID is proxmox-schema's unescape_id.
func unescapeWorkerID(s string) (string, error) {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		switch c := s[i]; c {
		case '\\':
			if i+4 > len(s) || s[i+1] != 'x' {
				return "", errors.New("error in escape sequence")
			}
			v, err := strconv.ParseUint(s[i+2:i+4], 16, 8)
			if err != nil || strings.ContainsAny(s[i+2:i+4], "+-") {
				return "", errors.New("got invalid hex digit")
			}
			out = append(out, byte(v))
			i += 4
		case '-':
			out = append(out, '/')
			i++
		default:
			out = append(out, c)
			i++
		}
	}
	if !utf8.Valid(out) {
		return "", errors.New("not valid UTF-8")
	}
	return string(out), nil
}

// WaitOptions tune task waiting. Zero fields take the defaults.
type WaitOptions struct {
	FirstPoll time.Duration // delay before the first status poll; default 100 ms
	MaxPoll   time.Duration // longest delay between polls; default 2 s
	LogLines  int           // log lines kept on warnings and failures; default 10
}

func (o WaitOptions) withDefaults() WaitOptions {
	if o.FirstPoll <= 0 {
		o.FirstPoll = defaultFirstPoll
	}
	if o.MaxPoll <= 0 {
		o.MaxPoll = defaultMaxPoll
	}
	o.MaxPoll = max(o.MaxPoll, o.FirstPoll)
	if o.LogLines <= 0 {
		o.LogLines = defaultLogLines
	}
	return o
}

// TaskResult is a task that ended with "OK" or "WARNINGS: n".
type TaskResult struct {
	UPID       UPID
	ExitStatus string // "OK" or "WARNINGS: n"
	Warnings   int    // n of "WARNINGS: n"
	LogTail    []string
}

// TaskError is a task that failed: its exit status is neither "OK" nor
// "WARNINGS: n". PBS's exit status of a failed task is the task's error
// message itself (e.g. "unable to create chunk store ... - EEXIST: File
// exists"); "unknown" when PBS lost track of the task. It matches
// ErrConflict and ErrLocked as an *APIError with the same message would.
type TaskError struct {
	UPID       UPID
	ExitStatus string   // PBS's error message
	LogTail    []string // the last lines of the task log

	upid string // the UPID as PBS wrote it, for the message
}

// Error renders the task type, the exit status, then the log tail line by
// line, without the log's last "TASK ERROR: ..." line, which repeats the
// exit status.
func (e *TaskError) Error() string {
	status := e.ExitStatus
	if status == "" {
		status = "no exit status"
	}
	upid := e.upid
	if upid == "" {
		upid = e.UPID.String()
	}
	msg := fmt.Sprintf("task %s (%s) failed: %s", upid, e.UPID.WorkerType, status)
	tail := e.LogTail
	if n := len(tail); n > 0 && strings.TrimSpace(tail[n-1]) == "TASK ERROR: "+e.ExitStatus {
		tail = tail[:n-1]
	}
	if len(tail) > 0 {
		msg += "\n" + strings.Join(tail, "\n")
	}
	return msg
}

// Is maps the failure onto ErrConflict and ErrLocked.
func (e *TaskError) Is(target error) bool {
	msg := strings.ToLower(e.ExitStatus)
	switch target {
	case ErrConflict:
		return conflictMessage(msg)
	case ErrLocked:
		return lockedMessage(msg)
	}
	return false
}

// WaitTask waits until the task upid stops, with the client's WaitOptions,
// and returns nil if it ended "OK" or "WARNINGS: n" (warnings count as
// success), a *TaskError otherwise.
func (c *Client) WaitTask(ctx context.Context, upid string) error {
	_, err := c.WaitTaskResult(ctx, upid, c.wait)
	return err
}

// WaitTaskResult waits until the task upid stops. The status is polled
// first after opts.FirstPoll, then at intervals growing 1.5 to 2 times up
// to opts.MaxPoll. A task that ends "OK" or "WARNINGS: n" gives a result
// (with the log tail for warnings); any other end gives a *TaskError with
// the exit status and log tail. When ctx ends first, the error wraps
// ctx.Err() and names the task, which may still be running.
func (c *Client) WaitTaskResult(ctx context.Context, upid string, opts WaitOptions) (*TaskResult, error) {
	u, err := ParseUPID(upid)
	if err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	// the task changed what lists read before it ended show
	defer c.lists.invalidate()
	// PBS has one node, and its own clients (web interface,
	// proxmox-backup-client) address it as "localhost", whatever its name.
	taskPath := "/nodes/localhost/tasks/" + pathEscape(upid)

	delay := opts.FirstPoll
	for {
		if err := apiclient.Sleep(ctx, delay); err != nil {
			return nil, stoppedWaiting(upid, err)
		}
		var st struct {
			Status     string `json:"status"`
			ExitStatus string `json:"exitstatus"`
		}
		if err := c.Get(ctx, taskPath+"/status", nil, &st); err != nil {
			if cerr := ctx.Err(); cerr != nil {
				return nil, stoppedWaiting(upid, cerr)
			}
			return nil, fmt.Errorf("read status of task %s: %w", upid, err)
		}
		if st.Status == "stopped" {
			return c.taskOutcome(ctx, u, upid, taskPath, st.ExitStatus, opts.LogLines)
		}
		delay = nextPoll(delay, opts.MaxPoll, rand.Float64())
	}
}

func stoppedWaiting(upid string, err error) error {
	return fmt.Errorf("stopped waiting for task %s, which may still be running: %w", upid, err)
}

// nextPoll grows a poll interval 1.5 to 2 times (by jitter in [0, 1)), up to
// maxPoll.
func nextPoll(d, maxPoll time.Duration, jitter float64) time.Duration {
	return min(time.Duration(float64(d)*(1.5+jitter/2)), maxPoll)
}

// taskOutcome turns the exit status of a stopped task into its result.
func (c *Client) taskOutcome(ctx context.Context, u UPID, upid, taskPath, exit string, lines int) (*TaskResult, error) {
	res := &TaskResult{UPID: u, ExitStatus: exit}
	if exit == "OK" {
		return res, nil
	}
	if n, ok := parseWarnings(exit); ok {
		res.Warnings = n
		res.LogTail = c.taskLogTail(ctx, taskPath, lines)
		return res, nil
	}
	return nil, &TaskError{UPID: u, ExitStatus: exit, LogTail: c.taskLogTail(ctx, taskPath, lines), upid: upid}
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

// taskLogTail returns the last n lines of a task's log. PBS's answer
// carries the total line count beside the data, so a short log takes one
// request and a long one two. The tail only decorates a result or error,
// so failing to read it is logged, not returned.
func (c *Client) taskLogTail(ctx context.Context, taskPath string, n int) []string {
	lines, total, err := c.taskLog(ctx, taskPath, 0, n)
	if err == nil && total > n {
		// PBS's start counts lines from 1: it skips the lines whose number
		// is below start (read_task_log), so start=0 and start=1 both begin
		// at the first line.
		lines, _, err = c.taskLog(ctx, taskPath, total-n+1, n)
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

// taskLog reads limit lines of a task log from line number start, and the
// log's total line count.
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

// waitForTaskData waits for the task whose UPID is the data of an answer,
// if there is one: PBS 4 answers some calls with a UPID where older
// versions (and the published schema) answer null.
func (c *Client) waitForTaskData(ctx context.Context, what string, data []byte) error {
	var upid string
	if len(data) == 0 || string(data) == "null" {
		return nil
	}
	if err := json.Unmarshal(data, &upid); err != nil || upid == "" {
		return nil
	}
	if err := c.WaitTask(ctx, upid); err != nil {
		return &AcceptedError{UPID: upid, Err: fmt.Errorf("%s: %w", what, err)}
	}
	return nil
}
