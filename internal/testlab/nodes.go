package testlab

import (
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// userHZ is the kernel clock tick the nodes report (and UPIDs count in).
const userHZ = 100

const (
	gib = uint64(1) << 30

	cpuModel = "Intel(R) Xeon(R) E-2388G CPU @ 3.20GHz"
	cpuFlags = "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush dts acpi mmx fxsr sse sse2 ss ht tm pbe syscall nx pdpe1gb rdtscp lm constant_tsc art arch_perfmon pebs bts rep_good nopl xtopology nonstop_tsc cpuid aperfmperf tsc_known_freq pni pclmulqdq dtes64 monitor ds_cpl vmx smx est tm2 ssse3 sdbg fma cx16 xtpr pdcm pcid sse4_1 sse4_2 x2apic movbe popcnt tsc_deadline_timer aes xsave avx f16c rdrand lahf_lm abm 3dnowprefetch cpuid_fault epb ssbd ibrs ibpb stibp ibrs_enhanced tpr_shadow flexpriority ept vpid ept_ad fsgsbase tsc_adjust bmi1 avx2 smep bmi2 erms invpcid mpx avx512f avx512dq rdseed adx smap avx512ifma clflushopt intel_pt avx512cd sha_ni avx512bw avx512vl xsaveopt xsavec xgetbv1 xsaves dtherm ida arat pln pts hwp hwp_notify hwp_act_window hwp_epp hwp_pkg_req avx512vbmi umip pku ospke avx512_vbmi2 gfni vaes vpclmulqdq avx512_vnni avx512_bitalg avx512_vpopcntdq rdpid fsrm md_clear flush_l1d arch_capabilities"
)

// node is one simulated cluster node.
type node struct {
	name      string
	nodeID    int
	ip        string
	bootNano  atomic.Int64 // when it booted last (UnixNano); set again when it is powered on
	sockets   int
	cores     int // per socket
	threads   int // logical CPUs
	memTotal  uint64
	swapTotal uint64
	rootTotal uint64
	net       *nodeNetwork // guarded by PVE.mu
	storage   *nodeStorage // guarded by PVE.mu
}

// newNode returns node number i (1-based) of a lab started at now.
func newNode(i int, now time.Time) *node {
	boot := now.Add(-(72*time.Hour + time.Duration(i)*97*time.Minute))
	n := &node{
		name:      fmt.Sprintf("pve%d", i),
		nodeID:    i,
		ip:        mgmtAddress(i),
		sockets:   1,
		cores:     8,
		threads:   16,
		memTotal:  64 * gib,
		swapTotal: 8 * gib,
		rootTotal: 94 * gib,
		net:       newNodeNetwork(mgmtAddress(i), boot.Add(-30*24*time.Hour)),
		storage:   newNodeStorage(boot.Add(-30 * 24 * time.Hour)),
	}
	n.bootNano.Store(boot.UnixNano())
	return n
}

// boot is when the node booted last.
func (n *node) boot() time.Time { return time.Unix(0, n.bootNano.Load()) }

// load is a small, slowly varying usage figure in [base, base+spread).
func load(n *node, now time.Time, base, spread float64) float64 {
	phase := float64(now.Unix())/97 + float64(n.nodeID)
	return base + spread*(0.5+0.5*math.Sin(phase))
}

func (n *node) uptime(now time.Time) int64 { return int64(now.Sub(n.boot()).Seconds()) }
func (n *node) memUsed(now time.Time) uint64 {
	return 6*gib + uint64(load(n, now, 0, 1)*float64(gib))
}
func (n *node) rootUsed() uint64 { return 4*gib + uint64(n.nodeID)*113*1024*1024 }
func (n *node) cpu(now time.Time) float64 {
	return math.Round(load(n, now, 0.004, 0.03)*1e6) / 1e6
}

// node returns the lab node with that name, or nil.
func (p *PVE) node(name string) *node {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.nodeLocked(name)
}

func (p *PVE) nodeLocked(name string) *node {
	for _, n := range p.nodes {
		if n.name == name {
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

// listNodes serves GET /nodes: the nodes of the node list (a standalone
// node: itself), with statistics for those online.
func (p *PVE) listNodes(*Request) (any, error) {
	ci := p.clusterInfo()
	now := time.Now()
	out := []map[string]any{}
	for _, m := range ci.members {
		n := m.node
		var e map[string]any
		if m.online && n != nil {
			e = map[string]any{
				"node":    n.name,
				"status":  "online",
				"cpu":     n.cpu(now),
				"maxcpu":  n.threads,
				"mem":     n.memUsed(now),
				"maxmem":  n.memTotal,
				"disk":    n.rootUsed(),
				"maxdisk": n.rootTotal,
				"uptime":  n.uptime(now),
				"level":   "",
				"id":      "node/" + n.name,
				"type":    "node",
			}
		} else {
			e = offlineNodeStats(m)
		}
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
	memUsed := n.memUsed(now)
	rootUsed := n.rootUsed()
	loadavg := func(base float64) string { return fmt.Sprintf("%.2f", load(n, now, base, 0.2)) }
	return map[string]any{
		"boot-info": map[string]any{"mode": "efi", "secureboot": 0},
		"cpu":       n.cpu(now),
		"cpuinfo": map[string]any{
			"model":   cpuModel,
			"cpus":    n.threads,
			"sockets": n.sockets,
			"cores":   n.cores,
			"mhz":     "3200.000",
			"hvm":     "1",
			"user_hz": userHZ,
			"flags":   cpuFlags,
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
		"memory":     map[string]any{"total": n.memTotal, "used": memUsed, "free": n.memTotal - memUsed, "available": n.memTotal - memUsed + gib},
		"swap":       map[string]any{"total": n.swapTotal, "used": 0, "free": n.swapTotal},
		"rootfs":     map[string]any{"total": n.rootTotal, "used": rootUsed, "free": n.rootTotal - rootUsed, "avail": n.rootTotal - rootUsed - 5*gib},
		"pveversion": "pve-manager/" + p.rel.version + "/" + p.rel.repoid,
		"uptime":     n.uptime(now),
		"wait":       math.Round(load(n, now, 0, 0.002)*1e6) / 1e6,
	}, nil
}
