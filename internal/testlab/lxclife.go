package testlab

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"maps"
	"net/http"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/perl"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/pveschema"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/sim"
)

// Creating, destroying, powering, resizing, cloning, templating and
// migrating containers (PVE::API2::LXC's create_vm, destroy_vm,
// resize_vm, clone_vm, template, migrate_vm; PVE::API2::LXC::Status).

// --- templates -----------------------------------------------------------

// ctTemplate is what the lab knows of an OS template: the distribution
// PVE::LXC::Setup detects in it and the systemd version it ships.
type ctTemplate struct {
	ostype  string
	systemd int
}

// templateInfo derives the distribution from the template's name (the
// lab's templates are debian-12 with systemd 252 and ubuntu-24.04 with
// systemd 255, as the real task logs of these templates say).
func templateInfo(name string) ctTemplate {
	base := path.Base(name)
	switch {
	case strings.HasPrefix(base, "debian-12"):
		return ctTemplate{"debian", 252}
	case strings.HasPrefix(base, "debian-13"):
		return ctTemplate{"debian", 257}
	case strings.HasPrefix(base, "ubuntu-24.04"):
		return ctTemplate{"ubuntu", 255}
	case strings.HasPrefix(base, "ubuntu-22.04"):
		return ctTemplate{"ubuntu", 249}
	}
	distro, _, _ := strings.Cut(base, "-")
	switch distro {
	case "debian", "devuan", "ubuntu", "centos", "fedora", "opensuse", "archlinux", "alpine", "gentoo", "nixos":
		return ctTemplate{ostype: distro}
	case "rockylinux", "almalinux":
		return ctTemplate{ostype: "centos"}
	}
	return ctTemplate{ostype: "unmanaged"}
}

// --- ssh keys ------------------------------------------------------------

var sshKeyTypes = []string{"ssh-rsa", "ssh-dss", "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com"}

// validSSHKeyLine is what "ssh-keygen -l" accepts of an authorized_keys
// line: a key type followed by a blob that encodes the same type.
func validSSHKeyLine(line string) bool {
	fields := strings.Fields(line)
	for i := 0; i+1 < len(fields); i++ {
		if !slices.Contains(sshKeyTypes, fields[i]) {
			continue
		}
		blob, err := base64.StdEncoding.DecodeString(fields[i+1])
		if err != nil || len(blob) < 4 {
			return false
		}
		n := binary.BigEndian.Uint32(blob)
		return uint64(n)+4 <= uint64(len(blob)) && string(blob[4:4+n]) == fields[i]
	}
	return false
}

// validateSSHKeys is PVE::Tools::validate_ssh_public_keys.
func validateSSHKeys(keys string) error {
	for _, line := range strings.Split(keys, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		if !validSSHKeyLine(line) {
			return Errorf(http.StatusInternalServerError, "SSH public key validation error")
		}
	}
	return nil
}

// fingerprint is a random SHA256 key fingerprint as ssh-keygen prints it.
func fingerprint() string {
	return "SHA256:" + strings.TrimRight(base64.StdEncoding.EncodeToString(sim.RandomBytes(32)), "=")
}

// --- create --------------------------------------------------------------

// plainSizeRE is a rootfs or mount point given as a size only (GiB on the
// default storage).
var plainSizeRE = regexp.MustCompile(`^\d+(\.\d+)?$`)

// ctCreateControl are the create parameters that are not config keys.
var ctCreateControl = []string{"node", "vmid", "ostemplate", "password", "storage", "force", "restore", "unique", "pool",
	"ignore-unpack-errors", "ssh-public-keys", "bwlimit", "start", "ha-managed", "unprivileged"}

