package testlab

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/ifupdown"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/perl"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/pveschema"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/sim"
)

// Config changes of VMs: the checks of create_vm and update_vm_api, disk
// allocation (create_disks), pending changes and how they are applied to a
// stopped VM (vmconfig_apply_pending) or hot-plugged into a running one
// (vmconfig_hotplug_pending).

// qemuSettings returns the config settings of a request: every parameter
// but the named control parameters, as strings.
func qemuSettings(r *Request, control ...string) map[string]string {
	out := map[string]string{}
	for k := range r.Params {
		if slices.Contains(control, k) {
			continue
		}
		if v, ok := r.String(k); ok {
			out[k] = v
		}
	}
	return out
}

// resolveCdromAlias turns "cdrom" into ide2 ($resolve_cdrom_alias).
func resolveCdromAlias(s map[string]string) {
	if v, ok := s["cdrom"]; ok {
		if !strings.Contains(v, "media=") {
			v += ",media=cdrom"
		}
		s["ide2"] = v
		delete(s, "cdrom")
	}
}

func driveKeys(s map[string]string) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(s)) {
		if isDriveKey(k) {
			out = append(out, k)
		}
	}
	return out
}

// checkStorageAccess is $check_storage_access (for root: storage existence
// and content types).
func (p *PVE) checkStorageAccess(s map[string]string, defStorage string) error {
	for _, k := range driveKeys(s) {
		d := parseDrive(s[k])
		volid := d["file"]
		sid, volname, hasSid := parseVolumeID(volid)
		switch {
		case volid == "" || volid == "none" || volid == "cloudinit" || (hasSid && volname == "cloudinit"):
		case d.isCdrom() && volid == "cdrom":
		case !d.isCdrom() && newDiskRE.MatchString(volid):
			m := newDiskRE.FindStringSubmatch(volid)
			storage := cmpOr(m[2], defStorage)
			if storage == "" {
				return Errorf(http.StatusInternalServerError, "no storage ID specified (and no default storage)")
			}
			st := p.storageDefOf(storage)
			if st == nil {
				return errNoStorage(storage)
			}
			if !st.hasContent("images") {
				return ParamError(map[string]string{"storage": fmt.Sprintf("storage '%s' does not support vm images", storage)})
			}
		default:
			if !hasSid {
				continue
			}
			vtype, err := p.parseVolname(volid)
			if err != nil {
				return err
			}
			if vtype != "images" && vtype != "iso" {
				return ParamError(map[string]string{k: "content type needs to be 'images' or 'iso'"})
			}
			_ = sid
		}
	}
	for k, v := range s {
		if !unusedKeyRE.MatchString(k) {
			continue
		}
		if _, _, ok := parseVolumeID(parseDrive(v)["file"]); !ok {
			return ParamError(map[string]string{k: "not a valid volid: " + v})
		}
	}
	return nil
}

// checkDriveParams is $check_drive_param: ISO images need media=cdrom;
// every drive is stored as print_drive prints it.
func (p *PVE) checkDriveParams(s map[string]string) error {
	for _, k := range driveKeys(s) {
		d := parseDrive(s[k])
		volid := d["file"]
		if _, volname, ok := parseVolumeID(volid); ok && !newDiskRE.MatchString(volid) && volname != "cloudinit" {
			if vtype, err := p.parseVolname(volid); err == nil && vtype == "iso" && !d.isCdrom() {
				return ParamError(map[string]string{k: "explicit 'media=cdrom' is required for iso images"})
			}
		}
		s[k] = d.String()
	}
	return nil
}

// addRandomMACs gives every NIC without a MAC address a new one (parse_net
// generates it, print_net writes it).
func addRandomMACs(s map[string]string) {
	for k, v := range s {
		if netKeyRE.MatchString(k) {
			m := parseNet(v)
			if m["macaddr"] == "" {
				m["macaddr"] = randomMAC()
			}
			s[k] = printNet(m)
		}
	}
}

// hasCloudinit is PVE::QemuConfig->has_cloudinit: the key of a cloud-init
// drive other than skip.
func hasCloudinit(conf map[string]string, skip string) string {
	for _, k := range driveKeys(conf) {
		if k != skip && parseDrive(conf[k]).isCloudinit() {
			return k
		}
	}
	return ""
}

