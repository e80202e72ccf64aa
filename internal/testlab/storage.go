package testlab

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
)

// The storages of the lab, as the PVE installer sets them up on every node
// (PVE::API2::Storage::Config, ::Status and ::Content serve them):
//
//	dir: local
//		path /var/lib/vz
//		content iso,vztmpl,backup,import,snippets
//
//	lvmthin: local-lvm
//		thinpool data
//		vgname pve
//		content rootdir,images
//
// Both are local (not shared): every node has its own volumes. local-lvm
// is an LVM thin pool: allocating a volume reserves no space, only data
// written to it does, so the pool's "used" grows with what guests wrote
// (EFI vars, copied clones), not with the sizes of the disks
// (LvmThinPlugin::status reports the pool's data usage). LVM rounds
// volume sizes up to its 4 MiB extents.

// storageDef is one entry of /etc/pve/storage.cfg.
type storageDef struct {
	id       string
	typ      string // plugin type: dir, lvmthin
	content  []string
	path     string // dir
	vgname   string // lvmthin
	thinpool string // lvmthin
	shared   bool
}

// labStorages is the lab's storage.cfg.
var labStorages = []storageDef{
	{id: "local", typ: "dir", path: "/var/lib/vz", content: []string{"backup", "import", "iso", "snippets", "vztmpl"}},
	{id: "local-lvm", typ: "lvmthin", vgname: "pve", thinpool: "data", content: []string{"images", "rootdir"}},
}

// storageCfgText is storage.cfg as PVE writes it; its SHA1 is the digest
// the config API reports.
func storageCfgText() string {
	var b strings.Builder
	for i, s := range labStorages {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "%s: %s\n", s.typ, s.id)
		switch s.typ {
		case "dir":
			fmt.Fprintf(&b, "\tpath %s\n", s.path)
		case "lvmthin":
			fmt.Fprintf(&b, "\tthinpool %s\n\tvgname %s\n", s.thinpool, s.vgname)
		}
		fmt.Fprintf(&b, "\tcontent %s\n", strings.Join(s.content, ","))
	}
	return b.String()
}

func storageDefOf(id string) *storageDef {
	for i := range labStorages {
		if labStorages[i].id == id {
			return &labStorages[i]
		}
	}
	return nil
}

func (s *storageDef) hasContent(ct string) bool { return slices.Contains(s.content, ct) }

// errNoStorage is PVE::Storage::storage_config's die for an unknown storage.
func errNoStorage(id string) error {
	return Errorf(http.StatusInternalServerError, "storage '%s' does not exist", id)
}

// Sizes of the lab's storages and of the files every node has.
const (
	thinPoolSize = 348 * gib
	lvmExtent    = 4 << 20 // LVM's default physical extent size
	mib          = uint64(1) << 20
)

// labContent is the content every node's "local" storage starts with:
// installer and netinst ISOs, two container templates.
var labContent = []struct {
	name    string
	content string
	format  string
	size    uint64
}{
	{"iso/proxmox-ve_9.1-1.iso", "iso", "iso", 1640 * mib},
	{"iso/debian-13.1.0-amd64-netinst.iso", "iso", "iso", 784 * mib},
	{"vztmpl/debian-12-standard_12.7-1_amd64.tar.zst", "vztmpl", "tzst", 126248950},
	{"vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst", "vztmpl", "tzst", 141895410},
}

// volume is one volume on a node's storage.
type volume struct {
	storage string
	name    string // volname, e.g. "vm-100-disk-0" or "iso/x.iso"
	content string // images, iso, vztmpl
	format  string
	size    uint64 // bytes
	used    uint64 // data written (thin provisioning)
	vmid    int    // owner (images)
	ctime   int64
	parent  string // linked clones: the base volume they were cloned from
}

func (v *volume) volid() string { return v.storage + ":" + v.name }

// nodeStorage is the content of one node's local storages. Guarded by PVE.mu.
type nodeStorage struct {
	vols map[string]*volume // by volid
}

func newNodeStorage(installed time.Time) *nodeStorage {
	ns := &nodeStorage{vols: map[string]*volume{}}
	for i, c := range labContent {
		v := &volume{storage: "local", name: c.name, content: c.content, format: c.format, size: c.size, used: c.size, ctime: installed.Unix() + int64(i)*3600}
		ns.vols[v.volid()] = v
	}
	return ns
}

// parseVolumeID splits "storage:volname" (PVE::Storage::parse_volume_id).
var volumeIDRE = regexp.MustCompile(`^([a-zA-Z][a-zA-Z0-9\-_.]*[a-zA-Z0-9]):(.+)$`)

func parseVolumeID(volid string) (string, string, bool) {
	m := volumeIDRE.FindStringSubmatch(volid)
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}

