package pvesim

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/perl"
)

// The HA status (pve-ha-manager's src/PVE/API2/HA/Status.pm): the manager
// status the CRM would have written (its service status entries with their
// uids), the LRM status of every node and the two status calls,
// /cluster/ha/status/current and /cluster/ha/status/manager_status.
// The CRM master and the LRMs write them in their rounds (ha_manager.go,
// ha_lrm.go).

// --- status ----------------------------------------------------------------

// haServiceConfig is read_and_check_resources_config for one resource: the
// section with defaults and the guest's node.
type haServiceConfig struct {
	sid  string
	node string
	opts map[string]any
}

func (p *PVE) haServicesLocked() []*haServiceConfig {
	var out []*haServiceConfig
	for _, s := range p.haConfigLocked(p.haResourcesFile()).sections {
		opts := s.view()
		if st, _ := opts["state"].(string); st == "" || st == "enabled" {
			opts["state"] = "started"
		}
		defaults := []string{"max_restart", "max_relocate"}
		if p.rel.haRules {
			defaults = append(defaults, "failback")
		}
		for _, k := range defaults {
			if _, ok := opts[k]; !ok {
				opts[k] = 1
			}
		}
		sc := &haServiceConfig{sid: s.id, opts: opts}
		_, name, _ := strings.Cut(s.id, ":")
		if id, err := strconv.Atoi(name); err == nil {
			sc.node = p.guests[id].node
		}
		out = append(out, sc)
	}
	return out
}

// guestRunningLocked reports whether the guest of a resource runs.
func (p *PVE) guestRunningLocked(sid string) bool {
	_, name, _ := strings.Cut(sid, ":")
	id, _ := strconv.Atoi(name)
	if vm := p.qemu.vms[id]; vm != nil {
		return vm.running
	}
	if ct := p.lxc.cts[id]; ct != nil {
		return ct.running
	}
	return false
}

// haManagerStatusLocked is the manager status (ha/manager_status) the CRM
// master last wrote (ha_manager.go): empty before a CRM ever was master.
// The caller holds p.mu.
func (p *PVE) haManagerStatusLocked(now time.Time) map[string]any {
	if p.ha.master == "" {
		return map[string]any{}
	}
	ss := map[string]any{}
	for sid, sd := range p.ha.ss {
		ss[sid] = sd.view()
	}
	ns := map[string]any{}
	for n, st := range p.ha.nodeState {
		ns[n] = st
	}
	return map[string]any{
		"master_node":    p.ha.master,
		"node_status":    ns,
		"service_status": ss,
		"timestamp":      p.ha.lastActive.Unix(),
	}
}

// haServiceStateLocked is the CRM state of a resource ("" when the manager
// does not track it).
func (p *PVE) haServiceStateLocked(sid string) string {
	if sd := p.ha.ss[sid]; sd != nil {
		return sd.state
	}
	return ""
}

// countActiveServices is PVE::HA::Tools::count_active_services.
func countActiveServices(ss map[string]any, node string) int {
	n := 0
	for _, v := range ss {
		e := v.(map[string]any)
		if e["node"] != node {
			continue
		}
		switch e["state"] {
		case "stopped", "freeze", "error", "":
			continue
		}
		n++
	}
	return n
}

// lrmStatusLocked is a node's lrm_status as its LRM last wrote it
// (ha_lrm.go).
func (p *PVE) lrmStatusLocked(node string) map[string]any {
	l := p.haLRMLocked(node)
	results := map[string]any{}
	for uid, c := range l.results {
		results[uid] = map[string]any{"exit_code": c}
	}
	return map[string]any{"mode": "active", "state": l.state, "timestamp": l.timestamp.Unix(), "results": results}
}

// timestampToStatus is $timestamp_to_status.
func timestampToStatus(now, ts int64) string {
	switch d := now - ts; {
	case d > 30:
		return "old timestamp - dead?"
	case d < -2:
		return "detected time drift!"
	}
	return "active"
}

// verboseServiceState is get_verbose_service_state.
func verboseServiceState(ss map[string]any, req string) string {
	if req == "" {
		req = "ignored"
	}
	if req == "ignored" {
		return "ignored"
	}
	if ss == nil {
		return "queued"
	}
	cur, _ := ss["state"].(string)
	state := cur
	switch cur {
	case "":
		state = "queued"
	case "stopped":
		if req == "started" {
			state = "starting"
		} else if req == "disabled" {
			state = "disabled"
		}
	case "started":
		if req == "stopped" || req == "disabled" {
			state = "stopping"
		}
		if ss["running"] != 1 {
			state = "starting"
		}
	case "error":
		if req == "disabled" {
			state = "clearing error flag"
		}
	}
	return state
}