// createCT serves POST /nodes/{node}/lxc (create_vm).
func (p *PVE) createCT(r *Request) (any, error) {
	node := r.PathParams["node"]
	id, err := r.Int("vmid", 0)
	if err != nil {
		return nil, err
	}
	vmid := int(id)
	if r.Bool("restore", false) {
		p.logOnce("lxc:restore", "testlab: restoring container backups is not implemented by the lab")
		return nil, &APIError{Status: http.StatusNotImplemented, Message: "restoring a backup archive is not implemented by the lab\n"}
	}
	unprivileged := r.Bool("unprivileged", true) // the default of create (not restore) is 1
	start := r.Bool("start", false)
	haManaged := r.Bool("ha-managed", false)

	p.mu.Lock()
	defer p.mu.Unlock()
	p.settleLocked(time.Now())
	vmidUsed := func() error {
		if g, ok := p.guests[vmid]; ok {
			typ := "VM"
			if g.kind == "lxc" {
				typ = "CT"
			}
			return Errorf(http.StatusInternalServerError, "%s %d already exists on node '%s'", typ, vmid, g.node)
		}
		return nil
	}
	if err := vmidUsed(); err != nil { // check_vmid_unused
		return nil, err
	}
	if keys, ok := r.String("ssh-public-keys"); ok {
		if err := validateSSHKeys(keys); err != nil {
			return nil, err
		}
	}
	pool, hasPool := r.String("pool")
	if hasPool {
		if err := p.checkPoolExistLocked(pool); err != nil {
			return nil, err
		}
	}
	ostemplate, _ := r.String("ostemplate")
	storage, ok := r.String("storage")
	if !ok {
		storage = "local"
	}
	settings := qemuSettings(r, ctCreateControl...)
	if err := lxcCheckModifyPerm(r, nil, settings, nil, unprivileged); err != nil {
		return nil, err
	}
	if ostemplate == "-" {
		return nil, Errorf(http.StatusInternalServerError, "pipe requires cli environment")
	}
	if _, _, ok := parseVolumeID(ostemplate); ok { // check_volume_access
		vtype, err := p.parseVolname(ostemplate)
		if err != nil {
			return nil, err
		}
		if vtype != "vztmpl" {
			return nil, Errorf(http.StatusInternalServerError, "unable to use volume %s - content type needs to be 'vztmpl'", ostemplate)
		}
	} else if !isRoot(r) {
		// a die without newline: Perl adds where it died (not modelled)
		return nil, Errorf(http.StatusInternalServerError, "Only root can pass arbitrary filesystem paths.")
	}
	checkStorage := func(sid string) error { // $check_and_activate_storage
		st := p.storageDefOf(sid)
		if st == nil {
			return errNoStorage(sid)
		}
		if !st.hasContent("rootdir") {
			return ParamError(map[string]string{"storage": fmt.Sprintf("storage '%s' does not support container directories", sid)})
		}
		return nil
	}
	mpParam, noDisk := map[string]string{}, map[string]string{}
	storageOnly := true
	for k, v := range settings {
		switch {
		case isLXCVolumeKey(k):
			if plainSizeRE.MatchString(v) {
				v = storage + ":" + v
			}
			mpParam[k] = v
			storageOnly = false
		case unusedKeyRE.MatchString(k):
			// warn "ignoring 'unusedN', cannot create/restore with unused volume"
		default:
			noDisk[k] = v
		}
	}
	if _, ok := mpParam["rootfs"]; !storageOnly && !ok {
		return nil, Errorf(http.StatusInternalServerError, "mount points configured, but 'rootfs' not set - aborting")
	}
	for _, k := range lxcVolumeKeys(mpParam) {
		mp := parseMountPoint(mpParam[k])
		if mp.kind() != "volume" {
			if !isRoot(r) {
				return nil, Errorf(http.StatusInternalServerError, "Only root can pass arbitrary filesystem paths.")
			}
			continue
		}
		sid, _, ok := parseVolumeID(mp["volume"])
		if !ok {
			return nil, Errorf(http.StatusInternalServerError, "unable to parse volume ID '%s'", mp["volume"])
		}
		if err := checkStorage(sid); err != nil {
			return nil, err
		}
	}
	if storageOnly {
		if err := checkStorage(storage); err != nil {
			return nil, err
		}
	}
	now := time.Now()
	work := &lxcCT{vmid: vmid, node: node, guestConfig: newGuestConfig(map[string]string{})}
	if _, err := p.lxcUpdatePctConfigLocked(work, noDisk, nil, nil, now, &worker{t: &task{exit: "OK"}}); err != nil {
		return nil, err
	}
	if unprivileged {
		work.conf["unprivileged"] = "1"
	}

	// create_and_lock_config: the config exists (with lock: create) when the call returns
	if err := p.waitGuestFlockLocked(vmid, true, false, createLockTimeout); err != nil {
		return nil, Errorf(http.StatusInternalServerError, "unable to create CT %d - %s", vmid, dieText(err))
	}
	if err := vmidUsed(); err != nil {
		return nil, Errorf(http.StatusInternalServerError, "unable to create CT %d - %s", vmid, dieText(err))
	}
	p.guests[vmid] = guestRef{node: node, kind: "lxc"}
	p.lxc.cts[vmid] = &lxcCT{vmid: vmid, node: node, guestConfig: newGuestConfig(map[string]string{"lock": "create"})}

	if storageOnly {
		mpParam["rootfs"] = storage + ":4" // "defaults to 4GB"
	}
	var final map[string]string
	var vollist []string
	begun := false
	var upid string
	begin := func(at time.Time, w *worker) {
		begun = true
		fail := func(err error) {
			w.fail(fmt.Sprintf("unable to create CT %d - %s", vmid, dieText(err)))
		}
		n := p.nodeLocked(node)
		conf := work.conf
		created, vols, err := p.lxcCreateDisksLocked(n, vmid, mpParam, at, w)
		if err != nil {
			fail(err)
			return
		}
		vollist = vols
		maps.Copy(conf, created)
		// restore_archive: abs_filesystem_path finds the template
		tmpl := n.storage.vols[ostemplate]
		if tmpl == nil || tmpl.content != "vztmpl" {
			for _, v := range vollist {
				w.log(n.storage.free(v))
			}
			vollist = nil
			fail(fmt.Errorf("can't find file '%s'\n", ostemplate))
			return
		}
		_, name, _ := parseVolumeID(ostemplate)
		extracted := tmpl.size * 41 / 10 / 10240 * 10240
		w.log(fmt.Sprintf("extracting archive '/var/lib/vz/template/cache/%s'", strings.TrimPrefix(name, "vztmpl/")),
			fmt.Sprintf("Total bytes read: %d (%dMiB, %dMiB/s)", extracted, extracted/mib, 180+extracted/mib%97))
		if v := n.storage.vols[parseMountPoint(conf["rootfs"])["volume"]]; v != nil {
			v.used = min(v.size, v.used+extracted)
		}
		if conf["arch"] == "" {
			w.log("Detected container architecture: amd64")
			conf["arch"] = "amd64"
		}
		info := templateInfo(name)
		if conf["ostype"] != "unmanaged" {
			conf["ostype"] = info.ostype // PVE::LXC::Setup detects it
		}
		hostname := cmpOr(conf["hostname"], fmt.Sprintf("CT%d", vmid))
		if info.ostype == "debian" || info.ostype == "ubuntu" {
			w.log("Setting up 'proxmox-regenerate-snakeoil.service' to regenerate snakeoil certificate..")
		}
		if conf["ostype"] != "unmanaged" {
			short, _, _ := strings.Cut(hostname, ".")
			for _, t := range []string{"rsa", "ed25519", "ecdsa"} {
				w.log(fmt.Sprintf("Creating SSH host key 'ssh_host_%s_key' - this may take some time ...", t),
					fmt.Sprintf("done: %s root@%s", fingerprint(), short))
			}
		}
		if info.systemd > 0 && parseFeatures(conf["features"])["nesting"] != "1" {
			w.warn(fmt.Sprintf("Systemd %d detected. You may need to enable nesting.", info.systemd))
		}
		conf["hostname"] = hostname
		if conf["memory"] == "" || conf["memory"] == "0" {
			conf["memory"] = "512"
		}
		if _, ok := conf["swap"]; !ok {
			conf["swap"] = "512"
		}
		final = conf
		if haManaged {
			w.log("Add as HA resource")
		}
	}
	finish := func(ok bool, at time.Time) {
		ct := p.lxc.cts[vmid]
		if ct == nil {
			return
		}
		if ok && final != nil {
			ct.guestConfig = newGuestConfig(final)
			ct.reload()
			p.addGuestToPoolLocked(vmid, pool)
			if start {
				// vm_start is called as an API method: a vzstart task of its own
				// (from memory: fork_worker in a worker forks another one)
				p.spawnCTStartLocked(at, node, vmid, r.User, false, "vzstart")
			}
			if haManaged {
				p.addHAResourceLocked(haSID("lxc", vmid), haCreateState(start))
			}
			return
		}
		if n := p.nodeLocked(node); n != nil {
			for _, v := range vollist {
				n.storage.free(v)
			}
		}
		if !begun && strings.HasPrefix(p.tasks[upid].exit, "can't lock file") {
			return // lock_config failed before the code ran: the config stays, locked
		}
		delete(p.lxc.cts, vmid)
		delete(p.guests, vmid)
	}
	upid = p.spawnVMTaskLocked(now, node, "vzcreate", strconv.Itoa(vmid), r.User, createWork,
		[]flockReq{{vmid: vmid, timeout: lockConfigTimeout, ct: true}}, begin, finish)
	return upid, nil
}

