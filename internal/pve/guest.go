package pve

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// SizeGiB reads PVE's disk sizes ("32G", "512M", "1T", bytes) as whole
// GiB, rounding up.
func SizeGiB(s string) (int64, error) {
	if s == "" {
		return 0, fmt.Errorf("disk without a size")
	}
	unit := int64(1)
	switch s[len(s)-1] {
	case 'K':
		unit = 1 << 10
	case 'M':
		unit = 1 << 20
	case 'G':
		unit = 1 << 30
	case 'T':
		unit = 1 << 40
	}
	num := s
	if unit != 1 {
		num = s[:len(s)-1]
	}
	n, err := strconv.ParseFloat(num, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid disk size %q", s)
	}
	bytes := int64(n * float64(unit))
	return (bytes + (1<<30 - 1)) >> 30, nil
}

// SplitTags reads PVE's tag list ("a;b", also with commas or spaces),
// sorted.
func SplitTags(s string) []string {
	tags := strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == ',' || r == ' ' })
	slices.Sort(tags)
	if tags == nil {
		tags = []string{}
	}
	return tags
}

// GuestFilter selects guests among /cluster/resources; zero fields match
// everything.
type GuestFilter struct {
	Kind     GuestKind
	Node     string
	Tag      string
	Name     func(string) bool
	Template *bool
}

// Match reports whether r is a guest the filter selects.
func (f GuestFilter) Match(r ClusterResource) bool {
	switch {
	case r.Type != string(QEMU) && r.Type != string(LXC),
		f.Kind != "" && r.Type != string(f.Kind),
		f.Node != "" && r.Node != f.Node,
		f.Tag != "" && !slices.Contains(SplitTags(r.Tags), f.Tag),
		f.Name != nil && !f.Name(r.Name),
		f.Template != nil && *f.Template != (r.Template == 1):
		return false
	}
	return true
}

// StorageType returns the type of a storage of the cluster ("lvmthin",
// "dir", "rbd", ...).
func (c *Client) StorageType(ctx context.Context, storage string) (string, error) {
	var s struct {
		Type string `json:"type"`
	}
	if err := c.Get(ctx, "/storage/"+url.PathEscape(storage), nil, &s); err != nil {
		return "", err
	}
	return s.Type, nil
}

// SetGuestPool moves a guest from pool from (may be "") to pool to; an empty
// to takes it out of from. PUT /pools moves it in one call (allow-move).
func (c *Client) SetGuestPool(ctx context.Context, vmid int, from, to string) error {
	id := strconv.Itoa(vmid)
	switch {
	case to != "":
		if err := c.Put(ctx, "/pools", url.Values{"poolid": {to}, "vms": {id}, "allow-move": {"1"}}, nil); err != nil {
			return fmt.Errorf("adding guest %d to pool %s: %w", vmid, to, err)
		}
	case from != "":
		if err := c.Put(ctx, "/pools", url.Values{"poolid": {from}, "vms": {id}, "delete": {"1"}}, nil); err != nil {
			return fmt.Errorf("removing guest %d from pool %s: %w", vmid, from, err)
		}
	}
	return nil
}
