package testlab

import (
	"net"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/bmcsim"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/cephlab"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/mirror"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/pvesim"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/sim"
)

// Options configures Start. The zero value starts a three node cluster,
// every node with its BMC, on random loopback ports.
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
	// nodes and the BMCs listen on the same host, on ports of their own.
	Addr string
	// SchemaPath is the PVE API schema (apidata JSON). "" discovers it (see
	// pvesim.Start); "-" disables schema validation.
	SchemaPath string
	// Logf receives diagnostic messages (optional).
	Logf func(format string, args ...any)
	// Ceph is the real Ceph cluster (cephlab.Start) the nodes run, as set up
	// by pveceph: their /nodes/{node}/ceph/... methods act on it (see
	// pvesim.PVE.AttachCeph). Without it they answer as nodes without Ceph
	// installed. The lab does not close it.
	Ceph *cephlab.Cluster
	// Version is the PVE release to model: "9.1" (default) or "8.4" (see
	// pvesim.Options.Version).
	Version string
	// StatdInterval is how often every node's pvestatd broadcasts its
	// guests' status, which /cluster/resources shows (0: PVE's 10 s; see
	// pvesim.Options.StatdInterval).
	StatdInterval time.Duration
	// TaskSpeed is how fast the guests' workers run relative to the lab's
	// durations, which grow with the work (0: pvesim.DefaultTaskSpeed; see
	// pvesim.Options.TaskSpeed).
	TaskSpeed float64
	// ProxyTimeout is how long pveproxy waits for a call it proxies to
	// pvedaemon or another node before answering 596 (0: PVE's 30 s; see
	// pvesim.Options.ProxyTimeout).
	ProxyTimeout time.Duration
	// HARound is how often every node's HA CRM and LRM run a round (0:
	// PVE's 10 s; see pvesim.Options.HARound).
	HARound time.Duration
	// BMC is the vendor behaviour every node's BMC starts with (see
	// bmcsim.Variant; BMC.SetVariant changes it later). The zero value is
	// the DMTF mockup's shape.
	BMC bmcsim.Variant
	// RedfishMockup is the folder of the DMTF public rack-mount mockup
	// (public-rackmount1) the BMCs serve. "" is REDFISH_MOCKUP, else the
	// lab's copy (package labdata); "-" serves only what the BMCs model.
	RedfishMockup string
}

// Lab is a running lab: the simulated PVE nodes (the embedded *pvesim.PVE,
// pve1's state as the lab starts: Endpoint, APIToken, Faults, ...) and
// their BMCs (BMC, BMCEndpoint, ...). Its methods are safe for concurrent
// use.
type Lab struct {
	*pvesim.PVE

	bmcs        map[string]*bmcsim.BMC // by node; written only by Start
	bmcPassword string                 // the BMCs' ADMIN password, the same on every BMC
	files       *mirror.Server         // the download server
}

// Start starts a lab: opts.Nodes simulated PVE nodes (pvesim.Start), each
// serving the API on its own HTTPS port, either as the cluster "pvelab" or
// (with opts.Standalone) as separate hosts, the BMC of every node, on a
// port of its own, and the download server (package mirror): the nodes'
// local storages start empty, as on a fresh install, and what guests need
// (installer ISOs, container templates) is downloaded from there.
func Start(opts Options) (*Lab, error) {
	mockup, err := bmcsim.OpenMockup(opts.RedfishMockup)
	if err != nil {
		return nil, err
	}
	p, err := pvesim.Start(pvesim.Options{
		Nodes:      opts.Nodes,
		Standalone: opts.Standalone,
		Addr:       opts.Addr,
		SchemaPath: opts.SchemaPath,
		Logf:       opts.Logf,
		Ceph:       opts.Ceph,
		Version:    opts.Version,

		StatdInterval: opts.StatdInterval,
		TaskSpeed:     opts.TaskSpeed,
		ProxyTimeout:  opts.ProxyTimeout,
		HARound:       opts.HARound,
	})
	if err != nil {
		return nil, err
	}
	l := &Lab{PVE: p, bmcs: map[string]*bmcsim.BMC{}, bmcPassword: sim.RandomHex(10)}
	if l.files, err = mirror.Start(otherAddr(opts.Addr)); err != nil {
		_ = l.Close()
		return nil, err
	}
	if err := l.startBMCs(otherAddr(opts.Addr), bmcsim.Config{Mockup: mockup, Variant: opts.BMC, Logf: opts.Logf}); err != nil {
		_ = l.Close()
		return nil, err
	}
	return l, nil
}

// otherAddr is where the BMCs listen: on pve1's host, on ports of their
// own.
func otherAddr(addr string) string {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return net.JoinHostPort(host, "0")
	}
	return addr
}

// StopNode powers a node off (pvesim.PVE.StopNode): its endpoint refuses
// connections, it leaves the membership of its cluster and the cluster's
// quorum is counted without its votes. Its BMC shows the system off.
func (l *Lab) StopNode(name string) error {
	err := l.PVE.StopNode(name)
	l.syncBMC(name)
	return err
}

// StartNode powers a node on again (pvesim.PVE.StartNode): it listens on
// the same endpoint and rejoins the membership of its cluster. Its BMC
// shows the system on.
func (l *Lab) StartNode(name string) error {
	err := l.PVE.StartNode(name)
	l.syncBMC(name)
	return err
}

// EnvLines returns shell lines exporting the lab's connection settings:
// PVE_ENDPOINT, PVE_API_TOKEN, PVE_TLS_FINGERPRINT, PVE_USERNAME and
// PVE_PASSWORD (pve1's endpoint and certificate), then the endpoint and
// fingerprint of every node: PVE_ENDPOINT_PVE1, PVE_TLS_FINGERPRINT_PVE1,
// ... (pvesim.PVE.EnvLines), then the BMCs' BMC_USERNAME and BMC_PASSWORD
// and the endpoint of every node's BMC: BMC_ENDPOINT_PVE1, ..., then the
// download server's base URL, PVE_LAB_FILES_URL.
func (l *Lab) EnvLines() []string {
	lines := l.PVE.EnvLines()
	for _, v := range l.bmcEnvVars() {
		lines = append(lines, "export "+v[0]+"="+sim.ShellQuote(v[1]))
	}
	return append(lines, "export PVE_LAB_FILES_URL="+sim.ShellQuote(l.FilesURL()))
}

// FilesURL is the base URL of the download server, e.g.
// "http://127.0.0.1:40123" (the files' paths are in package mirror).
func (l *Lab) FilesURL() string { return l.files.URL() }

// FileURL is the download server's URL of a file by name, e.g.
// mirror.DebianTemplate ("" for a name it does not serve).
func (l *Lab) FileURL(name string) string { return l.files.FileURL(name) }

// Close stops the BMCs and all nodes and closes all connections.
func (l *Lab) Close() error {
	first := l.closeBMCs()
	if l.files != nil {
		if err := l.files.Close(); err != nil && first == nil {
			first = err
		}
	}
	if err := l.PVE.Close(); err != nil && first == nil {
		first = err
	}
	return first
}
