package pbssim

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/sim"
)

// Datastores as proxmox-backup manages them (src/api2/config/datastore.rs,
// src/api2/admin/datastore.rs, pbs-datastore): /etc/proxmox-backup/
// datastore.cfg, a section config whose SHA-256 is the digest (sent as a
// result attribute next to "data", checked on PUT and DELETE), and a chunk
// store in each datastore's directory. Creating a datastore is a
// "create-datastore" worker that holds the config lock and adds the
// section when it is done; removing one is a "delete-datastore" worker that
// puts it into maintenance mode "delete", then removes the section and,
// with destroy-data, the directory. The data is kept by default.
//
// Values are stored as given, like PBS does: schedules (checked as
// calendar events), tuning and notify (property strings, checked). Two
// things are normalised as PBS does on update: a comment is trimmed (empty
// removes it) and maintenance-mode is written back by the property string
// serializer ("type=offline,message=x" becomes "offline,message=x"). The
// old prune settings (keep-*, prune-schedule) move into a prune job on
// create and are refused on update.

// datastore is a section of datastore.cfg.
type datastore struct {
	name  string
	props map[string]any // path, comment, ... (not the name)
}

func (d *datastore) path() string { p, _ := d.props["path"].(string); return p }

// config is the datastore as the API returns it.
func (d *datastore) config() map[string]any {
	m := maps.Clone(d.props)
	m["name"] = d.name
	return m
}

// maintenance is the datastore's maintenance mode (type and message), if any.
func (d *datastore) maintenance() (typ, msg string, ok bool) {
	mm, _ := d.props["maintenance-mode"].(string)
	if mm == "" {
		return "", "", false
	}
	pairs, err := splitPropertyString(mm)
	if err != nil {
		return "", "", false
	}
	for _, p := range pairs {
		switch {
		case !p.hasKey || p.key == "type":
			typ = p.value
		case p.key == "message":
			msg = p.value
		}
	}
	return typ, msg, typ != ""
}

// dataDir is a directory that holds datastore data.
type dataDir struct {
	chunkStore bool            // .chunks and .lock
	namespaces map[string]bool // ns/<a>/ns/<b>: "a", "a/b"
}

func cleanPath(p string) string { return path.Clean(p) }

// pathWithin is Path::starts_with: p equals base or lies below it.
func pathWithin(p, base string) bool {
	p, base = path.Clean(p), path.Clean(base)
	return p == base || base == "/" || strings.HasPrefix(p, base+"/")
}

// sectionText is one section of a proxmox section config: the header and
// the properties in sorted order (serde_json's map), booleans as
// true/false.
func sectionText(typ, id string, props map[string]any) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s\n", typ, id)
	for _, k := range slices.Sorted(maps.Keys(props)) {
		fmt.Fprintf(&b, "\t%s %s\n", k, sectionValue(props[k]))
	}
	return b.String()
}

func sectionValue(v any) string {
	switch x := v.(type) {
	case bool:
		return strconv.FormatBool(x)
	case int64:
		return strconv.FormatInt(x, 10)
	}
	return fmt.Sprint(v)
}

func (s *Server) datastoreCfgLocked() string {
	var parts []string
	for _, d := range s.datastores {
		parts = append(parts, sectionText("datastore", d.name, d.props))
	}
	return strings.Join(parts, "\n")
}

func (s *Server) datastoreDigestLocked() string { return sha256Hex(s.datastoreCfgLocked()) }

func (s *Server) datastoreLocked(name string) *datastore {
	for _, d := range s.datastores {
		if d.name == name {
			return d
		}
	}
	return nil
}

// lookupDatastoreLocked is config.lookup("datastore", name).
func (s *Server) lookupDatastoreLocked(name string) (*datastore, error) {
	d := s.datastoreLocked(name)
	if d == nil {
		return nil, fmt.Errorf("no such datastore '%s'", name)
	}
	return d, nil
}

