package ceph

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// CrushRule is a CRUSH rule read back from its steps.
type CrushRule struct {
	Name          string
	ID            int64
	Type          string // "replicated" or "erasure"
	Root          string
	FailureDomain string
	DeviceClass   string
}

// crushRuleDump is "osd crush rule dump <name>".
type crushRuleDump struct {
	RuleID   int64  `json:"rule_id"`
	RuleName string `json:"rule_name"`
	Type     int    `json:"type"` // 1 replicated, 3 erasure
	Steps    []struct {
		Op       string `json:"op"`
		Item     int64  `json:"item"`
		ItemName string `json:"item_name"`
		Type     string `json:"type"`
	} `json:"steps"`
}

// Rule reads a rule by name; its root, device class and failure domain
// come from its steps ("take default~ssd", "chooseleaf_firstn 0 type host").
func (c *Client) Rule(ctx context.Context, name string) (*CrushRule, error) {
	var d crushRuleDump
	if err := c.command(ctx, map[string]any{"prefix": "osd crush rule dump", "name": name}, &d); err != nil {
		return nil, fmt.Errorf("rule %s: %w", name, err)
	}
	r := &CrushRule{Name: d.RuleName, ID: d.RuleID, Type: "replicated"}
	if d.Type == 3 {
		r.Type = "erasure"
	}
	for _, s := range d.Steps {
		switch {
		case s.Op == "take":
			root, class, _ := strings.Cut(s.ItemName, "~")
			r.Root, r.DeviceClass = root, class
		case strings.HasPrefix(s.Op, "choose"):
			r.FailureDomain = s.Type
		}
	}
	return r, nil
}

// RuleNames maps every rule's ID to its name (pools name their rule by
// ID).
func (c *Client) RuleNames(ctx context.Context) (map[int64]string, error) {
	var dumps []crushRuleDump
	if err := c.command(ctx, map[string]any{"prefix": "osd crush rule dump"}, &dumps); err != nil {
		return nil, err
	}
	names := make(map[int64]string, len(dumps))
	for _, d := range dumps {
		names[d.RuleID] = d.RuleName
	}
	return names, nil
}

// CreateReplicatedRule creates a replicated rule; an existing one is
// ErrExists (Ceph answers success).
func (c *Client) CreateReplicatedRule(ctx context.Context, name, root, failureDomain, deviceClass string) error {
	if _, err := c.Rule(ctx, name); err == nil {
		return fmt.Errorf("rule %s: %w: import it instead", name, ErrExists)
	}
	cmd := map[string]any{"prefix": "osd crush rule create-replicated", "name": name, "root": root, "type": failureDomain}
	if deviceClass != "" {
		cmd["class"] = deviceClass
	}
	return c.command(ctx, cmd, nil)
}

// CreateErasureRule creates an erasure rule from a profile.
func (c *Client) CreateErasureRule(ctx context.Context, name, profile string) error {
	if _, err := c.Rule(ctx, name); err == nil {
		return fmt.Errorf("rule %s: %w: import it instead", name, ErrExists)
	}
	return c.command(ctx, map[string]any{"prefix": "osd crush rule create-erasure", "name": name, "profile": profile}, nil)
}

// DeleteRule deletes a rule; one a pool uses is refused naming the pool.
func (c *Client) DeleteRule(ctx context.Context, name string) error {
	r, err := c.Rule(ctx, name)
	if err != nil {
		return err
	}
	pools, err := c.Pools(ctx)
	if err != nil {
		return err
	}
	var users []string
	for _, p := range pools {
		if p.CrushRule == r.ID {
			users = append(users, p.Name)
		}
	}
	if len(users) > 0 {
		return fmt.Errorf("rule %s is used by pool %s: give the pools another rule first", name, strings.Join(users, ", "))
	}
	return c.command(ctx, map[string]any{"prefix": "osd crush rule rm", "name": name}, nil)
}

// ECProfile is an erasure-code profile.
type ECProfile struct {
	Name                                          string
	K, M                                          int64
	FailureDomain, DeviceClass, Plugin, Technique string
}

// Profile reads an erasure-code profile.
func (c *Client) Profile(ctx context.Context, name string) (*ECProfile, error) {
	var kv map[string]string
	if err := c.command(ctx, map[string]any{"prefix": "osd erasure-code-profile get", "name": name}, &kv); err != nil {
		return nil, fmt.Errorf("erasure-code profile %s: %w", name, err)
	}
	p := &ECProfile{Name: name, FailureDomain: kv["crush-failure-domain"], DeviceClass: kv["crush-device-class"],
		Plugin: kv["plugin"], Technique: kv["technique"]}
	p.K, _ = strconv.ParseInt(kv["k"], 10, 64)
	p.M, _ = strconv.ParseInt(kv["m"], 10, 64)
	return p, nil
}

// SetProfile creates a profile; an existing one is ErrExists.
func (c *Client) SetProfile(ctx context.Context, p ECProfile) error {
	if _, err := c.Profile(ctx, p.Name); err == nil {
		return fmt.Errorf("erasure-code profile %s: %w: import it instead", p.Name, ErrExists)
	}
	settings := []string{"k=" + strconv.FormatInt(p.K, 10), "m=" + strconv.FormatInt(p.M, 10)}
	for k, v := range map[string]string{"crush-failure-domain": p.FailureDomain, "crush-device-class": p.DeviceClass,
		"plugin": p.Plugin, "technique": p.Technique} {
		if v != "" {
			settings = append(settings, k+"="+v)
		}
	}
	slices.Sort(settings)
	return c.command(ctx, map[string]any{"prefix": "osd erasure-code-profile set", "name": p.Name, "profile": settings}, nil)
}

// DeleteProfile deletes a profile; one a pool uses is refused naming the
// pool.
func (c *Client) DeleteProfile(ctx context.Context, name string) error {
	pools, err := c.Pools(ctx)
	if err != nil {
		return err
	}
	var users []string
	for _, p := range pools {
		if p.ErasureCodeProfile == name {
			users = append(users, p.Name)
		}
	}
	if len(users) > 0 {
		return fmt.Errorf("erasure-code profile %s is used by pool %s", name, strings.Join(users, ", "))
	}
	return c.command(ctx, map[string]any{"prefix": "osd erasure-code-profile rm", "name": name}, nil)
}
