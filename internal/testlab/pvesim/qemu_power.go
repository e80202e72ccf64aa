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
)

// Powering VMs: the status actions of qemu-server's PVE::API2::Qemu
// (vm_start, vm_stop, vm_shutdown, vm_reboot, vm_reset, vm_suspend,
// vm_resume, served below /nodes/{node}/qemu/{vmid}/status), what keeps a
// VM from starting, and PVE::AbstractConfig::check_lock.

// --- power ---------------------------------------------------------------

// startProblemLocked returns what keeps a VM with conf from starting on
// node: the lines QEMU logs and the error of the start task ("" if it
// starts). Host devices are checked first (qemu_devices.go: building the
// command line fails before QEMU runs). A NIC's bridge must exist on the
// node (the network script's tap_plug; assumption: the kvm line and the
// exit status as PVE 9 logs them).
func (p *PVE) startProblemLocked(node string, vmid int, conf map[string]string, now time.Time) ([]string, string) {
	if msg := p.missingVolumeLocked(node, conf); msg != "" {
		return nil, msg
	}
	if lines, msg, _ := p.passthroughProblemLocked(node, vmid, conf); msg != "" {
		return lines, msg
	}
	for i := range 32 {
		k := fmt.Sprintf("net%d", i)
		v, ok := conf[k]
		if !ok {
			continue
		}
		if msg := p.netMTUErrorLocked(node, k, parseNet(v), now); msg != "" {
			return nil, msg // print_netdevice_full dies before QEMU runs
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
		// an HA-managed VM is started, stopped and shut down through HA
		// (vm_start, vm_stop, vm_shutdown: vm_is_ha_managed and the RPC
		// environment is not HA's): ha_manager.go
		sid := haSID("qemu", vmid)
		viaHA := p.vmIsHAManagedLocked(vmid) && !fromHA(r)
		switch action {
		case "start":
			if _, ok := r.String("stateuri"); viaHA && !ok {
				cmd := []string{"ha-manager", "set", sid, "--state", "started"}
				return p.spawnHARequestLocked(now, node, "hastart", vmid, r.User, fmt.Sprintf("Requesting HA start for VM %d", vmid), cmd, p.haSetStateCmdLocked(sid, "started")), nil
			}
		case "stop":
			if _, ok := r.String("migratedfrom"); viaHA && !ok {
				if r.Bool("overrule-shutdown", false) {
					return nil, ParamError(map[string]string{"overrule-shutdown": "Not applicable for HA resources."})
				}
				cmd := []string{"ha-manager", "crm-command", "stop", sid, "0"}
				return p.spawnHARequestLocked(now, node, "hastop", vmid, r.User, fmt.Sprintf("Requesting HA stop for VM %d", vmid), cmd, p.haCRMCmdLocked(sid, "stop "+sid+" 0")), nil
			}
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
				if viaHA {
					timeout, _ := r.String("timeout")
					if timeout == "" {
						timeout = "60"
					}
					cmd := []string{"ha-manager", "crm-command", "stop", sid, timeout}
					return p.spawnHARequestLocked(now, node, "hastop", vmid, r.User, fmt.Sprintf("Requesting HA stop for VM %d", vmid), cmd, p.haCRMCmdLocked(sid, "stop "+sid+" "+timeout)), nil
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

// missingVolumeLocked is the first failure of vm_start_nolock's
// PVE::Storage::activate_volumes (qemu-server e781d971, QemuServer.pm; it
// runs before config_to_command): a drive whose volume is not there, on a
// storage whose volumes the lab keeps (dir and LVM thin; pve-storage
// 6f49432a Plugin.pm activate_volume: "volume '...' does not exist").
// CD-ROM drives without media ("none", "cdrom") and paths have no volume.
func (p *PVE) missingVolumeLocked(node string, conf map[string]string) string {
	n := p.nodeLocked(node)
	if n == nil {
		return ""
	}
	for _, k := range slices.Sorted(maps.Keys(conf)) {
		if !isDriveKey(k) {
			continue
		}
		volid := parseDrive(conf[k])["file"]
		sid, _, ok := parseVolumeID(volid)
		if !ok {
			continue
		}
		s := p.storageDefOf(sid)
		if s == nil || (s.typ != "dir" && s.typ != "lvmthin") {
			continue
		}
		if n.storage.vols[volid] == nil {
			return fmt.Sprintf("volume '%s' does not exist", volid)
		}
	}
	return ""
}
