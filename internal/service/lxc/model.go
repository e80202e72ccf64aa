package lxc

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/hcilab/terraform-provider-pve/internal/framework/guest"
	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

type containerModel struct {
	ID            types.String   `tfsdk:"id"`
	Node          types.String   `tfsdk:"node"`
	VMID          types.Int64    `tfsdk:"vmid"`
	Hostname      types.String   `tfsdk:"hostname"`
	Description   types.String   `tfsdk:"description"`
	Tags          types.Set      `tfsdk:"tags"`
	OSTemplate    types.String   `tfsdk:"ostemplate"`
	Clone         *cloneModel    `tfsdk:"clone"`
	Pool          types.String   `tfsdk:"pool"`
	Unprivileged  types.Bool     `tfsdk:"unprivileged"`
	Features      *featuresModel `tfsdk:"features"`
	Cores         types.Int64    `tfsdk:"cores"`
	Memory        types.Int64    `tfsdk:"memory"`
	Swap          types.Int64    `tfsdk:"swap"`
	RootFS        types.Object   `tfsdk:"rootfs"`
	MountPoints   types.Map      `tfsdk:"mount_points"`
	Network       types.Map      `tfsdk:"network"`
	Password      types.String   `tfsdk:"password"`
	SSHPublicKeys types.String   `tfsdk:"ssh_public_keys"`
	Nameserver    types.String   `tfsdk:"nameserver"`
	Searchdomain  types.String   `tfsdk:"searchdomain"`
	Started       types.Bool     `tfsdk:"started"`
	OnBoot        types.Bool     `tfsdk:"on_boot"`
	Startup       types.Object   `tfsdk:"startup"`
	Protection    types.Bool     `tfsdk:"protection"`
	DestroyUnrefd types.Bool     `tfsdk:"destroy_unreferenced_disks"`
	Timeouts      timeouts.Value `tfsdk:"timeouts"`
}

type featuresModel struct {
	Nesting types.Bool `tfsdk:"nesting"`
	Keyctl  types.Bool `tfsdk:"keyctl"`
	Fuse    types.Bool `tfsdk:"fuse"`
	Mount   types.List `tfsdk:"mount"`
}

// configParams renders the plain configuration keys of m; with prior,
// keys m no longer sets go to "delete".
func configParams(ctx context.Context, m, prior *containerModel, p url.Values, diags *diag.Diagnostics) {
	var o containerModel
	if prior != nil {
		o = *prior
	}
	// An unknown value is one the configuration leaves to PVE (or to the
	// clone's source): it stays as it is.
	set := func(key string, v, old attr.Value, text string) {
		switch {
		case v.IsUnknown():
		case !v.IsNull():
			if prior == nil || !v.Equal(old) {
				p.Set(key, text)
			}
		case prior != nil && !old.IsNull():
			p.Add("delete", key)
		}
	}
	b := func(v types.Bool) string { return map[bool]string{true: "1", false: "0"}[v.ValueBool()] }
	n := func(v types.Int64) string { return strconv.FormatInt(v.ValueInt64(), 10) }
	set("hostname", m.Hostname, o.Hostname, m.Hostname.ValueString())
	set("description", m.Description, o.Description, m.Description.ValueString())
	set("cores", m.Cores, o.Cores, n(m.Cores))
	set("memory", m.Memory, o.Memory, n(m.Memory))
	set("swap", m.Swap, o.Swap, n(m.Swap))
	set("nameserver", m.Nameserver, o.Nameserver, m.Nameserver.ValueString())
	set("searchdomain", m.Searchdomain, o.Searchdomain, m.Searchdomain.ValueString())
	set("onboot", m.OnBoot, o.OnBoot, b(m.OnBoot))
	startup := guest.StartupToAPI(ctx, m.Startup, diags)
	oldStartup := types.StringNull()
	if prior != nil {
		oldStartup = guest.StartupToAPI(ctx, o.Startup, diags)
	}
	set("startup", startup, oldStartup, startup.ValueString())
	set("protection", m.Protection, o.Protection, b(m.Protection))
	tags, oldTags := types.StringNull(), types.StringNull()
	if !m.Tags.IsNull() {
		tags = types.StringValue(guest.TagText(ctx, m.Tags, diags))
	}
	if !o.Tags.IsNull() {
		oldTags = types.StringValue(guest.TagText(ctx, o.Tags, diags))
	}
	set("tags", tags, oldTags, tags.ValueString())
	features, oldFeatures := featureText(ctx, m.Features, diags), featureText(ctx, o.Features, diags)
	set("features", features, oldFeatures, features.ValueString())
}

// featureText renders features as PVE's property string, null when none
// is set.
func featureText(ctx context.Context, f *featuresModel, diags *diag.Diagnostics) types.String {
	if f == nil {
		return types.StringNull()
	}
	p := pve.PropertyString{}
	for _, kv := range []struct {
		key string
		v   types.Bool
	}{{"fuse", f.Fuse}, {"keyctl", f.Keyctl}, {"nesting", f.Nesting}} {
		if kv.v.ValueBool() {
			p.Set(kv.key, "1")
		}
	}
	if !f.Mount.IsNull() {
		var mounts []string
		diags.Append(f.Mount.ElementsAs(ctx, &mounts, false)...)
		if len(mounts) > 0 {
			p.Set("mount", strings.Join(mounts, ";"))
		}
	}
	if len(p.Keys()) == 0 {
		return types.StringNull()
	}
	return types.StringValue(p.Format(""))
}

