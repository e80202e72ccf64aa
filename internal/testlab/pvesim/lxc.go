package pvesim

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/perl"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/pveschema"
)

// LXC containers as pve-container 6.x serves them (PVE::API2::LXC,
// ::LXC::Config, ::LXC::Status; PVE::LXC, PVE::LXC::Config,
// PVE::LXC::Create). A container's config is kept as PVE keeps it in
// /etc/pve/nodes/<node>/lxc/<vmid>.conf: current values, a [pve:pending]
// section and the "lock" field; its digest is the SHA1 of that text. The
// VMID space, flocks, workers, HA resources and storages are shared with
// the VMs (guest.go, qemu_ops.go, storage.go).
//
// Verified against pve-container's src/PVE/API2/LXC.pm,
// src/PVE/API2/LXC/Config.pm and Status.pm, src/PVE/LXC.pm (vmstatus,
// create_disks, alloc_disk, mkfs, vm_start, vm_stop, vm_reboot,
// check_ct_modify_config_perm), src/PVE/LXC/Config.pm (parse_pct_config,
// write_pct_config, update_pct_config, vmconfig_hotplug_pending,
// vmconfig_apply_pending, apply_pending_mountpoint), src/PVE/LXC/Migrate.pm,
// src/lxc-pve-poststop-hook, pve-guest-common's AbstractConfig,
// pve-storage's check_volume_access and abs_filesystem_path, pve-common's
// assert_if_modified, and real task logs; where a detail is from memory or
// assumed the comment says so.

// lxcState is everything the lab knows about containers. Guarded by PVE.mu.
type lxcState struct {
	cts map[int]*lxcCT
}

func newLXCState() lxcState { return lxcState{cts: map[int]*lxcCT{}} }

// lxcCT is one container: its config file and, when running, its init.
type lxcCT struct {
	guestConfig
	vmid    int
	node    string
	running bool
	started time.Time
	pid     int
}

// --- config keys ---------------------------------------------------------

var (
	lxcNetKeyRE    = regexp.MustCompile(`^net(\d+)$`)
	lxcMPKeyRE     = regexp.MustCompile(`^mp(\d+)$`)
	lxcDevKeyRE    = regexp.MustCompile(`^dev(\d+)$`)
	lxcNewDiskRE   = regexp.MustCompile(`^([^:\s]+):(\d+(\.\d+)?)$`) // $PVE::LXC::NEW_DISK_RE
	lxcFamilyKeyRE = []*regexp.Regexp{
		regexp.MustCompile(`^net([0-9]|[12][0-9]|3[01])$`),
		regexp.MustCompile(`^(mp|unused|dev)([0-9]|[1-9][0-9]|1[0-9][0-9]|2[0-4][0-9]|25[0-5])$`),
	}
	// the plain keys of $confdesc (parent and snaptime are internal)
	lxcOptions = setOf(`arch cmode console cores cpulimit cpuunits debug description entrypoint env features hookscript
		hostname ipmanagehost lock memory nameserver onboot ostype parent protection rootfs searchdomain snaptime
		startup swap tags template timezone tty unprivileged`)
	// JSON types of config values (check_type: booleans and integers
	// become numbers; a 'number' such as cpulimit stays the string it is)
	lxcBoolKeys = setOf("console debug ipmanagehost onboot protection template unprivileged")
	lxcIntKeys  = setOf("cores cpuunits memory snaptime swap tty")
	// $LXC_FASTPLUG_OPTIONS
	lxcFastplug = setOf("description onboot startup protection hostname hookscript cores tags lock")
)

// lxcOptionExists is PVE::LXC::Config->option_exists.
func lxcOptionExists(k string) bool {
	if lxcOptions[k] {
		return true
	}
	return slices.ContainsFunc(lxcFamilyKeyRE, func(re *regexp.Regexp) bool { return re.MatchString(k) })
}

func isLXCVolumeKey(k string) bool { return k == "rootfs" || lxcMPKeyRE.MatchString(k) }

// lxcVolumeKeys is valid_volume_keys: rootfs, then mp0 .. mp255, as far as
// conf has them.
func lxcVolumeKeys(conf map[string]string) []string {
	var out []string
	if _, ok := conf["rootfs"]; ok {
		out = append(out, "rootfs")
	}
	var mps []int
	for k := range conf {
		if m := lxcMPKeyRE.FindStringSubmatch(k); m != nil {
			n, _ := strconv.Atoi(m[1])
			mps = append(mps, n)
		}
	}
	slices.Sort(mps)
	for _, n := range mps {
		out = append(out, fmt.Sprintf("mp%d", n))
	}
	return out
}

