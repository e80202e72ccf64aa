package testlab

import (
	"crypto/md5"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/perl"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/pveschema"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/sim"
)

// High availability as pve-ha-manager serves it: /cluster/ha with the
// resources (src/PVE/API2/HA/Resources.pm, src/PVE/HA/Resources.pm,
// src/PVE/HA/Config.pm), on PVE 9 the rules (src/PVE/API2/HA/Rules.pm,
// src/PVE/HA/Rules.pm, Rules/NodeAffinity.pm, Rules/ResourceAffinity.pm), on
// PVE 8 the groups (src/PVE/API2/HA/Groups.pm, src/PVE/HA/Groups.pm), and
// the status (src/PVE/API2/HA/Status.pm).
//
// The configuration lives in section config files below /etc/pve/ha
// (resources.cfg, rules.cfg, groups.cfg). The lab keeps their text, writes
// them with PVE::SectionConfig's rules and parses them on every call, so
// digests are SHA1 sums of the text and values come back as a reread of
// the file gives them (integers and booleans as numbers, a rule's
// "disable 0" not at all).
//
// On PVE 9 a cluster without HA groups counts as migrated to rules: every
// groups call fails, and a resource cannot be given a group. A fresh 9.1
// cluster, like the lab, has no groups.
//
// The lab has no CRM and LRM daemons. The manager status is derived from
// the configuration: once a resource is configured, the first node is the
// CRM master, every node's LRM is active, and every resource that is not
// ignored is in the service status in the state it is requested to be in
// (started or stopped), on its guest's node. The lab does not start or stop
// guests for HA (an hastart of a container does, see lxclife.go).

// haState is /etc/pve/ha and what the lab remembers of the HA stack.
type haState struct {
	files      map[string]string // file name below /etc/pve/ha -> text
	master     string            // CRM master once the CRM ran
	lastActive time.Time         // last CRM round with resources
	uids       map[string]string // service status uid by SID
}

func newHAState() *haState {
	return &haState{files: map[string]string{}, uids: map[string]string{}}
}

func init() {
	pveschema.RegisterFormat("pve-ha-resource-id", func(v string) string {
		if haResourceIDRE.MatchString(v) {
			return ""
		}
		return "value does not look like a valid ha resource id\n"
	})
	pveschema.RegisterFormat("pve-ha-resource-or-vm-id", func(v string) string {
		if haResourceOrVMIDRE.MatchString(v) {
			return ""
		}
		return "value does not look like a valid ha resource id\n"
	})
	pveschema.RegisterFormat("pve-ha-group-node", func(v string) string {
		if haNodeRE.MatchString(v) {
			return ""
		}
		return "value does not look like a valid ha group node\n"
	})
	pveschema.RegisterFormat("pve-ha-node", func(v string) string {
		if haNodeRE.MatchString(v) {
			return ""
		}
		return "value does not look like a valid ha node\n"
	})
}

var (
	haResourceIDRE     = regexp.MustCompile(`^[a-z]+:\S+$`)
	haResourceOrVMIDRE = regexp.MustCompile(`^([a-z]+:\S+|\d+)$`)
	haNodeRE           = regexp.MustCompile(`^([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?)(:(\d+))?$`)
	haSIDRE            = regexp.MustCompile(`^(\S+):(\S+)$`)
	haVMIDRE           = regexp.MustCompile(`^\d+$`)
	haVMNameRE         = regexp.MustCompile(`^[1-9][0-9]+$`)
	haHeaderRE         = regexp.MustCompile(`^(\S+):\s*(\S+)\s*$`)
)

// --- section config files --------------------------------------------------

// haPlugin is a section type: its options (true = optional).
type haPlugin map[string]bool

// haFile describes one section config file of /etc/pve/ha.
type haFile struct {
	name    string
	plugins map[string]haPlugin
	// prefixedIDs: the section ID is "type:name" (resources.cfg).
	prefixedIDs bool
	// encodedComment: comments are written with encode_text (rules.cfg).
	encodedComment bool
}

// haBooleans and haIntegers are the typed options of the HA files.
var (
	haBooleans = map[string]bool{"failback": true, "nofailback": true, "restricted": true, "strict": true, "disable": true}
	haIntegers = map[string]bool{"max_restart": true, "max_relocate": true}
)

func (p *PVE) haResourcesFile() *haFile {
	opts := haPlugin{"state": true, "group": true, "comment": true, "max_restart": true, "max_relocate": true}
	if p.rel.haRules {
		opts["failback"] = true
	}
	return &haFile{name: "resources.cfg", plugins: map[string]haPlugin{"vm": opts, "ct": opts}, prefixedIDs: true}
}

var (
	haGroupsFile = &haFile{name: "groups.cfg", plugins: map[string]haPlugin{
		"group": {"nodes": false, "comment": true, "nofailback": true, "restricted": true},
	}}
	haRulesFile = &haFile{name: "rules.cfg", encodedComment: true, plugins: map[string]haPlugin{
		"node-affinity":     {"resources": false, "nodes": false, "strict": true, "disable": true, "comment": true},
		"resource-affinity": {"resources": false, "affinity": false, "disable": true, "comment": true},
	}}
)

