package pvesim

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/perl"
)

// guestRef is a guest (VM or container) known cluster-wide, as in
// /etc/pve/.vmlist: which node has it and of which type it is.
type guestRef struct {
	node string
	kind string // "qemu" or "lxc"
}

// registerBuiltins registers the endpoints every lab serves.
func (p *PVE) registerBuiltins() {
	p.Handle(http.MethodGet, "/", func(*Request) (any, error) {
		out := []map[string]any{}
		for _, d := range []string{"version", "cluster", "nodes", "storage", "access", "pools"} {
			out = append(out, map[string]any{"subdir": d})
		}
		return out, nil
	})
	p.Handle(http.MethodGet, "/version", p.apiVersion)
	p.Handle(http.MethodGet, "/access/ticket", func(*Request) (any, error) { return nil, nil })
	p.Handle(http.MethodPost, "/access/ticket", p.createTicket, WithoutConfigLock(), WithoutQuorum())
	p.Handle(http.MethodGet, "/cluster/status", p.clusterStatus)
	p.Handle(http.MethodGet, "/cluster/resources", p.clusterResources)
	p.Handle(http.MethodGet, "/cluster/nextid", p.nextID)
	p.registerClusterConfigRoutes()
	p.registerNodeRoutes()
	p.registerTaskRoutes()
	p.registerNetworkRoutes()
	p.registerStorageRoutes()
	p.registerQemuRoutes()
	p.registerLXCRoutes()
	p.registerPoolRoutes()
	p.registerHardwareRoutes()
	p.registerMappingRoutes()
	p.registerOptionsRoutes()
	p.registerHARoutes()
	p.registerCephRoutes()
}

// clusterStatus serves GET /cluster/status: the cluster entry and the
// nodes of the node list, the asked node marked local. A standalone node has
// no cluster entry and node ID 0.
func (p *PVE) clusterStatus(r *Request) (any, error) {
	ci := p.clusterInfo()
	out := []map[string]any{}
	if !ci.inCluster {
		for _, m := range ci.members {
			out = append(out, map[string]any{
				"id":     "node/" + m.name,
				"type":   "node",
				"name":   m.name,
				"ip":     m.ip,
				"level":  "",
				"local":  1,
				"nodeid": 0,
				"online": 1,
			})
		}
		return out, nil
	}
	out = append(out, map[string]any{
		"id":      "cluster",
		"type":    "cluster",
		"name":    ci.name,
		"nodes":   len(ci.members),
		"quorate": perl.BoolInt(ci.quorate),
		"version": ci.version,
	})
	for _, m := range ci.members {
		e := map[string]any{
			"id":     "node/" + m.name,
			"type":   "node",
			"name":   m.name,
			"local":  perl.BoolInt(m.name == r.LocalNode),
			"nodeid": m.nodeid,
			"online": perl.BoolInt(m.online),
			"level":  "",
		}
		if m.ip != "" {
			e["ip"] = m.ip
		}
		out = append(out, e)
	}
	return out, nil
}

