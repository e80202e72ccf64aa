package pvesim

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/cephlab"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/labdata"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/machine"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/pveschema"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/sim"
)

// PVE release the simulator reports; it matches the bundled schema file name.
const (
	pveVersion  = "9.1.3"
	pveRelease  = "9.1"
	pveRepoID   = "a1b2c3d4"
	pveKernel   = "6.17.2-1-pve"
	pveKVersion = "#1 SMP PREEMPT_DYNAMIC PMX 6.17.2-1 (2025-10-21T11:55Z)"
)

// Lab identity: the user and API token the lab accepts, and the name of
// the cluster a lab starts with.
const (
	labUser      = "root@pam"
	labTokenName = "lab"
	clusterName  = "pvelab"
)

// Options configures Start. The zero value starts a three node cluster
// on random loopback ports.
type Options struct {
	// Nodes is the number of nodes, named pve1, pve2, ... (default 3). They
	// form the cluster "pvelab", unless Standalone is set; a single node is
	// always a standalone PVE host: no cluster entry, no cluster name.
	Nodes int
	// Standalone starts the nodes as separate standalone PVE hosts, each
	// with its own configuration, guests and VMID space, ready to form a
	// cluster through the API (POST /cluster/config on one, POST
	// /cluster/config/join on the others).
	Standalone bool
	// Addr is the listen address of pve1 (default "127.0.0.1:0"). The other
	// nodes listen on the same host, on ports of their own.
	Addr string
	// SchemaPath is the PVE API schema (apidata JSON). "" discovers it (see
	// Start); "-" disables schema validation.
	SchemaPath string
	// Logf receives diagnostic messages (optional).
	Logf func(format string, args ...any)
	// Ceph is the real Ceph cluster (cephlab.Start) the nodes run, as set up by
	// pveceph: their /nodes/{node}/ceph/... methods act on it (see
	// AttachCeph). Without it they answer as nodes without Ceph installed.
	// The lab does not close it.
	Ceph *cephlab.Cluster
	// Version is the PVE release to model: "9.1" (default) or "8.4". It
	// selects the API schema (pve-9.1.3.json or pve-8.4.2.json), the versions
	// the nodes report and release specific behaviour (HA rules on 9.1, HA
	// groups on 8.4). Every node of the lab runs it, in a cluster or
	// standalone.
	Version string
	// StatdInterval is how often every node's pvestatd broadcasts the
	// status of its guests, which /cluster/resources shows (statd.go): 0 is
	// PVE's 10 s (DefaultStatdInterval). Tests may shorten it, not to zero.
	StatdInterval time.Duration
	// TaskSpeed is how fast the guests' workers run relative to the lab's
	// durations (tasks_timing.go), which grow with the work (disks
	// allocated, data copied, drive mirrors of running VMs): 2 halves
	// every duration, 0.5 doubles it; 0 is DefaultTaskSpeed. PVE's lock
	// timeouts do not scale, so a speed that makes a worker shorter than
	// a timeout hides that timeout, as a fast real disk would.
	TaskSpeed float64
	// ProxyTimeout is how long pveproxy waits for the answer of a call it
	// proxies to pvedaemon (protected methods) or to another node before it
	// answers 596 "Connection timed out" while the call goes on
	// (dispatch_daemon.go): 0 is PVE's 30 s (DefaultProxyTimeout). Tests
	// may shorten it.
	ProxyTimeout time.Duration
	// HARound is how often every node's HA CRM and LRM run a round
	// (ha_manager.go): 0 is PVE's 10 s (DefaultHARound). The fence delay
	// (6 rounds) and the agent lock lifetime (12 rounds) scale with it.
	// Tests may shorten it, not to zero.
	HARound time.Duration
}