// haSection is one section: values as the API sees them (booleans "0"/"1").
type haSection struct {
	typ  string
	id   string
	opts map[string]string
}

// haConfig is a parsed file: sections in file order and the digest.
type haConfig struct {
	file     *haFile
	sections []*haSection
	digest   string
}

func (c *haConfig) get(id string) *haSection {
	for _, s := range c.sections {
		if s.id == id {
			return s
		}
	}
	return nil
}

func (c *haConfig) remove(id string) *haSection {
	s := c.get(id)
	c.sections = slices.DeleteFunc(c.sections, func(x *haSection) bool { return x.id == id })
	return s
}

// order is the section's position in the file, counted from 1.
func (c *haConfig) order(id string) int {
	for i, s := range c.sections {
		if s.id == id {
			return i + 1
		}
	}
	return 0
}

// haConfigLocked reads a file (cfs_read_file). The caller holds p.mu.
func (p *PVE) haConfigLocked(f *haFile) *haConfig {
	raw := p.ha.files[f.name]
	sum := sha1.Sum([]byte(raw))
	cfg := &haConfig{file: f, digest: hex.EncodeToString(sum[:])}
	var cur *haSection
	for _, line := range perl.Lines(raw) {
		if strings.TrimSpace(line) == "" {
			cur = nil
			continue
		}
		if cur == nil {
			m := haHeaderRE.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			typ := strings.ToLower(m[1])
			if f.plugins[typ] == nil {
				continue
			}
			id := m[2]
			if f.prefixedIDs {
				id = typ + ":" + id
			}
			cur = &haSection{typ: typ, id: id, opts: map[string]string{}}
			cfg.sections = append(cfg.sections, cur)
			continue
		}
		m := sectionPropRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		key, value, defined := m[1], m[3], m[2] != ""
		if !defined {
			if !haBooleans[key] {
				continue // "missing value"
			}
			value = "1"
		}
		if key == "comment" && f.encodedComment {
			value = decodeText(value)
		}
		cur.opts[key] = value
	}
	return cfg
}

// writeHAConfigLocked writes a file (PVE::SectionConfig::write_config):
// the header, the comment, "disable" when set, the required options sorted,
// then the optional ones sorted; booleans as 0/1, empty values left out.
func (p *PVE) writeHAConfigLocked(c *haConfig) {
	var b strings.Builder
	for _, s := range c.sections {
		name := s.id
		if c.file.prefixedIDs {
			_, name, _ = strings.Cut(s.id, ":")
		}
		b.WriteString(s.typ + ": " + name + "\n")
		if v := s.opts["comment"]; perl.Truthy(v) {
			if c.file.encodedComment {
				v = encodeText(v)
			}
			b.WriteString("\tcomment " + v + "\n")
		}
		if perl.Truthy(s.opts["disable"]) {
			b.WriteString("\tdisable\n")
		}
		plugin := c.file.plugins[s.typ]
		keys := slices.Sorted(maps.Keys(plugin))
		line := func(k string) {
			v, ok := s.opts[k]
			switch {
			case !ok:
			case haBooleans[k]:
				b.WriteString("\t" + k + " " + perl.BoolString(perl.Truthy(v)) + "\n")
			case v != "":
				b.WriteString("\t" + k + " " + v + "\n")
			}
		}
		for _, k := range keys {
			if k != "comment" && k != "disable" && !plugin[k] {
				line(k)
			}
		}
		for _, k := range keys {
			if k != "comment" && k != "disable" && plugin[k] {
				line(k)
			}
		}
		b.WriteString("\n")
	}
	p.ha.files[c.file.name] = b.String()
}

// view is the section as the API returns it: integers and booleans as
// numbers.
func (s *haSection) view() map[string]any {
	out := map[string]any{"type": s.typ}
	for k, v := range s.opts {
		if haBooleans[k] || haIntegers[k] {
			n, _ := strconv.Atoi(v)
			out[k] = n
			continue
		}
		out[k] = v
	}
	return out
}

// checkHAConfig is the plugin's check_config(id, param, create, 1): every
// parameter must be an option of the section type (a "type" equal to the
// section's is fine), values must not contain line feeds, booleans are
// normalised and, on create, the required options must be there.
func checkHAConfig(f *haFile, typ string, params map[string]any, create bool) (map[string]string, error) {
	plugin := f.plugins[typ]
	if plugin == nil {
		return nil, fmt.Errorf("unknown section type '%s'\n", typ)
	}
	out := map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(params)) {
		v, ok := perl.Scalar(params[k])
		if params[k] == nil || !ok {
			continue
		}
		if k == "type" && v == typ {
			continue
		}
		if _, known := plugin[k]; !known {
			return nil, fmt.Errorf("unexpected property '%s'\n", k)
		}
		if strings.ContainsAny(v, "\n\r") {
			return nil, fmt.Errorf("property contains a line feed\n")
		}
		if haBooleans[k] {
			if b, ok := pveschema.ParseBoolean(v); ok {
				v = b
			}
		}
		out[k] = v
	}
	if create {
		for _, k := range slices.Sorted(maps.Keys(plugin)) {
			if _, ok := out[k]; !ok && !plugin[k] {
				return nil, fmt.Errorf("missing value for required option '%s'\n", k)
			}
		}
	}
	return out, nil
}

