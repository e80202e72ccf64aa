package pvesim

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/pveschema"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/sim"
)

// Updating a VM's config: PUT and POST /nodes/{node}/qemu/{vmid}/config
// (qemu-server's PVE::API2::Qemu update_vm and update_vm_async, both
// update_vm_api) and PUT /nodes/{node}/qemu/{vmid}/unlink: the checks that
// need no config, $load_and_check_config, and writing the changes as
// pending, applied or hot-plugged.

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
				value = "$5$" + sim.RandomHex(8) + "$" + sim.RandomHex(22)[:43]
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
	// update_vm_api runs $updatefn under lock_config (10 s) in the API
	// process, before any worker: a held flock is an HTTP 500 "can't lock
	// file ... got timeout" after 10 s and no task. The qmconfig worker it
	// forks inherits the locked file handle and holds the flock until it
	// ends (pve-common PVE/Tools.pm lock_file_full never unlocks
	// explicitly; PVE::RPCEnvironment fork_worker keeps the fds).
	p.mu.Lock()
	if _, err := p.requestVMLocked(r, time.Now()); err != nil {
		p.mu.Unlock()
		return nil, err
	}
	if err := p.waitFlockLocked(vmid, false, lockConfigTimeout); err != nil {
		p.mu.Unlock()
		return nil, err
	}
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
		[]flockReq{{vmid: vmid, inherited: true}},
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