// PVE is the state of one simulated Proxmox VE cluster, or of one
// standalone node: what /etc/pve holds (guests, tasks, pools, mappings,
// datacenter.cfg, HA, ...). Start returns the state of pve1 as it
// starts; its methods that concern the whole lab (endpoints, credentials,
// release, faults, node power) are the same on every state of the lab. All
// its methods are safe for concurrent use.
type PVE struct {
	lab       *pveLab
	logf      func(format string, args ...any)
	rel       *pveReleaseInfo   // the lab's release
	schema    *pveschema.Schema // the lab's schema
	faults    *Faults
	routes    *router
	ticketKey []byte // the cluster's authkey: signs tickets
	csrfKey   []byte // the cluster's pve-www.key

	// guarded by lab.mu
	corosync *corosyncConf // /etc/pve/corosync.conf; nil: not in a cluster
	isolated bool          // removed from its cluster: corosync stopped, no quorum

	mu              sync.Mutex
	nodes           []*node // the machines whose /etc/pve this is
	tasks           map[string]*task
	guests          map[int]guestRef
	qemu            qemuState                 // VMs
	lxc             lxcState                  // containers
	ops             []*vmOp                   // workers acting on guests
	flocks          map[int]*flock            // guest config flocks, by VMID
	ha              *haState                  // /etc/pve/ha (ha_config.go)
	rrd             map[int]rrdGuest          // the guests' status as pvestatd last broadcast it (statd.go)
	rrdNodes        map[string]rrdStats       // the nodes' own statistics, likewise
	rrdStorage      map[string]rrdStats       // the storages' usage by "<node>/<storage>", likewise
	dcConfig        string                    // /etc/pve/datacenter.cfg (options.go)
	pools           poolState                 // resource pools (user.cfg)
	resourceSources []func() []map[string]any // more /cluster/resources entries; called with mu held
	mappingFiles    map[string]string         // /etc/pve/mapping/<kind>.cfg, by kind ("pci", "usb")
	ceph            *cephlab.Cluster          // the Ceph cluster of /etc/pve/ceph.conf (ceph_pool.go); nil: none
	lastPID         int

	// /etc/pve/storage.cfg and /etc/pve/priv/storage (storage_config.go):
	// storeLock is the cfs lock writers hold, storeMu guards the contents
	// (taken after mu, never before it).
	storeLock  sync.Mutex
	storeMu    sync.Mutex
	storageCfg string
	privFiles  map[string]string
}

// newPVEState returns an empty state of lab l with the lab's routes.
func newPVEState(l *pveLab) *PVE {
	p := &PVE{
		lab:        l,
		logf:       l.logf,
		rel:        l.rel,
		schema:     l.schema,
		faults:     l.faults,
		routes:     newRouter(),
		ticketKey:  sim.RandomBytes(32),
		csrfKey:    sim.RandomBytes(32),
		tasks:      map[string]*task{},
		guests:     map[int]guestRef{},
		qemu:       newQemuState(),
		lxc:        newLXCState(),
		flocks:     map[int]*flock{},
		ha:         newHAState(),
		rrd:        map[int]rrdGuest{},
		rrdNodes:   map[string]rrdStats{},
		rrdStorage: map[string]rrdStats{},

		storageCfg: installerStorageCfg,
		privFiles:  map[string]string{},
	}
	if l.schema != nil {
		p.routes.attachSchema(l.schema)
	}
	p.registerBuiltins()
	p.dropRoutesOutsideSchema()
	p.checkRoutesAgainstSchema()
	return p
}

// Start starts a simulated PVE lab: opts.Nodes nodes, each serving the
// API on its own HTTPS port, either as the cluster "pvelab" or (with
// opts.Standalone) as separate hosts. It returns pve1's state.
//
// The API schema is found, in this order, at opts.SchemaPath, at the path in
// the environment variable PVE_API_SCHEMA, or by walking up from the working
// directory and looking at each level for ../shared/api-schemas/pve-9.1.3.json
// and shared/api-schemas/pve-9.1.3.json (pve-8.4.2.json with Version "8.4";
// PVE_API_SCHEMA then names the 9.1 file, the 8.4 file is looked for beside
// it). Without the official file the lab uses its own copy of the served
// routes' part of it (package labdata), so that requests are checked all the
// same; under CI (CI=true) the official file must be found.
func Start(opts Options) (*PVE, error) {
	return start(opts, func(interval time.Duration) time.Duration { return rand.N(interval) })
}

