package pvesim

import (
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/perl"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/pveschema"
)

// The storages of the lab. storage.cfg belongs to a cluster or a
// standalone node (storage_config_routes.go serves /storage); it starts as the PVE
// installer writes it (::Status and ::Content serve the nodes' views):
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
// Both are local (not shared): every node has its own volumes; storages
// added through the API (dir, pbs) start empty. local-lvm
// is an LVM thin pool: allocating a volume reserves no space, only data
// written to it does, so the pool's "used" grows with what guests wrote
// (EFI vars, copied clones), not with the sizes of the disks
// (LvmThinPlugin::status reports the pool's data usage). LVM rounds
// volume sizes up to its 4 MiB extents.

// storageDef is one storage of /etc/pve/storage.cfg as the code using it
// sees it (PVE::Storage::storage_config after parsing).
type storageDef struct {
	id       string
	typ      string // plugin type: dir, lvmthin, pbs, ...
	content  []string
	path     string // dir
	vgname   string // lvmthin
	thinpool string // lvmthin
	shared   bool
	nodes    []string // nil: all nodes
	disabled bool
	opts     map[string]string // every option as written in the file
}

// installerStorageCfg is storage.cfg as the lab's nodes start with it.
const installerStorageCfg = "dir: local\n\tpath /var/lib/vz\n\tcontent backup,import,iso,snippets,vztmpl\n\n" +
	"lvmthin: local-lvm\n\tthinpool data\n\tvgname pve\n\tcontent images,rootdir\n"

// storageDefOf returns the configuration of a storage (nil if there is
// none). It may be called with PVE.mu held.
func (p *PVE) storageDefOf(id string) *storageDef {
	for _, d := range p.storageDefs() {
		if d.id == id {
			return d
		}
	}
	return nil
}

// storageDefs returns the storages in file order.
func (p *PVE) storageDefs() []*storageDef {
	cfg := p.readStorageConfig()
	out := make([]*storageDef, 0, len(cfg.sections))
	for _, sec := range cfg.sections {
		out = append(out, sec.def())
	}
	return out
}

// availableOn reports whether the storage is configured for node
// (storage_check_node).
func (s *storageDef) availableOn(node string) bool {
	return s.nodes == nil || slices.Contains(s.nodes, node)
}

func (s *storageDef) hasContent(ct string) bool { return slices.Contains(s.content, ct) }

// errNoStorage is PVE::Storage::storage_config's die for an unknown storage.
func errNoStorage(id string) error {
	return Errorf(http.StatusInternalServerError, "storage '%s' does not exist", id)
}

// Sizes of the lab's storages.
const (
	thinPoolSize = 348 * gib
	lvmExtent    = 4 << 20 // LVM's default physical extent size
	mib          = uint64(1) << 20
)

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
	parent  string            // linked clones: the base volume they were cloned from
	sums    map[string]string // files (iso, vztmpl, import): hex digests by checksum algorithm
}

func (v *volume) volid() string { return v.storage + ":" + v.name }

// nodeStorage is the content of one node's local storages. Guarded by PVE.mu.
type nodeStorage struct {
	vols map[string]*volume // by volid
}

// newNodeStorage is a node's storage as the installer leaves it: local's
// template/iso and template/cache are empty (a fresh install has no ISO
// image or container template; download-url and upload put them there,
// storage_download.go), local-lvm has no volumes.
func newNodeStorage() *nodeStorage {
	return &nodeStorage{vols: map[string]*volume{}}
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
	// Plugin::parse_volname with Storage.pm's $ISO_EXT_RE_0, $VZTMPL_EXT_RE_1
	// and $IMPORT_EXT_RE_1
	dirISORE     = regexp.MustCompile(`^iso/[^/]+\.(?i:iso|img)$`)
	dirTmplRE    = regexp.MustCompile(`^vztmpl/[^/]+\.(?i:tar|tar\.(?:gz|xz|zst|bz2))$`)
	dirImageRE   = regexp.MustCompile(`^(\d+)/[^/]+$`)
	dirSnippetRE = regexp.MustCompile(`^snippets/[^/]+$`)
	dirBackupRE  = regexp.MustCompile(`^backup/[^/]+$`)
	dirImportRE  = regexp.MustCompile(`^import/[ a-zA-Z0-9\-.+=_]+(\.(ova|ovf|qcow2|raw|vmdk)|\.ova/[ a-zA-Z0-9\-.+=_]+\.(qcow2|raw|vmdk))$`)
	pbsVolnameRE = regexp.MustCompile(`^backup/([^\s_]+)/([^\s_]+)/([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z)$`)
)

