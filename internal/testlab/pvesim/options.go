package pvesim

import (
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/perl"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/pveschema"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/sim"
)

// The datacenter options, /etc/pve/datacenter.cfg, as pve-manager's
// PVE/API2/Cluster.pm (get_options, set_options, nextid) and pve-cluster's
// PVE/DataCenterConfig.pm (parse_datacenter_config, write_datacenter_config)
// handle them. The lab keeps the text of the file; every call parses it like
// cfs_read_file does, so values come back as PVE returns them:
//
//   - plain values as the file has them (strings, also for integers such as
//     max_workers: PVE::JSONSchema::parse_config converts only booleans);
//   - the property strings crs, migration, next-id, ha, notify, u2f,
//     webauthn, tag-style, user-tag-access (and, on PVE 9, replication)
//     parsed into objects, their booleans as numbers;
//   - registered-tags and user-tag-access' user-allow-list as lists;
//   - description always (from the comment lines of the file, "" without),
//     mac_prefix always (the Proxmox OUI BC:24:11 unless set).
//
// PUT sets the given values as they are sent and then removes the keys in
// "delete"; writing the file prints the parsed property strings back,
// checks next-id's boundaries and drops a mac_prefix equal to the default.

// proxmoxOUI is $PROXMOX_OUI, the default MAC prefix.
const proxmoxOUI = "BC:24:11"

// dcPropertyStrings are the keys parse_datacenter_config parses with
// parse_property_string, in the order it does.
func (p *PVE) dcPropertyStrings() []string {
	keys := []string{"crs", "migration", "next-id", "ha", "notify", "u2f", "webauthn", "tag-style", "user-tag-access"}
	if p.rel.major >= 9 {
		keys = append(keys, "replication") // PVE 9.1's replication network, like migration
	}
	return keys
}

// dcDefaultKeys are the default keys of the property strings, for labs
// without a schema (with one, the schema says).
var dcDefaultKeys = map[string]string{"migration": "type", "replication": "type"}

// optionsSchema returns the parameters of PUT /cluster/options (the
// datacenter schema plus "delete"), nil without a schema.
func (p *PVE) optionsSchema() *pveschema.Property {
	n, _ := p.routes.match("/cluster/options")
	if n == nil {
		return nil
	}
	e := p.routes.endpointFor(n, http.MethodPut)
	if e == nil || e.schema == nil {
		return nil
	}
	return e.schema.Params
}

// dcFormat returns the inline format of a property string option.
func (p *PVE) dcFormat(key string) map[string]*pveschema.Property {
	if s := p.optionsSchema(); s != nil {
		if ps := s.Properties[key]; ps != nil {
			return ps.FormatProps
		}
	}
	return nil
}

var dcLineRE = regexp.MustCompile(`^(\S+?):\s*(.*)$`)

// datacenterConfigLocked is cfs_read_file('datacenter.cfg'). The caller
// holds p.mu.
func (p *PVE) datacenterConfigLocked() (map[string]any, error) {
	return p.parseDatacenterConfig(p.dcConfig)
}

