package pvesim

import (
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/sim"
)

// The cluster resource manager (CRM) of pve-ha-manager: src/PVE/HA/CRM.pm
// runs a round every $max_time = 10 s on every node; the node holding the
// ha_manager_lock is the master and runs PVE::HA::Manager::manage, which
// turns the requested state of every resource (resources.cfg) into its
// service state (manager_status' service_status) and reads what the LRMs
// (ha_lrm.go) report. Modelled from src/PVE/HA/Manager.pm (manage,
// update_crm_commands, next_state_stopped, next_state_request_start,
// next_state_started, next_state_request_stop, next_state_migrate_relocate,
// next_state_recovery, change_service_state) and src/PVE/HA/NodeStatus.pm
// (node_is_offline_delayed with $fence_delay = 60 s, fence_node, which needs
// the dead node's agent lock: pmxcfs lets a lock go 120 s after its last
// update, PVE2.pm get_pve_lock's $retry_timeout).
//
// So a requested change shows in the service status at the master's next
// round, and in the guest once the LRM of its node ran (another round) and
// the master read the result (the round after): "starting" for up to three
// rounds, as on a real cluster. All timings scale with Options.HARound
// (PVE: 10 s): the fence delay is 6 rounds, the lock lifetime 12.
//
// Nodes are chosen as select_service_node does (ha_select.go): node
// affinity (rules, or groups on PVE 8) with failback, then the fewest
// services. A failed start is retried max_restart times by the LRM, then
// relocated to up to max_relocate other nodes, then the service is in
// "error".
//
// Left out: the static and dynamic CRS modes and rebalance on start,
// resource affinity, node maintenance and freeze (the shutdown policy),
// disarm, the CRM's own fencing of a master that lost quorum and the HA
// log. The LRM's results show once the guest's task ended rather than at the end
// of the LRM's round.

// DefaultHARound is the CRM's and the LRM's $max_time.
const DefaultHARound = 10 * time.Second

// Factors of the HA round: NodeStatus.pm's $fence_delay (60 s) and pmxcfs'
// lock lifetime (120 s) at PVE's 10 s round.
const (
	haFenceDelayRounds   = 6
	haLockLifetimeRounds = 12
)

// LRM exit codes, src/PVE/HA/Tools.pm.
const (
	haSuccess    = 0
	haError      = 1
	haEWrongNode = 3
)

// haService is one entry of the manager status' service_status.
type haService struct {
	state       string
	node        string
	target      string
	uid         string
	running     bool
	timeout     *int
	cmd         []string
	failedNodes []string // nodes a start failed on (relocation policy)
}

// view is the entry as the manager status file holds it.
func (s *haService) view() map[string]any {
	e := map[string]any{"state": s.state, "node": s.node, "uid": s.uid}
	if s.target != "" {
		e["target"] = s.target
	}
	if s.running {
		e["running"] = 1
	}
	if s.timeout != nil {
		e["timeout"] = *s.timeout
	}
	if len(s.failedNodes) > 0 {
		e["failed_nodes"] = slices.Clone(s.failedNodes)
	}
	return e
}

// haUID is compute_new_uuid.
func haUID(state string) string {
	sum := md5.Sum([]byte(state + sim.RandomHex(8) + strconv.FormatInt(time.Now().UnixNano(), 10)))
	return base64.RawStdEncoding.EncodeToString(sum[:])
}

// change is $change_service_state: a new state (and node or target), a
// new uid; running, target, timeout and a command go, the failed nodes stay.
func (s *haService) change(state string, node, target string, timeout *int) {
	s.state, s.target, s.timeout, s.running, s.cmd = state, target, timeout, false, nil
	if node != "" {
		s.node = node
	}
	s.uid = haUID(state)
}

// haRoundOf returns the lab's HA round.
func (p *PVE) haRound() time.Duration { return p.lab.haRound }

// startHA starts every node's CRM and LRM, each with its first round after
// firstTick(round), like the daemons starting with their machines.
func (l *pveLab) startHA(firstTick func(time.Duration) time.Duration) {
	for _, h := range l.hosts {
		go l.haLoop(h, firstTick(l.haRound), l.crmRound)
		go l.haLoop(h, firstTick(l.haRound), l.lrmRound)
	}
}

// haLoop runs round for h after first, then every HA round, until the lab
// closes (CRM.pm and LRM.pm: work, then sleep_until start + $max_time).
func (l *pveLab) haLoop(h *labHost, first time.Duration, round func(*labHost)) {
	t := time.NewTimer(first)
	defer t.Stop()
	for {
		select {
		case <-l.done:
			return
		case <-t.C:
		}
		round(h)
		t.Reset(l.haRound)
	}
}