// openDatastoreLocked is DataStore::lookup_datastore with an operation
// ("read", "write" or "" for lookup): the maintenance mode may refuse it
// (MaintenanceMode::check).
func (s *Server) openDatastoreLocked(name, op string) (*datastore, error) {
	d, err := s.lookupDatastoreLocked(name)
	if err != nil {
		return nil, err
	}
	typ, msg, ok := d.maintenance()
	if !ok {
		return d, nil
	}
	if m, err := url.PathUnescape(msg); err == nil {
		msg = m
	}
	reason := ""
	switch {
	case typ == "delete":
		reason = "datastore is being deleted"
	case op == "":
	case typ == "unmount":
		reason = "datastore is being unmounted"
	case typ == "offline":
		reason = "offline maintenance mode: " + msg
	case typ == "s3-refresh":
		reason = "S3 refresh maintenance mode: " + msg
	case typ == "read-only" && op == "write":
		reason = "read-only maintenance mode: " + msg
	}
	if reason != "" {
		return nil, fmt.Errorf("datastore '%s' is in %s", name, reason)
	}
	return d, nil
}

func (s *Server) registerDatastoreRoutes() {
	s.routes.handle(http.MethodGet, "/config/datastore", s.listDatastores, false)
	s.routes.handle(http.MethodPost, "/config/datastore", s.createDatastore, false)
	s.routes.handle(http.MethodGet, "/config/datastore/{name}", s.readDatastore, false)
	s.routes.handle(http.MethodPut, "/config/datastore/{name}", s.updateDatastore, false)
	s.routes.handle(http.MethodDelete, "/config/datastore/{name}", s.deleteDatastore, false)
	s.routes.handle(http.MethodGet, "/admin/datastore", s.adminDatastores, false)
	s.routes.handle(http.MethodGet, "/admin/datastore/{store}/status", s.datastoreStatus, false)
	s.routes.handle(http.MethodGet, "/admin/datastore/{store}/snapshots", s.emptyDatastoreList, false)
	s.routes.handle(http.MethodGet, "/admin/datastore/{store}/groups", s.emptyDatastoreList, false)
	s.routes.handle(http.MethodGet, "/admin/datastore/{store}/namespace", s.listNamespaces, false)
	s.routes.handle(http.MethodPost, "/admin/datastore/{store}/namespace", s.createNamespace, false)
	s.routes.handle(http.MethodDelete, "/admin/datastore/{store}/namespace", s.deleteNamespace, false)
	s.routes.handle(http.MethodGet, "/status/datastore-usage", s.datastoreUsage, false)
}

// listDatastores serves GET /config/datastore.
func (s *Server) listDatastores(r *request) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settleLocked(time.Now())
	out := []map[string]any{}
	for _, d := range s.datastores {
		out = append(out, d.config())
	}
	r.attrs["digest"] = s.datastoreDigestLocked()
	return out, nil
}

// readDatastore serves GET /config/datastore/{name}.
func (s *Server) readDatastore(r *request) (any, error) {
	name, _ := r.str("name")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settleLocked(time.Now())
	d, err := s.lookupDatastoreLocked(name)
	if err != nil {
		return nil, err
	}
	r.attrs["digest"] = s.datastoreDigestLocked()
	return d.config(), nil
}

// datastoreConfigKeys are the DataStoreConfig properties create stores.
var datastoreConfigKeys = []string{
	"path", "comment", "gc-schedule", "verify-new", "notify-user", "notify", "notification-mode", "tuning",
	"maintenance-mode", "backing-device", "backend", "gc-on-unmount", "notification-thresholds", "counter-reset-schedule",
}

var keepKeys = []string{"keep-last", "keep-hourly", "keep-daily", "keep-weekly", "keep-monthly", "keep-yearly"}