// parseDatacenterConfig is parse_datacenter_config.
func (p *PVE) parseDatacenterConfig(raw string) (map[string]any, error) {
	comment := ""
	for _, line := range perl.Lines(raw) {
		if rest, ok := strings.CutPrefix(line, "#"); ok {
			comment += sim.PercentDecode(rest) + "\n"
		}
	}

	// PVE::JSONSchema::parse_config: trimmed "key: value" lines, booleans
	// parsed, then every key checked against the schema; keys that fail are
	// dropped (with a warning in the log of the reader).
	schema := p.optionsSchema()
	cfg := map[string]any{}
	for _, line := range strings.Split(raw, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m := dcLineRE.FindStringSubmatch(line)
		if m == nil {
			continue // "ignore config line"
		}
		key, value := m[1], m[2]
		if schema != nil {
			if ps := schema.Properties[key]; ps != nil && ps.Type == "boolean" {
				if b, ok := pveschema.ParseBoolean(value); ok {
					value = b
				}
			}
		}
		cfg[key] = value
	}
	if schema != nil {
		props := maps.Clone(schema.Properties)
		delete(props, "delete") // not part of the datacenter schema
		errs := map[string]string{}
		pveschema.CheckObject("", props, nil, true, cfg, errs)
		for k := range errs {
			delete(cfg, k)
		}
		for k, v := range cfg {
			if ps := props[k]; ps != nil && ps.Type == "boolean" {
				cfg[k], _ = strconv.Atoi(v.(string))
			}
		}
	}

	cfg["description"] = comment
	if _, ok := cfg["mac_prefix"]; !ok {
		cfg["mac_prefix"] = proxmoxOUI
	}
	for _, key := range p.dcPropertyStrings() {
		v, _ := cfg[key].(string)
		if !perl.Truthy(v) {
			continue
		}
		parsed, err := p.parseDCPropertyString(key, v)
		if err != nil {
			return nil, err
		}
		cfg[key] = parsed
	}
	if uta, ok := cfg["user-tag-access"].(map[string]any); ok {
		if list, _ := uta["user-allow-list"].(string); perl.Truthy(list) {
			uta["user-allow-list"] = splitTags(list)
		}
	}
	if tags, _ := cfg["registered-tags"].(string); perl.Truthy(tags) {
		cfg["registered-tags"] = splitTags(tags)
	}
	// for backwards compatibility only, new migration property has precedence
	if mu, ok := cfg["migration_unsecure"]; ok {
		mig, _ := cfg["migration"].(map[string]any)
		if _, has := mig["type"]; !has {
			if mig == nil {
				mig = map[string]any{}
				cfg["migration"] = mig
			}
			mig["type"] = "secure"
			if s, _ := perl.Scalar(mu); perl.Truthy(s) {
				mig["type"] = "insecure"
			}
		}
	}
	if cfg["console"] == "applet" { // backwards compatibility: applet maps to html5
		cfg["console"] = "html5"
	}
	return cfg, nil
}

// splitTags is Perl's split(';', ...): trailing empty fields dropped.
func splitTags(s string) []any {
	out := []any{}
	parts := strings.Split(s, ";")
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	for _, t := range parts {
		out = append(out, t)
	}
	return out
}

// parseDCPropertyString is parse_property_string with the option's format:
// string values as given, booleans as numbers.
func (p *PVE) parseDCPropertyString(key, value string) (map[string]any, error) {
	format := p.dcFormat(key)
	if format == nil {
		return genericPropertyString(value, dcDefaultKeys[key]), nil
	}
	parsed, err := pveschema.ParsePropertyString(format, value, "")
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	for k, v := range parsed {
		if ps := format[k]; ps != nil && ps.Type == "boolean" {
			out[k], _ = strconv.Atoi(v)
			continue
		}
		out[k] = v
	}
	return out, nil
}

// genericPropertyString splits a property string without its format (labs
// without a schema).
func genericPropertyString(value, defaultKey string) map[string]any {
	out := map[string]any{}
	for _, part := range strings.Split(value, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		if k, v, ok := strings.Cut(part, "="); ok {
			out[k] = v
		} else if defaultKey != "" {
			out[defaultKey] = part
		}
	}
	return out
}

