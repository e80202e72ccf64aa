package pvesim

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// A VM's disks as qemu-server allocates and frees them: create_disks (new
// volumes, imports, CD-ROMs and cloud-init drives), vdisk_create_base for
// templates, add_unused_volume, try_deallocate_drive and
// vmconfig_delete_or_detach_drive (PVE::QemuServer and PVE::API2::Qemu).

// createDisksLocked is create_disks: it allocates the volumes settings ask
// for on the VM's node and returns the drives to store and the volumes it
// allocated. On error it frees what it allocated. The caller holds p.mu.
func (p *PVE) createDisksLocked(n *node, vmid int, conf, pending, settings map[string]string, defStorage string, template bool, now time.Time, w *worker) (map[string]string, []string, error) {
	ns := n.storage
	res := map[string]string{}
	var vollist []string
	fail := func(format string, args ...any) (map[string]string, []string, error) {
		for _, v := range vollist {
			ns.free(v)
		}
		return nil, nil, Errorf(http.StatusInternalServerError, format, args...)
	}
	for _, ds := range driveKeys(settings) {
		d := parseDrive(settings[ds])
		volid := d["file"]
		sid, volname, hasSid := parseVolumeID(volid)
		switch {
		case volid == "" || volid == "none" || volid == "cdrom":
			delete(d, "size")
			res[ds] = d.String()
		case hasSid && volname == "cloudinit":
			storage := cmpOr(sid, defStorage)
			for _, c := range []map[string]string{conf, pending, res} {
				if key := hasCloudinit(c, ds); key != "" {
					return fail("%s - cloud-init drive is already attached at '%s'", ds, key)
				}
			}
			st := p.storageDefOf(storage)
			if st == nil {
				return fail("storage '%s' does not exist", storage)
			}
			name := fmt.Sprintf("vm-%d-cloudinit", vmid)
			if st.typ == "dir" {
				name = fmt.Sprintf("%d/%s.%s", vmid, name, cmpOr(d["format"], "qcow2"))
			}
			if ns.vols[storage+":"+name] != nil {
				return fail("lvcreate '%s/%s' error:   Logical Volume \"%s\" already exists in volume group \"%s\"", st.vgname, name, name, st.vgname)
			}
			v, line := ns.alloc(storage, name, vmid, cloudinitSize, 0, now)
			if st.typ == "dir" {
				v.format = cmpOr(d["format"], "qcow2")
			}
			vollist = append(vollist, v.volid())
			d["file"], d["media"] = v.volid(), "cdrom"
			delete(d, "format")
			res[ds] = d.String()
			w.log(line, fmt.Sprintf("%s: successfully created disk '%s'", ds, res[ds]))
		case newDiskRE.MatchString(volid):
			m := newDiskRE.FindStringSubmatch(volid)
			storage := cmpOr(m[2], defStorage)
			if storage == "" {
				return fail("no storage ID specified (and no default storage)")
			}
			st := p.storageDefOf(storage)
			if st == nil {
				return fail("storage '%s' does not exist", storage)
			}
			if src := d["import-from"]; src != "" {
				return fail("cannot import from '%s' - could not get size of %s", src, src)
			}
			if f := d["format"]; f != "" && f != "raw" && st.typ == "lvmthin" {
				return fail("unsupported format '%s'", f)
			}
			sizeGiB, _ := strconv.ParseFloat(m[3], 64)
			size := uint64(sizeGiB * gib1)
			var used uint64
			switch ds {
			case "efidisk0":
				size = efiVars2MSize
				if d["efitype"] == "4m" {
					size = efiVars4MSize
					if d["pre-enrolled-keys"] == "1" {
						// the 9.1 firmware's vars template with Microsoft keys has the 2023 certificates
						// (inferred from the 9.1.3 schema, which marks '2023k' as current)
						d["ms-cert"] = "2023k"
					}
				}
				used = size
			case "tpmstate0":
				size = tpmStateSize
			}
			name := ns.freeDiskName(storage, vmid, nil)
			v, line := ns.alloc(storage, name, vmid, size, used, now)
			if template {
				w.log(p.createBaseLocked(ns, v)...)
			}
			vollist = append(vollist, v.volid())
			d["file"], d["size"] = v.volid(), formatSize(v.size)
			delete(d, "format")
			res[ds] = d.String()
			w.log(line, fmt.Sprintf("%s: successfully created disk '%s'", ds, res[ds]))
		default:
			var size uint64
			if hasSid {
				st := p.storageDefOf(sid)
				if st == nil {
					return fail("storage '%s' does not exist", sid)
				}
				vtype, err := p.parseVolname(volid)
				if err != nil {
					return fail("%s", strings.TrimSuffix(dieText(err), "\n"))
				}
				if vtype != "images" && vtype != "iso" {
					return fail("cannot use volume %s - content type needs to be 'images' or 'iso'", volid)
				}
				v := ns.vols[volid]
				if v != nil && d["format"] != "" && d["format"] != v.format {
					return fail("drive '%s' - volume '%s' - 'format=%s' option different from storage format '%s'", ds, volid, d["format"], v.format)
				}
				if d.isCloudinit() {
					for _, c := range []map[string]string{conf, pending, res} {
						if key := hasCloudinit(c, ds); key != "" {
							return fail("%s - cloud-init drive is already attached at '%s'", ds, key)
						}
					}
				}
				if v == nil && st.path != "" {
					// activate_volumes before volume_size_info: a file
					// storage's activate_volume (pve-storage Plugin.pm)
					return fail("volume '%s' does not exist", volid)
				}
				if v != nil {
					size = v.size
				}
			}
			if size == 0 {
				return fail("volume %s does not exist", volid)
			}
			d["size"] = formatSize(size)
			res[ds] = d.String()
		}
	}
	return res, vollist, nil
}

