package pvesim

import (
	"maps"
	"slices"
	"strconv"
)

// Choosing a node for a service: Manager.pm's select_service_node with
// the node affinity of src/PVE/HA/Rules/NodeAffinity.pm (get_node_affinity;
// on PVE 8 the resource's HA group, which PVE 9 migrates to such rules) and
// the "basic" CRS scores (a node's count of services). Resource affinity
// and the static/dynamic CRS modes are left out.

// haNodeAffinityLocked returns the node priorities a rule (or group) sets
// for sid, with whether the rule is strict; nil without one. A non-strict
// rule lets the service run on every other node too, below the rule's
// nodes (priority -1). The caller holds p.mu.
func (p *PVE) haNodeAffinityLocked(sid string, cfg *haServiceConfig) (map[string]int, bool) {
	if p.rel.haRules {
		for _, s := range p.haConfigLocked(haRulesFile).sections {
			r := decodeRule(s)
			if r.typ != "node-affinity" || r.disabled || !r.resources[sid] {
				continue
			}
			return r.nodes, s.opts["strict"] == "1"
		}
		return nil, false
	}
	if cfg == nil {
		return nil, false
	}
	g, _ := cfg.opts["group"].(string)
	if g == "" {
		return nil, false
	}
	if s := p.haConfigLocked(haGroupsFile).get(g); s != nil {
		return decodeRuleNodes(s.opts["nodes"]), s.opts["restricted"] == "1"
	}
	return nil, false
}

// haSelectNodeLocked is select_service_node: pref is "none" (stay unless
// the affinity says otherwise), "try-next" (a start failed: a node not
// tried yet) or "best-score" (recovery). "" when no node fits.
func (p *PVE) haSelectNodeLocked(sid string, sd *haService, cfg *haServiceConfig, pref string, online map[string]bool) string {
	prio := map[string]int{}
	for n, up := range online {
		if up {
			prio[n] = 0
		}
	}
	if aff, strict := p.haNodeAffinityLocked(sid, cfg); aff != nil {
		for n := range prio {
			if v, ok := aff[n]; ok {
				prio[n] = v
			} else if strict {
				delete(prio, n)
			} else {
				prio[n] = -1
			}
		}
	}
	allowed := maps.Clone(prio)
	best := map[string]bool{}
	top := 0
	for n, v := range prio {
		switch {
		case len(best) == 0 || v > top:
			best, top = map[string]bool{n: true}, v
		case v == top:
			best[n] = true
		}
	}
	if len(best) == 0 {
		return ""
	}
	failback := true
	if cfg != nil {
		failback = cfg.opts["failback"] != 0 && cfg.opts["failback"] != "0"
		if !p.rel.haRules {
			failback = false // PVE 8: nofailback is a group option (left out)
		}
	}
	if _, ok := allowed[sd.node]; ok && pref == "none" && !failback {
		return sd.node
	}
	if pref == "try-next" {
		for _, n := range sd.failedNodes {
			delete(best, n)
		}
	}
	if pref == "none" && best[sd.node] {
		return sd.node
	}
	score := func(n string) int {
		c := 0
		for o, od := range p.ha.ss {
			if o != sid && od.node == n && od.state != "stopped" && od.state != "error" {
				c++
			}
		}
		return c
	}
	nodes := slices.SortedFunc(maps.Keys(best), func(a, b string) int {
		if d := score(a) - score(b); d != 0 {
			return d
		}
		switch {
		case a < b:
			return -1
		case a > b:
			return 1
		}
		return 0
	})
	if len(nodes) == 0 {
		return ""
	}
	if pref == "try-next" {
		if i := slices.Index(nodes, sd.node); i >= 0 && i < len(nodes)-1 {
			return nodes[i+1]
		}
	}
	return nodes[0]
}

// haMaxLocked is an integer option of a resource (max_restart,
// max_relocate; PVE's default 1).
func haMaxLocked(cfg *haServiceConfig, key string) int {
	if cfg == nil {
		return 1
	}
	switch v := cfg.opts[key].(type) {
	case int:
		return v
	case string:
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
	}
	return 1
}
