package pvesim

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/perl"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/pveschema"
)

// The /storage API as pve-storage's PVE::API2::Storage::Config serves it
// (list, read, create, update, delete): the section as the API returns it
// ($api_storage_config), the secrets taken out of the parameters
// (PVE::Tools::extract_sensitive_params), the plugin's check_config and
// activating a new storage on the local node
// (PVE::Storage::activate_storage). The file itself is in storage_config.go.

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
			p.logf("pvesim: storage does not support content type '%s'", c)
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
