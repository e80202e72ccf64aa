// Package cephlab runs the lab's Ceph cluster (Start), which is the real
// thing: Debian's ceph-mon, ceph-mgr and ceph-osd, started without systemd
// as children of the test process, on 127.0.0.1, with everything they keep in one temporary directory:
//
//	ceph.conf                    the cluster's configuration (ConfPath)
//	ceph.client.admin.keyring    client.admin's key (KeyringPath, AdminKey)
//	mon/mon.a/                   the monitor's store
//	mgr/x/                       the manager's data directory and keyring
//	mgr-modules/                 links to the manager modules it loads
//	osd/<id>/                    each OSD's data directory and keyring
//	log/                         every daemon's log and stderr, cluster.log
//	run/                         admin sockets
//	rados-helper.py              the librados connection of MonCommand
//
// Every key is made up front and put into the monitor's store when it is
// created (ceph-mon --mkfs), so no daemon needs a bootstrap key. The OSDs
// keep their objects in memory (memstore): an OSD is ready as soon as it
// has booted, and a cluster of a monitor, a manager and three OSDs is
// HEALTH_OK one or two seconds after Start is called. Each OSD stands on a
// CRUSH host of its own, pve1, pve2, ... like one OSD per node of a PVE
// cluster, so that rules with failure domain "host" can be satisfied, and
// declares its device class itself when it boots (the crush_device_class
// file ceph-volume writes).
//
// Close kills the processes Start started, and only those, waits for
// them and removes the directory. Should the test process die first, the
// kernel kills them (PR_SET_PDEATHSIG).
package cephlab

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/sim"
)

// Options configures Start. The zero value starts a monitor, a
// manager and three OSDs of device classes ssd, ssd and hdd.
type Options struct {
	// OSDClasses is the device class of each OSD: one OSD per entry, osd.0
	// on CRUSH host pve1, osd.1 on pve2, ... (default ssd, ssd, hdd).
	OSDClasses []string
	// AllowPoolDelete sets mon_allow_pool_delete. It is false by default,
	// as on a fresh Ceph cluster: the monitors then refuse to delete pools.
	// SetAllowPoolDelete changes it later.
	AllowPoolDelete bool
	// Config holds more options for the [global] section of ceph.conf, by
	// name, e.g. {"mon_max_pg_per_osd": "500"}. They win over the lab's.
	Config map[string]string
	// Timeout bounds the start-up (default 60s).
	Timeout time.Duration
	// Logf receives diagnostic messages (optional).
	Logf func(format string, args ...any)
}

// Cluster is a running Ceph cluster started by Start. Its methods are safe
// for concurrent use. The zero Cluster is one that is not running: its
// commands fail as those of a closed one.
type Cluster struct {
	dir      string
	fsid     string
	monHost  string
	adminKey string
	classes  []string
	logf     func(format string, args ...any)
	started  time.Duration

	mu      sync.Mutex
	daemons []*daemon
	rados   *radosClient
	closed  bool
}

// daemon is one process Start started.
type daemon struct {
	name string // e.g. "osd.0"
	cmd  *exec.Cmd
	log  string // its log file
	done chan struct{}
	err  error // how it ended, once done is closed
}

// Binaries the lab's Ceph needs; packages install them.
var (
	binaries = []string{"ceph-mon", "ceph-mgr", "ceph-osd", "ceph", "monmaptool"}
	packages = []string{"ceph-mon", "ceph-mgr", "ceph-osd", "ceph-common"}
)

// python is the interpreter of Debian's python3-rados, which the ceph
// CLI runs on too (a python3 first in PATH may not have the module).
const python = "/usr/bin/python3"

// missingBinaries returns the Ceph programs that cannot be found.
func missingBinaries() []string {
	var missing []string
	for _, b := range binaries {
		if _, err := exec.LookPath(b); err != nil {
			missing = append(missing, b)
		}
	}
	if _, err := os.Stat(python); err != nil {
		missing = append(missing, python)
	}
	return missing
}

