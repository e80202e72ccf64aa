package pvesim

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

// Config changes of containers: update_pct_config with its pending
// section, vmconfig_apply_pending (stopped) and vmconfig_hotplug_pending
// (running), create_disks and the permission checks that API tokens meet
// (check_ct_modify_config_perm).

// --- permissions ---------------------------------------------------------

// lxcCheckModifyPerm is check_ct_modify_config_perm for the lab's users:
// root@pam may do anything; its API token is not root@pam and meets the
// root-only checks (the token has all privileges otherwise).
func lxcCheckModifyPerm(r *Request, oldconf, settings map[string]string, deletes []string, unprivileged bool) error {
	if isRoot(r) {
		return nil
	}
	check := func(k string, del bool) error {
		switch {
		case isLXCVolumeKey(k):
			if del {
				return nil
			}
			if t := parseMountPoint(settings[k]).kind(); t != "volume" {
				return permError(fmt.Sprintf("mount point type %s is only allowed for root@pam", t))
			}
		case lxcDevKeyRE.MatchString(k):
			return permError("configuring device passthrough is only allowed for root@pam")
		case k == "features":
			if !unprivileged {
				return permError("changing feature flags for privileged container is only allowed for root@pam")
			}
			other := false
			onlyNesting := func(f map[string]string) {
				if len(f) == 1 && f["nesting"] == "1" {
					return
				}
				if len(f) > 0 {
					other = true
				}
			}
			switch {
			case del:
				onlyNesting(parseFeatures(oldconf["features"]))
			case oldconf["features"] != "":
				oldF, newF := parseFeatures(oldconf["features"]), parseFeatures(settings[k])
				for f := range maps.Keys(oldF) {
					if oldF[f] != newF[f] && f != "nesting" {
						other = true
					}
				}
				for f := range maps.Keys(newF) {
					if oldF[f] != newF[f] && f != "nesting" {
						other = true
					}
				}
			default:
				onlyNesting(parseFeatures(settings[k]))
			}
			if other {
				return permError("changing feature flags (except nesting) is only allowed for root@pam")
			}
		case k == "hookscript":
			return permError("changing the hookscript is only allowed for root@pam")
		}
		return nil
	}
	for _, k := range slices.Sorted(maps.Keys(settings)) {
		if err := check(k, false); err != nil {
			return err
		}
	}
	for _, k := range deletes {
		if err := check(k, true); err != nil {
			return err
		}
	}
	return nil
}

// --- disks ---------------------------------------------------------------

// ext4Backups lists the blocks of the superblock backups of an ext4 file
// system with 4k blocks (sparse_super: groups 1 and the powers of 3, 5, 7).
func ext4Backups(blocks uint64) []uint64 {
	groups := (blocks + 32767) / 32768
	var out []uint64
	for g := uint64(1); g < groups; g++ {
		if g == 1 || isPowerOf(g, 3) || isPowerOf(g, 5) || isPowerOf(g, 7) {
			out = append(out, g*32768)
		}
	}
	return out
}

func isPowerOf(n, b uint64) bool {
	for n > 1 && n%b == 0 {
		n /= b
	}
	return n == 1
}

// mkfsLines is what PVE::LXC::mkfs shows of mkfs.ext4's output: the
// summary lines and the backup block lines (mke2fs wraps them at 72
// columns; the filter drops a last line with a single number).
func mkfsLines(size uint64) []string {
	blocks := size / 4096
	lines := []string{
		fmt.Sprintf("Creating filesystem with %d 4k blocks and %d inodes", blocks, size/16384),
		"Filesystem UUID: " + sim.RandomUUID(),
		"Superblock backups stored on blocks: ",
	}
	var line strings.Builder
	col := 0
	for i, b := range ext4Backups(blocks) {
		if i > 0 {
			line.WriteString(", ")
		}
		s := strconv.FormatUint(b, 10)
		if need := len(s) + 2; need > col {
			if line.Len() > 0 {
				lines = append(lines, line.String())
				line.Reset()
			}
			line.WriteString("\t")
			col = 72
		}
		col -= len(s) + 2
		line.WriteString(s)
	}
	if l := line.String(); strings.Contains(l, ", ") {
		lines = append(lines, l)
	}
	return lines
}

