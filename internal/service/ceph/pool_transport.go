package ceph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/hcilab/terraform-provider-pve/internal/ceph"
	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

// A pool is reached one of two ways: through librados when the provider
// has a ceph {} block (the ceph build), else through PVE's API
// (/nodes/{node}/ceph/pool), which PVE-managed Ceph offers to the default,
// cgo-free build. Both read into poolInfo and take the same ordered
// settings (poolSettings).

// poolInfo is a pool as either transport reads it.
type poolInfo struct {
	ID                             int64
	Size, MinSize, PGNum           int64
	AutoscaleMode, CrushRule       string
	TargetSizeRatio                float64
	TargetSizeBytes                int64
	Applications                   []string
	ECProfile                      string
	ECOverwrites                   *bool  // nil: not an EC pool, or not reported (PVE's API)
	QuotaMaxBytes, QuotaMaxObjects *int64 // nil: not reported (PVE's API)
	// Objects and BytesUsed are the pool's usage, nil until Ceph has
	// reported it, or (Objects, through PVE's API) where the server does
	// not report it per pool.
	Objects, BytesUsed *int64
}

// poolTransport reaches pools through one backend.
type poolTransport interface {
	// get reads a pool; a missing pool is an error errors.Is finds
	// errPoolNotFound in.
	get(ctx context.Context, name string) (*poolInfo, error)
	// create makes the pool with the settings of m.
	create(ctx context.Context, m *poolModel) error
	// update applies what differs between plan and state.
	update(ctx context.Context, plan, state *poolModel) error
	// remove deletes the pool (its usage has been checked).
	remove(ctx context.Context, name string, force bool) error
}

// errPoolNotFound is what both transports' not-found errors match.
var errPoolNotFound = errors.New("pool not found")

type notFoundError struct{ err error }

func (e notFoundError) Error() string { return e.err.Error() }
func (e notFoundError) Unwrap() []error {
	return []error{e.err, errPoolNotFound}
}

// setting is one "osd pool set" variable and its value.
type setting struct{ key, value string }

// poolSettings are the settings of m that differ from prior (all that are
// set, without prior), in the order they must be applied: size before
// min_size, because setting size resets min_size (so min_size is sent
// again after a size change). A target removed from the configuration is
// set to 0, which clears it.
func poolSettings(m, prior *poolModel) []setting {
	var out []setting
	var o poolModel
	if prior != nil {
		o = *prior
	}
	num := func(key string, v, old types.Int64, again bool) {
		if !v.IsNull() && !v.IsUnknown() && (prior == nil || again || !v.Equal(old)) {
			out = append(out, setting{key, strconv.FormatInt(v.ValueInt64(), 10)})
		}
	}
	str := func(key string, v, old types.String) {
		if !v.IsNull() && !v.IsUnknown() && (prior == nil || !v.Equal(old)) {
			out = append(out, setting{key, v.ValueString()})
		}
	}
	sizeChanged := !m.Size.IsNull() && !m.Size.IsUnknown() && prior != nil && !m.Size.Equal(o.Size)
	num("size", m.Size, o.Size, false)
	num("min_size", m.MinSize, o.MinSize, sizeChanged)
	num("pg_num", m.PGNum, o.PGNum, false)
	str("pg_autoscale_mode", m.PGAutoscaleMode, o.PGAutoscaleMode)
	str("crush_rule", m.CrushRule, o.CrushRule)
	switch v := m.TargetSizeRatio; {
	case !v.IsNull() && !v.IsUnknown() && (prior == nil || !v.Equal(o.TargetSizeRatio)):
		out = append(out, setting{"target_size_ratio", strconv.FormatFloat(v.ValueFloat64(), 'f', -1, 64)})
	case v.IsNull() && prior != nil && !o.TargetSizeRatio.IsNull():
		out = append(out, setting{"target_size_ratio", "0"})
	}
	switch v := m.TargetSizeBytes; {
	case !v.IsNull() && !v.IsUnknown() && (prior == nil || !v.Equal(o.TargetSizeBytes)):
		out = append(out, setting{"target_size_bytes", strconv.FormatInt(v.ValueInt64(), 10)})
	case v.IsNull() && prior != nil && !o.TargetSizeBytes.IsNull():
		out = append(out, setting{"target_size_bytes", "0"})
	}
	if v := m.AllowECOverwrites; !v.IsNull() && !v.IsUnknown() && v.ValueBool() && (prior == nil || !v.Equal(o.AllowECOverwrites)) {
		out = append(out, setting{"allow_ec_overwrites", "true"})
	}
	return out
}

