package pvesim

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Scheduled backups of VMs, as far as other clients meet them: pvescheduler
// starts a vzdump worker (pve-manager PVE/API2/VZDump.pm, fork_worker
// 'vzdump' with the VMID as its ID when it backs up one guest), which
// marks the VM "lock: backup" for the whole backup (qemu-server
// PVE/VZDump/QemuServer.pm prepare: set_lock($vmid, 'backup'), cleanup:
// remove_lock) while it copies the disks; every change of the VM meanwhile
// fails "VM is locked (backup)". The lab writes no archive.

// RunBackupJob starts a scheduled backup of VM vmid that runs for d (it
// does not scale with the task speed: it stands for a job of any size) and
// returns its UPID.
func (p *PVE) RunBackupJob(vmid int, d time.Duration) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	p.settleLocked(now)
	g, ok := p.guests[vmid]
	if !ok || g.kind != "qemu" {
		return "", Errorf(http.StatusInternalServerError, "no VM %d", vmid)
	}
	node := g.node
	locked := false
	begin := func(at time.Time, w *worker) {
		w.log(fmt.Sprintf("INFO: starting new backup job: vzdump %d --mode snapshot --storage local --compress zstd", vmid),
			fmt.Sprintf("INFO: Starting Backup of VM %d (qemu)", vmid))
		vm, err := p.vmOnLocked(node, vmid)
		if err == nil {
			if l := checkLock(vm); l != "" {
				err = fmt.Errorf("%s", l)
			}
		}
		if err != nil {
			w.log(fmt.Sprintf("ERROR: Backup of VM %d failed - %s", vmid, dieText(err)))
			w.fail("job errors")
			return
		}
		vm.conf["lock"] = "backup"
		locked = true
	}
	finish := func(_ bool, at time.Time) {
		if vm, err := p.vmOnLocked(node, vmid); err == nil && locked && vm.conf["lock"] == "backup" {
			delete(vm.conf, "lock")
		}
	}
	t := &task{node: node, typ: "vzdump", id: strconv.Itoa(vmid), user: labUser, duration: d, exit: "OK"}
	p.spawnLocked(t, now)
	p.ops = append(p.ops, &vmOp{task: t, startAt: now, begin: begin, finish: finish})
	return t.upid, nil
}
