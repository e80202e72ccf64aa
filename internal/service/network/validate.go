package network

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
)

// Interface name patterns of the types, as PVE and ifupdown2 name them.
var (
	bridgeNameRE = regexp.MustCompile(`^vmbr\d{1,4}$`)
	bondNameRE   = regexp.MustCompile(`^bond\d{1,4}$`)
	// A VLAN is <raw device>.<tag> (bond0.40) or vlan<tag> (vlan40).
	dottedVLANRE = regexp.MustCompile(`^([a-zA-Z][a-zA-Z0-9_-]*(?:\.\d+)?)\.(\d{1,4})$`)
	namedVLANRE  = regexp.MustCompile(`^vlan(\d{1,4})$`)
	ifaceRE      = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_.-]{1,19}$`)
)

func checkBridgeName(s string) error {
	if !bridgeNameRE.MatchString(s) {
		return fmt.Errorf("invalid bridge name %q: PVE names Linux bridges vmbrN (vmbr0 .. vmbr9999)", s)
	}
	return nil
}

func checkBondName(s string) error {
	if !bondNameRE.MatchString(s) {
		return fmt.Errorf("invalid bond name %q: PVE names Linux bonds bondN (bond0 .. bond9999)", s)
	}
	return nil
}

func checkVLANName(s string) error {
	if _, _, err := parseVLANName(s); err != nil {
		return err
	}
	return nil
}

func checkIfaceName(s string) error {
	if !ifaceRE.MatchString(s) {
		return fmt.Errorf("invalid interface name %q", s)
	}
	return nil
}

// parseVLANName returns the raw device ("" for vlanN names) and the tag a
// VLAN interface name implies.
func parseVLANName(s string) (raw string, tag int64, err error) {
	var tagText string
	if m := dottedVLANRE.FindStringSubmatch(s); m != nil {
		raw, tagText = m[1], m[2]
	} else if m := namedVLANRE.FindStringSubmatch(s); m != nil {
		tagText = m[1]
	} else {
		return "", 0, fmt.Errorf("invalid VLAN interface name %q: use <device>.<tag> (bond0.40) or vlan<tag> (vlan40)", s)
	}
	tag, _ = strconv.ParseInt(tagText, 10, 64)
	if tag < 1 || tag > 4094 {
		return "", 0, fmt.Errorf("invalid VLAN interface name %q: the tag %d is outside 1..4094", s, tag)
	}
	return raw, tag, nil
}

func checkCIDR4(s string) error { return checkCIDR(s, false) }
func checkCIDR6(s string) error { return checkCIDR(s, true) }

func checkCIDR(s string, v6 bool) error {
	ip, _, err := net.ParseCIDR(s)
	if err != nil {
		return fmt.Errorf("invalid CIDR %q: expected an address with its prefix length, e.g. %s", s, map[bool]string{false: "192.168.1.10/24", true: "2001:db8::10/64"}[v6])
	}
	if (ip.To4() == nil) != v6 {
		return fmt.Errorf("invalid CIDR %q: not an IPv%s address", s, map[bool]string{false: "4", true: "6"}[v6])
	}
	return nil
}

func checkIP4(s string) error { return checkIP(s, false) }
func checkIP6(s string) error { return checkIP(s, true) }

func checkIP(s string, v6 bool) error {
	ip := net.ParseIP(s)
	if ip == nil || (ip.To4() == nil) != v6 {
		return fmt.Errorf("invalid IPv%s address %q", map[bool]string{false: "4", true: "6"}[v6], s)
	}
	return nil
}

// checkGatewayInCIDR reports a gateway outside the network of cidr. Both
// are assumed well-formed.
func checkGatewayInCIDR(gateway, cidr string) error {
	_, network, err := net.ParseCIDR(cidr)
	if err != nil {
		return nil // reported by the cidr attribute
	}
	if ip := net.ParseIP(gateway); ip != nil && !network.Contains(ip) {
		return fmt.Errorf("gateway %s is not inside %s (network %s)", gateway, cidr, network)
	}
	return nil
}

// checkVIDs checks one item of a bridge's VLAN list: a tag or a range.
func checkVIDs(s string) error {
	lo, hi, isRange := strings.Cut(s, "-")
	a, errA := strconv.Atoi(lo)
	b := a
	var errB error
	if isRange {
		b, errB = strconv.Atoi(hi)
	}
	if errA != nil || errB != nil || a < 1 || b > 4094 || a > b {
		return fmt.Errorf("invalid VLAN %q: expected a tag (1..4094) or a range such as 100-200", s)
	}
	return nil
}