// deleteHAOptions is the "delete" handling of the update calls
// (SectionConfig::delete_from_config for rules, its inline copy for
// resources and groups, which do not refuse to set and delete at once).
func deleteHAOptions(plugin haPlugin, s *haSection, set map[string]string, list string, refuseSet bool) error {
	for _, k := range pveschema.SplitList(list) {
		optional, known := plugin[k]
		switch {
		case !known:
			return fmt.Errorf("no such option '%s'\n", k)
		case !optional:
			return fmt.Errorf("unable to delete required option '%s'\n", k)
		}
		if _, ok := set[k]; ok && refuseSet {
			return fmt.Errorf("cannot set and delete property '%s' at the same time!\n", k)
		}
		delete(s.opts, k)
	}
	return nil
}

// haFail is lock_ha_domain's die: the message of the failed step after
// the step's name.
func haFail(step string, err error) error {
	return Errorf(http.StatusInternalServerError, "%s: %s", step, err.Error())
}

// haLock is the error of a lock timeout on the ha domain.
func haLock(step string) RouteOption {
	return WithLockMessage(func(*Request) string {
		return step + ": cfs-lock 'domain-ha' error: got lock request timeout"
	})
}

func dief(format string, args ...any) error { return fmt.Errorf(format+"\n", args...) }

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
	p.haTouchLocked()
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
	p.haTouchLocked()
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
	delete(p.ha.uids, sid)
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

// haTouchLocked notes that the CRM has work: the first node of the
// state's node list becomes the CRM master.
func (p *PVE) haTouchLocked() {
	if p.ha.master == "" && len(p.nodes) > 0 {
		p.ha.master = p.nodes[0].Name
	}
	p.ha.lastActive = time.Now()
}

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

// --- rules (PVE 9) -----------------------------------------------------------

// haRule is a rule decoded for the checks (decode_value).
type haRule struct {
	id        string
	typ       string
	resources map[string]bool
	nodes     map[string]int // node -> priority
	affinity  string
	disabled  bool // the rule has a "disable" key, whatever its value
}

func decodeRuleResources(v string) map[string]bool {
	out := map[string]bool{}
	for _, sid := range pveschema.SplitList(v) {
		if haResourceIDRE.MatchString(sid) {
			out[sid] = true
		}
	}
	return out
}

func encodeRuleResources(set map[string]bool) string {
	return strings.Join(slices.Sorted(maps.Keys(set)), ",")
}

// decodeRuleNodes parses "pve1:2,pve2" (parse_node_priority, invalid
// entries left out).
func decodeRuleNodes(v string) map[string]int {
	out := map[string]int{}
	for _, e := range pveschema.SplitList(v) {
		m := haNodeRE.FindStringSubmatch(e)
		if m == nil {
			continue
		}
		prio, _ := strconv.Atoi(m[4])
		out[m[1]] = prio
	}
	return out
}

// encodeRuleNodes prints the nodes sorted, with their priority unless 0.
func encodeRuleNodes(nodes map[string]int) string {
	var parts []string
	for _, n := range slices.Sorted(maps.Keys(nodes)) {
		if prio := nodes[n]; prio != 0 {
			parts = append(parts, fmt.Sprintf("%s:%d", n, prio))
		} else {
			parts = append(parts, n)
		}
	}
	return strings.Join(parts, ",")
}

func decodeRule(s *haSection) *haRule {
	_, disabled := s.opts["disable"]
	return &haRule{
		id:        s.id,
		typ:       s.typ,
		resources: decodeRuleResources(s.opts["resources"]),
		nodes:     decodeRuleNodes(s.opts["nodes"]),
		affinity:  s.opts["affinity"],
		disabled:  disabled,
	}
}

// ruleErrors are the feasibility errors: rule -> option -> messages.
type ruleErrors map[string]map[string][]string

func (e ruleErrors) add(rule, opt, msg string) {
	if e[rule] == nil {
		e[rule] = map[string][]string{}
	}
	e[rule][opt] = append(e[rule][opt], msg)
}

func setsDisjoint(a, b map[string]bool) bool {
	for k := range a {
		if b[k] {
			return false
		}
	}
	return true
}

