package testlab

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/perl"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/pveschema"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/sim"
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

func (p *PVE) registerStorageConfigRoutes() {
	p.Handle(http.MethodGet, "/storage", p.listStorageConfig)
	p.Handle(http.MethodPost, "/storage", p.createStorage, WithLockMessage(storageLockMessage("create")))
	p.Handle(http.MethodGet, "/storage/{storage}", p.getStorageConfig)
	p.Handle(http.MethodPut, "/storage/{storage}", p.updateStorage, WithLockMessage(storageLockMessage("update")))
	p.Handle(http.MethodDelete, "/storage/{storage}", p.deleteStorage, WithLockMessage(storageLockMessage("delete")))
}

func storageLockMessage(op string) func(*Request) string {
	return func(*Request) string {
		return op + " storage failed: cfs-lock 'file-storage_cfg' error: got lock request timeout"
	}
}

// apiStorageConfig is $api_storage_config: the section with its ID and the
// file's digest; booleans and integers as numbers.
func apiStorageConfig(cfg *storageConfig, s *storageSection) map[string]any {
	m := map[string]any{"storage": s.id, "type": s.typ, "digest": cfg.digest}
	for k, v := range s.opts {
		if storageBooleans[k] || storageIntegers[k] {
			if n, err := strconv.Atoi(v); err == nil {
				m[k] = n
				continue
			}
		}
		m[k] = v
	}
	return m
}

// listStorageConfig serves GET /storage.
func (p *PVE) listStorageConfig(r *Request) (any, error) {
	typ, _ := r.String("type")
	cfg := p.readStorageConfig()
	out := []map[string]any{}
	for _, s := range cfg.sections {
		if typ != "" && s.typ != typ {
			continue
		}
		out = append(out, apiStorageConfig(cfg, s))
	}
	return out, nil
}

// getStorageConfig serves GET /storage/{storage}.
func (p *PVE) getStorageConfig(r *Request) (any, error) {
	cfg := p.readStorageConfig()
	s := cfg.get(r.PathParams["storage"])
	if s == nil {
		return nil, errNoStorage(r.PathParams["storage"])
	}
	return apiStorageConfig(cfg, s), nil
}

// extractSensitive is PVE::Tools::extract_sensitive_params: the secrets
// of the type leave the parameters (a deleted one maps to nil).
func extractSensitive(params map[string]any, typ string, deletes []string) map[string]*string {
	out := map[string]*string{}
	for _, k := range storageSensitive[typ] {
		if slices.Contains(deletes, k) {
			out[k] = nil
		}
		if v, ok := params[k]; ok && v != nil {
			s, _ := perl.Scalar(v)
			out[k] = &s
			delete(params, k)
		}
	}
	return out
}

// checkStorageConfig is the plugin's check_config(id, param, create, 1):
// every parameter must be an option of the type, fixed ones cannot change,
// values are decoded (content checked against the plugin's types, nodes
// filtered) and, on create, the required options must be there.
func (p *PVE) checkStorageConfig(typ string, params map[string]any, create bool) (map[string]string, error) {
	opts, known := storagePlugins[typ]
	out := map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(params)) {
		if params[k] == nil {
			return nil, fmt.Errorf("got undefined value for option '%s'", k)
		}
		v, ok := perl.Scalar(params[k])
		if !ok {
			return nil, fmt.Errorf("got undefined value for option '%s'", k)
		}
		if known {
			if !create && opts[k].fixed {
				return nil, fmt.Errorf("can't change value of fixed parameter '%s'", k)
			}
			if _, ok := opts[k]; !ok {
				return nil, fmt.Errorf("unexpected property '%s'", k)
			}
		}
		if strings.ContainsAny(v, "\n\r") {
			return nil, fmt.Errorf("property contains a line feed")
		}
		switch {
		case k == "content":
			dec, err := p.decodeStorageContent(typ, v)
			if err != nil {
				return nil, err
			}
			v = dec
		case k == "nodes":
			var nodes []string
			for _, n := range pveschema.SplitList(v) {
				if pveschema.CheckFormat("pve-node", n) == "" {
					nodes = append(nodes, n)
				}
			}
			slices.Sort(nodes)
			v = strings.Join(slices.Compact(nodes), ",")
		case storageBooleans[k]:
			v = perl.BoolString(perl.Truthy(v))
		}
		out[k] = v
	}
	if create && known {
		for _, k := range slices.Sorted(maps.Keys(opts)) {
			if !opts[k].optional && params[k] == nil {
				return nil, fmt.Errorf("missing value for required option '%s'", k)
			}
		}
	}
	return out, nil
}