var (
	lvmVolnameRE = regexp.MustCompile(`^((vm|base)-(\d+)-\S+)$`)
	dirISORE     = regexp.MustCompile(`^iso/[^/]+\.[Ii][Ss][Oo]$`)
	dirTmplRE    = regexp.MustCompile(`^vztmpl/[^/]+\.tar\.(gz|xz|zst|bz2)$`)
	dirImageRE   = regexp.MustCompile(`^(\d+)/[^/]+$`)
	dirSnippetRE = regexp.MustCompile(`^snippets/[^/]+$`)
	dirBackupRE  = regexp.MustCompile(`^backup/[^/]+$`)
	dirImportRE  = regexp.MustCompile(`^import/[^/]+$`)
)

// parseVolname is PVE::Storage::parse_volname: the content type of a
// volume of a storage, or the plugin's die for a name it cannot parse.
func parseVolname(volid string) (string, error) {
	sid, name, ok := parseVolumeID(volid)
	if !ok {
		return "", Errorf(http.StatusInternalServerError, "unable to parse volume ID '%s'", volid)
	}
	s := storageDefOf(sid)
	if s == nil {
		return "", errNoStorage(sid)
	}
	switch s.typ {
	case "lvmthin":
		if !lvmVolnameRE.MatchString(name) {
			return "", Errorf(http.StatusInternalServerError, "unable to parse lvm volume name '%s'", name)
		}
		return "images", nil
	default:
		switch {
		case dirISORE.MatchString(name):
			return "iso", nil
		case dirTmplRE.MatchString(name):
			return "vztmpl", nil
		case dirImageRE.MatchString(name):
			return "images", nil
		case dirSnippetRE.MatchString(name):
			return "snippets", nil
		case dirBackupRE.MatchString(name):
			return "backup", nil
		case dirImportRE.MatchString(name):
			return "import", nil
		}
		return "", Errorf(http.StatusInternalServerError, "unable to parse directory volume name '%s'", name)
	}
}

// roundExtent rounds a size up to whole LVM extents.
func roundExtent(size uint64) uint64 {
	if size == 0 {
		return lvmExtent
	}
	return (size + lvmExtent - 1) / lvmExtent * lvmExtent
}

// freeDiskName is find_free_diskname: the first vm-<vmid>-disk-N that
// neither a vm- nor a base- volume of vmid uses on that storage.
func (ns *nodeStorage) freeDiskName(storage string, vmid int, reserved map[string]bool) string {
	for i := 0; ; i++ {
		vm := fmt.Sprintf("vm-%d-disk-%d", vmid, i)
		base := fmt.Sprintf("base-%d-disk-%d", vmid, i)
		if ns.vols[storage+":"+vm] == nil && ns.vols[storage+":"+base] == nil && !reserved[storage+":"+vm] {
			return vm
		}
	}
}

// alloc allocates a volume (vdisk_alloc on lvmthin) and returns it with
// the line lvcreate prints.
func (ns *nodeStorage) alloc(storage, name string, vmid int, size, used uint64, now time.Time) (*volume, string) {
	v := &volume{storage: storage, name: name, content: "images", format: "raw", size: roundExtent(size), used: used, vmid: vmid, ctime: now.Unix()}
	ns.vols[v.volid()] = v
	return v, fmt.Sprintf("  Logical volume \"%s\" created.", name)
}

// free removes a volume (vdisk_free) and returns the line lvremove prints.
func (ns *nodeStorage) free(volid string) string {
	v := ns.vols[volid]
	delete(ns.vols, volid)
	if v == nil {
		return ""
	}
	return fmt.Sprintf("  Logical volume \"%s\" successfully removed.", v.name)
}

// baseInUse reports whether a linked clone still uses a base volume
// (volume_is_base_and_used).
func (ns *nodeStorage) baseInUse(volid string) bool {
	for _, v := range ns.vols {
		if v.parent != "" && v.parent == volid {
			return true
		}
	}
	return false
}

// status is the storage_info entry of a storage: type, content, total,
// used, avail, shared, active, enabled.
func (p *PVE) storageStatusLocked(n *node, s *storageDef) map[string]any {
	var total, used uint64
	switch s.typ {
	case "lvmthin":
		total = thinPoolSize
		for _, v := range n.storage.vols {
			if v.storage == s.id {
				used += v.used
			}
		}
	default:
		total, used = n.rootTotal, n.rootUsed()
	}
	return map[string]any{
		"type":    s.typ,
		"content": strings.Join(s.content, ","),
		"total":   total,
		"used":    used,
		"avail":   total - min(used, total),
		"shared":  boolInt(s.shared),
		"active":  1,
		"enabled": 1,
	}
}