// checkRuleFeasibility is PVE::HA::Rules->check_feasibility: the checks of
// the node affinity plugin, of the resource affinity plugin, then the
// checks between them, on the enabled rules.
func checkRuleFeasibility(rules []*haRule, nodes []string) ruleErrors {
	errs := ruleErrors{}
	var nodeAffinity, resourceAffinity, positive, negative []*haRule
	for _, r := range rules {
		if r.disabled {
			continue
		}
		switch {
		case r.typ == "node-affinity":
			nodeAffinity = append(nodeAffinity, r)
		case r.typ == "resource-affinity":
			resourceAffinity = append(resourceAffinity, r)
			if r.affinity == "positive" {
				positive = append(positive, r)
			} else if r.affinity == "negative" {
				negative = append(negative, r)
			}
		}
	}
	byID := func(list []*haRule) []*haRule {
		return slices.SortedFunc(slices.Values(list), func(a, b *haRule) int { return strings.Compare(a.id, b.id) })
	}
	nodeAffinity, resourceAffinity, positive, negative = byID(nodeAffinity), byID(resourceAffinity), byID(positive), byID(negative)

	// node affinity: a resource in at most one node affinity rule
	users := map[string][]string{}
	for _, r := range nodeAffinity {
		for sid := range r.resources {
			users[sid] = append(users[sid], r.id)
		}
	}
	type pair struct{ a, b string }
	var conflicts []pair
	for sid, ids := range users {
		if len(ids) > 1 {
			for _, id := range ids {
				conflicts = append(conflicts, pair{id, sid})
			}
		}
	}
	sortPairs := func(ps []pair) {
		slices.SortFunc(ps, func(x, y pair) int {
			if c := strings.Compare(x.a, y.a); c != 0 {
				return c
			}
			return strings.Compare(x.b, y.b)
		})
	}
	sortPairs(conflicts)
	for _, c := range conflicts {
		errs.add(c.a, "resources", fmt.Sprintf("resource '%s' is already used in another node affinity rule", c.b))
	}

	// resource affinity
	for _, r := range resourceAffinity {
		if len(r.resources) < 2 {
			errs.add(r.id, "resources", "rule is ineffective as there are less than two resources")
		}
	}
	for _, r := range negative {
		if len(r.resources) > len(nodes) {
			errs.add(r.id, "resources", "rule defines more resources than available nodes")
		}
	}
	for _, pos := range positive {
		for _, neg := range negative {
			common := 0
			for sid := range pos.resources {
				if neg.resources[sid] {
					common++
				}
			}
			if common >= 2 {
				errs.add(pos.id, "resources", "rule shares two or more resources with a negative resource affinity rule")
				errs.add(neg.id, "resources", "rule shares two or more resources with a positive resource affinity rule")
			}
		}
	}

	// between the types; conflicts sort by type name, then rule
	conflicts = nil
	for _, ra := range resourceAffinity {
		var paired []string
		multiple := false
		for _, na := range nodeAffinity {
			if setsDisjoint(ra.resources, na.resources) {
				continue
			}
			if !multiple {
				multiple = hasMultiplePriorities(na)
			}
			paired = append(paired, na.id)
		}
		if multiple {
			conflicts = append(conflicts, pair{"resource-affinity", ra.id})
			for _, id := range paired {
				conflicts = append(conflicts, pair{"node-affinity", id})
			}
		}
	}
	sortPairs(conflicts)
	for _, c := range conflicts {
		if c.a == "node-affinity" {
			errs.add(c.b, "resources", "resources are in a resource affinity rule and cannot be in a node affinity rule with multiple priorities")
		} else {
			errs.add(c.b, "resources", "resources are in node affinity rules with multiple priorities")
		}
	}

	conflicts = nil
	for _, comp := range disjointResourceSets(positive) {
		var paired []string
		for _, na := range nodeAffinity {
			if !setsDisjoint(comp.resources, na.resources) {
				paired = append(paired, na.id)
			}
		}
		if len(paired) > 1 {
			for _, id := range comp.ids {
				conflicts = append(conflicts, pair{"positive", id})
			}
			for _, id := range paired {
				conflicts = append(conflicts, pair{"node-affinity", id})
			}
		}
	}
	sortPairs(conflicts)
	for _, c := range conflicts {
		if c.a == "positive" {
			errs.add(c.b, "resources", "resources are in multiple node affinity rules")
		} else {
			errs.add(c.b, "resources", "at least one resource is in a positive resource affinity rule and there are other resources in at least one other node affinity rule already")
		}
	}

	conflicts = nil
	for _, neg := range negative {
		allowed, located := map[string]bool{}, map[string]bool{}
		var paired []string
		for _, na := range nodeAffinity {
			common := 0
			for sid := range neg.resources {
				if na.resources[sid] {
					located[sid] = true
					common++
				}
			}
			if common < 1 {
				continue
			}
			for n := range na.nodes {
				allowed[n] = true
			}
			paired = append(paired, na.id)
		}
		if len(allowed) < len(located) {
			conflicts = append(conflicts, pair{"negative", neg.id})
			for _, id := range paired {
				conflicts = append(conflicts, pair{"node-affinity", id})
			}
		}
	}
	sortPairs(conflicts)
	for _, c := range conflicts {
		if c.a == "negative" {
			errs.add(c.b, "resources", "two or more resources are restricted to less nodes than available to the resources")
		} else {
			errs.add(c.b, "resources", "at least one resource is in a negative resource affinity rule and this rule would restrict these to less nodes than available to the resources")
		}
	}
	return errs
}

