package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
)

// pbs lists the backup server's datastores, their namespaces, and its
// jobs and remotes.
func pbs(ctx context.Context, c *client, add func(...string)) error {
	var stores []item
	if err := c.getData(ctx, "/api2/json/config/datastore", &stores); err != nil {
		return err
	}
	for _, s := range stores {
		name := s.str("name")
		add("pbs", "datastore", name, s.str("path"))
		var ns []item
		if err := c.getData(ctx, "/api2/json/admin/datastore/"+url.PathEscape(name)+"/namespace", &ns); err != nil {
			return err
		}
		for _, n := range ns {
			add("pbs", "namespace", name+":"+n.str("ns"))
		}
	}
	for _, l := range []struct{ kind, path, key string }{
		{"prune-job", "/config/prune", "id"},
		{"sync-job", "/config/sync", "id"},
		{"verify-job", "/config/verify", "id"},
		{"remote", "/config/remote", "name"},
	} {
		var items []item
		err := c.getData(ctx, "/api2/json"+l.path, &items)
		var es *errStatus
		if errors.As(err, &es) && !transient(es.status) {
			fmt.Fprintf(os.Stderr, "pve-inventory: pbs: %s left out: %v\n", l.path, err)
			continue
		}
		if err != nil {
			return err
		}
		for _, i := range items {
			add("pbs", l.kind, i.str(l.key))
		}
	}
	return nil
}

// odata is a Redfish resource as far as the inventory reads it.
type odata struct {
	Members []struct {
		ID string `json:"@odata.id"`
	} `json:"Members"`
	PowerState string `json:"PowerState"`
	Boot       struct {
		Enabled string `json:"BootSourceOverrideEnabled"`
		Target  string `json:"BootSourceOverrideTarget"`
	} `json:"Boot"`
	VirtualMedia *struct {
		ID string `json:"@odata.id"`
	} `json:"VirtualMedia"`
	ID       string `json:"Id"`
	Image    string `json:"Image"`
	Inserted bool   `json:"Inserted"`
}

// bmc lists a BMC's systems (power state, boot override) and the virtual
// media inserted under its systems and managers.
func bmc(ctx context.Context, c *client, node string, add func(...string)) error {
	b := func(fields ...string) { add(append([]string{"bmc", node}, fields...)...) }
	media := func(path string) error {
		var col odata
		if err := c.get(ctx, path, &col); err != nil {
			return err
		}
		for _, m := range col.Members {
			var vm odata
			if err := c.get(ctx, m.ID, &vm); err != nil {
				return err
			}
			if vm.Inserted || vm.Image != "" {
				b("media", vm.ID, vm.Image)
			}
		}
		return nil
	}
	for _, col := range []string{"/redfish/v1/Systems", "/redfish/v1/Managers"} {
		var list odata
		if err := c.get(ctx, col, &list); err != nil {
			return err
		}
		for _, m := range list.Members {
			var r odata
			if err := c.get(ctx, m.ID, &r); err != nil {
				return err
			}
			if r.PowerState != "" && col == "/redfish/v1/Systems" {
				b("power", r.PowerState)
				b("boot-override", r.Boot.Enabled, r.Boot.Target)
			}
			if r.VirtualMedia != nil && r.VirtualMedia.ID != "" {
				if err := media(r.VirtualMedia.ID); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