// printDCPropertyString is print_property_string: the default key's value
// first, then the required keys, then the others, each group sorted.
func printDCPropertyString(data map[string]any, format map[string]*pveschema.Property, defaultKey string) (string, error) {
	if format != nil {
		defaultKey = ""
		for k, ps := range format {
			if ps.DefaultKey {
				defaultKey = k
			}
		}
	}
	var parts []string
	done := map[string]bool{}
	add := func(key string, isDefault bool) error {
		if done[key] {
			return nil
		}
		done[key] = true
		v, ok := data[key]
		if !ok || v == nil {
			return nil
		}
		s, _ := perl.Scalar(v)
		if strings.Contains(s, ",") {
			return fmt.Errorf("illegal value with commas for %s\n", key)
		}
		if isDefault {
			parts = append(parts, s)
		} else {
			parts = append(parts, key+"="+s)
		}
		return nil
	}
	if defaultKey != "" {
		if err := add(defaultKey, true); err != nil {
			return "", err
		}
	}
	keys := slices.Sorted(maps.Keys(data))
	for _, k := range keys {
		if ps := format[k]; ps != nil && !ps.Optional {
			if err := add(k, false); err != nil {
				return "", err
			}
		}
	}
	for _, k := range keys {
		if err := add(k, false); err != nil {
			return "", err
		}
	}
	return strings.Join(parts, ","), nil
}

// writeDatacenterConfig is write_datacenter_config: the text of the file
// for cfg (which it modifies).
func (p *PVE) writeDatacenterConfig(cfg map[string]any) (string, error) {
	// map deprecated setting to new one
	if mu, ok := cfg["migration_unsecure"]; ok && cfg["migration"] == nil {
		delete(cfg, "migration_unsecure")
		typ := "secure"
		if s, _ := perl.Scalar(mu); perl.Truthy(s) {
			typ = "insecure"
		}
		cfg["migration"] = map[string]any{"type": typ}
	}
	if cfg["console"] == "applet" {
		cfg["console"] = "html5"
	}
	if v, ok := cfg["mac_prefix"].(string); ok && strings.ToUpper(v) == proxmoxOUI {
		delete(cfg, "mac_prefix") // avoid writing out default prefix
	}
	printKey := func(key string) error {
		m, ok := cfg[key].(map[string]any)
		if !ok {
			return nil
		}
		s, err := printDCPropertyString(m, p.dcFormat(key), dcDefaultKeys[key])
		if err != nil {
			return err
		}
		cfg[key] = s
		return nil
	}
	for _, key := range []string{"crs", "migration"} {
		if err := printKey(key); err != nil {
			return "", err
		}
	}
	if v, ok := cfg["next-id"]; ok && v != nil {
		nid, isMap := v.(map[string]any)
		if !isMap {
			s, _ := perl.Scalar(v)
			parsed, err := p.parseDCPropertyString("next-id", s)
			if err != nil {
				return "", err
			}
			nid = parsed
		}
		lower, upper := perl.IntOr(nid["lower"], 100), perl.IntOr(nid["upper"], 1000*1000)
		if lower > upper {
			return "", fmt.Errorf("lower (%d) <= upper (%d) boundary rule broken\n", lower, upper)
		}
		cfg["next-id"] = nid
		if err := printKey("next-id"); err != nil {
			return "", err
		}
	}
	for _, key := range []string{"ha", "notify", "u2f", "webauthn", "tag-style"} {
		if err := printKey(key); err != nil {
			return "", err
		}
	}
	if uta, ok := cfg["user-tag-access"].(map[string]any); ok {
		if list, ok := uta["user-allow-list"].([]any); ok {
			uta["user-allow-list"] = joinSortedTags(list)
		}
		if err := printKey("user-tag-access"); err != nil {
			return "", err
		}
	}
	if tags, ok := cfg["registered-tags"].([]any); ok {
		cfg["registered-tags"] = joinSortedTags(tags)
	}
	if p.rel.major >= 9 {
		if err := printKey("replication"); err != nil {
			return "", err
		}
	}

	comment := ""
	desc, _ := perl.Scalar(cfg["description"])
	for _, line := range perl.Lines(desc) {
		comment += "#" + encodeText(line) + "\n"
	}
	delete(cfg, "description") // only as comment, no key-value pair
	var dump strings.Builder
	for _, k := range slices.Sorted(maps.Keys(cfg)) {
		v, _ := perl.Scalar(cfg[k])
		dump.WriteString(k + ": " + v + "\n")
	}
	return comment + "\n" + dump.String(), nil
}