func hasMultiplePriorities(r *haRule) bool {
	first, set := 0, false
	for _, prio := range r.nodes {
		if !set {
			first, set = prio, true
		}
		if prio != first {
			return true
		}
	}
	return false
}

// resourceSet is a connected set of positive resource affinity rules.
type resourceSet struct {
	resources map[string]bool
	ids       []string
}

// disjointResourceSets is find_disjoint_rules_resource_sets: rules whose
// resources overlap, directly or through others, form one set.
func disjointResourceSets(rules []*haRule) []resourceSet {
	var sets []resourceSet
	for _, r := range rules {
		merged := resourceSet{resources: maps.Clone(r.resources), ids: []string{r.id}}
		var rest []resourceSet
		for _, s := range sets {
			if setsDisjoint(s.resources, merged.resources) {
				rest = append(rest, s)
				continue
			}
			maps.Copy(merged.resources, s.resources)
			merged.ids = append(merged.ids, s.ids...)
		}
		sets = append(rest, merged)
	}
	return sets
}

// nodeNamesLocked is the cluster's node list.
func (p *PVE) nodeNamesLocked() []string {
	var out []string
	for _, n := range p.nodes {
		out = append(out, n.Name)
	}
	return out
}

// ruleFeasibilityLocked checks the rules of cfg.
func (p *PVE) ruleFeasibilityLocked(cfg *haConfig) ruleErrors {
	var rules []*haRule
	for _, s := range cfg.sections {
		rules = append(rules, decodeRule(s))
	}
	return checkRuleFeasibility(rules, p.nodeNamesLocked())
}

// ruleView is $get_api_ha_rule: the options, rule, digest and order,
// resources and nodes printed back, and the rule's feasibility errors.
func ruleView(cfg *haConfig, s *haSection, errs ruleErrors) map[string]any {
	out := s.view()
	out["rule"], out["digest"], out["order"] = s.id, cfg.digest, cfg.order(s.id)
	if v, ok := s.opts["resources"]; ok {
		out["resources"] = encodeRuleResources(decodeRuleResources(v))
	}
	if v, ok := s.opts["nodes"]; ok {
		out["nodes"] = encodeRuleNodes(decodeRuleNodes(v))
	}
	if e := errs[s.id]; e != nil {
		m := map[string]any{}
		for k, v := range e {
			m[k] = v
		}
		out["errors"] = m
	}
	return out
}

// listHARules serves GET /cluster/ha/rules, in the order of the file.
func (p *PVE) listHARules(r *Request) (any, error) {
	typ, _ := r.String("type")
	resource, hasResource := r.String("resource")
	p.mu.Lock()
	defer p.mu.Unlock()
	cfg := p.haConfigLocked(haRulesFile)
	errs := p.ruleFeasibilityLocked(cfg)
	out := []map[string]any{}
	for _, s := range cfg.sections {
		if typ != "" && s.typ != typ {
			continue
		}
		if hasResource && !decodeRuleResources(s.opts["resources"])[resource] {
			continue
		}
		out = append(out, ruleView(cfg, s, errs))
	}
	return out, nil
}

// readHARule serves GET /cluster/ha/rules/{rule}.
func (p *PVE) readHARule(r *Request) (any, error) {
	id := r.PathParams["rule"]
	p.mu.Lock()
	defer p.mu.Unlock()
	cfg := p.haConfigLocked(haRulesFile)
	s := cfg.get(id)
	if s == nil {
		return nil, Errorf(http.StatusInternalServerError, "no such ha rule '%s'", id)
	}
	return ruleView(cfg, s, p.ruleFeasibilityLocked(cfg)), nil
}

// ruleSettings is the plugin's check_config with "resources" and "nodes"
// decoded (and printed back, as the file will have them).
func ruleSettings(typ string, params map[string]any, create bool) (map[string]string, error) {
	params = maps.Clone(params)
	for _, k := range []string{"rule", "digest", "delete"} {
		delete(params, k)
	}
	opts, err := checkHAConfig(haRulesFile, typ, params, create)
	if err != nil {
		return nil, err
	}
	if v, ok := opts["resources"]; ok {
		opts["resources"] = encodeRuleResources(decodeRuleResources(v))
	}
	if v, ok := opts["nodes"]; ok {
		opts["nodes"] = encodeRuleNodes(decodeRuleNodes(v))
	}
	return opts, nil
}

// assertRuleReferencesLocked checks that the resources of a rule are
// configured and its nodes exist (the local node always does).
func (p *PVE) assertRuleReferencesLocked(opts map[string]string, local string) error {
	var unmanaged []string
	for _, sid := range slices.Sorted(maps.Keys(decodeRuleResources(opts["resources"]))) {
		if !p.haConfiguredLocked(sid) {
			unmanaged = append(unmanaged, sid)
		}
	}
	if len(unmanaged) > 0 {
		return dief("cannot use unmanaged resource(s) %s.", strings.Join(unmanaged, ", "))
	}
	if v, ok := opts["nodes"]; ok {
		var missing []string
		for _, n := range slices.Sorted(maps.Keys(decodeRuleNodes(v))) {
			if n != local && p.nodeLocked(n) == nil {
				missing = append(missing, n)
			}
		}
		if len(missing) > 0 {
			return dief("cannot use non-existant node(s) %s.", strings.Join(missing, ", "))
		}
	}
	return nil
}

