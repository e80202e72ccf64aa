package pvesim

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The local resource manager (LRM) of pve-ha-manager, src/PVE/HA/LRM.pm:
// every node runs one, a round every $max_time = 10 s. While the manager
// status gives it services it holds the node's agent lock (state "active",
// renewed every round) and, in manage_resources, executes the service
// state of every service on its node (exec_resource_agent): "started"
// starts the guest, "request_stop" and "stopped" shut it down (timeout 0:
// stop), "migrate" and "relocate" migrate it. The resource agents
// (src/PVE/HA/Resources/PVEVM.pm, PVECT.pm) call the guest API methods in
// the same process with an RPC environment of type "ha", so the guest's
// usual task runs (qmstart, qmshutdown, qmigrate, vzstart, ...) as
// root@pam; the lab calls its handlers the same way. The result (exit code
// by uid) is in the LRM status once the task ended; the master reads it at
// its next round.

// haLRM is a node's LRM and its lrm_status.
type haLRM struct {
	state        string    // wait_for_agent_lock, active
	timestamp    time.Time // last status update (every round)
	lockAt       time.Time // last renewal of the agent lock (active rounds)
	results      map[string]int
	workers      map[string]*haWorker // by SID
	restartTries map[string]int       // by SID (handle_service_exitcode)
	boot         time.Time            // the boot of the node it runs on
	idleRounds   int                  // active rounds without services
}

// haMaxActiveIdleRounds is LRM.pm's $max_active_idle_rounds: an active LRM
// without services (and workers) gives the agent lock and its watchdog up
// in the round after that many.
const haMaxActiveIdleRounds = 60

// haWorker is a resource agent command run for a service.
type haWorker struct {
	uid   string
	state string // the command: the service state it executes
	upid  string // "" when it ended at once
	exit  int
	// then is the migration that follows the shutdown of a relocation
	// (PVEVM and PVECT migrate: shut down, then migrate offline)
	then func() (string, bool)
}

// haLRMLocked returns node's LRM. The caller holds p.mu.
func (p *PVE) haLRMLocked(node string) *haLRM {
	l := p.ha.lrm[node]
	if l == nil {
		l = &haLRM{state: "wait_for_agent_lock", results: map[string]int{}, workers: map[string]*haWorker{}, restartTries: map[string]int{}}
		p.ha.lrm[node] = l
	}
	return l
}

// haCollectLocked moves the workers of l whose tasks ended into its
// results (resource_command_finished): a failed start is retried at the
// next round while the service's max_restart allows (handle_service_exitcode:
// ETRY_AGAIN, no result).
func (p *PVE) haCollectLocked(l *haLRM, now time.Time) {
	for sid, w := range l.workers {
		if w.then != nil {
			continue // the LRM goes on with it
		}
		if w.upid != "" {
			t := p.tasks[w.upid]
			if t != nil && t.running(now) {
				continue
			}
			w.exit = haError
			if t != nil {
				if st := t.exitStatus(); st == "OK" || strings.HasPrefix(st, "WARNINGS: ") {
					w.exit = haSuccess
				}
			}
		}
		delete(l.workers, sid)
		if w.state == "started" {
			switch w.exit {
			case haSuccess:
				l.restartTries[sid] = 0
			case haError:
				var cfg *haServiceConfig
				for _, sc := range p.haServicesLocked() {
					if sc.sid == sid {
						cfg = sc
					}
				}
				if l.restartTries[sid] < haMaxLocked(cfg, "max_restart") {
					l.restartTries[sid]++
					continue // retried at the next round
				}
				l.restartTries[sid] = 0
			}
		}
		l.results[w.uid] = w.exit
	}
}

// haLRMResultsLocked is read_lrm_status' results of every node, as the
// master reads them.
func (p *PVE) haLRMResultsLocked(now time.Time) map[string]int {
	out := map[string]int{}
	for _, l := range p.ha.lrm {
		p.haCollectLocked(l, now)
		for uid, c := range l.results {
			out[uid] = c
		}
	}
	return out
}

// haCommand is one command of manage_resources.
type haCommand struct {
	sid, uid, state, target string
	timeout                 *int
}

