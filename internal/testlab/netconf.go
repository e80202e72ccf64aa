package testlab

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/perl"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/pveschema"
)

// /etc/network/interfaces as PVE reads and writes it: a port of the parser
// and writer of pve-common (PVE::Network::Interfaces, formerly in
// PVE::INotify: __read_etc_network_interfaces, __interface_to_string and
// __write_etc_network_interfaces). Only what the API can produce is ported:
// no OVS (the lab has no openvswitch-switch, so the API refuses OVS types),
// no VXLAN and no stanzas without address family.

// ifaceConfig is one interface as the parser returns it and the API shows
// it: strings for values read from the file, ints for the flags the parser
// sets itself (priority, autostart, active, exists, bridge_vlan_aware),
// []string for families and options, nil for keys Perl set to undef.
type ifaceConfig map[string]any

// netOption is a line outside any iface stanza (e.g. "source ..."), kept
// with its priority so that the writer puts it back where it was.
type netOption struct {
	priority int
	line     string
}

// netConfig is the parsed interfaces file.
type netConfig struct {
	ifaces  map[string]ifaceConfig
	options []netOption
}

// physicalNICRE is $PVE::Network::Interfaces::PHYSICAL_NIC_RE.
var physicalNICRE = regexp.MustCompile(`^(?:eth\d+|en[^:.]+|ib[^:.]+|(?:nic|if)\d+)$`)

// optionAlternatives maps the dashed option names of the file to the keys
// of the parsed configuration.
var optionAlternatives = map[string]string{
	"ovs_mtu":               "mtu",
	"bond-slaves":           "slaves",
	"bond_slaves":           "slaves",
	"bond-xmit-hash-policy": "bond_xmit_hash_policy",
	"bond-mode":             "bond_mode",
	"bond-miimon":           "bond_miimon",
	"bridge-vlan-aware":     "bridge_vlan_aware",
	"bridge-fd":             "bridge_fd",
	"bridge-stp":            "bridge_stp",
	"bridge-ports":          "bridge_ports",
	"bridge-vids":           "bridge_vids",
}

// simpleOptions are stored under their name as they are; any other
// unknown option goes to the "options" (or "options6") list verbatim.
var simpleOptions = map[string]bool{
	"mtu": true, "ovs_type": true, "ovs_options": true, "ovs_bridge": true, "ovs_bonds": true, "ovs_ports": true,
	"bridge_fd": true, "bridge_vids": true, "bridge-access": true, "bridge-learning": true,
	"bridge-arp-nd-suppress": true, "bridge-unicast-flood": true, "bridge-multicast-flood": true,
	"bridge-disable-mac-learning": true, "bond_miimon": true, "bond_xmit_hash_policy": true, "bond-primary": true,
	"link-type": true, "uplink-id": true, "vlan-protocol": true, "vlan-raw-device": true, "vlan-id": true,
	"vxlan-id": true, "vxlan-svcnodeip": true, "vxlan-physdev": true, "vxlan-local-tunnelip": true,
}

// bondModeNames are the names of the numeric bond modes.
var bondModeNames = map[string]string{
	"0": "balance-rr", "1": "active-backup", "2": "balance-xor", "3": "broadcast",
	"4": "802.3ad", "5": "balance-tlb", "6": "balance-alb",
}

var (
	lineCommentRE   = regexp.MustCompile(`^\s*#`)
	autoLineRE      = regexp.MustCompile(`^\s*auto\s+(.*)$`)
	ifaceLineRE     = regexp.MustCompile(`^\s*iface\s+(\S+)\s+(inet6?)\s+(\S+)\s*$`)
	stanzaCommentRE = regexp.MustCompile(`^\s*#(.*?)\s*$`)
	stanzaEndRE     = regexp.MustCompile(`^\s*(?:(?:iface|mapping|auto|source|source-directory)\s|allow-)`)
	stanzaOptionRE  = regexp.MustCompile(`^\s*((\S+)\s+(.+))$`)
	stpOnRE         = regexp.MustCompile(`(?i)^\s*(on|yes)\s*$`)
	wordRE          = regexp.MustCompile(`\w`)
	aliasNameRE     = regexp.MustCompile(`^(\S+):\d+$`)
	vlanNameRE      = regexp.MustCompile(`^(\S+)\.(\d+)$`)
	vlanNumNameRE   = regexp.MustCompile(`^vlan(\d+)$`)
	bondNameRE      = regexp.MustCompile(`^bond\d+$`)
	cidrSuffixRE    = regexp.MustCompile(`/\d+$`)
	digitsRE        = regexp.MustCompile(`^\d+$`)
	portSepRE       = regexp.MustCompile(`[;,\s]+`)
	whitespaceRE    = regexp.MustCompile(`\s+`)
	typePrioSepRE   = regexp.MustCompile(`[.:]`)
	newlineRE       = regexp.MustCompile(`\n`)
	bridgeVLANPort  = regexp.MustCompile(`(\S+)\.(\d+)$`)
	cidrRE          = regexp.MustCompile(`^(.*)/(\d+)$`)
)