// createDisksLocked is create_disks: it allocates the volumes settings ask
// for on the VM's node and returns the drives to store and the volumes it
// allocated. On error it frees what it allocated. The caller holds p.mu.
func (p *PVE) createDisksLocked(n *node, vmid int, conf, pending, settings map[string]string, defStorage string, template bool, now time.Time, w *worker) (map[string]string, []string, error) {
	ns := n.storage
	res := map[string]string{}
	var vollist []string
	fail := func(format string, args ...any) (map[string]string, []string, error) {
		for _, v := range vollist {
			ns.free(v)
		}
		return nil, nil, Errorf(http.StatusInternalServerError, format, args...)
	}
	for _, ds := range driveKeys(settings) {
		d := parseDrive(settings[ds])
		volid := d["file"]
		sid, volname, hasSid := parseVolumeID(volid)
		switch {
		case volid == "" || volid == "none" || volid == "cdrom":
			delete(d, "size")
			res[ds] = d.String()
		case hasSid && volname == "cloudinit":
			storage := cmpOr(sid, defStorage)
			for _, c := range []map[string]string{conf, pending, res} {
				if key := hasCloudinit(c, ds); key != "" {
					return fail("%s - cloud-init drive is already attached at '%s'", ds, key)
				}
			}
			st := p.storageDefOf(storage)
			if st == nil {
				return fail("storage '%s' does not exist", storage)
			}
			name := fmt.Sprintf("vm-%d-cloudinit", vmid)
			if st.typ == "dir" {
				name = fmt.Sprintf("%d/%s.%s", vmid, name, cmpOr(d["format"], "qcow2"))
			}
			if ns.vols[storage+":"+name] != nil {
				return fail("lvcreate '%s/%s' error:   Logical Volume \"%s\" already exists in volume group \"%s\"", st.vgname, name, name, st.vgname)
			}
			v, line := ns.alloc(storage, name, vmid, cloudinitSize, 0, now)
			if st.typ == "dir" {
				v.format = cmpOr(d["format"], "qcow2")
			}
			vollist = append(vollist, v.volid())
			d["file"], d["media"] = v.volid(), "cdrom"
			delete(d, "format")
			res[ds] = d.String()
			w.log(line, fmt.Sprintf("%s: successfully created disk '%s'", ds, res[ds]))
		case newDiskRE.MatchString(volid):
			m := newDiskRE.FindStringSubmatch(volid)
			storage := cmpOr(m[2], defStorage)
			if storage == "" {
				return fail("no storage ID specified (and no default storage)")
			}
			st := p.storageDefOf(storage)
			if st == nil {
				return fail("storage '%s' does not exist", storage)
			}
			if src := d["import-from"]; src != "" {
				return fail("cannot import from '%s' - could not get size of %s", src, src)
			}
			if f := d["format"]; f != "" && f != "raw" && st.typ == "lvmthin" {
				return fail("unsupported format '%s'", f)
			}
			sizeGiB, _ := strconv.ParseFloat(m[3], 64)
			size := uint64(sizeGiB * gib1)
			var used uint64
			switch ds {
			case "efidisk0":
				size = efiVars2MSize
				if d["efitype"] == "4m" {
					size = efiVars4MSize
					if d["pre-enrolled-keys"] == "1" {
						// the 9.1 firmware's vars template with Microsoft keys has the 2023 certificates
						// (inferred from the 9.1.3 schema, which marks '2023k' as current)
						d["ms-cert"] = "2023k"
					}
				}
				used = size
			case "tpmstate0":
				size = tpmStateSize
			}
			name := ns.freeDiskName(storage, vmid, nil)
			v, line := ns.alloc(storage, name, vmid, size, used, now)
			if template {
				w.log(p.createBaseLocked(ns, v)...)
			}
			vollist = append(vollist, v.volid())
			d["file"], d["size"] = v.volid(), formatSize(v.size)
			delete(d, "format")
			res[ds] = d.String()
			w.log(line, fmt.Sprintf("%s: successfully created disk '%s'", ds, res[ds]))
		default:
			var size uint64
			if hasSid {
				st := p.storageDefOf(sid)
				if st == nil {
					return fail("storage '%s' does not exist", sid)
				}
				vtype, err := p.parseVolname(volid)
				if err != nil {
					return fail("%s", strings.TrimSuffix(dieText(err), "\n"))
				}
				if vtype != "images" && vtype != "iso" {
					return fail("cannot use volume %s - content type needs to be 'images' or 'iso'", volid)
				}
				v := ns.vols[volid]
				if v != nil && d["format"] != "" && d["format"] != v.format {
					return fail("drive '%s' - volume '%s' - 'format=%s' option different from storage format '%s'", ds, volid, d["format"], v.format)
				}
				if d.isCloudinit() {
					for _, c := range []map[string]string{conf, pending, res} {
						if key := hasCloudinit(c, ds); key != "" {
							return fail("%s - cloud-init drive is already attached at '%s'", ds, key)
						}
					}
				}
				if v != nil {
					size = v.size
				}
			}
			if size == 0 {
				return fail("volume %s does not exist", volid)
			}
			d["size"] = formatSize(size)
			res[ds] = d.String()
		}
	}
	return res, vollist, nil
}

// gib1 is one GiB as a float factor.
const gib1 = 1 << 30

// createBaseLocked turns a volume into a base volume (vdisk_create_base on
// lvmthin renames vm-N-disk-M to base-N-disk-M) and returns what lvrename
// prints.
func (p *PVE) createBaseLocked(ns *nodeStorage, v *volume) []string {
	if !strings.HasPrefix(v.name, "vm-") || strings.Contains(v.name, "cloudinit") {
		return nil
	}
	old := v.volid()
	delete(ns.vols, old)
	oldName := v.name
	v.name = "base-" + strings.TrimPrefix(v.name, "vm-")
	ns.vols[v.volid()] = v
	return []string{
		fmt.Sprintf("  Renamed \"%s\" to \"%s\" in volume group \"pve\"", oldName, v.name),
		fmt.Sprintf("  Logical volume pve/%s changed.", v.name),
	}
}