// assertRuleFeasibleLocked is $assert_feasibility: the PVE::Exception for
// the rule's errors, which lock_ha_domain turns into text after the step.
func (p *PVE) assertRuleFeasibleLocked(cfg *haConfig, id string) error {
	e := p.ruleFeasibilityLocked(cfg)[id]
	if e == nil {
		return nil
	}
	msg := fmt.Sprintf("400 Rule '%s' is invalid.\n", id)
	for _, opt := range slices.Sorted(maps.Keys(e)) {
		msg += opt + ": " + strings.Join(e[opt], ", ") + "\n"
	}
	return fmt.Errorf("%s", msg)
}

// createHARule serves POST /cluster/ha/rules.
func (p *PVE) createHARule(r *Request) (any, error) {
	typ, _ := r.String("type")
	id, _ := r.String("rule")
	const step = "create ha rule failed"
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.haConfigLocked(haGroupsFile).sections) > 0 {
		return nil, Errorf(http.StatusInternalServerError, "cannot create ha rule: ha groups have not been migrated yet")
	}
	params := maps.Clone(r.Params)
	delete(params, "type")
	opts, err := ruleSettings(typ, params, true)
	if err != nil {
		return nil, Errorf(http.StatusInternalServerError, "%s", err.Error())
	}
	cfg := p.haConfigLocked(haRulesFile)
	if cfg.get(id) != nil {
		return nil, haFail(step, dief("HA rule '%s' already defined", id))
	}
	if err := p.assertRuleReferencesLocked(opts, r.LocalNode); err != nil {
		return nil, haFail(step, err)
	}
	cfg.sections = append(cfg.sections, &haSection{typ: typ, id: id, opts: opts})
	if err := p.assertRuleFeasibleLocked(cfg, id); err != nil {
		return nil, haFail(step, err)
	}
	p.writeHAConfigLocked(cfg)
	return nil, nil
}

// updateHARule serves PUT /cluster/ha/rules/{rule}: the type must be the
// rule's.
func (p *PVE) updateHARule(r *Request) (any, error) {
	id := r.PathParams["rule"]
	digest, _ := r.String("digest")
	deleteList, _ := r.String("delete")
	const step = "update HA rules failed"
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.haConfigLocked(haGroupsFile).sections) > 0 {
		return nil, Errorf(http.StatusInternalServerError, "cannot update ha rule: ha groups have not been migrated yet")
	}
	cfg := p.haConfigLocked(haRulesFile)
	if digest != "" && digest != cfg.digest {
		return nil, haFail(step, dief("detected modified configuration - file changed by other user? Try again."))
	}
	s := cfg.get(id)
	if s == nil {
		return nil, haFail(step, dief("HA rule '%s' does not exist", id))
	}
	opts, err := ruleSettings(s.typ, r.Params, false)
	if err != nil {
		return nil, haFail(step, err)
	}
	if err := p.assertRuleReferencesLocked(opts, r.LocalNode); err != nil {
		return nil, haFail(step, err)
	}
	if err := deleteHAOptions(haRulesFile.plugins[s.typ], s, opts, deleteList, true); err != nil {
		return nil, haFail(step, err)
	}
	maps.Copy(s.opts, opts)
	if err := p.assertRuleFeasibleLocked(cfg, id); err != nil {
		return nil, haFail(step, err)
	}
	p.writeHAConfigLocked(cfg)
	return nil, nil
}

// deleteHARule serves DELETE /cluster/ha/rules/{rule}; a rule that does
// not exist is no error.
func (p *PVE) deleteHARule(r *Request) (any, error) {
	id := r.PathParams["rule"]
	p.mu.Lock()
	defer p.mu.Unlock()
	cfg := p.haConfigLocked(haRulesFile)
	cfg.remove(id)
	p.writeHAConfigLocked(cfg)
	return nil, nil
}

// --- status ----------------------------------------------------------------

// haServiceConfig is read_and_check_resources_config for one resource: the
// section with defaults and the guest's node.
type haServiceConfig struct {
	sid  string
	node string
	opts map[string]any
}

func (p *PVE) haServicesLocked() []*haServiceConfig {
	var out []*haServiceConfig
	for _, s := range p.haConfigLocked(p.haResourcesFile()).sections {
		opts := s.view()
		if st, _ := opts["state"].(string); st == "" || st == "enabled" {
			opts["state"] = "started"
		}
		defaults := []string{"max_restart", "max_relocate"}
		if p.rel.haRules {
			defaults = append(defaults, "failback")
		}
		for _, k := range defaults {
			if _, ok := opts[k]; !ok {
				opts[k] = 1
			}
		}
		sc := &haServiceConfig{sid: s.id, opts: opts}
		_, name, _ := strings.Cut(s.id, ":")
		if id, err := strconv.Atoi(name); err == nil {
			sc.node = p.guests[id].node
		}
		out = append(out, sc)
	}
	return out
}

