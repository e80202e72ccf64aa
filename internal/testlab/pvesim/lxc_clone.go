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

// Cloning a container and turning it into a template: pve-container's
// PVE::API2::LXC clone_vm (POST /nodes/{node}/lxc/{vmid}/clone) and
// template (POST /nodes/{node}/lxc/{vmid}/template).

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
	return p.spawnVMTaskLocked(time.Now(), node, "vzclone", strconv.Itoa(vmid), r.User, cloneWork+p.ctCloneWorkLocked(node, mountpoints, full),
		[]flockReq{{vmid: newid, timeout: lockConfigTimeout, ct: true, fresh: true}}, begin, finish), nil
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
