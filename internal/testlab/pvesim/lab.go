package pvesim

import (
	"crypto/ecdsa"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/pveschema"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/sim"
)

// The lab's machines and how they relate to PVE states.
//
// A lab has N machines, pve1 .. pveN (labHost). Each has its own HTTPS
// listener, as every real node runs pveproxy, its own certificate and its
// node-local state (network configuration, disks, hardware: *node), which
// stays with the machine whatever cluster it is in.
//
// A PVE is the state /etc/pve holds (pmxcfs): for a cluster, the state all
// its members share; for a standalone node, its own. Guests, tasks, pools,
// mappings and whatever else the API manages live there. A machine's
// listener serves the PVE its host points at, so that in a cluster any
// member answers for the whole cluster.
//
// Topology changes move machines between PVE states: creating a cluster
// turns a standalone state into a one-node cluster; a node that joins a
// cluster leaves its standalone state behind (PVE replaces its
// configuration database by the cluster's) and brings its network
// configuration, storage and task history along; a node removed from its
// cluster keeps a stale copy of the cluster configuration, without
// corosync and so without quorum.
//
// Locking: pveLab.mu guards the topology (hosts' power and states, every
// PVE's corosync configuration, pending changes); PVE.mu guards a state.
// pveLab.mu is taken before any PVE.mu, never while holding one.

// pveproxyTimeout is pveproxy's connection timeout: a connection that
// sends nothing for 5 s is closed, between requests too (pve-http-server
// PVE::APIServer::AnyEvent: AnyEvent::Handle's timeout is $self->{timeout},
// "$self->{timeout} = 5 if !$self->{timeout}"; pveproxy sets none).
const pveproxyTimeout = 5 * time.Second

// labHost is one machine of the lab.
type labHost struct {
	index    int
	name     string
	node     *node
	key      *ecdsa.PrivateKey // pve-ssl.key, kept when the certificate is renewed
	cert     atomic.Pointer[sim.Cert]
	addr     string // the address its listener binds
	endpoint string

	// guarded by pveLab.mu
	pve *PVE
	up  bool
	// cfsDown is when the node's pmxcfs is stopped and restarting in a
	// cluster join (joinCluster): its API authenticates nobody then.
	cfsDown   [2]time.Time
	srv       *sim.Server
	netDown   bool          // up, but its management address is not (network_mgmt.go)
	staleConf *corosyncConf // corosync.conf kept after being removed from its cluster
}

// topoChange is a change of topology a worker makes when it ends.
type topoChange struct {
	at    time.Time
	host  *labHost
	apply func() // called with pveLab.mu held
}

// pveLab is the lab: its machines and what they share.
type pveLab struct {
	logf     func(format string, args ...any)
	rel      *pveReleaseInfo   // the release every node runs (Options.Version)
	schema   *pveschema.Schema // the API schema of that release
	ca       *sim.CA
	password string // root@pam's password, the same on every node
	token    string // secret of root@pam!lab, the same on every node
	faults   *Faults
	stats    sim.RequestStats

	logMu  sync.Mutex
	logged map[string]bool

	statdInterval time.Duration // every node's pvestatd (statd.go)
	taskSpeed     float64       // Options.TaskSpeed (tasks_timing.go)
	proxyTimeout  time.Duration // Options.ProxyTimeout (dispatch_daemon.go)

	daemonMu sync.Mutex
	daemons  map[string]chan struct{} // every node's pvedaemon workers, by node
	haRound  time.Duration            // every node's HA CRM and LRM (ha_manager.go)
	done     chan struct{}            // closed when the lab closes

	mu      sync.Mutex
	hosts   []*labHost
	pending []*topoChange
	closed  bool
}

// logOnce logs a message the first time key is seen.
func (l *pveLab) logOnce(key, format string, args ...any) {
	l.logMu.Lock()
	seen := l.logged[key]
	l.logged[key] = true
	l.logMu.Unlock()
	if !seen {
		l.logf(format, args...)
	}
}