// applicationChange is the application to enable, and those to disable,
// going from prior to m.
func applicationChange(m, prior *poolModel) (enable string, disable []string) {
	v := m.Application
	if v.IsNull() || v.IsUnknown() || (prior != nil && v.Equal(prior.Application)) {
		return "", nil
	}
	if prior != nil && !prior.Application.IsNull() {
		for _, a := range strings.Split(prior.Application.ValueString(), ",") {
			if a != v.ValueString() {
				disable = append(disable, a)
			}
		}
	}
	return v.ValueString(), disable
}

// pvePools is PVE's API on one node.
type pvePools struct {
	c    *pve.Client
	node string
}

func (t pvePools) get(ctx context.Context, name string) (*poolInfo, error) {
	raw, err := t.c.CephPool(ctx, t.node, name)
	if errors.Is(err, pve.ErrNotFound) {
		return nil, notFoundError{err}
	}
	if err != nil {
		return nil, err
	}
	num := func(key string) int64 {
		var n json.Number
		if err := json.Unmarshal(raw[key], &n); err == nil {
			if i, err := n.Int64(); err == nil {
				return i
			}
		}
		var s string
		if err := json.Unmarshal(raw[key], &s); err == nil {
			if i, err := strconv.ParseInt(s, 10, 64); err == nil {
				return i
			}
		}
		return 0
	}
	str := func(key string) string {
		var s string
		_ = json.Unmarshal(raw[key], &s)
		return s
	}
	p := &poolInfo{ID: num("id"), Size: num("size"), MinSize: num("min_size"), PGNum: num("pg_num"),
		AutoscaleMode: str("pg_autoscale_mode"), CrushRule: str("crush_rule"), TargetSizeBytes: num("target_size")}
	_ = json.Unmarshal(raw["target_size_ratio"], &p.TargetSizeRatio)
	_ = json.Unmarshal(raw["application_list"], &p.Applications)
	// getpool's statistics are another pool's on PVE up to 9.1.11 and 8.4
	// (see pve.Client.CephPoolStatisticsPerPool); the pool list's
	// bytes_used is this pool's on every release.
	perPool, err := t.c.CephPoolStatisticsPerPool(ctx)
	if err != nil {
		return nil, err
	}
	if perPool {
		var stats struct {
			Objects   *int64 `json:"objects"`
			BytesUsed *int64 `json:"bytes_used"`
		}
		if err := json.Unmarshal(raw["statistics"], &stats); err == nil {
			p.Objects, p.BytesUsed = stats.Objects, stats.BytesUsed
		}
		return p, nil
	}
	pools, err := t.c.CephPools(ctx, t.node)
	if err != nil {
		return nil, err
	}
	for _, e := range pools {
		if e.ID == p.ID && e.Name == name {
			p.BytesUsed = e.BytesUsed
		}
	}
	return p, nil
}

// values renders settings as PVE's parameters (target_size_bytes is
// PVE's target_size).
func pveValues(settings []setting) url.Values {
	p := url.Values{}
	for _, s := range settings {
		key := s.key
		if key == "target_size_bytes" {
			key = "target_size"
		}
		p.Set(key, s.value)
	}
	return p
}

func (t pvePools) create(ctx context.Context, m *poolModel) error {
	p := pveValues(poolSettings(m, nil))
	if app, _ := applicationChange(m, nil); app != "" {
		p.Set("application", app)
	}
	p.Set("name", m.Name.ValueString())
	p.Set("add_storages", "0")
	_, err := t.c.CreateCephPool(ctx, t.node, p)
	return err
}

// update sends one PUT: PVE sets size first, then the rest. PVE enables
// a new application without disabling the old one (Ceph refuses a second
// application, and PVE passes the refusal on).
func (t pvePools) update(ctx context.Context, plan, state *poolModel) error {
	p := pveValues(poolSettings(plan, state))
	if app, _ := applicationChange(plan, state); app != "" {
		p.Set("application", app)
	}
	if len(p) == 0 {
		return nil
	}
	_, err := t.c.UpdateCephPool(ctx, t.node, plan.Name.ValueString(), p)
	return err
}

