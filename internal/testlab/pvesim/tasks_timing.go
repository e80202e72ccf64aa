package pvesim

import (
	"strconv"
	"time"
)

// How long guest workers take. Real workers take as long as their work:
// allocating disks, copying data for a full clone or a migration, and, for
// a running VM, qemu-server's drive mirror, whose monitor polls the block
// job once a second until it is ready and again until it has vanished
// (qemu-server PVE/QemuServer/BlockJob.pm qemu_drive_mirror_monitor,
// "sleep 1" at the end of each round), so a running VM's full clone holds
// its exclusive flock for more than a second per disk. The lab's workers
// scale the same way, only faster than real disks: a fixed part per
// worker type (qemu_ops.go: createWork, cloneWork, ...) plus what the
// work here costs. Options.TaskSpeed divides all of it; the flock
// timeouts (1 s, 5 s, 10 s) are PVE's and never scale.
const (
	// copyPerGiB is a full copy of one GiB of disk (clone, import, local
	// disks of a migration): 20 GiB/s, kinder than any real disk.
	copyPerGiB = 50 * time.Millisecond
	// allocPerDisk and allocPerGiB are a new volume (lvcreate, qemu-img
	// create, zfs create, mkfs for a container's volume).
	allocPerDisk = 50 * time.Millisecond
	allocPerGiB  = 2 * time.Millisecond
	// mirrorPerDisk is the drive mirror of one disk of a running VM:
	// at least one round of qemu_drive_mirror_monitor's 1 s poll.
	mirrorPerDisk = time.Second
)

// DefaultTaskSpeed is the speed of the lab's guest workers (Options.TaskSpeed).
const DefaultTaskSpeed = 1.0

// workTime is d at the lab's task speed: the run time of a worker whose
// work takes d at speed 1. It is never zero for work that is not.
func (l *pveLab) workTime(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	speed := l.taskSpeed
	if speed <= 0 {
		speed = DefaultTaskSpeed
	}
	return max(time.Duration(float64(d)/speed), time.Millisecond)
}

// gibOf is a size in bytes in GiB.
func gibOf(size uint64) float64 { return float64(size) / gib1 }

// perGiB is the cost of gib GiB at rate per GiB.
func perGiB(rate time.Duration, gib float64) time.Duration {
	return time.Duration(float64(rate) * gib)
}

// newDiskWork is the allocation of the new disks ("STORAGE:SIZE") among
// settings, as create_vm and update_vm allocate them.
func newDiskWork(settings map[string]string) time.Duration {
	var d time.Duration
	for _, k := range driveKeys(settings) {
		drv := parseDrive(settings[k])
		m := newDiskRE.FindStringSubmatch(drv["file"])
		if m == nil {
			continue
		}
		gib, _ := strconv.ParseFloat(m[3], 64)
		d += allocPerDisk + perGiB(allocPerGiB, gib)
		if drv["import-from"] != "" {
			d += perGiB(copyPerGiB, gib)
		}
	}
	return d
}

// cloneWorkLocked is the work of clone_vm for plan: each full clone
// allocates a volume and copies the source's data, through a drive mirror
// when the source runs; a linked clone only makes the new volume.
func (p *PVE) cloneWorkLocked(node string, plan *clonePlan, running bool) time.Duration {
	ns := p.nodeLocked(node).storage
	var d time.Duration
	for _, k := range plan.drives {
		v := ns.vols[parseDrive(plan.oldconf[k])["file"]]
		if v == nil {
			continue
		}
		d += allocPerDisk
		if !plan.full[k] {
			continue
		}
		d += perGiB(allocPerGiB+copyPerGiB, gibOf(v.size))
		if running && k != "efidisk0" && k != "tpmstate0" && !parseDrive(plan.oldconf[k]).isCloudinit() {
			d += mirrorPerDisk
		}
	}
	return d
}

// ctNewVolumeWork is the allocation (and mkfs) of a container's new
// volumes ("STORAGE:SIZE") among mps, as create_vm allocates them.
func ctNewVolumeWork(mps map[string]string) time.Duration {
	var d time.Duration
	for _, k := range lxcVolumeKeys(mps) {
		m := newDiskRE.FindStringSubmatch(parseMountPoint(mps[k])["volume"])
		if m == nil {
			continue
		}
		gib, _ := strconv.ParseFloat(m[3], 64)
		d += allocPerDisk + perGiB(allocPerGiB, gib)
	}
	return d
}

// ctCloneWorkLocked is the work of pve-container's clone_vm: a full clone
// allocates each volume and copies its data (rsync), a linked clone only
// makes the new volume.
func (p *PVE) ctCloneWorkLocked(node string, mps map[string]mountPoint, full bool) time.Duration {
	ns := p.nodeLocked(node).storage
	var d time.Duration
	for _, mp := range mps {
		d += allocPerDisk
		if v := ns.vols[mp["volume"]]; v != nil && full {
			d += perGiB(allocPerGiB, gibOf(v.size)) + perGiB(copyPerGiB, gibOf(v.used))
		}
	}
	return d
}