// guestRunningLocked reports whether the guest of a resource runs.
func (p *PVE) guestRunningLocked(sid string) bool {
	_, name, _ := strings.Cut(sid, ":")
	id, _ := strconv.Atoi(name)
	if vm := p.qemu.vms[id]; vm != nil {
		return vm.running
	}
	if ct := p.lxc.cts[id]; ct != nil {
		return ct.running
	}
	return false
}

// haUID is the uid of a service status entry (compute_new_uuid).
func (p *PVE) haUIDLocked(sid string) string {
	uid, ok := p.ha.uids[sid]
	if !ok {
		sum := md5.Sum([]byte(sid + sim.RandomHex(8)))
		uid = base64.RawStdEncoding.EncodeToString(sum[:])
		p.ha.uids[sid] = uid
	}
	return uid
}

// haManagerStatusLocked is the manager status (ha/manager_status) the CRM
// would have written: empty before the CRM ever had work. The caller holds
// p.mu.
func (p *PVE) haManagerStatusLocked(now time.Time) map[string]any {
	if p.ha.master == "" {
		return map[string]any{}
	}
	services := p.haServicesLocked()
	if len(services) > 0 {
		p.ha.lastActive = now
	}
	ss := map[string]any{}
	for _, sc := range services {
		req := sc.opts["state"].(string)
		if req == "ignored" {
			continue
		}
		crm := "stopped"
		if req == "started" {
			crm = "started"
		}
		e := map[string]any{"node": sc.node, "state": crm, "uid": p.haUIDLocked(sc.sid)}
		if crm == "started" {
			e["running"] = perl.BoolInt(p.guestRunningLocked(sc.sid))
		}
		ss[sc.sid] = e
	}
	ns := map[string]any{}
	for _, n := range p.nodes {
		ns[n.Name] = "online"
	}
	return map[string]any{
		"master_node":    p.ha.master,
		"node_status":    ns,
		"service_status": ss,
		"timestamp":      p.ha.lastActive.Unix(),
	}
}

// haServiceStateLocked is the CRM state of a resource ("" when the manager
// does not track it).
func (p *PVE) haServiceStateLocked(sid string) string {
	ms := p.haManagerStatusLocked(time.Now())
	ss, _ := ms["service_status"].(map[string]any)
	if e, ok := ss[sid].(map[string]any); ok {
		return e["state"].(string)
	}
	return ""
}

// countActiveServices is PVE::HA::Tools::count_active_services.
func countActiveServices(ss map[string]any, node string) int {
	n := 0
	for _, v := range ss {
		e := v.(map[string]any)
		if e["node"] != node {
			continue
		}
		switch e["state"] {
		case "stopped", "freeze", "error", "":
			continue
		}
		n++
	}
	return n
}

// lrmStatusLocked is a node's lrm_status: the LRM runs on every node and
// holds the agent lock while it has active services.
func (p *PVE) lrmStatusLocked(node string, ss map[string]any, now time.Time) map[string]any {
	state := "wait_for_agent_lock"
	if countActiveServices(ss, node) > 0 {
		state = "active"
	}
	return map[string]any{"mode": "active", "state": state, "timestamp": now.Unix(), "results": map[string]any{}}
}

// timestampToStatus is $timestamp_to_status.
func timestampToStatus(now, ts int64) string {
	switch d := now - ts; {
	case d > 30:
		return "old timestamp - dead?"
	case d < -2:
		return "detected time drift!"
	}
	return "active"
}

// verboseServiceState is get_verbose_service_state.
func verboseServiceState(ss map[string]any, req string) string {
	if req == "" {
		req = "ignored"
	}
	if req == "ignored" {
		return "ignored"
	}
	if ss == nil {
		return "queued"
	}
	cur, _ := ss["state"].(string)
	state := cur
	switch cur {
	case "":
		state = "queued"
	case "stopped":
		if req == "started" {
			state = "starting"
		} else if req == "disabled" {
			state = "disabled"
		}
	case "started":
		if req == "stopped" || req == "disabled" {
			state = "stopping"
		}
		if ss["running"] != 1 {
			state = "starting"
		}
	case "error":
		if req == "disabled" {
			state = "clearing error flag"
		}
	}
	return state
}

