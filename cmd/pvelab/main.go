// Command pvelab runs a simulated Proxmox VE cluster until interrupted.
//
//	go run ./cmd/pvelab [-nodes 3] [-standalone] [-addr 127.0.0.1:0] [-pve-version 9.1|8.4] [-statd-interval 10s] [-task-speed 1] [-proxy-timeout 30s] [-ha-round 10s] [-latency D] [-jitter D] [-error-rate R] [-reset-rate R] [-lost-answer-rate R] [-lock-contention R] [-task-failure-rate R] [-bmc VARIANT] [-ceph] [-pbs] [-env-file PATH] [-ca-file PATH] [-stats-addr ADDR]
//
// Every node serves the API on a port of its own. The nodes form the
// cluster "pvelab", or with -standalone are separate PVE hosts, ready to
// form a cluster through the API. Every node has a BMC, a Redfish service
// on a port of its own that powers the node off and on.
//
// It prints shell lines exporting PVE_ENDPOINT, PVE_API_TOKEN,
// PVE_TLS_FINGERPRINT, PVE_USERNAME and PVE_PASSWORD (pve1's endpoint and
// certificate), then PVE_ENDPOINT_<NODE> and PVE_TLS_FINGERPRINT_<NODE> for
// every node (PVE_ENDPOINT_PVE2, ...), then BMC_USERNAME, BMC_PASSWORD and
// BMC_ENDPOINT_<NODE> for every node's BMC, on standard output (eval
// "$(...)" friendly) and logs to standard error. -bmc picks the BMCs' vendor
// behaviour: a comma separated list of "manager" (virtual media under the
// manager), "patch" (virtual media by PATCH, no actions), "tasks" (actions
// answer with task monitors), "busy=DURATION" (503 for that long after
// power on) and "sessions=N" (session slots). With -env-file it also
// every node (PVE_ENDPOINT_PVE2, ...), on standard output (eval "$(...)"
// friendly) and logs to standard error. With -ceph it also starts a real
// Ceph cluster (cephlab.Start; Debian's ceph-mon, ceph-mgr, ceph-osd
// and ceph-common must be installed), whose pools the nodes' Ceph API
// manages, and exports CEPH_MON_HOST, CEPH_USER and CEPH_KEY too. With -pbs
// it also starts a simulated Proxmox Backup Server (pbssim.Start) whose
// certificate the lab's CA signs, and exports PBS_ENDPOINT, PBS_USERNAME,
// PBS_PASSWORD, PBS_TLS_FINGERPRINT and PBS_API_TOKEN too. With -env-file it also
// writes those lines to PATH once the lab listens, for scripts that run it in
// the background, and removes the file when it stops. It stops on SIGINT or
// SIGTERM. With -stats-addr it also serves a request counter on that
// address (stats.go: GET /requests, POST /requests/reset) and exports its
// URL as PVE_LAB_STATS_URL, for benchmarks that count what a run costs.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/bmcsim"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/cephlab"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/pbssim"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/pvesim"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/sim"
)

// config holds the command line settings.
type config struct {
	nodes      int
	standalone bool
	addr       string
	schema     string
	version    string
	statd      time.Duration
	taskSpeed  float64
	proxyTime  time.Duration
	haRound    time.Duration
	faults     faultFlags
	bmc        string
	ceph       bool
	pbs        bool
	envFile    string
	caFile     string
	statsAddr  string
}

