package pvesim

import (
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// Resizing a VM's disk: PUT /nodes/{node}/qemu/{vmid}/resize as
// qemu-server's PVE::API2::Qemu resize_vm serves it.

// --- resize --------------------------------------------------------------

var resizeSizeRE = regexp.MustCompile(`^(\+)?(\d+(\.\d+)?)([KMGT])?$`)

// resizeVM serves PUT /nodes/{node}/qemu/{vmid}/resize (resize_vm): all
// checks run in the "resize" worker.
func (p *PVE) resizeVM(r *Request) (any, error) {
	node := r.PathParams["node"]
	vmid := requestVMID(r)
	disk, _ := r.String("disk")
	sizeStr, _ := r.String("size")
	digest, _ := r.String("digest")
	skiplock := r.Bool("skiplock", false)
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	p.settleLocked(now)
	begin := func(at time.Time, w *worker) {
		vm, err := p.vmOnLocked(node, vmid)
		if err != nil {
			w.fail(dieText(err))
			return
		}
		fail := func(format string, args ...any) { w.fail(fmt.Sprintf(format, args...)) }
		switch {
		case digest != "" && digest != vm.digest():
			fail("checksum mismatch (file change by other user?)")
			return
		case !skiplock && checkLock(vm) != "":
			fail("%s", checkLock(vm))
			return
		case vm.conf[disk] == "":
			fail("disk '%s' does not exist", disk)
			return
		}
		d := parseDrive(vm.conf[disk])
		volid := d["file"]
		switch {
		case volid == "":
			fail("disk '%s' has no associated volume", disk)
			return
		case d.isCdrom():
			fail("you can't resize a cdrom")
			return
		}
		ns := p.nodeLocked(node).storage
		v := ns.vols[volid]
		if v == nil {
			fail("Could not determine current size of volume '%s'", volid)
			return
		}
		m := resizeSizeRE.FindStringSubmatch(sizeStr)
		if m == nil {
			fail("internal error")
			return
		}
		f, _ := strconv.ParseFloat(m[2], 64)
		f *= map[string]float64{"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}[m[4]]
		newSize := uint64(f)
		if m[1] == "+" {
			newSize += v.size
		}
		if newSize < v.size {
			fail("shrinking disks is not supported")
			return
		}
		if newSize == v.size {
			return
		}
		oldSize := v.size
		v.size = roundExtent(newSize)
		w.log(fmt.Sprintf("  Size of logical volume pve/%s changed from %s (%d extents) to %s (%d extents).", v.name, lvmSize(oldSize), oldSize/lvmExtent, lvmSize(v.size), v.size/lvmExtent),
			fmt.Sprintf("  Logical volume pve/%s successfully resized.", v.name))
		d["size"] = formatSize(newSize)
		vm.conf[disk] = d.String()
	}
	return p.spawnVMTaskLocked(now, node, "resize", strconv.Itoa(vmid), r.User, resizeWork,
		[]flockReq{{vmid: vmid, timeout: lockConfigTimeout}}, begin, nil), nil
}

// lvmSize prints a size like LVM does ("32.00 GiB").
func lvmSize(b uint64) string {
	switch {
	case b >= 1<<40:
		return fmt.Sprintf("%.2f TiB", float64(b)/(1<<40))
	case b >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(b)/(1<<30))
	default:
		return fmt.Sprintf("%.2f MiB", float64(b)/(1<<20))
	}
}
