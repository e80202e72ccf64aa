// Package ifupdown reads and writes /etc/network/interfaces as PVE does
// (a port of PVE::Network::Interfaces of pve-common), computes the pending
// changes as `diff -u` prints them, and models what `ifreload -a`
// (ifupdown2) brings up. It holds no state: the simulated nodes keep their
// files and pass them in.
package ifupdown

import (
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

// Iface is one interface as the parser returns it and the API shows
// it: strings for values read from the file, ints for the flags the parser
// sets itself (priority, autostart, active, exists, bridge_vlan_aware),
// []string for families and options, nil for keys Perl set to undef.
type Iface map[string]any

// netOption is a line outside any iface stanza (e.g. "source ..."), kept
// with its priority so that the writer puts it back where it was.
type netOption struct {
	priority int
	line     string
}

// Config is the parsed interfaces file.
type Config struct {
	Ifaces  map[string]Iface
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

// Parse parses an interfaces file like
// __read_etc_network_interfaces: nics are the physical NICs of the host
// (they "exist"), active the interfaces that are up.
func Parse(text string, nics []string, active map[string]bool) *Config {
	cfg := &Config{Ifaces: map[string]Iface{}}
	ifaces := cfg.Ifaces
	get := func(name string) Iface {
		if ifaces[name] == nil {
			ifaces[name] = Iface{}
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
		f := Iface{"method": m[3]}
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
		ifaces["lo"] = Iface{"priority": 1, "method": "loopback", "type": "loopback", "autostart": 1}
	}

	// keys the loop adds (parents of VLANs) are not typed, as in Perl
	for _, name := range slices.Sorted(maps.Keys(ifaces)) {
		classifyIface(ifaces, name, slices.Contains(nics, name))
	}
	return cfg
}

// parseOption stores one option line of a stanza: d is the interface, f
// its per-family part (address, gateway, options, ...).
func parseOption(d, f Iface, option, id, value string) {
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
func classifyIface(ifaces map[string]Iface, name string, physical bool) {
	d := ifaces[name]
	d["type"] = "unknown"
	inherit := func(raw string) { // exists of an alias or VLAN is that of its parent
		if parent, ok := ifaces[raw]; ok {
			d["exists"] = parent["exists"]
		} else {
			ifaces[raw] = Iface{"exists": 0}
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
			d["address"], d["netmask"] = SplitCIDR(addr)
		case ok:
			d["cidr"] = cidr
			_, d["netmask"] = SplitCIDR(cidr)
		default:
			d["cidr"] = addr + "/32"
		}
	}
	if addr := perl.String(d["address6"]); perl.Truthy(addr) {
		switch cidr, ok := cidrOf(addr, d["netmask6"]); {
		case cidrSuffixRE.MatchString(addr):
			d["cidr6"] = addr
			d["address6"], d["netmask6"] = SplitCIDR(addr)
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

// SplitCIDR is _cidr_split: address and prefix length.
func SplitCIDR(cidr string) (string, string) {
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
