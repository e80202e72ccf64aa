package pvesim

import (
	"fmt"
	"net/http"
	"path"
	"strings"
	"time"
)

// One volume of a storage's content (pve-storage 6f49432a,
// PVE/API2/Storage/Content.pm): its attributes (info) and its deletion
// (delete, an imgdel worker running PVE::Storage::vdisk_free).

// imgdelDuration is how long the lab's imgdel workers run.
const imgdelDuration = 100 * time.Millisecond

func (p *PVE) registerStorageContentRoutes() {
	p.Handle(http.MethodGet, "/nodes/{node}/storage/{storage}/content/{volume}", p.storageVolumeInfo)
	p.Handle(http.MethodDelete, "/nodes/{node}/storage/{storage}/content/{volume}", p.deleteStorageVolume)
}

// realVolumeID is Content.pm's $real_volume_id: the volume parameter is a
// whole volume ID of this storage or a volume name on it.
func realVolumeID(storage, volume string) (volid, sid string, err error) {
	if strings.Contains(volume, ":") {
		id, _, ok := parseVolumeID(volume)
		if !ok {
			return "", "", ParamError(map[string]string{"volume": fmt.Sprintf("unable to parse volume ID '%s'\n", volume)})
		}
		if storage != "" && id != storage {
			return "", "", ParamError(map[string]string{"volume": fmt.Sprintf("storage ID mismatch (%s != %s)\n", id, storage)})
		}
		return volume, id, nil
	}
	return storage + ":" + volume, storage, nil
}

// volumePath is PVE::Storage::path of a volume: the device of an LVM
// volume, the file of a directory storage's.
func volumePath(s *storageDef, v *volume) string {
	if s.typ == "lvmthin" || s.typ == "lvm" {
		return "/dev/" + s.vgname + "/" + v.name
	}
	dir := map[string]string{"images": "images", "rootdir": "images", "iso": "template/iso", "vztmpl": "template/cache",
		"backup": "dump", "snippets": "snippets", "import": "import"}[v.content]
	name := v.name
	if i := strings.Index(name, "/"); i >= 0 && v.content != "images" && v.content != "rootdir" {
		name = name[i+1:] // "iso/x.iso" is template/iso/x.iso
	}
	return path.Join(s.path, dir, name)
}

// storageVolumeInfo serves GET /nodes/{node}/storage/{storage}/content/{volume}
// (info): path, size, used and format.
func (p *PVE) storageVolumeInfo(r *Request) (any, error) {
	volid, sid, err := realVolumeID(r.PathParams["storage"], r.PathParams["volume"])
	if err != nil {
		return nil, err
	}
	s := p.storageDefOf(sid)
	if s == nil {
		return nil, errNoStorage(sid)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.settleLocked(time.Now())
	v := p.nodeLocked(r.PathParams["node"]).storage.vols[volid]
	if v == nil {
		// volume_size_info of a volume that is not there reports no format
		return nil, Errorf(http.StatusInternalServerError, "volume_size_info on '%s' failed - no format", volid)
	}
	return map[string]any{"path": volumePath(s, v), "size": v.size, "used": v.used, "format": v.format}, nil
}

// deleteStorageVolume serves DELETE /nodes/{node}/storage/{storage}/content/{volume}
// (delete): an imgdel worker frees the volume, unless it is the base of a
// linked clone (vdisk_free).
func (p *PVE) deleteStorageVolume(r *Request) (any, error) {
	volid, sid, err := realVolumeID(r.PathParams["storage"], r.PathParams["volume"])
	if err != nil {
		return nil, err
	}
	s := p.storageDefOf(sid)
	if s == nil {
		return nil, errNoStorage(sid)
	}
	ct, err := p.parseVolname(volid) // PVE::Storage::path, before the worker
	if err != nil {
		return nil, err
	}
	node := r.PathParams["node"]
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.settleLocked(now)
	ns := p.nodeLocked(node).storage
	v := ns.vols[volid]
	id := sid
	if v != nil && v.vmid != 0 {
		id = fmt.Sprintf("%d@%s", v.vmid, sid)
	}
	t := &task{node: node, typ: "imgdel", id: id, user: r.User, duration: imgdelDuration, exit: "OK"}
	w := &worker{t: t}
	switch {
	case v == nil && s.path != "":
		// Plugin::free_image of a file that is not there warns and returns
		_, name, _ := parseVolumeID(volid)
		w.warn(fmt.Sprintf("disk image '%s' does not exist", volumePath(s, &volume{storage: sid, name: name, content: ct})))
		w.log(fmt.Sprintf("Removed volume '%s'", volid))
	case v == nil:
		w.fail(fmt.Sprintf("no such logical volume %s", volid)) // from memory: lvremove's complaint
	case ns.baseInUse(volid):
		w.fail(fmt.Sprintf("base volume '%s' is still in use by linked clones", v.name))
	default:
		w.log(ns.free(volid), fmt.Sprintf("Removed volume '%s'", volid))
	}
	p.spawnLocked(t, now)
	return t.upid, nil
}