// lxcTypedValue is a config value as parse_pct_config's check_type returns it.
func lxcTypedValue(k, v string) any {
	switch {
	case lxcBoolKeys[k]:
		if b, ok := pveschema.ParseBoolean(v); ok {
			n, _ := strconv.Atoi(b)
			return n
		}
	case lxcIntKeys[k]:
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return n
		}
	}
	return v
}

// --- property strings ----------------------------------------------------

// Boolean keys of the net and mount point formats; parse_property_string
// stores them as 1 or 0 (from memory: it runs parse_boolean on them).
var (
	lxcNetBoolKeys = setOf("firewall host-managed link_down")
	lxcMPBoolKeys  = setOf("acl backup keepattrs quota replicate ro shared")
)

// parseLXCNet parses a NIC ("name=eth0,bridge=vmbr0,ip=dhcp").
func parseLXCNet(s string) map[string]string {
	m := map[string]string{}
	for _, part := range strings.Split(s, ",") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		if lxcNetBoolKeys[k] {
			if b, ok := pveschema.ParseBoolean(v); ok {
				v = b
			}
		}
		m[k] = v
	}
	return m
}

// printPropertyString is print_property_string: the default key's value
// first, then the required keys, then the others, each group sorted.
func printPropertyString(m map[string]string, defaultKey string, required ...string) string {
	var parts []string
	if defaultKey != "" {
		if v, ok := m[defaultKey]; ok {
			parts = append(parts, v)
		}
	}
	for _, k := range required {
		if v, ok := m[k]; ok {
			parts = append(parts, k+"="+v)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if k == defaultKey || slices.Contains(required, k) {
			continue
		}
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, ",")
}

// printLXCNet is print_lxc_network ("name" is the one required key).
func printLXCNet(m map[string]string) string { return printPropertyString(m, "", "name") }

// normalizeLXCNet is parse_lxc_network followed by print_lxc_network: the
// type becomes veth and a NIC without a MAC address gets a random one.
func normalizeLXCNet(s string) string {
	m := parseLXCNet(s)
	m["type"] = "veth"
	if m["hwaddr"] == "" {
		m["hwaddr"] = randomMAC()
	}
	return printLXCNet(m)
}

// mountPoint is a parsed rootfs, mpN or unusedN value; "volume" is the
// volume, directory or device.
type mountPoint map[string]string

// parseMountPoint is parse_volume (size is kept as written).
func parseMountPoint(s string) mountPoint {
	m := mountPoint{}
	for _, part := range strings.Split(s, ",") {
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			m["volume"] = part
			continue
		}
		if lxcMPBoolKeys[k] {
			if b, ok := pveschema.ParseBoolean(v); ok {
				v = b
			}
		}
		m[k] = v
	}
	return m
}

// print is print_ct_mountpoint: the volume, "mp" (not for rootfs), then
// the options sorted, the size as format_size prints it.
func (m mountPoint) print(key string) string {
	c := maps.Clone(map[string]string(m))
	if key == "rootfs" {
		delete(c, "mp")
	}
	if s, ok := c["size"]; ok {
		if n, ok := parseSize(s); ok {
			c["size"] = formatSize(n)
		}
	}
	return printPropertyString(c, "volume", "mp")
}

// kind is classify_mountpoint: volume, bind or device.
func (m mountPoint) kind() string {
	v := m["volume"]
	switch {
	case strings.HasPrefix(v, "/dev/"):
		return "device"
	case strings.HasPrefix(v, "/"):
		return "bind"
	}
	return "volume"
}

// sizeBytes is the mount point's size in bytes (0 if unknown).
func (m mountPoint) sizeBytes() uint64 {
	n, _ := parseSize(m["size"])
	return n
}

// parseFeatures is parse_features (booleans as 1 or 0).
func parseFeatures(s string) map[string]string {
	out := map[string]string{}
	for _, part := range strings.Split(s, ",") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		if k != "mount" {
			if b, ok := pveschema.ParseBoolean(v); ok {
				v = b
			}
		}
		out[k] = v
	}
	return out
}