// createDatastore serves POST /config/datastore (create_datastore).
func (s *Server) createDatastore(r *request) (any, error) {
	if err := s.waitConfigLock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	name, _ := r.str("name")
	p, _ := r.str("path")
	if s.datastoreLocked(name) != nil {
		return nil, paramErr("name", "datastore '%s' already exists.", name)
	}
	_, removable := r.str("backing-device")
	if !removable && !strings.HasPrefix(p, "/") {
		return nil, paramErr("path", "expected an absolute path, '%s' is not", p)
	}
	if removable && strings.HasPrefix(p, "/") {
		return nil, paramErr("path", "expected a relative on-device path, '%s' is not", p)
	}
	props := map[string]any{}
	for _, k := range datastoreConfigKeys {
		if v, ok := r.Params[k]; ok {
			props[k] = v
		}
	}

	// the old prune settings become a prune job
	var job *pruneJob
	keep := map[string]any{}
	for _, k := range keepKeys {
		if v, ok := r.Params[k]; ok {
			keep[k] = v
		}
	}
	if sched, ok := r.str("prune-schedule"); ok && (len(keep) > 0 || !s.hasPruneJobLocked(name)) {
		id := "default-" + name + "-" + sim.RandomUUID()
		if len(id) > 32 {
			id = id[:32]
		}
		job = &pruneJob{id: id, props: map[string]any{"store": name, "schedule": sched}}
		maps.Copy(job.props, keep)
	}

	ds := &datastore{name: name, props: props}
	msgs, errMsg := s.datastoreCreateWorkLocked(ds, r.boolean("reuse-datastore", false))
	effect := func() {
		dir := s.disk[cleanPath(p)]
		if dir == nil {
			dir = &dataDir{namespaces: map[string]bool{}}
			s.disk[cleanPath(p)] = dir
		}
		dir.chunkStore = true
		s.datastores = append(s.datastores, ds)
		if job != nil {
			s.pruneJobs = append(s.pruneJobs, job)
		}
	}
	t := s.spawnTaskLocked("create-datastore", name, r.AuthID, msgs, errMsg, effect, true)
	return t.upid, nil
}

// datastoreCreateWorkLocked is what do_create_datastore does: the lines it
// logs and the error it fails with ("" for none), judged on the state at
// its start (it holds the config lock until it is done).
func (s *Server) datastoreCreateWorkLocked(ds *datastore, reuse bool) ([]string, string) {
	p := ds.path()
	if _, removable := ds.props["backing-device"]; removable {
		// Guessed: the lab has no removable devices to mount.
		return nil, fmt.Sprintf("unable to mount device '%s' - no such device", ds.props["backing-device"])
	}
	if path.Clean(p) == "/" {
		return nil, "cannot create datastore in root path"
	}
	for _, other := range s.datastores {
		if pathWithin(other.path(), p) || pathWithin(p, other.path()) {
			// Recalled from pbs-api-types' ensure_not_nested (not found in
			// the indexed sources), raised as a parameter error on 'path'.
			return nil, paramErr("path", "nested datastores not allowed: '%s' already in %q", other.name, path.Clean(other.path())).Error()
		}
	}
	if be, ok := ds.props["backend"].(string); ok {
		if msg := backendError(be); msg != "" {
			return nil, msg
		}
	}
	dir := s.disk[cleanPath(p)]
	var msgs []string
	if reuse {
		if dir == nil {
			return nil, fmt.Sprintf("unable to open existing chunk store path %q - ENOENT: No such file or directory", path.Clean(p))
		}
		if !dir.chunkStore {
			return nil, fmt.Sprintf("unable to open existing chunk store path %q - ENOENT: No such file or directory", path.Join(p, ".chunks"))
		}
	} else {
		if dir != nil && len(dir.namespaces) > 0 { // an "ns" directory
			return nil, "datastore path not empty"
		}
		if dir != nil && dir.chunkStore {
			return nil, fmt.Sprintf("unable to create chunk store '%s' subdir %q - EEXIST: File exists", ds.name, path.Join(p, ".chunks"))
		}
		for pct := 1; pct < 100; pct++ {
			msgs = append(msgs, fmt.Sprintf("Chunkstore create: %d%%", pct))
		}
	}
	if tuningAtimeCheck(ds.props["tuning"]) {
		msgs = append(msgs, "Access time update check successful.")
	} else {
		msgs = append(msgs, "Access time update check skipped.")
	}
	return msgs, ""
}

// tuningAtimeCheck reports gc-atime-safety-check of a tuning property
// string (default true).
func tuningAtimeCheck(v any) bool {
	t, _ := v.(string)
	pairs, err := splitPropertyString(t)
	if err != nil {
		return true
	}
	for _, p := range pairs {
		if p.key == "gc-atime-safety-check" {
			b, err := parseBoolean(p.value)
			return err != nil || b
		}
	}
	return true
}