// haStatusCurrent serves GET /cluster/ha/status/current. The quorum
// entry is check_cfs_quorum of the node answering.
func (p *PVE) haStatusCurrent(r *Request) (any, error) {
	now := time.Now()
	local := r.LocalNode
	quorate := p.quorate() // takes lab.mu: before p.mu
	p.mu.Lock()
	defer p.mu.Unlock()
	p.settleLocked(now)
	quorum := map[string]any{"id": "quorum", "type": "quorum", "node": local, "status": "OK", "quorate": 1}
	if !quorate {
		quorum["status"], quorum["quorate"] = fmt.Sprintf("No quorum on node '%s'!", local), 0
	}
	res := []map[string]any{quorum}
	ms := p.haManagerStatusLocked(now)
	services := p.haServicesLocked()
	master, _ := ms["master_node"].(string)
	crmActive := false
	if master != "" {
		ts := ms["timestamp"].(int64)
		status := timestampToStatus(now.Unix(), ts)
		crmActive = status == "active"
		if status != "active" && len(services) == 0 {
			status = "idle"
		}
		extra := ""
		if dc, err := p.datacenterConfigLocked(); err == nil {
			if crs, ok := dc["crs"].(map[string]any); ok {
				if mode, _ := crs["ha"].(string); mode != "" && mode != "basic" {
					extra = " - " + mode + " load CRS"
				}
			}
		}
		res = append(res, map[string]any{
			"id": "master", "type": "master", "node": master, "timestamp": ts,
			"status": fmt.Sprintf("%s (%s, %s)%s", master, status, perl.Localtime(ts), extra),
		})
	}
	if p.rel.haRules {
		node := master
		if node == "" {
			node = local
		}
		armed, wd := "standby", "CRM watchdog standby"
		if crmActive {
			armed, wd = "armed", "CRM watchdog active"
		}
		res = append(res, map[string]any{
			"id": "fencing", "type": "fencing", "node": node,
			"status": fmt.Sprintf("%s (%s)", armed, wd), "armed-state": armed,
		})
	}
	ss, _ := ms["service_status"].(map[string]any)
	ns, _ := ms["node_status"].(map[string]any)
	for _, node := range slices.Sorted(maps.Keys(ns)) {
		lrm := p.lrmStatusLocked(node, ss, now)
		ts := lrm["timestamp"].(int64)
		lrmState := lrm["state"].(string)
		status := lrmState
		if lrmState == "wait_for_agent_lock" && countActiveServices(ss, node) == 0 {
			status = "idle"
		}
		text := fmt.Sprintf("%s (%s, %s)", node, status, perl.Localtime(ts))
		if p.rel.haRules {
			wd := "watchdog standby"
			if lrmState == "active" {
				wd = "watchdog active"
			}
			text = fmt.Sprintf("%s (%s, %s, %s)", node, status, wd, perl.Localtime(ts))
		}
		res = append(res, map[string]any{"id": "lrm:" + node, "type": "lrm", "node": node, "status": text, "timestamp": ts})
	}
	bySID := map[string]*haServiceConfig{}
	for _, sc := range services {
		bySID[sc.sid] = sc
	}
	addService := func(sid string, sc *haServiceConfig, sd map[string]any) {
		data := map[string]any{"id": "service:" + sid, "type": "service", "sid": sid}
		var node any
		if sd != nil {
			node = sd["node"]
			data["node"], data["crm_state"] = sd["node"], sd["state"]
		} else if sc != nil {
			node = sc.node
			data["node"] = sc.node
		}
		req := ""
		if sc != nil {
			req, _ = sc.opts["state"].(string)
		}
		data["state"] = verboseServiceState(sd, req)
		nodeText, _ := node.(string)
		if nodeText == "" {
			nodeText = "---"
		}
		data["status"] = fmt.Sprintf("%s (%s, %s)", sid, nodeText, data["state"])
		if sc != nil {
			data["request_state"] = req
			for _, k := range []string{"group", "max_restart", "max_relocate", "failback", "comment"} {
				if v, ok := sc.opts[k]; ok {
					data[k] = v
				}
			}
		}
		res = append(res, data)
	}
	for _, sid := range slices.Sorted(maps.Keys(ss)) {
		addService(sid, bySID[sid], ss[sid].(map[string]any))
	}
	for _, sc := range services {
		if _, ok := ss[sc.sid]; !ok {
			addService(sc.sid, sc, nil)
		}
	}
	return res, nil
}

// haManagerStatus serves GET /cluster/ha/status/manager_status: the
// manager status, the quorum and every node's LRM status. "quorate" is
// check_cfs_quorum(1) as it is: 1, or Perl's false ("") without quorum.
func (p *PVE) haManagerStatus(r *Request) (any, error) {
	now := time.Now()
	local := r.LocalNode
	var quorate any = 1
	if !p.quorate() { // takes lab.mu: before p.mu
		quorate = ""
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.settleLocked(now)
	ms := p.haManagerStatusLocked(now)
	data := map[string]any{"manager_status": ms, "quorum": map[string]any{"node": local, "quorate": quorate}}
	if ns, ok := ms["node_status"].(map[string]any); ok {
		ss, _ := ms["service_status"].(map[string]any)
		lrm := map[string]any{}
		for node := range ns {
			lrm[node] = p.lrmStatusLocked(node, ss, now)
		}
		data["lrm_status"] = lrm
	}
	return data, nil
}

// haCreateState is the state a guest created with ha-managed gets: started
// when it is to be started after creation.
func haCreateState(start bool) string {
	if start {
		return "started"
	}
	return "stopped"
}
