package pve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/hcilab/terraform-provider-pve/internal/apiclient"
)

// NetworkInterface is one interface of a node's network configuration, as
// GET /nodes/{node}/network reports it: the staged configuration
// (/etc/network/interfaces.new) when there is one, else the active one,
// plus whether the interface is up.
type NetworkInterface struct {
	Iface              string   `json:"iface"`
	Type               string   `json:"type"` // eth, bridge, bond, vlan, ...
	Active             Bool     `json:"active"`
	Exists             Bool     `json:"exists"` // a physical NIC
	Autostart          Bool     `json:"autostart"`
	Method             string   `json:"method"`
	Method6            string   `json:"method6"`
	CIDR               string   `json:"cidr"`
	Address            string   `json:"address"`
	Netmask            string   `json:"netmask"`
	Gateway            string   `json:"gateway"`
	CIDR6              string   `json:"cidr6"`
	Address6           string   `json:"address6"`
	Netmask6           string   `json:"netmask6"`
	Gateway6           string   `json:"gateway6"`
	BridgePorts        string   `json:"bridge_ports"`
	BridgeVLANAware    Bool     `json:"bridge_vlan_aware"`
	BridgeVIDs         string   `json:"bridge_vids"`
	Slaves             string   `json:"slaves"`
	BondMode           string   `json:"bond_mode"`
	BondXmitHashPolicy string   `json:"bond_xmit_hash_policy"`
	BondPrimary        string   `json:"bond-primary"`
	BondMiimon         Int      `json:"bond_miimon"`
	VLANRawDevice      string   `json:"vlan-raw-device"`
	VLANID             Int      `json:"vlan-id"`
	MTU                Int      `json:"mtu"`
	Comments           string   `json:"comments"`
	Options            []string `json:"options"` // stanza lines PVE keeps but does not model
}

// IPv4 returns the interface's IPv4 address in CIDR notation, or "".
func (n *NetworkInterface) IPv4() string {
	return cidrOf(n.CIDR, n.Address, n.Netmask)
}

// IPv6 returns the interface's IPv6 address in CIDR notation, or "".
func (n *NetworkInterface) IPv6() string {
	return cidrOf(n.CIDR6, n.Address6, n.Netmask6)
}

// cidrOf prefers PVE's cidr field and falls back to address and netmask
// (a prefix length or a dotted mask).
func cidrOf(cidr, address, netmask string) string {
	if cidr != "" || address == "" {
		return cidr
	}
	if netmask == "" {
		return address
	}
	if ip := net.ParseIP(netmask); ip != nil && ip.To4() != nil {
		ones, _ := net.IPMask(ip.To4()).Size()
		netmask = strconv.Itoa(ones)
	}
	return address + "/" + netmask
}

// Comment returns the interface's comment without the line break PVE keeps
// at its end.
func (n *NetworkInterface) Comment() string {
	return strings.TrimRight(n.Comments, "\n")
}

// Option returns the value of a stanza line PVE keeps in "options", such as
// "bond-lacp-rate 1", and whether it is there.
func (n *NetworkInterface) Option(key string) (string, bool) {
	for _, o := range n.Options {
		k, v, _ := strings.Cut(strings.TrimSpace(o), " ")
		if k == key {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

// SplitList splits one of PVE's interface lists ("eno1 eno2", also with
// commas or semicolons).
func SplitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == ';' || r == '\t' })
}

// NetworkConfig is a node's network configuration.
type NetworkConfig struct {
	Interfaces []NetworkInterface
	// Changes is the unified diff between the active configuration and the
	// staged one; empty when nothing is staged.
	Changes string
}

// Interface returns the named interface, or nil.
func (c *NetworkConfig) Interface(name string) *NetworkInterface {
	for i := range c.Interfaces {
		if c.Interfaces[i].Iface == name {
			return &c.Interfaces[i]
		}
	}
	return nil
}

// Pending reports whether the staged changes touch the named interface.
func (c *NetworkConfig) Pending(name string) bool {
	return pendingInterfaces(c.Changes)[name]
}

var stanzaRE = regexp.MustCompile(`^(?:iface|auto|allow-\S+)\s+(.*)$`)

// pendingInterfaces reads the interfaces a unified diff of
// /etc/network/interfaces touches: an interface is touched when a line of
// its stanza, or an auto line naming it, is added or removed.
func pendingInterfaces(diff string) map[string]bool {
	touched := map[string]bool{}
	current := ""
	for _, line := range strings.Split(diff, "\n") {
		if strings.HasPrefix(line, "---") || strings.HasPrefix(line, "+++") || strings.HasPrefix(line, "@@") || line == "" {
			continue
		}
		mark, text := line[0], strings.TrimSpace(line[1:])
		changed := mark == '+' || mark == '-'
		if m := stanzaRE.FindStringSubmatch(text); m != nil {
			names := strings.Fields(m[1])
			if strings.HasPrefix(text, "iface") {
				current = names[0]
				names = names[:1]
			}
			if changed {
				for _, n := range names {
					touched[n] = true
				}
			}
			continue
		}
		if changed && current != "" && text != "" && !strings.HasPrefix(text, "source") {
			touched[current] = true
		}
	}
	return touched
}

// NetworkConfig reads a node's network configuration; typ filters by
// interface type ("" for all).
func (c *Client) NetworkConfig(ctx context.Context, node, typ string) (*NetworkConfig, error) {
	var q url.Values
	if typ != "" {
		q = url.Values{"type": {typ}}
	}
	var env struct {
		Data    []NetworkInterface `json:"data"`
		Changes string             `json:"changes"`
	}
	if err := c.send(ctx, "GET", "/nodes/"+url.PathEscape(node)+"/network", q, &env); err != nil {
		return nil, err
	}
	return &NetworkConfig{Interfaces: env.Data, Changes: env.Changes}, nil
}