// decodeStorageContent is decode_value for content: unsupported types are
// dropped with a warning, "none" stands alone.
func (p *PVE) decodeStorageContent(typ, v string) (string, error) {
	ct, known := storageContentTypes[typ]
	var res []string
	for _, c := range pveschema.SplitList(v) {
		if known && !slices.Contains(ct[0], c) {
			p.logf("testlab: storage does not support content type '%s'", c)
			continue
		}
		if !slices.Contains(res, c) {
			res = append(res, c)
		}
	}
	if slices.Contains(res, "none") && len(res) > 1 {
		return "", fmt.Errorf("unable to combine 'none' with other content types")
	}
	if len(res) == 0 {
		if known && !slices.Contains(ct[0], "none") {
			return "", fmt.Errorf("storage does not support content type 'none'")
		}
		return "none", nil
	}
	slices.Sort(res)
	return strings.Join(res, ","), nil
}

// createStorage serves POST /storage (PVE::API2::Storage::Config create).
func (p *PVE) createStorage(r *Request) (any, error) {
	params := map[string]any{}
	for k, v := range r.Params {
		params[k] = v
	}
	typ, _ := r.String("type")
	id, _ := r.String("storage")
	delete(params, "type")
	delete(params, "storage")
	if !perl.Truthy(params["nodes"]) {
		delete(params, "nodes")
	}
	sensitive := extractSensitive(params, typ, nil)
	opts, err := p.checkStorageConfig(typ, params, true)
	if err != nil {
		return nil, Errorf(http.StatusInternalServerError, "%s", err.Error())
	}
	var returned map[string]any
	err = p.lockStorageConfig("create storage failed", func(cfg *storageConfig) error {
		if cfg.get(id) != nil {
			return fmt.Errorf("storage ID '%s' already defined", id)
		}
		sec := &storageSection{id: id, typ: typ, opts: opts}
		cfg.sections = append(cfg.sections, sec)
		ret, err := p.storageOnAddHook(sec, sensitive)
		if err != nil {
			return err
		}
		returned = ret
		if perl.Truthy(opts["disable"]) || (opts["nodes"] != "" && !slices.Contains(pveschema.SplitList(opts["nodes"]), r.LocalNode)) {
			p.writeStorageConfigLocked(cfg)
			return nil
		}
		if err := p.activateStorage(sec.def()); err != nil {
			p.storageOnDeleteHook(sec)
			return err
		}
		p.writeStorageConfigLocked(cfg)
		return nil
	})
	if err != nil {
		return nil, err
	}
	res := map[string]any{"storage": id, "type": typ}
	if len(returned) > 0 {
		res["config"] = returned
	}
	return res, nil
}