// start is Start; firstTick says when each node's pvestatd first
// broadcasts, given the interval (Start: at a random moment within it).
func start(opts Options, firstTick func(time.Duration) time.Duration) (*PVE, error) {
	if opts.Nodes < 0 {
		return nil, fmt.Errorf("pvesim: invalid node count %d", opts.Nodes)
	}
	if opts.Nodes == 0 {
		opts.Nodes = 3
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	switch {
	case opts.StatdInterval < 0:
		return nil, fmt.Errorf("pvesim: invalid statd interval %s", opts.StatdInterval)
	case opts.StatdInterval == 0:
		opts.StatdInterval = DefaultStatdInterval
	}
	switch {
	case opts.ProxyTimeout < 0:
		return nil, fmt.Errorf("pvesim: invalid proxy timeout %s", opts.ProxyTimeout)
	case opts.ProxyTimeout == 0:
		opts.ProxyTimeout = DefaultProxyTimeout
	}
	switch {
	case opts.TaskSpeed < 0:
		return nil, fmt.Errorf("pvesim: invalid task speed %g", opts.TaskSpeed)
	case opts.TaskSpeed == 0:
		opts.TaskSpeed = DefaultTaskSpeed
	}
	switch {
	case opts.HARound < 0:
		return nil, fmt.Errorf("pvesim: invalid HA round %s", opts.HARound)
	case opts.HARound == 0:
		opts.HARound = DefaultHARound
	}
	rel, err := lookupPVERelease(opts.Version)
	if err != nil {
		return nil, err
	}
	l := &pveLab{
		logf:     opts.Logf,
		rel:      rel,
		password: sim.RandomHex(12),
		token:    sim.RandomUUID(),
		faults:   sim.NewFaults(),
		logged:   map[string]bool{},

		statdInterval: opts.StatdInterval,
		taskSpeed:     opts.TaskSpeed,
		proxyTimeout:  opts.ProxyTimeout,
		haRound:       opts.HARound,
		done:          make(chan struct{}),
	}
	if l.logf == nil {
		l.logf = func(string, ...any) {}
	}
	if err := l.loadSchema(opts.SchemaPath); err != nil {
		return nil, err
	}
	ca, err := sim.NewCA()
	if err != nil {
		return nil, err
	}
	l.ca = ca

	// the other nodes listen on pve1's host, on ports of their own
	otherAddr := opts.Addr
	if host, _, err := net.SplitHostPort(opts.Addr); err == nil {
		otherAddr = net.JoinHostPort(host, "0")
	}
	now := time.Now()
	for i := 1; i <= opts.Nodes; i++ {
		n := newNode(i, now)
		key, err := sim.NewKey()
		if err != nil {
			return nil, err
		}
		h := &labHost{index: i, name: n.Name, node: n, key: key, addr: otherAddr}
		if i == 1 {
			h.addr = opts.Addr
		}
		cert, err := ca.NodeCert(n.Name, n.IP, key)
		if err != nil {
			return nil, err
		}
		h.cert.Store(cert)
		l.hosts = append(l.hosts, h)
	}

	if opts.Standalone || opts.Nodes == 1 {
		for _, h := range l.hosts {
			h.pve = l.newState([]*node{h.node}, nil)
		}
	} else {
		conf := &corosyncConf{name: clusterName, version: len(l.hosts), links: map[int]int{0: 0}}
		var nodes []*node
		for _, h := range l.hosts {
			nodes = append(nodes, h.node)
			conf.nodes = append(conf.nodes, &corosyncNode{name: h.name, nodeid: h.node.ID, votes: 1, rings: map[int]string{0: h.node.IP}})
		}
		p := l.newState(nodes, conf)
		for _, h := range l.hosts {
			h.pve = p
		}
	}

	if opts.Ceph != nil {
		for _, h := range l.hosts {
			h.pve.AttachCeph(opts.Ceph)
		}
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	for _, h := range l.hosts {
		if err := l.listen(h); err != nil {
			for _, o := range l.hosts {
				if o.srv != nil {
					_ = o.srv.Close()
				}
			}
			return nil, err
		}
	}
	l.startStatd(firstTick)
	l.startHA(firstTick)
	return l.hosts[0].pve, nil
}

// Endpoint returns pve1's base URL, e.g. "https://127.0.0.1:8006" (without /api2/json).
func (p *PVE) Endpoint() string { return p.lab.hosts[0].endpoint }

// NodeEndpoint returns the base URL of a node's API ("" for an unknown node).
func (p *PVE) NodeEndpoint(name string) string {
	if h := p.lab.host(name); h != nil {
		return h.endpoint
	}
	return ""
}

// NodeNames returns the names of the lab's nodes: pve1, pve2, ...
func (p *PVE) NodeNames() []string {
	var out []string
	for _, h := range p.lab.hosts {
		out = append(out, h.name)
	}
	return out
}

// Fingerprint returns the SHA-256 fingerprint of pve1's certificate the
// way PVE shows it: uppercase hex bytes separated by colons.
func (p *PVE) Fingerprint() string { return p.NodeFingerprint(p.lab.hosts[0].name) }

// NodeFingerprint returns the fingerprint of the certificate a node serves
// now ("" for an unknown node). A node that joins a cluster gets a new
// certificate, as in PVE.
func (p *PVE) NodeFingerprint(name string) string {
	if h := p.lab.host(name); h != nil {
		return h.cert.Load().Fingerprint
	}
	return ""
}

// CACertPEM returns the PEM encoded certificate of the lab's CA, which
// signs the certificates of all nodes (valid for 127.0.0.1, ::1, localhost,
// the node's IP and name).
func (p *PVE) CACertPEM() string { return string(p.lab.ca.CertPEM) }

// CA returns the lab's CA, e.g. for the nodes' BMCs or a simulated PBS
// whose certificates it should sign (bmcsim.Config.CA, pbssim.Options.CA),
// so that one CA covers the whole lab.
func (p *PVE) CA() *sim.CA { return p.lab.ca }

// Username returns the user the lab accepts, "root@pam".
func (p *PVE) Username() string { return labUser }

// Password returns the password of root@pam (random per lab, the same on
// every node).
func (p *PVE) Password() string { return p.lab.password }

// APIToken returns the lab's API token in the form user@realm!tokenid=secret.
func (p *PVE) APIToken() string { return p.tokenID() + "=" + p.lab.token }

func (p *PVE) tokenID() string { return labUser + "!" + labTokenName }

// SchemaLoaded reports whether requests are validated against the official schema.
func (p *PVE) SchemaLoaded() bool { return p.schema != nil }

// Faults returns the fault-injection knobs of the lab.
func (p *PVE) Faults() *Faults { return p.faults }

// Requests returns the number of API requests the lab's nodes received per
// "METHOD /path/template", e.g. "GET /nodes/{node}/status". Requests to
// unknown paths count under their literal path.
func (p *PVE) Requests() map[string]int { return p.lab.stats.Snapshot() }

// RequestLog returns the lab's last API requests (sim.RequestLogSize), in
// the order they came, each as "METHOD /path/template" (as Requests counts
// them).
func (p *PVE) RequestLog() []string { return p.lab.stats.Log() }

// ResetRequests zeroes the request counters and empties the request log.
func (p *PVE) ResetRequests() { p.lab.stats.Reset() }

// StopNode powers a node off: its endpoint refuses connections, it leaves
// the membership of its cluster (offline in /cluster/status and /nodes)
// and the cluster's quorum is counted without its votes. The guests
// running on it stop at once. Stopping a node that is off does nothing.
func (p *PVE) StopNode(name string) error { return p.lab.stopNode(name) }

// StartNode powers a node on again: it listens on the same endpoint and
// rejoins the membership of its cluster. Starting a node that runs does
// nothing; after Close it is an error (ErrClosed).
func (p *PVE) StartNode(name string) error { return p.lab.startNode(name) }

// NodeRunning reports whether a node is powered on.
func (p *PVE) NodeRunning(name string) bool {
	p.lab.mu.Lock()
	defer p.lab.mu.Unlock()
	h := p.lab.host(name)
	return h != nil && h.up
}

// Machine returns the physical server a node runs on: its name, hardware
// and NICs (nil for an unknown node), e.g. for the node's BMC.
func (p *PVE) Machine(name string) *machine.Machine {
	if h := p.lab.host(name); h != nil {
		return h.node.Machine
	}
	return nil
}

// EnvLines returns shell lines exporting the lab's connection settings:
// PVE_ENDPOINT, PVE_API_TOKEN, PVE_TLS_FINGERPRINT, PVE_USERNAME and
// PVE_PASSWORD (pve1's endpoint and certificate), then the endpoint and
// fingerprint of every node: PVE_ENDPOINT_PVE1, PVE_TLS_FINGERPRINT_PVE1,
// ...
func (p *PVE) EnvLines() []string {
	vars := [][2]string{
		{"PVE_ENDPOINT", p.Endpoint()},
		{"PVE_API_TOKEN", p.APIToken()},
		{"PVE_TLS_FINGERPRINT", p.Fingerprint()},
		{"PVE_USERNAME", p.Username()},
		{"PVE_PASSWORD", p.Password()},
	}
	for _, name := range p.NodeNames() {
		suffix := strings.ToUpper(name)
		vars = append(vars,
			[2]string{"PVE_ENDPOINT_" + suffix, p.NodeEndpoint(name)},
			[2]string{"PVE_TLS_FINGERPRINT_" + suffix, p.NodeFingerprint(name)})
	}
	lines := make([]string, 0, len(vars))
	for _, v := range vars {
		lines = append(lines, "export "+v[0]+"="+sim.ShellQuote(v[1]))
	}
	return lines
}

// Close stops all nodes and closes all connections.
func (p *PVE) Close() error { return p.lab.close() }

// logOnce logs a message the first time key is seen.
func (p *PVE) logOnce(key, format string, args ...any) { p.lab.logOnce(key, format, args...) }

// loadSchema loads the schema according to the SchemaPath option: a file,
// "-" for none, or "" for PVE_API_SCHEMA, else the official schema beside
// the repository, else the lab's copy (package labdata).
func (l *pveLab) loadSchema(path string) error {
	if path == "" {
		if env := os.Getenv("PVE_API_SCHEMA"); env != "" {
			path = schemaFor(env, l.rel)
		}
	}
	src, ok, err := labdata.FindSchema(path, l.rel.schemaFile)
	if err != nil {
		return err
	}
	if !ok {
		l.logf("pvesim: PVE schema validation disabled")
		return nil
	}
	s, err := pveschema.Load(src.Key(), src.Read)
	if err != nil {
		return fmt.Errorf("pvesim: load PVE schema: %w", err)
	}
	l.schema = s
	return nil
}