// parseInterfaces parses an interfaces file like
// __read_etc_network_interfaces: nics are the physical NICs of the host
// (they "exist"), active the interfaces that are up.
func parseInterfaces(text string, nics []string, active map[string]bool) *netConfig {
	cfg := &netConfig{ifaces: map[string]ifaceConfig{}}
	ifaces := cfg.ifaces
	get := func(name string) ifaceConfig {
		if ifaces[name] == nil {
			ifaces[name] = ifaceConfig{}
		}
		return ifaces[name]
	}

	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	priority := 2 // 1 is reserved for lo
	for i := 0; i < len(lines); {
		line := lines[i]
		if lineCommentRE.MatchString(line) {
			i++
			continue
		}
		if m := autoLineRE.FindStringSubmatch(line); m != nil {
			for _, name := range strings.Fields(m[1]) {
				get(name)["autostart"] = 1
			}
			i++
			continue
		}
		m := ifaceLineRE.FindStringSubmatch(line)
		if m == nil {
			if wordRE.MatchString(line) {
				cfg.options = append(cfg.options, netOption{priority, line})
				priority++
			}
			i++
			continue
		}
		suffix := strings.TrimPrefix(m[2], "inet")
		f := ifaceConfig{"method": m[3]}
		d := get(m[1])
		if !perl.Truthy(d["priority"]) {
			d["priority"] = priority
			priority++
		}
		families, _ := d["families"].([]string)
		d["families"] = append(families, m[2])

		// the stanza's lines; the line that ends it is parsed again above
		for i++; i < len(lines); i++ {
			l := strings.TrimRight(lines[i], " \t\r\n\f\v")
			if c := stanzaCommentRE.FindStringSubmatch(l); c != nil {
				f["comments"] = perl.String(f["comments"]) + c[1] + "\n"
				continue
			}
			if stanzaEndRE.MatchString(l) {
				break
			}
			o := stanzaOptionRE.FindStringSubmatch(l)
			if o == nil {
				break
			}
			parseOption(d, f, o[1], o[2], o[3])
		}
		for k, v := range f {
			d[k+suffix] = v
		}
	}

	for _, nic := range nics {
		get(nic)["exists"] = 1
	}
	for name := range active {
		if d := ifaces[name]; d != nil {
			d["active"] = 1
		}
	}
	if ifaces["lo"] == nil {
		ifaces["lo"] = ifaceConfig{"priority": 1, "method": "loopback", "type": "loopback", "autostart": 1}
	}

	// keys the loop adds (parents of VLANs) are not typed, as in Perl
	for _, name := range slices.Sorted(maps.Keys(ifaces)) {
		classifyIface(ifaces, name, slices.Contains(nics, name))
	}
	return cfg
}

