package pbssim

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Prune jobs as src/api2/config/prune.rs manages them: /etc/proxmox-backup/
// prune.cfg, with its SHA-256 as digest. As in PBS, a job may name a
// datastore that does not exist (create_prune_job checks privileges on the
// datastore's ACL path, not its existence); removing a datastore without
// keep-job-configs removes its jobs.

// pruneJob is a section of prune.cfg.
type pruneJob struct {
	id    string
	props map[string]any // store, schedule, comment, disable, ns, max-depth, keep-*
}

func (j *pruneJob) store() string { s, _ := j.props["store"].(string); return s }

func (j *pruneJob) config() map[string]any {
	m := maps.Clone(j.props)
	m["id"] = j.id
	return m
}

func (s *Server) pruneCfgLocked() string {
	var parts []string
	for _, j := range s.pruneJobs {
		parts = append(parts, sectionText("prune", j.id, j.props))
	}
	return strings.Join(parts, "\n")
}

func (s *Server) pruneDigestLocked() string { return sha256Hex(s.pruneCfgLocked()) }

func (s *Server) pruneJobLocked(id string) *pruneJob {
	for _, j := range s.pruneJobs {
		if j.id == id {
			return j
		}
	}
	return nil
}

// hasPruneJobLocked reports whether a prune job works on store.
func (s *Server) hasPruneJobLocked(store string) bool {
	return slices.ContainsFunc(s.pruneJobs, func(j *pruneJob) bool { return j.store() == store })
}

func (s *Server) registerPruneRoutes() {
	s.routes.handle(http.MethodGet, "/config/prune", s.listPruneJobs, false)
	s.routes.handle(http.MethodPost, "/config/prune", s.createPruneJob, false)
	s.routes.handle(http.MethodGet, "/config/prune/{id}", s.readPruneJob, false)
	s.routes.handle(http.MethodPut, "/config/prune/{id}", s.updatePruneJob, false)
	s.routes.handle(http.MethodDelete, "/config/prune/{id}", s.deletePruneJob, false)
}

// listPruneJobs serves GET /config/prune.
func (s *Server) listPruneJobs(r *request) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settleLocked(time.Now())
	out := []map[string]any{}
	for _, j := range s.pruneJobs {
		out = append(out, j.config())
	}
	r.attrs["digest"] = s.pruneDigestLocked()
	return out, nil
}

// pruneJobKeys are the PruneJobConfig properties besides the ID.
var pruneJobKeys = append([]string{"store", "schedule", "comment", "disable", "ns", "max-depth"}, keepKeys...)

// createPruneJob serves POST /config/prune.
func (s *Server) createPruneJob(r *request) (any, error) {
	id, _ := r.str("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settleLocked(time.Now())
	if s.pruneJobLocked(id) != nil {
		return nil, paramErr("id", "job '%s' already exists.", id)
	}
	props := map[string]any{}
	for _, k := range pruneJobKeys {
		if v, ok := r.Params[k]; ok {
			props[k] = v
		}
	}
	if d, ok := props["disable"].(bool); ok && !d {
		delete(props, "disable") // serde skips a false disable
	}
	if ns, ok := props["ns"].(string); ok && ns == "" {
		delete(props, "ns") // guessed: the root namespace is not written
	}
	s.pruneJobs = append(s.pruneJobs, &pruneJob{id: id, props: props})
	return nil, nil
}

// readPruneJob serves GET /config/prune/{id}.
func (s *Server) readPruneJob(r *request) (any, error) {
	id, _ := r.str("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settleLocked(time.Now())
	j := s.pruneJobLocked(id)
	if j == nil {
		return nil, fmt.Errorf("no such prune '%s'", id)
	}
	r.attrs["digest"] = s.pruneDigestLocked()
	return j.config(), nil
}

// updatePruneJob serves PUT /config/prune/{id} (update_prune_job).
func (s *Server) updatePruneJob(r *request) (any, error) {
	id, _ := r.str("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settleLocked(time.Now())
	if err := checkDigest(r, s.pruneDigestLocked()); err != nil {
		return nil, err
	}
	j := s.pruneJobLocked(id)
	if j == nil {
		return nil, fmt.Errorf("no such prune '%s'", id)
	}
	data := maps.Clone(j.props)
	if del, ok := r.Params["delete"].([]any); ok {
		for _, k := range del {
			delete(data, fmt.Sprint(k))
		}
	}
	if v, ok := r.str("store"); ok {
		data["store"] = v
	}
	if v, ok := r.str("ns"); ok {
		if v == "" {
			delete(data, "ns")
		} else {
			data["ns"] = v
		}
	}
	if v, ok := r.str("schedule"); ok {
		data["schedule"] = v
	}
	if v, ok := r.integer("max-depth"); ok && v <= maxNamespaceDepth {
		data["max-depth"] = v
	}
	if v, ok := r.Params["disable"].(bool); ok {
		if v {
			data["disable"] = true
		} else {
			delete(data, "disable")
		}
	}
	if v, ok := r.str("comment"); ok {
		data["comment"] = v
	}
	for _, k := range keepKeys {
		if v, ok := r.integer(k); ok {
			data[k] = v
		}
	}
	j.props = data
	return nil, nil
}

// deletePruneJob serves DELETE /config/prune/{id}.
func (s *Server) deletePruneJob(r *request) (any, error) {
	id, _ := r.str("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settleLocked(time.Now())
	if s.pruneJobLocked(id) == nil {
		return nil, fmt.Errorf("no such prune '%s'", id)
	}
	if err := checkDigest(r, s.pruneDigestLocked()); err != nil {
		return nil, err
	}
	s.pruneJobs = slices.DeleteFunc(s.pruneJobs, func(j *pruneJob) bool { return j.id == id })
	return nil, nil
}
