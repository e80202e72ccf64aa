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
	"github.com/hcilab/terraform-provider-pve/internal/testlab/pveschema"
)

// Migrating a container: pve-container's PVE::API2::LXC migrate_vm and its
// precondition call (GET and POST /nodes/{node}/lxc/{vmid}/migrate), and
// the vzmigrate worker of PVE::LXC::Migrate.

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
	if p.vmIsHAManagedLocked(vmid) && !fromHA(r) {
		// "ha-manager migrate": the CRM and the LRMs move it (ha_manager.go)
		sid := haSID("lxc", vmid)
		cmd := []string{"ha-manager", "migrate", sid, target}
		return p.spawnHARequestLocked(now, node, "hamigrate", vmid, r.User, fmt.Sprintf("Requesting HA migration for CT %d to node %s", vmid, target), cmd, p.haCRMCmdLocked(sid, "migrate "+sid+" "+target)), nil
	}
	typ := "vzmigrate"
	volumeMap := map[string]string{}
	wasRunning, migrated := false, false
	begin := func(at time.Time, w *worker) {
		ts := func(format string, args ...any) string { return taskLogTime(at) + " " + fmt.Sprintf(format, args...) }
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
