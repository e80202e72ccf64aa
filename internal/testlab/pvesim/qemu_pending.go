package pvesim

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/ifupdown"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/perl"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/pveschema"
)

// Pending changes of a VM as qemu-server applies them: to a VM that is not
// running (PVE::QemuServer::vmconfig_apply_pending) or hot-plugged into a
// running one (vmconfig_hotplug_pending, vmconfig_update_net,
// vmconfig_update_disk), with the hotplug features and the fast-plug
// options that decide what can change live.

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

// netMTUErrorLocked is the MTU check of qemu-server's print_netdevice_full
// (qemu-server e781d971, PVE/QemuServer.pm), which builds a NIC's device
// for a start and for a hot-plug: a virtio NIC on a bridge takes the
// bridge's MTU (read_bridge_mtu) unless it sets one (1 also means the
// bridge's), and may not set one below 576 or above the bridge's. "" when
// the NIC passes.
func (p *PVE) netMTUErrorLocked(node, netid string, nic map[string]string, now time.Time) string {
	mtu, set := nic["mtu"]
	if nic["model"] != "virtio" || nic["bridge"] == "" || !set || mtu == "1" {
		return ""
	}
	n := p.nodeLocked(node)
	if n == nil {
		return ""
	}
	bridgeMTU := 1500 // read_bridge_mtu of a bridge without an mtu option
	cfg := ifupdown.Parse(n.net.current.Text, n.net.nics, n.net.activeAt(now))
	if d, ok := cfg.Ifaces[nic["bridge"]]; ok {
		if v, err := strconv.Atoi(perl.String(d["mtu"])); err == nil && v > 0 {
			bridgeMTU = v
		}
	}
	switch v, _ := strconv.Atoi(mtu); {
	case v < 576:
		return fmt.Sprintf("netdev %s: MTU '%s' is smaller than the IP minimum MTU '576'", netid, mtu)
	case v > bridgeMTU:
		return fmt.Sprintf("netdev %s: MTU '%s' is bigger than the bridge MTU '%d' - adjust the MTU for the network device "+
			"in the VM configuration, while ensuring that the bridge is configured as desired.", netid, mtu, bridgeMTU)
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
			if msg := p.netMTUErrorLocked(vm.node, k, nn, now); msg != "" {
				return fmt.Errorf("%s", msg)
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
	if msg := p.netMTUErrorLocked(vm.node, k, nn, now); msg != "" {
		return fmt.Errorf("%s", msg)
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