// parseOption stores one option line of a stanza: d is the interface, f
// its per-family part (address, gateway, options, ...).
func parseOption(d, f ifaceConfig, option, id, value string) {
	if alt, ok := optionAlternatives[id]; ok {
		id = alt
	}
	switch {
	case id == "address" || id == "netmask" || id == "broadcast" || id == "gateway":
		f[id] = value
	case simpleOptions[id]:
		d[id] = value
	case id == "slaves" || id == "bridge_ports":
		devs := map[string]bool{}
		for _, p := range strings.Fields(value) {
			if p == "none" {
				if id == "bridge_ports" {
					d["is_empty_bridge"] = 1
				}
				continue
			}
			devs[p] = true
		}
		str := strings.Join(slices.Sorted(maps.Keys(devs)), " ")
		if perl.Truthy(d[id]) {
			if str != "" {
				d[id] = perl.String(d[id]) + " " + str
			}
		} else {
			d[id] = str
		}
	case id == "bridge_stp":
		if stpOnRE.MatchString(value) {
			d[id] = "on"
		} else {
			d[id] = "off"
		}
	case id == "bridge_vlan_aware":
		d[id] = 1
	case id == "bond_mode":
		if name, ok := bondModeNames[value]; ok { // always use names
			value = name
		}
		d[id] = value
	default:
		options, _ := f["options"].([]string)
		f["options"] = append(options, option)
	}
}

// classifyIface sets the type of one parsed interface and derives cidr,
// cidr6, method, method6 and families, like the second half of the parser.
func classifyIface(ifaces map[string]ifaceConfig, name string, physical bool) {
	d := ifaces[name]
	d["type"] = "unknown"
	inherit := func(raw string) { // exists of an alias or VLAN is that of its parent
		if parent, ok := ifaces[raw]; ok {
			d["exists"] = parent["exists"]
		} else {
			ifaces[raw] = ifaceConfig{"exists": 0}
			d["exists"] = 0
		}
	}
	_, hasPorts := d["bridge_ports"]
	switch {
	case hasPorts || d["is_empty_bridge"] != nil:
		delete(d, "is_empty_bridge")
		d["type"] = "bridge"
		if _, ok := d["bridge_stp"]; !ok {
			d["bridge_stp"] = "off"
		}
		if _, ok := d["bridge_fd"]; !ok && d["bridge_stp"] == "off" {
			d["bridge_fd"] = 0
		}
	case bondNameRE.MatchString(name):
		d["type"] = "bond"
	case aliasNameRE.MatchString(name):
		d["type"] = "alias"
		inherit(aliasNameRE.FindStringSubmatch(name)[1])
	case vlanNameRE.MatchString(name):
		m := vlanNameRE.FindStringSubmatch(name)
		d["type"] = "vlan"
		if !perl.Truthy(d["vlan-raw-device"]) {
			d["vlan-raw-device"] = m[1]
		}
		if perl.Truthy(m[2]) {
			d["vlan-id"] = m[2]
		}
		inherit(perl.String(d["vlan-raw-device"]))
	case perl.Truthy(d["vlan-raw-device"]):
		d["type"] = "vlan"
		if m := vlanNumNameRE.FindStringSubmatch(name); m != nil && perl.Truthy(m[1]) {
			d["vlan-id"] = m[1]
		}
		inherit(perl.String(d["vlan-raw-device"]))
	case physical || physicalNICRE.MatchString(name):
		d["type"] = "eth"
	case name == "lo":
		d["type"] = "loopback"
	}

	if addr := perl.String(d["address"]); perl.Truthy(addr) {
		switch cidr, ok := cidrOf(addr, d["netmask"]); {
		case cidrSuffixRE.MatchString(addr):
			d["cidr"] = addr
			d["address"], d["netmask"] = splitCIDR(addr)
		case ok:
			d["cidr"] = cidr
			_, d["netmask"] = splitCIDR(cidr)
		default:
			d["cidr"] = addr + "/32"
		}
	}
	if addr := perl.String(d["address6"]); perl.Truthy(addr) {
		switch cidr, ok := cidrOf(addr, d["netmask6"]); {
		case cidrSuffixRE.MatchString(addr):
			d["cidr6"] = addr
			d["address6"], d["netmask6"] = splitCIDR(addr)
		case ok:
			d["cidr6"] = cidr
		default:
			d["cidr6"] = addr + "/128"
		}
	}
	if !perl.Truthy(d["method"]) {
		d["method"] = "manual"
	}
	if !perl.Truthy(d["method6"]) {
		d["method6"] = "manual"
	}
	if c6 := d["comments6"]; perl.Truthy(c6) {
		d["comments"] = perl.String(d["comments"]) + perl.String(c6)
	}
	delete(d, "comments6")
	if !perl.Truthy(d["families"]) {
		d["families"] = []string{"inet"}
	}
}