// lrmRound is one round of node h's LRM.
func (l *pveLab) lrmRound(h *labHost) {
	now := time.Now()
	l.mu.Lock()
	if l.closed || !h.up {
		l.mu.Unlock()
		return
	}
	l.settleLocked(now)
	p := h.pve
	l.mu.Unlock()

	p.mu.Lock()
	p.settleLocked(now)
	lrm := p.haLRMLocked(h.name)
	if boot := h.node.Boot(); !lrm.boot.Equal(boot) {
		// a new LRM since the node booted: nothing of the old one's work
		// (its status file keeps the old timestamp until it writes)
		lrm.boot, lrm.state = boot, "wait_for_agent_lock"
		lrm.results, lrm.workers, lrm.restartTries = map[string]int{}, map[string]*haWorker{}, map[string]int{}
	}
	// relocations whose shutdown ended go on with the migration
	var next []*haWorker
	for _, w := range lrm.workers {
		if w.then != nil {
			if t := p.tasks[w.upid]; t == nil || !t.running(now) {
				next = append(next, w)
			}
		}
	}
	p.mu.Unlock()
	for _, w := range next {
		p.mu.Lock()
		t := p.tasks[w.upid]
		ok := t != nil && t.exitStatus() == "OK"
		then := w.then
		p.mu.Unlock()
		upid, started := "", false
		if ok {
			upid, started = then()
		}
		p.mu.Lock()
		w.then, w.upid = nil, upid
		if !started {
			w.upid, w.exit = "", haError
		}
		p.mu.Unlock()
	}
	p.mu.Lock()
	p.haCollectLocked(lrm, now)
	lrm.timestamp = now
	var cmds []haCommand
	mine := false
	for sid, sd := range p.ha.ss {
		if sd.node != h.name {
			continue
		}
		mine = true
		switch sd.state {
		case "recovery", "freeze", "request_start", "error", "fence":
			continue
		}
		if _, done := lrm.results[sd.uid]; done && sd.state != "stopped" {
			continue
		}
		if lrm.workers[sid] != nil {
			continue
		}
		cmds = append(cmds, haCommand{sid: sid, uid: sd.uid, state: sd.state, target: sd.target, timeout: sd.timeout})
	}
	switch {
	case mine:
		lrm.state, lrm.lockAt, lrm.idleRounds = "active", now, 0
	case lrm.state == "active":
		lrm.lockAt = now
		if len(lrm.workers) > 0 {
			break
		}
		if lrm.idleRounds++; lrm.idleRounds > haMaxActiveIdleRounds {
			lrm.state, lrm.lockAt, lrm.idleRounds = "wait_for_agent_lock", time.Time{}, 0
		}
	}
	// results of services the manager no longer has go (LRM.pm keeps the
	// ones of the last rounds; the master only reads current uids)
	for uid := range lrm.results {
		keep := false
		for _, sd := range p.ha.ss {
			keep = keep || sd.uid == uid
		}
		if !keep {
			delete(lrm.results, uid)
		}
	}
	p.mu.Unlock()

	for _, c := range cmds {
		w := l.execResourceAgent(p, h.name, c)
		p.mu.Lock()
		lrm.workers[c.sid] = w
		p.mu.Unlock()
	}
}

// haEnvKey marks a request made by the HA stack ($rpcenv->{type} eq 'ha').
type haEnvKey struct{}

// fromHA reports whether r comes from the LRM's resource agents.
func fromHA(r *Request) bool {
	return r.Context != nil && r.Context.Value(haEnvKey{}) != nil
}

// execResourceAgent is exec_resource_agent with the PVEVM and PVECT
// plugins: it calls the guest API on node and returns the worker.
func (l *pveLab) execResourceAgent(p *PVE, node string, c haCommand) *haWorker {
	w := &haWorker{uid: c.uid, state: c.state}
	typ, name, _ := strings.Cut(c.sid, ":")
	vmid, _ := strconv.Atoi(name)
	kind := "qemu"
	if typ == "ct" {
		kind = "lxc"
	}
	p.mu.Lock()
	g, ok := p.guests[vmid]
	running := p.guestRunningLocked(c.sid)
	p.mu.Unlock()
	switch {
	case !ok:
		w.exit = 7 // EUNKNOWN_SERVICE
		return w
	case g.node != node:
		w.exit = haEWrongNode
		return w
	}
	call := func(action string, params map[string]any) (string, bool) {
		r := &Request{
			Context:    context.WithValue(context.Background(), haEnvKey{}, true),
			Method:     http.MethodPost,
			Path:       "/nodes/" + node + "/" + kind + "/" + name + "/" + action,
			PathParams: map[string]string{"node": node, "vmid": name},
			Params:     params,
			User:       labUser,
			LocalNode:  node,
		}
		var h HandlerFunc
		switch {
		case action == "migrate" && kind == "qemu":
			h = p.migrateVM
		case action == "migrate":
			h = p.migrateCT
		case kind == "qemu":
			h = p.powerAction(strings.TrimPrefix(action, "status/"))
		default:
			h = p.ctPowerAction(strings.TrimPrefix(action, "status/"))
		}
		out, err := h(r)
		upid, isStr := out.(string)
		return upid, err == nil && isStr
	}
	run := func(action string, params map[string]any) {
		upid, ok := call(action, params)
		if !ok {
			w.exit = haError
		}
		w.upid = upid
	}
	// shutdown is PVEVM/PVECT shutdown: $timeout // 60; 0 is a hard stop
	shutdown := func(timeout *int) {
		t := 60
		if timeout != nil {
			t = *timeout
		}
		if t == 0 {
			run("status/stop", map[string]any{})
		} else {
			run("status/shutdown", map[string]any{"timeout": strconv.Itoa(t), "forceStop": "1"})
		}
	}
	switch c.state {
	case "started":
		if running {
			w.exit = haSuccess
			return w
		}
		run("status/start", map[string]any{})
	case "request_stop", "stopped":
		if !running {
			w.exit = haSuccess
			return w
		}
		shutdown(c.timeout)
	case "migrate", "relocate":
		// a VM migrates online (migrate) with force and with-local-disks;
		// a relocated VM and every container are shut down first and
		// migrate offline
		params := map[string]any{"target": c.target}
		if kind == "qemu" {
			params["force"], params["with-local-disks"] = "1", "1"
		}
		if kind == "qemu" && c.state == "migrate" {
			params["online"] = "1"
		} else if running {
			shutdown(nil)
			if w.upid != "" {
				w.then = func() (string, bool) { return call("migrate", params) }
			}
			return w
		}
		run("migrate", params)
	default:
		w.exit = 5 // EUNKNOWN_COMMAND
	}
	return w
}