// lxcCreateDisksLocked is create_disks: every mount point of settings of
// the form STORAGE:SIZE_IN_GiB gets a new volume (alloc_disk: a raw volume
// with an ext4 file system); others are printed as they are. It returns
// the values to store and the volumes it allocated; on error it frees them.
func (p *PVE) lxcCreateDisksLocked(n *node, vmid int, settings map[string]string, now time.Time, w *worker) (map[string]string, []string, error) {
	ns := n.storage
	res := map[string]string{}
	var vollist []string
	fail := func(format string, args ...any) (map[string]string, []string, error) {
		for _, v := range vollist {
			w.log(ns.free(v))
		}
		return nil, nil, Errorf(http.StatusInternalServerError, format, args...)
	}
	for _, k := range lxcVolumeKeys(settings) {
		mp := parseMountPoint(settings[k])
		m := lxcNewDiskRE.FindStringSubmatch(mp["volume"])
		if m == nil {
			res[k] = mp.print(k)
			continue
		}
		st := p.storageDefOf(m[1])
		if st == nil {
			return fail("storage '%s' does not exist", m[1])
		}
		if !st.hasContent("rootdir") {
			return fail("content type 'rootdir' is not available or configured on storage '%s'", m[1])
		}
		gb, _ := strconv.ParseFloat(m[2], 64)
		sizeKB := uint64(gb*1024) * 1024
		size := sizeKB * 1024
		v, line := ns.alloc(m[1], ns.freeDiskName(m[1], vmid, nil), vmid, size, min(size/100, 140*mib), now)
		vollist = append(vollist, v.volid())
		w.log(line)
		w.log(mkfsLines(size)...)
		mp["volume"], mp["size"] = v.volid(), formatSize(size)
		res[k] = mp.print(k)
	}
	return res, vollist, nil
}

// lxcCheckContentType is update_pct_config's $check_content_type.
func (p *PVE) lxcCheckContentType(volume string) error {
	sid, _, ok := parseVolumeID(volume)
	if !ok {
		return Errorf(http.StatusInternalServerError, "unable to parse volume ID '%s'", volume)
	}
	st := p.storageDefOf(sid)
	if st == nil {
		return errNoStorage(sid)
	}
	if !st.hasContent("rootdir") {
		return Errorf(http.StatusInternalServerError, "storage '%s' does not allow content type 'rootdir' (Container)", sid)
	}
	return nil
}

// volumeInUse is is_volume_in_use with pending: a mount point (current or
// pending) uses volid.
func (ct *lxcCT) volumeInUse(volid string) bool {
	for _, c := range []map[string]string{ct.conf, ct.pending} {
		for _, k := range lxcVolumeKeys(c) {
			if mp := parseMountPoint(c[k]); mp.kind() == "volume" && mp["volume"] == volid {
				return true
			}
		}
	}
	return false
}

// deleteMountpointVolumeLocked is delete_mountpoint_volume: free a volume
// the container owns.
func (p *PVE) deleteMountpointVolumeLocked(ct *lxcCT, volid string) {
	if parseMountPoint(volid).kind() != "volume" || volumeOwner(volid) != ct.vmid {
		return
	}
	if n := p.nodeLocked(ct.node); n != nil {
		n.storage.free(volid)
	}
}

// bridgeMTULocked is PVE::Network::read_bridge_mtu on the container's node.
func (p *PVE) bridgeMTULocked(node, bridge string, now time.Time) (int, error) {
	n := p.nodeLocked(node)
	if n == nil || !n.net.activeAt(now)[bridge] {
		return 0, fmt.Errorf("bridge '%s' does not exist\n", bridge)
	}
	cfg := ifupdown.Parse(n.net.current.Text, n.net.nics, n.net.activeAt(now))
	if mtu := perl.Int(cfg.Ifaces[bridge]["mtu"]); mtu > 0 {
		return mtu, nil
	}
	return 1500, nil
}

// --- pending changes -----------------------------------------------------

// applyPendingMountpointLocked is apply_pending_mountpoint: a new disk is
// allocated, an existing volume gets its size; a replaced volume becomes
// unusedN. Running, only new mount points are hot-plugged.
func (p *PVE) applyPendingMountpointLocked(ct *lxcCT, k string, running bool, now time.Time, w *worker) error {
	mp := parseMountPoint(ct.pending[k])
	old, hasOld := ct.conf[k]
	n := p.nodeLocked(ct.node)
	if mp.kind() == "volume" && lxcNewDiskRE.MatchString(mp["volume"]) {
		created, _, err := p.lxcCreateDisksLocked(n, ct.vmid, map[string]string{k: ct.pending[k]}, now, w)
		if err != nil {
			return fmt.Errorf("%s", dieText(err))
		}
		ct.pending[k] = created[k]
	} else {
		if running && hasOld {
			return errSkip
		}
		if mp.kind() == "volume" {
			// $rescan_volume; a volume it cannot find keeps its size
			if v := n.storage.vols[mp["volume"]]; v != nil {
				mp["size"] = formatSize(v.size)
			}
		}
		ct.pending[k] = mp.print(k)
	}
	if hasOld {
		if om := parseMountPoint(old); om.kind() == "volume" {
			// is_volume_in_use is asked about the whole old value, which
			// no mount point is: the old volume always becomes unusedN
			if _, err := addUnusedVolume(ct.conf, om["volume"]); err != nil {
				return err
			}
		}
	}
	return nil
}

