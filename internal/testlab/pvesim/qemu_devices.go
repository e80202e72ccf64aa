package pvesim

import (
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/machine"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/perl"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/pveschema"
)

// Host devices of VMs: hostpci[n] and usb[n] (qemu-server's
// PVE/QemuServer/PCI.pm and USB.pm, the permission checks of
// PVE/API2/Qemu.pm, PVE/QemuMigrate/Helpers.pm and QemuMigrate.pm).
//
// What PVE checks when:
//   - config (create, update): only permissions. root@pam may set anything;
//     anyone else (also root@pam's API tokens: PVE compares the user
//     string) may only use mappings, never raw host devices. Whether a
//     mapping exists is not checked, nor the USB slot limit.
//   - start (config_to_command, vm_start_nolock): the USB slot limit, the
//     host devices and mappings on this node, pcie without q35, legacy IGD
//     rules, PCI devices already used by a running VM.
//   - hotplug: hostpci never (it stays pending); usb only with a qemu-xhci
//     controller (machine >= 7.1 and ostype l26 or Windows > 7).
//   - migration: raw devices block it (offline with force excepted), mapped
//     ones need an entry on the target, and online only if the PCI mapping
//     is live-migration-capable.

const (
	maxHostPCI = 16 // $MAX_HOSTPCI_DEVICES
	maxUSB     = 14 // $MAX_USB_DEVICES
	oldMaxUSB  = 5  // $OLD_MAX_USB
)

var (
	hostPCIKeyRE  = regexp.MustCompile(`^hostpci\d+$`)
	usbKeyRE      = regexp.MustCompile(`^usb\d+$`)
	usbIDRE       = regexp.MustCompile(`^(0x)?([0-9A-Fa-f]{4}):(0x)?([0-9A-Fa-f]{4})$`)
	usbPathRE     = regexp.MustCompile(`^(\d+)\-(\d+(\.\d+)*)$`)
	spiceRE       = regexp.MustCompile(`(?i)^spice$`)
	machineVerRE  = regexp.MustCompile(`^(?:pc(?:-i440fx|-q35)?|virt)-(\d+)\.(\d+)`)
	qemuVersionRE = regexp.MustCompile(`^(\d+)\.(\d+)`)
)

// parseDeviceProps parses a property string whose value without key
// belongs to defaultKey ("0000:01:00.0,pcie=1", "host=1-4,usb3=1").
// Booleans are normalised to "1"/"0".
func parseDeviceProps(v, defaultKey string, booleans ...string) map[string]string {
	out := map[string]string{}
	for _, part := range strings.Split(v, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		k, val, ok := strings.Cut(part, "=")
		if !ok {
			k, val = defaultKey, part
		}
		if slices.Contains(booleans, k) {
			if b, ok := pveschema.ParseBoolean(val); ok {
				val = b
			}
		}
		out[k] = val
	}
	return out
}

func parseHostPCI(v string) map[string]string {
	return parseDeviceProps(v, "host", "pcie", "x-vga", "legacy-igd", "rombar")
}

func parseUSBDevice(v string) map[string]string { return parseDeviceProps(v, "host", "usb3") }

// --- permissions (PVE::API2::Qemu) ----------------------------------------

// checkHostPCIPerm is check_hostpci_perm: only root@pam may pass raw host
// PCI devices through; others need a mapping (and Mapping.Use on it, which
// every lab user has).
func checkHostPCIPerm(user, opt, value string) error {
	if user == labUser {
		return nil
	}
	d := parseHostPCI(value)
	switch {
	case perl.Truthy(d["host"]):
		return Errorf(http.StatusInternalServerError, "only root can set '%s' config for non-mapped devices", opt)
	case perl.Truthy(d["mapping"]):
		return nil
	}
	return Errorf(http.StatusInternalServerError, "either 'host' or 'mapping' must be set.")
}

// checkUSBPerm is check_usb_perm: a spice redirection or a mapping is
// fine for anyone, a real host device only for root@pam.
func checkUSBPerm(user, opt, value string) error {
	if user == labUser {
		return nil
	}
	d := parseUSBDevice(value)
	switch {
	case perl.Truthy(d["host"]):
		if !spiceRE.MatchString(d["host"]) {
			return Errorf(http.StatusInternalServerError, "only root can set '%s' config for real devices", opt)
		}
		return nil
	case perl.Truthy(d["mapping"]):
		return nil
	}
	return Errorf(http.StatusInternalServerError, "either 'host' or 'mapping' must be set.")
}

