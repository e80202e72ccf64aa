package pvesim

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Workers that act on guests (VMs and containers). A worker first takes the config flocks it needs
// (/var/lock/qemu-server/lock-<vmid>.conf: shared or exclusive, with the
// timeout of the PVE code path), then does its work. The lab computes this
// from the clock: a task's "begin" runs when it gets its flocks, its
// "finish" when it ends (or is stopped). settleLocked runs what is due;
// every handler that reads lab state settles first, so what a client sees
// is what the workers would have done by now.

// flock is the state of one VM's config flock: held exclusively until
// excl, shared until shared.
type flock struct{ excl, shared time.Time }

// flockReq is a flock a worker takes (ct: a container's). An inherited
// flock was taken by the API call that forked the worker (it is free at
// the spawn): the worker holds it without waiting. A fresh flock is that
// of a guest whose config the same call has just created
// (create_and_lock_config, with "lock: create"): no other worker can hold
// it, so a lock-contention fault does not apply to it (it would leave a
// guest that real PVE cannot leave this way, its config stuck at "lock:
// create").
type flockReq struct {
	vmid      int
	shared    bool
	timeout   time.Duration
	ct        bool
	inherited bool
	fresh     bool
}

// Timeouts of PVE::AbstractConfig's lock_config (10 s) and the shorter
// lock_config_full calls of create (1 s in the worker, 5 s before it) and clone (1 s).
const (
	lockConfigTimeout = 10 * time.Second
	createLockTimeout = 5 * time.Second
	workerLockTimeout = 1 * time.Second
)

func flockMessage(vmid int, ct bool) string {
	return fmt.Sprintf("can't lock file '%s' - got timeout", lockFile(vmid, ct))
}

// vmOp is a worker acting on VMs.
type vmOp struct {
	task    *task
	startAt time.Time // when it holds its flocks
	begun   bool
	begin   func(at time.Time, w *worker)
	finish  func(ok bool, at time.Time)
}

// worker lets begin write to the task log and end it with an error or
// warnings.
type worker struct {
	t        *task
	warnings int
}

func (w *worker) log(lines ...string) { w.t.lines = append(w.t.lines, lines...) }

// warn logs a warning; the task ends with "WARNINGS: n" unless it fails.
func (w *worker) warn(msg string) {
	w.t.lines = append(w.t.lines, "WARN: "+strings.TrimRight(msg, "\n"))
	w.warnings++
	if !w.failed() {
		w.t.exit = fmt.Sprintf("WARNINGS: %d", w.warnings)
	}
}

// fail ends the task with the error a worker dies with.
func (w *worker) fail(msg string) { w.t.exit = dieStatus(msg) }

func (w *worker) failed() bool {
	return w.t.exit != "OK" && !strings.HasPrefix(w.t.exit, "WARNINGS: ")
}

// dieText is how an error reads when a worker dies with it: PVE::Exception
// stringification ("400 Parameter verification failed.\nkey: msg\n") for
// parameter errors, the message for plain dies.
func dieText(err error) string {
	var ae *APIError
	if !errors.As(err, &ae) {
		return err.Error()
	}
	if len(ae.Errors) == 0 {
		return ae.Message
	}
	msg := fmt.Sprintf("%d %s", ae.Status, ae.Message)
	for _, k := range slices.Sorted(maps.Keys(ae.Errors)) {
		v := ae.Errors[k]
		if !strings.HasSuffix(v, "\n") {
			v += "\n"
		}
		msg += k + ": " + v
	}
	return msg
}

func (p *PVE) flockOf(vmid int) *flock {
	f := p.flocks[vmid]
	if f == nil {
		f = &flock{}
		p.flocks[vmid] = f
	}
	return f
}

// flockFree is when a flock can be taken.
func (f *flock) free(shared bool) time.Time {
	if shared || f.shared.Before(f.excl) {
		return f.excl
	}
	return f.shared
}