// Start starts a Ceph cluster as described by opts and returns once
// all its OSDs are up and in and its manager is active, normally when it
// reports HEALTH_OK. It needs the Debian packages ceph-mon, ceph-mgr,
// ceph-osd and ceph-common (see Require), but not root.
func Start(opts Options) (*Cluster, error) {
	begin := time.Now()
	if missing := missingBinaries(); len(missing) > 0 {
		return nil, fmt.Errorf("cephlab: Ceph is not installed: %s not found (apt-get install %s; internal/testlab/cephlab/ceph-install.sh or make ceph-deps do it)",
			strings.Join(missing, ", "), strings.Join(packages, " "))
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 60 * time.Second
	}
	if opts.OSDClasses == nil {
		opts.OSDClasses = []string{"ssd", "ssd", "hdd"}
	}
	if len(opts.OSDClasses) == 0 {
		return nil, errors.New("cephlab: a Ceph cluster needs at least one OSD")
	}
	dir, err := tempDir()
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir, fsid: sim.RandomUUID(), classes: slices.Clone(opts.OSDClasses), logf: opts.Logf}
	if c.logf == nil {
		c.logf = func(string, ...any) {}
	}
	ctx, cancel := context.WithTimeout(context.Background(), opts.Timeout)
	defer cancel()
	if err := c.start(ctx, opts); err != nil {
		_ = c.Close()
		return nil, err
	}
	c.started = time.Since(begin)
	c.logf("cephlab: Ceph %s started in %v: 1 mon, 1 mgr, %d OSDs (%s) at %s, in %s",
		c.fsid, c.started.Round(time.Millisecond), len(c.classes), strings.Join(c.classes, ", "), c.monHost, c.dir)
	return c, nil
}

// tempDir makes the cluster's directory. Admin sockets are Unix
// sockets, whose paths must stay short: a long TMPDIR gives way to /tmp.
func tempDir() (string, error) {
	base := os.TempDir()
	if len(base) > 40 {
		base = "/tmp"
	}
	dir, err := os.MkdirTemp(base, "testlab-ceph-")
	if err != nil {
		return "", fmt.Errorf("cephlab: ceph directory: %w", err)
	}
	return dir, nil
}

func (c *Cluster) path(elem ...string) string {
	return filepath.Join(append([]string{c.dir}, elem...)...)
}