func (l *pveLab) host(name string) *labHost {
	for _, h := range l.hosts {
		if h.name == name {
			return h
		}
	}
	return nil
}

// hostByAddress finds a machine by name or management IP, as a client
// resolving a host name would.
func (l *pveLab) hostByAddress(addr string) *labHost {
	for _, h := range l.hosts {
		if h.name == addr || h.node.IP == addr {
			return h
		}
	}
	return nil
}

// listen starts the listener of h on its address and serves it.
func (l *pveLab) listen(h *labHost) error {
	ln, err := net.Listen("tcp", h.addr)
	if err != nil {
		return fmt.Errorf("pvesim: listen on %s: %w", h.addr, err)
	}
	if h.endpoint == "" {
		h.addr = ln.Addr().String() // keep the port for restarts
		h.endpoint = "https://" + sim.EndpointHost(ln.Addr())
	}
	h.srv = sim.NewServer(ln, sim.ServerTLSConfig(h.cert.Load), func(req *http.Request) *sim.Response { return l.serve(h, req) })
	h.srv.IdleTimeout = pveproxyTimeout
	h.up = true
	go h.srv.Serve()
	return nil
}

// serve answers a request to h's API: h's current state answers it.
func (l *pveLab) serve(h *labHost, req *http.Request) *sim.Response {
	now := time.Now()
	l.mu.Lock()
	l.settleLocked(now)
	p := h.pve
	down := h.cfsDownAt(now)
	l.mu.Unlock()
	if down {
		return plainError(http.StatusUnauthorized, cfsDownMessage)
	}
	return p.serveRequest(req, h.name)
}

// cfsDownMessage is what pveproxy answers while /etc/pve is gone: no key
// to check a ticket or token with (PVE::AccessControl::verify_ticket,
// verify_token), so every request fails authentication.
const cfsDownMessage = "authentication failure"

// cfsDownAt reports whether h's pmxcfs is down at now. The caller holds
// pveLab.mu.
func (h *labHost) cfsDownAt(now time.Time) bool {
	return !now.Before(h.cfsDown[0]) && now.Before(h.cfsDown[1])
}

// cfsDownNode reports whether node name's pmxcfs is down now.
func (l *pveLab) cfsDownNode(name string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	h := l.host(name)
	return h != nil && h.cfsDownAt(time.Now())
}

// settleLocked applies the topology changes of workers that have ended.
func (l *pveLab) settleLocked(now time.Time) {
	slices.SortStableFunc(l.pending, func(a, b *topoChange) int { return a.at.Compare(b.at) })
	for len(l.pending) > 0 && !l.pending[0].at.After(now) {
		c := l.pending[0]
		l.pending = l.pending[1:]
		c.apply()
	}
}

// pendingFor reports whether a worker is about to change h's topology.
func (l *pveLab) pendingFor(h *labHost) bool {
	return slices.ContainsFunc(l.pending, func(c *topoChange) bool { return c.host == h })
}

// onlineLocked reports whether node name is an online member of p: its
// machine runs and serves p.
func (l *pveLab) onlineLocked(p *PVE, name string) bool {
	h := l.host(name)
	return h != nil && h.up && !h.netDown && h.pve == p
}

// quorateLocked is check_cfs_quorum for a node of p: a standalone node is
// always quorate (pmxcfs in local mode); a cluster when the votes of its
// online members are a majority.
func (l *pveLab) quorateLocked(p *PVE) bool {
	switch {
	case p.corosync == nil:
		return true
	case p.isolated:
		return false
	}
	return p.corosync.quorate(func(name string) bool { return l.onlineLocked(p, name) })
}

// renewCertLocked gives h a new certificate, as updatecerts with force
// does when a node joins a cluster (pveproxy is restarted with it).
func (l *pveLab) renewCertLocked(h *labHost) {
	c, err := l.ca.NodeCert(h.name, h.node.IP, h.key)
	if err != nil {
		l.logf("pvesim: renew certificate of %s: %v", h.name, err)
		return
	}
	h.cert.Store(c)
}

