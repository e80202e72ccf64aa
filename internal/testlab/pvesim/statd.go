package pvesim

import (
	"time"
)

// pvestatd, the status daemon of every node (pve-manager
// PVE/Service/pvestatd.pm): update_status runs every $updatetime = 10 s,
// computes the status of the node's guests (PVE::QemuServer::vmstatus,
// PVE::LXC::vmstatus) and broadcasts it as RRD data ("pve2-vm/<vmid>",
// "pve-vm-9.0/<vmid>" since 9.0), which pmxcfs shares with the cluster.
// /cluster/resources takes a guest's status, name, template flag, uptime
// and usage from there (PVE::API2Tools::extract_vm_stats): "unknown" and
// without a name until the guest's node has broadcast it once, then as of
// that node's last broadcast. A node's own guest lists and a guest's
// status/current are computed on request.
//
// The node's own statistics and its active storages' usage go out in the
// same broadcast ("pve2-node/<node>", "pve2-storage/<node>/<storage>"):
// /cluster/resources and /nodes take a node's status, uptime and usage from
// there (extract_node_stats: "online" needs an entry and, in a cluster, the
// membership; "unknown" without one, as for a node that has just joined),
// and a storage's usage and "available" (extract_storage_stats). pmxcfs
// drops entries older than 5 minutes (pve-cluster src/pmxcfs/status.c,
// rrd_entry_is_old).
//
// Left out: rrd_dump's 2 s cache, and the expiry of guests' entries (the
// guests of a node that is not online show "unknown" anyway).

// DefaultStatdInterval is pvestatd's $updatetime.
const DefaultStatdInterval = 10 * time.Second

// rrdGuest is what a node's pvestatd last broadcast for a guest.
type rrdGuest map[string]any

// rrdStats is what a node's pvestatd last broadcast for the node or one of
// its storages, and when.
type rrdStats struct {
	at     time.Time
	values map[string]any
}

// rrdExpire is how long pmxcfs keeps an RRD entry that is not renewed.
const rrdExpire = 5 * time.Minute

// rrdEntryLocked returns the values of an entry that has not expired. The
// caller holds PVE.mu.
func rrdEntryLocked(m map[string]rrdStats, key string, now time.Time) (map[string]any, bool) {
	e, ok := m[key]
	if !ok || now.Sub(e.at) > rrdExpire {
		return nil, false
	}
	return e.values, true
}

// extractNodeStats is PVE::API2Tools::extract_node_stats for member m:
// statistics and "online" from the node's RRD entry d (have: there is
// one), in a cluster only while the node is in the membership.
func extractNodeStats(m memberInfo, inCluster bool, d map[string]any, have bool) map[string]any {
	e := map[string]any{"id": "node/" + m.name, "node": m.name, "type": "node", "status": "unknown"}
	if have {
		if !inCluster || m.online {
			for _, k := range []string{"uptime", "cpu", "mem", "disk"} {
				e[k] = d[k]
			}
			e["status"] = "online"
		}
		e["level"] = ""
		for _, k := range []string{"maxcpu", "maxmem", "maxdisk"} {
			e[k] = d[k]
		}
	}
	if inCluster && !m.online {
		e["status"] = "offline"
	}
	return e
}

// rrdGuestKeys are the values of a guest's RRD entry that
// extract_vm_stats puts into /cluster/resources, by the name vmstatus gives
// them ("cpus" becomes maxcpu).
var rrdGuestKeys = map[string]string{
	"uptime": "uptime", "name": "name", "status": "status", "template": "template",
	"cpus": "maxcpu", "cpu": "cpu", "maxmem": "maxmem", "mem": "mem", "maxdisk": "maxdisk", "disk": "disk",
	"netin": "netin", "netout": "netout", "diskread": "diskread", "diskwrite": "diskwrite",
}

// newRRDGuest takes a guest's RRD values from its vmstatus.
func newRRDGuest(s map[string]any) rrdGuest {
	e := rrdGuest{"template": 0}
	for from, to := range rrdGuestKeys {
		if v, ok := s[from]; ok {
			e[to] = v
		}
	}
	if e["template"] != 1 {
		e["template"] = 0
	}
	return e
}

// startStatd starts every node's pvestatd, each with its first broadcast
// after firstTick(interval) (Start: a moment of its own within the first
// interval; the daemons start with their machines).
func (l *pveLab) startStatd(firstTick func(time.Duration) time.Duration) {
	now := time.Now()
	for _, h := range l.hosts {
		// The machines have been running before the lab starts: their
		// pvestatd has broadcast already. (The caller holds pveLab.mu.)
		h.pve.mu.Lock()
		h.pve.recordStatusLocked(h.name, now)
		h.pve.mu.Unlock()
		go l.statd(h, firstTick(l.statdInterval))
	}
}

// statd is one node's pvestatd: a broadcast after first, then one every
// interval, until the lab closes.
func (l *pveLab) statd(h *labHost, first time.Duration) {
	t := time.NewTimer(first)
	defer t.Stop()
	for {
		select {
		case <-l.done:
			return
		case <-t.C:
		}
		l.broadcastStatus(h)
		t.Reset(l.statdInterval)
	}
}

// broadcastStatus is update_status of node h's pvestatd: the status of
// its guests goes into its state's RRD data. A node that is off sends
// nothing.
func (l *pveLab) broadcastStatus(h *labHost) {
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
	defer p.mu.Unlock()
	p.settleLocked(now)
	p.recordStatusLocked(h.name, now)
}

// recordStatusLocked puts what node's pvestatd broadcasts at now into p's
// RRD data. The caller holds p.mu.
func (p *PVE) recordStatusLocked(node string, now time.Time) {
	for id, vm := range p.qemu.vms {
		if vm.node == node {
			p.rrd[id] = newRRDGuest(p.vmStatusLocked(vm, now, false))
		}
	}
	for id, ct := range p.lxc.cts {
		if ct.node == node {
			p.rrd[id] = newRRDGuest(p.ctStatusLocked(ct, now))
		}
	}
	n := p.nodeLocked(node)
	if n == nil {
		return
	}
	p.rrdNodes[node] = rrdStats{at: now, values: map[string]any{
		"uptime": n.Uptime(now), "cpu": n.CPU(now), "maxcpu": n.Threads, "mem": n.MemUsed(now), "maxmem": n.MemTotal,
		"disk": n.RootUsed(), "maxdisk": n.RootTotal,
	}}
	// update_storage_status: the storages enabled on the node and active
	for _, st := range p.storageDefs() {
		if !st.availableOn(node) {
			continue
		}
		if d := p.storageStatusLocked(n, st); d["active"] == 1 {
			p.rrdStorage[node+"/"+st.id] = rrdStats{at: now, values: map[string]any{"disk": d["used"], "maxdisk": d["total"]}}
		}
	}
}