// splitCIDR is _cidr_split: address and prefix length.
func splitCIDR(cidr string) (string, string) {
	m := cidrRE.FindStringSubmatch(cidr)
	return m[1], m[2]
}

// cidrOf is _get_cidr: the address with its netmask as prefix length.
func cidrOf(addr string, mask any) (string, bool) {
	m := perl.String(mask)
	switch {
	case !perl.Truthy(m):
		return "", false
	case digitsRE.MatchString(m):
		return addr + "/" + m, true
	case pveschema.NetmaskBits(m) != 0:
		return addr + "/" + strconv.Itoa(pveschema.NetmaskBits(m)), true
	}
	return "", false
}

// perlDieAt is what Perl appends to a die message without trailing newline.
// Unverified: file and line depend on the pve-common build.
const perlDieAt = " at /usr/share/perl5/PVE/INotify.pm line 1409.\n"

// writeDie is a die of the writer, which the API answers with status 500.
func writeDie(format string, args ...any) error {
	return fmt.Errorf(format, args...)
}

// networkDoc is the header the writer puts at the top of the file.
const networkDoc = `# network interface settings; autogenerated
# Please do NOT modify this file directly, unless you know what
# you're doing.
#
# If you want to manage parts of the network configuration manually,
# please utilize the 'source' or 'source-directory' directives to do
# so.
# PVE will preserve these directives, but will NOT read its network
# configuration from sourced files, so do not attempt to move any of
# the PVE managed interfaces into external files!

`

// ifTypePrio orders interfaces in the file by type.
var ifTypePrio = map[string]int{
	"loopback": 100000, "dummy": 100000, "eth": 200000, "OVSPort": 200000, "OVSIntPort": 300000,
	"OVSBond": 400000, "bond": 400000, "bridge": 500000, "OVSBridge": 500000, "vlan": 600000, "vxlan": 600000,
}

// writeInterfaces renders cfg like __write_etc_network_interfaces (with
// ifupdown2 installed, as on every PVE 9 host). It checks the
// configuration first and fails with the writer's die message; like the
// Perl code it modifies cfg on the way.
func writeInterfaces(cfg *netConfig) (string, error) {
	ifaces := cfg.ifaces
	names := slices.Sorted(maps.Keys(ifaces))

	usedPorts := map[string]string{}
	for _, name := range names {
		d := ifaces[name]
		cidr, cidr6 := d["cidr"], d["cidr6"]
		delete(d, "cidr")
		delete(d, "cidr6")
		if d["address"] == nil {
			setDefined(d, "address", cidr)
		}
		if d["address6"] == nil {
			setDefined(d, "address6", cidr6)
		}
		ports := ""
		for _, k := range []string{"bridge_ports", "ovs_ports", "slaves", "ovs_bonds"} {
			if perl.Truthy(d[k]) {
				ports += " " + perl.String(d[k])
			}
		}
		for _, p := range pveschema.SplitList(ports) {
			if other, ok := usedPorts[p]; ok && other != name {
				return "", writeDie("port '%s' is already used on interface '%s'\n", p, other)
			}
			usedPorts[p] = name
		}
	}
	if err := checkBonds(ifaces, names); err != nil {
		return "", err
	}
	if err := checkVLANs(ifaces, names); err != nil {
		return "", err
	}
	if err := checkBridges(ifaces, names); err != nil {
		return "", err
	}

	order := slices.Clone(names)
	slices.SortStableFunc(order, func(a, b string) int {
		tp1, ok1 := typePrio(ifaces, a)
		tp2, ok2 := typePrio(ifaces, b)
		if !ok1 || !ok2 {
			tp1, tp2 = 0, 0
		}
		p1, p2 := tp1+ifacePriority(ifaces[a]), tp2+ifacePriority(ifaces[b])
		if p1 != p2 {
			return p1 - p2
		}
		return strings.Compare(a, b)
	})

	var raw strings.Builder
	raw.WriteString(networkDoc)
	options := cfg.options
	for _, name := range order {
		d := ifaces[name]
		pri := 0
		if p, ok := d["priority"].(int); ok {
			pri = p
		}
		if len(options) > 0 && options[0].priority < pri {
			for len(options) > 0 && options[0].priority < pri {
				raw.WriteString(options[0].line + "\n")
				options = options[1:]
			}
			raw.WriteString("\n")
		}
		if perl.Truthy(d["autostart"]) {
			raw.WriteString("auto " + name + "\n")
		}
		families, _ := d["families"].([]string)
		if len(families) == 1 && families[0] == "inet6" {
			d["comments6"] = d["comments"]
			delete(d, "comments")
		}
		for i, family := range families {
			raw.WriteString(ifaceStanza(name, d, family, i == 0))
		}
	}
	for _, o := range options {
		raw.WriteString(o.line + "\n")
	}
	return raw.String(), nil
}

