package testlab

import (
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
	"github.com/hcilab/terraform-provider-pve/internal/testlab/sim"
)

// Creating, destroying, powering, resizing, cloning, templating and
// migrating VMs (PVE::API2::Qemu's create_vm, destroy_vm, vm_start & co.,
// resize_vm, clone_vm, template, migrate_vm).

// --- create --------------------------------------------------------------

// createVM serves POST /nodes/{node}/qemu (create_vm).
func (p *PVE) createVM(r *Request) (any, error) {
	node := r.PathParams["node"]
	id, err := r.Int("vmid", 0)
	if err != nil {
		return nil, err
	}
	vmid := int(id)
	if _, ok := r.String("archive"); ok {
		p.logOnce("qemu:restore", "testlab: restoring VM backups (archive) is not implemented by the lab")
		return nil, &APIError{Status: http.StatusNotImplemented, Message: "restoring a backup archive is not implemented by the lab\n"}
	}
	pool, hasPool := r.String("pool")
	if hasPool {
		if err := p.checkPoolExist(pool); err != nil {
			return nil, err
		}
	}
	start := r.Bool("start", false)
	haManaged := r.Bool("ha-managed", false)
	storage, _ := r.String("storage")
	settings := qemuSettings(r, "node", "vmid", "archive", "storage", "force", "unique", "live-restore", "pool", "bwlimit", "start", "ha-managed", "import-working-storage")
	if len(settings) > 0 {
		resolveCdromAlias(settings)
		if err := p.checkStorageAccess(settings, storage); err != nil {
			return nil, err
		}
		if err := checkCreateDevicePerms(r.User, settings); err != nil {
			return nil, err
		}
		if err := p.checkDriveParams(settings); err != nil {
			return nil, err
		}
		addRandomMACs(settings)
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.waitFlockLocked(vmid, false, createLockTimeout); err != nil {
		return nil, Errorf(http.StatusInternalServerError, "unable to create VM %d - %s", vmid, dieText(err))
	}
	now := time.Now()
	if g, ok := p.guests[vmid]; ok {
		typ := "VM"
		if g.kind == "lxc" {
			typ = "CT"
		}
		return nil, Errorf(http.StatusInternalServerError, "unable to create VM %d - %s %d already exists on node '%s'", vmid, typ, vmid, g.node)
	}
	p.guests[vmid] = guestRef{node: node, kind: "qemu"}
	vm := &qemuVM{vmid: vmid, node: node, guestConfig: newGuestConfig(map[string]string{"lock": "create"})}
	p.qemu.vms[vmid] = vm

	var final map[string]string
	var vollist []string
	startOK := false
	work := createWork
	if start {
		work += powerWork
	}
	begin := func(at time.Time, w *worker) {
		conf := maps.Clone(settings)
		conf["meta"] = fmt.Sprintf("creation-qemu=%s,ctime=%d", p.rel.qemu, at.Unix())
		created, vols, err := p.createDisksLocked(p.nodeLocked(node), vmid, settings, map[string]string{}, settings, storage, pveschema.IsTrue(conf["template"]), at, w)
		if err != nil {
			w.fail(fmt.Sprintf("unable to create VM %d - %s", vmid, dieText(err)))
			return
		}
		vollist = vols
		maps.Copy(conf, created)
		if conf["boot"] == "" {
			if b := printBootOrder(defaultBootDevices(conf)); b != "" {
				conf["boot"] = b
			}
		}
		if conf["smbios1"] == "" {
			conf["smbios1"] = "uuid=" + sim.RandomUUID()
		}
		if v, ok := conf["vmgenid"]; (!ok || v == "1") && conf["arch"] != "aarch64" {
			conf["vmgenid"] = sim.RandomUUID()
		}
		if v, ok := conf["tags"]; ok {
			conf["tags"] = uniqueTags(v)
		}
		final = conf
		if haManaged {
			w.log("Add as HA resource")
		}
		if start {
			w.log("Execute autostart")
			lines, err := p.startProblemLocked(node, vmid, conf, at)
			w.log(lines...)
			if err != "" {
				w.warn(err)
			} else {
				startOK = true
			}
		}
	}
	finish := func(ok bool, at time.Time) {
		vm := p.qemu.vms[vmid]
		if vm == nil {
			return
		}
		if ok && final != nil {
			vm.conf = final
			p.addGuestToPoolLocked(vmid, pool)
			if haManaged {
				p.addHAResourceLocked(haSID("qemu", vmid), haCreateState(start))
			}
			if startOK {
				p.startVMLocked(vm, at)
			}
			return
		}
		if n := p.nodeLocked(node); n != nil {
			for _, v := range vollist {
				n.storage.free(v)
			}
		}
		delete(p.qemu.vms, vmid)
		delete(p.guests, vmid)
	}
	return p.spawnVMTaskLocked(now, node, "qmcreate", strconv.Itoa(vmid), r.User, work,
		[]flockReq{{vmid: vmid, timeout: workerLockTimeout}}, begin, finish), nil
}

// --- power ---------------------------------------------------------------

// startProblemLocked returns what keeps a VM with conf from starting on
// node: the lines QEMU logs and the error of the start task ("" if it
// starts). Host devices are checked first (qemudevices.go: building the
// command line fails before QEMU runs). A NIC's bridge must exist on the
// node (the network script's tap_plug; assumption: the kvm line and the
// exit status as PVE 9 logs them).
func (p *PVE) startProblemLocked(node string, vmid int, conf map[string]string, now time.Time) ([]string, string) {
	if lines, msg, _ := p.passthroughProblemLocked(node, vmid, conf); msg != "" {
		return lines, msg
	}
	for i := range 32 {
		k := fmt.Sprintf("net%d", i)
		v, ok := conf[k]
		if !ok {
			continue
		}
		if msg := p.bridgeErrorLocked(node, parseNet(v)["bridge"], now); msg != "" {
			return []string{
				msg,
				fmt.Sprintf("kvm: -netdev type=tap,id=%s,ifname=tap%di%d,script=/usr/libexec/qemu-server/pve-bridge,downscript=/usr/libexec/qemu-server/pve-bridgedown,vhost=on: network script /usr/libexec/qemu-server/pve-bridge failed with status 512", k, vmid, i),
			}, "start failed: QEMU exited with code 1"
		}
	}
	return nil, ""
}

// startVMLocked marks a VM's QEMU as started at.
func (p *PVE) startVMLocked(vm *qemuVM, at time.Time) {
	vm.running, vm.paused, vm.started, vm.pid = true, false, at, p.nextPIDLocked()
	switch m := vm.conf["machine"]; {
	case m == "":
		vm.machine = qemuDefaultMachine
	case strings.HasPrefix(m, "q35"):
		vm.machine = qemuQ35Machine
	default:
		vm.machine = m
	}
	p.reservePCILocked(vm)
}

// stopVMLocked stops a VM's QEMU; vm_stop_cleanup applies pending changes
// (from memory: _do_vm_stop calls it with apply_pending_changes set).
func (p *PVE) stopVMLocked(vm *qemuVM) {
	vm.running, vm.paused, vm.pid, vm.machine, vm.hostPCI = false, false, 0, "", nil
	p.applyPendingLocked(vm)
}

// checkLock is PVE::AbstractConfig::check_lock.
func checkLock(vm *qemuVM) string {
	if l, ok := vm.conf["lock"]; ok {
		return fmt.Sprintf("VM is locked (%s)", l)
	}
	return ""
}

// powerAction serves POST /nodes/{node}/qemu/{vmid}/status/<action>.
func (p *PVE) powerAction(action string) HandlerFunc {
	return func(r *Request) (any, error) {
		node := r.PathParams["node"]
		vmid := requestVMID(r)
		skiplock := r.Bool("skiplock", false)
		p.mu.Lock()
		defer p.mu.Unlock()
		now := time.Now()
		p.settleLocked(now)
		vm := p.qemu.vms[vmid]
		if vm != nil && vm.node != node {
			vm = nil
		}
		id := strconv.Itoa(vmid)
		locks := []flockReq{{vmid: vmid, timeout: lockConfigTimeout}}
		// the checks of the API calls, before they fork (check_running
		// dies when the VM is not on the node)
		needRunning := func() error {
			if vm == nil {
				return errNoMachine(vmid)
			}
			if !vm.running {
				return Errorf(http.StatusInternalServerError, "VM %d not running", vmid)
			}
			return nil
		}
		switch action {
		case "start":
			return p.spawnStartLocked(now, node, vmid, r.User, skiplock, "qmstart"), nil
		case "stop", "shutdown":
			typ, work := "qmstop", powerWork
			if action == "shutdown" {
				typ, work = "qmshutdown", shutdownWork
				if vm != nil && vm.running && vm.paused && !r.Bool("forceStop", false) {
					return nil, Errorf(http.StatusInternalServerError, "VM is paused - cannot shutdown")
				}
			}
			stopping := false
			return p.spawnVMTaskLocked(now, node, typ, id, r.User, work, locks, func(at time.Time, w *worker) {
				vm, err := p.vmOnLocked(node, vmid)
				switch {
				case err != nil:
					w.fail(dieText(errNoMachine(vmid)))
				case !vm.running:
				case !skiplock && checkLock(vm) != "":
					w.fail(checkLock(vm))
				default:
					stopping = true
				}
			}, func(ok bool, at time.Time) {
				if vm, err := p.vmOnLocked(node, vmid); ok && stopping && err == nil {
					p.stopVMLocked(vm)
				}
			}), nil
		case "reboot":
			if vm != nil && vm.running && vm.paused {
				return nil, Errorf(http.StatusInternalServerError, "VM is paused - cannot shutdown")
			}
			if err := needRunning(); err != nil {
				return nil, err
			}
			return p.spawnVMTaskLocked(now, node, "qmreboot", id, r.User, rebootWork, locks, func(at time.Time, w *worker) {
				vm, err := p.vmOnLocked(node, vmid)
				switch {
				case err != nil:
					w.fail(dieText(err))
				case !vm.running:
					w.fail(fmt.Sprintf("VM %d not running", vmid))
				case checkLock(vm) != "":
					w.fail(checkLock(vm))
				}
			}, func(ok bool, at time.Time) {
				if vm, err := p.vmOnLocked(node, vmid); ok && err == nil && vm.running {
					p.stopVMLocked(vm)
					p.startVMLocked(vm, at)
				}
			}), nil
		case "reset":
			if err := needRunning(); err != nil {
				return nil, err
			}
			return p.spawnVMTaskLocked(now, node, "qmreset", id, r.User, configWork, locks, func(at time.Time, w *worker) {
				if vm, err := p.vmOnLocked(node, vmid); err != nil {
					w.fail(dieText(err))
				} else if !skiplock && checkLock(vm) != "" {
					w.fail(checkLock(vm))
				}
			}, nil), nil
		case "suspend":
			if err := needRunning(); err != nil {
				return nil, err
			}
			todisk := r.Bool("todisk", false)
			statestorage, _ := r.String("statestorage")
			typ := "qmpause"
			if todisk {
				typ = "qmsuspend"
				if p.vmIsHAManagedLocked(vmid) {
					return nil, Errorf(http.StatusInternalServerError, "Cannot suspend HA managed VM to disk")
				}
				statestorage = cmpOr(statestorage, cmpOr(vm.conf["vmstatestorage"], "local-lvm"))
				if st := p.storageDefOf(statestorage); st == nil {
					return nil, errNoStorage(statestorage)
				}
			}
			return p.spawnVMTaskLocked(now, node, typ, id, r.User, powerWork, locks, func(at time.Time, w *worker) {
				if vm, err := p.vmOnLocked(node, vmid); err != nil {
					w.fail(dieText(err))
				} else if !skiplock && checkLock(vm) != "" {
					w.fail(checkLock(vm))
				}
			}, func(ok bool, at time.Time) {
				vm, err := p.vmOnLocked(node, vmid)
				if !ok || err != nil || !vm.running {
					return
				}
				if !todisk {
					vm.paused = true
					return
				}
				// the RAM goes to a vmstate volume, the VM stops with lock "suspended"
				n := p.nodeLocked(node)
				name := fmt.Sprintf("vm-%d-state-suspend-%s", vmid, at.Format("2006-01-02"))
				size := memoryMiB(vm.conf["memory"])*mib*2 + 500*mib
				v, _ := n.storage.alloc(statestorage, name, vmid, size, memoryMiB(vm.conf["memory"])*mib, at)
				vm.conf["vmstate"] = v.volid()
				vm.conf["lock"] = "suspended"
				vm.running, vm.paused, vm.pid = false, false, 0
			}), nil
		case "resume":
			if vm != nil && vm.conf["lock"] == "suspended" {
				return p.spawnStartLocked(now, node, vmid, r.User, skiplock, "qmresume"), nil
			}
			if err := needRunning(); err != nil {
				return nil, err
			}
			return p.spawnVMTaskLocked(now, node, "qmresume", id, r.User, configWork, locks, func(at time.Time, w *worker) {
				if vm, err := p.vmOnLocked(node, vmid); err != nil {
					w.fail(dieText(err))
				} else if l := vm.conf["lock"]; !skiplock && l != "" && l != "backup" {
					w.fail(checkLock(vm))
				}
			}, func(ok bool, at time.Time) {
				if vm, err := p.vmOnLocked(node, vmid); ok && err == nil {
					vm.paused = false
				}
			}), nil
		}
		return nil, Errorf(http.StatusNotImplemented, "unknown action %s", action)
	}
}

// spawnStartLocked starts a qmstart (or, for a VM suspended to disk,
// qmresume) worker: vm_start.
func (p *PVE) spawnStartLocked(now time.Time, node string, vmid int, user string, skiplock bool, typ string) string {
	starting := false
	return p.spawnVMTaskLocked(now, node, typ, strconv.Itoa(vmid), user, powerWork,
		[]flockReq{{vmid: vmid, timeout: lockConfigTimeout}},
		func(at time.Time, w *worker) {
			vm, err := p.vmOnLocked(node, vmid)
			if err != nil {
				w.fail(dieText(err))
				return
			}
			suspended := vm.conf["lock"] == "suspended"
			switch {
			case pveschema.IsTrue(vm.conf["template"]):
				w.fail("you can't start a vm if it's a template")
				return
			case !skiplock && !suspended && checkLock(vm) != "":
				w.fail(checkLock(vm))
				return
			case vm.running:
				w.fail(fmt.Sprintf("VM %d already running", vmid))
				return
			}
			if len(vm.pending) > 0 {
				p.applyPendingLocked(vm)
			}
			lines, problem := p.startProblemLocked(node, vmid, vm.conf, at)
			w.log(lines...)
			if problem != "" {
				w.fail(problem)
				return
			}
			if suspended {
				w.log("Resuming suspended VM")
			}
			starting = true
		},
		func(ok bool, at time.Time) {
			vm, err := p.vmOnLocked(node, vmid)
			if !ok || !starting || err != nil {
				return
			}
			if vm.conf["lock"] == "suspended" {
				if st := vm.conf["vmstate"]; st != "" {
					p.nodeLocked(node).storage.free(st)
				}
				delete(vm.conf, "vmstate")
				delete(vm.conf, "lock")
			}
			p.startVMLocked(vm, at)
		})
}

// --- destroy -------------------------------------------------------------

// destroyChecksLocked is destroy_vm's $early_checks.
func (p *PVE) destroyChecksLocked(vm *qemuVM, purge bool) error {
	if pveschema.IsTrue(vm.conf["protection"]) {
		return Errorf(http.StatusInternalServerError, "can't remove VM %d - protection mode enabled", vm.vmid)
	}
	if !purge && p.haConfiguredLocked(haSID("qemu", vm.vmid)) {
		return Errorf(http.StatusInternalServerError, "unable to remove VM %d - used in HA resources and purge parameter not set.", vm.vmid)
	}
	if vm.running {
		return Errorf(http.StatusInternalServerError, "VM %d is running - destroy failed", vm.vmid)
	}
	return nil
}

// vmVolumes lists the volumes a config references: drives (but CD-ROMs
// that are not cloud-init drives), unused disks and the vmstate.
func vmVolumes(conf map[string]string) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(conf)) {
		switch {
		case isDriveKey(k):
			d := parseDrive(conf[k])
			if d.isCdrom() && !d.isCloudinit() {
				continue
			}
			if _, _, ok := parseVolumeID(d["file"]); ok && !newDiskRE.MatchString(d["file"]) {
				out = append(out, d["file"])
			}
		case unusedKeyRE.MatchString(k), k == "vmstate":
			out = append(out, parseDrive(conf[k])["file"])
		}
	}
	return out
}