// --- config file ---------------------------------------------------------

// ctCfsPath is the config file path relative to /etc/pve.
func ctCfsPath(node string, vmid int) string {
	return fmt.Sprintf("nodes/%s/lxc/%d.conf", node, vmid)
}

// errNoCTConfig is load_config's die for a container that is not on the node.
func errNoCTConfig(node string, vmid int) error {
	return Errorf(http.StatusInternalServerError, "Configuration file '%s' does not exist", ctCfsPath(node, vmid))
}

// configText is the config file as write_pct_config writes it.
func (ct *lxcCT) configText() string {
	raw := rawConfigSection(ct.conf, false)
	if len(ct.pending) > 0 {
		raw += "\n[pve:pending]\n" + rawConfigSection(ct.pending, false)
	}
	return raw
}

func (ct *lxcCT) digest() string {
	sum := sha1.Sum([]byte(ct.configText()))
	return hex.EncodeToString(sum[:])
}

// reload makes the in-memory config what PVE reads back after
// write_pct_config: an unusedN whose volume a mount point uses again is
// dropped, and the description is what parse_pct_config makes of its
// comment lines (each line with a newline, an empty one is gone).
func (ct *lxcCT) reload() {
	used := map[string]bool{}
	for _, k := range lxcVolumeKeys(ct.conf) {
		if mp := parseMountPoint(ct.conf[k]); mp.kind() == "volume" {
			used[mp["volume"]] = true
		}
	}
	for k, v := range ct.conf {
		if unusedKeyRE.MatchString(k) && used[v] {
			delete(ct.conf, k)
		}
	}
	for _, c := range []map[string]string{ct.conf, ct.pending} {
		d, ok := c["description"]
		if !ok {
			continue
		}
		var b strings.Builder
		for _, line := range perl.Lines(d) {
			b.WriteString(line + "\n")
		}
		if b.Len() == 0 {
			delete(c, "description")
		} else {
			c["description"] = b.String()
		}
	}
}

// checkLock is check_lock for a container.
func (ct *lxcCT) checkLock() error {
	if l, ok := ct.conf["lock"]; ok {
		return Errorf(http.StatusInternalServerError, "CT is locked (%s)", l)
	}
	return nil
}

// isTemplate is is_template.
func (ct *lxcCT) isTemplate() bool { return pveschema.IsTrue(ct.conf["template"]) }

// volumes lists the volumes of the mount points (get_vm_volumes) and,
// with unused, the unused volumes.
func (ct *lxcCT) volumes(unused bool) []string {
	var out []string
	for _, k := range lxcVolumeKeys(ct.conf) {
		if mp := parseMountPoint(ct.conf[k]); mp.kind() == "volume" {
			if _, _, ok := parseVolumeID(mp["volume"]); ok {
				out = append(out, mp["volume"])
			}
		}
	}
	if unused {
		for _, k := range slices.Sorted(maps.Keys(ct.conf)) {
			if unusedKeyRE.MatchString(k) {
				out = append(out, ct.conf[k])
			}
		}
	}
	return out
}

// --- lookups -------------------------------------------------------------

// ctOnLocked returns the container whose config is on node, or
// load_config's error.
func (p *PVE) ctOnLocked(node string, vmid int) (*lxcCT, error) {
	ct := p.lxc.cts[vmid]
	if ct == nil || ct.node != node {
		return nil, errNoCTConfig(node, vmid)
	}
	return ct, nil
}

// requestCTLocked settles the lab and returns the container of the
// request. The caller holds p.mu.
func (p *PVE) requestCTLocked(r *Request, now time.Time) (*lxcCT, error) {
	p.settleLocked(now)
	return p.ctOnLocked(r.PathParams["node"], requestVMID(r))
}

// permError is raise_perm_exc.
func permError(what string) error {
	return &APIError{Status: http.StatusForbidden, Message: fmt.Sprintf("Permission check failed (%s)\n", what)}
}

// isRoot is PVE's "$authuser eq 'root@pam'": API tokens of root@pam are
// not root.
func isRoot(r *Request) bool { return r.User == labUser }

// --- routes --------------------------------------------------------------