// checkDevicePerm runs the check of a hostpci or usb option (nil for
// other options).
func checkDevicePerm(user, opt, value string) error {
	switch {
	case hostPCIKeyRE.MatchString(opt):
		return checkHostPCIPerm(user, opt, value)
	case usbKeyRE.MatchString(opt):
		return checkUSBPerm(user, opt, value)
	}
	return nil
}

// checkCreateDevicePerms is check_vm_create_usb_perm followed by
// check_vm_create_hostpci_perm.
func checkCreateDevicePerms(user string, settings map[string]string) error {
	for _, re := range []*regexp.Regexp{usbKeyRE, hostPCIKeyRE} {
		for _, k := range sortedKeysWithPrefix(settings, re) {
			if err := checkDevicePerm(user, k, settings[k]); err != nil {
				return err
			}
		}
	}
	return nil
}

// --- machine -------------------------------------------------------------

// machineTypeOf is the type of the machine option ("q35", "pc-i440fx-8.1";
// "" when unset).
func machineTypeOf(machine string) string {
	return parseDeviceProps(machine, "type")["type"]
}

// machineIsQ35 is machine_type_is_q35.
func machineIsQ35(conf map[string]string) bool {
	return strings.Contains(machineTypeOf(conf["machine"]), "q35")
}