// destroyVM serves DELETE /nodes/{node}/qemu/{vmid} (destroy_vm).
func (p *PVE) destroyVM(r *Request) (any, error) {
	node := r.PathParams["node"]
	vmid := requestVMID(r)
	purge := r.Bool("purge", false)
	unreferenced := r.Bool("destroy-unreferenced-disks", false)
	skiplock := r.Bool("skiplock", false)
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	vm, err := p.requestVMLocked(r, now)
	if err != nil {
		return nil, err
	}
	if err := p.destroyChecksLocked(vm, purge); err != nil {
		return nil, err
	}
	var toFree []string
	begin := func(at time.Time, w *worker) {
		vm, err := p.vmOnLocked(node, vmid)
		if err == nil {
			err = p.destroyChecksLocked(vm, purge)
		}
		if err != nil {
			w.fail(dieText(err))
			return
		}
		if l := vm.conf["lock"]; !skiplock && l != "" && l != "suspended" {
			w.fail(checkLock(vm))
			return
		}
		ns := p.nodeLocked(node).storage
		if pveschema.IsTrue(vm.conf["template"]) {
			for _, volid := range vmVolumes(vm.conf) {
				if ns.baseInUse(volid) {
					w.fail(fmt.Sprintf("base volume '%s' is still in use by linked cloned", volid))
					return
				}
			}
		}
		for _, volid := range vmVolumes(vm.conf) {
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
			if _, name, _ := parseVolumeID(volid); name != "" {
				w.log(fmt.Sprintf("  Logical volume \"%s\" successfully removed.", name))
			}
		}
		if purge {
			w.log(fmt.Sprintf("purging VM %d from related configurations..", vmid))
			if p.haConfiguredLocked(haSID("qemu", vmid)) {
				w.log(fmt.Sprintf("NOTE: removed VM %d from HA resource configuration.", vmid))
			}
		}
	}
	finish := func(ok bool, at time.Time) {
		if !ok {
			return
		}
		n := p.nodeLocked(node)
		for _, volid := range toFree {
			n.storage.free(volid)
		}
		delete(p.qemu.vms, vmid)
		delete(p.guests, vmid)
		p.removeGuestFromPoolLocked(vmid) // remove_vm_access
		if purge {
			p.deleteHAServiceLocked(haSID("qemu", vmid), true)
		}
	}
	return p.spawnVMTaskLocked(now, node, "qmdestroy", strconv.Itoa(vmid), r.User, destroyWork,
		[]flockReq{{vmid: vmid, timeout: lockConfigTimeout}}, begin, finish), nil
}

