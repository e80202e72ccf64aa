package sim

import (
	"math/rand/v2"
	"strings"
	"sync"
	"time"
)

// Transient failure pveproxy answers when it cannot get an answer from the
// worker behind it (pvedaemon or another node): AnyEvent::HTTP's status 596
// for a request whose answer did not arrive in time.
const (
	TransientStatus = 596
	TransientReason = "Connection timed out"
)

// Faults are the fault-injection knobs of a lab. The zero state injects
// nothing. All methods are safe for concurrent use.
type Faults struct {
	mu           sync.Mutex
	rng          *rand.Rand
	latency      time.Duration
	jitter       time.Duration
	errorRate    float64
	taskRate     float64
	taskRateExit string
	dropRate     float64
	lockRate     float64
	authDelay    time.Duration
	failTasks    int
	failTaskExit string
	failTaskType string
	failRequests int
	failStatus   int
	failReason   string
	loseAnswers  int
	loseMethod   string
	loseSuffix   string
	lostRate     float64
}

// NewFaults returns knobs that inject nothing yet.
func NewFaults() *Faults {
	return &Faults{rng: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))}
}

// SetLatency adds d to the handling of every request.
func (f *Faults) SetLatency(d time.Duration) {
	f.mu.Lock()
	f.latency = d
	f.mu.Unlock()
}

// SetJitter varies each request's added latency by up to d either way
// (never below zero).
func (f *Faults) SetJitter(d time.Duration) {
	f.mu.Lock()
	f.jitter = d
	f.mu.Unlock()
}

// SetTaskFailureRate makes that fraction of tasks (0..1) fail with
// exitStatus, besides those FailNextTasks names.
func (f *Faults) SetTaskFailureRate(rate float64, exitStatus string) {
	f.mu.Lock()
	f.taskRate, f.taskRateExit = rate, exitStatus
	f.mu.Unlock()
}

// SetErrorRate makes that fraction of requests (0..1) fail the way pveproxy
// fails when the worker behind it does not answer: "596 Connection timed out".
// Logins (POST /access/ticket) are not affected.
func (f *Faults) SetErrorRate(rate float64) {
	f.mu.Lock()
	f.errorRate = rate
	f.mu.Unlock()
}

// SetDropRate makes that fraction of requests (0..1) end with the
// connection reset and no answer.
func (f *Faults) SetDropRate(rate float64) {
	f.mu.Lock()
	f.dropRate = rate
	f.mu.Unlock()
}

// SetLockContention makes that fraction of config-modifying requests (0..1)
// fail like PVE does when a config lock cannot be acquired in time, e.g.
// 500 "can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout".
func (f *Faults) SetLockContention(rate float64) {
	f.mu.Lock()
	f.lockRate = rate
	f.mu.Unlock()
}

// SetAuthFailureDelay holds back every 401 answer this long. Real pveproxy
// delays unauthorized calls by 3 seconds; the lab does not unless asked,
// to keep tests fast.
func (f *Faults) SetAuthFailureDelay(d time.Duration) {
	f.mu.Lock()
	f.authDelay = d
	f.mu.Unlock()
}

// FailNextTasks makes the next n tasks that start end with exitStatus (e.g.
// "command 'xyz' failed: exit code 1"); their log ends with "TASK ERROR:
// <exitStatus>".
func (f *Faults) FailNextTasks(n int, exitStatus string) {
	f.FailNextTasksOf("", n, exitStatus)
}

// FailNextTasksOf is FailNextTasks for the tasks of one type (a worker
// type such as "qmstart"; "" for any).
func (f *Faults) FailNextTasksOf(typ string, n int, exitStatus string) {
	f.mu.Lock()
	f.failTasks, f.failTaskExit, f.failTaskType = n, exitStatus, typ
	f.mu.Unlock()
}

// FailNextRequests answers the next n requests, other than logins, with
// status and reason (as status line and message) before they are handled.
func (f *Faults) FailNextRequests(n int, status int, reason string) {
	f.mu.Lock()
	f.failRequests, f.failStatus, f.failReason = n, status, reason
	f.mu.Unlock()
}

// LoseNextAnswers makes the next n requests, other than logins, whose
// method is method and whose API path ends in suffix ("" matches any) be
// carried out and their answers lost: the connection is reset after the
// handler ran, as when pveproxy's worker goes away (a restart of pveproxy:
// pve-http-server PVE::APIServer::AnyEvent closes its connections) or the
// network between client and server fails after the request went out.
// The client cannot tell this from a request that never ran.
func (f *Faults) LoseNextAnswers(n int, method, suffix string) {
	f.mu.Lock()
	f.loseAnswers, f.loseMethod, f.loseSuffix = n, method, suffix
	f.mu.Unlock()
}

// SetLostAnswerRate makes that fraction of requests (0..1), other than
// logins, be carried out and their answers lost (LoseNextAnswers).
func (f *Faults) SetLostAnswerRate(rate float64) {
	f.mu.Lock()
	f.lostRate = rate
	f.mu.Unlock()
}

// AnswerLost reports whether to reset the connection of a request (method,
// API path) that has been carried out instead of answering it.
func (f *Faults) AnswerLost(method, path string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.loseAnswers > 0 && (f.loseMethod == "" || f.loseMethod == method) && strings.HasSuffix(path, f.loseSuffix) {
		f.loseAnswers--
		return true
	}
	return f.chance(f.lostRate)
}

// Reset turns all faults off.
func (f *Faults) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.latency, f.jitter, f.authDelay = 0, 0, 0
	f.errorRate, f.dropRate, f.lockRate = 0, 0, 0
	f.taskRate, f.taskRateExit = 0, ""
	f.failTasks, f.failTaskExit, f.failTaskType = 0, "", ""
	f.failRequests, f.failStatus, f.failReason = 0, 0, ""
	f.loseAnswers, f.loseMethod, f.loseSuffix, f.lostRate = 0, "", "", 0
}

// chance reports true with probability rate.
func (f *Faults) chance(rate float64) bool {
	return rate > 0 && (rate >= 1 || f.rng.Float64() < rate)
}

// RequestLatency returns the latency to add to a request.
func (f *Faults) RequestLatency() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	d := f.latency
	if f.jitter > 0 {
		d += time.Duration(f.rng.Int64N(int64(2*f.jitter)+1)) - f.jitter
	}
	return max(d, 0)
}

// AuthFailureDelay returns how long to hold back a 401 answer.
func (f *Faults) AuthFailureDelay() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.authDelay
}

// Drop reports whether to reset this request's connection without answering.
func (f *Faults) Drop() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.chance(f.dropRate)
}

// RequestFailure returns the status and reason a request fails with, if a
// FailNextRequests or error-rate fault hits it.
func (f *Faults) RequestFailure() (int, string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failRequests > 0 {
		f.failRequests--
		return f.failStatus, f.failReason, true
	}
	if f.chance(f.errorRate) {
		return TransientStatus, TransientReason, true
	}
	return 0, "", false
}

// LockTimeout reports whether this config-modifying request fails to get its lock.
func (f *Faults) LockTimeout() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.chance(f.lockRate)
}

// TaskFailure returns the exit status a task of type typ that starts now
// must end with, if any.
func (f *Faults) TaskFailure(typ string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failTasks > 0 && (f.failTaskType == "" || f.failTaskType == typ) {
		f.failTasks--
		return f.failTaskExit, true
	}
	if f.chance(f.taskRate) {
		return f.taskRateExit, true
	}
	return "", false
}