// volumeOwner is the owner VM of a volume name (vm-<vmid>-..., base-<vmid>-...).
func volumeOwner(volid string) int {
	_, name, ok := parseVolumeID(volid)
	if !ok {
		return 0
	}
	if m := lvmVolnameRE.FindStringSubmatch(name); m != nil {
		id, _ := strconv.Atoi(m[3])
		return id
	}
	if m := dirImageRE.FindStringSubmatch(name); m != nil {
		id, _ := strconv.Atoi(m[1])
		return id
	}
	return 0
}

// addUnusedVolume is add_unused_volume: the lowest free unusedN.
func addUnusedVolume(conf map[string]string, volid string) (string, error) {
	key := ""
	for i := maxUnusedDisks - 1; i >= 0; i-- {
		k := fmt.Sprintf("unused%d", i)
		if v, ok := conf[k]; ok {
			if v == volid {
				return "", nil
			}
		} else {
			key = k
		}
	}
	if key == "" {
		return "", fmt.Errorf("Too many unused volumes - please delete them first.\n")
	}
	conf[key] = volid
	return key, nil
}

// registerUnusedDriveLocked is vmconfig_register_unused_drive: a replaced
// or removed disk becomes unusedN, a cloud-init drive is freed.
func (p *PVE) registerUnusedDriveLocked(vm *qemuVM, d drive) {
	switch {
	case d.isCloudinit():
		if n := p.nodeLocked(vm.node); n != nil {
			n.storage.free(d["file"])
		}
	case !d.isCdrom():
		if volumeOwner(d["file"]) == vm.vmid {
			if _, err := addUnusedVolume(vm.conf, d["file"]); err != nil {
				p.logf("testlab: VM %d: %v", vm.vmid, err)
			}
		}
	}
}

// deallocateDriveLocked is try_deallocate_drive: free a disk the VM owns.
func (p *PVE) deallocateDriveLocked(vm *qemuVM, d drive) bool {
	if d.isCdrom() && !d.isCloudinit() {
		return true
	}
	if volumeOwner(d["file"]) != vm.vmid {
		return true
	}
	if n := p.nodeLocked(vm.node); n != nil {
		n.storage.free(d["file"])
	}
	return true
}

// deleteOrDetachDriveLocked is vmconfig_delete_or_detach_drive.
func (p *PVE) deleteOrDetachDriveLocked(vm *qemuVM, k string, force bool) {
	d := parseDrive(vm.conf[k])
	if force {
		p.deallocateDriveLocked(vm, d)
	} else {
		p.registerUnusedDriveLocked(vm, d)
	}
	delete(vm.conf, k)
}

// applyPendingLocked is vmconfig_apply_pending for a VM that is not running.
func (p *PVE) applyPendingLocked(vm *qemuVM) {
	dels := pendingDeletes(vm.pending["delete"])
	for _, k := range slices.Sorted(maps.Keys(dels)) {
		if _, ok := vm.conf[k]; !ok {
			vm.removePendingDelete(k)
			continue
		}
		if isDriveKey(k) {
			p.deleteOrDetachDriveLocked(vm, k, dels[k])
		} else {
			delete(vm.conf, k)
		}
		vm.removePendingDelete(k)
	}
	for _, k := range slices.Sorted(maps.Keys(vm.pending)) {
		if k == "delete" {
			continue
		}
		if isDriveKey(k) {
			if old, ok := vm.conf[k]; ok {
				od, nd := parseDrive(old), parseDrive(vm.pending[k])
				if od["file"] != nd["file"] {
					p.registerUnusedDriveLocked(vm, od)
				}
			}
		}
		vm.conf[k] = vm.pending[k]
		delete(vm.pending, k)
	}
	vm.dropReusedUnused()
}

// dropReusedUnused is write_vm_config's cleanup: an unusedN whose volume a
// drive (current or pending) uses again is removed.
func (vm *qemuVM) dropReusedUnused() {
	used := map[string]bool{}
	for _, c := range []map[string]string{vm.conf, vm.pending} {
		for _, k := range driveKeys(c) {
			if f := parseDrive(c[k])["file"]; f != "" {
				used[f] = true
			}
		}
	}
	for k, v := range vm.conf {
		if unusedKeyRE.MatchString(k) && used[v] {
			delete(vm.conf, k)
		}
	}
}

// Options whose change needs nothing from the running QEMU
// ($fast_plug_option plus every cloud-init option).
var fastPlugOptions = setOf("description hookscript lock migrate_downtime migrate_speed name onboot protection shares startup tags vmstatestorage cicustom cipassword citype ciuser ciupgrade nameserver searchdomain sshkeys")

