package pvesim

import (
	"fmt"
	"maps"
	"math/big"
	"net/http"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/ifupdown"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/perl"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/pveschema"
)

// The network configuration of the nodes, as PVE::API2::Network serves it.
// Edits only write /etc/network/interfaces.new (created from the current
// file on the first edit); PUT /nodes/{node}/network renames it over
// /etc/network/interfaces in a "srvreload" worker, which then runs
// `ifreload -a`; DELETE /nodes/{node}/network discards it. Reads show the
// new file when there is one, and the list shows the pending changes as
// the unified diff between the two files.

// Paths of the files the network API works on.
const (
	interfacesFile    = "/etc/network/interfaces"
	interfacesNewFile = "/etc/network/interfaces.new"
)

// Management network of the lab: node N has 192.168.100.(10+N)/24 on vmbr0.
const (
	mgmtPrefixLen = 24
	mgmtGateway   = "192.168.100.1"
)

// installerInterfaces is /etc/network/interfaces as the PVE installer
// writes it; the lab's nodes start with it as PVE rewrote it once.
const installerInterfaces = `auto lo
iface lo inet loopback

iface eno1 inet manual

auto vmbr0
iface vmbr0 inet static
	address %s/%d
	gateway %s
	bridge-ports eno1
	bridge-stp off
	bridge-fd 0

iface eno2 inet manual

iface eno3 inet manual

iface eno4 inet manual


source /etc/network/interfaces.d/*
`

// nodeNetwork is the network of one node: its NICs, its interfaces files
// and which interfaces are up. It is guarded by PVE.mu.
type nodeNetwork struct {
	nics      []string
	current   ifupdown.File // /etc/network/interfaces
	staged    ifupdown.File // /etc/network/interfaces.new, when hasStaged
	hasStaged bool
	active    map[string]bool
	applied   string      // the configuration active is the outcome of
	reloads   []netReload // reload workers that have not finished
	mgmtIP    string      // the node's management address (network_mgmt.go)
	installed string      // /etc/network/interfaces as the installer wrote it
}

// netReload is a running reload worker and the interfaces that are up
// once it has finished.
type netReload struct {
	task   *task
	active map[string]bool
	text   string // the configuration it applies
}

// newNodeNetwork returns the network of a freshly installed node with the
// management address addr and the physical NICs nics, installed at installed.
func newNodeNetwork(addr string, nics []string, installed time.Time) *nodeNetwork {
	nw := &nodeNetwork{nics: slices.Clone(nics), mgmtIP: addr}
	cfg := ifupdown.Parse(fmt.Sprintf(installerInterfaces, addr, mgmtPrefixLen, mgmtGateway), nw.nics, nil)
	text, err := ifupdown.Write(cfg)
	if err != nil {
		panic("pvesim: initial network configuration: " + err.Error())
	}
	nw.current = ifupdown.File{Name: interfacesFile, Mtime: installed, Text: text}
	nw.installed, nw.applied = text, text
	nw.active = ifupdown.Reload(ifupdown.Parse(text, nw.nics, nil), nw.nics, nil).Active
	return nw
}

// activeAt returns the interfaces that are up at now, applying the
// outcome of reload workers that have finished (a worker stopped through
// the API changes nothing).
func (nw *nodeNetwork) activeAt(now time.Time) map[string]bool {
	slices.SortFunc(nw.reloads, func(a, b netReload) int { return a.task.end().Compare(b.task.end()) })
	for len(nw.reloads) > 0 && !nw.reloads[0].task.running(now) {
		if r := nw.reloads[0]; r.task.killedAt.IsZero() {
			nw.active, nw.applied = r.active, r.text
		}
		nw.reloads = nw.reloads[1:]
	}
	return nw.active
}

// read is PVE::INotify::read_file('interfaces'): the new file if there is
// one, else the current one, parsed.
func (nw *nodeNetwork) read(now time.Time) *ifupdown.Config {
	file := nw.current
	if nw.hasStaged {
		file = nw.staged
	}
	return ifupdown.Parse(file.Text, nw.nics, nw.activeAt(now))
}

