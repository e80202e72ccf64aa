package pvesim

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/perl"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/pveschema"
)

// Cluster resource mappings of PCI and USB devices, as pve-manager's
// PVE/API2/Cluster/Mapping{,/PCI,/USB}.pm serve them and pve-guest-common's
// PVE/Mapping/PCI.pm and USB.pm keep them: section config files
// /etc/pve/mapping/pci.cfg and usb.cfg, written and read back with
// PVE::SectionConfig's rules (a header line with the ID, then one
// "\t<key> <value>" line per option; the required "map" first, one line per
// entry, then the optional keys sorted; booleans as 0/1; empty strings left
// out). The lab keeps the text of each file; every call parses it, like
// cfs_read_file does, and the digest is the SHA1 of the text.
//
// Deleting a mapping that a VM uses is allowed: the API does not look at
// guest configs (the VM then fails to start, see qemu_devices.go).

// mappingKind describes one mapping type.
type mappingKind struct {
	name     string   // "pci", "usb"
	booleans []string // optional boolean options
	checks   string   // key of the check-node diagnostics in the list
}

var (
	pciMappingKind = &mappingKind{name: "pci", booleans: []string{"live-migration-capable", "mdev"}, checks: "checks"}
	// PVE::API2::Cluster::Mapping::USB puts its diagnostics under "errors"
	// (the schema documents "error").
	usbMappingKind = &mappingKind{name: "usb", checks: "errors"}
	// Directory mappings (virtiofs) can only be read: creating one needs
	// the node's file system, which the lab does not model.
	dirMappingKind = &mappingKind{name: "dir", checks: "checks"}
	mappingKinds   = map[string]*mappingKind{"pci": pciMappingKind, "usb": usbMappingKind, "dir": dirMappingKind}
)

// cfsFile is the file below /etc/pve.
func (k *mappingKind) cfsFile() string {
	if k == dirMappingKind {
		return "mapping/directory.cfg"
	}
	return "mapping/" + k.name + ".cfg"
}

// lockError is lock_<kind>_config's die when pmxcfs does not grant the
// lock (cfs_lock_file's lock ID is the file name with '.' and '/' as '_').
func (k *mappingKind) lockError(prefix string) string {
	id := strings.NewReplacer(".", "_", "/", "_").Replace(k.cfsFile())
	return fmt.Sprintf("%s: cfs-lock 'file-%s' error: got lock request timeout", prefix, id)
}

// option reports whether key is an option of the kind and whether it is
// optional (only "map" is required).
func (k *mappingKind) option(key string) (known, optional bool) {
	switch {
	case key == "map":
		return true, false
	case key == "description", slices.Contains(k.booleans, key):
		return true, true
	}
	return false, false
}

func (k *mappingKind) isBoolean(key string) bool { return slices.Contains(k.booleans, key) }

// mappingSection is one mapping: its ID, the "map" entries (property
// strings, as given) and the other options (booleans as "0"/"1").
type mappingSection struct {
	id   string
	maps []string
	opts map[string]string
}

// mappingConfig is a parsed mapping file.
type mappingConfig struct {
	kind     *mappingKind
	sections []*mappingSection // in file order
	digest   string
}

func (c *mappingConfig) get(id string) *mappingSection {
	for _, s := range c.sections {
		if s.id == id {
			return s
		}
	}
	return nil
}

var (
	sectionHeaderRE = regexp.MustCompile(`^(\S+)\s*$`)
	sectionPropRE   = regexp.MustCompile(`^\s+(\S+)(\s+(.*\S))?\s*$`)
	commentLineRE   = regexp.MustCompile(`^\s*#`)
)

