package pvesim

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/perl"
)

// The /cluster/ha route table and the HA resources (pve-ha-manager's
// src/PVE/API2/HA/Resources.pm with src/PVE/HA/Resources.pm and the resource
// parts of src/PVE/HA/Config.pm: parse_sid, service_is_configured,
// vm_is_ha_managed, delete_service_from_config), plus the helpers the guest
// APIs use to add, change and drop a guest's resource (ha-managed on
// creation, hastart and hastop, purge). The section config files themselves
// are in ha_config.go.

// --- routes --------------------------------------------------------------------

func (p *PVE) registerHARoutes() {
	p.Handle(http.MethodGet, "/cluster/ha", func(*Request) (any, error) {
		out := []map[string]any{{"id": "status"}, {"id": "resources"}, {"id": "groups"}}
		if p.rel.haRules {
			out = append(out, map[string]any{"id": "rules"})
		}
		return out, nil
	})
	p.Handle(http.MethodGet, "/cluster/ha/resources", p.listHAResources)
	p.Handle(http.MethodPost, "/cluster/ha/resources", p.createHAResource, haLock("create resource failed"))
	p.Handle(http.MethodGet, "/cluster/ha/resources/{sid}", p.readHAResource)
	p.Handle(http.MethodPut, "/cluster/ha/resources/{sid}", p.updateHAResource, haLock(p.updateResourceStep()))
	p.Handle(http.MethodDelete, "/cluster/ha/resources/{sid}", p.deleteHAResource, haLock("delete resource failed"))
	p.Handle(http.MethodPost, "/cluster/ha/resources/{sid}/migrate", p.haMotion("migrate"))
	p.Handle(http.MethodPost, "/cluster/ha/resources/{sid}/relocate", p.haMotion("relocate"))

	p.Handle(http.MethodGet, "/cluster/ha/groups", p.listHAGroups)
	p.Handle(http.MethodPost, "/cluster/ha/groups", p.createHAGroup, haLock("create ha group failed"))
	p.Handle(http.MethodGet, "/cluster/ha/groups/{group}", p.readHAGroup)
	p.Handle(http.MethodPut, "/cluster/ha/groups/{group}", p.updateHAGroup, haLock("update ha group failed"))
	p.Handle(http.MethodDelete, "/cluster/ha/groups/{group}", p.deleteHAGroup, haLock("delete ha group failed"))

	if p.rel.haRules {
		p.Handle(http.MethodGet, "/cluster/ha/rules", p.listHARules)
		p.Handle(http.MethodPost, "/cluster/ha/rules", p.createHARule, haLock("create ha rule failed"))
		p.Handle(http.MethodGet, "/cluster/ha/rules/{rule}", p.readHARule)
		p.Handle(http.MethodPut, "/cluster/ha/rules/{rule}", p.updateHARule, haLock("update HA rules failed"))
		p.Handle(http.MethodDelete, "/cluster/ha/rules/{rule}", p.deleteHARule, haLock("delete ha rule failed"))
	}

	p.Handle(http.MethodGet, "/cluster/ha/status", func(*Request) (any, error) {
		return []map[string]any{{"name": "current"}, {"name": "manager_status"}}, nil
	})
	p.Handle(http.MethodGet, "/cluster/ha/status/current", p.haStatusCurrent)
	p.Handle(http.MethodGet, "/cluster/ha/status/manager_status", p.haManagerStatus)
}

// updateResourceStep names the failing step of a resource update: PVE 9
// moved the update into PVE::HA::Config::update_resources_config.
func (p *PVE) updateResourceStep() string {
	if p.rel.haRules {
		return "update resources config failed"
	}
	return "update resource failed"
}

// --- resources -------------------------------------------------------------

// parseSIDLocked is parse_sid: "vm:100", "ct:101", or a bare VMID, which
// is looked up in the VM list. The caller holds p.mu.
func (p *PVE) parseSIDLocked(sid string) (full, typ, name string, err error) {
	if haVMIDRE.MatchString(sid) {
		id, _ := strconv.Atoi(sid)
		g, ok := p.guests[id]
		if !ok {
			if p.rel.haRules {
				return "", "", "", dief("unable do detect SID from VMID - VM/CT %s does not exist", sid)
			}
			return "", "", "", dief("unable do add resource - VM/CT %s does not exist", sid)
		}
		typ = "vm"
		if g.kind == "lxc" {
			typ = "ct"
		}
		return typ + ":" + sid, typ, sid, nil
	}
	if m := haSIDRE.FindStringSubmatch(sid); m != nil {
		return sid, m[1], m[2], nil
	}
	return "", "", "", dief("unable to parse service id '%s'", sid)
}