// --- resize --------------------------------------------------------------

var resizeSizeRE = regexp.MustCompile(`^(\+)?(\d+(\.\d+)?)([KMGT])?$`)

// resizeVM serves PUT /nodes/{node}/qemu/{vmid}/resize (resize_vm): all
// checks run in the "resize" worker.
func (p *PVE) resizeVM(r *Request) (any, error) {
	node := r.PathParams["node"]
	vmid := requestVMID(r)
	disk, _ := r.String("disk")
	sizeStr, _ := r.String("size")
	digest, _ := r.String("digest")
	skiplock := r.Bool("skiplock", false)
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	p.settleLocked(now)
	begin := func(at time.Time, w *worker) {
		vm, err := p.vmOnLocked(node, vmid)
		if err != nil {
			w.fail(dieText(err))
			return
		}
		fail := func(format string, args ...any) { w.fail(fmt.Sprintf(format, args...)) }
		switch {
		case digest != "" && digest != vm.digest():
			fail("checksum mismatch (file change by other user?)")
			return
		case !skiplock && checkLock(vm) != "":
			fail("%s", checkLock(vm))
			return
		case vm.conf[disk] == "":
			fail("disk '%s' does not exist", disk)
			return
		}
		d := parseDrive(vm.conf[disk])
		volid := d["file"]
		switch {
		case volid == "":
			fail("disk '%s' has no associated volume", disk)
			return
		case d.isCdrom():
			fail("you can't resize a cdrom")
			return
		}
		ns := p.nodeLocked(node).storage
		v := ns.vols[volid]
		if v == nil {
			fail("Could not determine current size of volume '%s'", volid)
			return
		}
		m := resizeSizeRE.FindStringSubmatch(sizeStr)
		if m == nil {
			fail("internal error")
			return
		}
		f, _ := strconv.ParseFloat(m[2], 64)
		f *= map[string]float64{"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}[m[4]]
		newSize := uint64(f)
		if m[1] == "+" {
			newSize += v.size
		}
		if newSize < v.size {
			fail("shrinking disks is not supported")
			return
		}
		if newSize == v.size {
			return
		}
		oldSize := v.size
		v.size = roundExtent(newSize)
		w.log(fmt.Sprintf("  Size of logical volume pve/%s changed from %s (%d extents) to %s (%d extents).", v.name, lvmSize(oldSize), oldSize/lvmExtent, lvmSize(v.size), v.size/lvmExtent),
			fmt.Sprintf("  Logical volume pve/%s successfully resized.", v.name))
		d["size"] = formatSize(newSize)
		vm.conf[disk] = d.String()
	}
	return p.spawnVMTaskLocked(now, node, "resize", strconv.Itoa(vmid), r.User, resizeWork,
		[]flockReq{{vmid: vmid, timeout: lockConfigTimeout}}, begin, nil), nil
}

// lvmSize prints a size like LVM does ("32.00 GiB").
func lvmSize(b uint64) string {
	switch {
	case b >= 1<<40:
		return fmt.Sprintf("%.2f TiB", float64(b)/(1<<40))
	case b >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(b)/(1<<30))
	default:
		return fmt.Sprintf("%.2f MiB", float64(b)/(1<<20))
	}
}