// gib1 is one GiB as a float factor.
const gib1 = 1 << 30

// createBaseLocked turns a volume into a base volume (vdisk_create_base on
// lvmthin renames vm-N-disk-M to base-N-disk-M) and returns what lvrename
// prints.
func (p *PVE) createBaseLocked(ns *nodeStorage, v *volume) []string {
	if !strings.HasPrefix(v.name, "vm-") || strings.Contains(v.name, "cloudinit") {
		return nil
	}
	old := v.volid()
	delete(ns.vols, old)
	oldName := v.name
	v.name = "base-" + strings.TrimPrefix(v.name, "vm-")
	ns.vols[v.volid()] = v
	return []string{
		fmt.Sprintf("  Renamed \"%s\" to \"%s\" in volume group \"pve\"", oldName, v.name),
		fmt.Sprintf("  Logical volume pve/%s changed.", v.name),
	}
}

// volumeOwner is the owner VM of a volume name (vm-<vmid>-..., base-<vmid>-...).
func volumeOwner(volid string) int {
	_, name, ok := parseVolumeID(volid)
	if !ok {
		return 0
	}
	if m := lvmVolnameRE.FindStringSubmatch(name); m != nil {
		id, _ := strconv.Atoi(m[3])
		return id
	}
	if m := dirImageRE.FindStringSubmatch(name); m != nil {
		id, _ := strconv.Atoi(m[1])
		return id
	}
	return 0
}

// addUnusedVolume is add_unused_volume: the lowest free unusedN.
func addUnusedVolume(conf map[string]string, volid string) (string, error) {
	key := ""
	for i := maxUnusedDisks - 1; i >= 0; i-- {
		k := fmt.Sprintf("unused%d", i)
		if v, ok := conf[k]; ok {
			if v == volid {
				return "", nil
			}
		} else {
			key = k
		}
	}
	if key == "" {
		return "", fmt.Errorf("Too many unused volumes - please delete them first.\n")
	}
	conf[key] = volid
	return key, nil
}

// registerUnusedDriveLocked is vmconfig_register_unused_drive: a replaced
// or removed disk becomes unusedN, a cloud-init drive is freed.
func (p *PVE) registerUnusedDriveLocked(vm *qemuVM, d drive) {
	switch {
	case d.isCloudinit():
		if n := p.nodeLocked(vm.node); n != nil {
			n.storage.free(d["file"])
		}
	case !d.isCdrom():
		if volumeOwner(d["file"]) == vm.vmid {
			if _, err := addUnusedVolume(vm.conf, d["file"]); err != nil {
				p.logf("pvesim: VM %d: %v", vm.vmid, err)
			}
		}
	}
}

// deallocateDriveLocked is try_deallocate_drive: free a disk the VM owns.
func (p *PVE) deallocateDriveLocked(vm *qemuVM, d drive) bool {
	if d.isCdrom() && !d.isCloudinit() {
		return true
	}
	if volumeOwner(d["file"]) != vm.vmid {
		return true
	}
	if n := p.nodeLocked(vm.node); n != nil {
		n.storage.free(d["file"])
	}
	return true
}

// deleteOrDetachDriveLocked is vmconfig_delete_or_detach_drive.
func (p *PVE) deleteOrDetachDriveLocked(vm *qemuVM, k string, force bool) {
	d := parseDrive(vm.conf[k])
	if force {
		p.deallocateDriveLocked(vm, d)
	} else {
		p.registerUnusedDriveLocked(vm, d)
	}
	delete(vm.conf, k)
}