// groupsMigratedLocked is have_groups_been_migrated: on PVE 9 a cluster
// without HA groups. The caller holds p.mu.
func (p *PVE) groupsMigratedLocked() bool {
	return p.rel.haRules && len(p.haConfigLocked(haGroupsFile).sections) == 0
}

// checkResourceGroupLocked checks the group parameter of a resource.
func (p *PVE) checkResourceGroupLocked(r *Request) error {
	group, ok := r.String("group")
	if !ok || !perl.Truthy(group) {
		return nil
	}
	if p.groupsMigratedLocked() {
		return dief("invalid parameter 'group': ha groups have been migrated to rules")
	}
	if p.haConfigLocked(haGroupsFile).get(group) == nil {
		return dief("HA group '%s' does not exist", group)
	}
	return nil
}

// resourceView is api_copy_config.
func resourceView(cfg *haConfig, s *haSection) map[string]any {
	out := s.view()
	out["sid"], out["digest"] = s.id, cfg.digest
	return out
}

// listHAResources serves GET /cluster/ha/resources.
func (p *PVE) listHAResources(r *Request) (any, error) {
	typ, _ := r.String("type")
	p.mu.Lock()
	defer p.mu.Unlock()
	cfg := p.haConfigLocked(p.haResourcesFile())
	groups := p.haConfigLocked(haGroupsFile)
	out := []map[string]any{}
	for _, s := range cfg.sections {
		if typ != "" && typ != s.typ {
			continue
		}
		e := resourceView(cfg, s)
		if g := s.opts["group"]; perl.Truthy(g) && groups.get(g) == nil {
			e["errors"] = map[string]any{"group": fmt.Sprintf("group '%s' does not exist", g)}
		}
		out = append(out, e)
	}
	return out, nil
}

// readHAResource serves GET /cluster/ha/resources/{sid}.
func (p *PVE) readHAResource(r *Request) (any, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	sid, _, _, err := p.parseSIDLocked(r.PathParams["sid"])
	if err != nil {
		return nil, Errorf(http.StatusInternalServerError, "%s", err.Error())
	}
	cfg := p.haConfigLocked(p.haResourcesFile())
	s := cfg.get(sid)
	if s == nil {
		return nil, Errorf(http.StatusInternalServerError, "no such resource '%s'", sid)
	}
	return resourceView(cfg, s), nil
}

// createHAResource serves POST /cluster/ha/resources: the SID is resolved,
// the guest must exist, and the options are checked before the ha domain
// is locked.
func (p *PVE) createHAResource(r *Request) (any, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fail := func(err error) (any, error) { return nil, Errorf(http.StatusInternalServerError, "%s", err.Error()) }
	sidParam, _ := r.String("sid")
	sid, typ, name, err := p.parseSIDLocked(sidParam)
	if err != nil {
		return fail(err)
	}
	if t, ok := r.String("type"); ok && perl.Truthy(t) && t != typ {
		return fail(dief("types does not match"))
	}
	if err := p.checkResourceGroupLocked(r); err != nil {
		return fail(err)
	}
	file := p.haResourcesFile()
	if file.plugins[typ] == nil {
		return fail(dief("unknown section type '%s'", typ))
	}
	if !haVMNameRE.MatchString(name) {
		return fail(dief("invalid VMID"))
	}
	if id, _ := strconv.Atoi(name); p.guests[id].node == "" {
		return fail(dief("resource '%s:%s' does not exists in cluster", typ, name))
	}
	params := maps.Clone(r.Params)
	delete(params, "sid")
	delete(params, "type")
	opts, err := checkHAConfig(file, typ, params, true)
	if err != nil {
		return fail(err)
	}
	cfg := p.haConfigLocked(file)
	if cfg.get(sid) != nil {
		return nil, haFail("create resource failed", dief("resource ID '%s' already defined", sid))
	}
	cfg.sections = append(cfg.sections, &haSection{typ: typ, id: sid, opts: opts})
	p.writeHAConfigLocked(cfg)
	return nil, nil
}