func (p *PVE) registerLXCRoutes() {
	p.Handle(http.MethodGet, "/nodes/{node}/lxc", p.listCTs)
	p.Handle(http.MethodPost, "/nodes/{node}/lxc", p.createCT, WithLockMessage(func(r *Request) string {
		vmid, _ := r.String("vmid")
		return fmt.Sprintf("unable to create CT %s - can't lock file '/run/lock/lxc/pve-config-%s.lock' - got timeout", vmid, vmid)
	}))
	p.Handle(http.MethodGet, "/nodes/{node}/lxc/{vmid}", func(r *Request) (any, error) {
		p.mu.Lock()
		_, err := p.requestCTLocked(r, time.Now())
		p.mu.Unlock()
		if err != nil {
			return nil, err
		}
		out := []map[string]any{}
		for _, d := range []string{"config", "pending", "status", "vncproxy", "termproxy", "vncwebsocket", "spiceproxy", "migrate", "clone", "rrd", "rrddata", "firewall", "snapshot", "resize", "interfaces"} {
			out = append(out, map[string]any{"subdir": d})
		}
		return out, nil
	})
	p.Handle(http.MethodDelete, "/nodes/{node}/lxc/{vmid}", p.destroyCT, WithoutConfigLock())
	p.Handle(http.MethodGet, "/nodes/{node}/lxc/{vmid}/config", p.getCTConfig)
	p.Handle(http.MethodPut, "/nodes/{node}/lxc/{vmid}/config", p.updateCT)
	p.Handle(http.MethodGet, "/nodes/{node}/lxc/{vmid}/pending", p.getCTPending)
	p.Handle(http.MethodGet, "/nodes/{node}/lxc/{vmid}/status", func(r *Request) (any, error) {
		p.mu.Lock()
		_, err := p.requestCTLocked(r, time.Now())
		p.mu.Unlock()
		if err != nil {
			return nil, err
		}
		out := []map[string]any{}
		for _, d := range []string{"current", "start", "stop", "shutdown", "reboot", "migrate"} {
			out = append(out, map[string]any{"subdir": d})
		}
		return out, nil
	})
	p.Handle(http.MethodGet, "/nodes/{node}/lxc/{vmid}/status/current", p.getCTStatus)
	for _, action := range []string{"start", "stop", "shutdown", "reboot"} {
		p.Handle(http.MethodPost, "/nodes/{node}/lxc/{vmid}/status/"+action, p.ctPowerAction(action), WithoutConfigLock())
	}
	p.Handle(http.MethodPut, "/nodes/{node}/lxc/{vmid}/resize", p.resizeCT, WithoutConfigLock())
	p.Handle(http.MethodPost, "/nodes/{node}/lxc/{vmid}/clone", p.cloneCT)
	p.Handle(http.MethodPost, "/nodes/{node}/lxc/{vmid}/template", p.templateCT)
	p.Handle(http.MethodGet, "/nodes/{node}/lxc/{vmid}/migrate", p.ctMigratePrecondition)
	p.Handle(http.MethodPost, "/nodes/{node}/lxc/{vmid}/migrate", p.migrateCT, WithoutConfigLock())
	p.resourceSources = append(p.resourceSources, p.lxcResourcesLocked)
}

// --- status --------------------------------------------------------------