func isFastPlug(k string) bool {
	return fastPlugOptions[k] || strings.HasPrefix(k, "ipconfig")
}

// hotplugFeatures is parse_hotplug_features.
func hotplugFeatures(v string, set bool) map[string]bool {
	if !set || v == "1" {
		v = "network,disk,usb"
	}
	out := map[string]bool{}
	if v == "0" {
		return out
	}
	for _, f := range pveschema.SplitList(v) {
		out[f] = true
	}
	return out
}

// windowsVersion is windows_version of an ostype.
func windowsVersion(ostype string) int {
	return map[string]int{"wxp": 5, "w2k": 5, "w2k3": 6, "w2k8": 6, "wvista": 6, "win7": 7, "win8": 8, "win10": 10, "win11": 11}[ostype]
}

// throttleKeyPrefixes are the drive options QEMU changes on a running drive.
var throttleKeyPrefixes = []string{"bps", "iops", "mbps"}

func hotpluggableDriveChange(od, nd drive) bool {
	keys := map[string]bool{}
	for k := range od {
		keys[k] = true
	}
	for k := range nd {
		keys[k] = true
	}
	for k := range keys {
		if od[k] == nd[k] || k == "size" || k == "backup" || k == "replicate" {
			continue
		}
		if !slices.ContainsFunc(throttleKeyPrefixes, func(p string) bool { return strings.HasPrefix(k, p) }) {
			return false
		}
	}
	return true
}

// errSkip marks a change that stays pending.
var errSkip = fmt.Errorf("skip")

// bridgeErrorLocked is what PVE::Network says when a tap device cannot be
// plugged into bridge on the node (read_bridge_mtu, tap_plug).
func (p *PVE) bridgeErrorLocked(node, bridge string, now time.Time) string {
	n := p.nodeLocked(node)
	if n == nil || bridge == "" {
		return ""
	}
	active := n.net.activeAt(now)
	if !active[bridge] {
		return fmt.Sprintf("bridge '%s' does not exist", bridge)
	}
	cfg := ifupdown.Parse(n.net.current.Text, n.net.nics, active)
	if d, ok := cfg.Ifaces[bridge]; !ok || (perl.String(d["type"]) != "bridge" && perl.String(d["type"]) != "OVSBridge") {
		// from memory: PVE::Network::tap_plug
		return fmt.Sprintf("bridge '%s' is neither a linux nor an OVS bridge!", bridge)
	}
	return ""
}

// hotplugPendingLocked is vmconfig_hotplug_pending: it applies what a
// running VM takes at once and returns the errors of changes that failed
// (as "hotplug problem - <error>").
// Only the options in selection (the ones the update changed) are
// hot-plugged; nil selects all.
func (p *PVE) hotplugPendingLocked(vm *qemuVM, now time.Time, selection map[string]bool) map[string]string {
	errs := map[string]string{}
	addErr := func(k, msg string) { errs[k] = "hotplug problem - " + msg + "\n" }
	for _, k := range slices.Sorted(maps.Keys(vm.pending)) {
		if k != "delete" && isFastPlug(k) {
			vm.conf[k] = vm.pending[k]
			delete(vm.pending, k)
		}
	}
	hotplugVal, hotplugSet := vm.conf["hotplug"]
	features := hotplugFeatures(hotplugVal, hotplugSet)
	usbHotplug := features["usb"] && usesQemuXHCI(vm.conf)
	boot := bootOrder(vm.conf)

	dels := pendingDeletes(vm.pending["delete"])
	for _, k := range slices.Sorted(maps.Keys(dels)) {
		if selection != nil && !selection[k] {
			continue
		}
		err := func() error {
			switch {
			case k == "hotplug":
				if strings.Contains(vm.conf["hotplug"], "memory") || strings.Contains(vm.conf["hotplug"], "cpu") {
					return errSkip
				}
			case k == "tablet":
				if !features["usb"] {
					return errSkip
				}
			case strings.HasPrefix(k, "usb"):
				if !usbHotplug {
					return errSkip
				}
			case k == "vcpus":
				if !features["cpu"] {
					return errSkip
				}
			case k == "balloon":
				if vm.conf["balloon"] == "0" {
					return errSkip
				}
			case isFastPlug(k), k == "cpuunits", k == "cpulimit":
			case netKeyRE.MatchString(k):
				if !features["network"] {
					return errSkip
				}
			case isDriveKey(k):
				if !features["disk"] || strings.HasPrefix(k, "ide") || strings.HasPrefix(k, "sata") || k == "efidisk0" || k == "tpmstate0" {
					return errSkip
				}
				if slices.Contains(boot, k) {
					return fmt.Errorf("can't unplug bootdisk '%s'", k)
				}
				p.deleteOrDetachDriveLocked(vm, k, dels[k])
				return nil
			case k == "memory":
				if !features["memory"] {
					return errSkip
				}
			default:
				return errSkip
			}
			return nil
		}()
		switch {
		case err == errSkip:
		case err != nil:
			addErr(k, err.Error())
		default:
			delete(vm.conf, k)
			vm.removePendingDelete(k)
		}
	}

	cloudinitKey := ""
	for _, k := range slices.Sorted(maps.Keys(vm.pending)) {
		if k == "delete" || selection != nil && !selection[k] {
			continue
		}
		value := vm.pending[k]
		err := func() error {
			switch {
			case k == "hotplug":
				old := vm.conf["hotplug"]
				if strings.Contains(value, "memory") || strings.Contains(old, "memory") || strings.Contains(value, "cpu") || strings.Contains(old, "cpu") {
					return errSkip
				}
			case k == "tablet":
				if !features["usb"] {
					return errSkip
				}
			case strings.HasPrefix(k, "usb"):
				if !usbHotplug {
					return errSkip
				}
				if !spiceRE.MatchString(parseUSBDevice(value)["host"]) { // a spice port needs nothing from the host
					if msg := p.usbDeviceProblemLocked(p.nodeLocked(vm.node), value); msg != "" {
						return fmt.Errorf("%s", strings.TrimSuffix(msg, "\n"))
					}
				}
			case k == "vcpus":
				if !features["cpu"] {
					return errSkip
				}
			case k == "balloon":
				_, oldSet := vm.conf["balloon"]
				oldOn := !oldSet || vm.conf["balloon"] != "0"
				if newOn := value != "0"; oldOn != newOn {
					return errSkip
				}
			case k == "cpuunits", k == "cpulimit":
			case k == "agent":
				return errSkip
			case netKeyRE.MatchString(k):
				return p.hotplugNetLocked(vm, k, value, features["network"], now)
			case isDriveKey(k):
				if k == "efidisk0" || k == "tpmstate0" {
					return errSkip
				}
				nd := parseDrive(value)
				if nd.isCloudinit() {
					cloudinitKey = k
					return errSkip
				}
				return p.hotplugDiskLocked(vm, k, nd, features["disk"], boot)
			case k == "memory":
				if !features["memory"] {
					return errSkip
				}
			default:
				return errSkip
			}
			return nil
		}()
		switch {
		case err == errSkip:
		case err != nil:
			addErr(k, err.Error())
		default:
			vm.conf[k] = value
			delete(vm.pending, k)
		}
	}
	if cloudinitKey != "" {
		if old, ok := vm.conf[cloudinitKey]; ok && !parseDrive(old).isCdrom() {
			addErr(cloudinitKey, "unable to change media type")
		} else {
			vm.conf[cloudinitKey] = vm.pending[cloudinitKey]
			delete(vm.pending, cloudinitKey)
		}
	}
	vm.dropReusedUnused()
	return errs
}