// reader is fromAPI as the guest life cycle reads a container.
func (m *containerModel) reader(ctx context.Context) guest.FromAPI {
	return func(found *pve.ClusterResource, cfg *pve.GuestConfig) error { return m.fromAPI(ctx, found, cfg) }
}

func (m *containerModel) fromAPI(ctx context.Context, found *pve.ClusterResource, cfg *pve.GuestConfig) error {
	str := func(key string) types.String {
		if v, ok := cfg.Get(key); ok && v != "" {
			return types.StringValue(v)
		}
		return types.StringNull()
	}
	num := func(key string) (types.Int64, error) {
		v, ok := cfg.Get(key)
		if !ok || v == "" {
			return types.Int64Null(), nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return types.Int64Null(), fmt.Errorf("%s: %q is not a number", key, v)
		}
		return types.Int64Value(n), nil
	}
	flag := func(key string) types.Bool {
		if v, ok := cfg.Get(key); ok {
			return types.BoolValue(v == "1")
		}
		return types.BoolNull()
	}
	var err error
	m.ID = types.StringValue(strconv.Itoa(found.VMID))
	m.Node = types.StringValue(found.Node)
	m.VMID = types.Int64Value(int64(found.VMID))
	m.Hostname = str("hostname")
	// PVE keeps descriptions as comment lines and returns them with a
	// final line break.
	m.Description = types.StringNull()
	if d := strings.TrimRight(cfg.Values["description"], "\n"); d != "" {
		m.Description = types.StringValue(d)
	}
	m.Nameserver = str("nameserver")
	m.Searchdomain = str("searchdomain")
	m.OnBoot = flag("onboot")
	if m.Startup, err = guest.StartupFromAPI(cfg.Values["startup"]); err != nil {
		return err
	}
	m.Protection = flag("protection")
	m.Unprivileged = types.BoolValue(cfg.Values["unprivileged"] == "1")
	for key, dst := range map[string]*types.Int64{"cores": &m.Cores, "memory": &m.Memory, "swap": &m.Swap} {
		if *dst, err = num(key); err != nil {
			return err
		}
	}
	m.Tags = types.SetNull(types.StringType)
	if tags := pve.SplitTags(cfg.Values["tags"]); len(tags) > 0 {
		m.Tags, _ = types.SetValueFrom(ctx, types.StringType, tags)
	}
	m.Features = nil
	if f := cfg.Values["features"]; f != "" {
		p, err := pve.ParsePropertyString(f, "")
		if err != nil {
			return fmt.Errorf("features: %w", err)
		}
		fm := &featuresModel{
			Nesting: optFlag(p, "nesting"), Keyctl: optFlag(p, "keyctl"), Fuse: optFlag(p, "fuse"),
			Mount: types.ListNull(types.StringType),
		}
		if mnt := p.Value("mount"); mnt != "" {
			fm.Mount, _ = types.ListValueFrom(ctx, types.StringType, strings.Split(mnt, ";"))
		}
		m.Features = fm
	}
	root, err := volumeFromAPI(cfg.Values["rootfs"], false)
	if err != nil {
		return fmt.Errorf("rootfs: %w", err)
	}
	m.RootFS, _ = types.ObjectValueFrom(ctx, rootfsType.AttrTypes, rootfsModel{Storage: root.Storage, Size: root.Size, Volume: root.Volume})
	m.Pool = types.StringNull()
	if found.Pool != "" {
		m.Pool = types.StringValue(found.Pool)
	}
	mounts, nics := map[string]volumeModel{}, map[string]nicModel{}
	for key, value := range cfg.Values {
		switch {
		case mountSlotRE.MatchString(key):
			v, err := volumeFromAPI(value, true)
			if err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
			mounts[key] = v
		case netSlotRE.MatchString(key):
			n, err := nicFromAPI(value)
			if err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
			nics[key] = n
		}
	}
	var diags diag.Diagnostics
	m.MountPoints, diags = types.MapValueFrom(ctx, mountType, mounts)
	if diags.HasError() {
		return fmt.Errorf("mount points: %v", diags)
	}
	m.Network, diags = types.MapValueFrom(ctx, nicType, nics)
	if diags.HasError() {
		return fmt.Errorf("network: %v", diags)
	}
	m.Started = types.BoolValue(found.Status == "running")
	m.Password, m.SSHPublicKeys = types.StringNull(), types.StringNull()
	return nil
}

// optFlag reads a 0/1 feature flag: null when absent, so that an unset
// flag does not show a diff.
func optFlag(p pve.PropertyString, key string) types.Bool {
	if v, ok := p.Get(key); ok {
		return types.BoolValue(v == "1")
	}
	return types.BoolNull()
}