func joinSortedTags(list []any) string {
	var tags []string
	for _, t := range list {
		s, _ := perl.Scalar(t)
		tags = append(tags, s)
	}
	slices.Sort(tags)
	return strings.Join(tags, ";")
}

// nextIDRangeLocked is the free VMID range of /cluster/nextid: datacenter.cfg's
// next-id, lower inclusive (default 100), upper exclusive (default
// 1000000), and both as the file has them for the error message. The caller
// holds p.mu.
func (p *PVE) nextIDRangeLocked() (lower, upper int, lowerText, upperText string) {
	lower, upper, lowerText, upperText = 100, 1000*1000, "100", "1000000"
	dc, err := p.datacenterConfigLocked()
	if err != nil {
		return
	}
	if nid, ok := dc["next-id"].(map[string]any); ok {
		if v, ok := nid["lower"].(string); ok {
			lower, lowerText = perl.IntOr(v, 100), v
		}
		if v, ok := nid["upper"].(string); ok {
			upper, upperText = perl.IntOr(v, 1000*1000), v
		}
	}
	return
}

func (p *PVE) registerOptionsRoutes() {
	p.Handle(http.MethodGet, "/cluster/options", p.getOptions)
	// cfs_lock_file('datacenter.cfg'): without quorum the lock fails with
	// "no quorum!" (see noQuorumMessage)
	p.Handle(http.MethodPut, "/cluster/options", p.setOptions, WithLockMessage(func(*Request) string {
		return "cfs-lock 'file-datacenter_cfg' error: got lock request timeout"
	}))
}

// getOptions serves GET /cluster/options: the parsed datacenter.cfg (an
// empty object when it does not parse) and the tags the user may use.
func (p *PVE) getOptions(*Request) (any, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	res, err := p.datacenterConfigLocked()
	if err != nil {
		res = map[string]any{}
	}
	res["allowed-tags"] = p.allowedTagsLocked(res)
	return res, nil
}

// allowedTagsLocked is get_allowed_tags for a privileged user (root): the
// user-allow-list, the tags of all guests and the registered tags, sorted.
func (p *PVE) allowedTagsLocked(dc map[string]any) []string {
	tags := map[string]bool{}
	if uta, ok := dc["user-tag-access"].(map[string]any); ok {
		if list, ok := uta["user-allow-list"].([]any); ok {
			for _, t := range list {
				s, _ := perl.Scalar(t)
				tags[s] = true
			}
		}
	}
	for _, vm := range p.qemu.vms {
		for _, t := range pveschema.SplitList(vm.conf["tags"]) {
			tags[t] = true
		}
	}
	for _, ct := range p.lxc.cts {
		for _, t := range pveschema.SplitList(ct.conf["tags"]) {
			tags[t] = true
		}
	}
	if list, ok := dc["registered-tags"].([]any); ok {
		for _, t := range list {
			s, _ := perl.Scalar(t)
			tags[s] = true
		}
	}
	return append([]string{}, slices.Sorted(maps.Keys(tags))...)
}

// setOptions serves PUT /cluster/options (set_options): under the lock of
// datacenter.cfg, the parameters are set as given, then the keys of
// "delete" removed, and the file written.
func (p *PVE) setOptions(r *Request) (any, error) {
	deleteList, _ := r.String("delete")
	p.mu.Lock()
	defer p.mu.Unlock()
	cfg, err := p.datacenterConfigLocked()
	if err != nil {
		return nil, Errorf(http.StatusInternalServerError, "%s", err.Error())
	}
	for k, v := range r.Params {
		if k == "delete" || v == nil {
			continue
		}
		s, _ := perl.Scalar(v)
		cfg[k] = s
	}
	for _, k := range pveschema.SplitList(deleteList) {
		delete(cfg, k)
	}
	text, err := p.writeDatacenterConfig(cfg)
	if err != nil {
		return nil, Errorf(http.StatusInternalServerError, "%s", err.Error())
	}
	p.dcConfig = text
	return nil, nil
}
