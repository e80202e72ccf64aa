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
// Left out: the node's own and its storages' statistics, which the lab
// still computes on request, and rrd_dump's 2 s cache per API worker.

// DefaultStatdInterval is pvestatd's $updatetime.
const DefaultStatdInterval = 10 * time.Second

// rrdGuest is what a node's pvestatd last broadcast for a guest.
type rrdGuest map[string]any

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
	for _, h := range l.hosts {
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
	for id, vm := range p.qemu.vms {
		if vm.node == h.name {
			p.rrd[id] = newRRDGuest(p.vmStatusLocked(vm, now, false))
		}
	}
	for id, ct := range p.lxc.cts {
		if ct.node == h.name {
			p.rrd[id] = newRRDGuest(p.ctStatusLocked(ct, now))
		}
	}
}
