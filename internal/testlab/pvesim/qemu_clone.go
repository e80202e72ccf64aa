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

// Cloning a VM and turning it into a template: qemu-server's
// PVE::API2::Qemu clone_vm (POST /nodes/{node}/qemu/{vmid}/clone, full and
// linked clones) and template (POST /nodes/{node}/qemu/{vmid}/template),
// each with its $load_and_check.

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
	early, err := p.cloneCheckLocked(node, vmid, newid, running, fullParam, storage, format, target, snapname)
	if err != nil {
		return nil, err
	}
	work := cloneWork + p.cloneWorkLocked(node, early, running)

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
	return p.spawnVMTaskLocked(now, node, "qmclone", strconv.Itoa(vmid), r.User, work,
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