// updateStorage serves PUT /storage/{storage} (update). Unlike create it
// does not activate the storage.
func (p *PVE) updateStorage(r *Request) (any, error) {
	params := map[string]any{}
	for k, v := range r.Params {
		params[k] = v
	}
	id := r.PathParams["storage"]
	digest, _ := r.String("digest")
	delete(params, "storage")
	delete(params, "digest")
	delete(params, "delete")
	var deletes []string
	if d, ok := r.String("delete"); ok {
		deletes = pveschema.SplitList(d)
	}
	var typ string
	var returned map[string]any
	err := p.lockStorageConfig("update storage failed", func(cfg *storageConfig) error {
		if digest != "" && digest != cfg.digest {
			return fmt.Errorf("detected modified configuration - file changed by other user? Try again.")
		}
		sec := cfg.get(id)
		if sec == nil {
			return fmt.Errorf("storage '%s' does not exist", id)
		}
		typ = sec.typ
		sensitive := extractSensitive(params, typ, deletes)
		opts, err := p.checkStorageConfig(typ, params, false)
		if err != nil {
			return err
		}
		if plugin, known := storagePlugins[typ]; known {
			for _, k := range deletes {
				o, ok := plugin[k]
				switch {
				case !ok:
					return fmt.Errorf("no such option '%s'", k)
				case !o.optional:
					return fmt.Errorf("unable to delete required option '%s'", k)
				case o.fixed:
					return fmt.Errorf("unable to delete fixed option '%s'", k)
				}
				if _, set := opts[k]; set {
					return fmt.Errorf("cannot set and delete property '%s' at the same time!", k)
				}
			}
		}
		ret, err := p.storageOnUpdateHook(sec, sensitive)
		if err != nil {
			return err
		}
		returned = ret
		for _, k := range deletes {
			delete(sec.opts, k)
		}
		maps.Copy(sec.opts, opts)
		p.writeStorageConfigLocked(cfg)
		return nil
	})
	if err != nil {
		return nil, err
	}
	res := map[string]any{"storage": id, "type": typ}
	if len(returned) > 0 {
		res["config"] = returned
	}
	return res, nil
}

// deleteStorage serves DELETE /storage/{storage}: the section and the
// storage's secrets go; the volumes stay where they are.
func (p *PVE) deleteStorage(r *Request) (any, error) {
	id := r.PathParams["storage"]
	err := p.lockStorageConfig("delete storage failed", func(cfg *storageConfig) error {
		sec := cfg.get(id)
		if sec == nil {
			return fmt.Errorf("storage '%s' does not exist", id)
		}
		p.storageOnDeleteHook(sec)
		cfg.sections = slices.DeleteFunc(cfg.sections, func(s *storageSection) bool { return s == sec })
		p.writeStorageConfigLocked(cfg)
		return nil
	})
	return nil, err
}

// activateStorage is PVE::Storage::activate_storage on the local node.
func (p *PVE) activateStorage(s *storageDef) error {
	switch s.typ {
	case "dir", "lvmthin":
		return nil // the directory is created (mkdir/create-base-path default to yes)
	case "pbs":
		return p.pbsActivateStorage(s)
	}
	return fmt.Errorf("storage '%s' is not online", s.id)
}

// --- the PBS plugin's hooks (PBSPlugin.pm) -------------------------------

func privPath(id, ext string) string { return "/etc/pve/priv/storage/" + id + "." + ext }

// storageOnAddHook is on_add_hook: the password to <id>.pw, the encryption
// key (generated for "autogen") to <id>.enc with its fingerprint in the
// config, the master key to <id>.master.pem. It returns the partial
// configuration the API hands back (the encryption key).
func (p *PVE) storageOnAddHook(sec *storageSection, sensitive map[string]*string) (map[string]any, error) {
	if sec.typ != "pbs" {
		return nil, nil
	}
	res := map[string]any{}
	if pw := sensitive["password"]; pw != nil {
		p.setPrivFile(privPath(sec.id, "pw"), *pw+"\n")
	} else {
		p.deletePrivFile(privPath(sec.id, "pw"))
	}
	if key := sensitive["encryption-key"]; key != nil {
		if err := p.setEncryptionKey(sec, *key, res); err != nil {
			return nil, err
		}
	} else {
		p.deletePrivFile(privPath(sec.id, "enc"))
	}
	if mk := sensitive["master-pubkey"]; mk != nil {
		if sec.opts["encryption-key"] == "" {
			return nil, fmt.Errorf("'master-pubkey' can only be used together with 'encryption-key'")
		}
		dec, _ := base64.StdEncoding.DecodeString(*mk)
		p.setPrivFile(privPath(sec.id, "master.pem"), string(dec)+"\n")
		sec.opts["master-pubkey"] = "1"
	} else {
		p.deletePrivFile(privPath(sec.id, "master.pem"))
	}
	return res, nil
}

