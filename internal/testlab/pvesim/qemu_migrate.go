package pvesim

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/perl"
)

// Migrating a VM: qemu-server's PVE::API2::Qemu migrate_vm and its
// precondition call (GET and POST /nodes/{node}/qemu/{vmid}/migrate), and
// the qmigrate worker of PVE::QemuMigrate.

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
	if p.vmIsHAManagedLocked(vmid) && !fromHA(r) {
		// migrate_vm of an HA-managed VM: "ha-manager migrate", the CRM
		// and the LRMs do the migration (ha_manager.go)
		sid := haSID("qemu", vmid)
		cmd := []string{"ha-manager", "migrate", sid, target}
		return p.spawnHARequestLocked(now, node, "hamigrate", vmid, r.User, fmt.Sprintf("Requesting HA migration for VM %d to node %s", vmid, target), cmd, p.haCRMCmdLocked(sid, "migrate "+sid+" "+target)), nil
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
	// the local disks are copied (offline) or mirrored (online) to the target
	work := migrateWork
	for _, lv := range p.localVolumes(vm.conf) {
		if v := p.nodeLocked(node).storage.vols[lv.volid]; v != nil && !lv.cdrom {
			work += perGiB(copyPerGiB, gibOf(v.size))
		}
	}
	upid := p.spawnVMTaskLocked(now, node, "qmigrate", strconv.Itoa(vmid), r.User, work, nil, begin, finish)
	return upid, nil
}