// haStatusCurrent serves GET /cluster/ha/status/current. The quorum
// entry is check_cfs_quorum of the node answering.
func (p *PVE) haStatusCurrent(r *Request) (any, error) {
	now := time.Now()
	local := r.LocalNode
	quorate := p.quorate() // takes lab.mu: before p.mu
	p.mu.Lock()
	defer p.mu.Unlock()
	p.settleLocked(now)
	quorum := map[string]any{"id": "quorum", "type": "quorum", "node": local, "status": "OK", "quorate": 1}
	if !quorate {
		quorum["status"], quorum["quorate"] = fmt.Sprintf("No quorum on node '%s'!", local), 0
	}
	res := []map[string]any{quorum}
	ms := p.haManagerStatusLocked(now)
	services := p.haServicesLocked()
	master, _ := ms["master_node"].(string)
	crmActive := false
	if master != "" {
		ts := ms["timestamp"].(int64)
		status := timestampToStatus(now.Unix(), ts)
		crmActive = status == "active"
		if status != "active" && len(services) == 0 {
			status = "idle"
		}
		extra := ""
		if dc, err := p.datacenterConfigLocked(); err == nil {
			if crs, ok := dc["crs"].(map[string]any); ok {
				if mode, _ := crs["ha"].(string); mode != "" && mode != "basic" {
					extra = " - " + mode + " load CRS"
				}
			}
		}
		res = append(res, map[string]any{
			"id": "master", "type": "master", "node": master, "timestamp": ts,
			"status": fmt.Sprintf("%s (%s, %s)%s", master, status, perl.Localtime(ts), extra),
		})
	}
	if p.rel.haRules {
		node := master
		if node == "" {
			node = local
		}
		armed, wd := "standby", "CRM watchdog standby"
		if crmActive {
			armed, wd = "armed", "CRM watchdog active"
		}
		res = append(res, map[string]any{
			"id": "fencing", "type": "fencing", "node": node,
			"status": fmt.Sprintf("%s (%s)", armed, wd), "armed-state": armed,
		})
	}
	ss, _ := ms["service_status"].(map[string]any)
	ns, _ := ms["node_status"].(map[string]any)
	for _, node := range slices.Sorted(maps.Keys(ns)) {
		l := p.haLRMLocked(node)
		if l.timestamp.IsZero() {
			res = append(res, map[string]any{"id": "lrm:" + node, "type": "lrm", "node": node, "status": node + " (unable to read lrm status)"})
			continue
		}
		ts := l.timestamp.Unix()
		lrmState := l.state
		status := timestampToStatus(now.Unix(), ts)
		wd := "watchdog standby"
		if status == "active" && lrmState == "active" {
			wd = "watchdog active"
		}
		if status == "active" {
			status = lrmState
			if lrmState == "wait_for_agent_lock" && countActiveServices(ss, node) == 0 {
				status = "idle"
			}
		}
		text := fmt.Sprintf("%s (%s, %s)", node, status, perl.Localtime(ts))
		if p.rel.haRules {
			text = fmt.Sprintf("%s (%s, %s, %s)", node, status, wd, perl.Localtime(ts))
		}
		res = append(res, map[string]any{"id": "lrm:" + node, "type": "lrm", "node": node, "status": text, "timestamp": ts})
	}
	bySID := map[string]*haServiceConfig{}
	for _, sc := range services {
		bySID[sc.sid] = sc
	}
	addService := func(sid string, sc *haServiceConfig, sd map[string]any) {
		data := map[string]any{"id": "service:" + sid, "type": "service", "sid": sid}
		var node any
		if sd != nil {
			node = sd["node"]
			data["node"], data["crm_state"] = sd["node"], sd["state"]
		} else if sc != nil {
			node = sc.node
			data["node"] = sc.node
		}
		req := ""
		if sc != nil {
			req, _ = sc.opts["state"].(string)
		}
		data["state"] = verboseServiceState(sd, req)
		nodeText, _ := node.(string)
		if nodeText == "" {
			nodeText = "---"
		}
		data["status"] = fmt.Sprintf("%s (%s, %s)", sid, nodeText, data["state"])
		if sc != nil {
			data["request_state"] = req
			for _, k := range []string{"group", "max_restart", "max_relocate", "failback", "comment"} {
				if v, ok := sc.opts[k]; ok {
					data[k] = v
				}
			}
		}
		res = append(res, data)
	}
	for _, sid := range slices.Sorted(maps.Keys(ss)) {
		addService(sid, bySID[sid], ss[sid].(map[string]any))
	}
	for _, sc := range services {
		if _, ok := ss[sc.sid]; !ok {
			addService(sc.sid, sc, nil)
		}
	}
	return res, nil
}

// haManagerStatus serves GET /cluster/ha/status/manager_status: the
// manager status, the quorum and every node's LRM status. "quorate" is
// check_cfs_quorum(1) as it is: 1, or Perl's false ("") without quorum.
func (p *PVE) haManagerStatus(r *Request) (any, error) {
	now := time.Now()
	local := r.LocalNode
	var quorate any = 1
	if !p.quorate() { // takes lab.mu: before p.mu
		quorate = ""
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.settleLocked(now)
	ms := p.haManagerStatusLocked(now)
	data := map[string]any{"manager_status": ms, "quorum": map[string]any{"node": local, "quorate": quorate}}
	if ns, ok := ms["node_status"].(map[string]any); ok {
		lrm := map[string]any{}
		for node := range ns {
			lrm[node] = p.lrmStatusLocked(node)
		}
		data["lrm_status"] = lrm
	}
	return data, nil
}

// haCreateState is the state a guest created with ha-managed gets: started
// when it is to be started after creation.
func haCreateState(start bool) string {
	if start {
		return "started"
	}
	return "stopped"
}
