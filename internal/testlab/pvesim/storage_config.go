package pvesim

import (
	"crypto/sha1"
	"encoding/hex"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/perl"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/pveschema"
)

// /etc/pve/storage.cfg as PVE::Storage keeps it: a section config that
// belongs to a cluster (or to a standalone node), read and parsed on every
// use (PVE::Storage::Plugin::parse_config fills in the plugin's default
// content and "shared" for shared types) and written back whole by
// PVE::SectionConfig::write_config after a change. Its SHA-1 is the
// digest. Secrets live beside it in /etc/pve/priv/storage/<id>.pw, .enc and
// .master.pem and are never returned. PVE::API2::Storage::Config serves
// /storage: create checks the options against the type's plugin, stores the
// secrets, activates the storage on the local node when it is enabled there
// (a PBS storage connects to its server: see storage_pbs.go) and writes the
// file; update does not activate; delete removes the secrets too.
//
// The lab models the types dir, lvmthin and pbs. Other types are accepted
// by the schema but cannot be activated: their servers do not exist in the
// lab ("storage '<id>' is not online", PVE::Storage::activate_storage's
// text for a storage whose check_connection fails).
//
// This file holds storage.cfg itself (PVE::Storage::Plugin's parse_config,
// PVE::SectionConfig::write_config, the plugins' options, the cfs lock and
// the files below /etc/pve/priv/storage); the /storage API is in
// storage_config_routes.go, the PBS plugin's hooks in storage_pbs_hooks.go.

// storageSection is one section of storage.cfg, its values as written.
type storageSection struct {
	id   string
	typ  string
	opts map[string]string
}

// storageConfig is a parsed storage.cfg.
type storageConfig struct {
	sections []*storageSection
	digest   string
}

func (c *storageConfig) get(id string) *storageSection {
	for _, s := range c.sections {
		if s.id == id {
			return s
		}
	}
	return nil
}

// storageOption is an entry of a plugin's options().
type storageOption struct {
	optional bool
	fixed    bool
}

var (
	optFixed    = storageOption{fixed: true}
	optOptional = storageOption{optional: true}
)

// storagePlugins are the options() of the plugins the lab models
// (DirPlugin.pm, LvmThinPlugin.pm, PBSPlugin.pm).
var storagePlugins = map[string]map[string]storageOption{
	"dir": {
		"path": optFixed, "content-dirs": optOptional, "nodes": optOptional, "shared": optOptional,
		"disable": optOptional, "prune-backups": optOptional, "max-protected-backups": optOptional,
		"content": optOptional, "format": optOptional, "mkdir": optOptional, "create-base-path": optOptional,
		"create-subdirs": optOptional, "is_mountpoint": optOptional, "bwlimit": optOptional,
		"preallocation": optOptional, "snapshot-as-volume-chain": {optional: true, fixed: true},
	},
	"lvmthin": {
		"thinpool": optFixed, "vgname": optFixed, "nodes": optOptional, "disable": optOptional,
		"content": optOptional, "bwlimit": optOptional,
	},
	"pbs": {
		"server": optFixed, "datastore": optFixed, "namespace": optOptional, "port": optOptional,
		"nodes": optOptional, "disable": optOptional, "content": optOptional, "username": optOptional,
		"password": optOptional, "encryption-key": optOptional, "master-pubkey": optOptional,
		"prune-backups": optOptional, "max-protected-backups": optOptional, "fingerprint": optOptional,
	},
}

// storageContentTypes are the plugins' plugindata content: the valid
// types and the default.
var storageContentTypes = map[string][2][]string{
	"dir":     {{"images", "rootdir", "vztmpl", "iso", "backup", "snippets", "none", "import"}, {"images", "rootdir"}},
	"lvmthin": {{"images", "rootdir"}, {"images", "rootdir"}},
	"pbs":     {{"backup", "none"}, {"backup"}},
}

// storageSensitive are the plugins' sensitive-properties.
var storageSensitive = map[string][]string{
	"pbs": {"encryption-key", "master-pubkey", "password"},
}

// sharedStorageTypes is PVE::Storage::Plugin's @SHARED_STORAGE.
var sharedStorageTypes = []string{"iscsi", "nfs", "cifs", "rbd", "cephfs", "iscsidirect", "zfs", "drbd", "pbs"}

// storageBooleans and storageIntegers are the options whose values PVE
// keeps as numbers (check_value adds 0), so the API returns them as such.
var (
	storageBooleans = map[string]bool{
		"disable": true, "shared": true, "mkdir": true, "create-base-path": true, "create-subdirs": true,
		"krbd": true, "fuse": true, "sparse": true, "nowritecache": true, "tagged_only": true,
		"saferemove": true, "nocow": true, "snapshot-as-volume-chain": true, "skip-cert-verification": true,
	}
	storageIntegers = map[string]bool{"port": true, "max-protected-backups": true, "saferemove-stepsize": true}
)