// hotplugNetLocked is vmconfig_update_net for a running VM.
func (p *PVE) hotplugNetLocked(vm *qemuVM, k, value string, hotplug bool, now time.Time) error {
	nn := parseNet(value)
	if old, ok := vm.conf[k]; ok {
		on := parseNet(old)
		if on["model"] != nn["model"] || on["macaddr"] != nn["macaddr"] || on["queues"] != nn["queues"] || on["mtu"] != nn["mtu"] || on["bridge"] == "" || nn["bridge"] == "" {
			if !hotplug {
				return errSkip
			}
			if msg := p.bridgeErrorLocked(vm.node, nn["bridge"], now); msg != "" {
				return p.netdevAddError(vm)
			}
			return nil
		}
		if on["bridge"] != nn["bridge"] || on["tag"] != nn["tag"] || on["trunks"] != nn["trunks"] || on["firewall"] != nn["firewall"] {
			if msg := p.bridgeErrorLocked(vm.node, nn["bridge"], now); msg != "" {
				return fmt.Errorf("%s", msg)
			}
		}
		return nil
	}
	if !hotplug {
		return errSkip
	}
	if msg := p.bridgeErrorLocked(vm.node, nn["bridge"], now); msg != "" {
		return p.netdevAddError(vm)
	}
	return nil
}

// netdevAddError is QEMU's answer when the network script of a hot-plugged
// NIC fails (assumption: the script's exit status is reported like this).
func (p *PVE) netdevAddError(vm *qemuVM) error {
	return fmt.Errorf("VM %d qmp command 'netdev_add' failed - network script /usr/libexec/qemu-server/pve-bridge failed with status 6400", vm.vmid)
}

// hotplugDiskLocked is vmconfig_update_disk for a running VM.
func (p *PVE) hotplugDiskLocked(vm *qemuVM, k string, nd drive, hotplug bool, boot []string) error {
	if old, ok := vm.conf[k]; ok {
		od := parseDrive(old)
		if od.isCdrom() != nd.isCdrom() {
			return fmt.Errorf("unable to change media type")
		}
		if nd.isCdrom() {
			return nil // eject or change the medium
		}
		if od["file"] == nd["file"] {
			if hotpluggableDriveChange(od, nd) {
				return nil
			}
			return errSkip
		}
		if !hotplug || strings.HasPrefix(k, "ide") || strings.HasPrefix(k, "sata") {
			return errSkip
		}
		if slices.Contains(boot, k) {
			return fmt.Errorf("can't unplug bootdisk '%s'", k)
		}
		p.registerUnusedDriveLocked(vm, od)
		delete(vm.conf, k)
		return nil
	}
	if nd.isCdrom() {
		return nil
	}
	if !hotplug || strings.HasPrefix(k, "ide") || strings.HasPrefix(k, "sata") {
		return errSkip
	}
	return nil
}

