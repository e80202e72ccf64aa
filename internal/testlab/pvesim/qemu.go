package pvesim

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/pveschema"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/sim"
)

// QEMU guests as PVE::API2::Qemu serves them (qemu-server 9.x). The
// configuration of a VM is kept as PVE keeps it in
// /etc/pve/nodes/<node>/qemu-server/<vmid>.conf: current values, a pending
// section and the "lock" field; its digest is the SHA1 of that file's text.
// Work that PVE does in a worker (create, clone, destroy, migrate, power
// actions, resize, template, the asynchronous config update) runs as a lab
// task (qemu_ops.go): it waits for the VM's config flock like the worker
// does, and its effects appear while and when it runs. The config updates
// (POST and PUT .../config) wait for the flock in the API call instead, as
// update_vm_api does, and the qmconfig worker inherits it.
//
// Verified against qemu-server's src/PVE/API2/Qemu.pm, pve-guest-common's
// PVE/AbstractConfig.pm, pve-cluster's check_vmid_unused, PVE::Network's
// read_bridge_mtu and QemuMigrate.pm; where a detail is from memory the
// comment says so.

// Versions a 9.1 node runs (assumption: pve-qemu-kvm 10.1.2 ships with 9.1).
const (
	qemuVersion        = "10.1.2"
	qemuDefaultMachine = "pc-i440fx-10.1+pve0"
	qemuQ35Machine     = "pc-q35-10.1+pve0"
	macPrefix          = "BC:24:11" // datacenter.cfg mac_prefix default
	cloudinitSize      = 4 << 20    // CLOUDINIT_DISK_SIZE
	tpmStateSize       = 4 << 20    // TPMSTATE_DISK_SIZE
	efiVars4MSize      = 540672     // OVMF_VARS_4M.fd
	efiVars2MSize      = 131072     // OVMF_VARS.fd
	maxUnusedDisks     = 256
	defaultMemoryMiB   = 512
)

// qemuState is everything the lab knows about VMs. Guarded by PVE.mu.
// Workers, config flocks and HA resources are shared with containers
// (guest.go).
type qemuState struct {
	vms map[int]*qemuVM
}

func newQemuState() qemuState {
	return qemuState{vms: map[int]*qemuVM{}}
}

// qemuVM is one VM: its config file and its QEMU process.
type qemuVM struct {
	guestConfig
	vmid    int
	node    string
	running bool
	paused  bool
	started time.Time
	pid     int
	machine string   // running machine
	hostPCI []string // PCI functions it holds while running (pci-id-reservations)
}

// --- config keys ---------------------------------------------------------

var (
	driveKeyRE   = regexp.MustCompile(`^(ide[0-3]|sata[0-5]|scsi([0-9]|[12][0-9]|30)|virtio([0-9]|1[0-5])|efidisk0|tpmstate0)$`)
	unusedKeyRE  = regexp.MustCompile(`^unused(\d+)$`)
	netKeyRE     = regexp.MustCompile(`^net(\d+)$`)
	newDiskRE    = regexp.MustCompile(`^(([^/:\s]+):)?(\d+(\.\d+)?)$`)
	cloudinitRE  = regexp.MustCompile(`[:/](?:vm-\d+-)?cloudinit(?:\.(raw|cow|qcow|qcow2|qed|vmdk|cloop))?$`)
	sizeRE       = regexp.MustCompile(`^(\d+(?:\.\d+)?)([KMGT])?$`)
	familyKeyREs = []*regexp.Regexp{
		regexp.MustCompile(`^hostpci([0-9]|1[0-5])$`), regexp.MustCompile(`^ipconfig([0-9]|[12][0-9]|3[01])$`),
		regexp.MustCompile(`^net([0-9]|[12][0-9]|3[01])$`), regexp.MustCompile(`^numa[0-7]$`),
		regexp.MustCompile(`^parallel[0-2]$`), regexp.MustCompile(`^serial[0-3]$`),
		regexp.MustCompile(`^unused([0-9]|[1-9][0-9]|1[0-9][0-9]|2[0-4][0-9]|25[0-5])$`),
		regexp.MustCompile(`^usb([0-9]|1[0-3])$`), regexp.MustCompile(`^virtiofs[0-9]$`), driveKeyRE,
	}
)

