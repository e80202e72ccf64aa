package pvesim

import (
	"fmt"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/ifupdown"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/perl"
)

// The management address of a node is how everything reaches it: clients
// its API (pveproxy listens on every address, but a client connects to
// one), the other members' pveproxy when they forward a call to it
// (PVE::Cluster::remote_node_ip), and corosync (the lab's link0 is the same
// address). A network reload that leaves no interface up with that address
// therefore takes the node off the network: its endpoint refuses
// connections, calls forwarded to it fail with 595, and it drops out of
// the cluster's membership, until the address is back. Nothing the API can
// do brings it back (the API is what went away); an administrator at the
// console does (ConsoleWriteInterfaces), or a boot with a configuration
// that has it.
//
// At boot, pvenetcommit.service (pve-manager services/pvenetcommit.service,
// before sysinit) moves a staged /etc/network/interfaces.new over
// /etc/network/interfaces, and networking.service brings up what that file
// says: edits staged and never reloaded go live at the next boot
// (bootNetworkLocked).

// mgmtUpLocked reports whether an interface that is up carries the node's
// management address in the configuration last applied. The caller holds
// PVE.mu.
func (nw *nodeNetwork) mgmtUpLocked(now time.Time) bool {
	active := nw.activeAt(now)
	cfg := ifupdown.Parse(nw.applied, nw.nics, active)
	for name, d := range cfg.Ifaces {
		if active[name] && perl.String(d["address"]) == nw.mgmtIP {
			return true
		}
	}
	return false
}

// bootNetworkLocked is what a boot does to the network: pvenetcommit, then
// networking.service (ifup -a, modelled as a reload from nothing). The
// caller holds PVE.mu.
func (nw *nodeNetwork) bootNetworkLocked(now time.Time) {
	if nw.hasStaged {
		nw.current = ifupdown.File{Name: interfacesFile, Mtime: now, Text: nw.staged.Text}
		nw.hasStaged = false
	}
	nw.reloads = nil
	nw.active = ifupdown.Reload(ifupdown.Parse(nw.current.Text, nw.nics, nil), nw.nics, nil).Active
	nw.applied = nw.current.Text
}

// checkManagementLocked takes h off the network when its management
// address is not up any more, and back on when it is. The caller holds
// pveLab.mu.
func (l *pveLab) checkManagementLocked(h *labHost, now time.Time) {
	if !h.up {
		return
	}
	p := h.pve
	p.mu.Lock()
	n := p.nodeLocked(h.name)
	up := n == nil || n.net.mgmtUpLocked(now)
	p.mu.Unlock()
	switch {
	case !up && !h.netDown:
		h.netDown = true
		if h.srv != nil {
			srv := h.srv
			h.srv = nil
			go srv.Close()
		}
		l.logf("pvesim: %s: its management address %s is not up any more: its API is unreachable until it is back", h.name, h.node.IP)
	case up && h.netDown:
		h.netDown = false
		if err := l.listen(h); err != nil {
			l.logf("pvesim: %s: %v", h.name, err)
		}
	}
}

// watchReload checks node's management address when the reload worker t
// ends.
func (p *PVE) watchReload(node string, t *task) {
	time.AfterFunc(time.Until(t.end())+time.Millisecond, func() {
		l := p.lab
		l.mu.Lock()
		defer l.mu.Unlock()
		if h := l.host(node); h != nil && !l.closed {
			l.checkManagementLocked(h, time.Now())
		}
	})
}

// ConsoleWriteInterfaces is an administrator at node's console writing
// /etc/network/interfaces (discarding a staged interfaces.new) and running
// `ifreload -a`: how a node whose management address went away is reached
// again. The reload is done when it returns.
func (p *PVE) ConsoleWriteInterfaces(node, text string) error {
	l := p.lab
	l.mu.Lock()
	defer l.mu.Unlock()
	h := l.host(node)
	if h == nil || !h.up {
		return fmt.Errorf("pvesim: node %q is not running", node)
	}
	now := time.Now()
	hp := h.pve
	hp.mu.Lock()
	nw := hp.nodeLocked(node).net
	nw.current = ifupdown.File{Name: interfacesFile, Mtime: now, Text: text}
	nw.hasStaged = false
	nw.reloads = nil
	nw.active = ifupdown.Reload(ifupdown.Parse(text, nw.nics, nw.active), nw.nics, nw.active).Active
	nw.applied = text
	hp.mu.Unlock()
	l.checkManagementLocked(h, now)
	return nil
}

// InstallerInterfaces returns node's /etc/network/interfaces as the
// installer wrote it.
func (p *PVE) InstallerInterfaces(node string) string {
	n := p.node(node)
	if n == nil {
		return ""
	}
	return n.net.installed
}

// APIReachable reports whether node runs and its management address is
// up, so that its endpoint takes connections.
func (p *PVE) APIReachable(node string) bool {
	p.lab.mu.Lock()
	defer p.lab.mu.Unlock()
	h := p.lab.host(node)
	return h != nil && h.up && !h.netDown
}