// newState returns a PVE state holding nodes; conf is its corosync.conf
// (nil: standalone).
func (l *pveLab) newState(nodes []*node, conf *corosyncConf) *PVE {
	p := newPVEState(l)
	p.nodes = nodes
	p.corosync = conf
	return p
}

// moveTasksLocked moves the tasks of node name from one state to another
// (task logs are files on the node, /var/log/pve/tasks).
func moveTasks(from, to *PVE, name string) {
	if from == to {
		return
	}
	from.mu.Lock()
	var moved []*task
	for upid, t := range from.tasks {
		if t.node == name {
			moved = append(moved, t)
			delete(from.tasks, upid)
		}
	}
	from.mu.Unlock()
	to.mu.Lock()
	for _, t := range moved {
		to.tasks[t.upid] = t
	}
	to.mu.Unlock()
}

// addMemberLocked puts h's node into p (joining p's cluster): p serves h's
// API from now on, with h's tasks.
func (l *pveLab) addMemberLocked(h *labHost, p *PVE) {
	from := h.pve
	moveTasks(from, p, h.name)
	if from != p {
		from.mu.Lock()
		from.nodes = slices.DeleteFunc(from.nodes, func(n *node) bool { return n == h.node })
		from.mu.Unlock()
	}
	p.mu.Lock()
	if !slices.Contains(p.nodes, h.node) {
		p.nodes = append(p.nodes, h.node)
		slices.SortFunc(p.nodes, func(a, b *node) int { return l.host(a.Name).index - l.host(b.Name).index })
	}
	p.mu.Unlock()
	h.pve = p
}

// isolateLocked makes h a node on its own with the stale corosync.conf it
// kept: no corosync, so no quorum, and none of the cluster's guests. It
// keeps its copy of the cluster's datacenter.cfg and HA configuration
// (read-only without quorum).
func (l *pveLab) isolateLocked(h *labHost) {
	from := h.pve
	conf := h.staleConf
	if conf == nil {
		conf = from.corosync.clone()
	}
	p := l.newState(nil, conf)
	p.isolated = true
	from.mu.Lock()
	from.nodes = slices.DeleteFunc(from.nodes, func(n *node) bool { return n == h.node })
	p.dcConfig = from.dcConfig
	p.ha.files = maps.Clone(from.ha.files)
	from.mu.Unlock()
	from.storeMu.Lock()
	p.storageCfg, p.privFiles = from.storageCfg, maps.Clone(from.privFiles)
	from.storeMu.Unlock()
	l.addMemberLocked(h, p)
}

// --- power ---------------------------------------------------------------

// ErrClosed is the error of StartNode after Close: nodes do not start
// after that.
var ErrClosed = errors.New("pvesim: lab is closed")

func (l *pveLab) stopNode(name string) error {
	l.mu.Lock()
	h := l.host(name)
	if h == nil {
		l.mu.Unlock()
		return fmt.Errorf("pvesim: no node %q", name)
	}
	l.settleLocked(time.Now())
	srv := h.srv
	h.srv, h.up, h.netDown = nil, false, false
	h.pve.powerLossLocked(h.name)
	l.mu.Unlock()
	if srv != nil {
		return srv.Close()
	}
	return nil
}

func (l *pveLab) startNode(name string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	h := l.host(name)
	if h == nil {
		return fmt.Errorf("pvesim: no node %q", name)
	}
	if l.closed {
		return ErrClosed
	}
	if h.up {
		return nil
	}
	now := time.Now()
	l.settleLocked(now)
	h.node.SetBoot(now)
	// The network as the boot brings it up (pvenetcommit, networking):
	// without its management address the node runs unreachable.
	h.pve.mu.Lock()
	h.node.net.bootNetworkLocked(now)
	mgmtUp := h.node.net.mgmtUpLocked(now)
	h.pve.mu.Unlock()
	h.netDown = !mgmtUp
	if mgmtUp {
		if err := l.listen(h); err != nil {
			return err
		}
	} else {
		h.up = true
		l.logf("pvesim: %s booted without its management address %s: its API is unreachable", h.name, h.node.IP)
	}
	// A node removed from its cluster while it was off comes back with the
	// corosync.conf it had: its cluster no longer knows it.
	if p := h.pve; p.corosync != nil && !p.isolated && p.corosync.node(h.name) == nil {
		l.isolateLocked(h)
	}
	return nil
}