// --- power ---------------------------------------------------------------

// ctStartProblemLocked returns what keeps a container with conf from
// starting on node: the lines the start task logs and its error ("" if it
// starts). Every NIC's bridge must exist (the lxcnetaddbr hook plugs the
// veth into it; assumption: the lines lxc-start logs for it).
func (p *PVE) ctStartProblemLocked(node string, vmid int, conf map[string]string, now time.Time) ([]string, string) {
	if pveschema.IsTrue(conf["unprivileged"]) {
		for _, k := range lxcVolumeKeys(conf) {
			if pveschema.IsTrue(parseMountPoint(conf[k])["quota"]) {
				return nil, "Quotas are not supported by unprivileged containers."
			}
		}
	}
	for i := range 32 {
		v, ok := conf[fmt.Sprintf("net%d", i)]
		if !ok {
			continue
		}
		if msg := p.bridgeErrorLocked(node, parseLXCNet(v)["bridge"], now); msg != "" {
			return []string{
				msg,
				"run_buffer: 571 Script exited with status 2",
				"lxc_create_network_priv: 3427 No such device - Failed to create network device",
				"lxc_spawn: 1840 Failed to create the network",
				fmt.Sprintf("__lxc_start: 2107 Failed to spawn container \"%d\"", vmid),
			}, fmt.Sprintf("startup for container '%d' failed", vmid)
		}
	}
	return nil, ""
}

// startCTLocked marks a container as started at.
func (p *PVE) startCTLocked(ct *lxcCT, at time.Time) {
	ct.running, ct.started, ct.pid = true, at, p.nextPIDLocked()
}

// stopCTLocked stops a container; its pending changes stay pending until
// it starts (lxc-pve-poststop-hook applies none).
func stopCTLocked(ct *lxcCT) { ct.running, ct.pid = false, 0 }

// ctVMStartLocked is PVE::LXC::vm_start in a worker: the pending changes
// are applied, then the container starts unless something keeps it from
// starting. It reports whether it starts.
func (p *PVE) ctVMStartLocked(ct *lxcCT, at time.Time, w *worker) bool {
	if len(ct.pending) > 0 {
		p.lxcApplyPendingLocked(ct, nil, at, w)
		ct.reload()
	}
	lines, problem := p.ctStartProblemLocked(ct.node, ct.vmid, ct.conf, at)
	w.log(lines...)
	if problem != "" {
		w.fail(problem)
		return false
	}
	return true
}

// spawnCTStartLocked starts a vzstart (or hastart) worker: vm_start.
func (p *PVE) spawnCTStartLocked(now time.Time, node string, vmid int, user string, skiplock bool, typ string) string {
	starting := false
	return p.spawnVMTaskLocked(now, node, typ, strconv.Itoa(vmid), user, powerWork,
		[]flockReq{{vmid: vmid, timeout: lockConfigTimeout, ct: true}},
		func(at time.Time, w *worker) {
			if typ == "hastart" {
				w.log(fmt.Sprintf("Requesting HA start for CT %d", vmid))
				p.setHAStateLocked(haSID("lxc", vmid), "started") // ha-manager set ct:<vmid> --state started
			}
			ct, err := p.ctOnLocked(node, vmid)
			switch {
			case err != nil:
				w.fail(dieText(err))
				return
			case ct.isTemplate():
				w.fail("you can't start a CT if it's a template")
				return
			case !skiplock && ct.conf["lock"] != "mounted" && ct.checkLock() != nil:
				w.fail(dieText(ct.checkLock()))
				return
			case ct.running:
				return
			}
			starting = p.ctVMStartLocked(ct, at, w)
		},
		func(ok bool, at time.Time) {
			if ct, err := p.ctOnLocked(node, vmid); ok && starting && err == nil {
				p.startCTLocked(ct, at)
			}
		})
}