// parseStorageConfig is PVE::Storage::Plugin::parse_config.
func parseStorageConfig(raw string) *storageConfig {
	sum := sha1.Sum([]byte(raw))
	cfg := &storageConfig{digest: hex.EncodeToString(sum[:])}
	var cur *storageSection
	for _, line := range perl.Lines(raw) {
		if commentLineRE.MatchString(line) {
			continue
		}
		if strings.TrimSpace(line) == "" {
			cur = nil
			continue
		}
		if cur == nil {
			m := haHeaderRE.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			cur = &storageSection{typ: m[1], id: m[2], opts: map[string]string{}}
			cfg.sections = append(cfg.sections, cur)
			continue
		}
		m := sectionPropRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		key, value := m[1], m[3]
		if m[2] == "" {
			if !storageBooleans[key] {
				continue
			}
			value = "1"
		}
		cur.opts[key] = value
	}
	for _, s := range cfg.sections {
		if def, ok := storageContentTypes[s.typ]; ok && s.opts["content"] == "" {
			s.opts["content"] = strings.Join(def[1], ",")
		}
		if slices.Contains(sharedStorageTypes, s.typ) {
			s.opts["shared"] = "1"
		}
	}
	return cfg
}

// writeStorageConfig is PVE::SectionConfig::write_config: the header, the
// comment, "disable" when set, the required options sorted, then the
// optional ones sorted; booleans as 0/1, empty values left out. A type the
// lab has no option table for writes all its values, sorted.
func writeStorageConfig(cfg *storageConfig) string {
	var b strings.Builder
	for _, s := range cfg.sections {
		b.WriteString(s.typ + ": " + s.id + "\n")
		if v := s.opts["comment"]; v != "" {
			b.WriteString("\tcomment " + v + "\n")
		}
		if perl.Truthy(s.opts["disable"]) {
			b.WriteString("\tdisable\n")
		}
		line := func(k string) {
			v, ok := s.opts[k]
			switch {
			case !ok:
			case storageBooleans[k]:
				b.WriteString("\t" + k + " " + perl.BoolString(perl.Truthy(v)) + "\n")
			case v != "":
				b.WriteString("\t" + k + " " + v + "\n")
			}
		}
		opts, known := storagePlugins[s.typ]
		keys := slices.Sorted(maps.Keys(opts))
		if !known {
			keys = slices.Sorted(maps.Keys(s.opts))
		}
		for _, k := range keys {
			if k != "comment" && k != "disable" && known && !opts[k].optional {
				line(k)
			}
		}
		for _, k := range keys {
			if k != "comment" && k != "disable" && (!known || opts[k].optional) {
				line(k)
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// def is the section as the code using storages sees it.
func (s *storageSection) def() *storageDef {
	d := &storageDef{
		id: s.id, typ: s.typ, path: s.opts["path"], vgname: s.opts["vgname"], thinpool: s.opts["thinpool"],
		shared: perl.Truthy(s.opts["shared"]), disabled: perl.Truthy(s.opts["disable"]), opts: maps.Clone(s.opts),
	}
	for _, c := range pveschema.SplitList(s.opts["content"]) {
		if c != "none" {
			d.content = append(d.content, c)
		}
	}
	if n := s.opts["nodes"]; n != "" {
		d.nodes = pveschema.SplitList(n)
	}
	return d
}

// readStorageConfig is PVE::Storage::config.
func (p *PVE) readStorageConfig() *storageConfig {
	p.storeMu.Lock()
	defer p.storeMu.Unlock()
	return parseStorageConfig(p.storageCfg)
}

// StorageConfig returns /etc/pve/storage.cfg of this cluster (or
// standalone node).
func (p *PVE) StorageConfig() string {
	p.storeMu.Lock()
	defer p.storeMu.Unlock()
	return p.storageCfg
}

// PrivFile returns a file below /etc/pve/priv/storage of this cluster (or
// standalone node), e.g. "/etc/pve/priv/storage/backup.pw", and whether it
// exists.
func (p *PVE) PrivFile(path string) (string, bool) {
	p.storeMu.Lock()
	defer p.storeMu.Unlock()
	v, ok := p.privFiles[path]
	return v, ok
}

// SetPrivFile writes a file below /etc/pve/priv/storage, as an
// administrator on a node would.
func (p *PVE) SetPrivFile(path, content string) { p.setPrivFile(path, content) }

func (p *PVE) setPrivFile(path, content string) {
	p.storeMu.Lock()
	defer p.storeMu.Unlock()
	p.privFiles[path] = content
}

func (p *PVE) deletePrivFile(path string) {
	p.storeMu.Lock()
	defer p.storeMu.Unlock()
	delete(p.privFiles, path)
}

// lockStorageConfig is PVE::Storage::lock_storage_config: code runs with
// the cfs lock of storage.cfg held; its error is prefixed with errmsg.
// (Lock-contention faults hit the route before, with the same message.)
func (p *PVE) lockStorageConfig(errmsg string, code func(cfg *storageConfig) error) error {
	p.storeLock.Lock()
	defer p.storeLock.Unlock()
	cfg := p.readStorageConfig()
	if err := code(cfg); err != nil {
		return Errorf(http.StatusInternalServerError, "%s: %s", errmsg, strings.TrimSuffix(err.Error(), "\n"))
	}
	return nil
}

// writeStorageConfigLocked is PVE::Storage::write_config. The caller holds
// storeLock.
func (p *PVE) writeStorageConfigLocked(cfg *storageConfig) {
	text := writeStorageConfig(cfg)
	p.storeMu.Lock()
	p.storageCfg = text
	p.storeMu.Unlock()
}
