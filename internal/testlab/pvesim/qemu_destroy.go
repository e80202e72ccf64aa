package pvesim

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/pveschema"
)

// Destroying a VM: DELETE /nodes/{node}/qemu/{vmid} as qemu-server's
// PVE::API2::Qemu destroy_vm serves it, with its early checks and the
// volumes that go with the VM.

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