// --- clone ---------------------------------------------------------------

// clonePlan is what clone_vm's $load_and_check computed.
type clonePlan struct {
	newconf  map[string]string
	drives   []string // drive keys to clone, sorted
	full     map[string]bool
	oldconf  map[string]string
	sharedVM bool
}

// cloneCheckLocked is clone_vm's $load_and_check.
func (p *PVE) cloneCheckLocked(node string, vmid, newid int, running bool, fullParam, storage, format, target, snapname string) (*clonePlan, error) {
	if target != "" && p.nodeLocked(target) == nil {
		return nil, Errorf(http.StatusInternalServerError, "no such cluster node '%s'", target)
	}
	if storage != "" {
		st := p.storageDefOf(storage)
		if st == nil {
			return nil, errNoStorage(storage)
		}
		if !st.hasContent("images") {
			return nil, ParamError(map[string]string{"storage": fmt.Sprintf("storage '%s' does not support vm images", storage)})
		}
		if target != "" && !st.shared {
			return nil, Errorf(http.StatusInternalServerError, "can't clone to non-shared storage '%s'", storage)
		}
	}
	vm, err := p.vmOnLocked(node, vmid)
	if err != nil {
		return nil, err
	}
	if l := checkLock(vm); l != "" {
		return nil, Errorf(http.StatusInternalServerError, "%s", l)
	}
	if vm.running != running {
		return nil, Errorf(http.StatusInternalServerError, "unexpected state change")
	}
	if snapname != "" {
		return nil, Errorf(http.StatusInternalServerError, "snapshot '%s' does not exist", snapname)
	}
	full := !pveschema.IsTrue(vm.conf["template"])
	if fullParam != "" {
		full = pveschema.IsTrue(fullParam)
	}
	if storage != "" && !full {
		return nil, Errorf(http.StatusInternalServerError, "parameter 'storage' not allowed for linked clones")
	}
	if format != "" && !full {
		return nil, Errorf(http.StatusInternalServerError, "parameter 'format' not allowed for linked clones")
	}
	plan := &clonePlan{newconf: map[string]string{"lock": "clone"}, full: map[string]bool{}, oldconf: vm.conf, sharedVM: true}
	for _, k := range driveKeys(vm.conf) {
		d := parseDrive(vm.conf[k])
		if sid, _, ok := parseVolumeID(d["file"]); ok {
			if st := p.storageDefOf(sid); st != nil && !st.shared {
				plan.sharedVM = false
			}
		}
	}
	if target != "" && !plan.sharedVM {
		return nil, Errorf(http.StatusInternalServerError, "can't clone VM to node '%s' (VM uses local storage)", target)
	}
	if g, ok := p.guests[newid]; ok && g.node == node {
		return nil, Errorf(http.StatusInternalServerError, "unable to create VM %d: config file already exists", newid)
	}
	ns := p.nodeLocked(node).storage
	for _, k := range slices.Sorted(maps.Keys(vm.conf)) {
		v := vm.conf[k]
		switch {
		case k == "parent" || k == "snaptime" || k == "vmstate" || k == "snapstate" || k == "runningcpu" || k == "runningmachine" || k == "running-nets-host-mtu":
		case unusedKeyRE.MatchString(k):
		case full && running && k == "tpmstate0":
			return nil, Errorf(http.StatusInternalServerError, "cannot clone TPM state while VM is running")
		case netKeyRE.MatchString(k):
			m := parseNet(v)
			m["macaddr"] = randomMAC()
			plan.newconf[k] = printNet(m)
		case isDriveKey(k):
			d := parseDrive(v)
			if d.isCdrom() && !d.isCloudinit() {
				plan.newconf[k] = v
				continue
			}
			volid := d["file"]
			if full || d.isCloudinit() || k == "tpmstate0" {
				plan.full[k] = true
			} else {
				// lvmthin can clone base volumes only (LvmThinPlugin volume_has_feature)
				if !strings.Contains(volid, ":base-") || ns.vols[volid] == nil {
					return nil, Errorf(http.StatusInternalServerError, "Linked clone feature is not supported for '%s' (%s)", volid, k)
				}
			}
			plan.drives = append(plan.drives, k)
		default:
			plan.newconf[k] = v
		}
	}
	return plan, nil
}

