package pbssim

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Namespaces (src/api2/admin/namespace.rs).

// maxNamespaceDepth is MAX_NAMESPACE_DEPTH.
const maxNamespaceDepth = 7

// parseNamespace is BackupNamespace::new: "" is the root.
func parseNamespace(ns string) ([]string, error) {
	if ns == "" {
		return nil, nil
	}
	var out []string
	length := 0
	for _, c := range strings.Split(ns, "/") {
		var err error
		if out, length, err = pushNamespace(out, length, c); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// pushNamespace is BackupNamespace::push.
func pushNamespace(ns []string, length int, name string) ([]string, int, error) {
	if strings.Contains(name, "/") {
		return nil, 0, errors.New("namespace component contained a slash")
	}
	if len(ns) >= maxNamespaceDepth {
		return nil, 0, fmt.Errorf("namespace too deep, %d >= max %d", len(ns), maxNamespaceDepth)
	}
	if length+len(name)+1 > 256 {
		return nil, 0, errors.New("namespace length exceeded")
	}
	if !safeIDRE.MatchString(name) {
		return nil, 0, fmt.Errorf("not a valid namespace component: %s", name)
	}
	if len(ns) > 0 {
		length++
	}
	return append(ns, name), length + len(name), nil
}

func (s *Server) dirOfLocked(d *datastore) *dataDir {
	dir := s.disk[cleanPath(d.path())]
	if dir == nil {
		dir = &dataDir{namespaces: map[string]bool{}}
		s.disk[cleanPath(d.path())] = dir
	}
	return dir
}

// listNamespaces serves GET /admin/datastore/{store}/namespace: the parent
// (even one that does not exist) and the namespaces below it, depth first.
func (s *Server) listNamespaces(r *request) (any, error) {
	store, _ := r.str("store")
	parent, _ := r.str("parent")
	depth, ok := r.integer("max-depth")
	if !ok {
		depth = maxNamespaceDepth
	}
	pns, err := parseNamespace(parent)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settleLocked(time.Now())
	d, err := s.openDatastoreLocked(store, "read")
	if err != nil {
		return nil, err
	}
	if depth > maxNamespaceDepth {
		return nil, fmt.Errorf("max_depth must be smaller 8")
	}
	dir := s.dirOfLocked(d)
	out := []map[string]any{{"ns": strings.Join(pns, "/")}}
	prefix := strings.Join(pns, "/")
	for _, ns := range slices.Sorted(maps.Keys(dir.namespaces)) {
		rel := ns
		if prefix != "" {
			var ok bool
			if rel, ok = strings.CutPrefix(ns, prefix+"/"); !ok {
				continue
			}
		}
		if int64(strings.Count(rel, "/")+1) > depth {
			continue
		}
		out = append(out, map[string]any{"ns": ns})
	}
	return out, nil
}

// createNamespace serves POST /admin/datastore/{store}/namespace. Creating
// a namespace that exists succeeds (create_dir_all), as in PBS.
func (s *Server) createNamespace(r *request) (any, error) {
	store, _ := r.str("store")
	name, _ := r.str("name")
	parent, _ := r.str("parent")
	pns, err := parseNamespace(parent)
	if err != nil {
		return nil, err
	}
	ns, _, err := pushNamespace(slices.Clone(pns), len(parent), name)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settleLocked(time.Now())
	d, err := s.openDatastoreLocked(store, "write")
	if err != nil {
		return nil, err
	}
	dir := s.dirOfLocked(d)
	if len(pns) > 0 && !dir.namespaces[parent] {
		return nil, fmt.Errorf("cannot create new namespace, parent %s doesn't already exists", parent)
	}
	full := strings.Join(ns, "/")
	dir.namespaces[full] = true
	return full, nil
}

// deleteNamespace serves DELETE /admin/datastore/{store}/namespace: the
// namespace and all below it (the lab holds no backup groups, so
// delete-groups changes nothing). A namespace that does not exist is
// removed without error, as PBS does.
func (s *Server) deleteNamespace(r *request) (any, error) {
	store, _ := r.str("store")
	nsText, _ := r.str("ns")
	ns, err := parseNamespace(nsText)
	if err != nil {
		return nil, err
	}
	if len(ns) == 0 {
		// check_ns_modification_privs (recalled, not found in the indexed sources)
		return nil, errors.New("Cannot create/delete root namespace!")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settleLocked(time.Now())
	d, err := s.openDatastoreLocked(store, "write")
	if err != nil {
		return nil, err
	}
	dir := s.dirOfLocked(d)
	for k := range dir.namespaces {
		if k == nsText || strings.HasPrefix(k, nsText+"/") {
			delete(dir.namespaces, k)
		}
	}
	return nil, nil
}
