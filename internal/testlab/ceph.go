package testlab

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
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

// The lab's Ceph cluster is the real thing: Debian's ceph-mon, ceph-mgr and
// ceph-osd, started without systemd as children of the test process, on
// 127.0.0.1, with everything they keep in one temporary directory:
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
// HEALTH_OK one or two seconds after StartCeph is called. Each OSD stands on a
// CRUSH host of its own, pve1, pve2, ... like one OSD per node of a PVE
// cluster, so that rules with failure domain "host" can be satisfied, and
// declares its device class itself when it boots (the crush_device_class
// file ceph-volume writes).
//
// Close kills the processes StartCeph started, and only those, waits for
// them and removes the directory. Should the test process die first, the
// kernel kills them (PR_SET_PDEATHSIG).

// CephOptions configures StartCeph. The zero value starts a monitor, a
// manager and three OSDs of device classes ssd, ssd and hdd.
type CephOptions struct {
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

// Ceph is a running Ceph cluster started by StartCeph. Its methods are safe
// for concurrent use.
type Ceph struct {
	dir      string
	fsid     string
	monHost  string
	adminKey string
	classes  []string
	logf     func(format string, args ...any)
	started  time.Duration

	mu      sync.Mutex
	daemons []*cephDaemon
	rados   *radosClient
	closed  bool
}

// cephDaemon is one process StartCeph started.
type cephDaemon struct {
	name string // e.g. "osd.0"
	cmd  *exec.Cmd
	log  string // its log file
	done chan struct{}
	err  error // how it ended, once done is closed
}

// Binaries the lab's Ceph needs; cephPackages install them.
var (
	cephBinaries = []string{"ceph-mon", "ceph-mgr", "ceph-osd", "ceph", "monmaptool"}
	cephPackages = []string{"ceph-mon", "ceph-mgr", "ceph-osd", "ceph-common"}
)

// cephPython is the interpreter of Debian's python3-rados, which the ceph
// CLI runs on too (a python3 first in PATH may not have the module).
const cephPython = "/usr/bin/python3"

// missingCephBinaries returns the Ceph programs that cannot be found.
func missingCephBinaries() []string {
	var missing []string
	for _, b := range cephBinaries {
		if _, err := exec.LookPath(b); err != nil {
			missing = append(missing, b)
		}
	}
	if _, err := os.Stat(cephPython); err != nil {
		missing = append(missing, cephPython)
	}
	return missing
}

// StartCeph starts a Ceph cluster as described by opts and returns once
// all its OSDs are up and in and its manager is active, normally when it
// reports HEALTH_OK. It needs the Debian packages ceph-mon, ceph-mgr,
// ceph-osd and ceph-common (see RequireCeph), but not root.
func StartCeph(opts CephOptions) (*Ceph, error) {
	begin := time.Now()
	if missing := missingCephBinaries(); len(missing) > 0 {
		return nil, fmt.Errorf("testlab: Ceph is not installed: %s not found (apt-get install %s; internal/testlab/ceph-install.sh or make ceph-deps do it)",
			strings.Join(missing, ", "), strings.Join(cephPackages, " "))
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 60 * time.Second
	}
	if opts.OSDClasses == nil {
		opts.OSDClasses = []string{"ssd", "ssd", "hdd"}
	}
	if len(opts.OSDClasses) == 0 {
		return nil, errors.New("testlab: a Ceph cluster needs at least one OSD")
	}
	dir, err := cephTempDir()
	if err != nil {
		return nil, err
	}
	c := &Ceph{dir: dir, fsid: sim.RandomUUID(), classes: slices.Clone(opts.OSDClasses), logf: opts.Logf}
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
	c.logf("testlab: Ceph %s started in %v: 1 mon, 1 mgr, %d OSDs (%s) at %s, in %s",
		c.fsid, c.started.Round(time.Millisecond), len(c.classes), strings.Join(c.classes, ", "), c.monHost, c.dir)
	return c, nil
}

// cephTempDir makes the cluster's directory. Admin sockets are Unix
// sockets, whose paths must stay short: a long TMPDIR gives way to /tmp.
func cephTempDir() (string, error) {
	base := os.TempDir()
	if len(base) > 40 {
		base = "/tmp"
	}
	dir, err := os.MkdirTemp(base, "testlab-ceph-")
	if err != nil {
		return "", fmt.Errorf("testlab: ceph directory: %w", err)
	}
	return dir, nil
}

func (c *Ceph) path(elem ...string) string { return filepath.Join(append([]string{c.dir}, elem...)...) }

func (c *Ceph) start(ctx context.Context, opts CephOptions) error {
	ports, err := freePorts(2)
	if err != nil {
		return err
	}
	c.monHost = fmt.Sprintf("[v2:127.0.0.1:%d,v1:127.0.0.1:%d]", ports[0], ports[1])
	n := len(c.classes)
	for _, d := range []string{"mon", "mgr/x", "log", "run", "crash"} {
		if err := os.MkdirAll(c.path(d), 0o755); err != nil {
			return fmt.Errorf("testlab: ceph directory: %w", err)
		}
	}
	for i := range n {
		if err := os.MkdirAll(c.path("osd", fmt.Sprint(i)), 0o755); err != nil {
			return fmt.Errorf("testlab: ceph directory: %w", err)
		}
	}

	// keys: all of them go into the monitor's store at --mkfs
	admin := cephKeyEntry{name: "client.admin", key: newCephKey(), caps: [][2]string{{"mds", "allow *"}, {"mgr", "allow *"}, {"mon", "allow *"}, {"osd", "allow *"}}}
	c.adminKey = admin.key
	mgr := cephKeyEntry{name: "mgr.x", key: newCephKey(), caps: [][2]string{{"mds", "allow *"}, {"mon", "allow profile mgr"}, {"osd", "allow *"}}}
	all := []cephKeyEntry{{name: "mon.", key: newCephKey(), caps: [][2]string{{"mon", "allow *"}}}, admin, mgr}
	files := map[string][]cephKeyEntry{
		c.KeyringPath():               {admin},
		c.path("mgr", "x", "keyring"): {mgr},
	}
	osdUUIDs := make([]string, n)
	for i := range n {
		osd := cephKeyEntry{name: fmt.Sprintf("osd.%d", i), key: newCephKey(), caps: [][2]string{{"mgr", "allow profile osd"}, {"mon", "allow profile osd"}, {"osd", "allow *"}}}
		all = append(all, osd)
		files[c.path("osd", fmt.Sprint(i), "keyring")] = []cephKeyEntry{osd}
		osdUUIDs[i] = sim.RandomUUID()
		// read by the OSD when it boots (osd_class_update_on_start)
		if err := os.WriteFile(c.path("osd", fmt.Sprint(i), "crush_device_class"), []byte(c.classes[i]+"\n"), 0o644); err != nil {
			return fmt.Errorf("testlab: ceph: %w", err)
		}
	}
	files[c.path("mon.keyring")] = all
	for path, entries := range files {
		if err := os.WriteFile(path, []byte(keyringText(entries)), 0o600); err != nil {
			return fmt.Errorf("testlab: ceph keyring: %w", err)
		}
	}
	if err := c.linkMgrModules(); err != nil {
		return err
	}
	if err := os.WriteFile(c.ConfPath(), []byte(c.confText(opts)), 0o644); err != nil {
		return fmt.Errorf("testlab: ceph.conf: %w", err)
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
			return fmt.Errorf("testlab: ceph osd new %d: %w", i, err)
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
func (c *Ceph) confText(opts CephOptions) string {
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

// cephMgrModules is where Debian's ceph-mgr keeps its Python modules.
const cephMgrModules = "/usr/share/ceph/mgr"

// mgrAlwaysOn are the manager modules Pacific always runs; the manager
// loads only them, not the twenty others it would import first (two
// seconds of its start-up).
var mgrAlwaysOn = []string{"balancer", "crash", "devicehealth", "orchestrator", "pg_autoscaler", "progress", "rbd_support", "status", "telemetry", "volumes"}

// linkMgrModules makes the manager's module directory: links to the
// always-on modules and to the files they share.
func (c *Ceph) linkMgrModules() error {
	dir := c.path("mgr-modules")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("testlab: ceph: %w", err)
	}
	entries, err := os.ReadDir(cephMgrModules)
	if err != nil {
		return fmt.Errorf("testlab: ceph: manager modules: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() && !slices.Contains(mgrAlwaysOn, e.Name()) {
			continue
		}
		if err := os.Symlink(filepath.Join(cephMgrModules, e.Name()), filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("testlab: ceph: %w", err)
		}
	}
	return nil
}

// osdHost is the CRUSH host of OSD i.
func (c *Ceph) osdHost(i int) string { return fmt.Sprintf("pve%d", i+1) }

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
			return nil, fmt.Errorf("testlab: ceph: find a free port: %w", err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// run runs a Ceph tool to its end.
func (c *Ceph) run(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = c.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("testlab: %s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// spawn starts a daemon in the foreground (-f) as a child: its stdout and
// stderr go to log/<name>.out.
func (c *Ceph) spawn(name, prog string, args ...string) error {
	out, err := os.Create(c.path("log", name+".out"))
	if err != nil {
		return fmt.Errorf("testlab: ceph: %w", err)
	}
	defer out.Close()
	cmd := exec.Command(prog, args...)
	cmd.Dir = c.dir
	cmd.Stdout, cmd.Stderr = out, out
	// its own process group, so that a ^C to the tests does not reach it
	// first; killed by the kernel should the test process die
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("testlab: start %s: %w", name, err)
	}
	d := &cephDaemon{name: name, cmd: cmd, log: c.path("log", name+".log"), done: make(chan struct{})}
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
func (c *Ceph) deadDaemon() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, d := range c.daemons {
		select {
		case <-d.done:
			return fmt.Errorf("testlab: ceph %s exited (%v); its log ends with:\n%s", d.name, d.err, tailFile(d.log, c.path("log", d.name+".out")))
		default:
		}
	}
	return nil
}

// logTails returns the last lines of every daemon's log.
func (c *Ceph) logTails() string {
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

// CephStatus is the part of `ceph status` the lab looks at.
type CephStatus struct {
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
func (c *Ceph) Status() (*CephStatus, error) {
	out, _, err := c.MonCommand(map[string]any{"prefix": "status"})
	if err != nil {
		return nil, err
	}
	var st CephStatus
	if err := json.Unmarshal(out, &st); err != nil {
		return nil, fmt.Errorf("testlab: ceph status: %w", err)
	}
	return &st, nil
}

// waitReady waits until every OSD is up and in and the manager is
// available, then a little longer for HEALTH_OK.
func (c *Ceph) waitReady(ctx context.Context) error {
	n := len(c.classes)
	var st *CephStatus
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
				c.logf("testlab: Ceph is up but %s: %s", st.Health.Status, strings.Join(checks, ", "))
				return nil
			}
		}
		select {
		case <-ctx.Done():
			msg := "no status"
			if st != nil {
				msg = fmt.Sprintf("%d/%d OSDs up, %d in, mgr available %v, %s", st.OSDMap.NumUpOSDs, n, st.OSDMap.NumInOSDs, st.MgrMap.Available, st.Health.Status)
			}
			return fmt.Errorf("testlab: Ceph did not come up in time (%s); the daemons' logs end with:\n%s", msg, c.logTails())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// MonHost returns the monitor's addresses as ceph.conf's mon_host has
// them: "[v2:127.0.0.1:<port>,v1:127.0.0.1:<port>]".
func (c *Ceph) MonHost() string { return c.monHost }

// AdminKey returns client.admin's secret key (base64), as a keyring has it.
func (c *Ceph) AdminKey() string { return c.adminKey }

// KeyringPath returns the path of the keyring holding client.admin's key.
func (c *Ceph) KeyringPath() string { return c.path("ceph.client.admin.keyring") }

// ConfPath returns the path of the cluster's ceph.conf. It names the
// monitor and client.admin's keyring: `ceph -c <ConfPath>` needs nothing else.
func (c *Ceph) ConfPath() string { return c.path("ceph.conf") }

// FSID returns the cluster's fsid.
func (c *Ceph) FSID() string { return c.fsid }

// Dir returns the directory that holds the cluster's configuration, data
// and logs (log/).
func (c *Ceph) Dir() string { return c.dir }

// EnvLines returns shell lines exporting what the provider's ceph block
// reads from the environment to reach the cluster as client.admin:
// CEPH_MON_HOST, CEPH_USER and CEPH_KEY.
func (c *Ceph) EnvLines() []string {
	return []string{
		"export CEPH_MON_HOST=" + sim.ShellQuote(c.monHost),
		"export CEPH_USER=admin",
		"export CEPH_KEY=" + sim.ShellQuote(c.adminKey),
	}
}

// StartupTime returns how long StartCeph took.
func (c *Ceph) StartupTime() time.Duration { return c.started }

// OSDClasses returns the device class of each OSD, by OSD ID.
func (c *Ceph) OSDClasses() []string { return slices.Clone(c.classes) }

// OSDHost returns the CRUSH host of an OSD: pve1 for osd.0, pve2 for osd.1, ...
func (c *Ceph) OSDHost(id int) string { return c.osdHost(id) }

// SetAllowPoolDelete sets mon_allow_pool_delete in the monitors'
// configuration database (`ceph config set mon mon_allow_pool_delete`).
func (c *Ceph) SetAllowPoolDelete(allow bool) error {
	_, _, err := c.MonCommand(map[string]any{"prefix": "config set", "who": "mon", "name": "mon_allow_pool_delete", "value": fmt.Sprint(allow)})
	if err != nil {
		return fmt.Errorf("testlab: ceph config set mon mon_allow_pool_delete %v: %w", allow, err)
	}
	return nil
}

// CephError is a command the cluster refused: the negative errno and the
// status text the monitor sent (e.g. -1 and "pool deletion is disabled;
// ..."), or, for the CLI, its exit code and standard error.
type CephError struct {
	Command string
	Code    int
	Status  string
}

func (e *CephError) Error() string {
	return fmt.Sprintf("ceph %s: %s (%d)", e.Command, e.Status, e.Code)
}

// Command runs the ceph CLI against the cluster with --format json and
// returns its standard output, e.g. Command("osd", "pool", "ls"). A
// failure is a *CephError carrying the exit code and standard error.
func (c *Ceph) Command(args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	full := append([]string{"--conf", c.ConfPath(), "--connect-timeout", "15", "--format", "json"}, args...)
	cmd := exec.CommandContext(ctx, "ceph", full...)
	cmd.Dir = c.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return stdout.Bytes(), &CephError{Command: strings.Join(args, " "), Code: exit.ExitCode(), Status: strings.TrimSpace(stderr.String())}
	case err != nil:
		return nil, fmt.Errorf("testlab: ceph %s: %w", strings.Join(args, " "), err)
	}
	return stdout.Bytes(), nil
}

// CommandJSON runs the ceph CLI like Command and decodes its output into v.
func (c *Ceph) CommandJSON(v any, args ...string) error {
	out, err := c.Command(args...)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(out, v); err != nil {
		return fmt.Errorf("testlab: ceph %s: decode %q: %w", strings.Join(args, " "), out, err)
	}
	return nil
}

// MonCommand sends a command to the monitor through librados, the way PVE
// does (PVE::RADOS mon_command): cmd is the command's JSON object, e.g.
// {"prefix": "osd pool ls"}; "format" defaults to "json". It returns the
// output and the status text. A command the cluster refuses is a
// *CephError with the negative errno and the status text. The connection
// is kept open between calls, so a command takes milliseconds.
func (c *Ceph) MonCommand(cmd map[string]any) ([]byte, string, error) {
	if _, ok := cmd["format"]; !ok {
		cmd = maps.Clone(cmd)
		cmd["format"] = "json"
	}
	c.mu.Lock()
	rc, closed := c.rados, c.closed
	c.mu.Unlock()
	if closed || rc == nil {
		return nil, "", errCephClosed
	}
	return rc.monCommand(cmd)
}

var errCephClosed = errors.New("testlab: the Ceph cluster is not running")

// Close kills the daemons StartCeph started, waits for them and removes the
// cluster's directory. It is safe to call more than once.
func (c *Ceph) Close() error {
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
			c.logf("testlab: ceph %s (pid %d) did not end after SIGKILL", d.name, d.cmd.Process.Pid)
		}
	}
	if err := os.RemoveAll(c.dir); err != nil {
		return fmt.Errorf("testlab: remove %s: %w", c.dir, err)
	}
	return nil
}

// PIDs returns the process IDs of the daemons the cluster runs, by name
// ("mon.a", "mgr.x", "osd.0", ...).
func (c *Ceph) PIDs() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for _, d := range c.daemons {
		out[d.name] = d.cmd.Process.Pid
	}
	return out
}

// --- keys ------------------------------------------------------------------

// cephKeyEntry is one entity of a keyring.
type cephKeyEntry struct {
	name string
	key  string
	caps [][2]string // service, capability
}

// newCephKey returns a new cephx secret as keyrings hold it: the base64 of
// CryptoKey's encoding (type AES, creation time, length, 16 random bytes).
func newCephKey() string {
	secret := make([]byte, 16)
	if _, err := rand.Read(secret); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	now := time.Now()
	b := make([]byte, 0, 28)
	b = binary.LittleEndian.AppendUint16(b, 1) // CEPH_CRYPTO_AES
	b = binary.LittleEndian.AppendUint32(b, uint32(now.Unix()))
	b = binary.LittleEndian.AppendUint32(b, uint32(now.Nanosecond()))
	b = binary.LittleEndian.AppendUint16(b, uint16(len(secret)))
	b = append(b, secret...)
	return base64.StdEncoding.EncodeToString(b)
}

// keyringText is a keyring file as ceph-authtool writes it.
func keyringText(entries []cephKeyEntry) string {
	var b strings.Builder
	for _, e := range entries {
		fmt.Fprintf(&b, "[%s]\n\tkey = %s\n", e.name, e.key)
		for _, cp := range e.caps {
			fmt.Fprintf(&b, "\tcaps %s = %q\n", cp[0], cp[1])
		}
	}
	return b.String()
}