// clusterResources serves GET /cluster/resources, optionally filtered by
// type (vm, storage, node, sdn). Pools only come unfiltered, first, as
// PVE's Cluster.pm lists them; guests in a pool carry its name in "pool".
func (p *PVE) clusterResources(r *Request) (any, error) {
	filter, _ := r.String("type")
	ci := p.clusterInfo()
	now := time.Now()
	out := []map[string]any{}
	if filter == "" || filter == "node" {
		p.mu.Lock()
		for _, m := range ci.members {
			d, have := rrdEntryLocked(p.rrdNodes, m.name, now)
			e := extractNodeStats(m, ci.inCluster, d, have)
			if e["status"] == "online" {
				e["cgroup-mode"] = 2
			}
			out = append(out, e)
		}
		p.mu.Unlock()
	}
	var defs []*storageDef
	if filter == "" || filter == "storage" {
		defs = p.storageDefs()
	}
	p.mu.Lock()
	p.settleLocked(now)
	if filter == "" || filter == "storage" {
		for _, m := range ci.members {
			n := m.node
			if n == nil {
				continue
			}
			for _, st := range defs {
				if !st.availableOn(n.Name) {
					continue
				}
				d := p.storageStatusLocked(n, st)
				e := storageResource(n, st.id, st.typ, d["content"].(string), 0, 0)
				e["shared"] = perl.BoolInt(st.shared)
				// extract_storage_stats: usage as the node's pvestatd last
				// broadcast it; without an entry (never active, or expired)
				// "unknown"
				if rrd, ok := rrdEntryLocked(p.rrdStorage, n.Name+"/"+st.id, now); ok {
					e["disk"], e["maxdisk"] = rrd["disk"], rrd["maxdisk"]
				} else {
					e["status"] = "unknown"
					delete(e, "disk")
					delete(e, "maxdisk")
				}
				out = append(out, e)
			}
		}
	}
	guests, others := p.resourceEntriesLocked()
	for _, e := range others {
		if filter == "" || filter == e["type"] {
			out = append(out, e)
		}
	}
	pools := p.poolResourcesLocked(guests)
	p.mu.Unlock()
	if filter == "" || filter == "vm" {
		slices.SortStableFunc(guests, func(a, b map[string]any) int { return a["vmid"].(int) - b["vmid"].(int) })
		for _, g := range guests {
			if m := ci.member(g["node"].(string)); m == nil || !m.online {
				g["status"] = "unknown" // no current data of its node
			}
		}
		out = append(out, guests...)
	}
	if filter == "" || filter == "sdn" {
		for _, m := range ci.members {
			if !m.online {
				continue
			}
			out = append(out, map[string]any{
				"id":     "sdn/" + m.name + "/localnetwork",
				"type":   "sdn",
				"sdn":    "localnetwork",
				"node":   m.name,
				"status": "ok",
			})
		}
	}
	if filter == "" { // pools come first; the type filter has no value for them
		out = append(pools, out...)
	}
	return out, nil
}

// resourceEntriesLocked returns the /cluster/resources entries of the
// guests (unsorted) and the other entries of the resource sources.
func (p *PVE) resourceEntriesLocked() (guests, others []map[string]any) {
	for _, id := range slices.Sorted(maps.Keys(p.guests)) {
		g := p.guests[id]
		if (g.kind == "qemu" && p.qemu.vms[id] != nil) || (g.kind == "lxc" && p.lxc.cts[id] != nil) {
			continue // the qemu and lxc resource sources have it
		}
		guests = append(guests, guestResource(g.kind, id, g.node, nil, p.rrd[id], ""))
	}
	for _, src := range p.resourceSources {
		for _, e := range src() {
			if e["type"] == "qemu" || e["type"] == "lxc" {
				guests = append(guests, e)
			} else {
				others = append(others, e)
			}
		}
	}
	return guests, others
}

func storageResource(n *node, id, plugin, content string, used, total uint64) map[string]any {
	return map[string]any{
		"id":         "storage/" + n.Name + "/" + id,
		"type":       "storage",
		"storage":    id,
		"node":       n.Name,
		"status":     "available",
		"plugintype": plugin,
		"content":    content,
		"shared":     0,
		"disk":       used,
		"maxdisk":    total,
	}
}

// nextID serves GET /cluster/nextid. PVE returns the ID as a string (the
// Perl scalar was used as a hash key); with vmid it asserts that ID is free.
func (p *PVE) nextID(r *Request) (any, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.settleLocked(time.Now())
	if v, ok := r.String("vmid"); ok && v != "" {
		id, _ := strconv.Atoi(v)
		if _, taken := p.guests[id]; taken {
			return nil, ParamError(map[string]string{"vmid": fmt.Sprintf("VM %s already exists", v)})
		}
		return v, nil
	}
	lower, upper, lowerText, upperText := p.nextIDRangeLocked()
	for id := lower; id < upper; id++ {
		if _, taken := p.guests[id]; !taken {
			return strconv.Itoa(id), nil
		}
	}
	return nil, Errorf(http.StatusInternalServerError, "unable to get any free VMID in range [%s, %s]", lowerText, upperText)
}