func (l *pveLab) close() error {
	l.mu.Lock()
	if !l.closed {
		close(l.done)
	}
	l.closed = true
	var srvs []*sim.Server
	for _, h := range l.hosts {
		if h.srv != nil {
			srvs = append(srvs, h.srv)
			h.srv, h.up = nil, false
		}
	}
	l.mu.Unlock()
	var first error
	for _, s := range srvs {
		if err := s.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// powerLossLocked stops the guests running on node name: their processes
// die with the machine (no shutdown, no cleanup). The caller holds lab.mu.
func (p *PVE) powerLossLocked(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.settleLocked(time.Now())
	for _, vm := range p.qemu.vms {
		if vm.node == name && vm.running {
			vm.running, vm.paused, vm.pid, vm.machine, vm.hostPCI = false, false, 0, "", nil
		}
	}
	for _, ct := range p.lxc.cts {
		if ct.node == name && ct.running {
			stopCTLocked(ct)
		}
	}
}

// --- membership ----------------------------------------------------------

// memberInfo is a node of a state as the cluster sees it.
type memberInfo struct {
	name   string
	nodeid int
	votes  int
	ip     string
	node   *node // nil for a node of the node list whose machine is not in the state (yet)
	host   *labHost
	online bool
}

// clusterInfo is a state's view of its cluster (pmxcfs' clinfo).
type clusterInfo struct {
	inCluster bool
	name      string
	version   int
	quorate   bool
	members   []memberInfo // by node ID; for a standalone node, just itself
}

func (ci clusterInfo) member(name string) *memberInfo {
	for i := range ci.members {
		if ci.members[i].name == name {
			return &ci.members[i]
		}
	}
	return nil
}

// clusterInfo returns p's view of its cluster. The caller holds no PVE.mu.
func (p *PVE) clusterInfo() clusterInfo {
	l := p.lab
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.clusterInfoLocked(p)
}

func (l *pveLab) clusterInfoLocked(p *PVE) clusterInfo {
	ci := clusterInfo{quorate: l.quorateLocked(p)}
	if p.corosync == nil {
		for _, h := range l.hosts {
			if h.pve == p {
				ci.members = append(ci.members, memberInfo{name: h.name, ip: h.node.IP, node: h.node, host: h, online: true})
			}
		}
		return ci
	}
	ci.inCluster = true
	ci.name = p.corosync.name
	ci.version = p.corosync.version
	for _, cn := range p.corosync.sortedNodes() {
		m := memberInfo{name: cn.name, nodeid: cn.nodeid, votes: cn.votes, ip: cn.rings[0]}
		if h := l.host(cn.name); h != nil {
			m.host, m.ip = h, h.node.IP
			if h.pve == p {
				m.node = h.node
			}
			m.online = h.up && !h.netDown && h.pve == p
			if p.isolated {
				m.online = h.pve == p
			}
		}
		ci.members = append(ci.members, m)
	}
	return ci
}

// quorate is check_cfs_quorum(1) for a node of p.
func (p *PVE) quorate() bool {
	p.lab.mu.Lock()
	defer p.lab.mu.Unlock()
	return p.lab.quorateLocked(p)
}

// clusterName is the cluster's name, "" for a standalone node.
func (p *PVE) clusterName() string {
	p.lab.mu.Lock()
	defer p.lab.mu.Unlock()
	if p.corosync == nil {
		return ""
	}
	return p.corosync.name
}
