package pve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// PVE-managed Ceph pools (/nodes/{node}/ceph/pool): what the default,
// cgo-free build manages pools with.

func cephPoolPath(node, name string) string {
	p := "/nodes/" + url.PathEscape(node) + "/ceph/pool"
	if name != "" {
		p += "/" + url.PathEscape(name)
	}
	return p
}

// CephPool reads a pool's settings and usage (GET .../status?verbose=1).
// Its "statistics" are the pool's only where CephPoolStatisticsPerPool
// says so.
// A pool that does not exist is ErrNotFound: PVE passes Ceph's refusal on
// as a 500, "mon_command failed - unrecognized pool 'name'".
func (c *Client) CephPool(ctx context.Context, node, name string) (map[string]json.RawMessage, error) {
	var out map[string]json.RawMessage
	if err := c.Get(ctx, cephPoolPath(node, name)+"/status", url.Values{"verbose": {"1"}}, &out); err != nil {
		var ae *APIError
		if errors.As(err, &ae) && strings.Contains(ae.Message, "unrecognized pool") {
			return nil, fmt.Errorf("reading Ceph pool %s: %w: %w", name, ErrNotFound, err)
		}
		return nil, fmt.Errorf("reading Ceph pool %s: %w", name, err)
	}
	if out == nil {
		return nil, fmt.Errorf("ceph pool %s: %w", name, ErrNotFound)
	}
	return out, nil
}

// CreateCephPool creates a pool and waits for the task. A create whose
// answer was lost is settled through the node's 'cephcreatepool' worker,
// named after the pool (pve-manager PVE/API2/Ceph/Pool.pm createpool), or
// the pool itself (postTask).
func (c *Client) CreateCephPool(ctx context.Context, node string, p url.Values) (*TaskResult, error) {
	name := p.Get("name")
	res, err := c.postTask(ctx, node, cephPoolPath(node, ""), p, "cephcreatepool", name, func(ctx context.Context) (bool, error) {
		_, err := c.CephPool(ctx, node, name)
		return found(err)
	})
	if err != nil {
		return nil, fmt.Errorf("creating Ceph pool %s: %w", p.Get("name"), err)
	}
	return res, nil
}

// UpdateCephPool changes a pool and waits for the task.
func (c *Client) UpdateCephPool(ctx context.Context, node, name string, p url.Values) (*TaskResult, error) {
	res, err := c.runTask(ctx, "PUT", cephPoolPath(node, name), p)
	if err != nil {
		return nil, fmt.Errorf("changing Ceph pool %s: %w", name, err)
	}
	return res, nil
}

// DeleteCephPool deletes a pool and waits for the task.
func (c *Client) DeleteCephPool(ctx context.Context, node, name string, p url.Values) (*TaskResult, error) {
	res, err := c.runTask(ctx, "DELETE", cephPoolPath(node, name), p)
	if err != nil {
		return nil, fmt.Errorf("deleting Ceph pool %s: %w", name, err)
	}
	return res, nil
}

// CephStatus reads the Ceph cluster's status (GET /cluster/ceph/status):
// Ceph's `status`, with the health and, since Octopus, the monitor map
// (`mon dump`: a list of mons, without num_mons) that PVE adds.
func (c *Client) CephStatus(ctx context.Context) (json.RawMessage, error) {
	var out json.RawMessage
	if err := c.Get(ctx, "/cluster/ceph/status", nil, &out); err != nil {
		return nil, fmt.Errorf("reading Ceph status: %w", err)
	}
	return out, nil
}

// CephPoolEntry is one pool of GET /nodes/{node}/ceph/pool.
type CephPoolEntry struct {
	Name                string                     `json:"pool_name"`
	ID                  int64                      `json:"pool"`
	Type                string                     `json:"type"`
	Size                int64                      `json:"size"`
	MinSize             int64                      `json:"min_size"`
	PGNum               int64                      `json:"pg_num"`
	PGAutoscaleMode     string                     `json:"pg_autoscale_mode"`
	CrushRuleName       string                     `json:"crush_rule_name"`
	ApplicationMetadata map[string]json.RawMessage `json:"application_metadata"`
	// BytesUsed is the pool's bytes_used in "ceph df" (nil until Ceph has
	// reported the pool's usage). PVE maps it by pool ID: right on every
	// release.
	BytesUsed *int64 `json:"bytes_used"`
}

// CephPools lists the pools through node.
func (c *Client) CephPools(ctx context.Context, node string) ([]CephPoolEntry, error) {
	var out []CephPoolEntry
	if err := c.Get(ctx, cephPoolPath(node, ""), nil, &out); err != nil {
		return nil, fmt.Errorf("listing Ceph pools: %w", err)
	}
	return out, nil
}

// CephPoolStatisticsPerPool reports whether the server's getpool
// (GET /nodes/{node}/ceph/pool/{name}/status?verbose=1) answers the asked
// pool's statistics. Up to pve-manager 9.1.11, and on every 8.4.x, it
// answers those of the last pool in "ceph df", whatever pool was asked for
// (PVE/API2/Ceph/Pool.pm: "next if !defined($d->{name}) && !$d->{name} ne
// "$pool"" never skips a named pool); pve-manager b0f4269e fixed it in
// 9.1.12. The server's version is read once per client.
func (c *Client) CephPoolStatisticsPerPool(ctx context.Context) (bool, error) {
	v, err := c.cachedVersion(ctx)
	if err != nil {
		return false, err
	}
	return v.AtLeast(9, 1, 12), nil
}