// ctStatusLocked is PVE::LXC::vmstatus for one container.
func (p *PVE) ctStatusLocked(ct *lxcCT, now time.Time) map[string]any {
	conf := ct.conf
	hostCPUs := 16
	if n := p.nodeLocked(ct.node); n != nil {
		hostCPUs = n.Threads
	}
	name := strings.Join(strings.Fields(conf["hostname"]), "")
	if name == "" {
		name = fmt.Sprintf("CT%d", ct.vmid)
	}
	var cpus any = hostCPUs
	if n := confInt(conf, "cores", 0); n > 0 {
		cpus = n
	} else if v := conf["cpulimit"]; v != "" && v != "0" {
		cpus = v // the config string as it is ($conf->{cores} || $conf->{cpulimit})
	}
	maxdisk := uint64(4 << 30) // "use 4GB by default ??"
	rootfs := parseMountPoint(conf["rootfs"])
	if s := rootfs.sizeBytes(); s > 0 {
		maxdisk = s
	}
	memMiB := uint64(confInt(conf, "memory", 0))
	if memMiB == 0 {
		memMiB = 512
	}
	d := map[string]any{
		"vmid":      ct.vmid,
		"type":      "lxc",
		"status":    "stopped",
		"name":      name,
		"cpus":      cpus,
		"maxmem":    memMiB * mib,
		"maxswap":   uint64(confInt(conf, "swap", 0)) * mib,
		"maxdisk":   maxdisk,
		"disk":      0,
		"mem":       0,
		"swap":      0,
		"uptime":    0,
		"cpu":       0,
		"netin":     0,
		"netout":    0,
		"diskread":  0,
		"diskwrite": 0,
	}
	if v, ok := conf["tags"]; ok {
		d["tags"] = v
	}
	if ct.isTemplate() {
		d["template"] = 1
	}
	if v, ok := conf["lock"]; ok && v != "" {
		d["lock"] = v
	}
	if ct.running {
		up := int64(now.Sub(ct.started).Seconds())
		d["status"] = "running"
		d["pid"] = ct.pid
		d["uptime"] = up
		d["cpu"] = guestCPU(now, ct.vmid)
		d["mem"] = memMiB * mib * 6 / 100
		d["netin"] = up * 1210
		d["netout"] = up * 530
		d["diskread"] = up * 20480
		d["diskwrite"] = up * 10240
		// while it runs the disk figures come from df inside the container
		// (assumption: ext4 leaves about 3% of the volume for its metadata)
		d["maxdisk"] = maxdisk * 97 / 100 / 4096 * 4096
		if n := p.nodeLocked(ct.node); n != nil {
			if v := n.storage.vols[rootfs["volume"]]; v != nil {
				d["disk"] = v.used
			}
		}
		// PVE 9 adds pressure stall figures (assumption: idle values)
		for _, k := range []string{"pressurecpusome", "pressureiosome", "pressureiofull", "pressurememorysome", "pressurememoryfull"} {
			d[k] = 0
		}
	}
	return d
}

// listCTs serves GET /nodes/{node}/lxc (vmlist).
func (p *PVE) listCTs(r *Request) (any, error) {
	node := r.PathParams["node"]
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.settleLocked(now)
	out := []map[string]any{}
	for _, id := range slices.Sorted(maps.Keys(p.lxc.cts)) {
		if ct := p.lxc.cts[id]; ct.node == node {
			out = append(out, p.ctStatusLocked(ct, now))
		}
	}
	return out, nil
}

// getCTStatus serves GET /nodes/{node}/lxc/{vmid}/status/current (vm_status).
func (p *PVE) getCTStatus(r *Request) (any, error) {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	ct, err := p.requestCTLocked(r, now)
	if err != nil {
		return nil, err
	}
	d := p.ctStatusLocked(ct, now)
	d["ha"] = p.haStatusLocked("lxc", ct.vmid)
	return d, nil
}

// getCTConfig serves GET /nodes/{node}/lxc/{vmid}/config (vm_config).
func (p *PVE) getCTConfig(r *Request) (any, error) {
	current := r.Bool("current", false)
	snap, _ := r.String("snapshot")
	if snap != "" && current {
		msg := "cannot use 'snapshot' parameter with 'current'"
		return nil, ParamError(map[string]string{"snapshot": msg, "current": msg})
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	ct, err := p.requestCTLocked(r, time.Now())
	if err != nil {
		return nil, err
	}
	if snap != "" {
		// from memory: load_snapshot_config
		return nil, Errorf(http.StatusInternalServerError, "snapshot '%s' does not exist", snap)
	}
	out := map[string]any{"digest": ct.digest()}
	for k, v := range ct.view(current) {
		out[k] = lxcTypedValue(k, v)
	}
	return out, nil
}

// getCTPending serves GET /nodes/{node}/lxc/{vmid}/pending (vm_pending).
func (p *PVE) getCTPending(r *Request) (any, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ct, err := p.requestCTLocked(r, time.Now())
	if err != nil {
		return nil, err
	}
	conf := maps.Clone(ct.conf)
	conf["digest"] = ct.digest()
	return pendingArray(conf, ct.pending, lxcTypedValue), nil
}

// lxcResourcesLocked is the containers' part of /cluster/resources.
func (p *PVE) lxcResourcesLocked() []map[string]any {
	now := time.Now()
	var out []map[string]any
	for _, id := range slices.Sorted(maps.Keys(p.lxc.cts)) {
		ct := p.lxc.cts[id]
		out = append(out, guestResource("lxc", id, ct.node, p.ctStatusLocked(ct, now), p.rrd[id], p.haResourceState("lxc", id)))
	}
	return out
}
