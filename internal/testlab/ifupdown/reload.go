package ifupdown

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/perl"
)

// A model of `ifreload -a` (ifupdown2) on the lab's nodes: it brings up
// the "auto" interfaces of the configuration and, first, the interfaces
// they are built on (bridge ports, bond slaves, VLAN raw devices), like
// ifupdown2's dependency graph. Physical NICs exist or not; bridges and
// bonds are created even when a port or slave is missing (ifupdown2 logs
// an error and carries on, so they end up up); a VLAN whose raw device is
// missing is not created. Simplifications: physical NICs are never taken
// down, virtual interfaces that are not brought up are gone, addresses and
// MTUs are not applied to anything.
//
// The error messages are ifupdown2's (addons/bridge.py, addons/bond.py,
// addons/vlan.py; logged as "error: <message>" on stderr).

// ReloadResult is the outcome of one `ifreload -a`.
type ReloadResult struct {
	Active  map[string]bool // interfaces up afterwards
	Stderr  []string        // what ifupdown2 printed on stderr
	Handled int             // interfaces it processed
}

// Reload runs the model of `ifreload -a` on cfg for a host with the
// physical NICs nics, where wasActive were up before.
func Reload(cfg *Config, nics []string, wasActive map[string]bool) ReloadResult {
	res := ReloadResult{Active: map[string]bool{}}
	visited := map[string]bool{}
	exists := func(name string) bool { return slices.Contains(nics, name) || res.Active[name] }
	errorf := func(format string, args ...any) {
		res.Stderr = append(res.Stderr, "error: "+fmt.Sprintf(format, args...))
	}

	var bringUp func(name string)
	bringUp = func(name string) {
		if visited[name] {
			return
		}
		visited[name] = true
		d := cfg.Ifaces[name] // nil for a port without stanza of its own
		kind, lowers := linkKind(name, d)
		for _, l := range lowers {
			bringUp(l)
		}
		switch kind {
		case "bridge":
			missing := false
			for _, port := range lowers {
				if !exists(port) {
					errorf("%s: bridge port %s does not exist", name, port)
					missing = true
				}
			}
			if missing {
				errorf("bridge configuration failed (missing ports)")
			}
			res.Active[name] = true
		case "bond":
			for _, slave := range lowers {
				if !exists(slave) {
					errorf("%s: skipping slave %s, does not exist", name, slave)
				}
			}
			res.Active[name] = true
		case "vlan":
			if !exists(lowers[0]) {
				errorf("rawdevice %s not present", lowers[0])
				return
			}
			res.Active[name] = true
		default: // lo and physical NICs; anything else has no link to bring up
			if name == "lo" || slices.Contains(nics, name) {
				res.Active[name] = true
			}
		}
	}

	auto := []string{}
	for name, d := range cfg.Ifaces {
		if perl.Truthy(d["autostart"]) {
			auto = append(auto, name)
		}
	}
	slices.SortFunc(auto, func(a, b string) int {
		return cmp.Or(cmp.Compare(ifacePriority(cfg.Ifaces[a]), ifacePriority(cfg.Ifaces[b])), strings.Compare(a, b))
	})
	for _, name := range auto {
		bringUp(name)
	}
	res.Handled = len(visited)
	for _, name := range slices.Sorted(maps.Keys(wasActive)) {
		if slices.Contains(nics, name) {
			res.Active[name] = true
		}
	}
	return res
}

// linkKind is the kind of link ifupdown2 makes of an interface and the
// interfaces it depends on: "bridge" (ports), "bond" (slaves), "vlan"
// (raw device) or "" (nothing to create).
func linkKind(name string, d Iface) (string, []string) {
	if _, ok := d["bridge_ports"]; ok {
		return "bridge", strings.Fields(perl.String(d["bridge_ports"]))
	}
	if perl.String(d["type"]) == "bond" || perl.Truthy(d["slaves"]) {
		return "bond", strings.Fields(perl.String(d["slaves"]))
	}
	if raw := perl.String(d["vlan-raw-device"]); raw != "" {
		return "vlan", []string{raw}
	}
	if i := strings.LastIndex(name, "."); i > 0 {
		return "vlan", []string{name[:i]}
	}
	return "", nil
}