func main() {
	var cfg config
	flag.IntVar(&cfg.nodes, "nodes", 3, "number of nodes (1 = standalone node)")
	flag.BoolVar(&cfg.standalone, "standalone", false, "start the nodes as standalone hosts instead of a cluster")
	flag.StringVar(&cfg.addr, "addr", "127.0.0.1:0", "listen address")
	flag.StringVar(&cfg.schema, "schema", "", `PVE API schema file ("" = discover, "-" = no validation)`)
	flag.StringVar(&cfg.version, "pve-version", "", `PVE release to model: "9.1" (default) or "8.4"`)
	flag.DurationVar(&cfg.haRound, "ha-round", pvesim.DefaultHARound, "how often every node's HA CRM and LRM run a round; the fence delay (6 rounds) and agent lock lifetime (12 rounds) scale with it (PVE: 10s)")
	flag.DurationVar(&cfg.statd, "statd-interval", pvesim.DefaultStatdInterval, "how often every node's pvestatd broadcasts its guests' status to /cluster/resources (PVE: 10s)")
	flag.Float64Var(&cfg.taskSpeed, "task-speed", pvesim.DefaultTaskSpeed, "how fast guest workers run: their durations grow with the work (disks, data copied, drive mirrors); 2 halves them, 0.5 doubles them (PVE's lock timeouts do not scale)")
	flag.DurationVar(&cfg.proxyTime, "proxy-timeout", pvesim.DefaultProxyTimeout, "how long pveproxy waits for a call it proxies to pvedaemon (3 workers per node) or another node before answering 596 while the call goes on (PVE: 30s)")
	flag.DurationVar(&cfg.faults.latency, "latency", 0, "latency added to every request of every simulated server (PVE, PBS)")
	flag.DurationVar(&cfg.faults.jitter, "jitter", 0, "vary -latency by up to this much either way")
	flag.Float64Var(&cfg.faults.errorRate, "error-rate", 0, "fraction of requests (0..1) answered 596, as pveproxy does when its worker does not answer (PBS: 400 \"error trying to connect\", as proxmox-backup-proxy answers when it cannot reach proxmox-backup-api)")
	flag.Float64Var(&cfg.faults.resetRate, "reset-rate", 0, "fraction of requests (0..1) whose connection is reset without an answer")
	flag.Float64Var(&cfg.faults.lostRate, "lost-answer-rate", 0, "fraction of requests (0..1) that are carried out and whose connection is then reset without an answer, so that the client cannot tell whether they ran")
	flag.Float64Var(&cfg.faults.lockRate, "lock-contention", 0, "fraction of config-changing requests (0..1) that fail to get their lock, as PVE answers then")
	flag.Float64Var(&cfg.faults.taskRate, "task-failure-rate", 0, "fraction of tasks (0..1) that fail")
	flag.StringVar(&cfg.bmc, "bmc", "", `BMC behaviour: comma separated "manager", "patch", "tasks", "busy=2s", "sessions=N"`)
	flag.BoolVar(&cfg.ceph, "ceph", false, "also start a real Ceph cluster (1 mon, 1 mgr, 3 OSDs) for the nodes' Ceph API")
	flag.BoolVar(&cfg.pbs, "pbs", false, "also start a simulated Proxmox Backup Server (same CA)")
	flag.StringVar(&cfg.envFile, "env-file", "", "also write the export lines to this file")
	flag.StringVar(&cfg.caFile, "ca-file", "", "write the lab CA (it signs every node's and BMC's certificate) to this PEM file")
	flag.StringVar(&cfg.statsAddr, "stats-addr", "", `also serve a request counter (GET /requests, POST /requests/reset) on this address, e.g. "127.0.0.1:0"; its URL is exported as PVE_LAB_STATS_URL`)
	flag.Parse()

	logger := log.New(os.Stderr, "pvelab: ", log.LstdFlags)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, os.Stdout, logger); err != nil {
		logger.Fatal(err)
	}
}