func (t pvePools) remove(ctx context.Context, name string, force bool) error {
	p := url.Values{"remove_storages": {"0"}}
	if force {
		p.Set("force", "1")
	}
	_, err := t.c.DeleteCephPool(ctx, t.node, name, p)
	if err != nil && strings.Contains(err.Error(), "mon_allow_pool_delete") {
		return fmt.Errorf("%w (the Ceph monitors refuse to delete pools: set mon_allow_pool_delete = true, "+
			"e.g. `ceph config set mon mon_allow_pool_delete true`)", err)
	}
	return err
}

// radosPools is librados.
type radosPools struct{ c *ceph.Client }

func (t radosPools) get(ctx context.Context, name string) (*poolInfo, error) {
	p, err := t.c.Pool(ctx, name)
	if errors.Is(err, ceph.ErrNotFound) {
		return nil, notFoundError{err}
	}
	if err != nil {
		return nil, err
	}
	rules, err := t.c.RuleNames(ctx)
	if err != nil {
		return nil, err
	}
	info := &poolInfo{ID: p.ID, Size: p.Size, MinSize: p.MinSize, PGNum: p.PGNum, AutoscaleMode: p.AutoscaleMode,
		CrushRule: rules[p.CrushRule], TargetSizeRatio: p.Options.TargetSizeRatio, TargetSizeBytes: p.Options.TargetSizeBytes,
		ECProfile: p.ErasureCodeProfile, QuotaMaxBytes: &p.QuotaMaxBytes, QuotaMaxObjects: &p.QuotaMaxObjects}
	for app := range p.Applications {
		info.Applications = append(info.Applications, app)
	}
	slices.Sort(info.Applications)
	if p.Erasure() {
		ow := p.ECOverwrites()
		info.ECOverwrites = &ow
	} else {
		info.ECProfile = ""
	}
	u, reported, err := t.c.PoolUsage(ctx, name)
	if err != nil {
		return nil, err
	}
	if reported {
		info.Objects, info.BytesUsed = &u.Objects, &u.BytesUsed
	}
	return info, nil
}

func (t radosPools) create(ctx context.Context, m *poolModel) error {
	spec := ceph.PoolSpec{Name: m.Name.ValueString(), ErasureCodeProfile: m.ErasureCodeProfile.ValueString(),
		CrushRule: m.CrushRule.ValueString(), AutoscaleMode: m.PGAutoscaleMode.ValueString()}
	if !m.PGNum.IsUnknown() {
		spec.PGNum = m.PGNum.ValueInt64()
	}
	if err := t.c.CreatePool(ctx, spec); err != nil {
		return err
	}
	// What the create command took is set again: harmless, and simpler
	// than telling the two apart.
	return t.apply(ctx, m, nil)
}

func (t radosPools) update(ctx context.Context, plan, state *poolModel) error {
	return t.apply(ctx, plan, state)
}

// apply sets what differs, in order, then the application and quotas.
func (t radosPools) apply(ctx context.Context, m, prior *poolModel) error {
	name := m.Name.ValueString()
	for _, s := range poolSettings(m, prior) {
		if err := t.c.SetPool(ctx, name, s.key, s.value); err != nil {
			return err
		}
	}
	enable, disable := applicationChange(m, prior)
	for _, app := range disable {
		if err := t.c.DisableApplication(ctx, name, app); err != nil {
			return err
		}
	}
	if enable != "" {
		if err := t.c.EnableApplication(ctx, name, enable); err != nil {
			return err
		}
	}
	for _, q := range []struct {
		field    string
		v, old   types.Int64
		hasPrior bool
	}{{"max_bytes", m.QuotaMaxBytes, priorInt(prior, func(p *poolModel) types.Int64 { return p.QuotaMaxBytes }), prior != nil},
		{"max_objects", m.QuotaMaxObjects, priorInt(prior, func(p *poolModel) types.Int64 { return p.QuotaMaxObjects }), prior != nil}} {
		if q.v.IsNull() || q.v.IsUnknown() || (q.hasPrior && q.v.Equal(q.old)) || (!q.hasPrior && q.v.ValueInt64() == 0) {
			continue
		}
		if err := t.c.SetQuota(ctx, name, q.field, q.v.ValueInt64()); err != nil {
			return err
		}
	}
	return nil
}

func priorInt(p *poolModel, f func(*poolModel) types.Int64) types.Int64 {
	if p == nil {
		return types.Int64Null()
	}
	return f(p)
}

func (t radosPools) remove(ctx context.Context, name string, force bool) error {
	return t.c.DeletePool(ctx, name, force)
}