func (p *PVE) registerStorageRoutes() {
	p.Handle(http.MethodGet, "/storage", p.listStorageConfig)
	p.Handle(http.MethodGet, "/storage/{storage}", p.getStorageConfig)
	p.Handle(http.MethodGet, "/nodes/{node}/storage", p.listNodeStorage)
	p.Handle(http.MethodGet, "/nodes/{node}/storage/{storage}", func(*Request) (any, error) {
		out := []map[string]any{}
		for _, d := range []string{"content", "download-url", "file-restore", "import-metadata", "oci-registry-pull", "prunebackups", "rrd", "rrddata", "status", "upload"} {
			out = append(out, map[string]any{"subdir": d})
		}
		return out, nil
	})
	p.Handle(http.MethodGet, "/nodes/{node}/storage/{storage}/status", p.storageStatus)
	p.Handle(http.MethodGet, "/nodes/{node}/storage/{storage}/content", p.storageContent)
}

// storageConfigEntry is $api_storage_config: the section of storage.cfg
// plus its ID and the file's digest.
func storageConfigEntry(s *storageDef) map[string]any {
	sum := sha1.Sum([]byte(storageCfgText()))
	m := map[string]any{
		"storage": s.id,
		"type":    s.typ,
		"content": strings.Join(s.content, ","),
		"digest":  hex.EncodeToString(sum[:]),
	}
	switch s.typ {
	case "dir":
		m["path"] = s.path
	case "lvmthin":
		m["vgname"], m["thinpool"] = s.vgname, s.thinpool
	}
	if s.shared {
		m["shared"] = 1
	}
	return m
}

// listStorageConfig serves GET /storage.
func (p *PVE) listStorageConfig(r *Request) (any, error) {
	typ, _ := r.String("type")
	out := []map[string]any{}
	for i := range labStorages {
		if typ != "" && labStorages[i].typ != typ {
			continue
		}
		out = append(out, storageConfigEntry(&labStorages[i]))
	}
	return out, nil
}

// getStorageConfig serves GET /storage/{storage}.
func (p *PVE) getStorageConfig(r *Request) (any, error) {
	s := storageDefOf(r.PathParams["storage"])
	if s == nil {
		return nil, errNoStorage(r.PathParams["storage"])
	}
	return storageConfigEntry(s), nil
}

// listNodeStorage serves GET /nodes/{node}/storage (Status index).
func (p *PVE) listNodeStorage(r *Request) (any, error) {
	only, _ := r.String("storage")
	contents := []string{}
	if c, ok := r.String("content"); ok {
		contents = splitList(c)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.settleLocked(time.Now())
	n := p.nodeLocked(r.PathParams["node"])
	res := map[string]map[string]any{}
	for i := range labStorages {
		s := &labStorages[i]
		if len(contents) > 0 && !slices.ContainsFunc(contents, s.hasContent) {
			continue
		}
		d := p.storageStatusLocked(n, s)
		d["used_fraction"] = float64(d["used"].(uint64)) / float64(d["total"].(uint64))
		res[s.id] = d
	}
	if only != "" && res[only] == nil {
		return nil, ParamError(map[string]string{"storage": "No such storage."})
	}
	out := []map[string]any{}
	for _, id := range slices.Sorted(maps.Keys(res)) {
		if only != "" && id != only {
			continue
		}
		res[id]["storage"] = id
		out = append(out, res[id])
	}
	return out, nil
}

// storageStatus serves GET /nodes/{node}/storage/{storage}/status.
func (p *PVE) storageStatus(r *Request) (any, error) {
	s := storageDefOf(r.PathParams["storage"])
	if s == nil {
		return nil, ParamError(map[string]string{"storage": "No such storage."})
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.settleLocked(time.Now())
	return p.storageStatusLocked(p.nodeLocked(r.PathParams["node"]), s), nil
}

// storageContent serves GET /nodes/{node}/storage/{storage}/content
// (PVE::Storage::volume_list).
func (p *PVE) storageContent(r *Request) (any, error) {
	s := storageDefOf(r.PathParams["storage"])
	if s == nil {
		return nil, errNoStorage(r.PathParams["storage"])
	}
	ct, _ := r.String("content")
	vmid, err := r.Int("vmid", 0)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.settleLocked(time.Now())
	n := p.nodeLocked(r.PathParams["node"])
	out := []map[string]any{}
	for _, volid := range slices.Sorted(maps.Keys(n.storage.vols)) {
		v := n.storage.vols[volid]
		if v.storage != s.id || !s.hasContent(v.content) {
			continue
		}
		if ct != "" && v.content != ct {
			continue
		}
		if vmid != 0 && v.vmid != int(vmid) {
			continue
		}
		e := map[string]any{"volid": volid, "content": v.content, "format": v.format, "size": v.size, "ctime": v.ctime}
		if v.content == "images" {
			e["vmid"] = v.vmid
		}
		out = append(out, e)
	}
	return out, nil
}
