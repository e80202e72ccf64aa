package pvesim

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Resizing a container's mount point: PUT /nodes/{node}/lxc/{vmid}/resize
// as pve-container's PVE::API2::LXC resize_vm serves it, with its
// $load_and_check.

// --- resize --------------------------------------------------------------

// ctResizeCheck is resize_vm's $load_and_check: the mount point, its
// volume and the new size.
func (p *PVE) ctResizeCheck(node string, vmid int, disk, sizeStr, digest string) (*lxcCT, mountPoint, *volume, uint64, error) {
	fail := func(format string, args ...any) (*lxcCT, mountPoint, *volume, uint64, error) {
		return nil, nil, nil, 0, Errorf(http.StatusInternalServerError, format, args...)
	}
	ct, err := p.ctOnLocked(node, vmid)
	if err != nil {
		return nil, nil, nil, 0, err
	}
	if err := ct.checkLock(); err != nil {
		return nil, nil, nil, 0, err
	}
	if digest != "" && digest != ct.digest() {
		return fail("detected modified configuration - file changed by other user? Try again.")
	}
	value, ok := ct.conf[disk]
	if !ok {
		// parse_property_string of an empty value (assumption: the
		// exception's status and form)
		missing := map[string]string{"volume": "property is missing and it is not optional"}
		if disk != "rootfs" {
			missing["mp"] = "property is missing and it is not optional"
		}
		return nil, nil, nil, 0, &APIError{Status: http.StatusInternalServerError, Message: "format error\n", Errors: missing}
	}
	mp := parseMountPoint(value)
	volid := mp["volume"]
	if _, _, ok := parseVolumeID(volid); !ok {
		return fail("unable to parse volume ID '%s'", volid)
	}
	if _, err := p.parseVolname(volid); err != nil {
		return nil, nil, nil, 0, err
	}
	if owner := volumeOwner(volid); owner != vmid {
		// a die without newline: Perl adds where it died (not modelled)
		return fail("can't resize mount point owned by another container (%d)", owner)
	}
	v := p.nodeLocked(node).storage.vols[volid]
	if v == nil {
		return fail("Could not determine current size of volume '%s'", volid)
	}
	m := resizeSizeRE.FindStringSubmatch(sizeStr)
	if m == nil {
		return fail("invalid size string")
	}
	req, _ := parseSize(m[2] + m[4])
	newSize := req
	if m[1] == "+" {
		newSize += v.size
	}
	switch {
	case newSize < v.size:
		return fail("unable to shrink disk size")
	case newSize == v.size:
		return fail("disk is already at specified size")
	}
	return ct, mp, v, newSize, nil
}

// resizeCT serves PUT /nodes/{node}/lxc/{vmid}/resize (resize_vm): the
// checks run before the "resize" worker and again in it.
func (p *PVE) resizeCT(r *Request) (any, error) {
	node := r.PathParams["node"]
	vmid := requestVMID(r)
	disk, _ := r.String("disk")
	sizeStr, _ := r.String("size")
	digest, _ := r.String("digest")
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	p.settleLocked(now)
	if _, _, _, _, err := p.ctResizeCheck(node, vmid, disk, sizeStr, digest); err != nil {
		return nil, err
	}
	begin := func(at time.Time, w *worker) {
		ct, mp, v, newSize, err := p.ctResizeCheck(node, vmid, disk, sizeStr, digest)
		if err != nil {
			w.fail(dieText(err))
			return
		}
		oldSize := v.size
		v.size = roundExtent(newSize)
		mp["size"] = formatSize(newSize)
		ct.conf[disk] = mp.print(disk)
		dev := "/dev/pve/" + v.name
		blocks := v.size / 4096
		w.log(fmt.Sprintf("  Size of logical volume pve/%s changed from %s (%d extents) to %s (%d extents).", v.name, lvmSize(oldSize), oldSize/lvmExtent, lvmSize(v.size), v.size/lvmExtent),
			fmt.Sprintf("  Logical volume pve/%s successfully resized.", v.name))
		// e2fsck and resize2fs (assumption: e2fsprogs 1.47.2 as Debian 13 ships it)
		if !ct.running {
			w.log("e2fsck 1.47.2 (1-Jan-2025)", "Pass 1: Checking inodes, blocks, and sizes", "Pass 2: Checking directory structure",
				"Pass 3: Checking directory connectivity", "Pass 4: Checking reference counts", "Pass 5: Checking group summary information",
				fmt.Sprintf("%s: 25000/%d files (0.1%% non-contiguous), %d/%d blocks", dev, oldSize/16384, v.used/4096, oldSize/4096),
				"resize2fs 1.47.2 (1-Jan-2025)",
				fmt.Sprintf("Resizing the filesystem on %s to %d (4k) blocks.", dev, blocks))
		} else {
			w.log("resize2fs 1.47.2 (1-Jan-2025)", fmt.Sprintf("Filesystem at %s is mounted on /tmp; on-line resizing required", dev),
				fmt.Sprintf("old_desc_blocks = %d, new_desc_blocks = %d", (oldSize/4096+4194303)/4194304, (blocks+4194303)/4194304))
		}
		w.log(fmt.Sprintf("The filesystem on %s is now %d (4k) blocks long.", dev, blocks))
	}
	return p.spawnVMTaskLocked(now, node, "resize", strconv.Itoa(vmid), r.User, resizeWork,
		[]flockReq{{vmid: vmid, timeout: lockConfigTimeout, ct: true}}, begin, nil), nil
}
