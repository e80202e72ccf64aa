package pveschema

import (
	"fmt"
	"maps"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Named formats of PVE::JSONSchema (and PVE::Cluster) with their checks and
// error messages. The schema dump names formats without defining them; the
// ones listed here are those whose definition is known. Unknown formats
// are accepted.

// FormatCheck validates a value; it returns PVE's die message (with the
// trailing newline) or "".
type FormatCheck func(v string) string

var (
	configIDRE    = regexp.MustCompile(`(?i)^[a-z][a-z0-9_-]+$`)
	parseIDRE     = regexp.MustCompile(`(?i)^[a-z][a-z0-9\-_.]*[a-z0-9]$`)
	bridgeIDRE    = regexp.MustCompile(`^[-_.\w\d]+$`)
	vmidRE        = regexp.MustCompile(`^[1-9][0-9]{2,8}$`)
	nodeNameRE    = regexp.MustCompile(`^([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?)$`)
	ifaceRE       = regexp.MustCompile(`(?i)^[a-z][a-z0-9_]{1,20}([:.]\d+)?$`)
	vlanRangeRE   = regexp.MustCompile(`^(\d+)(?:-(\d+))?$`)
	macAddrRE     = regexp.MustCompile(`(?i)^[a-f0-9][02468ace](?::[a-f0-9]{2}){5}$`)
	macPrefixRE   = regexp.MustCompile(`(?i)^[a-f0-9][02468ace](?::[a-f0-9]{2}){0,2}:?$`)
	ipv4RE        = regexp.MustCompile(`^(?:(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\.){3}(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)$`)
	dnsNameRE     = regexp.MustCompile(`^(([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?)\.)*([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?)$`)
	emailRE       = regexp.MustCompile(`^[\w+\-~]+(\.[\w+\-~]+)*@[a-zA-Z0-9\-]+(\.[a-zA-Z0-9\-]+)*$`)
	emailUserRE   = regexp.MustCompile(`^[\w+\-~]+(\.[\w+\-~]+)*$`)
	urlencodedRE  = regexp.MustCompile(`^[-%a-zA-Z0-9_.!~*'()]*$`)
	tagRE         = regexp.MustCompile(`(?i)^[a-z0-9_][a-z0-9_\-+.]*$`)
	taskStatusRE  = regexp.MustCompile(`(?i)^(ok|error|warning|unknown)$`)
	diskSizeRE    = regexp.MustCompile(`^(\d+(\.\d+)?)([KMGT])?$`)
	ldapAttrRE    = regexp.MustCompile(`^[a-zA-Z0-9]+$`)
	tfaSecretREs  = []*regexp.Regexp{regexp.MustCompile(`^v2-0x[0-9a-fA-F]{16,128}$`), regexp.MustCompile(`^v2-[A-Z2-7=]{16,128}$`), regexp.MustCompile(`^(?:[A-Z2-7=]{16}|[A-Fa-f0-9]{40})$`)}
	startupPartRE = regexp.MustCompile(`^(?:(order=)?\d+|up=\d+|down=\d+)$`)
	cidrRE        = regexp.MustCompile(`^(.*)/(\d+)$`)
)

// simpleFormats are the formats that are a predicate and a message; "%s"
// in the message stands for the value.
var simpleFormats = map[string]struct {
	ok  func(string) bool
	msg string
}{
	"pve-configid":         {configIDRE.MatchString, "invalid configuration ID '%s'"},
	"pve-bridge-id":        {bridgeIDRE.MatchString, "invalid bridge ID '%s'"},
	"pve-vmid":             {vmidRE.MatchString, "value does not look like a valid VM ID"},
	"pve-node":             {nodeNameRE.MatchString, "value does not look like a valid node name"},
	"pve-iface":            {ifaceRE.MatchString, "invalid network interface name '%s'"},
	"mac-addr":             {macAddrRE.MatchString, "value does not look like a valid unicast MAC address"},
	"mac-prefix":           {macPrefixRE.MatchString, "value is not a valid unicast MAC address prefix"},
	"ipv4":                 {isIPv4, "value does not look like a valid IPv4 address"},
	"ipv6":                 {isIPv6, "value does not look like a valid IPv6 address"},
	"ip":                   {isIP, "value does not look like a valid IP address"},
	"ipv4mask":             {isIPv4Mask, "value does not look like a valid IP netmask"},
	"CIDRv4":               {isCIDRv4, "value does not look like a valid IPv4 CIDR network"},
	"CIDRv6":               {isCIDRv6, "value does not look like a valid IPv6 CIDR network"},
	"CIDR":                 {func(v string) bool { return isCIDRv4(v) || isCIDRv6(v) }, "value does not look like a valid CIDR network"},
	"pve-ipv4-config":      {isIPv4Config, "value does not look like a valid ipv4 network configuration"},
	"pve-ipv6-config":      {isIPv6Config, "value does not look like a valid ipv6 network configuration"},
	"email":                {emailRE.MatchString, "value does not look like a valid email address"},
	"email-or-username":    {isEmailOrUser, "value does not look like a valid email address or user name"},
	"dns-name":             {dnsNameRE.MatchString, "value does not look like a valid DNS name"},
	"address":              {func(v string) bool { return isIP(v) || dnsNameRE.MatchString(v) }, "value does not look like a valid address: %s"},
	"disk-size":            {diskSizeRE.MatchString, "value does not look like a valid disk size: %s"},
	"urlencoded":           {urlencodedRE.MatchString, "invalid urlencoded string: %s"},
	"pve-tag":              {tagRE.MatchString, "invalid characters in tag"},
	"pve-task-status-type": {taskStatusRE.MatchString, "invalid status '%s'"},
	"ldap-simple-attr":     {ldapAttrRE.MatchString, "value '%s' does not look like a simple ldap attribute name"},
	"pve-tfa-secret":       {isTFASecret, "unable to decode TFA secret"},
	"pve-startup-order":    {isStartupOrder, "unable to parse startup options"},
}

// namedFormats maps format names to their checks.
var namedFormats = map[string]FormatCheck{}

// RegisterFormat adds a named format, like PVE::JSONSchema::register_format
// in the modules that define their own (PVE::AccessControl, PVE::HA, ...).
// It is meant for init functions: formats are not locked.
func RegisterFormat(name string, check FormatCheck) { namedFormats[name] = check }

func init() {
	namedFormats["pve-storage-id"] = func(v string) string { return ParseID(v, "storage") }
	namedFormats["acme-plugin-id"] = func(v string) string { return ParseID(v, "ACME plugin") }
	namedFormats["pve-vlan-id-or-range"] = checkVLANRange
	namedFormats["storage-pair"] = func(v string) string { return checkIDPair(v, "pve-storage-id") }
	namedFormats["bridge-pair"] = func(v string) string { return checkIDPair(v, "pve-bridge-id") }
	for name, f := range simpleFormats {
		namedFormats[name] = func(v string) string {
			if f.ok(v) {
				return ""
			}
			if strings.Contains(f.msg, "%s") {
				return fmt.Sprintf(f.msg, v) + "\n"
			}
			return f.msg + "\n"
		}
	}
}

// ParseID is PVE::JSONSchema::parse_id, the check of storage and plugin IDs.
func ParseID(v, typ string) string {
	if parseIDRE.MatchString(v) {
		return ""
	}
	return fmt.Sprintf("%s ID '%s' contains illegal characters\n", typ, v)
}

func isIPv4(v string) bool { return ipv4RE.MatchString(v) }

func isIPv6(v string) bool {
	a, err := netip.ParseAddr(v)
	return err == nil && a.Is6() && a.Zone() == "" && strings.Contains(v, ":")
}

func isIPv4Mask(v string) bool {
	if !isIPv4(v) {
		return false
	}
	a, err := netip.ParseAddr(v)
	if err != nil {
		return false
	}
	b := a.As4()
	m := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	return m == 0 || (^m)&(^m+1) == 0 // ones followed by zeros
}

func isIP(v string) bool { return isIPv4(v) || isIPv6(v) }

func isEmailOrUser(v string) bool { return emailRE.MatchString(v) || emailUserRE.MatchString(v) }

func isTFASecret(v string) bool {
	return slices.ContainsFunc(tfaSecretREs, func(re *regexp.Regexp) bool { return re.MatchString(v) })
}

func isIPv4Config(v string) bool { return v == "dhcp" || v == "manual" || isCIDRv4(v) }

func isIPv6Config(v string) bool { return v == "auto" || v == "dhcp" || v == "manual" || isCIDRv6(v) }

// isCIDRv4 and isCIDRv6 are PVE's CIDR formats: prefix 8..32 or 8..128.
func isCIDRv4(v string) bool { return isCIDR(v, isIPv4, 32) }
func isCIDRv6(v string) bool { return isCIDR(v, isIPv6, 128) }

func isCIDR(v string, isAddr func(string) bool, maxBits int) bool {
	m := cidrRE.FindStringSubmatch(v)
	if m == nil {
		return false
	}
	bits, err := strconv.Atoi(m[2])
	return err == nil && bits > 7 && bits <= maxBits && isAddr(m[1])
}

// isStartupOrder is pve_parse_startup_order succeeding.
func isStartupOrder(v string) bool {
	if v == "" || v == "0" {
		return false
	}
	for _, part := range strings.Split(v, ",") {
		if strings.TrimSpace(part) != "" && !startupPartRE.MatchString(part) {
			return false
		}
	}
	return true
}

func checkVLANRange(v string) string {
	m := vlanRangeRE.FindStringSubmatch(v)
	if m == nil {
		return fmt.Sprintf("invalid VLAN configuration '%s'\n", v)
	}
	start, _ := strconv.Atoi(m[1])
	if start < 2 || start > 4094 {
		return fmt.Sprintf("invalid VLAN tag '%s'\n", m[1])
	}
	if m[2] != "" {
		end, _ := strconv.Atoi(m[2])
		if end < 2 || end > 4094 {
			return fmt.Sprintf("invalid VLAN tag '%s'\n", m[2])
		}
		if start >= end {
			return fmt.Sprintf("VLAN range must go from lower to higher tag '%s'\n", v)
		}
	}
	return ""
}

// checkIDPair validates one entry of an ID map ("source:target", "target"
// or "1") like PVE's storage-pair/bridge-pair formats, which re-raise the
// error of parse_idmap with one more newline each.
func checkIDPair(v, idFormat string) string {
	if v == "1" {
		return ""
	}
	check := namedFormats[idFormat]
	ids := []string{v}
	if src, dst, ok := strings.Cut(v, ":"); ok && src != "" && dst != "" && !strings.Contains(dst, ":") {
		ids = []string{src, dst}
	}
	for _, id := range ids {
		if msg := check(id); msg != "" {
			return fmt.Sprintf("entry '%s' contains invalid ID - %s\n\n", v, msg)
		}
	}
	return ""
}

// CheckFormat applies a named format, including the "-list" and
// "-opt" variants, like PVE::JSONSchema::check_format.
func CheckFormat(format, value string) string {
	name, kind := format, ""
	if base, ok := strings.CutSuffix(format, "-list"); ok {
		name, kind = base, "list"
	} else if base, ok := strings.CutSuffix(format, "-opt"); ok {
		name, kind = base, "opt"
	}
	check, ok := namedFormats[name]
	if !ok {
		check, ok = namedFormats[format] // a format whose own name ends in -list
		kind = ""
	}
	if !ok {
		return ""
	}
	switch kind {
	case "list":
		for _, v := range SplitList(value) {
			if msg := check(v); msg != "" {
				return msg
			}
		}
		return ""
	case "opt":
		if value == "" {
			return ""
		}
	}
	return check(value)
}

// SplitList splits a list like PVE::Tools::split_list: on NUL when the
// value contains one, else on commas, semicolons and white space.
func SplitList(v string) []string {
	if strings.Contains(v, "\x00") {
		return strings.Split(v, "\x00")
	}
	return strings.FieldsFunc(v, func(r rune) bool {
		return r == ',' || r == ';' || r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == '\v'
	})
}

// propertyStringError is a failed property-string parse. It renders like a
// stringified PVE::Exception: the message, then "key: error" lines.
type propertyStringError struct {
	msg    string
	errors map[string]string
}

func (e *propertyStringError) Error() string {
	s := e.msg
	for _, k := range slices.Sorted(maps.Keys(e.errors)) {
		s += k + ": " + e.errors[k] + "\n"
	}
	return s
}

var propertyPartRE = regexp.MustCompile(`^([^=]+)=(.+)$`)

// ParsePropertyString parses and checks a comma separated property string
// ("virtio,bridge=vmbr0,tag=10") against an inline format, like
// PVE::JSONSchema::parse_property_string. path prefixes the keys in
// errors ("net0.tag"). Booleans are normalised to "1"/"0".
func ParsePropertyString(format map[string]*Property, data, path string) (map[string]string, error) {
	res := map[string]string{}
	defaultKey := ""
	for _, part := range strings.Split(data, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		if m := propertyPartRE.FindStringSubmatch(part); m != nil {
			k, v := m[1], m[2]
			if _, dup := res[k]; dup {
				return nil, &propertyStringError{msg: fmt.Sprintf("duplicate key in comma-separated list property: %s\n", k)}
			}
			schema := format[k]
			if schema != nil && schema.Alias != "" {
				if schema.KeyAlias != "" {
					if _, dup := res[schema.KeyAlias]; dup {
						return nil, &propertyStringError{msg: fmt.Sprintf("key alias '%s' is already defined\n", schema.KeyAlias)}
					}
					res[schema.KeyAlias] = k
				}
				k = schema.Alias
				schema = format[k]
			}
			if schema == nil {
				return nil, &propertyStringError{msg: fmt.Sprintf("invalid key in comma-separated list property: %s\n", k)}
			}
			if schema.Type == "boolean" {
				if b, ok := ParseBoolean(v); ok {
					v = b
				}
			}
			res[k] = v
			continue
		}
		if strings.Contains(part, "=") {
			return nil, &propertyStringError{msg: "missing key in comma-separated list property\n"}
		}
		if defaultKey != "" {
			return nil, &propertyStringError{msg: fmt.Sprintf("duplicate key in comma-separated list property: %s\n", defaultKey)}
		}
		for _, key := range slices.Sorted(maps.Keys(format)) {
			if !format[key].DefaultKey {
				continue
			}
			defaultKey = key
			if old := res[key]; old != "" && old != "0" {
				return nil, &propertyStringError{msg: fmt.Sprintf("duplicate key in comma-separated list property: %s\n", key)}
			}
			res[key] = part
			break
		}
		if defaultKey == "" {
			return nil, &propertyStringError{msg: "value without key, but schema does not define a default key\n"}
		}
	}

	errs := map[string]string{}
	value := make(map[string]any, len(res))
	for k, v := range res {
		value[k] = v
	}
	CheckObject(path, format, nil, false, value, errs)
	if len(errs) > 0 {
		return nil, &propertyStringError{msg: "format error\n", errors: errs}
	}
	return res, nil
}

// ParseBoolean is PVE::JSONSchema::parse_boolean.
func ParseBoolean(v string) (string, bool) {
	switch strings.ToLower(v) {
	case "1", "on", "yes", "true":
		return "1", true
	case "0", "off", "no", "false":
		return "0", true
	}
	return "", false
}

// IsTrue reports whether ParseBoolean reads v as true ("1", "on", "yes" or
// "true", in any case).
func IsTrue(v string) bool {
	b, ok := ParseBoolean(v)
	return ok && b == "1"
}

// NetmaskBits is PVE::JSONSchema::get_netmask_bits: the prefix length of
// a dotted IPv4 netmask (0 when it is none).
func NetmaskBits(mask string) int {
	if !isIPv4Mask(mask) {
		return 0
	}
	a := netip.MustParseAddr(mask).As4()
	bits := 0
	for _, b := range a {
		for ; b != 0; b <<= 1 {
			bits++
		}
	}
	return bits
}

// CheckPropertyString checks value against a property-string format (a
// hash-based format of register_format) and returns the message of the
// failure, "" when it parses.
func CheckPropertyString(format map[string]*Property, value string) string {
	return checkFormat(&Property{FormatProps: format}, value, "")
}