// setDefined sets d[k] = v when v is defined (Perl's //= with an undef
// right side leaves the key undefined).
func setDefined(d ifaceConfig, k string, v any) {
	if v != nil {
		d[k] = v
	}
}

// ifacePriority is "$d->{priority} // 50000".
func ifacePriority(d ifaceConfig) int {
	if p, ok := d["priority"].(int); ok {
		return p
	}
	return 50000
}

// typePrio is the writer's lookup_type_prio: the type rank of the root
// interface plus the nesting level. Types the table lacks rank 0, as
// undef does in Perl's addition.
func typePrio(ifaces map[string]ifaceConfig, name string) (int, bool) {
	parts := perl.Split(typePrioSepRE, name)
	root := ""
	if len(parts) > 0 {
		root = parts[0]
	}
	typ := perl.String(ifaces[root]["type"])
	if typ == "" || typ == "unknown" {
		return 0, false
	}
	return ifTypePrio[typ] + max(len(parts)-1, 0), true
}

// checkMTU is the writer's check_mtu: a child may not have a larger MTU
// than its parent (a bond without MTU takes its child's).
func checkMTU(ifaces map[string]ifaceConfig, parent, child string) error {
	cmtu := ifaces[child]["mtu"]
	if !perl.Truthy(cmtu) {
		return nil
	}
	pd := ifaces[parent]
	pmtu := pd["mtu"]
	if perl.String(pd["type"]) == "bond" && !perl.Truthy(pmtu) {
		pmtu = cmtu
	}
	if !perl.Truthy(pmtu) {
		pmtu = 1500
	}
	if perl.Int(pmtu) < perl.Int(cmtu) {
		return writeDie("interface '%s' - mtu %s is lower than '%s' - mtu %s\n", parent, perl.String(pmtu), child, perl.String(cmtu))
	}
	return nil
}

// checkBonds is the writer's "check bond" pass. A missing slave is
// reported as a wrong type: the Perl code autovivifies it before testing.
func checkBonds(ifaces map[string]ifaceConfig, names []string) error {
	for _, name := range names {
		d := ifaces[name]
		if perl.String(d["type"]) != "bond" || !perl.Truthy(d["slaves"]) {
			continue
		}
		primaryIsSlave := false
		for _, p := range perl.Split(whitespaceRE, perl.String(d["slaves"])) {
			n := ifaces[p]
			if n == nil {
				return writeDie("bond '%s' - wrong interface type on slave '%s' ('' != 'eth or bond')\n", name, p)
			}
			n["autostart"] = 1
			if t := perl.String(n["type"]); t != "eth" && t != "bond" {
				return writeDie("bond '%s' - wrong interface type on slave '%s' ('%s' != 'eth or bond')\n", name, p, t)
			}
			if err := checkMTU(ifaces, name, p); err != nil {
				return err
			}
			if perl.Truthy(d["bond-primary"]) && perl.String(d["bond-primary"]) == p {
				primaryIsSlave = true
			}
		}
		if perl.Truthy(d["bond-primary"]) && !primaryIsSlave {
			return writeDie("bond '%s' - bond-primary interface is not a slave%s", name, perlDieAt)
		}
	}
	return nil
}