// spawnVMTaskLocked starts a worker of type typ on node for id that takes
// locks, then works for work. begin runs when it holds the locks (not for a
// task that already failed, e.g. by a fault); finish when it has ended. The
// caller holds p.mu.
func (p *PVE) spawnVMTaskLocked(now time.Time, node, typ, id, user string, work time.Duration, locks []flockReq,
	begin func(at time.Time, w *worker), finish func(ok bool, at time.Time)) string {
	t := &task{node: node, typ: typ, id: id, user: user, exit: "OK"}
	work = p.lab.workTime(work)
	startAt := now
	for _, l := range locks {
		if free := p.flockOf(l.vmid).free(l.shared); free.After(startAt) {
			startAt = free
		}
	}
	wait := startAt.Sub(now)
	lockErr := ""
	for _, l := range locks {
		if wait > l.timeout {
			lockErr, wait = flockMessage(l.vmid, l.ct), l.timeout
			break
		}
	}
	if lockErr == "" && len(locks) > 0 && !locks[0].inherited && !locks[0].fresh && p.faults.LockTimeout() {
		lockErr, wait = flockMessage(locks[0].vmid, locks[0].ct), 20*time.Millisecond
	}
	if lockErr != "" {
		t.duration, t.exit = wait, lockErr
		p.spawnLocked(t, now)
		p.ops = append(p.ops, &vmOp{task: t, startAt: now.Add(wait), finish: finish})
		return t.upid
	}
	t.duration = wait + work
	end := now.Add(t.duration)
	for _, l := range locks {
		f := p.flockOf(l.vmid)
		if l.shared {
			f.shared = maxTime(f.shared, end)
		} else {
			f.excl = end
		}
	}
	if exit, ok := p.faults.TaskFailure(t.typ); ok {
		t.exit = dieStatus(exit)
	}
	p.spawnLocked(t, now)
	p.ops = append(p.ops, &vmOp{task: t, startAt: startAt, begin: begin, finish: finish})
	return t.upid
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// settleLocked runs the begins and finishes of workers that are due at
// now, in time order. The caller holds p.mu.
func (p *PVE) settleLocked(now time.Time) {
	for {
		var next *vmOp
		var at time.Time
		isBegin := false
		for _, op := range p.ops {
			t := op.task
			when, b := t.end(), false
			if !op.begun {
				if t.killedAt.IsZero() || t.killedAt.After(op.startAt) {
					when, b = op.startAt, true
				}
			}
			if next == nil || when.Before(at) {
				next, at, isBegin = op, when, b
			}
		}
		if next == nil || at.After(now) {
			return
		}
		if isBegin {
			next.begun = true
			if next.begin != nil && next.task.exit == "OK" {
				next.begin(at, &worker{t: next.task})
			}
			continue
		}
		p.ops = slices.DeleteFunc(p.ops, func(o *vmOp) bool { return o == next })
		t := next.task
		ok := t.killedAt.IsZero() && (t.exit == "OK" || strings.HasPrefix(t.exit, "WARNINGS: "))
		if next.finish != nil {
			next.finish(ok, at)
		}
	}
}

// waitFlockLocked waits, like lock_config_full in an API call, until the
// VM's flock is free, for at most timeout. It releases p.mu while it
// sleeps; the caller holds p.mu before and after.
func (p *PVE) waitFlockLocked(vmid int, shared bool, timeout time.Duration) error {
	return p.waitGuestFlockLocked(vmid, false, shared, timeout)
}

// waitGuestFlockLocked is waitFlockLocked for a VM's or (ct) a
// container's flock.
func (p *PVE) waitGuestFlockLocked(vmid int, ct, shared bool, timeout time.Duration) error {
	// lock_file_full tries flock() until its timeout has passed: a flock
	// that stays held makes the call wait out the whole timeout.
	deadline := time.Now().Add(timeout)
	for {
		now := time.Now()
		p.settleLocked(now)
		free := p.flockOf(vmid).free(shared)
		if !free.After(now) {
			return nil
		}
		if !now.Before(deadline) {
			return Errorf(http.StatusInternalServerError, "%s", flockMessage(vmid, ct))
		}
		wake := min(free.Sub(now)+time.Millisecond, deadline.Sub(now))
		p.mu.Unlock()
		time.Sleep(wake)
		p.mu.Lock()
	}
}

// The fixed part of the lab's workers' durations: quick, but long enough to
// be seen running. What grows with the work is added (tasks_timing.go), and
// all of it runs at the lab's task speed.
const (
	createWork   = 300 * time.Millisecond
	cloneWork    = 500 * time.Millisecond
	migrateWork  = 500 * time.Millisecond
	powerWork    = 200 * time.Millisecond
	shutdownWork = 300 * time.Millisecond
	rebootWork   = 400 * time.Millisecond
	configWork   = 100 * time.Millisecond
	resizeWork   = 150 * time.Millisecond
	destroyWork  = 200 * time.Millisecond
	templateWork = 200 * time.Millisecond
)

// taskLogTime is the timestamp migration logs prefix their lines with.
func taskLogTime(t time.Time) string { return t.Format("2006-01-02 15:04:05") }