// machineVersion is extract_version: the version of a versioned machine
// type, else that of the QEMU binary (a bare "pc" or "q35" is the latest).
func machineVersion(machine string) (int, int) {
	m := machineVerRE.FindStringSubmatch(machineTypeOf(machine))
	if m == nil {
		m = qemuVersionRE.FindStringSubmatch(qemuVersion)
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	return major, minor
}

// usesQemuXHCI is the $use_qemu_xhci of PVE::QemuServer::USB: machine
// version 7.1 or newer and ostype l26 or Windows newer than 7. Only then
// usb5..usb13 are usable and USB devices hot-pluggable.
func usesQemuXHCI(conf map[string]string) bool {
	major, minor := machineVersion(conf["machine"])
	ostype := conf["ostype"]
	return (major > 7 || major == 7 && minor >= 1) && (ostype == "l26" || windowsVersion(ostype) > 7)
}

// --- start ---------------------------------------------------------------

// hostPCIDevice is a parsed hostpci option with the PCI functions chosen
// for it.
type hostPCIDevice struct {
	key   string
	opts  map[string]string
	alts  [][]machine.PCIDevice // alternatives, each the functions passed through together
	ids   []machine.PCIDevice   // the chosen alternative
	mdev  bool
	multi bool
}

// pciInUseLocked maps the PCI functions that running VMs on node hold (the
// pci-id-reservations) to their VMID, leaving out skip.
func (p *PVE) pciInUseLocked(node string, skip int) map[string]int {
	out := map[string]int{}
	for _, id := range slices.Sorted(maps.Keys(p.qemu.vms)) {
		vm := p.qemu.vms[id]
		if id == skip || !vm.running || vm.node != node {
			continue
		}
		for _, dev := range vm.hostPCI {
			out[dev] = id
		}
	}
	return out
}

// parseHostPCIDeviceLocked is parse_hostpci on node n: the alternatives
// of a host value or of the node's entries of a mapping, each function
// looked up with lspci.
func (p *PVE) parseHostPCIDeviceLocked(n *node, key, value string) (*hostPCIDevice, string) {
	d := &hostPCIDevice{key: key, opts: parseHostPCI(value)}
	host, hasHost := d.opts["host"]
	mapping, hasMapping := d.opts["mapping"]
	if hasHost && hasMapping {
		return nil, "Cannot set both 'host' and 'mapping'.\n"
	}
	var alternatives [][]string
	switch {
	case perl.Truthy(mapping):
		entries, _ := p.nodeMappingsLocked("pci", mapping, n.Name)
		if len(entries) == 0 {
			return nil, fmt.Sprintf("PCI device mapping not found for '%s'\n", mapping)
		}
		cfg := p.mappingLocked("pci", mapping)
		for _, e := range entries {
			if msg := assertPCIMapping(n, mapping, e, cfg); msg != "" {
				return nil, "PCI device mapping invalid (hardware probably changed): " + msg + "\n"
			}
			alternatives = append(alternatives, strings.Split(e["path"], ";"))
		}
	case perl.Truthy(host):
		alternatives = append(alternatives, strings.Split(host, ";"))
	default:
		return nil, "Either 'host' or 'mapping' must be set.\n"
	}
	d.mdev = perl.Truthy(d.opts["mdev"])
	for _, alt := range alternatives {
		var ids []machine.PCIDevice
		for _, id := range alt {
			devs := lspciPrefix(n, id)
			if len(devs) == 0 {
				return nil, fmt.Sprintf("no PCI device found for '%s'\n", id)
			}
			ids = append(ids, devs...)
		}
		if len(ids) > 1 {
			d.multi = true
			if d.mdev {
				return nil, "cannot use mediated device with multifunction device\n"
			}
		}
		d.alts = append(d.alts, ids)
	}
	return d, ""
}

// hostPCIDevicesLocked is parse_hostpci_devices and choose_hostpci_devices
// for a VM about to start on node n.
func (p *PVE) hostPCIDevicesLocked(n *node, vmid int, conf map[string]string) ([]*hostPCIDevice, string) {
	q35 := machineIsQ35(conf)
	legacyIGD := false
	var devs []*hostPCIDevice
	for i := range maxHostPCI {
		key := fmt.Sprintf("hostpci%d", i)
		if conf[key] == "" {
			continue
		}
		d, msg := p.parseHostPCIDeviceLocked(n, key, conf[key])
		if msg != "" {
			return nil, msg
		}
		if !q35 && d.opts["pcie"] == "1" {
			// a die without newline: Perl appends where it died (the line of
			// the stored qemu-server source; unverified for the 9.1.3 build)
			return nil, "q35 machine model is not enabled at /usr/share/perl5/PVE/QemuServer/PCI.pm line 504.\n"
		}
		if d.opts["legacy-igd"] == "1" {
			rombar, hasRombar := d.opts["rombar"]
			switch {
			case legacyIGD:
				return nil, "only one device can be assigned in legacy-igd mode\n"
			case conf["vga"] != "none":
				return nil, "legacy IGD assignment requires VGA mode to be 'none'\n"
			case hasRombar && rombar == "0":
				return nil, "legacy IGD assignment requires rombar to be enabled\n"
			case d.opts["x-vga"] == "1":
				return nil, "legacy IGD assignment is not compatible with x-vga\n"
			case d.mdev:
				return nil, "legacy IGD assignment is not compatible with mdev\n"
			case q35:
				return nil, "legacy IGD assignment is not compatible with q35\n"
			case d.multi:
				return nil, "legacy IGD assignment is not compatible with multifunction devices\n"
			case len(d.alts) > 1:
				return nil, "legacy IGD assignment is not compatible with alternate devices\n"
			case !strings.HasSuffix(d.alts[0][0].ID, "02.0"):
				return nil, "legacy IGD assignment only works for devices on host bus 00:02.0\n"
			}
			legacyIGD = true
		}
		devs = append(devs, d)
	}

	used := map[string]bool{}
	inUse := p.pciInUseLocked(n.Name, vmid)
	for _, d := range devs {
		switch {
		case d.mdev:
			for _, alt := range d.alts {
				d.ids = append(d.ids, alt[0])
			}
		case len(d.alts) == 1:
			d.ids = d.alts[0]
			for _, dev := range d.ids {
				if used[dev.ID] {
					return nil, fmt.Sprintf("device '%s' assigned more than once\n", dev.ID)
				}
				used[dev.ID] = true
			}
		default:
			found := false
			for _, alt := range d.alts {
				if slices.ContainsFunc(alt, func(dev machine.PCIDevice) bool { _, busy := inUse[dev.ID]; return used[dev.ID] || busy }) {
					continue
				}
				for _, dev := range alt {
					used[dev.ID] = true
				}
				d.ids, found = alt, true
				break
			}
			if !found {
				return nil, fmt.Sprintf("could not find a free device for '%s'\n", d.key)
			}
		}
	}
	return devs, ""
}

// usbDeviceProblemLocked is what print_usbdevice_full (parse_usb_device)
// dies with for a usb option on node n ("" when it resolves).
func (p *PVE) usbDeviceProblemLocked(n *node, value string) string {
	d := parseUSBDevice(value)
	host, hasHost := d["host"]
	mapping, hasMapping := d["mapping"]
	switch {
	case perl.Truthy(host) && perl.Truthy(mapping):
	case hasHost:
		if usbIDRE.MatchString(host) || usbPathRE.MatchString(host) {
			return ""
		}
	case hasMapping:
		entries, _ := p.nodeMappingsLocked("usb", mapping, n.Name)
		switch {
		case len(entries) == 0:
			return fmt.Sprintf("USB device mapping not found for '%s'\n", mapping)
		case len(entries) > 1:
			return "More than one USB mapping per host not supported\n"
		}
		if msg := assertUSBMapping(n, mapping, entries[0]); msg != "" {
			return "USB Mapping invalid (hardware probably changed): " + msg + "\n"
		}
		return ""
	}
	return "no usb id or path given\n"
}

// passthroughProblemLocked is what keeps a VM with conf from starting on
// node because of its host devices: the lines it logs and the error ("" if
// none), in the order config_to_command and vm_start_nolock find them. On
// success it returns the PCI functions the VM reserves.
func (p *PVE) passthroughProblemLocked(node string, vmid int, conf map[string]string) ([]string, string, []string) {
	n := p.nodeLocked(node)
	if n == nil {
		return nil, "", nil
	}
	xhci := usesQemuXHCI(conf)
	for i := range maxUSB {
		if conf[fmt.Sprintf("usb%d", i)] != "" && i >= oldMaxUSB && !xhci {
			return nil, fmt.Sprintf("using usb%d is only possible with machine type >= 7.1 and ostype l26 or windows > 7\n", i), nil
		}
	}
	devs, msg := p.hostPCIDevicesLocked(n, vmid, conf)
	if msg != "" {
		return nil, msg, nil
	}
	for i := range maxUSB {
		v := conf[fmt.Sprintf("usb%d", i)]
		if v == "" || parseUSBDevice(v)["host"] == "spice" {
			continue
		}
		if msg := p.usbDeviceProblemLocked(n, v); msg != "" {
			return nil, msg, nil
		}
	}

	// reserve_pci_usage, then prepare_pci_device
	var reserve []string
	for _, d := range devs {
		if !d.mdev {
			for _, dev := range d.ids {
				reserve = append(reserve, dev.ID)
			}
		}
	}
	inUse := p.pciInUseLocked(node, vmid)
	for _, id := range reserve {
		if other, busy := inUse[id]; busy {
			return nil, fmt.Sprintf("PCI device '%s' already in use by VMID '%d'\n", id, other), nil
		}
	}
	slices.SortFunc(devs, func(a, b *hostPCIDevice) int { return strings.Compare(a.key, b.key) })
	for _, d := range devs {
		if !d.mdev {
			continue
		}
		var lines []string
		for _, dev := range d.ids {
			if !dev.Mdev {
				lines = append(lines, fmt.Sprintf("pci device '%s' does not support mediated devices ", dev.ID))
			}
		}
		return lines, "could not create mediated device\n", nil
	}
	return nil, "", reserve
}

// reservePCILocked records the PCI functions a VM that starts now holds.
func (p *PVE) reservePCILocked(vm *qemuVM) {
	_, msg, ids := p.passthroughProblemLocked(vm.node, vm.vmid, vm.conf)
	if msg != "" {
		ids = nil
	}
	vm.hostPCI = ids
}

// --- migration -----------------------------------------------------------

// helpersUndefArray is how check_local_resources dies for a mapping that
// does not exist: get_node_mapping returns undef, which it dereferences
// (line of the stored qemu-server source; unverified for the 9.1.3 build).
const helpersUndefArray = "Can't use an undefined value as an ARRAY reference at /usr/share/perl5/PVE/QemuMigrate/Helpers.pm line 62.\n"

// localResourcesLocked is check_local_resources(conf, running, 1): the
// local resources (keys in sorted order; PVE walks the config hash), the
// mapped ones with their details, and per node the keys whose mapping has
// no entry there. It fails like PVE for a mapping that does not exist.
func (p *PVE) localResourcesLocked(conf map[string]string, running bool) ([]string, map[string]map[string]any, map[string][]string, error) {
	loc := []string{}
	mapped := map[string]map[string]any{}
	missing := map[string][]string{}
	for _, n := range p.nodes {
		missing[n.Name] = []string{}
	}
	if running {
		if perl.Truthy(conf["amd-sev"]) {
			loc = append(loc, "amd-sev")
		}
		for k := range conf {
			if strings.HasPrefix(k, "virtiofs") {
				loc = append(loc, "virtiofs")
				break
			}
		}
	}
	addMissing := func(kind, key, id string) error {
		for _, n := range p.nodes {
			entries, ok := p.nodeMappingsLocked(kind, id, n.Name)
			if !ok {
				return fmt.Errorf("%s", helpersUndefArray)
			}
			if len(entries) == 0 {
				missing[n.Name] = append(missing[n.Name], key)
			}
		}
		return nil
	}
	for _, k := range []string{"hostusb", "hostpci", "ivshmem"} {
		if perl.Truthy(conf[k]) {
			loc = append(loc, k)
		}
	}
	localRE := regexp.MustCompile(`^(usb|hostpci|serial|parallel|virtiofs)\d+$`)
	for _, k := range slices.Sorted(maps.Keys(conf)) {
		switch {
		case strings.HasPrefix(k, "usb"):
			d := parseUSBDevice(conf[k])
			if perl.Truthy(d["host"]) && spiceRE.MatchString(d["host"]) {
				continue
			}
			if name := d["mapping"]; perl.Truthy(name) {
				if err := addMissing("usb", k, name); err != nil {
					return nil, nil, nil, err
				}
				mapped[k] = map[string]any{"name": name}
			}
		case strings.HasPrefix(k, "hostpci"):
			if name := parseHostPCI(conf[k])["mapping"]; perl.Truthy(name) {
				if err := addMissing("pci", k, name); err != nil {
					return nil, nil, nil, err
				}
				mapped[k] = map[string]any{"name": name}
				if s := p.mappingLocked("pci", name); s != nil && s.opts["live-migration-capable"] == "1" {
					mapped[k]["live-migration"] = 1
					continue
				}
				if !running {
					continue
				}
			}
		case strings.HasPrefix(k, "virtiofs"):
			name := parseDeviceProps(conf[k], "dirid")["dirid"]
			if err := addMissing("dir", k, name); err != nil {
				return nil, nil, nil, err
			}
			mapped[k] = map[string]any{"name": name}
		}
		if strings.HasPrefix(k, "serial") && conf[k] == "socket" {
			continue
		}
		if localRE.MatchString(k) {
			loc = append(loc, k)
		}
	}
	return loc, mapped, missing, nil
}

// migrationDeviceProblemLocked is the device part of QemuMigrate's
// prepare for a migration to target: the lines it logs and the error that
// aborts the migration ("" if none).
func (p *PVE) migrationDeviceProblemLocked(vm *qemuVM, target string, force bool) ([]string, string) {
	loc, mapped, missing, err := p.localResourcesLocked(vm.conf, vm.running)
	if err != nil {
		return nil, strings.TrimSuffix(err.Error(), "\n")
	}
	var lines []string
	var blocking []string
	for _, r := range loc {
		if _, ok := mapped[r]; !ok {
			blocking = append(blocking, r)
		}
	}
	if len(blocking) > 0 {
		// prepare runs before $self->{running} is set: only force counts
		if !force {
			return nil, "can't migrate VM which uses local devices: " + strings.Join(blocking, ", ")
		}
		lines = append(lines, "migrating VM which uses local devices")
	}
	if len(mapped) > 0 {
		var notLive []string
		for _, k := range slices.Sorted(maps.Keys(mapped)) {
			if mapped[k]["live-migration"] == nil {
				notLive = append(notLive, fmt.Sprintf("%s:%s", k, mapped[k]["name"]))
			}
		}
		switch {
		case len(missing[target]) > 0:
			return lines, fmt.Sprintf("can't migrate to '%s': missing mapped devices %s", target, strings.Join(missing[target], ", "))
		case vm.running && len(notLive) > 0:
			return lines, "can't live migrate running VM which uses following mapped devices: " + strings.Join(notLive, ", ")
		}
		lines = append(lines, "migrating VM which uses mapped local devices")
	}
	return lines, ""
}

// sortedKeysWithPrefix lists the keys of conf that re matches, sorted.
func sortedKeysWithPrefix(conf map[string]string, re *regexp.Regexp) []string {
	var out []string
	for k := range conf {
		if re.MatchString(k) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}