// vmUpdate is a parsed config update (update_vm_api's parameters).
type vmUpdate struct {
	settings map[string]string
	deletes  []string
	revert   map[string]bool
	force    bool
	skiplock bool
	digest   string
	logLine  string
	user     string // who asks: the permission checks of host devices depend on it
}

// parseVMUpdate runs update_vm_api's checks that need no config.
func (p *PVE) parseVMUpdate(r *Request, vmid int) (*vmUpdate, error) {
	u := &vmUpdate{revert: map[string]bool{}, user: r.User}
	u.digest, _ = r.String("digest")
	all := qemuSettings(r, "node", "vmid", "digest", "background_delay", "skip_cloud_init", "import-working-storage")
	var args []string
	for _, k := range slices.Sorted(maps.Keys(all)) {
		v := all[k]
		if k == "cipassword" {
			v = "<hidden>"
		}
		args = append(args, "-"+k, v)
	}
	u.logLine = fmt.Sprintf("update VM %d: %s", vmid, strings.Join(args, " "))
	u.skiplock = r.Bool("skiplock", false)
	deleteStr, _ := r.String("delete")
	revertStr, _ := r.String("revert")
	u.force = r.Bool("force", false)
	u.settings = qemuSettings(r, "node", "vmid", "digest", "background_delay", "skip_cloud_init", "import-working-storage", "skiplock", "delete", "revert", "force")
	if deleteStr == "" && revertStr == "" && len(u.settings) == 0 {
		return nil, Errorf(http.StatusInternalServerError, "no options specified")
	}
	resolveCdromAlias(u.settings)
	for _, k := range pveschema.SplitList(revertStr) {
		if !optionExists(k) {
			return nil, ParamError(map[string]string{"revert": fmt.Sprintf("unknown option '%s'", k)})
		}
		if _, ok := u.settings[k]; ok {
			return nil, ParamError(map[string]string{"delete": fmt.Sprintf("you can't use '-%s' and -revert %s' at the same time", k, k)})
		}
		u.revert[k] = true
	}
	for _, k := range pveschema.SplitList(deleteStr) {
		if k == "cdrom" {
			k = "ide2"
		}
		if _, ok := u.settings[k]; ok {
			return nil, ParamError(map[string]string{"delete": fmt.Sprintf("you can't use '-%s' and -delete %s' at the same time", k, k)})
		}
		if u.revert[k] {
			return nil, ParamError(map[string]string{"revert": fmt.Sprintf("you can't use '-delete %s' and -revert %s' at the same time", k, k)})
		}
		if !optionExists(k) {
			return nil, ParamError(map[string]string{"delete": fmt.Sprintf("unknown option '%s'", k)})
		}
		u.deletes = append(u.deletes, k)
	}
	if err := p.checkDriveParams(u.settings); err != nil {
		return nil, err
	}
	for k, v := range u.settings {
		switch {
		case netKeyRE.MatchString(k):
			m := parseNet(v)
			if m["macaddr"] == "" {
				m["macaddr"] = randomMAC()
			}
			u.settings[k] = printNet(m)
		case k == "vmgenid" && v == "1":
			u.settings[k] = sim.RandomUUID()
		}
	}
	if err := p.checkStorageAccess(u.settings, ""); err != nil {
		return nil, err
	}
	return u, nil
}

// loadAndCheckLocked is $load_and_check_config.
func (p *PVE) loadAndCheckLocked(vm *qemuVM, u *vmUpdate) error {
	if u.digest != "" && u.digest != vm.digest() {
		return Errorf(http.StatusInternalServerError, "checksum mismatch (file change by other user?)")
	}
	lock, locked := vm.conf["lock"]
	if slices.Contains(u.deletes, "vmstate") && lock == "suspended" {
		locked = false
	}
	if locked && !u.skiplock {
		return Errorf(http.StatusInternalServerError, "VM is locked (%s)", lock)
	}
	if u.settings["memory"] != "" || u.settings["balloon"] != "" {
		mem := memoryMiB(cmpOr(u.settings["memory"], cmpOr(vm.pending["memory"], vm.conf["memory"])))
		balloon, ok := u.settings["balloon"]
		if !ok {
			balloon = cmpOr(vm.pending["balloon"], vm.conf["balloon"])
		}
		if b, _ := strconv.ParseUint(balloon, 10, 64); b > mem {
			return Errorf(http.StatusInternalServerError, "balloon value too large (must be smaller than assigned memory)")
		}
	}
	return nil
}