// checkVLANs is the writer's "check vlan" pass.
func checkVLANs(ifaces map[string]ifaceConfig, names []string) error {
	for _, name := range names {
		d := ifaces[name]
		if perl.String(d["type"]) != "vlan" {
			continue
		}
		var parent, vlanID string
		if m := vlanNameRE.FindStringSubmatch(name); m != nil {
			parent, vlanID = m[1], m[2]
			delete(d, "vlan-raw-device")
			delete(d, "vlan-id")
		} else {
			if !perl.Truthy(d["vlan-raw-device"]) {
				return writeDie("missing vlan-raw-device option%s", perlDieAt)
			}
			parent = perl.String(d["vlan-raw-device"])
			if m := vlanNumNameRE.FindStringSubmatch(name); m != nil {
				vlanID = m[1]
				delete(d, "vlan-id")
			} else {
				if !perl.Truthy(d["vlan-id"]) {
					return writeDie("missing vlan-id option%s", perlDieAt)
				}
				vlanID = perl.String(d["vlan-id"])
			}
		}
		if perl.Int(vlanID) > 4094 {
			return writeDie("vlan '%s' - vlan-id %s should be <= 4094\n", name, vlanID)
		}
		n := ifaces[parent]
		if n == nil {
			return writeDie("vlan '%s' - unable to find parent '%s'\n", name, parent)
		}
		if t := perl.String(n["type"]); t != "eth" && t != "bridge" && t != "bond" && t != "vlan" {
			return writeDie("vlan '%s' - wrong interface type on parent '%s' ('%s' != 'eth|bond|bridge|vlan' )\n", name, parent, t)
		}
		if err := checkMTU(ifaces, parent, name); err != nil {
			return err
		}
	}
	return nil
}

// checkBridges is the writer's "check bridgeport option" pass. Ports named
// like VLANs (eno1.100) need no stanza of their own.
func checkBridges(ifaces map[string]ifaceConfig, names []string) error {
	all := maps.Clone(ifaces)
	for _, name := range names {
		d := all[name]
		if perl.String(d["type"]) != "bridge" {
			continue
		}
		for _, p := range perl.Split(whitespaceRE, perl.String(d["bridge_ports"])) {
			if m := bridgeVLANPort.FindStringSubmatch(p); m != nil && all[p] == nil {
				port := ifaceConfig{"type": "vlan", "method": "manual", "method6": "manual"}
				if all[m[1]] == nil {
					all[m[1]] = ifaceConfig{} // autovivified by the mtu lookup
				}
				if mtu, ok := all[m[1]]["mtu"]; ok && mtu != nil {
					port["mtu"] = mtu
				}
				all[p] = port
			}
			n := all[p]
			if n == nil {
				return writeDie("bridge '%s' - unable to find bridge port '%s'\n", name, p)
			}
			if (perl.String(n["method"]) == "static" && perl.String(n["address"]) != "0.0.0.0") ||
				(perl.String(n["method6"]) == "static" && perl.String(n["address6"]) != "::") {
				return writeDie("iface %s - ip address can't be set on interface if bridged in %s\n", p, name)
			}
			if err := checkMTU(all, p, name); err != nil {
				return err
			}
		}
	}
	return nil
}

// stanzaDone are the keys a stanza never prints as "key value" lines.
var stanzaDone = []string{
	"type", "priority", "method", "active", "exists", "comments", "autostart", "options",
	"address", "netmask", "gateway", "broadcast", "method6", "families", "options6", "comments6",
	"address6", "netmask6", "gateway6", "broadcast6", "uplink-id",
}

