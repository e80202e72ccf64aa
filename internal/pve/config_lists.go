package pve

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
)

// Lists shared by the reads of the other types a configuration holds many
// of, under the rules of the guest lists (guest_lists.go: any write, the
// end of any awaited task, and 5 s make a list stale):
//
//   - a node's network interfaces (bridges, bonds, VLANs): PVE answers one
//     interface's GET from the same parsed /etc/network/interfaces as the
//     node's list, and the resources read the whole list already, for the
//     pending changes (NetworkConfig);
//   - HA resources, rules and groups: PVE's index returns every object as
//     its GET does (pve-ha-manager PVE::API2::HA::Resources index and read,
//     both $api_copy_config; Rules index and read_rule, both
//     $get_api_ha_rule; Groups index and read, both $api_copy_config);
//   - resource pools: the index without poolid returns every pool's ID and
//     comment (pve-manager PVE::API2::Pool index), all a pool's refresh
//     reads; its members (which the index leaves out) only its delete;
//   - resource mappings (PCI, USB, directories): the index returns every
//     mapping the user may see as its GET does (PVE::API2::Cluster::Mapping::
//     PCI, USB, Dir: index and get both copy the section and the digest).
//   - the server's version (GET /version), which every HA object's plan
//     checks (MajorVersion).
//
// An object a list does not show is read on its own, as before: it went
// (the read says so), or the index left it out (a mapping the user may
// use but not see listed, an HA resource named by VMID alone).

// NetworkConfigShared is NetworkConfig(ctx, node, "") from the node's
// list shared by the reads of one run. The caller must not change it.
func (c *Client) NetworkConfigShared(ctx context.Context, node string) (*NetworkConfig, error) {
	v, err := c.lists.get(ctx, "/nodes/"+url.PathEscape(node)+"/network", func(ctx context.Context) (any, error) {
		return c.NetworkConfig(ctx, node, "")
	})
	if err != nil {
		return nil, err
	}
	return v.(*NetworkConfig), nil
}

// haIDKeys is the key of each HA kind's ID in its index.
var haIDKeys = map[string]string{"resources": "sid", "rules": "rule", "groups": "group"}

// haObjects is the shared index of an HA kind: its objects by ID.
func (c *Client) haObjects(ctx context.Context, kind string) (map[string]HAObject, error) {
	v, err := c.lists.get(ctx, haPath(kind, ""), func(ctx context.Context) (any, error) {
		var list []map[string]json.RawMessage
		if err := c.Get(ctx, haPath(kind, ""), nil, &list); err != nil {
			return nil, fmt.Errorf("reading the HA %s: %w", kind, err)
		}
		byID := make(map[string]HAObject, len(list))
		for _, raw := range list {
			o := haObject(raw)
			byID[o[haIDKeys[kind]]] = o
		}
		return byID, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(map[string]HAObject), nil
}

// GetHAShared is GetHA from the kind's index shared by the reads of one
// run. The caller must not change the object.
func (c *Client) GetHAShared(ctx context.Context, kind, id string) (HAObject, error) {
	if _, ok := haIDKeys[kind]; ok {
		all, err := c.haObjects(ctx, kind)
		if err != nil && ctx.Err() != nil {
			return nil, err
		}
		if o, ok := all[id]; ok {
			return o, nil
		}
	}
	return c.GetHA(ctx, kind, id)
}

// GetPoolShared is GetPool without the members, from the pool index
// shared by the reads of one run.
func (c *Client) GetPoolShared(ctx context.Context, id string) (*Pool, error) {
	v, err := c.lists.get(ctx, "/pools", func(ctx context.Context) (any, error) {
		var list []Pool
		if err := c.Get(ctx, "/pools", nil, &list); err != nil {
			return nil, fmt.Errorf("reading the pools: %w", err)
		}
		byID := make(map[string]Pool, len(list))
		for _, p := range list {
			byID[p.ID] = Pool{ID: p.ID, Comment: p.Comment}
		}
		return byID, nil
	})
	if err != nil && ctx.Err() != nil {
		return nil, err
	}
	byID, _ := v.(map[string]Pool)
	if p, ok := byID[id]; ok {
		return &p, nil
	}
	p, err := c.GetPool(ctx, id)
	if err != nil {
		return nil, err
	}
	return &Pool{ID: p.ID, Comment: p.Comment}, nil
}

// GetMappingShared is GetMapping from the kind's index shared by the reads
// of one run. The caller must not change the mapping.
func (c *Client) GetMappingShared(ctx context.Context, kind MappingKind, id string) (*Mapping, error) {
	v, err := c.lists.get(ctx, mappingPath(kind, ""), func(ctx context.Context) (any, error) {
		var list []map[string]json.RawMessage
		if err := c.Get(ctx, mappingPath(kind, ""), nil, &list); err != nil {
			return nil, fmt.Errorf("reading the %s mappings: %w", kind, err)
		}
		byID := make(map[string]*Mapping, len(list))
		for _, raw := range list {
			var id string
			if err := json.Unmarshal(raw["id"], &id); err != nil {
				return nil, fmt.Errorf("reading the %s mappings: an entry without id", kind)
			}
			m, err := mappingFromAPI(kind, id, raw)
			if err != nil {
				return nil, err
			}
			byID[id] = m
		}
		return byID, nil
	})
	if err != nil && ctx.Err() != nil {
		return nil, err
	}
	byID, _ := v.(map[string]*Mapping)
	if m, ok := byID[id]; ok {
		return m, nil
	}
	return c.GetMapping(ctx, kind, id)
}

// versionShared is Version, shared by the reads of one run.
func (c *Client) versionShared(ctx context.Context) (*Version, error) {
	v, err := c.lists.get(ctx, "/version", func(ctx context.Context) (any, error) {
		return c.Version(ctx)
	})
	if err != nil {
		return nil, err
	}
	return v.(*Version), nil
}