// parseMappingConfig is PVE::SectionConfig::parse_config with the mapping
// plugins' section header (just the ID). A section without "map" is
// skipped (check_config finds the required option missing).
func parseMappingConfig(k *mappingKind, raw string) *mappingConfig {
	sum := sha1.Sum([]byte(raw))
	cfg := &mappingConfig{kind: k, digest: hex.EncodeToString(sum[:])}
	lines := perl.Lines(raw)
	next := func() (string, bool) {
		for len(lines) > 0 {
			l := lines[0]
			lines = lines[1:]
			if !commentLineRE.MatchString(l) {
				return l, true
			}
		}
		return "", false
	}
	for len(lines) > 0 {
		line, ok := next()
		if !ok || line == "" || line == "0" {
			continue
		}
		m := sectionHeaderRE.FindStringSubmatch(line)
		if m == nil {
			continue // "ignore config line"
		}
		s := &mappingSection{id: m[1], opts: map[string]string{}}
		skip := pveschema.CheckFormat("pve-configid", s.id) != ""
		hasMap := false
		for {
			line, ok := next()
			if !ok || line == "" || line == "0" {
				break
			}
			if skip {
				continue
			}
			pm := sectionPropRE.FindStringSubmatch(line)
			if pm == nil {
				continue
			}
			key, value, defined := pm[1], pm[3], pm[2] != ""
			known, _ := k.option(key)
			switch {
			case !known:
			case key == "map":
				if defined {
					s.maps = append(s.maps, value)
					hasMap = true
				}
			case s.hasOpt(key):
				// "duplicate attribute"
			case k.isBoolean(key):
				if !defined {
					value = "1"
				}
				if value == "0" || value == "1" { // else "type check ('boolean') failed"
					s.opts[key] = value
				}
			case defined:
				s.opts[key] = value
			}
		}
		if !skip && hasMap {
			cfg.sections = append(cfg.sections, s)
		}
	}
	return cfg
}

func (s *mappingSection) hasOpt(key string) bool {
	_, ok := s.opts[key]
	return ok
}

