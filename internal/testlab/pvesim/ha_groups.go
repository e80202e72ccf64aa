package pvesim

import (
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/perl"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/pveschema"
)

// HA groups as pve-ha-manager serves them on PVE 8 (src/PVE/API2/HA/Groups.pm,
// src/PVE/HA/Groups.pm): listing, reading, creating, updating and deleting
// the sections of /etc/pve/ha/groups.cfg. On PVE 9 every groups call fails
// once the groups are migrated to rules (ha_rules.go).

// --- groups (PVE 8; migrated to rules on PVE 9) -----------------------------

// groupsMigrated is the refusal of every groups call on PVE 9.
func (p *PVE) groupsMigratedError(verb string) error {
	return Errorf(http.StatusInternalServerError, "cannot %s: ha groups have been migrated to rules", verb)
}

// decodeGroupNodes is the groups' decode and encode of "nodes": the valid
// entries, each once, in a stable order (PVE prints a hash, in its order).
func decodeGroupNodes(v string) string {
	set := map[string]bool{}
	for _, n := range pveschema.SplitList(v) {
		if haNodeRE.MatchString(n) {
			set[n] = true
		}
	}
	return strings.Join(slices.Sorted(maps.Keys(set)), ",")
}

func groupView(cfg *haConfig, s *haSection) map[string]any {
	out := s.view()
	out["group"], out["digest"] = s.id, cfg.digest
	return out
}

// listHAGroups serves GET /cluster/ha/groups.
func (p *PVE) listHAGroups(*Request) (any, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.groupsMigratedLocked() {
		return nil, p.groupsMigratedError("index groups")
	}
	cfg := p.haConfigLocked(haGroupsFile)
	out := []map[string]any{}
	for _, s := range cfg.sections {
		out = append(out, groupView(cfg, s))
	}
	return out, nil
}

// readHAGroup serves GET /cluster/ha/groups/{group}.
func (p *PVE) readHAGroup(r *Request) (any, error) {
	group := r.PathParams["group"]
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.groupsMigratedLocked() {
		return nil, p.groupsMigratedError("read group")
	}
	cfg := p.haConfigLocked(haGroupsFile)
	s := cfg.get(group)
	if s == nil {
		return nil, Errorf(http.StatusInternalServerError, "no such ha group '%s'", group)
	}
	return groupView(cfg, s), nil
}

// groupSettings is check_config of the group plugin, with the nodes
// decoded.
func groupSettings(r *Request, create bool) (map[string]string, error) {
	params := maps.Clone(r.Params)
	for _, k := range []string{"group", "type", "digest", "delete"} {
		delete(params, k)
	}
	opts, err := checkHAConfig(haGroupsFile, "group", params, create)
	if err != nil {
		return nil, err
	}
	if v, ok := opts["nodes"]; ok {
		opts["nodes"] = decodeGroupNodes(v)
	}
	return opts, nil
}

// createHAGroup serves POST /cluster/ha/groups.
func (p *PVE) createHAGroup(r *Request) (any, error) {
	group, _ := r.String("group")
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.groupsMigratedLocked() {
		return nil, p.groupsMigratedError("create group")
	}
	if t, ok := r.String("type"); ok && perl.Truthy(t) && t != "group" {
		return nil, Errorf(http.StatusInternalServerError, "types does not match")
	}
	opts, err := groupSettings(r, true)
	if err != nil {
		return nil, Errorf(http.StatusInternalServerError, "%s", err.Error())
	}
	cfg := p.haConfigLocked(haGroupsFile)
	if cfg.get(group) != nil {
		return nil, haFail("create ha group failed", dief("ha group ID '%s' already defined", group))
	}
	cfg.sections = append(cfg.sections, &haSection{typ: "group", id: group, opts: opts})
	p.writeHAConfigLocked(cfg)
	return nil, nil
}

// updateHAGroup serves PUT /cluster/ha/groups/{group}.
func (p *PVE) updateHAGroup(r *Request) (any, error) {
	group := r.PathParams["group"]
	digest, _ := r.String("digest")
	deleteList, _ := r.String("delete")
	const step = "update ha group failed"
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.groupsMigratedLocked() {
		return nil, p.groupsMigratedError("update group")
	}
	if t, ok := r.String("type"); ok && perl.Truthy(t) && t != "group" {
		return nil, Errorf(http.StatusInternalServerError, "types does not match")
	}
	cfg := p.haConfigLocked(haGroupsFile)
	if digest != "" && digest != cfg.digest {
		return nil, haFail(step, dief("detected modified configuration - file changed by other user? Try again."))
	}
	s := cfg.get(group)
	if s == nil {
		return nil, haFail(step, dief("no such ha group '%s'", group))
	}
	opts, err := groupSettings(r, false)
	if err != nil {
		return nil, haFail(step, err)
	}
	maps.Copy(s.opts, opts)
	if err := deleteHAOptions(haGroupsFile.plugins["group"], s, opts, deleteList, false); err != nil {
		return nil, haFail(step, err)
	}
	p.writeHAConfigLocked(cfg)
	return nil, nil
}

// deleteHAGroup serves DELETE /cluster/ha/groups/{group}: refused while a
// resource uses the group; a group that does not exist is no error.
func (p *PVE) deleteHAGroup(r *Request) (any, error) {
	group := r.PathParams["group"]
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.groupsMigratedLocked() {
		return nil, p.groupsMigratedError("delete group")
	}
	resources := p.haConfigLocked(p.haResourcesFile())
	for _, s := range resources.sections {
		if g := s.opts["group"]; g != "" && g == group {
			return nil, haFail("delete ha group failed", dief("ha group is used by service '%s'", s.id))
		}
	}
	cfg := p.haConfigLocked(haGroupsFile)
	cfg.remove(group)
	p.writeHAConfigLocked(cfg)
	return nil, nil
}