// lxcApplyPendingLocked is vmconfig_apply_pending: the pending changes in
// selection (nil: all) of a container that is not running. It returns the
// errors by key ("unable to apply pending change <key> : <error>").
func (p *PVE) lxcApplyPendingLocked(ct *lxcCT, selection map[string]bool, now time.Time, w *worker) map[string]string {
	errs := map[string]string{}
	addErr := func(k string, err error) {
		msg := err.Error()
		if !strings.HasSuffix(msg, "\n") {
			msg += "\n"
		}
		errs[k] = "unable to apply pending change " + k + " : " + msg
	}
	dels := pendingDeletes(ct.pending["delete"])
	for _, k := range slices.Sorted(maps.Keys(dels)) {
		if selection != nil && !selection[k] {
			continue
		}
		switch {
		case lxcMPKeyRE.MatchString(k):
			if mp := parseMountPoint(ct.conf[k]); ct.conf[k] != "" && mp.kind() == "volume" {
				if _, err := addUnusedVolume(ct.conf, mp["volume"]); err != nil {
					addErr(k, err)
					continue
				}
			}
		case unusedKeyRE.MatchString(k):
			if v := ct.conf[k]; v != "" && !ct.volumeInUse(v) {
				p.deleteMountpointVolumeLocked(ct, v)
			}
		}
		delete(ct.conf, k)
		ct.removePendingDelete(k)
	}
	ct.cleanupPending()
	for _, k := range slices.Sorted(maps.Keys(ct.pending)) {
		if k == "delete" || (selection != nil && !selection[k]) {
			continue
		}
		switch {
		case lxcMPKeyRE.MatchString(k):
			if err := p.applyPendingMountpointLocked(ct, k, false, now, w); err != nil {
				addErr(k, err)
				continue
			}
		case lxcNetKeyRE.MatchString(k):
			ct.pending[k] = normalizeLXCNet(ct.pending[k])
		}
		ct.conf[k] = ct.pending[k]
		delete(ct.pending, k)
	}
	return errs
}

// lxcHotplugNetLocked is update_net/hotplug_net: a new NIC or one with a
// new MAC address or name gets a new veth pair on its bridge
// (veth_create reads the bridge's MTU; from memory), a NIC moved to
// another bridge or VLAN is plugged again (tap_plug).
func (p *PVE) lxcHotplugNetLocked(ct *lxcCT, k, value string, now time.Time) error {
	nn := parseLXCNet(value)
	bridgeErr := func() error {
		if nn["bridge"] == "" {
			return nil
		}
		if msg := p.bridgeErrorLocked(ct.node, nn["bridge"], now); msg != "" {
			return fmt.Errorf("%s\n", msg)
		}
		return nil
	}
	old, ok := ct.conf[k]
	if !ok {
		return bridgeErr()
	}
	on := parseLXCNet(old)
	if on["hwaddr"] != nn["hwaddr"] || on["name"] != nn["name"] {
		return bridgeErr()
	}
	if on["bridge"] != nn["bridge"] || on["tag"] != nn["tag"] || on["firewall"] != nn["firewall"] || on["trunks"] != nn["trunks"] {
		return bridgeErr()
	}
	return nil
}

