package pvesim

import (
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/pveschema"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/sim"
)

// Creating a VM: POST /nodes/{node}/qemu as qemu-server's PVE::API2::Qemu
// create_vm serves it (the config checks and disk allocation it runs are in
// qemu_config.go and qemu_disks.go). This file and qemu_power.go,
// qemu_destroy.go, qemu_resize.go, qemu_clone.go and qemu_migrate.go are
// the VM's life cycle: creating, destroying, powering, resizing, cloning,
// templating and migrating VMs (PVE::API2::Qemu's create_vm, destroy_vm,
// vm_start & co., resize_vm, clone_vm, template, migrate_vm).

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
		p.logOnce("qemu:restore", "pvesim: restoring VM backups (archive) is not implemented by the lab")
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
	work := createWork + newDiskWork(settings)
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
		if start && haManaged {
			// vm_start of a VM that is HA-managed by now: an hastart, the
			// CRM and the LRM start it (ha_manager.go)
			w.log("Execute autostart")
		} else if start {
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
				sid := haSID("qemu", vmid)
				p.addHAResourceLocked(sid, haCreateState(start))
				if start {
					// vm_start called as an API method: for the VM, HA-managed
					// by now, an hastart worker of its own
					cmd := []string{"ha-manager", "set", sid, "--state", "started"}
					p.spawnHARequestLocked(at, node, "hastart", vmid, r.User, fmt.Sprintf("Requesting HA start for VM %d", vmid), cmd, p.haSetStateCmdLocked(sid, "started"))
				}
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
		[]flockReq{{vmid: vmid, timeout: workerLockTimeout, fresh: true}}, begin, finish), nil
}