// updateHAResource serves PUT /cluster/ha/resources/{sid}.
func (p *PVE) updateHAResource(r *Request) (any, error) {
	digest, _ := r.String("digest")
	deleteList, _ := r.String("delete")
	p.mu.Lock()
	defer p.mu.Unlock()
	sid, typ, _, err := p.parseSIDLocked(r.PathParams["sid"])
	if err != nil {
		return nil, Errorf(http.StatusInternalServerError, "%s", err.Error())
	}
	if t, ok := r.String("type"); ok && perl.Truthy(t) && t != typ {
		return nil, Errorf(http.StatusInternalServerError, "types does not match")
	}
	if err := p.checkResourceGroupLocked(r); err != nil {
		return nil, Errorf(http.StatusInternalServerError, "%s", err.Error())
	}
	step := p.updateResourceStep()
	file := p.haResourcesFile()
	cfg := p.haConfigLocked(file)
	if digest != "" && digest != cfg.digest {
		return nil, haFail(step, dief("detected modified configuration - file changed by other user? Try again."))
	}
	s := cfg.get(sid)
	if s == nil {
		return nil, haFail(step, dief("no such resource '%s'", sid))
	}
	params := maps.Clone(r.Params)
	for _, k := range []string{"sid", "type", "digest", "delete"} {
		delete(params, k)
	}
	opts, err := checkHAConfig(file, s.typ, params, false)
	if err != nil {
		return nil, haFail(step, err)
	}
	maps.Copy(s.opts, opts)
	if err := deleteHAOptions(file.plugins[s.typ], s, opts, deleteList, false); err != nil {
		return nil, haFail(step, err)
	}
	p.writeHAConfigLocked(cfg)
	return nil, nil
}

// deleteHAResource serves DELETE /cluster/ha/resources/{sid}. On PVE 9
// "purge" (default on) also removes the resource from the rules, and rules
// left without resources.
func (p *PVE) deleteHAResource(r *Request) (any, error) {
	purge := r.Bool("purge", true)
	p.mu.Lock()
	defer p.mu.Unlock()
	sid, _, _, err := p.parseSIDLocked(r.PathParams["sid"])
	if err != nil {
		return nil, Errorf(http.StatusInternalServerError, "%s", err.Error())
	}
	if !p.haConfiguredLocked(sid) {
		return nil, Errorf(http.StatusInternalServerError, "cannot delete service '%s', not HA managed!", sid)
	}
	p.deleteHAServiceLocked(sid, purge)
	return nil, nil
}

// --- helpers for the guest APIs ---------------------------------------------

// haConfiguredLocked is service_is_configured: the SID has a section, also
// when it is ignored. The caller holds p.mu.
func (p *PVE) haConfiguredLocked(sid string) bool {
	return p.haConfigLocked(p.haResourcesFile()).get(sid) != nil
}

// haManagedLocked is service_is_ha_managed without a state: configured and
// not ignored.
func (p *PVE) haManagedLocked(sid string) bool {
	s := p.haConfigLocked(p.haResourcesFile()).get(sid)
	return s != nil && s.opts["state"] != "ignored"
}

// vmIsHAManagedLocked is vm_is_ha_managed: vm:<vmid> or ct:<vmid> is HA
// managed. The caller holds p.mu.
func (p *PVE) vmIsHAManagedLocked(vmid int) bool {
	return p.haManagedLocked(fmt.Sprintf("vm:%d", vmid)) || p.haManagedLocked(fmt.Sprintf("ct:%d", vmid))
}

// addHAResourceLocked adds a guest as HA resource in the given state (the
// ha-managed option of guest creation). The caller holds p.mu.
func (p *PVE) addHAResourceLocked(sid, state string) {
	cfg := p.haConfigLocked(p.haResourcesFile())
	if cfg.get(sid) != nil {
		return
	}
	typ, _, _ := strings.Cut(sid, ":")
	cfg.sections = append(cfg.sections, &haSection{typ: typ, id: sid, opts: map[string]string{"state": state}})
	p.writeHAConfigLocked(cfg)
}

// setHAStateLocked is "ha-manager set <sid> --state <state>", what the
// hastart and hastop workers run. The caller holds p.mu.
func (p *PVE) setHAStateLocked(sid, state string) {
	cfg := p.haConfigLocked(p.haResourcesFile())
	if s := cfg.get(sid); s != nil {
		s.opts["state"] = state
		p.writeHAConfigLocked(cfg)
	}
}

// deleteHAServiceLocked is delete_service_from_config (purging a guest, or
// removing the resource): it reports whether the resource was configured.
// With purgeRules (PVE 9) the resource also leaves the rules; rules left
// without resources are removed. The caller holds p.mu.
func (p *PVE) deleteHAServiceLocked(sid string, purgeRules bool) bool {
	cfg := p.haConfigLocked(p.haResourcesFile())
	if cfg.remove(sid) == nil {
		return false
	}
	p.writeHAConfigLocked(cfg)
	if purgeRules && p.rel.haRules {
		rules := p.haConfigLocked(haRulesFile)
		changed := false
		for _, s := range slices.Clone(rules.sections) {
			res := decodeRuleResources(s.opts["resources"])
			if !res[sid] {
				continue
			}
			delete(res, sid)
			changed = true
			if len(res) == 0 {
				rules.remove(s.id)
				continue
			}
			s.opts["resources"] = encodeRuleResources(res)
		}
		if changed {
			p.writeHAConfigLocked(rules)
		}
	}
	return true
}