// write is PVE::INotify::write_file('interfaces'): it writes the new file.
func (nw *nodeNetwork) write(cfg *ifupdown.Config, now time.Time) error {
	text, err := ifupdown.Write(cfg)
	if err != nil {
		return Errorf(http.StatusInternalServerError, "%s", err.Error())
	}
	nw.staged = ifupdown.File{Name: interfacesNewFile, Mtime: now, Text: text}
	nw.hasStaged = true
	return nil
}

// changes is the pending diff the list call reports ("" for none).
func (nw *nodeNetwork) changes() string {
	if !nw.hasStaged {
		return ""
	}
	return ifupdown.UnifiedDiff(nw.current, nw.staged)
}

func (p *PVE) registerNetworkRoutes() {
	p.Handle(http.MethodGet, "/nodes/{node}/network", p.listNetwork)
	// /etc/network/interfaces is the node's own file: no quorum needed
	p.Handle(http.MethodPost, "/nodes/{node}/network", p.createNetwork, WithoutQuorum())
	p.Handle(http.MethodPut, "/nodes/{node}/network", p.reloadNetwork, WithoutConfigLock(), WithoutQuorum())
	p.Handle(http.MethodDelete, "/nodes/{node}/network", p.revertNetwork, WithoutConfigLock(), WithoutQuorum())
	p.Handle(http.MethodGet, "/nodes/{node}/network/{iface}", p.getNetwork)
	p.Handle(http.MethodPut, "/nodes/{node}/network/{iface}", p.updateNetwork, WithoutQuorum())
	p.Handle(http.MethodDelete, "/nodes/{node}/network/{iface}", p.deleteNetwork, WithoutQuorum())
}

// networkOf returns the network of the request's node. The caller holds p.mu.
func (p *PVE) networkOf(r *Request) *nodeNetwork {
	return p.nodeLocked(r.PathParams["node"]).net
}

// listNetwork serves GET /nodes/{node}/network (index).
func (p *PVE) listNetwork(r *Request) (any, error) {
	filter, _ := r.String("type")
	p.mu.Lock()
	defer p.mu.Unlock()
	nw := p.networkOf(r)
	cfg := nw.read(time.Now())
	delete(cfg.Ifaces, "lo")
	out := []ifupdown.Iface{}
	for _, name := range slices.Sorted(maps.Keys(cfg.Ifaces)) {
		d := cfg.Ifaces[name]
		if filter != "" && filter != "include_sdn" {
			typ := perl.String(d["type"])
			isBridge := typ == "bridge" || typ == "OVSBridge"
			if typ != filter && !(isBridge && (filter == "any_bridge" || filter == "any_local_bridge")) {
				continue
			}
		}
		d["iface"] = name
		out = append(out, d)
	}
	return Listing{Data: out, Changes: nw.changes()}, nil
}

// getNetwork serves GET /nodes/{node}/network/{iface} (network_config).
func (p *PVE) getNetwork(r *Request) (any, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	d, ok := p.networkOf(r).read(time.Now()).Ifaces[r.PathParams["iface"]]
	if !ok {
		return nil, errNoIface
	}
	return d, nil
}

// errNoIface is the answer for an interface the configuration lacks.
var errNoIface = ParamError(map[string]string{"iface": "interface does not exist"})

// networkParams returns the interface settings of a create or update call
// as the Perl code sees them: every parameter but the named ones, as a
// string.
func networkParams(r *Request, except ...string) ifupdown.Iface {
	param := ifupdown.Iface{}
	for k := range r.Params {
		if slices.Contains(except, k) {
			continue
		}
		if v, ok := r.String(k); ok {
			param[k] = v
		}
	}
	return param
}