// crmRound is one round of node h's CRM: with quorum, the master (or a node
// that takes the manager lock over) runs manage.
func (l *pveLab) crmRound(h *labHost) {
	now := time.Now()
	l.mu.Lock()
	if l.closed || !h.up {
		l.mu.Unlock()
		return
	}
	l.settleLocked(now)
	p := h.pve
	quorate := l.quorateLocked(p) && !p.isolated
	online := map[string]bool{}
	p.mu.Lock()
	names := make([]string, 0, len(p.nodes))
	for _, n := range p.nodes {
		names = append(names, n.Name)
	}
	p.mu.Unlock()
	for _, n := range names {
		online[n] = l.onlineLocked(p, n)
	}
	l.mu.Unlock()
	if !quorate {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.settleLocked(now)
	p.haCRMRoundLocked(h.name, online, now)
}

// haCRMRoundLocked is CRM.pm's work for node self: become or stay master,
// then manage. The caller holds p.mu.
func (p *PVE) haCRMRoundLocked(self string, online map[string]bool, now time.Time) {
	ha := p.ha
	round := p.haRound()
	services := p.haServicesLocked()
	switch {
	case ha.master == "":
		// CRM.pm can_get_active: only with configured resources
		if len(services) == 0 {
			return
		}
		ha.master = self
	case ha.master != self:
		// the manager lock is the master's until pmxcfs lets it go
		if online[ha.master] || now.Sub(ha.lastActive) < haLockLifetimeRounds*round {
			return
		}
		ha.master = self
	}
	p.haManageLocked(services, online, now)
	ha.lastActive = now
}

// haManageLocked is Manager.pm's manage. The caller holds p.mu.
func (p *PVE) haManageLocked(services []*haServiceConfig, online map[string]bool, now time.Time) {
	ha := p.ha
	round := p.haRound()
	// NodeStatus::update: online nodes, and when each was last seen
	for n, up := range online {
		switch {
		case up:
			ha.lastOnline[n] = now
			ha.nodeState[n] = "online"
		case ha.nodeState[n] == "online" || ha.nodeState[n] == "":
			ha.nodeState[n] = "unknown"
			if _, ok := ha.lastOnline[n]; !ok {
				ha.lastOnline[n] = now
			}
		}
	}
	for n := range ha.nodeState {
		if _, ok := online[n]; !ok {
			delete(ha.nodeState, n)
		}
	}
	offlineDelayed := func(n string) bool {
		return !online[n] && now.Sub(ha.lastOnline[n]) >= haFenceDelayRounds*round
	}
	results := p.haLRMResultsLocked(now)

	cfg := map[string]*haServiceConfig{}
	for _, sc := range services {
		cfg[sc.sid] = sc
	}
	// add new services, remove stale or ignored ones
	for _, sc := range services {
		if _, ok := ha.ss[sc.sid]; ok || sc.opts["state"] == "ignored" {
			continue
		}
		state := "request_stop"
		if sc.opts["state"] == "started" {
			state = "request_start"
		}
		ha.ss[sc.sid] = &haService{state: state, node: sc.node, uid: haUID("started")}
	}
	for sid := range ha.ss {
		if sc := cfg[sid]; sc == nil || sc.opts["state"] == "ignored" {
			delete(ha.ss, sid)
		}
	}

	// update_crm_commands
	for _, cmd := range ha.cmds {
		f := strings.Fields(cmd)
		switch {
		case len(f) == 3 && (f[0] == "migrate" || f[0] == "relocate"):
			sd := ha.ss[f[1]]
			if sd == nil || !online[f[2]] || sd.node == f[2] {
				continue // logged as an error or ignored
			}
			sd.cmd = []string{f[0], f[2]}
		case len(f) == 3 && f[0] == "stop":
			if sd := ha.ss[f[1]]; sd != nil {
				sd.cmd = []string{"stop", f[2]}
			}
		}
	}
	ha.cmds = nil

	for {
		changed := false
		for _, sid := range slices.Sorted(maps.Keys(ha.ss)) {
			sd := ha.ss[sid]
			cd := cfg[sid]
			req := "disabled"
			if cd != nil {
				req = cd.opts["state"].(string)
			}
			res, hasRes := results[sd.uid]
			last := sd.state
			switch last {
			case "stopped":
				p.haNextStoppedLocked(sd, cd, req, online, offlineDelayed)
			case "request_start":
				sd.change("started", sd.node, "", nil)
			case "started":
				p.haNextStartedLocked(sid, sd, cd, req, res, hasRes, online, offlineDelayed)
			case "migrate", "relocate":
				if hasRes {
					next := "request_stop"
					if req == "started" {
						next = "started"
					}
					node := sd.node
					if res == haSuccess {
						node = sd.target
					}
					if res == haEWrongNode {
						next = "error"
					}
					sd.change(next, node, "", nil)
				} else if offlineDelayed(sd.node) {
					sd.change("fence", "", "", nil)
				}
			case "request_stop":
				switch {
				case hasRes && res == haSuccess:
					sd.change("stopped", "", "", nil)
				case hasRes:
					sd.change("error", "", "", nil)
				case offlineDelayed(sd.node):
					sd.change("fence", "", "", nil)
				}
			case "recovery":
				p.haNextRecoveryLocked(sid, sd, cd, req, online)
			case "error":
				if req == "disabled" {
					sd.failedNodes = nil
					sd.change("stopped", "", "", nil)
				}
			}
			if sd.state != last {
				changed = true
			}
		}
		// fencing: fence_node succeeds once the node's agent lock expired
		for _, sid := range slices.Sorted(maps.Keys(ha.ss)) {
			sd := ha.ss[sid]
			if sd.state != "fence" {
				continue
			}
			ha.nodeState[sd.node] = "fence"
			if lock := p.haLRMLocked(sd.node).lockAt; !lock.IsZero() && now.Sub(lock) < haLockLifetimeRounds*round {
				continue
			}
			sd.change("recovery", "", "", nil)
			changed = true
		}
		if !changed {
			break
		}
	}
	for n, st := range ha.nodeState {
		if st != "fence" {
			continue
		}
		fencing := false
		for _, sd := range ha.ss {
			fencing = fencing || (sd.node == n && sd.state == "fence")
		}
		if !fencing {
			ha.nodeState[n] = "unknown" // fenced: the agent lock is the master's
		}
	}
}

// haNextStoppedLocked is next_state_stopped.
func (p *PVE) haNextStoppedLocked(sd *haService, cd *haServiceConfig, req string, online map[string]bool, offlineDelayed func(string) bool) {
	if cd != nil && cd.node != "" && sd.node != cd.node {
		sd.node = cd.node // fixup service location
	}
	if len(sd.cmd) == 2 {
		cmd, target := sd.cmd[0], sd.cmd[1]
		sd.cmd = nil
		if (cmd == "migrate" || cmd == "relocate") && online[target] && sd.node != target {
			sd.change(cmd, sd.node, target, nil)
			return
		}
	}
	switch {
	case req == "disabled":
	case offlineDelayed(sd.node):
		sd.change("fence", "", "", nil)
	case req == "started":
		sd.change("request_start", sd.node, "", nil)
	}
}

// haNextStartedLocked is next_state_started: commands, the result of the
// LRM's start with the relocation policy (max_relocate other nodes after a
// failed start, then "error"), and the node select_service_node prefers
// (node affinity with failback).
func (p *PVE) haNextStartedLocked(sid string, sd *haService, cd *haServiceConfig, req string, res int, hasRes bool, online map[string]bool, offlineDelayed func(string) bool) {
	if !online[sd.node] {
		if offlineDelayed(sd.node) {
			sd.change("fence", "", "", nil)
		}
		return
	}
	if req == "disabled" || req == "stopped" {
		sd.change("request_stop", "", "", nil)
		return
	}
	if req != "started" {
		return
	}
	if len(sd.cmd) == 2 {
		cmd, arg := sd.cmd[0], sd.cmd[1]
		sd.cmd = nil
		switch cmd {
		case "migrate", "relocate":
			if online[arg] && sd.node != arg {
				sd.change(cmd, sd.node, arg, nil)
			}
		case "stop":
			timeout, _ := strconv.Atoi(arg)
			sd.change("request_stop", "", "", &timeout)
			// update_service_config: the requested state becomes stopped
			p.setHAStateLocked(sid, "stopped")
		}
		return
	}
	pref := "none"
	if hasRes {
		switch res {
		case haSuccess:
			sd.failedNodes = nil
			sd.running = true
		case haError, haEWrongNode:
			sd.running = false
			sd.failedNodes = append(sd.failedNodes, sd.node)
			if len(sd.failedNodes) > haMaxLocked(cd, "max_relocate") {
				sd.change("error", "", "", nil)
				return
			}
			pref = "try-next"
		default:
			sd.failedNodes = append(sd.failedNodes, sd.node)
			sd.change("error", "", "", nil)
			return
		}
	}
	node := p.haSelectNodeLocked(sid, sd, cd, pref, online)
	if node != "" && node != sd.node {
		motion := "relocate"
		if strings.HasPrefix(sid, "vm:") {
			motion = "migrate"
		}
		sd.change(motion, sd.node, node, nil)
		return
	}
	if hasRes {
		sd.uid = haUID(sd.state) // started again should it go down
	}
}

// haNextRecoveryLocked is next_state_recovery: the service moves to the
// node select_service_node picks (steal_service moves the guest's config
// there).
func (p *PVE) haNextRecoveryLocked(sid string, sd *haService, cd *haServiceConfig, req string, online map[string]bool) {
	best := p.haSelectNodeLocked(sid, sd, cd, "best-score", online)
	if best == "" {
		if req == "disabled" {
			sd.failedNodes = nil
			sd.change("stopped", "", "", nil)
		}
		return
	}
	p.haStealServiceLocked(sid, best)
	next := "request_stop"
	if req == "started" {
		next = "started"
	}
	sd.change(next, best, "", nil)
}

// haStealServiceLocked is PVE2.pm's steal_service: the guest's config file
// moves to node (the guest is not running on the fenced node).
func (p *PVE) haStealServiceLocked(sid, node string) {
	_, name, _ := strings.Cut(sid, ":")
	vmid, err := strconv.Atoi(name)
	if err != nil {
		return
	}
	g, ok := p.guests[vmid]
	if !ok {
		return
	}
	g.node = node
	p.guests[vmid] = g
	if vm := p.qemu.vms[vmid]; vm != nil {
		vm.node = node
	}
	if ct := p.lxc.cts[vmid]; ct != nil {
		ct.node = node
	}
}

// haQueueCRMCommandLocked is PVE::HA::Config::queue_crm_commands: the
// master reads the command at its next round.
func (p *PVE) haQueueCRMCommandLocked(cmd string) {
	p.ha.cmds = append(p.ha.cmds, cmd)
}

// haCheckServiceStateLocked is check_service_state of
// src/PVE/API2/HA/Resources.pm.
func (p *PVE) haCheckServiceStateLocked(sid string) error {
	if sd := p.ha.ss[sid]; sd != nil && sd.state == "error" {
		return dief("service '%s' in error state, must be disabled and fixed first", sid)
	}
	return nil
}

// spawnHARequestLocked is the worker an HA-managed guest's start, stop,
// shutdown or migration forks instead of doing it (qemu-server's
// PVE::API2::Qemu vm_start, vm_stop, vm_shutdown, migrate_vm; pve-container's
// PVE::API2::LXC::Status and migrate_vm): it prints line and runs cmd
// (ha-manager set, crm-command stop, migrate), which only records the
// request; the task ends at once and the guest changes when the CRM and
// the LRM get to it. request is what the ha-manager command does.
func (p *PVE) spawnHARequestLocked(now time.Time, node, typ string, vmid int, user, line string, cmd []string, request func() error) string {
	return p.spawnVMTaskLocked(now, node, typ, strconv.Itoa(vmid), user, configWork, nil, func(at time.Time, w *worker) {
		w.log(line)
		if err := request(); err != nil {
			w.log(strings.TrimSuffix(err.Error(), "\n"))
			w.fail(fmt.Sprintf("command '%s' failed: exit code 255", strings.Join(cmd, " ")))
		}
	}, nil)
}

// haSetStateCmdLocked is "ha-manager set <sid> --state <state>"
// (PVE::API2::HA::Resources update: check_service_state first).
func (p *PVE) haSetStateCmdLocked(sid, state string) func() error {
	return func() error {
		if !p.haConfiguredLocked(sid) {
			return dief("no such resource '%s'", sid)
		}
		if err := p.haCheckServiceStateLocked(sid); err != nil && state != "disabled" {
			return err
		}
		p.setHAStateLocked(sid, state)
		return nil
	}
}

// haCRMCmdLocked is "ha-manager crm-command stop|migrate ..." (and
// "ha-manager migrate"): service_is_ha_managed, check_service_state, then
// queue_crm_commands.
func (p *PVE) haCRMCmdLocked(sid, cmd string) func() error {
	return func() error {
		if !p.haManagedLocked(sid) {
			return dief("resource '%s' is not HA managed", sid)
		}
		if err := p.haCheckServiceStateLocked(sid); err != nil {
			return err
		}
		p.haQueueCRMCommandLocked(cmd)
		return nil
	}
}

// haMotion serves POST /cluster/ha/resources/{sid}/migrate and /relocate
// (src/PVE/API2/HA/Resources.pm migrate, relocate): the command is queued
// for the master. On PVE 9 the answer names the SID and the node (resource
// affinity is not modelled: no comigrated or blocking resources); on PVE 8
// it is null.
func (p *PVE) haMotion(cmd string) HandlerFunc {
	return func(r *Request) (any, error) {
		node, _ := r.String("node")
		p.mu.Lock()
		defer p.mu.Unlock()
		sid, _, _, err := p.parseSIDLocked(r.PathParams["sid"])
		if err == nil {
			err = p.haCRMCmdLocked(sid, cmd+" "+sid+" "+node)()
		}
		if err != nil {
			return nil, Errorf(http.StatusInternalServerError, "%s", err.Error())
		}
		if !p.rel.haRules {
			return nil, nil
		}
		return map[string]any{"sid": sid, "requested-node": node}, nil
	}
}