// backendError is the failure of a datastore backend the lab cannot
// offer: an S3 bucket needs an S3 endpoint, and the lab has none.
func backendError(be string) string {
	pairs, err := splitPropertyString(be)
	if err != nil {
		return err.Error()
	}
	cfg := map[string]string{}
	for _, p := range pairs {
		k := p.key
		if !p.hasKey {
			k = "type"
		}
		cfg[k] = p.value
	}
	if cfg["type"] != "s3" {
		return ""
	}
	if cfg["client"] == "" {
		return "missing required client"
	}
	if cfg["bucket"] == "" {
		return "missing required bucket"
	}
	return fmt.Sprintf("no '%s' in config", cfg["client"])
}

// updateDatastore serves PUT /config/datastore/{name} (update_datastore).
func (s *Server) updateDatastore(r *request) (any, error) {
	if err := s.waitConfigLock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	if err := checkDigest(r, s.datastoreDigestLocked()); err != nil {
		return nil, err
	}
	name, _ := r.str("name")
	d, err := s.lookupDatastoreLocked(name)
	if err != nil {
		return nil, err
	}
	data := maps.Clone(d.props)
	// DataStoreConfig::set_maintenance_mode: a datastore being deleted
	// stays in that mode.
	setMaintenance := func(mode string) error {
		newType := ""
		if mode != "" {
			newType, _, _ = (&datastore{props: map[string]any{"maintenance-mode": mode}}).maintenance()
		}
		if typ, _, ok := d.maintenance(); ok && typ == "delete" && newType != "delete" {
			return errors.New("datastore is being deleted")
		}
		if mode == "" {
			delete(data, "maintenance-mode")
			return nil
		}
		data["maintenance-mode"] = canonicalMaintenance(mode)
		return nil
	}
	if del, ok := r.Params["delete"].([]any); ok {
		for _, k := range del {
			key := fmt.Sprint(k)
			if key == "maintenance-mode" {
				if err := setMaintenance(""); err != nil {
					return nil, err
				}
				continue
			}
			delete(data, key)
		}
	}
	if c, ok := r.str("comment"); ok {
		if c = strings.TrimSpace(c); c == "" {
			delete(data, "comment")
		} else {
			data["comment"] = c
		}
	}
	if v, ok := r.str("gc-schedule"); ok {
		data["gc-schedule"] = v
	}
	for _, k := range append(slices.Clone(keepKeys), "prune-schedule") {
		if _, ok := r.Params[k]; ok {
			return nil, paramErr(k, "datastore prune settings have been replaced by prune jobs")
		}
	}
	if v, ok := r.str("notify"); ok {
		if notifyEmpty(v) {
			delete(data, "notify")
		} else {
			data["notify"] = v
		}
	}
	for _, k := range []string{"verify-new", "notify-user", "notification-mode", "tuning", "gc-on-unmount", "notification-thresholds", "counter-reset-schedule"} {
		if v, ok := r.Params[k]; ok {
			data[k] = v
		}
	}
	if v, ok := r.str("maintenance-mode"); ok {
		if err := setMaintenance(v); err != nil {
			return nil, err
		}
	}
	d.props = data
	return nil, nil
}

// notifyEmpty reports whether a notify property string sets none of gc,
// verify, sync and prune (update stores no notify then).
func notifyEmpty(v string) bool {
	pairs, err := splitPropertyString(v)
	if err != nil {
		return false
	}
	for _, p := range pairs {
		switch p.key {
		case "gc", "verify", "sync", "prune":
			return false
		}
	}
	return true
}

// canonicalMaintenance writes a maintenance mode back the way
// PropertyString::to_property_string does: the default key (type) without
// its name, then message=..., quoted only when it holds '"', '\' or a
// newline.
func canonicalMaintenance(mode string) string {
	pairs, err := splitPropertyString(mode)
	if err != nil {
		return mode
	}
	typ, msg, hasMsg := "", "", false
	for _, p := range pairs {
		switch {
		case !p.hasKey || p.key == "type":
			typ = p.value
		case p.key == "message":
			msg, hasMsg = p.value, true
		}
	}
	out := typ
	if hasMsg {
		out += ",message=" + quoteValue(msg)
	}
	return out
}