func (c *Cluster) start(ctx context.Context, opts Options) error {
	ports, err := freePorts(2)
	if err != nil {
		return err
	}
	c.monHost = fmt.Sprintf("[v2:127.0.0.1:%d,v1:127.0.0.1:%d]", ports[0], ports[1])
	n := len(c.classes)
	for _, d := range []string{"mon", "mgr/x", "log", "run", "crash"} {
		if err := os.MkdirAll(c.path(d), 0o755); err != nil {
			return fmt.Errorf("cephlab: ceph directory: %w", err)
		}
	}
	for i := range n {
		if err := os.MkdirAll(c.path("osd", fmt.Sprint(i)), 0o755); err != nil {
			return fmt.Errorf("cephlab: ceph directory: %w", err)
		}
	}

	// keys: all of them go into the monitor's store at --mkfs
	admin := keyEntry{name: "client.admin", key: newKey(), caps: [][2]string{{"mds", "allow *"}, {"mgr", "allow *"}, {"mon", "allow *"}, {"osd", "allow *"}}}
	c.adminKey = admin.key
	mgr := keyEntry{name: "mgr.x", key: newKey(), caps: [][2]string{{"mds", "allow *"}, {"mon", "allow profile mgr"}, {"osd", "allow *"}}}
	all := []keyEntry{{name: "mon.", key: newKey(), caps: [][2]string{{"mon", "allow *"}}}, admin, mgr}
	files := map[string][]keyEntry{
		c.KeyringPath():               {admin},
		c.path("mgr", "x", "keyring"): {mgr},
	}
	osdUUIDs := make([]string, n)
	for i := range n {
		osd := keyEntry{name: fmt.Sprintf("osd.%d", i), key: newKey(), caps: [][2]string{{"mgr", "allow profile osd"}, {"mon", "allow profile osd"}, {"osd", "allow *"}}}
		all = append(all, osd)
		files[c.path("osd", fmt.Sprint(i), "keyring")] = []keyEntry{osd}
		osdUUIDs[i] = sim.RandomUUID()
		// read by the OSD when it boots (osd_class_update_on_start)
		if err := os.WriteFile(c.path("osd", fmt.Sprint(i), "crush_device_class"), []byte(c.classes[i]+"\n"), 0o644); err != nil {
			return fmt.Errorf("cephlab: ceph: %w", err)
		}
	}
	files[c.path("mon.keyring")] = all
	for path, entries := range files {
		if err := os.WriteFile(path, []byte(keyringText(entries)), 0o600); err != nil {
			return fmt.Errorf("cephlab: ceph keyring: %w", err)
		}
	}
	if err := c.linkMgrModules(); err != nil {
		return err
	}
	if err := os.WriteFile(c.ConfPath(), []byte(c.confText(opts)), 0o644); err != nil {
		return fmt.Errorf("cephlab: ceph.conf: %w", err)
	}

	// the monitor's store, then the daemons
	if err := c.run(ctx, "monmaptool", "--create", "--fsid", c.fsid, "--addv", "a", c.monHost, c.path("monmap")); err != nil {
		return err
	}
	if err := c.run(ctx, "ceph-mon", "--conf", c.ConfPath(), "--mkfs", "-i", "a", "--monmap", c.path("monmap"), "--keyring", c.path("mon.keyring")); err != nil {
		return err
	}
	// the OSDs' stores do not need the monitor: make them meanwhile
	mkfs := make(chan error, n)
	for i := range n {
		go func() {
			mkfs <- c.run(ctx, "ceph-osd", "--conf", c.ConfPath(), "--mkfs", "-i", fmt.Sprint(i), "--osd-uuid", osdUUIDs[i])
		}()
	}
	if err := c.spawn("mon.a", "ceph-mon", "--conf", c.ConfPath(), "-f", "-i", "a"); err != nil {
		return err
	}
	if err := c.spawn("mgr.x", "ceph-mgr", "--conf", c.ConfPath(), "-f", "-i", "x"); err != nil {
		return err
	}
	rc, err := startRados(ctx, c)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.rados = rc
	c.mu.Unlock()

	for range n {
		if err := <-mkfs; err != nil {
			return err
		}
	}
	for i := range n {
		if _, _, err := c.MonCommand(map[string]any{"prefix": "osd new", "uuid": osdUUIDs[i], "id": i}); err != nil {
			return fmt.Errorf("cephlab: ceph osd new %d: %w", i, err)
		}
	}
	if opts.AllowPoolDelete {
		if err := c.SetAllowPoolDelete(true); err != nil {
			return err
		}
	}
	for i := range n {
		if err := c.spawn(fmt.Sprintf("osd.%d", i), "ceph-osd", "--conf", c.ConfPath(), "-f", "-i", fmt.Sprint(i)); err != nil {
			return err
		}
	}
	return c.waitReady(ctx)
}