// text is PVE::SectionConfig::write_config for the mapping plugins.
func (c *mappingConfig) text() string {
	var b strings.Builder
	for _, s := range c.sections {
		b.WriteString(s.id + "\n")
		for _, m := range s.maps {
			b.WriteString("\tmap " + m + "\n")
		}
		for _, key := range slices.Sorted(maps.Keys(s.opts)) {
			v := s.opts[key]
			if c.kind.isBoolean(key) {
				b.WriteString("\t" + key + " " + perl.BoolString(perl.Truthy(v)) + "\n")
			} else if v != "" {
				b.WriteString("\t" + key + " " + v + "\n")
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// view is the section as the API returns it: type, map and the options,
// booleans as numbers.
func (s *mappingSection) view(k *mappingKind) map[string]any {
	maps := s.maps
	if maps == nil {
		maps = []string{}
	}
	out := map[string]any{"type": k.name, "map": slices.Clone(maps)}
	for key, v := range s.opts {
		if k.isBoolean(key) {
			n, _ := strconv.Atoi(v)
			out[key] = n
		} else {
			out[key] = v
		}
	}
	return out
}

// --- lab state -----------------------------------------------------------

// mappingConfigLocked reads /etc/pve/mapping/<kind>.cfg. The caller holds p.mu.
func (p *PVE) mappingConfigLocked(k *mappingKind) *mappingConfig {
	return parseMappingConfig(k, p.mappingFiles[k.name])
}

// writeMappingConfigLocked writes the file back. The caller holds p.mu.
func (p *PVE) writeMappingConfigLocked(cfg *mappingConfig) {
	p.mappingFiles[cfg.kind.name] = cfg.text()
}

// mappingEntryKeys are the keys of a "map" entry of each kind.
var mappingEntryKeys = map[string][]string{
	"pci": {"node", "id", "subsystem-id", "path", "iommugroup", "description"},
	"usb": {"node", "id", "path", "description"},
	"dir": {"node", "path"},
}

// parseMappingEntry parses a "map" property string
// ("node=pve1,path=0000:01:00.0,id=10de:2204,iommugroup=2"); entries that
// do not parse (parse_property_string dies) are nil.
func parseMappingEntry(kind, s string) map[string]string {
	keys := mappingEntryKeys[kind]
	out := map[string]string{}
	for _, part := range strings.Split(s, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok || v == "" || !slices.Contains(keys, k) {
			return nil
		}
		if _, dup := out[k]; dup {
			return nil
		}
		out[k] = v
	}
	if out["node"] == "" || (kind != "dir" && out["id"] == "") || (kind != "usb" && out["path"] == "") {
		return nil
	}
	return out
}

// nodeMappingsLocked is get_node_mapping: the parsed entries of mapping id
// (kind "pci" or "usb") for node, in the order of the map. ok is false
// when the mapping does not exist. Other lab code (VM start, migration)
// uses it to resolve mappings. The caller holds p.mu.
func (p *PVE) nodeMappingsLocked(kind, id, node string) (entries []map[string]string, ok bool) {
	k := mappingKinds[kind]
	if k == nil {
		return nil, false
	}
	s := p.mappingConfigLocked(k).get(id)
	if s == nil {
		return nil, false
	}
	return nodeEntries(kind, s, node), true
}

func nodeEntries(kind string, s *mappingSection, node string) []map[string]string {
	var out []map[string]string
	for _, m := range s.maps {
		if e := parseMappingEntry(kind, m); e != nil && e["node"] == node {
			out = append(out, e)
		}
	}
	return out
}

// mappingLocked returns mapping id of kind, or nil. The caller holds p.mu.
func (p *PVE) mappingLocked(kind, id string) *mappingSection {
	k := mappingKinds[kind]
	if k == nil {
		return nil
	}
	return p.mappingConfigLocked(k).get(id)
}

// assertPCIMapping is PVE::Mapping::PCI::assert_valid for an entry of
// mapping name on node n. cfg is the mapping (its mdev flag is compared
// with the device's), nil to skip that check. It returns the die message
// ("" when valid).
func assertPCIMapping(n *node, name string, entry map[string]string, cfg *mappingSection) string {
	var paths []string
	if entry["path"] != "" {
		paths = strings.Split(entry["path"], ";")
	}
	for idx, path := range paths {
		if !pciFunctionRE.MatchString(path) {
			path += ".0" // whole device: use the first function
		}
		info := pciDeviceInfo(n, path)
		if info == nil {
			return fmt.Sprintf("pci device '%s' not found\n", path)
		}
		expected := map[string]*string{
			"id":           ptr(strings.TrimPrefix(info.Vendor, "0x") + ":" + strings.TrimPrefix(info.Device, "0x")),
			"iommugroup":   ptr(strconv.Itoa(info.IOMMUGroup)),
			"subsystem-id": nil,
		}
		if info.SubVendor != "" && info.SubDevice != "" {
			expected["subsystem-id"] = ptr(strings.TrimPrefix(info.SubVendor, "0x") + ":" + strings.TrimPrefix(info.SubDevice, "0x"))
		}
		configured := map[string]*string{}
		for _, k := range []string{"id", "iommugroup", "subsystem-id"} {
			if v, ok := entry[k]; ok {
				configured[k] = ptr(v)
			}
		}
		if cfg != nil {
			expected["mdev"] = ptr(perl.BoolString(info.Mdev))
			configured["mdev"] = ptr(perl.BoolString(perl.Truthy(cfg.opts["mdev"])))
		}
		for _, prop := range slices.Sorted(maps.Keys(expected)) {
			if prop == "iommugroup" && idx > 0 {
				continue // the IOMMU group is checked on the first device only
			}
			exp, conf := expected[prop], configured[prop]
			switch {
			case exp == nil && conf == nil:
				continue
			case exp != nil && conf == nil:
				return fmt.Sprintf("missing expected property '%s' for device '%s'\n", prop, path)
			case exp == nil && conf != nil:
				return fmt.Sprintf("unexpected property '%s' configured for device '%s'\n", prop, path)
			}
			e, c := strings.ReplaceAll(*exp, "0x", ""), strings.ReplaceAll(*conf, "0x", "")
			if e != c {
				return fmt.Sprintf("'%s' does not match for '%s' (%s != %s)\n", prop, name, e, c)
			}
		}
	}
	return ""
}

// assertUSBMapping is PVE::Mapping::USB::assert_valid: with a path the
// device at that port must have the configured id, without one a device
// with that id must be plugged in.
func assertUSBMapping(n *node, name string, entry map[string]string) string {
	id := entry["id"]
	if path := entry["path"]; path != "" && path != "0" {
		d := usbDeviceByPath(n, path)
		if d == nil {
			return fmt.Sprintf("usb device '%s' not found\n", path)
		}
		if real := d.VendID + ":" + d.ProdID; real != id {
			return fmt.Sprintf("'id' does not match for '%s' (%s != %s)\n", name, real, id)
		}
		return ""
	}
	if usbDeviceByID(n, id) == nil {
		return fmt.Sprintf("usb device '%s' not found\n", id)
	}
	return ""
}

func ptr(s string) *string { return &s }

// --- routes --------------------------------------------------------------

func (p *PVE) registerMappingRoutes() {
	p.mappingFiles = map[string]string{}
	p.Handle(http.MethodGet, "/cluster/mapping", func(*Request) (any, error) {
		return []map[string]any{{"name": "dir"}, {"name": "pci"}, {"name": "usb"}}, nil
	})
	for _, k := range []*mappingKind{pciMappingKind, usbMappingKind} {
		base := "/cluster/mapping/" + k.name
		p.Handle(http.MethodGet, base, p.listMappings(k))
		p.Handle(http.MethodPost, base, p.createMapping(k), WithLockMessage(func(*Request) string {
			return k.lockError("create hardware mapping failed")
		}))
		p.Handle(http.MethodGet, base+"/{id}", p.getMapping(k))
		p.Handle(http.MethodPut, base+"/{id}", p.updateMapping(k), WithLockMessage(func(*Request) string {
			return k.lockError("update hardware mapping failed")
		}))
		p.Handle(http.MethodDelete, base+"/{id}", p.deleteMapping(k), WithLockMessage(func(*Request) string {
			return k.lockError("delete " + k.name + " mapping failed")
		}))
	}
	p.Handle(http.MethodGet, "/cluster/mapping/dir", p.listMappings(dirMappingKind))
	p.Handle(http.MethodGet, "/cluster/mapping/dir/{id}", p.getMapping(dirMappingKind))
}

// listMappings serves GET /cluster/mapping/<kind> (index). With check-node
// the call is proxied to that node, which checks its entries of every
// mapping against its hardware.
func (p *PVE) listMappings(k *mappingKind) HandlerFunc {
	return func(r *Request) (any, error) {
		checkNode, check := r.String("check-node")
		p.mu.Lock()
		defer p.mu.Unlock()
		var n *node
		if check {
			if checkNode == "localhost" {
				n = p.nodeLocked(r.LocalNode)
			} else if n = p.nodeLocked(checkNode); n == nil {
				return nil, Errorf(http.StatusInternalServerError, "hostname lookup '%s' failed - failed to get address info for: %s: Name or service not known", checkNode, checkNode)
			}
		}
		cfg := p.mappingConfigLocked(k)
		out := []map[string]any{}
		for _, s := range cfg.sections {
			e := s.view(k)
			e["id"], e["digest"] = s.id, cfg.digest
			if check {
				checks := []map[string]any{}
				entries := nodeEntries(k.name, s, checkNode)
				if len(entries) == 0 {
					checks = append(checks, map[string]any{"severity": "warning", "message": fmt.Sprintf("No mapping for node %s.", checkNode)})
				}
				for _, entry := range entries {
					var msg string
					switch k {
					case pciMappingKind:
						msg = assertPCIMapping(n, s.id, entry, s)
					case usbMappingKind:
						msg = assertUSBMapping(n, s.id, entry)
					}
					if msg != "" {
						checks = append(checks, map[string]any{"severity": "error", "message": "Invalid configuration: " + msg})
					}
				}
				e[k.checks] = checks
			}
			out = append(out, e)
		}
		return out, nil
	}
}

// getMapping serves GET /cluster/mapping/<kind>/{id}: the section and the
// digest of the file.
func (p *PVE) getMapping(k *mappingKind) HandlerFunc {
	return func(r *Request) (any, error) {
		id := r.PathParams["id"]
		p.mu.Lock()
		defer p.mu.Unlock()
		cfg := p.mappingConfigLocked(k)
		s := cfg.get(id)
		if s == nil {
			return nil, Errorf(http.StatusInternalServerError, "mapping '%s' not found", id)
		}
		out := s.view(k)
		out["digest"] = cfg.digest
		return out, nil
	}
}

// mappingSettings is the plugin's check_config(id, param, 1, 1) on the
// parameters of a create or update: values are checked for line feeds and
// booleans normalised, and "map" is required (also for updates: the API
// calls check_config with create set).
func mappingSettings(k *mappingKind, r *Request) (*mappingSection, error) {
	s := &mappingSection{opts: map[string]string{}}
	for _, key := range slices.Sorted(maps.Keys(r.Params)) {
		switch key {
		case "id", "digest", "delete":
			continue
		}
		v := r.Params[key]
		if known, _ := k.option(key); !known {
			return nil, fmt.Errorf("unexpected property '%s'\n", key)
		}
		if v == nil {
			return nil, fmt.Errorf("got undefined value for option '%s'\n", key)
		}
		if key == "map" {
			list, ok := v.([]any)
			if !ok {
				list = []any{v}
			}
			s.maps = []string{}
			for _, e := range list {
				str, _ := perl.Scalar(e)
				s.maps = append(s.maps, str)
			}
			continue
		}
		str, _ := r.String(key)
		if strings.ContainsAny(str, "\n\r") {
			return nil, fmt.Errorf("property contains a line feed\n")
		}
		if k.isBoolean(key) {
			if b, ok := pveschema.ParseBoolean(str); ok {
				str = b
			}
			str = perl.BoolString(perl.Truthy(str))
		}
		s.opts[key] = str
	}
	if s.maps == nil {
		return nil, fmt.Errorf("missing value for required option 'map'\n")
	}
	return s, nil
}

// createMapping serves POST /cluster/mapping/<kind> (create).
func (p *PVE) createMapping(k *mappingKind) HandlerFunc {
	return func(r *Request) (any, error) {
		id, _ := r.String("id")
		s, err := mappingSettings(k, r)
		if err != nil {
			return nil, Errorf(http.StatusInternalServerError, "%s", err.Error())
		}
		s.id = id
		p.mu.Lock()
		defer p.mu.Unlock()
		cfg := p.mappingConfigLocked(k)
		if cfg.get(id) != nil {
			return nil, Errorf(http.StatusInternalServerError, "create hardware mapping failed: %s ID '%s' already defined", k.name, id)
		}
		cfg.sections = append(cfg.sections, s)
		p.writeMappingConfigLocked(cfg)
		return nil, nil
	}
}

// updateMapping serves PUT /cluster/mapping/<kind>/{id} (update): digest
// check, then the settings, then SectionConfig::delete_from_config for the
// "delete" list. Every error inside the config lock is prefixed
// "update hardware mapping failed: ".
func (p *PVE) updateMapping(k *mappingKind) HandlerFunc {
	return func(r *Request) (any, error) {
		id := r.PathParams["id"]
		digest, hasDigest := r.String("digest")
		deleteStr, _ := r.String("delete")
		fail := func(format string, args ...any) error {
			return Errorf(http.StatusInternalServerError, "update hardware mapping failed: "+format, args...)
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		cfg := p.mappingConfigLocked(k)
		if hasDigest && digest != "" && digest != cfg.digest {
			return nil, fail("detected modified configuration - file changed by other user? Try again.")
		}
		s := cfg.get(id)
		if s == nil {
			return nil, fail("%s ID '%s' does not exist", k.name, id)
		}
		settings, err := mappingSettings(k, r)
		if err != nil {
			return nil, fail("%s", err.Error())
		}
		for _, key := range pveschema.SplitList(deleteStr) {
			known, optional := k.option(key)
			_, set := settings.opts[key]
			switch {
			case !known:
				return nil, fail("no such option '%s'", key)
			case !optional:
				return nil, fail("unable to delete required option '%s'", key)
			case set:
				return nil, fail("cannot set and delete property '%s' at the same time!", key)
			}
			delete(s.opts, key)
		}
		s.maps = settings.maps
		for key, v := range settings.opts {
			s.opts[key] = v
		}
		p.writeMappingConfigLocked(cfg)
		return nil, nil
	}
}

// deleteMapping serves DELETE /cluster/mapping/<kind>/{id}: removing a
// mapping that does not exist is no error, and guests using it are not
// checked.
func (p *PVE) deleteMapping(k *mappingKind) HandlerFunc {
	return func(r *Request) (any, error) {
		id := r.PathParams["id"]
		p.mu.Lock()
		defer p.mu.Unlock()
		cfg := p.mappingConfigLocked(k)
		cfg.sections = slices.DeleteFunc(cfg.sections, func(s *mappingSection) bool { return s.id == id })
		p.writeMappingConfigLocked(cfg)
		return nil, nil
	}
}