// createNetwork serves POST /nodes/{node}/network (create_network).
func (p *PVE) createNetwork(r *Request) (any, error) {
	name, _ := r.String("iface")
	param := networkParams(r, "node", "iface")
	p.mu.Lock()
	defer p.mu.Unlock()
	nw := p.networkOf(r)
	now := time.Now()
	cfg := nw.read(now)
	ifaces := cfg.Ifaces
	if _, ok := ifaces[name]; ok {
		return nil, ParamError(map[string]string{"iface": "interface already exists"})
	}
	if err := checkGateways(ifaces, name, param); err != nil {
		return nil, err
	}
	if err := checkDuplicatePorts(ifaces, name, param); err != nil {
		return nil, err
	}
	if err := mapCIDR(param); err != nil {
		return nil, err
	}
	if perl.Truthy(param["address6"]) {
		if err := checkIPv6Settings(perl.String(param["address6"]), perl.Int(param["netmask6"])); err != nil {
			return nil, err
		}
	}
	families := []string{}
	if perl.Truthy(param["address"]) {
		families = append(families, "inet")
	}
	if perl.Truthy(param["address6"]) {
		families = append(families, "inet6")
	}
	setFamiliesAndMethods(param, families)
	if strings.HasPrefix(perl.String(param["type"]), "OVS") {
		return nil, Errorf(http.StatusInternalServerError, "Open VSwitch is not installed (need package 'openvswitch-switch')")
	}
	if err := checkBridgeVIDs(param); err != nil {
		return nil, err
	}
	// make sure the list is space separated, as create_network does
	if perl.Truthy(param["bridge_vids"]) {
		param["bridge_vids"] = strings.Join(pveschema.SplitList(perl.String(param["bridge_vids"])), " ")
	}
	ifaces[name] = param
	return nil, nw.write(cfg, now)
}

// updateNetwork serves PUT /nodes/{node}/network/{iface} (update_network).
// Like PVE it sets method and families from the parameters of this call
// only: an update without address makes the interface "manual" (its
// address stays), one without address6 drops the inet6 stanza.
func (p *PVE) updateNetwork(r *Request) (any, error) {
	name := r.PathParams["iface"]
	deletes, _ := r.String("delete")
	param := networkParams(r, "node", "iface", "delete")
	p.mu.Lock()
	defer p.mu.Unlock()
	nw := p.networkOf(r)
	now := time.Now()
	cfg := nw.read(now)
	ifaces := cfg.Ifaces
	d, ok := ifaces[name]
	if !ok {
		return nil, errNoIface
	}
	for _, k := range pveschema.SplitList(deletes) {
		delete(d, k)
		switch k {
		case "cidr":
			delete(d, "netmask")
			delete(d, "address")
		case "cidr6":
			delete(d, "netmask6")
			delete(d, "address6")
		}
	}
	if err := mapCIDR(param); err != nil {
		return nil, err
	}
	if err := checkGateways(ifaces, name, param); err != nil {
		return nil, err
	}
	if err := checkDuplicatePorts(ifaces, name, param); err != nil {
		return nil, err
	}
	families := []string{}
	if perl.Truthy(param["address"]) {
		families = append(families, "inet")
	}
	if perl.Truthy(param["address6"]) {
		if err := checkIPv6Settings(perl.String(param["address6"]), perl.Int(param["netmask6"])); err != nil {
			return nil, err
		}
		families = append(families, "inet6")
	}
	setFamiliesAndMethods(param, families)
	maps.Copy(d, param)
	// update_network checks bridge_vids only after copying the parameters,
	// and normalises the copy it no longer uses: the value is written as given
	if err := checkBridgeVIDs(param); err != nil {
		return nil, err
	}
	return nil, nw.write(cfg, now)
}

// deleteNetwork serves DELETE /nodes/{node}/network/{iface} (delete_network).
// Like PVE it does not look for interfaces that still use this one: the
// writer refuses a configuration with a bridge port or VLAN parent that is
// gone, not ifreload.
func (p *PVE) deleteNetwork(r *Request) (any, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	nw := p.networkOf(r)
	now := time.Now()
	cfg := nw.read(now)
	name := r.PathParams["iface"]
	if _, ok := cfg.Ifaces[name]; !ok {
		return nil, errNoIface
	}
	delete(cfg.Ifaces, name)
	return nil, nw.write(cfg, now)
}

// revertNetwork serves DELETE /nodes/{node}/network (revert_network_changes).
func (p *PVE) revertNetwork(r *Request) (any, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.networkOf(r).hasStaged = false
	return nil, nil
}

// Exit status of a failed `ifreload -a`, as PVE::Tools::run_command dies.
const ifreloadFailed = "command 'ifreload -a' failed: exit code 1"

