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

// Destroying a container: DELETE /nodes/{node}/lxc/{vmid} as
// pve-container's PVE::API2::LXC destroy_vm serves it, with its early
// checks.

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