// CreateNetworkInterface stages a new interface (POST); params hold PVE's
// keys ("type", "bridge_ports", ...). Nothing is active before a reload.
func (c *Client) CreateNetworkInterface(ctx context.Context, node, iface string, params url.Values) error {
	p := cloneValues(params)
	p.Set("iface", iface)
	exists := func(ctx context.Context) (bool, error) {
		return found(c.Get(ctx, "/nodes/"+url.PathEscape(node)+"/network/"+url.PathEscape(iface), nil, nil))
	}
	return c.postCreate(ctx, "/nodes/"+url.PathEscape(node)+"/network", p, exists)
}

// UpdateNetworkInterface stages a change of an interface (PUT); PVE needs
// "type" among params, and "delete" lists the keys to clear.
func (c *Client) UpdateNetworkInterface(ctx context.Context, node, iface string, params url.Values) error {
	return c.Put(ctx, networkIfacePath(node, iface), params, nil)
}

// DeleteNetworkInterface stages the removal of an interface. An interface
// that is already gone is not an error.
func (c *Client) DeleteNetworkInterface(ctx context.Context, node, iface string) error {
	err := c.Delete(ctx, networkIfacePath(node, iface), nil, nil)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// ReloadNetwork applies the node's staged network configuration (PUT
// /nodes/{node}/network, a srvreload task) and waits for it. A reload whose
// task failed is run once more: pve-manager's reload_network_config
// (PVE/API2/Network.pm) moves interfaces.new into place before it runs
// `ifreload -a`, so the first worker has written the configuration
// whatever its outcome, and a second one runs `ifreload -a` on the same
// file, which brings up what the first left down if it failed for a
// moment; a configuration ifupdown2 refuses fails again, and that is the
// error.
func (c *Client) ReloadNetwork(ctx context.Context, node string) (*TaskResult, error) {
	res, err := c.reloadNetworkOnce(ctx, node)
	var te *TaskError
	if err == nil || !errors.As(err, &te) {
		return res, err
	}
	tflog.Warn(ctx, "network reload failed; running it once more", map[string]any{"node": node, "error": err.Error()})
	if serr := apiclient.Sleep(ctx, reloadRetryPause); serr != nil {
		return res, err
	}
	res2, err2 := c.reloadNetworkOnce(ctx, node)
	if err2 != nil {
		return res2, fmt.Errorf("%w (a first reload failed as well: %w)", err2, err)
	}
	return res2, nil
}

// reloadRetryPause is the wait before a failed reload is run again.
var reloadRetryPause = time.Second

func (c *Client) reloadNetworkOnce(ctx context.Context, node string) (*TaskResult, error) {
	var upid string
	if err := c.Put(ctx, "/nodes/"+url.PathEscape(node)+"/network", nil, &upid); err != nil {
		return nil, fmt.Errorf("reloading the network of node %s: %w", node, err)
	}
	res, err := c.WaitTask(ctx, upid, WaitOptions{})
	if err != nil {
		return res, fmt.Errorf("reloading the network of node %s: %w", node, err)
	}
	return res, nil
}

func networkIfacePath(node, iface string) string {
	return "/nodes/" + url.PathEscape(node) + "/network/" + url.PathEscape(iface)
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v)+1)
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// Bool decodes PVE's booleans, which come as 0/1 numbers, "0"/"1" strings
// or JSON booleans.
type Bool bool

// UnmarshalJSON implements json.Unmarshaler.
func (b *Bool) UnmarshalJSON(data []byte) error {
	switch strings.Trim(string(data), `"`) {
	case "1", "true", "yes", "on":
		*b = true
	case "0", "false", "no", "off", "", "null":
		*b = false
	default:
		return fmt.Errorf("not a boolean: %s", data)
	}
	return nil
}

// Int decodes PVE's integers, which come as numbers or, when read from a
// configuration file, as strings. Zero means absent.
type Int int64

// UnmarshalJSON implements json.Unmarshaler.
func (i *Int) UnmarshalJSON(data []byte) error {
	s := strings.Trim(string(data), `"`)
	if s == "" || s == "null" {
		*i = 0
		return nil
	}
	var n json.Number = json.Number(s)
	v, err := n.Int64()
	if err != nil {
		return fmt.Errorf("not an integer: %s", data)
	}
	*i = Int(v)
	return nil
}

// ManagementAddresses returns the addresses through which the provider
// and the cluster reach node: its address in /cluster/status (what the
// other members' pveproxy forwards calls to, PVE::Cluster::remote_node_ip,
// and the lab's corosync link), and the host of this client's endpoint
// when it is an IP address and node is the one answering there. A node
// that /cluster/status does not list gives none.
func (c *Client) ManagementAddresses(ctx context.Context, node string) ([]netip.Addr, error) {
	st, err := c.ClusterStatus(ctx)
	if err != nil {
		return nil, err
	}
	var out []netip.Addr
	for _, m := range st.Nodes {
		if m.Name != node {
			continue
		}
		if a, err := netip.ParseAddr(m.IP); err == nil {
			out = append(out, a.Unmap())
		}
		if u, err := url.Parse(c.endpoint); err == nil && bool(m.Local) {
			if a, err := netip.ParseAddr(u.Hostname()); err == nil && !slices.Contains(out, a.Unmap()) {
				out = append(out, a.Unmap())
			}
		}
	}
	return out, nil
}
