package pvesim

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/perl"
)

// corosync.conf as PVE::Corosync reads and writes it. The lab keeps the
// parts PVE's API shows: the totem section (cluster name, config version,
// links) and the node list.

// maxLinkIndex is PVE::Corosync::MAX_LINK_INDEX (links 0..7).
const maxLinkIndex = 7

// corosyncNode is a node of the node list.
type corosyncNode struct {
	name    string
	nodeid  int
	votes   int            // quorum_votes
	noVotes bool           // no quorum_votes line: corosync counts 1 vote
	rings   map[int]string // link number → ring<N>_addr
}

// corosyncConf is /etc/pve/corosync.conf.
type corosyncConf struct {
	name             string
	version          int         // totem.config_version
	links            map[int]int // totem interfaces: link number → knet_link_priority (0: not set)
	tokenCoefficient string      // totem.token_coefficient ("" when not set)
	nodes            []*corosyncNode
}

func (c *corosyncConf) clone() *corosyncConf {
	out := *c
	out.links = maps.Clone(c.links)
	out.nodes = nil
	for _, n := range c.nodes {
		cp := *n
		cp.rings = maps.Clone(n.rings)
		out.nodes = append(out.nodes, &cp)
	}
	return &out
}

func (c *corosyncConf) node(name string) *corosyncNode {
	for _, n := range c.nodes {
		if n.name == name {
			return n
		}
	}
	return nil
}

// sortedNodes returns the node list by node ID, the order the lab lists
// members in (PVE walks a hash).
func (c *corosyncConf) sortedNodes() []*corosyncNode {
	out := slices.Clone(c.nodes)
	slices.SortStableFunc(out, func(a, b *corosyncNode) int { return a.nodeid - b.nodeid })
	return out
}

// totalVotes is the expected votes of votequorum: the sum of the node
// list's quorum_votes.
func (c *corosyncConf) totalVotes() int {
	total := 0
	for _, n := range c.nodes {
		total += n.votes
	}
	return total
}

// quorate reports whether online votes make a majority (votequorum
// without two_node or other options).
func (c *corosyncConf) quorate(online func(name string) bool) bool {
	have := 0
	for _, n := range c.nodes {
		if online(n.name) {
			have += n.votes
		}
	}
	return have >= c.totalVotes()/2+1
}

// entry is a node of the node list as parse_conf returns it: every value
// a string.
func (n *corosyncNode) entry() map[string]any {
	e := map[string]any{
		"name":   n.name,
		"nodeid": strconv.Itoa(n.nodeid),
	}
	if !n.noVotes {
		e["quorum_votes"] = strconv.Itoa(n.votes)
	}
	for l, addr := range n.rings {
		e[fmt.Sprintf("ring%d_addr", l)] = addr
	}
	return e
}

// totem is the totem section as parse_conf returns it: strings, and the
// interfaces by link number.
func (c *corosyncConf) totem() map[string]any {
	ifaces := map[string]any{}
	for l, prio := range c.links {
		iface := map[string]any{"linknumber": strconv.Itoa(l)}
		if prio != 0 {
			iface["knet_link_priority"] = strconv.Itoa(prio)
		}
		ifaces[strconv.Itoa(l)] = iface
	}
	t := map[string]any{
		"cluster_name":   c.name,
		"config_version": strconv.Itoa(c.version),
		"interface":      ifaces,
		"ip_version":     "ipv4-6",
		"link_mode":      "passive",
		"secauth":        "on",
		"version":        "2",
	}
	if c.tokenCoefficient != "" {
		t["token_coefficient"] = c.tokenCoefficient
	}
	return t
}

// text is the file as PVE::Corosync::write_conf writes it: sections and
// keys sorted, two spaces of indentation, an empty line after each
// top-level section.
func (c *corosyncConf) text() string {
	nodes := map[string]any{}
	for _, n := range c.nodes {
		nodes[n.name] = n.entry()
	}
	main := map[string]any{
		"logging":  map[string]any{"debug": "off", "to_syslog": "yes"},
		"nodelist": map[string]any{"node": nodes},
		"quorum":   map[string]any{"provider": "corosync_votequorum"},
		"totem":    c.totem(),
	}
	var b strings.Builder
	var dump func(section map[string]any, prefix string)
	dump = func(section map[string]any, prefix string) {
		for _, k := range slices.Sorted(maps.Keys(section)) {
			switch v := section[k].(type) {
			case map[string]any:
				if k == "node" || k == "interface" { // array sections, written as repeated blocks
					for _, ck := range slices.Sorted(maps.Keys(v)) {
						b.WriteString(prefix + k + " {\n")
						dump(v[ck].(map[string]any), prefix+"  ")
						b.WriteString(prefix + "}\n")
					}
					continue
				}
				b.WriteString(prefix + k + " {\n")
				dump(v, prefix+"  ")
				b.WriteString(prefix + "}\n")
				if prefix == "" {
					b.WriteString("\n")
				}
			default:
				fmt.Fprintf(&b, "%s%s: %v\n", prefix, k, v)
			}
		}
	}
	dump(main, "")
	return b.String()
}

// digest is the SHA-1 parse_conf computes over the raw file.
func (c *corosyncConf) digest() string {
	sum := sha1.Sum([]byte(c.text()))
	return hex.EncodeToString(sum[:])
}

// verify is PVE::Corosync::verify_conf: errors and warnings.
func (c *corosyncConf) verify() (errs, warnings []string) {
	if c == nil || len(c.nodes) == 0 {
		return []string{"no nodes found"}, nil
	}
	names := make([]string, 0, len(c.nodes))
	for _, n := range c.nodes {
		names = append(names, n.name)
	}
	slices.Sort(names)
	for l := 0; l <= maxLinkIndex; l++ {
		_, haveIface := c.links[l]
		for _, name := range names {
			_, haveLink := c.node(name).rings[l]
			switch {
			case haveLink && !haveIface:
				errs = append(errs, fmt.Sprintf("node '%s' has 'ring%d_addr', but there is no interface number %d configured", name, l, l))
			case !haveLink && haveIface:
				errs = append(errs, fmt.Sprintf("node '%s' is missing address forinterface number %d", name, l))
			}
		}
	}
	return errs, warnings
}

// parseCorosyncLink parses a corosync-link property string
// ("[address=]<IP>[,priority=<n>]"); the schema has checked its syntax.
func parseCorosyncLink(s string) (addr string, prio int) {
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			addr = part
			continue
		}
		switch k {
		case "address":
			addr = v
		case "priority":
			prio, _ = strconv.Atoi(v)
		}
	}
	return addr, prio
}

// corosyncLinks is extract_corosync_link_args: the link<N> parameters.
func corosyncLinks(r *Request) map[int]string {
	links := map[int]string{}
	for l := 0; l <= maxLinkIndex; l++ {
		if v, ok := r.String(fmt.Sprintf("link%d", l)); ok && perl.Truthy(v) {
			links[l] = v
		}
	}
	return links
}