// qemuOptions are the plain keys of the VM config schema (json_config_properties).
var qemuOptions = map[string]bool{}

func init() {
	for _, k := range strings.Fields(`acpi affinity agent allow-ksm amd-sev arch args audio0 autostart balloon bios boot
		bootdisk cdrom cicustom cipassword citype ciupgrade ciuser cores cpu cpulimit cpuunits description freeze
		hookscript hotplug hugepages intel-tdx ivshmem keephugepages keyboard kvm localtime lock machine memory meta
		migrate_downtime migrate_speed name nameserver numa onboot ostype protection reboot rng0 running-nets-host-mtu
		runningcpu runningmachine scsihw searchdomain shares smbios1 smp sockets spice_enhancements sshkeys startdate
		startup tablet tags tdf template vcpus vga vmgenid vmstate vmstatestorage watchdog`) {
		qemuOptions[k] = true
	}
}

// optionExists is PVE::QemuServer::option_exists.
func optionExists(k string) bool {
	if qemuOptions[k] {
		return true
	}
	return slices.ContainsFunc(familyKeyREs, func(re *regexp.Regexp) bool { return re.MatchString(k) })
}

func isDriveKey(k string) bool { return driveKeyRE.MatchString(k) }

// JSON types of config values (parse_vm_config runs check_type: integers
// and booleans become numbers, everything else stays a string).
var (
	qemuBoolKeys   = setOf("acpi allow-ksm autostart ciupgrade freeze keephugepages kvm localtime numa onboot protection reboot tablet tdf template")
	qemuIntKeys    = setOf("balloon cores cpuunits migrate_speed shares smp snaptime sockets vcpus")
	qemuNumberKeys = setOf("cpulimit migrate_downtime")
)

func setOf(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}

// typedValue is a config value as the API returns it.
func typedValue(k, v string) any {
	switch {
	case qemuBoolKeys[k]:
		if b, ok := pveschema.ParseBoolean(v); ok {
			n, _ := strconv.Atoi(b)
			return n
		}
	case qemuIntKeys[k]:
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return n
		}
	case qemuNumberKeys[k]:
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return f
		}
	}
	return v
}

// --- property strings ----------------------------------------------------

// drive is a parsed drive property string; "file" is the volume.
type drive map[string]string

var driveBoolKeys = setOf("backup detect_zeroes iothread replicate ro scsiblock shared snapshot ssd pre-enrolled-keys")

// parseDrive parses a drive ("local-lvm:vm-100-disk-0,size=32G").
func parseDrive(s string) drive {
	d := drive{}
	for _, part := range strings.Split(s, ",") {
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			d["file"] = part
			continue
		}
		if k == "volume" {
			k = "file"
		}
		if driveBoolKeys[k] {
			if b, ok := pveschema.ParseBoolean(v); ok {
				v = b
			}
		}
		d[k] = v
	}
	return d
}

// String is print_drive: the volume first, then the options sorted.
func (d drive) String() string {
	parts := []string{}
	if f, ok := d["file"]; ok {
		parts = append(parts, f)
	}
	for _, k := range slices.Sorted(maps.Keys(d)) {
		if k != "file" {
			parts = append(parts, k+"="+d[k])
		}
	}
	return strings.Join(parts, ",")
}

// isCdrom is drive_is_cdrom (cloud-init drives are CD-ROMs too).
func (d drive) isCdrom() bool { return d["media"] == "cdrom" }

// isCloudinit is drive_is_cloudinit.
func (d drive) isCloudinit() bool { return cloudinitRE.MatchString(d["file"]) }

// nicModels are the NIC models of the net[n] format.
var nicModels = []string{"e1000", "e1000-82540em", "e1000-82544gc", "e1000-82545em", "e1000e", "i82551", "i82557b", "i82559er", "ne2k_isa", "ne2k_pci", "pcnet", "rtl8139", "virtio", "vmxnet3"}

// parseNet parses a NIC ("virtio=BC:24:11:00:00:01,bridge=vmbr0").
func parseNet(s string) map[string]string {
	m := map[string]string{}
	for _, part := range strings.Split(s, ",") {
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		switch {
		case !ok:
			m["model"] = part
		case slices.Contains(nicModels, k):
			m["model"], m["macaddr"] = k, v
		default:
			if k == "firewall" || k == "link_down" {
				if b, ok := pveschema.ParseBoolean(v); ok {
					v = b
				}
			}
			m[k] = v
		}
	}
	return m
}