// storageOnUpdateHook is on_update_hook: only the secrets that are given
// (or deleted) change.
func (p *PVE) storageOnUpdateHook(sec *storageSection, sensitive map[string]*string) (map[string]any, error) {
	if sec.typ != "pbs" {
		return nil, nil
	}
	res := map[string]any{}
	if pw, ok := sensitive["password"]; ok {
		if pw != nil {
			p.setPrivFile(privPath(sec.id, "pw"), *pw+"\n")
		} else {
			p.deletePrivFile(privPath(sec.id, "pw"))
		}
	}
	if key, ok := sensitive["encryption-key"]; ok {
		if key != nil {
			if err := p.setEncryptionKey(sec, *key, res); err != nil {
				return nil, err
			}
		} else {
			p.deletePrivFile(privPath(sec.id, "enc"))
			delete(sec.opts, "encryption-key")
		}
	}
	if mk, ok := sensitive["master-pubkey"]; ok {
		if mk != nil {
			dec, _ := base64.StdEncoding.DecodeString(*mk)
			p.setPrivFile(privPath(sec.id, "master.pem"), string(dec)+"\n")
			sec.opts["master-pubkey"] = "1"
		} else {
			p.deletePrivFile(privPath(sec.id, "master.pem"))
			delete(sec.opts, "master-pubkey")
		}
	}
	return res, nil
}

// setEncryptionKey stores an encryption key: "autogen" makes one the way
// "proxmox-backup-client key create --kdf none" does; anything else must be
// such a JSON key file.
func (p *PVE) setEncryptionKey(sec *storageSection, key string, res map[string]any) error {
	if key == "autogen" {
		key = newPBSKeyFile(time.Now())
	} else {
		var k map[string]any
		if err := json.Unmarshal([]byte(key), &k); err != nil || k["data"] == nil {
			return fmt.Errorf("Value does not seems like a valid, JSON formatted encryption key!")
		}
	}
	var k map[string]any
	_ = json.Unmarshal([]byte(key), &k)
	p.setPrivFile(privPath(sec.id, "enc"), key+"\n")
	res["encryption-key"] = key
	if fp, ok := k["fingerprint"].(string); ok && fp != "" {
		sec.opts["encryption-key"] = fp
	} else {
		sec.opts["encryption-key"] = "1"
	}
	return nil
}

// newPBSKeyFile is a key file as "proxmox-backup-client key create --kdf
// none" writes it (KeyConfig, pretty JSON). Guessed: the fingerprint is
// derived from the key with SHA-256 here, PBS derives it through the
// key's cipher; both print as lower-case hex pairs.
func newPBSKeyFile(now time.Time) string {
	key := sim.RandomBytes(32)
	sum := sha256.Sum256(key)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02x", b)
	}
	created := now.Format(pbsTimeFormat)
	return fmt.Sprintf("{\n  \"kdf\": null,\n  \"created\": %q,\n  \"modified\": %q,\n  \"data\": %q,\n  \"fingerprint\": %q\n}",
		created, created, base64.StdEncoding.EncodeToString(key), strings.Join(parts, ":"))
}

// storageOnDeleteHook is on_delete_hook: the secrets go.
func (p *PVE) storageOnDeleteHook(sec *storageSection) {
	if sec.typ != "pbs" {
		return
	}
	for _, ext := range []string{"pw", "enc", "master.pem"} {
		p.deletePrivFile(privPath(sec.id, ext))
	}
}
