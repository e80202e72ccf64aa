package pvesim

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
)

// Config changes of VMs: the checks of create_vm and update_vm_api, disk
// allocation (create_disks), pending changes and how they are applied to a
// stopped VM (vmconfig_apply_pending) or hot-plugged into a running one
// (vmconfig_hotplug_pending).
//
// This file holds the request checks qemu-server's PVE::API2::Qemu runs on
// create_vm and update_vm_api (storage access, drive parameters, random
// MACs, the cdrom alias, cloud-init drives); disk allocation is in
// qemu_disks.go, pending changes and hotplug in qemu_pending.go, the
// config update calls in qemu_update.go.

// qemuSettings returns the config settings of a request: every parameter
// but the named control parameters, as strings.
func qemuSettings(r *Request, control ...string) map[string]string {
	out := map[string]string{}
	for k := range r.Params {
		if slices.Contains(control, k) {
			continue
		}
		if v, ok := r.String(k); ok {
			out[k] = v
		}
	}
	return out
}

// resolveCdromAlias turns "cdrom" into ide2 ($resolve_cdrom_alias).
func resolveCdromAlias(s map[string]string) {
	if v, ok := s["cdrom"]; ok {
		if !strings.Contains(v, "media=") {
			v += ",media=cdrom"
		}
		s["ide2"] = v
		delete(s, "cdrom")
	}
}

func driveKeys(s map[string]string) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(s)) {
		if isDriveKey(k) {
			out = append(out, k)
		}
	}
	return out
}

// checkStorageAccess is $check_storage_access (for root: storage existence
// and content types).
func (p *PVE) checkStorageAccess(s map[string]string, defStorage string) error {
	for _, k := range driveKeys(s) {
		d := parseDrive(s[k])
		volid := d["file"]
		sid, volname, hasSid := parseVolumeID(volid)
		switch {
		case volid == "" || volid == "none" || volid == "cloudinit" || (hasSid && volname == "cloudinit"):
		case d.isCdrom() && volid == "cdrom":
		case !d.isCdrom() && newDiskRE.MatchString(volid):
			m := newDiskRE.FindStringSubmatch(volid)
			storage := cmpOr(m[2], defStorage)
			if storage == "" {
				return Errorf(http.StatusInternalServerError, "no storage ID specified (and no default storage)")
			}
			st := p.storageDefOf(storage)
			if st == nil {
				return errNoStorage(storage)
			}
			if !st.hasContent("images") {
				return ParamError(map[string]string{"storage": fmt.Sprintf("storage '%s' does not support vm images", storage)})
			}
		default:
			if !hasSid {
				continue
			}
			vtype, err := p.parseVolname(volid)
			if err != nil {
				return err
			}
			if vtype != "images" && vtype != "iso" {
				return ParamError(map[string]string{k: "content type needs to be 'images' or 'iso'"})
			}
			_ = sid
		}
	}
	for k, v := range s {
		if !unusedKeyRE.MatchString(k) {
			continue
		}
		if _, _, ok := parseVolumeID(parseDrive(v)["file"]); !ok {
			return ParamError(map[string]string{k: "not a valid volid: " + v})
		}
	}
	return nil
}

// checkDriveParams is $check_drive_param: ISO images need media=cdrom;
// every drive is stored as print_drive prints it.
func (p *PVE) checkDriveParams(s map[string]string) error {
	for _, k := range driveKeys(s) {
		d := parseDrive(s[k])
		volid := d["file"]
		if _, volname, ok := parseVolumeID(volid); ok && !newDiskRE.MatchString(volid) && volname != "cloudinit" {
			if vtype, err := p.parseVolname(volid); err == nil && vtype == "iso" && !d.isCdrom() {
				return ParamError(map[string]string{k: "explicit 'media=cdrom' is required for iso images"})
			}
		}
		s[k] = d.String()
	}
	return nil
}

// addRandomMACs gives every NIC without a MAC address a new one (parse_net
// generates it, print_net writes it).
func addRandomMACs(s map[string]string) {
	for k, v := range s {
		if netKeyRE.MatchString(k) {
			m := parseNet(v)
			if m["macaddr"] == "" {
				m["macaddr"] = randomMAC()
			}
			s[k] = printNet(m)
		}
	}
}

// hasCloudinit is PVE::QemuConfig->has_cloudinit: the key of a cloud-init
// drive other than skip.
func hasCloudinit(conf map[string]string, skip string) string {
	for _, k := range driveKeys(conf) {
		if k != skip && parseDrive(conf[k]).isCloudinit() {
			return k
		}
	}
	return ""
}