// cloneVM serves POST /nodes/{node}/qemu/{vmid}/clone (clone_vm).
func (p *PVE) cloneVM(r *Request) (any, error) {
	node := r.PathParams["node"]
	vmid := requestVMID(r)
	nid, err := r.Int("newid", 0)
	if err != nil {
		return nil, err
	}
	newid := int(nid)
	name, _ := r.String("name")
	description, _ := r.String("description")
	storage, _ := r.String("storage")
	format, _ := r.String("format")
	target, _ := r.String("target")
	snapname, _ := r.String("snapname")
	fullParam, _ := r.String("full")
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
	now := time.Now()
	p.settleLocked(now)
	vm, err := p.vmOnLocked(node, vmid)
	if err != nil {
		return nil, errNoMachine(vmid) // check_running comes first
	}
	running := vm.running
	if _, err := p.cloneCheckLocked(node, vmid, newid, running, fullParam, storage, format, target, snapname); err != nil {
		return nil, err
	}

	var plan *clonePlan
	var newvols []string
	registered := false
	begin := func(at time.Time, w *worker) {
		var err error
		plan, err = p.cloneCheckLocked(node, vmid, newid, running, fullParam, storage, format, target, snapname)
		if err != nil {
			w.fail(dieText(err))
			return
		}
		if g, ok := p.guests[newid]; ok {
			w.fail(fmt.Sprintf("close (rename) atomic file '/etc/pve/%s' failed: File exists", cfsPath(g.node, newid)))
			return
		}
		w.log(fmt.Sprintf("creating a clone of VM %d with ID %d", vmid, newid))
		newconf := plan.newconf
		smbios := map[string]string{}
		for _, part := range strings.Split(newconf["smbios1"], ",") {
			if k, v, ok := strings.Cut(part, "="); ok {
				smbios[k] = v
			}
		}
		smbios["uuid"] = sim.RandomUUID()
		var sp []string
		for _, k := range slices.Sorted(maps.Keys(smbios)) {
			sp = append(sp, k+"="+smbios[k])
		}
		newconf["smbios1"] = strings.Join(sp, ",")
		if newconf["vmgenid"] != "" && newconf["vmgenid"] != "0" {
			newconf["vmgenid"] = sim.RandomUUID()
		}
		delete(newconf, "template")
		newconf["name"] = cmpOr(name, "Copy-of-VM-"+cmpOr(plan.oldconf["name"], strconv.Itoa(vmid)))
		if description != "" {
			newconf["description"] = description
		}
		p.guests[newid] = guestRef{node: node, kind: "qemu"}
		p.qemu.vms[newid] = &qemuVM{vmid: newid, node: node, guestConfig: newGuestConfig(map[string]string{"lock": "clone"})}
		registered = true
		ns := p.nodeLocked(node).storage
		for _, k := range plan.drives {
			d := parseDrive(plan.oldconf[k])
			src := ns.vols[d["file"]]
			kind := "linked"
			if plan.full[k] {
				kind = "full"
			}
			w.log(fmt.Sprintf("create %s clone of drive %s (%s)", kind, k, d["file"]))
			if src == nil {
				w.fail(fmt.Sprintf("clone failed: volume '%s' does not exist", d["file"]))
				return
			}
			dst := cmpOr(storage, src.storage)
			var v *volume
			var line string
			switch {
			case d.isCloudinit():
				v, line = ns.alloc(dst, fmt.Sprintf("vm-%d-cloudinit", newid), newid, src.size, src.used, at)
			case plan.full[k]:
				v, line = ns.alloc(dst, ns.freeDiskName(dst, newid, nil), newid, src.size, src.used, at)
				w.log(line)
				line = fmt.Sprintf("transferred %s of %s (100.00%%)", lvmSize(src.size), lvmSize(src.size))
			default:
				v, line = ns.alloc(src.storage, ns.freeDiskName(src.storage, newid, nil), newid, src.size, 0, at)
				v.parent = src.volid()
			}
			w.log(line)
			newvols = append(newvols, v.volid())
			d["file"] = v.volid()
			newconf[k] = d.String()
		}
		if len(p.qemu.vms[vmid].pending) > 0 {
			w.warn(fmt.Sprintf("found pending changes for '%s', discarding for clone", strings.Join(slices.Sorted(maps.Keys(p.qemu.vms[vmid].pending)), ",")))
		}
		delete(newconf, "lock")
	}
	finish := func(ok bool, at time.Time) {
		if !registered {
			return
		}
		nvm := p.qemu.vms[newid]
		if ok && nvm != nil {
			nvm.conf = plan.newconf
			if target != "" {
				nvm.node = target
				p.guests[newid] = guestRef{node: target, kind: "qemu"}
			}
			p.addGuestToPoolLocked(newid, pool)
			return
		}
		if n := p.nodeLocked(node); n != nil {
			for _, v := range newvols {
				n.storage.free(v)
			}
		}
		delete(p.qemu.vms, newid)
		delete(p.guests, newid)
	}
	return p.spawnVMTaskLocked(now, node, "qmclone", strconv.Itoa(vmid), r.User, cloneWork,
		[]flockReq{{vmid: vmid, shared: !running, timeout: workerLockTimeout}, {vmid: newid, timeout: workerLockTimeout}}, begin, finish), nil
}

