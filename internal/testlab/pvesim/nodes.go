package pvesim

import (
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/machine"
)

// userHZ is the kernel clock tick the nodes report (and UPIDs count in).
const userHZ = 100

const gib = machine.GiB

// node is one simulated cluster node: the machine and the PVE state kept
// per node.
type node struct {
	*machine.Machine
	net     *nodeNetwork // guarded by PVE.mu
	storage *nodeStorage // guarded by PVE.mu
}

// newNode returns node number i (1-based) of a lab started at now.
func newNode(i int, now time.Time) *node {
	m := machine.New(i, now)
	boot := m.Boot()
	return &node{
		Machine: m,
		net:     newNodeNetwork(m.IP, m.NICNames(), boot.Add(-30*24*time.Hour)),
		storage: newNodeStorage(),
	}
}

// node returns the lab node with that name, or nil.
func (p *PVE) node(name string) *node {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.nodeLocked(name)
}

func (p *PVE) nodeLocked(name string) *node {
	for _, n := range p.nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

func (p *PVE) registerNodeRoutes() {
	p.Handle(http.MethodGet, "/nodes", p.listNodes)
	p.Handle(http.MethodGet, "/nodes/{node}", p.nodeIndex)
	p.Handle(http.MethodGet, "/nodes/{node}/status", p.nodeStatus)
	p.Handle(http.MethodGet, "/nodes/{node}/version", func(*Request) (any, error) { return p.versionInfo(), nil })
}

// listNodes serves GET /nodes (pve-manager PVE/API2/Nodes.pm index): the
// nodes of the node list (a standalone node: itself), each as
// extract_node_stats makes it from pvestatd's broadcasts (statd.go).
func (p *PVE) listNodes(*Request) (any, error) {
	ci := p.clusterInfo()
	now := time.Now()
	out := []map[string]any{}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range ci.members {
		n := m.node
		d, have := rrdEntryLocked(p.rrdNodes, m.name, now)
		e := extractNodeStats(m, ci.inCluster, d, have)
		// get_node_fingerprint reads /etc/pve/nodes/<node>/pve-ssl.pem, which
		// a node that has not finished joining does not have yet
		if n != nil {
			e["ssl_fingerprint"] = m.host.cert.Load().Fingerprint
		}
		out = append(out, e)
	}
	return out, nil
}

// nodeIndex serves GET /nodes/{node}: the node's sub-directories. Like PVE
// it does not check that the node exists.
func (p *PVE) nodeIndex(*Request) (any, error) {
	out := []map[string]any{}
	for _, name := range p.routes.childNames("/nodes/{node}") {
		if !strings.HasPrefix(name, "{") {
			out = append(out, map[string]any{"name": name})
		}
	}
	return out, nil
}

// nodeStatus serves GET /nodes/{node}/status.
func (p *PVE) nodeStatus(r *Request) (any, error) {
	n := p.node(r.PathParams["node"])
	now := time.Now()
	memUsed := n.MemUsed(now)
	rootUsed := n.RootUsed()
	loadavg := func(base float64) string { return fmt.Sprintf("%.2f", n.Load(now, base, 0.2)) }
	return map[string]any{
		"boot-info": map[string]any{"mode": "efi", "secureboot": 0},
		"cpu":       n.CPU(now),
		"cpuinfo": map[string]any{
			"model":   machine.CPUModel,
			"cpus":    n.Threads,
			"sockets": n.Sockets,
			"cores":   n.Cores,
			"mhz":     "3200.000",
			"hvm":     "1",
			"user_hz": userHZ,
			"flags":   machine.CPUFlags,
		},
		"current-kernel": map[string]any{
			"sysname": "Linux",
			"release": p.rel.kernel,
			"version": p.rel.kversion,
			"machine": "x86_64",
		},
		"idle":       0,
		"ksm":        map[string]any{"shared": 0},
		"kversion":   "Linux " + p.rel.kernel + " " + p.rel.kversion,
		"loadavg":    []string{loadavg(0.1), loadavg(0.08), loadavg(0.05)},
		"memory":     map[string]any{"total": n.MemTotal, "used": memUsed, "free": n.MemTotal - memUsed, "available": n.MemTotal - memUsed + gib},
		"swap":       map[string]any{"total": n.SwapTotal, "used": 0, "free": n.SwapTotal},
		"rootfs":     map[string]any{"total": n.RootTotal, "used": rootUsed, "free": n.RootTotal - rootUsed, "avail": n.RootTotal - rootUsed - 5*gib},
		"pveversion": "pve-manager/" + p.rel.version + "/" + p.rel.repoid,
		"uptime":     n.Uptime(now),
		"wait":       math.Round(n.Load(now, 0, 0.002)*1e6) / 1e6,
	}, nil
}
