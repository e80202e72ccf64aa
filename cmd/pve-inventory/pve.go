package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"
)

// pveNode lists what node (through its own API) holds and sees. Every
// line starts with "pve <node>", so that standalone nodes and members of
// one cluster compare alike (a member repeats the cluster-wide lines).
func pveNode(ctx context.Context, c *client, node string, add func(...string)) error {
	if node == "" {
		var nodes []item
		if err := c.getData(ctx, "/api2/json/nodes", &nodes); err != nil {
			return err
		}
		for _, n := range nodes {
			if err := pveNode(ctx, c, n.str("node"), add); err != nil {
				return err
			}
		}
		return nil
	}
	p := func(kind string, id ...string) { add(append([]string{"pve", node, kind}, id...)...) }
	np := "/api2/json/nodes/" + url.PathEscape(node)

	list := func(path string, each func(item)) error {
		var items []item
		if err := c.getData(ctx, path, &items); err != nil {
			return err
		}
		for _, it := range items {
			each(it)
		}
		return nil
	}
	// Guests of the node.
	if err := list(np+"/qemu", func(i item) { p("qemu", i.str("vmid"), i.str("name")) }); err != nil {
		return err
	}
	if err := list(np+"/lxc", func(i item) { p("lxc", i.str("vmid"), i.str("name")) }); err != nil {
		return err
	}
	// Storages as the node sees them, and the volumes of the active ones.
	var storages []item
	if err := c.getData(ctx, np+"/storage", &storages); err != nil {
		return err
	}
	for _, s := range storages {
		id := s.str("storage")
		p("storage", id, s.str("type"))
		if s.str("active") != "1" {
			continue
		}
		// A storage behind another server (a PBS) fails its listing when
		// that server does: tried a few times, then marked unreadable.
		var vols []item
		var err error
		for range 5 {
			if err = c.getData(ctx, np+"/storage/"+url.PathEscape(id)+"/content", &vols); err == nil {
				break
			}
			time.Sleep(time.Second)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "pve-inventory: %s: %v\n", node, err)
			p("storage-unreadable", id)
			continue
		}
		for _, v := range vols {
			p("volume", v.str("volid"))
		}
	}
	// Network interfaces, and the changes staged in interfaces.new.
	var network struct {
		Data    []item `json:"data"`
		Changes string `json:"changes"`
	}
	if err := c.get(ctx, np+"/network", &network); err != nil {
		return err
	}
	for _, i := range network.Data {
		p("iface", i.str("iface"), i.str("type"))
	}
	if network.Changes != "" {
		p("network-pending", fmt.Sprintf("%d-lines", strings.Count(network.Changes, "\n")))
	}

	// What the node sees cluster-wide (its own configuration when it is
	// standalone). A list a standalone node cannot serve is left out.
	var status []item
	if err := c.getData(ctx, "/api2/json/cluster/status", &status); err != nil {
		return err
	}
	for _, s := range status {
		if s.str("type") == "cluster" {
			p("cluster", s.str("name"))
		} else {
			p("cluster-member", s.str("name"))
		}
	}
	for _, l := range []struct{ kind, path, key string }{
		{"pool", "/pools", "poolid"},
		{"storage-cfg", "/storage", "storage"},
		{"mapping-pci", "/cluster/mapping/pci", "id"},
		{"mapping-usb", "/cluster/mapping/usb", "id"},
		{"mapping-dir", "/cluster/mapping/dir", "id"},
		{"ha-resource", "/cluster/ha/resources", "sid"},
		{"ha-rule", "/cluster/ha/rules", "rule"},
		{"ha-group", "/cluster/ha/groups", "group"},
		{"user", "/access/users", "userid"},
		{"group", "/access/groups", "groupid"},
		{"role", "/access/roles", "roleid"},
		{"acl", "/access/acl", "path"},
		{"backup-job", "/cluster/backup", "id"},
		{"replication-job", "/cluster/replication", "id"},
	} {
		err := list("/api2/json"+l.path, func(i item) {
			switch l.kind {
			case "acl":
				p(l.kind, i.str("path"), i.str("type"), i.str("ugid"), i.str("roleid"))
			default:
				p(l.kind, i.str(l.key))
			}
		})
		var es *errStatus
		if errors.As(err, &es) && !transient(es.status) {
			fmt.Fprintf(os.Stderr, "pve-inventory: %s: %s left out: %v\n", node, l.path, err)
			continue
		}
		if err != nil {
			return err
		}
	}
	return nil
}
