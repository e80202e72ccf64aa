package pvesim

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/pveschema"
)

// HA rules as pve-ha-manager serves them on PVE 9 (src/PVE/API2/HA/Rules.pm,
// src/PVE/HA/Rules.pm, Rules/NodeAffinity.pm, Rules/ResourceAffinity.pm):
// decoding the sections of /etc/pve/ha/rules.cfg, the feasibility checks
// (check_feasibility and the plugins' checks) and the /cluster/ha/rules
// handlers.

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