// applyUpdateLocked is update_vm_api's $updatefn: the part that runs under
// the config flock. The caller holds p.mu.
func (p *PVE) applyUpdateLocked(vm *qemuVM, u *vmUpdate, now time.Time, w *worker) error {
	if err := p.loadAndCheckLocked(vm, u); err != nil {
		return err
	}
	deletes := slices.Clone(u.deletes)
	if slices.Contains(deletes, "vmstate") {
		if vm.conf["lock"] == "suspended" {
			deletes = append(deletes, "lock")
		}
		for _, k := range []string{"runningmachine", "runningcpu", "running-nets-host-mtu"} {
			if _, ok := vm.conf[k]; ok {
				deletes = append(deletes, k)
			}
		}
	}
	settings := maps.Clone(u.settings)
	for k := range u.revert {
		if v, ok := vm.conf[k]; ok {
			settings[k] = v
		} else if _, ok := vm.pending[k]; ok {
			deletes = append(deletes, k)
		}
	}
	w.log(u.logLine)
	n := p.nodeLocked(vm.node)
	boot := bootOrder(vm.conf)
	bootDeleted := slices.Contains(deletes, "bootorder")
	modified := map[string]bool{}

	for _, k := range deletes {
		modified[k] = true
		val, ok := vm.conf[k]
		if !ok {
			val, ok = vm.pending[k]
		}
		if !ok {
			w.warn(fmt.Sprintf("cannot delete '%s' - not set in current configuration!", k))
			continue
		}
		// check_hostpci_perm/check_usb_perm die before this deletion is written
		if err := checkDevicePerm(u.user, k, val); err != nil {
			return err
		}
		_, isPendingVal := vm.pending[k]
		delete(vm.pending, k)
		if !bootDeleted && slices.Contains(boot, k) {
			boot = slices.DeleteFunc(boot, func(s string) bool { return s == k })
			vm.pending["boot"] = printBootOrder(boot)
			modified["boot"] = true
		}
		protected := vm.conf["protection"] == "1"
		switch {
		case unusedKeyRE.MatchString(k):
			d := parseDrive(val)
			if protected {
				return Errorf(http.StatusInternalServerError, "can't remove unused disk '%s' - protection mode enabled", d["file"])
			}
			if p.deallocateDriveLocked(vm, d) {
				delete(vm.conf, k)
			}
		case k == "vmstate":
			if protected {
				return Errorf(http.StatusInternalServerError, "can't remove vmstate '%s' - protection mode enabled", val)
			}
			p.deallocateDriveLocked(vm, drive{"file": val})
			delete(vm.conf, k)
		case isDriveKey(k):
			if protected {
				return Errorf(http.StatusInternalServerError, "can't remove drive '%s' - protection mode enabled", k)
			}
			if isPendingVal {
				p.registerUnusedDriveLocked(vm, parseDrive(val))
			}
			vm.addPendingDelete(k, u.force)
		case k == "tags":
			delete(vm.conf, k)
		default:
			vm.addPendingDelete(k, u.force)
		}
	}

	for _, k := range slices.Sorted(maps.Keys(settings)) {
		modified[k] = true
		value := settings[k]
		if pv, ok := vm.pending[k]; ok && pv == value {
			continue
		}
		switch {
		case isDriveKey(k):
			if k == "tpmstate0" {
				if err := tpmVersionChange(vm.conf[k], value); err != nil {
					return err
				}
			}
			if pv, ok := vm.pending[k]; ok {
				p.registerUnusedDriveLocked(vm, parseDrive(pv))
			}
			created, _, err := p.createDisksLocked(n, vm.vmid, vm.conf, vm.pending, map[string]string{k: value}, "", vm.conf["template"] == "1", now, w)
			if err != nil {
				return err
			}
			vm.pending[k] = created[k]
			if len(boot) > 0 {
				if d := parseDrive(value); d.isCdrom() && !d.isCloudinit() && !slices.Contains(boot, k) {
					boot = append(boot, k)
					vm.pending["boot"] = printBootOrder(boot)
					modified["boot"] = true
				}
			}
		case k == "tags":
			vm.pending[k] = uniqueTags(value)
		case hostPCIKeyRE.MatchString(k), usbKeyRE.MatchString(k):
			if old := vm.conf[k]; old != "" {
				if err := checkDevicePerm(u.user, k, old); err != nil {
					return err
				}
			}
			if err := checkDevicePerm(u.user, k, value); err != nil {
				return err
			}
			vm.pending[k] = value
		case k == "cipassword":
			if !strings.HasPrefix(value, "$") && windowsVersion(vm.conf["ostype"]) == 0 {
				value = "$5$" + sim.RandomHex(8) + "$" + sim.RandomHex(21)[:43]
			}
			vm.conf[k] = value
		case k == "boot":
			vm.pending[k] = value
			if order := bootOrder(map[string]string{"boot": value}); len(order) > 0 {
				for _, dev := range order {
					_, inConf := vm.conf[dev]
					_, inPending := vm.pending[dev]
					_, inSettings := settings[dev]
					if (!inConf && !inPending && !inSettings) || slices.Contains(deletes, dev) {
						return Errorf(http.StatusInternalServerError, "invalid bootorder: device '%s' does not exist'", dev)
					}
				}
				vm.pending[k] = printBootOrder(order)
				if _, ok := vm.conf["bootdisk"]; ok {
					vm.addPendingDelete("bootdisk", false)
				}
			}
		default:
			vm.pending[k] = value
		}
		vm.removePendingDelete(k)
	}

	vm.cleanupPending()
	vm.dropReusedUnused()
	if len(vm.pending) == 0 {
		return nil
	}
	if vm.running {
		if errs := p.hotplugPendingLocked(vm, now, modified); len(errs) > 0 {
			return ParamError(errs)
		}
		return nil
	}
	p.applyPendingLocked(vm)
	return nil
}