// ctPowerAction serves POST /nodes/{node}/lxc/{vmid}/status/<action>
// (PVE::API2::LXC::Status).
func (p *PVE) ctPowerAction(action string) HandlerFunc {
	return func(r *Request) (any, error) {
		node := r.PathParams["node"]
		vmid := requestVMID(r)
		skiplock := r.Bool("skiplock", false)
		if skiplock && !isRoot(r) {
			return nil, ParamError(map[string]string{"skiplock": "Only root may use this option."})
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		now := time.Now()
		p.settleLocked(now)
		// check_running looks at the node's running containers only
		ct, _ := p.ctOnLocked(node, vmid)
		running := ct != nil && ct.running
		ha := p.vmIsHAManagedLocked(vmid)
		id := strconv.Itoa(vmid)
		locks := []flockReq{{vmid: vmid, timeout: lockConfigTimeout, ct: true}}
		switch action {
		case "start":
			if running {
				return nil, Errorf(http.StatusInternalServerError, "CT %d already running", vmid)
			}
			typ := "vzstart"
			if ha {
				typ = "hastart"
			}
			return p.spawnCTStartLocked(now, node, vmid, r.User, skiplock, typ), nil
		case "stop", "shutdown":
			if !running {
				return nil, Errorf(http.StatusInternalServerError, "CT %d not running", vmid)
			}
			typ, work := "vzstop", powerWork
			if action == "shutdown" {
				typ, work, skiplock = "vzshutdown", shutdownWork, false
			}
			if ha {
				typ, locks = "hastop", nil
			}
			stopping := false
			return p.spawnVMTaskLocked(now, node, typ, id, r.User, work, locks, func(at time.Time, w *worker) {
				if typ == "hastop" {
					w.log(fmt.Sprintf("Requesting HA stop for CT %d", vmid))
					p.setHAStateLocked(haSID("lxc", vmid), "stopped") // ha-manager set ct:<vmid> --state stopped
					stopping = true
					return
				}
				ct, err := p.ctOnLocked(node, vmid)
				switch {
				case err != nil:
					w.fail(dieText(err))
				case !skiplock && ct.conf["lock"] != "mounted" && ct.checkLock() != nil:
					w.fail(dieText(ct.checkLock()))
				default:
					stopping = true
				}
			}, func(ok bool, at time.Time) {
				if ct, err := p.ctOnLocked(node, vmid); ok && stopping && err == nil {
					stopCTLocked(ct)
				}
			}), nil
		case "reboot":
			if !running {
				return nil, Errorf(http.StatusInternalServerError, "VM %d not running", vmid) // sic
			}
			starting := false
			return p.spawnVMTaskLocked(now, node, "vzreboot", id, r.User, rebootWork, locks, func(at time.Time, w *worker) {
				// vm_reboot: no lock check, stop, then vm_start (pending changes apply)
				ct, err := p.ctOnLocked(node, vmid)
				if err != nil || !ct.running {
					return
				}
				stopCTLocked(ct)
				starting = p.ctVMStartLocked(ct, at, w)
			}, func(ok bool, at time.Time) {
				if ct, err := p.ctOnLocked(node, vmid); ok && starting && err == nil {
					p.startCTLocked(ct, at)
				}
			}), nil
		}
		return nil, Errorf(http.StatusNotImplemented, "unknown action %s", action)
	}
}

// --- destroy -------------------------------------------------------------

// ctDestroyChecks is destroy_vm's $early_checks.
func (p *PVE) ctDestroyChecks(ct *lxcCT, purge bool) error {
	if pveschema.IsTrue(ct.conf["protection"]) {
		return Errorf(http.StatusInternalServerError, "can't remove CT %d - protection mode enabled", ct.vmid)
	}
	if err := ct.checkLock(); err != nil {
		return err
	}
	if !purge && p.haConfiguredLocked(haSID("lxc", ct.vmid)) {
		return Errorf(http.StatusInternalServerError, "unable to remove CT %d - used in HA resources and purge parameter not set.", ct.vmid)
	}
	return nil
}

// destroyCT serves DELETE /nodes/{node}/lxc/{vmid} (destroy_vm): a
// vzdestroy worker frees the volumes (destroy_lxc_container).
func (p *PVE) destroyCT(r *Request) (any, error) {
	node := r.PathParams["node"]
	vmid := requestVMID(r)
	purge := r.Bool("purge", false)
	force := r.Bool("force", false)
	unreferenced := r.Bool("destroy-unreferenced-disks", false)
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	ct, err := p.requestCTLocked(r, now)
	if err != nil {
		return nil, err
	}
	if err := p.ctDestroyChecks(ct, purge); err != nil {
		return nil, err
	}
	runningMsg := fmt.Sprintf("unable to destroy CT %d - container is running", vmid)
	if !force && ct.running {
		return nil, Errorf(http.StatusInternalServerError, "%s", runningMsg)
	}
	var toFree []string
	destroying := false
	begin := func(at time.Time, w *worker) {
		ct, err := p.ctOnLocked(node, vmid)
		if err == nil {
			err = p.ctDestroyChecks(ct, purge)
		}
		if err != nil {
			w.fail(dieText(err))
			return
		}
		if ct.running {
			if !force {
				w.fail(runningMsg)
				return
			}
			w.warn(fmt.Sprintf("forced to stop CT %d before destroying!", vmid))
			stopCTLocked(ct)
		}
		ns := p.nodeLocked(node).storage
		pendingCT := &lxcCT{guestConfig: newGuestConfig(ct.pending)}
		for _, volid := range append(ct.volumes(true), pendingCT.volumes(true)...) {
			if ns.baseInUse(volid) {
				w.fail(fmt.Sprintf("base volume '%s' is still in use by linked cloned", volid))
				return
			}
			if volumeOwner(volid) == vmid && ns.vols[volid] != nil && !slices.Contains(toFree, volid) {
				toFree = append(toFree, volid)
			}
		}
		if unreferenced {
			for _, volid := range slices.Sorted(maps.Keys(ns.vols)) {
				if v := ns.vols[volid]; v.content == "images" && v.vmid == vmid && !slices.Contains(toFree, volid) {
					toFree = append(toFree, volid)
				}
			}
		}
		for _, volid := range toFree {
			_, name, _ := parseVolumeID(volid)
			w.log(fmt.Sprintf("  Logical volume \"%s\" successfully removed.", name))
		}
		// destroy_lxc_container leaves a config with lock "destroyed" until the end
		ct.conf = map[string]string{"lock": "destroyed"}
		ct.pending = map[string]string{}
		destroying = true
		if purge {
			w.log(fmt.Sprintf("purging CT %d from related configurations..", vmid))
			if p.haConfiguredLocked(haSID("lxc", vmid)) {
				w.log(fmt.Sprintf("NOTE: removed CT %d from HA resource configuration.", vmid))
			}
		}
	}
	finish := func(ok bool, at time.Time) {
		if !ok || !destroying {
			return
		}
		n := p.nodeLocked(node)
		for _, volid := range toFree {
			n.storage.free(volid)
		}
		delete(p.lxc.cts, vmid)
		delete(p.guests, vmid)
		p.removeGuestFromPoolLocked(vmid) // remove_vm_access
		if purge {
			p.deleteHAServiceLocked(haSID("lxc", vmid), true)
		}
	}
	return p.spawnVMTaskLocked(now, node, "vzdestroy", strconv.Itoa(vmid), r.User, destroyWork,
		[]flockReq{{vmid: vmid, timeout: lockConfigTimeout, ct: true}}, begin, finish), nil
}

// --- resize --------------------------------------------------------------

// ctResizeCheck is resize_vm's $load_and_check: the mount point, its
// volume and the new size.
func (p *PVE) ctResizeCheck(node string, vmid int, disk, sizeStr, digest string) (*lxcCT, mountPoint, *volume, uint64, error) {
	fail := func(format string, args ...any) (*lxcCT, mountPoint, *volume, uint64, error) {
		return nil, nil, nil, 0, Errorf(http.StatusInternalServerError, format, args...)
	}
	ct, err := p.ctOnLocked(node, vmid)
	if err != nil {
		return nil, nil, nil, 0, err
	}
	if err := ct.checkLock(); err != nil {
		return nil, nil, nil, 0, err
	}
	if digest != "" && digest != ct.digest() {
		return fail("detected modified configuration - file changed by other user? Try again.")
	}
	value, ok := ct.conf[disk]
	if !ok {
		// parse_property_string of an empty value (assumption: the
		// exception's status and form)
		missing := map[string]string{"volume": "property is missing and it is not optional"}
		if disk != "rootfs" {
			missing["mp"] = "property is missing and it is not optional"
		}
		return nil, nil, nil, 0, &APIError{Status: http.StatusInternalServerError, Message: "format error\n", Errors: missing}
	}
	mp := parseMountPoint(value)
	volid := mp["volume"]
	if _, _, ok := parseVolumeID(volid); !ok {
		return fail("unable to parse volume ID '%s'", volid)
	}
	if _, err := p.parseVolname(volid); err != nil {
		return nil, nil, nil, 0, err
	}
	if owner := volumeOwner(volid); owner != vmid {
		// a die without newline: Perl adds where it died (not modelled)
		return fail("can't resize mount point owned by another container (%d)", owner)
	}
	v := p.nodeLocked(node).storage.vols[volid]
	if v == nil {
		return fail("Could not determine current size of volume '%s'", volid)
	}
	m := resizeSizeRE.FindStringSubmatch(sizeStr)
	if m == nil {
		return fail("invalid size string")
	}
	req, _ := parseSize(m[2] + m[4])
	newSize := req
	if m[1] == "+" {
		newSize += v.size
	}
	switch {
	case newSize < v.size:
		return fail("unable to shrink disk size")
	case newSize == v.size:
		return fail("disk is already at specified size")
	}
	return ct, mp, v, newSize, nil
}

// resizeCT serves PUT /nodes/{node}/lxc/{vmid}/resize (resize_vm): the
// checks run before the "resize" worker and again in it.
func (p *PVE) resizeCT(r *Request) (any, error) {
	node := r.PathParams["node"]
	vmid := requestVMID(r)
	disk, _ := r.String("disk")
	sizeStr, _ := r.String("size")
	digest, _ := r.String("digest")
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	p.settleLocked(now)
	if _, _, _, _, err := p.ctResizeCheck(node, vmid, disk, sizeStr, digest); err != nil {
		return nil, err
	}
	begin := func(at time.Time, w *worker) {
		ct, mp, v, newSize, err := p.ctResizeCheck(node, vmid, disk, sizeStr, digest)
		if err != nil {
			w.fail(dieText(err))
			return
		}
		oldSize := v.size
		v.size = roundExtent(newSize)
		mp["size"] = formatSize(newSize)
		ct.conf[disk] = mp.print(disk)
		dev := "/dev/pve/" + v.name
		blocks := v.size / 4096
		w.log(fmt.Sprintf("  Size of logical volume pve/%s changed from %s (%d extents) to %s (%d extents).", v.name, lvmSize(oldSize), oldSize/lvmExtent, lvmSize(v.size), v.size/lvmExtent),
			fmt.Sprintf("  Logical volume pve/%s successfully resized.", v.name))
		// e2fsck and resize2fs (assumption: e2fsprogs 1.47.2 as Debian 13 ships it)
		if !ct.running {
			w.log("e2fsck 1.47.2 (1-Jan-2025)", "Pass 1: Checking inodes, blocks, and sizes", "Pass 2: Checking directory structure",
				"Pass 3: Checking directory connectivity", "Pass 4: Checking reference counts", "Pass 5: Checking group summary information",
				fmt.Sprintf("%s: 25000/%d files (0.1%% non-contiguous), %d/%d blocks", dev, oldSize/16384, v.used/4096, oldSize/4096),
				"resize2fs 1.47.2 (1-Jan-2025)",
				fmt.Sprintf("Resizing the filesystem on %s to %d (4k) blocks.", dev, blocks))
		} else {
			w.log("resize2fs 1.47.2 (1-Jan-2025)", fmt.Sprintf("Filesystem at %s is mounted on /tmp; on-line resizing required", dev),
				fmt.Sprintf("old_desc_blocks = %d, new_desc_blocks = %d", (oldSize/4096+4194303)/4194304, (blocks+4194303)/4194304))
		}
		w.log(fmt.Sprintf("The filesystem on %s is now %d (4k) blocks long.", dev, blocks))
	}
	return p.spawnVMTaskLocked(now, node, "resize", strconv.Itoa(vmid), r.User, resizeWork,
		[]flockReq{{vmid: vmid, timeout: lockConfigTimeout, ct: true}}, begin, nil), nil
}

// --- clone ---------------------------------------------------------------

// removeCTLock is remove_lock: the lock goes if it is the one named.
func (p *PVE) removeCTLock(vmid int, lock string) {
	if ct := p.lxc.cts[vmid]; ct != nil && ct.conf["lock"] == lock {
		delete(ct.conf, "lock")
	}
}

// cloneCT serves POST /nodes/{node}/lxc/{vmid}/clone (clone_vm): the
// source gets lock "disk" and the clone's config (lock "create") exists
// when the call returns; a vzclone worker copies or clones the volumes.
func (p *PVE) cloneCT(r *Request) (any, error) {
	node := r.PathParams["node"]
	vmid := requestVMID(r)
	nid, err := r.Int("newid", 0)
	if err != nil {
		return nil, err
	}
	newid := int(nid)
	hostname, _ := r.String("hostname")
	description, _ := r.String("description")
	storage, _ := r.String("storage")
	target, _ := r.String("target")
	snapname, _ := r.String("snapname")
	fullParam, hasFull := r.String("full")
	pool, hasPool := r.String("pool")
	if hasPool {
		if err := p.checkPoolExist(pool); err != nil {
			return nil, err
		}
	}
	if target == node || target == "localhost" {
		target = ""
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.settleLocked(time.Now())
	if target != "" && p.nodeLocked(target) == nil {
		return nil, Errorf(http.StatusInternalServerError, "no such cluster node '%s'", target)
	}
	if storage != "" {
		st := p.storageDefOf(storage)
		if st == nil {
			return nil, errNoStorage(storage)
		}
		if target != "" && !st.shared {
			return nil, Errorf(http.StatusInternalServerError, "can't clone to non-shared storage '%s'", storage)
		}
	}
	// set_lock($vmid, 'disk')
	if err := p.waitGuestFlockLocked(vmid, true, false, lockConfigTimeout); err != nil {
		return nil, err
	}
	src, err := p.ctOnLocked(node, vmid)
	if err != nil {
		return nil, err
	}
	if err := src.checkLock(); err != nil {
		return nil, err
	}
	src.conf["lock"] = "disk"
	// create_and_lock_config($newid)
	if err := p.waitGuestFlockLocked(newid, true, false, createLockTimeout); err != nil {
		p.removeCTLock(vmid, "disk")
		return nil, err
	}
	if g, ok := p.guests[newid]; ok {
		p.removeCTLock(vmid, "disk")
		typ := "VM"
		if g.kind == "lxc" {
			typ = "CT"
		}
		return nil, Errorf(http.StatusInternalServerError, "%s %d already exists on node '%s'", typ, newid, g.node)
	}
	p.guests[newid] = guestRef{node: node, kind: "lxc"}
	p.lxc.cts[newid] = &lxcCT{vmid: newid, node: node, guestConfig: newGuestConfig(map[string]string{"lock": "create"})}
	abort := func(err error) (any, error) {
		p.removeCTLock(vmid, "disk")
		delete(p.lxc.cts, newid)
		delete(p.guests, newid)
		return nil, err
	}
	running := src.running
	full := !src.isTemplate()
	if hasFull {
		full = pveschema.IsTrue(fullParam)
	}
	if storage != "" && !full {
		return abort(Errorf(http.StatusInternalServerError, "parameter 'storage' not allowed for linked clones"))
	}
	if snapname != "" {
		return abort(Errorf(http.StatusInternalServerError, "snapshot '%s' does not exist", snapname))
	}
	ns := p.nodeLocked(node).storage
	newconf := map[string]string{}
	mountpoints := map[string]mountPoint{}
	sharedVM := true
	for _, k := range slices.Sorted(maps.Keys(src.conf)) {
		v := src.conf[k]
		switch {
		case unusedKeyRE.MatchString(k):
		case isLXCVolumeKey(k):
			mp := parseMountPoint(v)
			if mp.kind() != "volume" {
				return abort(Errorf(http.StatusInternalServerError, "unable to clone mountpoint '%s' (type %s)", k, mp.kind()))
			}
			sid, _, _ := parseVolumeID(mp["volume"])
			if storage != "" {
				sid = storage
			}
			if st := p.storageDefOf(sid); st == nil || !st.shared {
				sharedVM = false
			}
			if full {
				if running {
					return abort(Errorf(http.StatusInternalServerError, "Cannot do full clones on a running container without snapshots"))
				}
			} else if !strings.Contains(mp["volume"], ":base-") || ns.vols[mp["volume"]] == nil {
				// lvmthin clones base volumes only (LvmThinPlugin volume_has_feature)
				return abort(Errorf(http.StatusInternalServerError, "Linked clone feature for '%s' is not available", mp["volume"]))
			}
			mountpoints[k] = mp
		case lxcNetKeyRE.MatchString(k):
			m := parseLXCNet(v)
			m["hwaddr"] = randomMAC()
			newconf[k] = printLXCNet(m)
		default:
			newconf[k] = v
		}
	}
	if target != "" && !sharedVM {
		return abort(Errorf(http.StatusInternalServerError, "can't clone CT to node '%s' (CT uses local storage)", target))
	}
	newconf["lock"] = "create"
	for _, k := range []string{"template", "parent", "snaptime", "snapstate"} {
		delete(newconf, k)
	}
	if hostname != "" {
		newconf["hostname"] = hostname
	}
	if description != "" {
		newconf["description"] = description
	}
	nct := p.lxc.cts[newid]
	nct.conf = newconf
	nct.reload()

	var newvols []string
	begin := func(at time.Time, w *worker) {
		src, err := p.ctOnLocked(node, vmid)
		if err != nil || src.running != running {
			w.fail("clone failed: unexpected state change")
			return
		}
		nct := p.lxc.cts[newid]
		for _, k := range lxcVolumeKeys(src.conf) {
			mp, ok := mountpoints[k]
			if !ok {
				continue
			}
			sv := ns.vols[mp["volume"]]
			if sv == nil {
				w.fail(fmt.Sprintf("clone failed: volume '%s' does not exist", mp["volume"]))
				return
			}
			var v *volume
			var line string
			if full {
				w.log(fmt.Sprintf("create full clone of mountpoint %s (%s)", k, mp["volume"]))
				dst := cmpOr(storage, sv.storage)
				v, line = ns.alloc(dst, ns.freeDiskName(dst, newid, nil), newid, sv.size, sv.used, at)
				w.log(line)
				w.log(mkfsLines(sv.size)...)
				// rsync --stats (assumption: the summary lines only)
				w.log(fmt.Sprintf("Number of files: %d (reg: %d, dir: %d, link: %d)", 24310, 18562, 2207, 3541),
					fmt.Sprintf("Total file size: %d bytes", sv.used),
					fmt.Sprintf("sent %d bytes  received %d bytes  %d.00 bytes/sec", sv.used+sv.used/200, 381204, sv.used/4),
					fmt.Sprintf("total size is %d  speedup is 1.00", sv.used))
			} else {
				w.log(fmt.Sprintf("create linked clone of mount point %s (%s)", k, mp["volume"]))
				v, line = ns.alloc(sv.storage, ns.freeDiskName(sv.storage, newid, nil), newid, sv.size, 0, at)
				v.parent = sv.volid()
				w.log(line)
			}
			newvols = append(newvols, v.volid())
			c := maps.Clone(mp)
			c["volume"] = v.volid()
			nct.conf[k] = c.print(k)
		}
	}
	finish := func(ok bool, at time.Time) {
		p.removeCTLock(vmid, "disk")
		nct := p.lxc.cts[newid]
		if nct == nil {
			return
		}
		if ok {
			p.removeCTLock(newid, "create")
			if target != "" {
				nct.node = target
				p.guests[newid] = guestRef{node: target, kind: "lxc"}
			}
			p.addGuestToPoolLocked(newid, pool)
			return
		}
		for _, v := range newvols {
			ns.free(v)
		}
		delete(p.lxc.cts, newid)
		delete(p.guests, newid)
	}
	return p.spawnVMTaskLocked(time.Now(), node, "vzclone", strconv.Itoa(vmid), r.User, cloneWork,
		[]flockReq{{vmid: newid, timeout: lockConfigTimeout, ct: true}}, begin, finish), nil
}

// --- template ------------------------------------------------------------

// templateCT serves POST /nodes/{node}/lxc/{vmid}/template: the checks run
// under the flock, then a vztemplate worker makes the volumes base
// volumes and sets template: 1. The call answers null, not the task.
func (p *PVE) templateCT(r *Request) (any, error) {
	node := r.PathParams["node"]
	vmid := requestVMID(r)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.settleLocked(time.Now())
	if err := p.waitGuestFlockLocked(vmid, true, false, lockConfigTimeout); err != nil {
		return nil, err
	}
	ct, err := p.ctOnLocked(node, vmid)
	if err != nil {
		return nil, err
	}
	if err := ct.checkLock(); err != nil {
		return nil, err
	}
	if ct.isTemplate() {
		return nil, Errorf(http.StatusInternalServerError, "you can't convert a template to a template")
	}
	if ct.running {
		return nil, Errorf(http.StatusInternalServerError, "you can't convert a CT to template if the CT is running")
	}
	p.spawnVMTaskLocked(time.Now(), node, "vztemplate", strconv.Itoa(vmid), r.User, templateWork,
		[]flockReq{{vmid: vmid, timeout: lockConfigTimeout, ct: true}}, func(at time.Time, w *worker) {
			ct, err := p.ctOnLocked(node, vmid)
			if err != nil {
				w.fail(dieText(err))
				return
			}
			ns := p.nodeLocked(node).storage
			for _, k := range lxcVolumeKeys(ct.conf) {
				mp := parseMountPoint(ct.conf[k])
				v := ns.vols[mp["volume"]]
				if mp.kind() != "volume" || v == nil {
					continue
				}
				w.log(p.createBaseLocked(ns, v)...)
				mp["volume"] = v.volid()
				ct.conf[k] = mp.print(k)
			}
			ct.conf["template"] = "1"
		}, nil)
	return nil, nil
}

// --- migrate -------------------------------------------------------------

// ctMigratePrecondition serves GET /nodes/{node}/lxc/{vmid}/migrate.
func (p *PVE) ctMigratePrecondition(r *Request) (any, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ct, err := p.requestCTLocked(r, time.Now())
	if err != nil {
		return nil, err
	}
	if err := ct.checkLock(); err != nil {
		return nil, err
	}
	allowed := []string{}
	for _, n := range p.nodes {
		if n.Name != ct.node {
			allowed = append(allowed, n.Name)
		}
	}
	return map[string]any{"running": perl.BoolInt(ct.running), "allowed-nodes": allowed, "not-allowed-nodes": map[string]any{}}, nil
}

// parseStorageMap is parse_idmap for target-storage: "sid" maps every
// storage to sid, "a:b" maps a to b; the result maps a storage to its target.
func parseStorageMap(s string) func(string) string {
	def, pairs := "", map[string]string{}
	for _, e := range pveschema.SplitList(s) {
		if a, b, ok := strings.Cut(e, ":"); ok {
			pairs[a] = b
		} else if e != "1" {
			def = e
		}
	}
	return func(sid string) string {
		if t, ok := pairs[sid]; ok {
			return t
		}
		return cmpOr(def, sid)
	}
}

// migrateCT serves POST /nodes/{node}/lxc/{vmid}/migrate (migrate_vm): a
// vzmigrate worker (PVE::LXC::Migrate) shuts a running container down
// (restart mode), copies its local volumes to the target node, moves the
// config and starts it there again.
func (p *PVE) migrateCT(r *Request) (any, error) {
	node := r.PathParams["node"]
	vmid := requestVMID(r)
	target, _ := r.String("target")
	online := r.Bool("online", false)
	restart := r.Bool("restart", false)
	targetStorage, _ := r.String("target-storage")
	if target == node {
		return nil, ParamError(map[string]string{"target": "target is local node."})
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	p.settleLocked(now)
	tn := p.nodeLocked(target)
	if tn == nil {
		return nil, Errorf(http.StatusInternalServerError, "no such cluster node '%s'", target)
	}
	ct, err := p.ctOnLocked(node, vmid)
	if err != nil {
		return nil, err
	}
	if ct.running && !online && !restart {
		return nil, Errorf(http.StatusInternalServerError, "can't migrate running container without --online or --restart")
	}
	mapStorage := parseStorageMap(targetStorage)
	if targetStorage != "" {
		for _, sid := range []string{"local", "local-lvm"} {
			t := mapStorage(sid)
			st := p.storageDefOf(t)
			if st == nil {
				return nil, errNoStorage(t)
			}
			if t != sid && !st.hasContent("rootdir") {
				return nil, Errorf(http.StatusInternalServerError, "storage '%s' does not support CT rootdirs", t)
			}
		}
	}
	typ := "vzmigrate"
	if p.vmIsHAManagedLocked(vmid) {
		typ, restart = "hamigrate", true
	}
	volumeMap := map[string]string{}
	wasRunning, migrated := false, false
	begin := func(at time.Time, w *worker) {
		ts := func(format string, args ...any) string { return taskLogTime(at) + " " + fmt.Sprintf(format, args...) }
		if typ == "hamigrate" {
			w.log(fmt.Sprintf("Requesting HA migration for CT %d to node %s", vmid, target))
		}
		abort := func(msg string) {
			w.log(ts("ERROR: migration aborted (duration 00:00:00): %s", strings.TrimSuffix(msg, "\n")))
			w.fail("migration aborted")
		}
		ct, err := p.ctOnLocked(node, vmid)
		if err != nil {
			abort(dieText(err))
			return
		}
		if err := ct.checkLock(); err != nil {
			abort(dieText(err))
			return
		}
		if ct.running && online {
			abort("lxc live migration is currently not implemented")
			return
		}
		for _, k := range lxcVolumeKeys(ct.conf) {
			mp := parseMountPoint(ct.conf[k])
			if mp.kind() != "volume" && !pveschema.IsTrue(mp["shared"]) {
				abort(fmt.Sprintf("cannot migrate local %s mount point '%s'", mp.kind(), k))
				return
			}
		}
		if restart && ct.running {
			w.log(ts("shutdown CT %d", vmid))
			stopCTLocked(ct)
			wasRunning = true
		}
		w.log(ts("starting migration of CT %d to node '%s' (%s)", vmid, target, tn.IP))
		ct.conf["lock"] = "migrate"
		src := p.nodeLocked(node).storage
		refs := map[string]string{}
		for volid, v := range src.vols {
			if v.content == "images" && v.vmid == vmid {
				refs[volid] = "storage"
			}
		}
		for _, volid := range ct.volumes(true) {
			if _, ok := src.vols[volid]; ok {
				refs[volid] = "config"
			}
		}
		for _, volid := range slices.Sorted(maps.Keys(refs)) {
			if refs[volid] == "config" {
				w.log(ts("found local volume '%s' (in current VM config)", volid))
			} else {
				w.log(ts("found local volume '%s' (via storage)", volid))
			}
		}
		for _, volid := range slices.Sorted(maps.Keys(refs)) {
			v := src.vols[volid]
			sid := mapStorage(v.storage)
			// storage_migrate with allow_rename: a name taken on the target gets the next free one
			name := v.name
			if tn.storage.vols[sid+":"+name] != nil {
				name = tn.storage.freeDiskName(sid, vmid, nil)
			}
			newVolid := sid + ":" + name
			// pvesm export/import of a raw volume (assumption: dd's summary line)
			w.log(ts("  Logical volume \"%s\" created.", name),
				ts("%d bytes (%.1f GB, %.1f GiB) copied, 4 s, %d MB/s", v.size, float64(v.size)/1e9, float64(v.size)/(1<<30), v.size/4/1e6),
				ts("successfully imported '%s'", newVolid),
				ts("volume '%s' is '%s' on the target", volid, newVolid))
			volumeMap[volid] = newVolid
		}
		w.log(ts("start final cleanup"))
		if wasRunning {
			w.log(ts("start container on target node"))
		}
		w.log(ts("migration finished successfully (duration 00:00:0%d)", 1+len(volumeMap)))
		migrated = true
	}
	finish := func(ok bool, at time.Time) {
		ct, err := p.ctOnLocked(node, vmid)
		if err != nil {
			return
		}
		p.removeCTLock(vmid, "migrate")
		if !ok || !migrated {
			if wasRunning {
				p.startCTLocked(ct, at) // final_cleanup starts it on the source again
			}
			return
		}
		src := p.nodeLocked(node).storage
		for volid, newVolid := range volumeMap {
			v := src.vols[volid]
			delete(src.vols, volid)
			v.storage, _, _ = strings.Cut(newVolid, ":")
			_, v.name, _ = parseVolumeID(newVolid)
			tn.storage.vols[newVolid] = v
		}
		// update_volume_ids
		for k, val := range ct.conf {
			switch {
			case isLXCVolumeKey(k):
				mp := parseMountPoint(val)
				if nv, ok := volumeMap[mp["volume"]]; ok {
					mp["volume"] = nv
					ct.conf[k] = mp.print(k)
				}
			case unusedKeyRE.MatchString(k):
				if nv, ok := volumeMap[val]; ok {
					ct.conf[k] = nv
				}
			}
		}
		ct.node = target
		p.guests[vmid] = guestRef{node: target, kind: "lxc"}
		if wasRunning {
			p.startCTLocked(ct, at)
		}
	}
	return p.spawnVMTaskLocked(now, node, typ, strconv.Itoa(vmid), r.User, migrateWork, nil, begin, finish), nil
}