// deleteDatastore serves DELETE /config/datastore/{name} (delete_datastore).
func (s *Server) deleteDatastore(r *request) (any, error) {
	if err := s.waitConfigLock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	if err := checkDigest(r, s.datastoreDigestLocked()); err != nil {
		return nil, err
	}
	name, _ := r.str("name")
	d := s.datastoreLocked(name)
	if d == nil {
		return nil, httpErr(http.StatusNotFound, "datastore '%s' does not exist.", name)
	}
	if !r.boolean("keep-job-configs", false) {
		s.pruneJobs = slices.DeleteFunc(s.pruneJobs, func(j *pruneJob) bool { return j.store() == name })
	}
	destroy := r.boolean("destroy-data", false)
	// DataStore::destroy puts the datastore into maintenance mode "delete"
	// right away, then removes the section (and the data) at its end.
	d.props["maintenance-mode"] = "delete"
	var msgs []string
	if destroy {
		msgs = append(msgs, "Deleting datastore data...")
	}
	msgs = append(msgs, "Removing datastore from config...")
	if destroy {
		msgs = append(msgs, "Finished deleting data.", "Removed empty datastore directory.")
	}
	p := cleanPath(d.path())
	effect := func() {
		s.datastores = slices.DeleteFunc(s.datastores, func(x *datastore) bool { return x == d })
		if destroy {
			delete(s.disk, p)
			delete(s.usage, p)
		}
	}
	t := s.spawnTaskLocked("delete-datastore", name, r.AuthID, msgs, "", effect, false)
	return t.upid, nil
}

// adminDatastores serves GET /admin/datastore (get_datastore_list): the
// datastores the caller may use.
func (s *Server) adminDatastores(*request) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settleLocked(time.Now())
	out := []map[string]any{}
	for _, d := range s.datastores {
		e := map[string]any{"store": d.name, "mount-status": "nonremovable", "backend-type": "filesystem"}
		if _, ok := d.props["backing-device"]; ok {
			e["mount-status"] = "notmounted"
		}
		if c, ok := d.props["comment"]; ok {
			e["comment"] = c
		}
		if m, ok := d.props["maintenance-mode"]; ok {
			e["maintenance"] = m
		}
		out = append(out, e)
	}
	return out, nil
}

func gcStatusZero() map[string]any {
	return map[string]any{
		"index-file-count": 0, "index-data-bytes": 0, "disk-bytes": 0, "disk-chunks": 0,
		"removed-bytes": 0, "removed-chunks": 0, "pending-bytes": 0, "pending-chunks": 0,
		"removed-bad": 0, "still-bad": 0,
	}
}

// datastoreStatus serves GET /admin/datastore/{store}/status: the file
// system's size and usage (SetDatastoreUsage), an empty GC status and, with
// verbose, the backup counts (the lab holds no backups).
func (s *Server) datastoreStatus(r *request) (any, error) {
	store, _ := r.str("store")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settleLocked(time.Now())
	d, err := s.openDatastoreLocked(store, "read")
	if err != nil {
		return nil, err
	}
	total, used := s.usageOf(cleanPath(d.path()))
	res := map[string]any{"total": total, "used": used, "avail": total - used, "backend-type": "filesystem", "gc-status": gcStatusZero()}
	if r.boolean("verbose", false) {
		res["counts"] = map[string]any{}
	}
	return res, nil
}

// emptyDatastoreList serves the listings of backups (snapshots, groups):
// the lab holds none.
func (s *Server) emptyDatastoreList(r *request) (any, error) {
	store, _ := r.str("store")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settleLocked(time.Now())
	if _, err := s.openDatastoreLocked(store, "read"); err != nil {
		return nil, err
	}
	return []map[string]any{}, nil
}

// datastoreUsage serves GET /status/datastore-usage. Guessed: the history
// fields of the RRD are left out, the lab keeps no RRD.
func (s *Server) datastoreUsage(*request) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settleLocked(time.Now())
	out := []map[string]any{}
	for _, d := range s.datastores {
		e := map[string]any{"store": d.name, "mount-status": "nonremovable", "backend-type": "filesystem"}
		if _, err := s.openDatastoreLocked(d.name, "read"); err != nil {
			e["error"] = err.Error()
		} else {
			total, used := s.usageOf(cleanPath(d.path()))
			e["total"], e["used"], e["avail"] = total, used, total-used
			e["gc-status"] = gcStatusZero()
		}
		out = append(out, e)
	}
	return out, nil
}