// ifaceStanza is __interface_to_string for one address family; first is
// the first family of the interface, which also carries the options.
func ifaceStanza(name string, d ifaceConfig, family string, first bool) string {
	suffix := strings.TrimPrefix(family, "inet")
	if !perl.Truthy(d["method"+suffix]) {
		return ""
	}
	var raw strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&raw, format+"\n", args...) }
	line("iface %s %s %s", name, family, perl.String(d["method"+suffix]))
	if addr := perl.String(d["address"+suffix]); perl.Truthy(addr) {
		mask := perl.String(d["netmask"+suffix])
		if !cidrSuffixRE.MatchString(addr) && perl.Truthy(mask) {
			if digitsRE.MatchString(mask) {
				addr += "/" + mask
			} else if bits := pveschema.NetmaskBits(mask); bits != 0 {
				addr += "/" + strconv.Itoa(bits)
			}
		}
		line("\taddress %s", addr)
	}
	if gw := d["gateway"+suffix]; perl.Truthy(gw) {
		line("\tgateway %s", perl.String(gw))
	}

	done := map[string]bool{}
	for _, k := range stanzaDone {
		done[k] = true
	}
	if first {
		switch perl.String(d["type"]) {
		case "bridge":
			writeBridgeOptions(d, line)
			for _, k := range []string{"bridge_ports", "bridge_stp", "bridge_fd", "bridge_vlan_aware", "bridge_vids", "mtu", "bridge-disable-mac-learning"} {
				done[k] = true
			}
		case "bond":
			writeBondOptions(d, line)
			for _, k := range []string{"slaves", "bond_miimon", "bond_mode", "bond_xmit_hash_policy", "bond-primary", "mtu"} {
				done[k] = true
			}
		}
		for _, k := range slices.Sorted(maps.Keys(d)) {
			if done[k] || !perl.Truthy(d[k]) {
				continue
			}
			line("\t%s %s", k, perl.String(d[k]))
		}
	}
	options, _ := d["options"+suffix].([]string)
	for _, o := range options {
		line("\t%s", o)
	}
	for _, c := range perl.Split(newlineRE, perl.String(d["comments"+suffix])) {
		line("#%s", c)
	}
	raw.WriteString("\n")
	return raw.String()
}

// writeBridgeOptions writes the bridge-* lines and the MTU of a bridge.
func writeBridgeOptions(d ifaceConfig, line func(string, ...any)) {
	ports := perl.String(d["bridge_ports"])
	if !perl.Truthy(ports) {
		ports = "none"
	}
	line("\tbridge-ports %s", portSepRE.ReplaceAllString(ports, " "))
	stp := "off"
	if v, ok := d["bridge_stp"]; ok && v != nil {
		stp = perl.String(v)
	}
	line("\tbridge-stp %s", stp)
	// the forwarding delay must be 2..30 with STP; PVE warns and drops others
	if fd, ok := d["bridge_fd"]; ok && fd != nil {
		if stp == "off" || (perl.Int(fd) >= 2 && perl.Int(fd) <= 30) {
			line("\tbridge-fd %s", perl.String(fd))
		}
	} else if stp == "off" {
		line("\tbridge-fd 0")
	}
	if v, ok := d["bridge_vlan_aware"]; ok && v != nil {
		line("\tbridge-vlan-aware yes")
		vids := perl.String(d["bridge_vids"])
		if !perl.Truthy(vids) {
			vids = "2-4094"
		}
		line("\tbridge-vids %s", vids)
	}
	if perl.Truthy(d["mtu"]) {
		line("\tmtu %s", perl.String(d["mtu"]))
	}
}

// writeBondOptions writes the bond-* lines and the MTU of a bond.
func writeBondOptions(d ifaceConfig, line func(string, ...any)) {
	if s, ok := d["slaves"]; ok && s != nil {
		d["slaves"] = portSepRE.ReplaceAllString(perl.String(s), " ")
	}
	slaves := perl.String(d["slaves"])
	if !perl.Truthy(slaves) {
		slaves = "none"
	}
	line("\tbond-slaves %s", slaves)
	miimon := "100"
	if v, ok := d["bond_miimon"]; ok && v != nil {
		miimon = perl.String(v)
	}
	line("\tbond-miimon %s", miimon)
	mode := perl.String(d["bond_mode"])
	if _, ok := d["bond_mode"]; !ok || d["bond_mode"] == nil {
		mode = "balance-rr"
	}
	line("\tbond-mode %s", mode)
	if perl.Truthy(d["bond_mode"]) && perl.Truthy(d["bond_xmit_hash_policy"]) && (mode == "balance-xor" || mode == "802.3ad") {
		line("\tbond-xmit-hash-policy %s", perl.String(d["bond_xmit_hash_policy"]))
	}
	if mode == "active-backup" && perl.Truthy(d["bond-primary"]) {
		line("\tbond-primary %s", perl.String(d["bond-primary"]))
	}
	if perl.Truthy(d["mtu"]) {
		line("\tmtu %s", perl.String(d["mtu"]))
	}
}