// --- template ------------------------------------------------------------

// templateChecksLocked is template's $load_and_check.
func (p *PVE) templateChecksLocked(node string, vmid int, disk string) (*qemuVM, error) {
	vm, err := p.vmOnLocked(node, vmid)
	if err != nil {
		return nil, err
	}
	if l := checkLock(vm); l != "" {
		return nil, Errorf(http.StatusInternalServerError, "%s", l)
	}
	if pveschema.IsTrue(vm.conf["template"]) && disk == "" {
		return nil, Errorf(http.StatusInternalServerError, "you can't convert a template to a template")
	}
	if vm.running {
		return nil, Errorf(http.StatusInternalServerError, "you can't convert a VM to template if VM is running")
	}
	return vm, nil
}

// templateVM serves POST /nodes/{node}/qemu/{vmid}/template: a qmtemplate
// worker sets template: 1 and makes the disks base volumes (template_create).
func (p *PVE) templateVM(r *Request) (any, error) {
	node := r.PathParams["node"]
	vmid := requestVMID(r)
	disk, _ := r.String("disk")
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	p.settleLocked(now)
	if _, err := p.templateChecksLocked(node, vmid, disk); err != nil {
		return nil, err
	}
	begin := func(at time.Time, w *worker) {
		vm, err := p.templateChecksLocked(node, vmid, disk)
		if err != nil {
			w.fail(dieText(err))
			return
		}
		vm.conf["template"] = "1"
		ns := p.nodeLocked(node).storage
		for _, k := range driveKeys(vm.conf) {
			if disk != "" && k != disk {
				continue
			}
			d := parseDrive(vm.conf[k])
			v := ns.vols[d["file"]]
			if d.isCdrom() || v == nil {
				continue
			}
			w.log(p.createBaseLocked(ns, v)...)
			d["file"] = v.volid()
			vm.conf[k] = d.String()
		}
	}
	return p.spawnVMTaskLocked(now, node, "qmtemplate", strconv.Itoa(vmid), r.User, templateWork,
		[]flockReq{{vmid: vmid, timeout: lockConfigTimeout}}, begin, nil), nil
}