// lxcHotplugPendingLocked is vmconfig_hotplug_pending: what a running
// container takes at once (the fast-plug options, memory and swap, CPU
// limits, NICs, new mount points, devices); the rest stays pending. It
// returns the errors by key ("unable to hotplug <key>: <error>").
func (p *PVE) lxcHotplugPendingLocked(ct *lxcCT, selection map[string]bool, now time.Time, w *worker) map[string]string {
	errs := map[string]string{}
	addErr := func(k string, err error) {
		msg := err.Error()
		if !strings.HasSuffix(msg, "\n") {
			msg += "\n"
		}
		errs[k] = "unable to hotplug " + k + ": " + msg
	}
	for _, k := range slices.Sorted(maps.Keys(ct.pending)) {
		if selection != nil && !selection[k] {
			continue
		}
		if lxcFastplug[k] {
			ct.conf[k] = ct.pending[k]
			delete(ct.pending, k)
		}
	}
	dels := pendingDeletes(ct.pending["delete"])
	for _, k := range slices.Sorted(maps.Keys(dels)) {
		if selection != nil && !selection[k] {
			continue
		}
		switch {
		case lxcFastplug[k], k == "swap", k == "cpulimit", k == "cpuunits":
		case unusedKeyRE.MatchString(k):
			if v := ct.conf[k]; v != "" && !ct.volumeInUse(v) {
				p.deleteMountpointVolumeLocked(ct, v)
			}
		case len(k) == 4 && strings.HasPrefix(k, "net") && k[3] >= '0' && k[3] <= '9':
			// m/^net(\d)$/: only net0 .. net9 are removed at once
		default:
			continue // not hot-pluggable
		}
		delete(ct.conf, k)
		ct.removePendingDelete(k)
	}
	for _, k := range slices.Sorted(maps.Keys(ct.pending)) {
		if k == "delete" || (selection != nil && !selection[k]) {
			continue
		}
		value := ct.pending[k]
		err := func() error {
			switch {
			case k == "cpulimit", k == "cpuunits", k == "memory", k == "swap":
			case lxcNetKeyRE.MatchString(k):
				value = normalizeLXCNet(value)
				return p.lxcHotplugNetLocked(ct, k, value, now)
			case lxcMPKeyRE.MatchString(k):
				if _, ok := ct.conf[k]; ok {
					return errSkip
				}
				if err := p.applyPendingMountpointLocked(ct, k, true, now, w); err != nil {
					return err
				}
				value = ct.pending[k]
			case lxcDevKeyRE.MatchString(k):
				if _, ok := ct.conf[k]; ok {
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
			addErr(k, err)
		default:
			ct.conf[k] = value
			delete(ct.pending, k)
		}
	}
	return errs
}

// --- update_pct_config ---------------------------------------------------

// verifyList is verify_nameserver_list and verify_searchdomain_list: the
// entries joined by spaces (from memory).
func verifyList(v string) string { return strings.Join(pveschema.SplitList(v), " ") }

// clampCPUShares is PVE::CGroup::clamp_cpu_shares on cgroup v2: the value
// is clamped to [1, 10000] (from memory).
func clampCPUShares(v string) string {
	n, err := strconv.Atoi(v)
	if err != nil {
		return v
	}
	return strconv.Itoa(min(max(n, 1), 10000))
}

// lxcUpdatePctConfigLocked is update_pct_config: reverts, deletes and new
// values go to the pending section, then the ones the update changed are
// applied (stopped) or hot-plugged (running). It returns the errors of
// changes that failed; an error return is a die.
func (p *PVE) lxcUpdatePctConfigLocked(ct *lxcCT, settings map[string]string, deletes, reverts []string, now time.Time, w *worker) (map[string]string, error) {
	for _, k := range reverts {
		delete(ct.pending, k)
		ct.removePendingDelete(k)
	}
	modified := map[string]bool{}
	protected := pveschema.IsTrue(ct.conf["protection"])
	for _, k := range deletes {
		_, inConf := ct.conf[k]
		_, inPending := ct.pending[k]
		if !inConf && !inPending {
			w.warn(fmt.Sprintf("cannot delete '%s' - not set in current configuration!", k))
			continue
		}
		modified[k] = true
		switch {
		case k == "memory" || k == "rootfs" || k == "ostype":
			return nil, Errorf(http.StatusInternalServerError, "unable to delete required option '%s'", k)
		case unusedKeyRE.MatchString(k) || lxcMPKeyRE.MatchString(k):
			if protected {
				return nil, Errorf(http.StatusInternalServerError, "can't remove CT %d drive '%s' - protection mode enabled", ct.vmid, k)
			}
		case k == "unprivileged":
			return nil, Errorf(http.StatusInternalServerError, "unable to delete read-only option: '%s'", k)
		}
		ct.addPendingDelete(k, false)
	}
	for _, k := range slices.Sorted(maps.Keys(settings)) {
		modified[k] = true
		value := settings[k]
		switch {
		case isLXCVolumeKey(k):
			if protected {
				return nil, Errorf(http.StatusInternalServerError, "can't update CT %d drive '%s' - protection mode enabled", ct.vmid, k)
			}
			if mp := parseMountPoint(value); mp.kind() == "volume" {
				if err := p.lxcCheckContentType(mp["volume"]); err != nil {
					return nil, err
				}
			}
		case k == "nameserver", k == "searchdomain":
			value = verifyList(value)
		case k == "unprivileged":
			return nil, Errorf(http.StatusInternalServerError, "unable to modify read-only option: '%s'", k)
		case k == "tags":
			value = uniqueTags(value)
		case k == "cpuunits":
			value = clampCPUShares(value)
		case lxcNetKeyRE.MatchString(k):
			nn := parseLXCNet(value)
			if mtu, _ := strconv.Atoi(nn["mtu"]); mtu > 0 {
				bridgeMTU, err := p.bridgeMTULocked(ct.node, nn["bridge"], now)
				if err != nil {
					return nil, Errorf(http.StatusInternalServerError, "%s", err.Error())
				}
				if mtu > bridgeMTU {
					return nil, Errorf(http.StatusInternalServerError, "%s: MTU size '%d' is bigger than bridge MTU '%d'", k, mtu, bridgeMTU)
				}
			}
		case lxcDevKeyRE.MatchString(k):
			if parseMountPoint(value)["volume"] == "" && !strings.Contains(value, "path=") {
				// from memory: parse_device
				return nil, Errorf(http.StatusInternalServerError, "Path has to be defined")
			}
		}
		ct.pending[k] = value
		ct.removePendingDelete(k)
	}
	ct.cleanupPending()
	if ct.running {
		return p.lxcHotplugPendingLocked(ct, modified, now, w), nil
	}
	return p.lxcApplyPendingLocked(ct, modified, now, w), nil
}

// updateCT serves PUT /nodes/{node}/lxc/{vmid}/config (update_vm): the
// change is made under the config flock, synchronously; nothing is
// written when a change fails.
func (p *PVE) updateCT(r *Request) (any, error) {
	node := r.PathParams["node"]
	vmid := requestVMID(r)
	digest, _ := r.String("digest")
	params := qemuSettings(r, "node", "vmid", "digest")
	if len(params) == 0 {
		return nil, Errorf(http.StatusInternalServerError, "no options specified")
	}
	deletes, reverts := pveschema.SplitList(params["delete"]), pveschema.SplitList(params["revert"])
	delete(params, "delete")
	delete(params, "revert")

	p.mu.Lock()
	defer p.mu.Unlock()
	p.settleLocked(time.Now())
	if err := p.waitGuestFlockLocked(vmid, true, false, lockConfigTimeout); err != nil {
		return nil, err
	}
	now := time.Now()
	ct, err := p.ctOnLocked(node, vmid)
	if err != nil {
		return nil, err
	}
	if err := ct.checkLock(); err != nil {
		return nil, err
	}
	if digest != "" && digest != ct.digest() {
		return nil, Errorf(http.StatusInternalServerError, "detected modified configuration - file changed by other user? Try again.")
	}
	unpriv := pveschema.IsTrue(ct.conf["unprivileged"])
	if err := lxcCheckModifyPerm(r, ct.conf, nil, append(slices.Clone(deletes), reverts...), unpriv); err != nil {
		return nil, err
	}
	for _, k := range reverts {
		if !lxcOptionExists(k) {
			return nil, ParamError(map[string]string{"revert": fmt.Sprintf("unknown option '%s'", k)})
		}
		if _, ok := params[k]; ok {
			return nil, ParamError(map[string]string{"revert": fmt.Sprintf("you can't use '-%s' and '-revert %s' at the same time", k, k)})
		}
	}
	for _, k := range deletes {
		if !lxcOptionExists(k) {
			return nil, ParamError(map[string]string{"delete": fmt.Sprintf("unknown option '%s'", k)})
		}
		if _, ok := params[k]; ok {
			return nil, ParamError(map[string]string{"delete": fmt.Sprintf("you can't use '-%s' and -delete %s' at the same time", k, k)})
		}
		if slices.Contains(reverts, k) {
			return nil, ParamError(map[string]string{"delete": fmt.Sprintf("you can't use '-delete %s' and '-revert %s' at the same time", k, k)})
		}
	}
	if err := lxcCheckModifyPerm(r, ct.conf, params, nil, unpriv); err != nil {
		return nil, err
	}
	work := &lxcCT{guestConfig: ct.guestConfig.clone(), vmid: ct.vmid, node: ct.node, running: ct.running}
	errs, err := p.lxcUpdatePctConfigLocked(work, params, deletes, reverts, now, &worker{t: &task{exit: "OK"}})
	if err != nil {
		return nil, err
	}
	if len(errs) > 0 {
		return nil, ParamError(errs)
	}
	ct.guestConfig = work.guestConfig
	ct.reload()
	return nil, nil
}