// run serves a lab until ctx ends.
func run(ctx context.Context, cfg config, stdout io.Writer, logger *log.Logger) error {
	variant, err := parseBMCVariant(cfg.bmc)
	if err != nil {
		return err
	}
	var ceph *cephlab.Cluster
	if cfg.ceph {
		var err error
		// pveceph init writes mon_allow_pool_delete = true into the
		// ceph.conf of a PVE-managed cluster.
		ceph, err = cephlab.Start(cephlab.Options{AllowPoolDelete: true, Logf: logger.Printf})
		if err != nil {
			return err
		}
		defer ceph.Close()
	}
	lab, err := testlab.Start(testlab.Options{
		Ceph:       ceph,
		Nodes:      cfg.nodes,
		Standalone: cfg.standalone,
		Addr:       cfg.addr,
		SchemaPath: cfg.schema,
		Version:    cfg.version,
		BMC:        variant,

		StatdInterval: cfg.statd,
		TaskSpeed:     cfg.taskSpeed,
		ProxyTimeout:  cfg.proxyTime,
		HARound:       cfg.haRound,
		Logf:          logger.Printf,
	})
	if err != nil {
		return err
	}
	defer lab.Close()
	cfg.faults.apply(lab.Faults())

	if cfg.caFile != "" {
		if err := writeFileAtomic(cfg.caFile, []byte(lab.CACertPEM())); err != nil {
			return fmt.Errorf("write CA file: %w", err)
		}
		defer os.Remove(cfg.caFile)
	}
	var pbs *pbssim.Server
	if cfg.pbs {
		pbs, err = pbssim.Start(pbssim.Options{CA: lab.CA(), Addr: pbsAddr(cfg.addr), Logf: logger.Printf})
		if err != nil {
			return err
		}
		defer pbs.Close()
		cfg.faults.apply(pbs.Faults())
	}
	env := lab.EnvLines()
	if ceph != nil {
		env = append(env, ceph.EnvLines()...)
	}
	if pbs != nil {
		env = append(env, pbs.EnvLines()...)
	}
	if cfg.statsAddr != "" {
		servers := map[string]counter{"pve": lab}
		if pbs != nil {
			servers["pbs"] = pbs
		}
		statsURL, stopStats, err := serveStats(cfg.statsAddr, servers)
		if err != nil {
			return fmt.Errorf("request counter: %w", err)
		}
		defer stopStats()
		env = append(env, "export PVE_LAB_STATS_URL="+sim.ShellQuote(statsURL))
	}
	lines := strings.Join(env, "\n") + "\n"
	if _, err := io.WriteString(stdout, lines); err != nil {
		return err
	}
	if cfg.envFile != "" {
		if err := writeFileAtomic(cfg.envFile, []byte(lines)); err != nil {
			return fmt.Errorf("write env file: %w", err)
		}
		defer os.Remove(cfg.envFile)
	}
	for _, name := range lab.NodeNames() {
		logger.Printf("%s serving at %s, its BMC at %s (Redfish system %s)", name, lab.NodeEndpoint(name),
			lab.BMCEndpoint(name), lab.BMC(name).SystemID())
	}
	logger.Printf("download server (installer ISOs, container templates; local storages start empty) at %s", lab.FilesURL())
	if pbs != nil {
		logger.Printf("PBS %s serving at %s (fingerprint %s), schema validation: %v", pbs.Hostname(), pbs.URL(), pbs.Fingerprint(), pbs.SchemaLoaded())
	}
	logger.Printf("standalone: %v, schema validation: %v; stop with Ctrl-C", cfg.standalone || cfg.nodes == 1, lab.SchemaLoaded())

	<-ctx.Done()
	logger.Printf("stopping")
	return nil
}

// pbsAddr is the PBS's listen address: pve1's host on a port of its own.
func pbsAddr(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return net.JoinHostPort(host, "0")
	}
	return "127.0.0.1:0"
}

// parseBMCVariant parses the -bmc flag.
func parseBMCVariant(s string) (bmcsim.Variant, error) {
	var v bmcsim.Variant
	for _, item := range strings.Split(s, ",") {
		key, value, _ := strings.Cut(strings.TrimSpace(item), "=")
		var err error
		switch key {
		case "":
		case "manager":
			v.VirtualMediaUnderManager = true
		case "patch":
			v.PatchVirtualMedia = true
		case "tasks":
			v.TaskActions = true
		case "busy":
			v.BusyAfterPowerOn, err = time.ParseDuration(value)
		case "sessions":
			v.MaxSessions, err = strconv.Atoi(value)
		default:
			err = fmt.Errorf("unknown behaviour %q", key)
		}
		if err != nil {
			return v, fmt.Errorf("-bmc %q: %w", s, err)
		}
	}
	return v, nil
}

// writeFileAtomic writes data so that readers never see a partial file.
// The file holds the lab password, so only its owner may read it.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".pvelab-env-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// faultFlags are the fault-injection flags (sim.Faults) every simulated
// server takes.
type faultFlags struct {
	latency, jitter                          time.Duration
	errorRate, resetRate, lockRate, taskRate float64
	lostRate                                 float64
}

func (f faultFlags) apply(to *sim.Faults) {
	to.SetLatency(f.latency)
	to.SetJitter(f.jitter)
	to.SetErrorRate(f.errorRate)
	to.SetDropRate(f.resetRate)
	to.SetLostAnswerRate(f.lostRate)
	to.SetLockContention(f.lockRate)
	to.SetTaskFailureRate(f.taskRate, "injected failure (pvelab -task-failure-rate)")
}