// --- migrate -------------------------------------------------------------

// localVolumes lists the volumes of a VM on storages that are not shared,
// with whether a drive uses them and whether it is a CD-ROM.
type localVolume struct {
	volid    string
	drive    string
	attached bool
	cdrom    bool
}

func (p *PVE) localVolumes(conf map[string]string) []localVolume {
	var out []localVolume
	for _, k := range slices.Sorted(maps.Keys(conf)) {
		var lv localVolume
		switch {
		case isDriveKey(k):
			d := parseDrive(conf[k])
			lv = localVolume{volid: d["file"], drive: k, attached: true, cdrom: d.isCdrom() && !d.isCloudinit()}
		case unusedKeyRE.MatchString(k):
			lv = localVolume{volid: conf[k]}
		default:
			continue
		}
		sid, _, ok := parseVolumeID(lv.volid)
		if !ok {
			continue
		}
		if st := p.storageDefOf(sid); st != nil && !st.shared {
			out = append(out, lv)
		}
	}
	return out
}

// migratePrecondition serves GET /nodes/{node}/qemu/{vmid}/migrate.
func (p *PVE) migratePrecondition(r *Request) (any, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	vm, err := p.requestVMLocked(r, time.Now())
	if err != nil {
		return nil, err
	}
	if l := checkLock(vm); l != "" {
		return nil, Errorf(http.StatusInternalServerError, "%s", l)
	}
	locRes, mapped, missing, err := p.localResourcesLocked(vm.conf, vm.running)
	if err != nil {
		return nil, Errorf(http.StatusInternalServerError, "%s", err.Error())
	}
	allowed := []string{}
	notAllowed := map[string]any{}
	for _, n := range p.nodes {
		switch {
		case n.Name == vm.node:
		case len(missing[n.Name]) > 0:
			notAllowed[n.Name] = map[string]any{"unavailable-resources": missing[n.Name]}
		default:
			allowed = append(allowed, n.Name)
		}
	}
	ns := p.nodeLocked(vm.node).storage
	disks := []map[string]any{}
	for _, lv := range p.localVolumes(vm.conf) {
		e := map[string]any{"volid": lv.volid, "is_attached": perl.BoolInt(lv.attached), "referenced_in_config": 1}
		if v := ns.vols[lv.volid]; v != nil {
			e["size"] = v.size
		}
		if lv.drive != "" {
			e["drivename"] = lv.drive
		}
		if lv.cdrom {
			e["cdrom"] = 1
		}
		if !lv.attached {
			e["is_unused"] = 1
		}
		disks = append(disks, e)
	}
	return map[string]any{
		"running":              perl.BoolInt(vm.running),
		"allowed_nodes":        allowed,
		"not_allowed_nodes":    notAllowed,
		"local_disks":          disks,
		"local_resources":      locRes,
		"mapped-resources":     slices.Sorted(maps.Keys(mapped)),
		"mapped-resource-info": mapped,
		"has-dbus-vmstate":     1,
	}, nil
}

