package pvesim

import (
	"crypto/sha1"
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
// The CRM and the LRMs run in rounds (ha_manager.go, ha_lrm.go): a
// requested state becomes the service state at the master's next round and
// the guest changes when its node's LRM runs. Starting, stopping, shutting
// down or migrating an HA-managed guest through the guest API only asks HA
// for it (hastart, hastop, hamigrate tasks that end at once).
//
// This file holds the HA state and the section config files below /etc/pve/ha
// (src/PVE/HA/Config.pm's read and write, PVE::SectionConfig's format, the
// checks of each section type); the routes and resources are in
// ha_resources.go, the groups in ha_groups.go, the rules in ha_rules.go and
// the status in ha_status.go.

// haState is /etc/pve/ha and what the lab remembers of the HA stack.
type haState struct {
	files      map[string]string     // file name below /etc/pve/ha -> text
	master     string                // CRM master once the CRM ran
	lastActive time.Time             // the master's last round (manager status timestamp)
	ss         map[string]*haService // manager status: service status by SID
	cmds       []string              // crm_commands not yet read by the master
	nodeState  map[string]string     // manager status: node status
	lastOnline map[string]time.Time  // NodeStatus: when the master last saw each node online
	lrm        map[string]*haLRM     // every node's LRM
}

func newHAState() *haState {
	return &haState{files: map[string]string{}, ss: map[string]*haService{}, nodeState: map[string]string{},
		lastOnline: map[string]time.Time{}, lrm: map[string]*haLRM{}}
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
			value = sim.PercentDecode(value)
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