// ifreloadErrRE selects the ifupdown2 messages the reload worker logs.
var ifreloadErrRE = regexp.MustCompile(`(warning|error): (\S+):`)

// reloadNetwork serves PUT /nodes/{node}/network (reload_network_config):
// a "srvreload" worker renames interfaces.new over interfaces, then runs
// `ifreload -a`. The rename happens when the worker starts; which
// interfaces are up changes when it ends. A worker failed by
// Faults.FailNextTasks has renamed the file but changed nothing else.
func (p *PVE) reloadNetwork(r *Request) (any, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	nw := p.networkOf(r)
	now := time.Now()
	if nw.hasStaged {
		nw.current = ifupdown.File{Name: interfacesFile, Mtime: nw.staged.Mtime, Text: nw.staged.Text}
		nw.hasStaged = false
	}
	res := ifupdown.Reload(ifupdown.Parse(nw.current.Text, nw.nics, nw.activeAt(now)), nw.nics, nw.active)
	t := &task{
		node:     r.PathParams["node"],
		typ:      "srvreload",
		id:       "networking",
		user:     r.User,
		duration: min(300*time.Millisecond+time.Duration(res.Handled)*40*time.Millisecond, time.Second),
		exit:     "OK",
	}
	if exit, ok := p.faults.TaskFailure(t.typ); ok {
		t.exit = dieStatus(exit)
	} else {
		// the worker's errfunc: only "error: <iface>: ..." lines reach the log
		for _, line := range res.Stderr {
			if m := ifreloadErrRE.FindStringSubmatch(line); m != nil {
				t.lines = append(t.lines, m[2]+" : "+line+" ")
			}
		}
		if len(res.Stderr) > 0 {
			t.exit = ifreloadFailed
		}
		nw.reloads = append(nw.reloads, netReload{task: t, active: res.Active, text: nw.current.Text})
	}
	p.spawnLocked(t, now)
	p.watchReload(t.node, t)
	return t.upid, nil
}

// checkGateways refuses a second default gateway (check_duplicate_gateway
// and check_duplicate_gateway6).
func checkGateways(ifaces map[string]ifupdown.Iface, name string, param ifupdown.Iface) error {
	for _, gw := range []struct{ key, what string }{{"gateway", "Default gateway"}, {"gateway6", "Default ipv6 gateway"}} {
		if !perl.Truthy(param[gw.key]) {
			continue
		}
		for _, other := range slices.Sorted(maps.Keys(ifaces)) {
			if other != name && perl.Truthy(ifaces[other][gw.key]) {
				return ParamError(map[string]string{gw.key: fmt.Sprintf("%s already exists on interface '%s'.", gw.what, other)})
			}
		}
	}
	return nil
}

// portKeys are the settings that list the ports of an interface.
var portKeys = []string{"bridge_ports", "ovs_ports", "slaves", "ovs_bonds"}

// portList returns the ports an interface uses and the first setting
// that names some.
func portList(d ifupdown.Iface) ([]string, string) {
	ports, key := "", ""
	for _, k := range portKeys {
		if perl.Truthy(d[k]) {
			ports += " " + perl.String(d[k])
			if key == "" {
				key = k
			}
		}
	}
	return pveschema.SplitList(ports), key
}

// checkDuplicatePorts refuses ports another interface already uses
// (check_duplicate_ports).
func checkDuplicatePorts(ifaces map[string]ifupdown.Iface, name string, param ifupdown.Iface) error {
	ports, key := portList(param)
	if len(ports) == 0 {
		return nil
	}
	for _, other := range slices.Sorted(maps.Keys(ifaces)) {
		if other == name {
			continue
		}
		used, _ := portList(ifaces[other])
		for _, p := range used {
			if slices.Contains(ports, p) {
				return ParamError(map[string]string{key: fmt.Sprintf("%s is already used on interface '%s'.", p, other)})
			}
		}
	}
	return nil
}