// tpmVersionChange is prohibit_tpm_version_change.
func tpmVersionChange(old, nw string) error {
	if old == "" || nw == "" {
		return nil
	}
	od, nd := parseDrive(old), parseDrive(nw)
	if od["file"] != nd["file"] {
		return nil
	}
	if cmpOr(od["version"], "v1.2") != cmpOr(nd["version"], "v1.2") {
		return Errorf(http.StatusInternalServerError, "cannot change TPM state version after creation")
	}
	return nil
}

// updateVMSync serves PUT /nodes/{node}/qemu/{vmid}/config (update_vm).
func (p *PVE) updateVMSync(r *Request) (any, error) {
	vmid := requestVMID(r)
	u, err := p.parseVMUpdate(r, vmid)
	if err != nil {
		return nil, err
	}
	return nil, p.updateVMNow(r.PathParams["node"], vmid, u)
}

// updateVMNow runs an update synchronously under the flock.
func (p *PVE) updateVMNow(node string, vmid int, u *vmUpdate) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.settleLocked(time.Now())
	vm, err := p.vmOnLocked(node, vmid)
	if err != nil {
		return err
	}
	if err := p.loadAndCheckLocked(vm, u); err != nil {
		return err
	}
	if err := p.waitFlockLocked(vmid, false, lockConfigTimeout); err != nil {
		return err
	}
	if vm, err = p.vmOnLocked(node, vmid); err != nil {
		return err
	}
	t := &task{exit: "OK"}
	return p.applyUpdateLocked(vm, u, time.Now(), &worker{t: t})
}

// unlinkDisks serves PUT /nodes/{node}/qemu/{vmid}/unlink: update_vm with
// delete=idlist.
func (p *PVE) unlinkDisks(r *Request) (any, error) {
	vmid := requestVMID(r)
	idlist, _ := r.String("idlist")
	u := &vmUpdate{revert: map[string]bool{}, settings: map[string]string{}, force: r.Bool("force", false), user: r.User}
	for _, k := range pveschema.SplitList(idlist) {
		if k == "cdrom" {
			k = "ide2"
		}
		if !optionExists(k) {
			return nil, ParamError(map[string]string{"delete": fmt.Sprintf("unknown option '%s'", k)})
		}
		u.deletes = append(u.deletes, k)
	}
	u.logLine = fmt.Sprintf("update VM %d: -delete %s", vmid, idlist)
	return nil, p.updateVMNow(r.PathParams["node"], vmid, u)
}

// updateVMAsync serves POST /nodes/{node}/qemu/{vmid}/config
// (update_vm_async): early checks, then a qmconfig worker.
func (p *PVE) updateVMAsync(r *Request) (any, error) {
	vmid := requestVMID(r)
	node := r.PathParams["node"]
	u, err := p.parseVMUpdate(r, vmid)
	if err != nil {
		return nil, err
	}
	delay, err := r.Int("background_delay", 0)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	now := time.Now()
	vm, err := p.requestVMLocked(r, now)
	if err == nil {
		err = p.loadAndCheckLocked(vm, u)
	}
	if err != nil {
		p.mu.Unlock()
		return nil, err
	}
	upid := p.spawnVMTaskLocked(now, node, "qmconfig", strconv.Itoa(vmid), r.User, configWork,
		[]flockReq{{vmid: vmid, timeout: lockConfigTimeout}},
		func(at time.Time, w *worker) {
			vm, err := p.vmOnLocked(node, vmid)
			if err == nil {
				err = p.applyUpdateLocked(vm, u, at, w)
			}
			if err != nil {
				w.fail(dieText(err))
			}
		}, nil)
	t := p.tasks[upid]
	p.mu.Unlock()
	if delay <= 0 {
		return upid, nil
	}
	// wait up to background_delay seconds for the worker
	deadline := time.Now().Add(time.Duration(delay) * time.Second)
	for time.Now().Before(deadline) {
		p.mu.Lock()
		now := time.Now()
		p.settleLocked(now)
		running, exit := t.running(now), t.exitStatus()
		p.mu.Unlock()
		if !running {
			if statusType(exit, false) == "error" {
				return nil, Errorf(http.StatusInternalServerError, "failed to update VM %d: %s", vmid, exit)
			}
			return nil, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return upid, nil
}