// parseVolname is PVE::Storage::parse_volname: the content type of a
// volume of a storage, or the plugin's die for a name it cannot parse.
func (p *PVE) parseVolname(volid string) (string, error) {
	sid, name, ok := parseVolumeID(volid)
	if !ok {
		return "", Errorf(http.StatusInternalServerError, "unable to parse volume ID '%s'", volid)
	}
	s := p.storageDefOf(sid)
	if s == nil {
		return "", errNoStorage(sid)
	}
	switch s.typ {
	case "pbs":
		if !pbsVolnameRE.MatchString(name) {
			return "", Errorf(http.StatusInternalServerError, "unable to parse PBS volume name '%s'", name)
		}
		return "backup", nil
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

// storageStatusLocked is the storage_info entry of a storage on node n:
// type, content, total, used, avail, shared, active, enabled. A disabled
// storage is not activated; a PBS storage asks its server (activation,
// then the datastore's status), and is inactive when that fails. The
// caller holds p.mu.
func (p *PVE) storageStatusLocked(n *node, s *storageDef) map[string]any {
	var total, used, avail uint64
	active := 1
	switch {
	case s.disabled:
		active = 0
	case s.typ == "lvmthin":
		total = thinPoolSize
		for _, v := range n.storage.vols {
			if v.storage == s.id {
				used += v.used
			}
		}
		avail = total - min(used, total)
	case s.typ == "pbs":
		st, err := p.pbsStorageStatus(s)
		if err != nil {
			p.logf("pvesim: storage '%s' on %s: %v", s.id, n.Name, err)
			active = 0
		} else {
			total, used, avail = st[0], st[1], st[2]
		}
	case s.typ == "dir":
		total, used = n.RootTotal, n.RootUsed()
		avail = total - min(used, total)
	default: // a type the lab cannot reach
		active = 0
	}
	return map[string]any{
		"type":    s.typ,
		"content": strings.Join(s.content, ","),
		"total":   total,
		"used":    used,
		"avail":   avail,
		"shared":  perl.BoolInt(s.shared),
		"active":  active,
		"enabled": perl.BoolInt(!s.disabled),
	}
}

func (p *PVE) registerStorageRoutes() {
	p.registerStorageConfigRoutes()
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
	p.registerStorageContentRoutes()
	p.registerStorageDownloadRoutes()
}

// listNodeStorage serves GET /nodes/{node}/storage (Status index over
// storage_info): the storages configured for the node; with a content
// filter only enabled ones with that content.
func (p *PVE) listNodeStorage(r *Request) (any, error) {
	only, _ := r.String("storage")
	contents := []string{}
	if c, ok := r.String("content"); ok {
		contents = pveschema.SplitList(c)
	}
	onlyEnabled := r.Bool("enabled", false)
	defs := p.storageDefs()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.settleLocked(time.Now())
	n := p.nodeLocked(r.PathParams["node"])
	res := map[string]map[string]any{}
	for _, s := range defs {
		if !s.availableOn(n.Name) {
			continue
		}
		if len(contents) > 0 && (s.disabled || !slices.ContainsFunc(contents, s.hasContent)) {
			continue
		}
		if onlyEnabled && s.disabled {
			continue
		}
		d := p.storageStatusLocked(n, s)
		if t := d["total"].(uint64); t > 0 {
			d["used_fraction"] = float64(d["used"].(uint64)) / float64(t)
		}
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
	s := p.storageDefOf(r.PathParams["storage"])
	if s == nil || !s.availableOn(r.PathParams["node"]) {
		return nil, ParamError(map[string]string{"storage": "No such storage."})
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.settleLocked(time.Now())
	return p.storageStatusLocked(p.nodeLocked(r.PathParams["node"]), s), nil
}

// storageContent serves GET /nodes/{node}/storage/{storage}/content
// (PVE::Storage::volume_list). A PBS storage lists the backups of its
// datastore, which the simulated PBS has none of.
func (p *PVE) storageContent(r *Request) (any, error) {
	s := p.storageDefOf(r.PathParams["storage"])
	if s == nil {
		return nil, errNoStorage(r.PathParams["storage"])
	}
	ct, _ := r.String("content")
	vmid, err := r.Int("vmid", 0)
	if err != nil {
		return nil, err
	}
	if s.typ == "pbs" {
		if ct != "" && ct != "backup" {
			return []map[string]any{}, nil
		}
		if err := p.pbsListSnapshots(s); err != nil {
			return nil, Errorf(http.StatusInternalServerError, "%s", err.Error())
		}
		return []map[string]any{}, nil
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