// mapCIDR replaces cidr and cidr6 by address and netmask
// (map_cidr_to_address_netmask).
func mapCIDR(param ifupdown.Iface) error {
	for _, s := range []string{"", "6"} {
		cidr := param["cidr"+s]
		if !perl.Truthy(cidr) {
			continue
		}
		for _, k := range []string{"address", "netmask"} {
			if perl.Truthy(param[k+s]) {
				return ParamError(map[string]string{k + s: fmt.Sprintf("%s conflicts with cidr%s", k+s, s)})
			}
		}
		param["address"+s], param["netmask"+s] = ifupdown.SplitCIDR(perl.String(cidr))
		delete(param, "cidr"+s)
	}
	return nil
}

// setFamiliesAndMethods sets families (inet when no address is given),
// method and method6 from the addresses of the call.
func setFamiliesAndMethods(param ifupdown.Iface, families []string) {
	if len(families) == 0 {
		families = []string{"inet"}
	}
	param["families"] = families
	param["method"], param["method6"] = "manual", "manual"
	if perl.Truthy(param["address"]) {
		param["method"] = "static"
	}
	if perl.Truthy(param["address6"]) {
		param["method6"] = "static"
	}
}

// checkBridgeVIDs refuses a VLAN list without VLANs.
func checkBridgeVIDs(param ifupdown.Iface) error {
	if v := param["bridge_vids"]; perl.Truthy(v) && len(pveschema.SplitList(perl.String(v))) == 0 {
		return ParamError(map[string]string{"bridge_vids": "VLAN list items are empty"})
	}
	return nil
}

// ipv6Ranges is Net::IP's %IPv6ranges (libnet-ip-perl 1.26): address
// types by binary prefix; the longest matching prefix wins.
var ipv6Ranges = map[string]string{
	"00000000": "RESERVED", "00000001": "RESERVED", "0000001": "RESERVED", "000001": "RESERVED",
	"00001": "RESERVED", "0001": "RESERVED", "001": "GLOBAL-UNICAST", "010": "RESERVED",
	"011": "RESERVED", "100": "RESERVED", "101": "RESERVED", "110": "RESERVED", "1110": "RESERVED",
	"11110": "RESERVED", "111110": "RESERVED", "1111101": "RESERVED", "1111110": "UNIQUE-LOCAL-UNICAST",
	"111111100": "RESERVED", "1111111010": "LINK-LOCAL-UNICAST", "1111111011": "RESERVED",
	"11111111": "MULTICAST", "00100000000000010000110110111000": "RESERVED", // 2001:db8::/32
	strings.Repeat("0", 96):                           "IPV4COMP",
	strings.Repeat("0", 80) + strings.Repeat("1", 16): "IPV4MAP",
	strings.Repeat("0", 128):                          "UNSPECIFIED",
	strings.Repeat("0", 127) + "1":                    "LOOPBACK",
}

// ipv6Type is Net::IP::ip_iptypev6 of a binary address.
func ipv6Type(bin string) string {
	typ, best := "", -1
	for prefix, t := range ipv6Ranges {
		if len(prefix) > best && strings.HasPrefix(bin, prefix) {
			typ, best = t, len(prefix)
		}
	}
	return typ
}

// checkIPv6Settings is the create and update check of an IPv6 address:
// only global, unique local and link local unicast addresses are accepted.
func checkIPv6Settings(address string, netmask int) error {
	if netmask < 0 || netmask > 128 {
		return ParamError(map[string]string{"netmask": fmt.Sprintf("%d is not a valid subnet length for ipv6", netmask)})
	}
	addr, err := netip.ParseAddr(address)
	if err != nil || !addr.Is6() {
		return ParamError(map[string]string{"address": fmt.Sprintf("%s is not a valid host IPv6 address.", address)})
	}
	raw := addr.As16()
	bin := fmt.Sprintf("%0128s", new(big.Int).SetBytes(raw[:]).Text(2))
	mask := strings.Repeat("1", netmask) + strings.Repeat("0", 128-netmask)
	typ := "ANYCAST"
	if bin != mask {
		typ = ipv6Type(bin)
	}
	switch typ {
	case "", "GLOBAL-UNICAST", "UNIQUE-LOCAL-UNICAST", "LINK-LOCAL-UNICAST":
		return nil
	}
	return ParamError(map[string]string{"address": fmt.Sprintf("%s with type '%s', cannot be used as host IPv6 address.", address, typ)})
}