// migrateVM serves POST /nodes/{node}/qemu/{vmid}/migrate (migrate_vm): a
// qmigrate worker (PVE::QemuMigrate) sets lock: migrate, copies local
// disks (offline) or mirrors them (online, with-local-disks) and moves the
// config to the target node.
func (p *PVE) migrateVM(r *Request) (any, error) {
	node := r.PathParams["node"]
	vmid := requestVMID(r)
	target, _ := r.String("target")
	online := r.Bool("online", false)
	withLocal := r.Bool("with-local-disks", false)
	force := r.Bool("force", false)
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
	if force && r.User != labUser {
		return nil, ParamError(map[string]string{"force": "Only root may use this option."})
	}
	vm, err := p.vmOnLocked(node, vmid)
	if err != nil {
		return nil, err
	}
	if l := checkLock(vm); l != "" {
		return nil, Errorf(http.StatusInternalServerError, "%s", l)
	}
	if vm.running && !online {
		return nil, Errorf(http.StatusInternalServerError, "can't migrate running VM without --online")
	}
	var moved []string
	live := false
	begin := func(at time.Time, w *worker) {
		ts := func(format string, args ...any) string { return taskLogTime(at) + " " + fmt.Sprintf(format, args...) }
		// prepare: the VM, its lock and its devices
		vm, err := p.vmOnLocked(node, vmid)
		if err != nil {
			w.log(ts("ERROR: migration aborted (duration 00:00:00): %s", strings.TrimSuffix(dieText(err), "\n")))
			w.fail("migration aborted")
			return
		}
		if l := checkLock(vm); l != "" {
			w.log(ts("ERROR: migration aborted (duration 00:00:00): %s", l))
			w.fail("migration aborted")
			return
		}
		lines, problem := p.migrationDeviceProblemLocked(vm, target, force)
		for _, l := range lines {
			w.log(ts("%s", l))
		}
		if problem != "" {
			w.log(ts("ERROR: migration aborted (duration 00:00:00): %s", problem))
			w.fail("migration aborted")
			return
		}
		// phase 1
		w.log(ts("starting migration of VM %d to node '%s' (%s)", vmid, target, tn.IP))
		ns := p.nodeLocked(node).storage
		live = vm.running
		var problems []string
		for _, lv := range p.localVolumes(vm.conf) {
			switch {
			case lv.cdrom:
				problems = append(problems, fmt.Sprintf("can't migrate local disk '%s': local cdrom image", lv.volid))
				continue
			case ns.baseInUse(lv.volid):
				problems = append(problems, fmt.Sprintf("can't migrate local disk '%s': referenced by linked clone(s)", lv.volid))
				continue
			case tn.storage.vols[lv.volid] != nil:
				problems = append(problems, fmt.Sprintf("can't migrate local disk '%s': volume '%s' already exists on the target", lv.volid, lv.volid))
				continue
			}
			if lv.attached {
				if live && !withLocal {
					problems = append(problems, fmt.Sprintf("can't migrate local disk '%s': can't live migrate attached local disks without with-local-disks option", lv.volid))
				}
				kind := "local"
				if parseDrive(vm.conf[lv.drive]).isCloudinit() {
					kind = "generated"
				}
				w.log(ts("found %s disk '%s' (in current VM config)", kind, lv.volid))
			} else {
				w.log(ts("found local disk '%s' (via storage)", lv.volid))
			}
			moved = append(moved, lv.volid)
		}
		if len(problems) > 0 {
			for _, pr := range problems {
				w.log(ts("%s", pr))
			}
			msg := "Problem found while scanning volumes - can't migrate VM - check log"
			w.log(ts("ERROR: %s", msg), ts("aborting phase 1 - cleanup resources"), ts("ERROR: migration aborted (duration 00:00:00): %s", msg))
			w.fail("migration aborted")
			moved = nil
			return
		}
		vm.conf["lock"] = "migrate"
		if live {
			w.log(ts("starting VM %d on remote node '%s'", vmid, target))
			if len(moved) > 0 {
				w.log(ts("starting storage migration"))
				for _, volid := range moved {
					if v := ns.vols[volid]; v != nil {
						w.log(ts("drive mirror is starting for %s", volid), ts("transferred %s of %s (100.00%%)", lvmSize(v.size), lvmSize(v.size)))
					}
				}
			}
			w.log(ts("starting online/live migration on unix:/run/qemu-server/%d.migrate", vmid), ts("migration status: completed"))
		} else if len(moved) > 0 {
			w.log(ts("copying local disk images"))
		}
		w.log(ts("migration finished successfully (duration 00:00:01)"))
	}
	finish := func(ok bool, at time.Time) {
		vm, err := p.vmOnLocked(node, vmid)
		if err != nil {
			return
		}
		if vm.conf["lock"] == "migrate" {
			delete(vm.conf, "lock")
		}
		if !ok {
			return
		}
		src, dst := p.nodeLocked(node).storage, tn.storage
		for _, volid := range moved {
			if v := src.vols[volid]; v != nil {
				delete(src.vols, volid)
				dst.vols[volid] = v
			}
		}
		vm.node = target
		p.guests[vmid] = guestRef{node: target, kind: "qemu"}
		if live && vm.running {
			vm.started, vm.pid = at, p.nextPIDLocked()
			p.reservePCILocked(vm)
		}
	}
	upid := p.spawnVMTaskLocked(now, node, "qmigrate", strconv.Itoa(vmid), r.User, migrateWork, nil, begin, finish)
	return upid, nil
}