// confText is the cluster's ceph.conf.
func (c *Cluster) confText(opts Options) string {
	global := map[string]string{
		"fsid":                                  c.fsid,
		"mon_host":                              c.monHost,
		"public_addr":                           "127.0.0.1",
		"ms_bind_ipv6":                          "false",
		"auth_cluster_required":                 "cephx",
		"auth_service_required":                 "cephx",
		"auth_client_required":                  "cephx",
		"auth_allow_insecure_global_id_reclaim": "false",
		"keyring":                               c.KeyringPath(),
		"run_dir":                               c.path("run"),
		"crash_dir":                             c.path("crash"),
		"mon_cluster_log_file":                  c.path("log", "cluster.log"),
		// small pools by default; PVE passes its own values
		"osd_pool_default_size":     "3",
		"osd_pool_default_min_size": "2",
		"osd_pool_default_pg_num":   "8",
		"osd_pool_default_pgp_num":  "8",
		// the temporary directory shares a disk with everything else: no
		// MON_DISK_LOW, and no monitor that stops for want of space
		"mon_data_avail_warn": "1",
		"mon_data_avail_crit": "0",
		// every change of a map waits for the monitor's next proposal: a
		// second by default, which an OSD's boot (device class, CRUSH
		// location, up) and every pool change would wait for
		"paxos_propose_interval": "0.05",
		// no modules beyond the ones always on, and only those to load
		"mgr_initial_modules": "",
		"mgr_module_path":     c.path("mgr-modules"),
		// memstore: objects in memory, up to this per OSD
		"osd_objectstore":       "memstore",
		"memstore_device_bytes": fmt.Sprint(10 << 30),
		// erasure coded pools for RBD need allow_ec_overwrites, which the
		// monitors allow only on BlueStore OSDs unless told otherwise
		"mon_debug_no_require_bluestore_for_ec_overwrites": "true",
	}
	for k, v := range opts.Config {
		global[strings.ReplaceAll(strings.TrimSpace(k), " ", "_")] = v
	}
	var b strings.Builder
	b.WriteString("[global]\n")
	keys := make([]string, 0, len(global))
	for k := range global {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "\t%s = %s\n", k, global[k])
	}
	fmt.Fprintf(&b, "\n[mon]\n\tmon_data = %s\n\tkeyring = %s\n\tlog_file = %s\n",
		c.path("mon", "$cluster-$id"), c.path("mon", "$cluster-$id", "keyring"), c.path("log", "$name.log"))
	fmt.Fprintf(&b, "\n[mgr]\n\tmgr_data = %s\n\tkeyring = %s\n\tlog_file = %s\n",
		c.path("mgr", "$id"), c.path("mgr", "$id", "keyring"), c.path("log", "$name.log"))
	fmt.Fprintf(&b, "\n[osd]\n\tosd_data = %s\n\tkeyring = %s\n\tlog_file = %s\n",
		c.path("osd", "$id"), c.path("osd", "$id", "keyring"), c.path("log", "$name.log"))
	for i := range c.classes {
		fmt.Fprintf(&b, "\n[osd.%d]\n\tcrush_location = root=default host=%s\n", i, c.osdHost(i))
	}
	return b.String()
}

// mgrModulesDir is where Debian's ceph-mgr keeps its Python modules.
const mgrModulesDir = "/usr/share/ceph/mgr"

// mgrAlwaysOn are the manager modules Pacific always runs; the manager
// loads only them, not the twenty others it would import first (two
// seconds of its start-up).
var mgrAlwaysOn = []string{"balancer", "crash", "devicehealth", "orchestrator", "pg_autoscaler", "progress", "rbd_support", "status", "telemetry", "volumes"}

// linkMgrModules makes the manager's module directory: links to the
// always-on modules and to the files they share.
func (c *Cluster) linkMgrModules() error {
	dir := c.path("mgr-modules")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("cephlab: ceph: %w", err)
	}
	entries, err := os.ReadDir(mgrModulesDir)
	if err != nil {
		return fmt.Errorf("cephlab: ceph: manager modules: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() && !slices.Contains(mgrAlwaysOn, e.Name()) {
			continue
		}
		if err := os.Symlink(filepath.Join(mgrModulesDir, e.Name()), filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("cephlab: ceph: %w", err)
		}
	}
	return nil
}

// osdHost is the CRUSH host of OSD i.
func (c *Cluster) osdHost(i int) string { return fmt.Sprintf("pve%d", i+1) }