// printNet is print_net: "<model>=<mac>", then the options sorted.
func printNet(m map[string]string) string {
	first := m["model"]
	if mac := m["macaddr"]; mac != "" {
		first += "=" + mac
	}
	parts := []string{first}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if k != "model" && k != "macaddr" {
			parts = append(parts, k+"="+m[k])
		}
	}
	return strings.Join(parts, ",")
}

// randomMAC is PVE::Tools::random_ether_addr with the default prefix.
func randomMAC() string {
	b := sim.RandomBytes(3)
	return fmt.Sprintf("%s:%02X:%02X:%02X", macPrefix, b[0], b[1], b[2])
}

// parseSize parses a disk-size ("32G", "4M", "1024") into bytes.
func parseSize(s string) (uint64, bool) {
	m := sizeRE.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	f, _ := strconv.ParseFloat(m[1], 64)
	mult := map[string]float64{"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}[m[2]]
	return uint64(f * mult), true
}

// formatSize is PVE::JSONSchema::format_size.
func formatSize(size uint64) string {
	if size%1024 != 0 {
		return strconv.FormatUint(size, 10)
	}
	for _, u := range []string{"K", "M", "G"} {
		size /= 1024
		if size%1024 != 0 {
			return strconv.FormatUint(size, 10) + u
		}
	}
	return strconv.FormatUint(size/1024, 10) + "T"
}

// --- config file ---------------------------------------------------------

// encodeText is PVE::Tools::encode_text, used for the description comment.
func encodeText(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if c < 0x20 || c == '%' {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// configText is the VM's config file as write_vm_config writes it.
func (vm *qemuVM) configText() string {
	raw := rawConfigSection(vm.conf, false)
	if len(vm.pending) > 0 {
		raw += "\n[PENDING]\n" + rawConfigSection(vm.pending, true)
	}
	return raw
}

// digest is the SHA1 of the config file.
func (vm *qemuVM) digest() string {
	sum := sha1.Sum([]byte(vm.configText()))
	return hex.EncodeToString(sum[:])
}

// cfsPath is the config file path relative to /etc/pve.
func cfsPath(node string, vmid int) string {
	return fmt.Sprintf("nodes/%s/qemu-server/%d.conf", node, vmid)
}

// errNoConfig is load_config's die for a VM that is not on the node.
func errNoConfig(node string, vmid int) error {
	return Errorf(http.StatusInternalServerError, "Configuration file '%s' does not exist", cfsPath(node, vmid))
}

// errNoMachine is check_running's die for a VM that is not on the node
// (from memory: PVE::QemuServer::Helpers).
func errNoMachine(vmid int) error {
	return Errorf(http.StatusInternalServerError, "unable to find configuration file for VM %d - no such machine", vmid)
}

// --- derived values ------------------------------------------------------

// memoryMiB is get_current_memory.
func memoryMiB(v string) uint64 {
	v = strings.TrimPrefix(v, "current=")
	if i := strings.Index(v, ","); i >= 0 {
		v = v[:i]
	}
	if n, err := strconv.ParseUint(v, 10, 64); err == nil && n > 0 {
		return n
	}
	return defaultMemoryMiB
}

func confInt(conf map[string]string, k string, def int) int {
	if n, err := strconv.Atoi(conf[k]); err == nil {
		return n
	}
	return def
}

// bootOrder is the "order" of the boot property (print_bootorder's list).
func bootOrder(conf map[string]string) []string {
	for _, part := range strings.Split(conf["boot"], ",") {
		if v, ok := strings.CutPrefix(part, "order="); ok {
			return strings.FieldsFunc(v, func(r rune) bool { return r == ';' })
		}
	}
	if bd := conf["bootdisk"]; bd != "" {
		return []string{bd}
	}
	return nil
}

func printBootOrder(devs []string) string {
	if len(devs) == 0 {
		return ""
	}
	return "order=" + strings.Join(devs, ";")
}

// bootDrives lists drive keys in the order PVE looks for boot devices
// (valid_drive_names_for_boot).
func bootDrives() []string {
	var out []string
	for _, f := range []struct {
		prefix string
		n      int
	}{{"ide", 4}, {"sata", 6}, {"scsi", 31}, {"virtio", 16}} {
		for i := range f.n {
			out = append(out, fmt.Sprintf("%s%d", f.prefix, i))
		}
	}
	return out
}

// defaultBootDevices is get_default_bootdevices: the first disk, the
// first CD-ROM and the first NIC.
func defaultBootDevices(conf map[string]string) []string {
	var out []string
	for _, cdrom := range []bool{false, true} {
		for _, k := range bootDrives() {
			if v, ok := conf[k]; ok && parseDrive(v).isCdrom() == cdrom {
				out = append(out, k)
				break
			}
		}
	}
	for i := range 32 {
		if _, ok := conf[fmt.Sprintf("net%d", i)]; ok {
			out = append(out, fmt.Sprintf("net%d", i))
			break
		}
	}
	return out
}

// bootDiskSize is bootdisk_size: the size of the first disk of the boot order.
func bootDiskSize(conf map[string]string) uint64 {
	for _, k := range bootOrder(conf) {
		v, ok := conf[k]
		if !ok || !isDriveKey(k) {
			continue
		}
		d := parseDrive(v)
		if d.isCdrom() || d["file"] == "" {
			continue
		}
		size, _ := parseSize(d["size"])
		return size
	}
	return 0
}

// cpuCount is the vCPU count vmstatus reports.
func cpuCount(conf map[string]string, hostCPUs int) int {
	n := confInt(conf, "sockets", 1) * confInt(conf, "cores", 1)
	n = min(n, hostCPUs)
	if v := confInt(conf, "vcpus", 0); v > 0 {
		n = v
	}
	return n
}

// uniqueTags is get_unique_tags with the default tag style (alphabetical,
// case-insensitive).
func uniqueTags(s string) string {
	seen := map[string]bool{}
	var out []string
	for _, t := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == ',' || r == ' ' }) {
		if !seen[strings.ToLower(t)] {
			seen[strings.ToLower(t)] = true
			out = append(out, t)
		}
	}
	slices.SortStableFunc(out, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	return strings.Join(out, ";")
}

// --- lookups -------------------------------------------------------------

// vmOnLocked returns the VM whose config is on node, or load_config's error.
func (p *PVE) vmOnLocked(node string, vmid int) (*qemuVM, error) {
	vm := p.qemu.vms[vmid]
	if vm == nil || vm.node != node {
		return nil, errNoConfig(node, vmid)
	}
	return vm, nil
}

// requestVMID returns the {vmid} of the path.
func requestVMID(r *Request) int {
	id, _ := strconv.Atoi(r.PathParams["vmid"])
	return id
}

// requestVM settles the lab and returns the VM of the request. The caller
// holds p.mu.
func (p *PVE) requestVMLocked(r *Request, now time.Time) (*qemuVM, error) {
	p.settleLocked(now)
	return p.vmOnLocked(r.PathParams["node"], requestVMID(r))
}

// --- routes --------------------------------------------------------------

func (p *PVE) registerQemuRoutes() {
	p.Handle(http.MethodGet, "/nodes/{node}/qemu", p.listVMs)
	p.Handle(http.MethodPost, "/nodes/{node}/qemu", p.createVM, WithLockMessage(func(r *Request) string {
		vmid, _ := r.String("vmid")
		return fmt.Sprintf("unable to create VM %s - can't lock file '/var/lock/qemu-server/lock-%s.conf' - got timeout", vmid, vmid)
	}))
	p.Handle(http.MethodGet, "/nodes/{node}/qemu/{vmid}", func(*Request) (any, error) {
		out := []map[string]any{}
		for _, d := range []string{"config", "cloudinit", "pending", "status", "unlink", "vncproxy", "termproxy", "migrate", "resize", "move", "rrd", "rrddata", "monitor", "agent", "snapshot", "spiceproxy", "sendkey", "firewall", "mtunnel", "remote_migrate"} {
			out = append(out, map[string]any{"subdir": d})
		}
		return out, nil
	})
	p.Handle(http.MethodDelete, "/nodes/{node}/qemu/{vmid}", p.destroyVM, WithoutConfigLock())
	p.Handle(http.MethodGet, "/nodes/{node}/qemu/{vmid}/config", p.getVMConfig)
	p.Handle(http.MethodPost, "/nodes/{node}/qemu/{vmid}/config", p.updateVMAsync)
	p.Handle(http.MethodPut, "/nodes/{node}/qemu/{vmid}/config", p.updateVMSync)
	p.Handle(http.MethodPut, "/nodes/{node}/qemu/{vmid}/unlink", p.unlinkDisks)
	p.Handle(http.MethodGet, "/nodes/{node}/qemu/{vmid}/pending", p.getVMPending)
	p.Handle(http.MethodGet, "/nodes/{node}/qemu/{vmid}/status", func(r *Request) (any, error) {
		p.mu.Lock()
		_, err := p.requestVMLocked(r, time.Now())
		p.mu.Unlock()
		if err != nil {
			return nil, err
		}
		out := []map[string]any{}
		for _, d := range []string{"current", "start", "stop", "reset", "shutdown", "suspend", "reboot"} {
			out = append(out, map[string]any{"subdir": d})
		}
		return out, nil
	})
	p.Handle(http.MethodGet, "/nodes/{node}/qemu/{vmid}/status/current", p.getVMStatus)
	for _, action := range []string{"start", "stop", "shutdown", "reboot", "reset", "suspend", "resume"} {
		p.Handle(http.MethodPost, "/nodes/{node}/qemu/{vmid}/status/"+action, p.powerAction(action), WithoutConfigLock())
	}
	p.Handle(http.MethodPut, "/nodes/{node}/qemu/{vmid}/resize", p.resizeVM, WithoutConfigLock())
	p.Handle(http.MethodPost, "/nodes/{node}/qemu/{vmid}/clone", p.cloneVM, WithoutConfigLock())
	p.Handle(http.MethodPost, "/nodes/{node}/qemu/{vmid}/template", p.templateVM, WithoutConfigLock())
	p.Handle(http.MethodGet, "/nodes/{node}/qemu/{vmid}/migrate", p.migratePrecondition)
	p.Handle(http.MethodPost, "/nodes/{node}/qemu/{vmid}/migrate", p.migrateVM, WithoutConfigLock())
	p.resourceSources = append(p.resourceSources, p.qemuResourcesLocked)
}

// vmStatusLocked is PVE::QemuServer::vmstatus for one VM.
func (p *PVE) vmStatusLocked(vm *qemuVM, now time.Time, full bool) map[string]any {
	conf := vm.conf
	n := p.nodeLocked(vm.node)
	hostCPUs := 16
	if n != nil {
		hostCPUs = n.Threads
	}
	maxmem := memoryMiB(conf["memory"]) * mib
	d := map[string]any{
		"vmid":      vm.vmid,
		"status":    "stopped",
		"name":      cmpOr(conf["name"], fmt.Sprintf("VM %d", vm.vmid)),
		"cpus":      cpuCount(conf, hostCPUs),
		"maxmem":    maxmem,
		"maxdisk":   bootDiskSize(conf),
		"disk":      0,
		"mem":       0,
		"cpu":       0,
		"uptime":    0,
		"netin":     0,
		"netout":    0,
		"diskread":  0,
		"diskwrite": 0,
	}
	if t, ok := pveschema.ParseBoolean(conf["template"]); ok && t == "1" {
		d["template"] = 1
	}
	if v, ok := conf["lock"]; ok {
		d["lock"] = v
	}
	if v, ok := conf["tags"]; ok {
		d["tags"] = v
	}
	for k := range conf {
		if strings.HasPrefix(k, "serial") {
			d["serial"] = 1
			break
		}
	}
	if vm.running {
		up := int64(now.Sub(vm.started).Seconds())
		d["status"] = "running"
		d["pid"] = vm.pid
		d["uptime"] = up
		d["cpu"] = guestCPU(now, vm.vmid)
		d["mem"] = maxmem * 35 / 100
		d["netin"] = up * 1520
		d["netout"] = up * 730
		d["diskread"] = up * 40960
		d["diskwrite"] = up * 20480
	}
	if full {
		d["qmpstatus"] = d["status"]
		if vm.running {
			if vm.paused {
				d["qmpstatus"] = "paused"
			}
			d["running-machine"] = vm.machine
			d["running-qemu"] = p.rel.qemu
			d["proxmox-support"] = map[string]any{}
		}
	}
	return d
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// listVMs serves GET /nodes/{node}/qemu (vmlist).
func (p *PVE) listVMs(r *Request) (any, error) {
	full := r.Bool("full", false)
	node := r.PathParams["node"]
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.settleLocked(now)
	out := []map[string]any{}
	for _, id := range slices.Sorted(maps.Keys(p.qemu.vms)) {
		if vm := p.qemu.vms[id]; vm.node == node {
			out = append(out, p.vmStatusLocked(vm, now, full))
		}
	}
	return out, nil
}

// getVMStatus serves GET /nodes/{node}/qemu/{vmid}/status/current.
func (p *PVE) getVMStatus(r *Request) (any, error) {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	vm, err := p.requestVMLocked(r, now)
	if err != nil {
		return nil, err
	}
	d := p.vmStatusLocked(vm, now, true)
	d["ha"] = p.haStatusLocked("qemu", vm.vmid)
	if agent := vm.conf["agent"]; agent != "" {
		first, _, _ := strings.Cut(agent, ",")
		first = strings.TrimPrefix(first, "enabled=")
		if b, ok := pveschema.ParseBoolean(first); ok && b == "1" {
			d["agent"] = 1
		}
	}
	if vm.running {
		nics := map[string]any{}
		for k := range vm.conf {
			if m := netKeyRE.FindStringSubmatch(k); m != nil {
				nics[fmt.Sprintf("tap%di%s", vm.vmid, m[1])] = map[string]any{"netin": d["netin"], "netout": d["netout"]}
			}
		}
		d["nics"] = nics
	}
	return d, nil
}

// getVMConfig serves GET /nodes/{node}/qemu/{vmid}/config (vm_config).
func (p *PVE) getVMConfig(r *Request) (any, error) {
	current := r.Bool("current", false)
	snap, hasSnap := r.String("snapshot")
	if hasSnap && snap != "" && current {
		msg := "cannot use 'snapshot' parameter with 'current'"
		return nil, ParamError(map[string]string{"snapshot": msg, "current": msg})
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	vm, err := p.requestVMLocked(r, time.Now())
	if err != nil {
		return nil, err
	}
	if hasSnap && snap != "" {
		return nil, Errorf(http.StatusInternalServerError, "snapshot '%s' does not exist", snap)
	}
	out := map[string]any{"digest": vm.digest()}
	for k, v := range vm.view(current) {
		out[k] = typedValue(k, v)
	}
	if _, ok := out["cipassword"]; ok {
		out["cipassword"] = "**********"
	}
	return out, nil
}

// getVMPending serves GET /nodes/{node}/qemu/{vmid}/pending
// (config_with_pending_array).
func (p *PVE) getVMPending(r *Request) (any, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	vm, err := p.requestVMLocked(r, time.Now())
	if err != nil {
		return nil, err
	}
	conf := maps.Clone(vm.conf)
	conf["digest"] = vm.digest()
	pending := maps.Clone(vm.pending)
	if _, ok := conf["cipassword"]; ok {
		conf["cipassword"] = "**********"
	}
	if _, ok := pending["cipassword"]; ok {
		pending["cipassword"] = "********** "
	}
	return pendingArray(conf, pending, typedValue), nil
}

// qemuResourcesLocked is the VMs' part of /cluster/resources.
func (p *PVE) qemuResourcesLocked() []map[string]any {
	now := time.Now()
	var out []map[string]any
	for _, id := range slices.Sorted(maps.Keys(p.qemu.vms)) {
		vm := p.qemu.vms[id]
		s := p.vmStatusLocked(vm, now, false)
		out = append(out, guestResource("qemu", id, vm.node, s, p.rrd[id], p.haResourceState("qemu", id)))
	}
	return out
}

// nextPIDLocked hands out a process ID for a QEMU process.
func (p *PVE) nextPIDLocked() int {
	if p.lastPID == 0 {
		p.lastPID = 100000 + rand.IntN(900000)
	}
	p.lastPID += 1 + rand.IntN(40)
	return p.lastPID
}
