package pve

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// HA: resources (guests the HA manager keeps running), and where they run:
// rules (PVE 9) or groups (PVE 8).

// MajorVersion is the server's major PVE version (8, 9), from the
// version shared by the reads of one run (config_lists.go): every HA
// object's plan checks it.
func (c *Client) MajorVersion(ctx context.Context) (int, error) {
	v, err := c.versionShared(ctx)
	if err != nil {
		return 0, fmt.Errorf("reading the PVE version: %w", err)
	}
	major, _, _ := strings.Cut(v.Release, ".")
	if major == "" {
		major, _, _ = strings.Cut(v.Version, ".")
	}
	n, err := strconv.Atoi(major)
	if err != nil {
		return 0, fmt.Errorf("unexpected PVE version %q", v.Version)
	}
	return n, nil
}

// HAObject is an HA resource, rule or group as PVE returns it: its settings
// as strings (numbers and booleans as their text), and its digest.
type HAObject map[string]string

// Digest is the configuration digest the object was read with.
func (o HAObject) Digest() string { return o["digest"] }

// HA kinds by path: "resources" (by SID), "rules", "groups".
func haPath(kind, id string) string {
	p := "/cluster/ha/" + kind
	if id != "" {
		p += "/" + url.PathEscape(id)
	}
	return p
}

// GetHA reads an HA resource, rule or group; one that does not exist is
// ErrNotFound.
func (c *Client) GetHA(ctx context.Context, kind, id string) (HAObject, error) {
	var raw map[string]json.RawMessage
	if err := c.Get(ctx, haPath(kind, id), nil, &raw); err != nil {
		return nil, fmt.Errorf("reading HA %s %s: %w", strings.TrimSuffix(kind, "s"), id, err)
	}
	if raw == nil {
		return nil, fmt.Errorf("HA %s %s: %w", strings.TrimSuffix(kind, "s"), id, ErrNotFound)
	}
	return haObject(raw), nil
}

// haObject is an HA object as PVE returns it, its values as text.
func haObject(raw map[string]json.RawMessage) HAObject {
	out := HAObject{}
	for k, v := range raw {
		var s string
		if err := json.Unmarshal(v, &s); err == nil {
			out[k] = s
			continue
		}
		var n json.Number
		if err := json.Unmarshal(v, &n); err == nil {
			out[k] = n.String()
			continue
		}
		out[k] = string(v)
	}
	return out
}

// CreateHA creates an HA resource, rule or group.
func (c *Client) CreateHA(ctx context.Context, kind string, p url.Values) error {
	id := p.Get(map[string]string{"resources": "sid", "rules": "rule", "groups": "group"}[kind])
	exists := func(ctx context.Context) (bool, error) { _, err := c.GetHA(ctx, kind, id); return found(err) }
	if err := c.postCreate(ctx, haPath(kind, ""), p, exists); err != nil {
		return fmt.Errorf("creating HA %s: %w", strings.TrimSuffix(kind, "s"), err)
	}
	return nil
}

// UpdateHA changes one; p carries the digest and "delete".
func (c *Client) UpdateHA(ctx context.Context, kind, id string, p url.Values) error {
	if err := c.Put(ctx, haPath(kind, id), p, nil); err != nil {
		return fmt.Errorf("changing HA %s %s: %w", strings.TrimSuffix(kind, "s"), id, err)
	}
	return nil
}

// DeleteHA deletes one.
func (c *Client) DeleteHA(ctx context.Context, kind, id string) error {
	if err := c.Delete(ctx, haPath(kind, id), nil, nil); err != nil {
		return fmt.Errorf("deleting HA %s %s: %w", strings.TrimSuffix(kind, "s"), id, err)
	}
	return nil
}