// freePorts returns n TCP ports free on 127.0.0.1 right now.
func freePorts(n int) ([]int, error) {
	var ports []int
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			_ = ln.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("cephlab: ceph: find a free port: %w", err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// run runs a Ceph tool to its end.
func (c *Cluster) run(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = c.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("cephlab: %s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// spawn starts a daemon in the foreground (-f) as a child: its stdout and
// stderr go to log/<name>.out.
func (c *Cluster) spawn(name, prog string, args ...string) error {
	out, err := os.Create(c.path("log", name+".out"))
	if err != nil {
		return fmt.Errorf("cephlab: ceph: %w", err)
	}
	defer out.Close()
	cmd := exec.Command(prog, args...)
	cmd.Dir = c.dir
	cmd.Stdout, cmd.Stderr = out, out
	// its own process group, so that a ^C to the tests does not reach it
	// first; killed by the kernel should the test process die
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("cephlab: start %s: %w", name, err)
	}
	d := &daemon{name: name, cmd: cmd, log: c.path("log", name+".log"), done: make(chan struct{})}
	go func() {
		d.err = cmd.Wait()
		close(d.done)
	}()
	c.mu.Lock()
	c.daemons = append(c.daemons, d)
	c.mu.Unlock()
	return nil
}

// deadDaemon returns an error for the first daemon that has ended.
func (c *Cluster) deadDaemon() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, d := range c.daemons {
		select {
		case <-d.done:
			return fmt.Errorf("cephlab: ceph %s exited (%v); its log ends with:\n%s", d.name, d.err, tailFile(d.log, c.path("log", d.name+".out")))
		default:
		}
	}
	return nil
}

// logTails returns the last lines of every daemon's log.
func (c *Cluster) logTails() string {
	c.mu.Lock()
	daemons := slices.Clone(c.daemons)
	c.mu.Unlock()
	var b strings.Builder
	for _, d := range daemons {
		fmt.Fprintf(&b, "--- %s\n%s\n", d.name, tailFile(d.log, c.path("log", d.name+".out")))
	}
	return b.String()
}

// tailFile returns the last lines of the first of the files that has any.
func tailFile(paths ...string) string {
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil || len(bytes.TrimSpace(data)) == 0 {
			continue
		}
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		if len(lines) > 15 {
			lines = lines[len(lines)-15:]
		}
		return strings.Join(lines, "\n")
	}
	return "(nothing)"
}

// Status is the part of `ceph status` the lab looks at.
type Status struct {
	Health struct {
		Status string                     `json:"status"`
		Checks map[string]json.RawMessage `json:"checks"`
	} `json:"health"`
	OSDMap struct {
		NumOSDs   int `json:"num_osds"`
		NumUpOSDs int `json:"num_up_osds"`
		NumInOSDs int `json:"num_in_osds"`
	} `json:"osdmap"`
	MgrMap struct {
		Available bool `json:"available"`
	} `json:"mgrmap"`
}

// Status returns the cluster's status (`ceph status`).
func (c *Cluster) Status() (*Status, error) {
	out, _, err := c.MonCommand(map[string]any{"prefix": "status"})
	if err != nil {
		return nil, err
	}
	var st Status
	if err := json.Unmarshal(out, &st); err != nil {
		return nil, fmt.Errorf("cephlab: ceph status: %w", err)
	}
	return &st, nil
}

// waitReady waits until every OSD is up and in and the manager is
// available, then a little longer for HEALTH_OK.
func (c *Cluster) waitReady(ctx context.Context) error {
	n := len(c.classes)
	var st *Status
	var healthSince time.Time
	for {
		if err := c.deadDaemon(); err != nil {
			return err
		}
		var err error
		st, err = c.Status()
		if err == nil && st.OSDMap.NumUpOSDs == n && st.OSDMap.NumInOSDs == n && st.MgrMap.Available {
			if st.Health.Status == "HEALTH_OK" {
				return nil
			}
			if healthSince.IsZero() {
				healthSince = time.Now()
			}
			if time.Since(healthSince) > 10*time.Second {
				checks := slices.Sorted(maps.Keys(st.Health.Checks))
				c.logf("cephlab: Ceph is up but %s: %s", st.Health.Status, strings.Join(checks, ", "))
				return nil
			}
		}
		select {
		case <-ctx.Done():
			msg := "no status"
			if st != nil {
				msg = fmt.Sprintf("%d/%d OSDs up, %d in, mgr available %v, %s", st.OSDMap.NumUpOSDs, n, st.OSDMap.NumInOSDs, st.MgrMap.Available, st.Health.Status)
			}
			return fmt.Errorf("cephlab: Ceph did not come up in time (%s); the daemons' logs end with:\n%s", msg, c.logTails())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// MonHost returns the monitor's addresses as ceph.conf's mon_host has
// them: "[v2:127.0.0.1:<port>,v1:127.0.0.1:<port>]".
func (c *Cluster) MonHost() string { return c.monHost }

// AdminKey returns client.admin's secret key (base64), as a keyring has it.
func (c *Cluster) AdminKey() string { return c.adminKey }

// KeyringPath returns the path of the keyring holding client.admin's key.
func (c *Cluster) KeyringPath() string { return c.path("ceph.client.admin.keyring") }

// ConfPath returns the path of the cluster's ceph.conf. It names the
// monitor and client.admin's keyring: `ceph -c <ConfPath>` needs nothing else.
func (c *Cluster) ConfPath() string { return c.path("ceph.conf") }

// FSID returns the cluster's fsid.
func (c *Cluster) FSID() string { return c.fsid }

// Dir returns the directory that holds the cluster's configuration, data
// and logs (log/).
func (c *Cluster) Dir() string { return c.dir }

// EnvLines returns shell lines exporting what the provider's ceph block
// reads from the environment to reach the cluster as client.admin:
// CEPH_MON_HOST, CEPH_USER and CEPH_KEY.
func (c *Cluster) EnvLines() []string {
	return []string{
		"export CEPH_MON_HOST=" + sim.ShellQuote(c.monHost),
		"export CEPH_USER=admin",
		"export CEPH_KEY=" + sim.ShellQuote(c.adminKey),
	}
}

// StartupTime returns how long Start took.
func (c *Cluster) StartupTime() time.Duration { return c.started }

// OSDClasses returns the device class of each OSD, by OSD ID.
func (c *Cluster) OSDClasses() []string { return slices.Clone(c.classes) }

// OSDHost returns the CRUSH host of an OSD: pve1 for osd.0, pve2 for osd.1, ...
func (c *Cluster) OSDHost(id int) string { return c.osdHost(id) }

// SetAllowPoolDelete sets mon_allow_pool_delete in the monitors'
// configuration database (`ceph config set mon mon_allow_pool_delete`).
func (c *Cluster) SetAllowPoolDelete(allow bool) error {
	_, _, err := c.MonCommand(map[string]any{"prefix": "config set", "who": "mon", "name": "mon_allow_pool_delete", "value": fmt.Sprint(allow)})
	if err != nil {
		return fmt.Errorf("cephlab: ceph config set mon mon_allow_pool_delete %v: %w", allow, err)
	}
	return nil
}

// Close kills the daemons Start started, waits for them and removes the
// cluster's directory. It is safe to call more than once.
func (c *Cluster) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	daemons, rc := c.daemons, c.rados
	c.daemons, c.rados = nil, nil
	c.mu.Unlock()
	if rc != nil {
		rc.close()
	}
	// nothing of the cluster is kept: no need for a clean shutdown. Each
	// daemon leads a process group of its own (Setpgid): kill the group.
	// A daemon that has ended and been reaped is left alone: its ID may
	// be someone else's by now.
	for _, d := range daemons {
		select {
		case <-d.done:
		default:
			_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
			_ = d.cmd.Process.Signal(syscall.SIGKILL)
		}
	}
	for _, d := range daemons {
		select {
		case <-d.done:
		case <-time.After(10 * time.Second):
			c.logf("cephlab: ceph %s (pid %d) did not end after SIGKILL", d.name, d.cmd.Process.Pid)
		}
	}
	if err := os.RemoveAll(c.dir); err != nil {
		return fmt.Errorf("cephlab: remove %s: %w", c.dir, err)
	}
	return nil
}

// Running reports whether the cluster has been started and not closed
// yet: whether its monitor can be reached.
func (c *Cluster) Running() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.closed && c.rados != nil
}

// PIDs returns the process IDs of the daemons the cluster runs, by name
// ("mon.a", "mgr.x", "osd.0", ...).
func (c *Cluster) PIDs() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for _, d := range c.daemons {
		out[d.name] = d.cmd.Process.Pid
	}
	return out
}
