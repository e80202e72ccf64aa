package lxc

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/boolplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"

	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

var (
	mountSlotRE = regexp.MustCompile(`^mp(\d|[1-9]\d|1\d\d|2[0-4]\d|25[0-5])$`)
	netSlotRE   = regexp.MustCompile(`^net(\d|[1-2]\d|3[01])$`)
	macRE       = regexp.MustCompile(`^([0-9A-F]{2}:){5}[0-9A-F]{2}$`)
)

// volumeModel is the root file system or a mount point.
type volumeModel struct {
	Storage  types.String `tfsdk:"storage"`
	Size     types.Int64  `tfsdk:"size"`
	Path     types.String `tfsdk:"path"`
	Backup   types.Bool   `tfsdk:"backup"`
	ReadOnly types.Bool   `tfsdk:"read_only"`
	Volume   types.String `tfsdk:"volume"`
}

type rootfsModel struct {
	Storage types.String `tfsdk:"storage"`
	Size    types.Int64  `tfsdk:"size"`
	Volume  types.String `tfsdk:"volume"`
}

var (
	rootfsType = types.ObjectType{AttrTypes: map[string]attr.Type{
		"storage": types.StringType, "size": types.Int64Type, "volume": types.StringType,
	}}
	mountType = types.ObjectType{AttrTypes: map[string]attr.Type{
		"storage": types.StringType, "size": types.Int64Type, "path": types.StringType, "backup": types.BoolType,
		"read_only": types.BoolType, "volume": types.StringType,
	}}
	nicType = types.ObjectType{AttrTypes: map[string]attr.Type{
		"name": types.StringType, "bridge": types.StringType, "ip": types.StringType, "gw": types.StringType,
		"ip6": types.StringType, "gw6": types.StringType, "tag": types.Int64Type, "firewall": types.BoolType,
		"mac": types.StringType, "mtu": types.Int64Type, "rate": types.StringType,
	}}
)

func volumeAttributes(mountPoint bool) map[string]schema.Attribute {
	a := map[string]schema.Attribute{
		"storage": schema.StringAttribute{Description: "Storage of the volume, e.g. `local-lvm`.", Required: true},
		"size": schema.Int64Attribute{
			Description: "Size in GiB. Volumes only grow: a smaller size is a plan-time error.",
			Required:    true,
			Validators:  []validator.Int64{int64validator.AtLeast(1)},
		},
		"volume": schema.StringAttribute{
			Description:   "The volume PVE allocated, e.g. `local-lvm:vm-100-disk-0`.",
			Computed:      true,
			PlanModifiers: []planmodifier.String{stringplanmodifier.UseNonNullStateForUnknown()},
		},
	}
	if mountPoint {
		a["path"] = schema.StringAttribute{Description: "Path inside the container, e.g. `/var/lib/data`.", Required: true}
		a["backup"] = schema.BoolAttribute{Description: "Include the mount point in backups. Default off, as in PVE. Unset: left as it is.", Optional: true, Computed: true,
			PlanModifiers: []planmodifier.Bool{boolplanmodifier.UseNonNullStateForUnknown()}}
		a["read_only"] = schema.BoolAttribute{Description: "Mount read-only. Default off. Unset: left as it is.", Optional: true, Computed: true,
			PlanModifiers: []planmodifier.Bool{boolplanmodifier.UseNonNullStateForUnknown()}}
	}
	return a
}

// createValue is a volume to allocate: "storage:size".
func (v volumeModel) createValue(mountPoint bool) string {
	p := pve.PropertyString{}
	p.Set("volume", fmt.Sprintf("%s:%d", v.Storage.ValueString(), v.Size.ValueInt64()))
	if mountPoint {
		v.setOptions(&p)
	}
	return p.Format("volume")
}

func (v volumeModel) setOptions(p *pve.PropertyString) {
	p.Set("mp", v.Path.ValueString())
	if v.Backup.ValueBool() {
		p.Set("backup", "1")
	}
	if v.ReadOnly.ValueBool() {
		p.Set("ro", "1")
	}
}

// volumeFromAPI reads "local-lvm:vm-100-disk-0,size=8G[,mp=/data,...]".
func volumeFromAPI(value string, mountPoint bool) (volumeModel, error) {
	p, err := pve.ParsePropertyString(value, "volume")
	if err != nil {
		return volumeModel{}, err
	}
	file := p.Value("volume")
	storage, _, ok := strings.Cut(file, ":")
	if !ok {
		return volumeModel{}, fmt.Errorf("volume %q is not on a storage", value)
	}
	size, err := pve.SizeGiB(p.Value("size"))
	if err != nil {
		return volumeModel{}, err
	}
	v := volumeModel{Storage: types.StringValue(storage), Size: types.Int64Value(size), Volume: types.StringValue(file)}
	if mountPoint {
		v.Path = types.StringValue(p.Value("mp"))
		v.Backup = types.BoolValue(p.Value("backup") == "1")
		v.ReadOnly = types.BoolValue(p.Value("ro") == "1")
	}
	return v, nil
}

// nicModel is one NIC of the network map.
type nicModel struct {
	Name     types.String `tfsdk:"name"`
	Bridge   types.String `tfsdk:"bridge"`
	IP       types.String `tfsdk:"ip"`
	GW       types.String `tfsdk:"gw"`
	IP6      types.String `tfsdk:"ip6"`
	GW6      types.String `tfsdk:"gw6"`
	Tag      types.Int64  `tfsdk:"tag"`
	Firewall types.Bool   `tfsdk:"firewall"`
	MAC      types.String `tfsdk:"mac"`
	MTU      types.Int64  `tfsdk:"mtu"`
	Rate     types.String `tfsdk:"rate"`
}

func nicAttributes() map[string]schema.Attribute {
	opt := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Description: desc, Optional: true}
	}
	return map[string]schema.Attribute{
		"name":   schema.StringAttribute{Description: "Interface name inside the container, e.g. `eth0`.", Required: true},
		"bridge": schema.StringAttribute{Description: "Bridge on the node, e.g. `vmbr0`.", Required: true},
		"ip":     opt("IPv4: `dhcp`, `manual`, or an address with prefix length (`10.0.0.5/24`)."),
		"gw":     opt("IPv4 gateway."),
		"ip6":    opt("IPv6: `auto`, `dhcp`, `manual`, or an address with prefix length."),
		"gw6":    opt("IPv6 gateway."),
		"tag": schema.Int64Attribute{
			Description: "VLAN tag on a VLAN-aware bridge.",
			Optional:    true,
			Validators:  []validator.Int64{int64validator.Between(1, 4094)},
		},
		"firewall": schema.BoolAttribute{Description: "Filter with PVE's firewall. Default off. Unset: left as it is.", Optional: true, Computed: true,
			PlanModifiers: []planmodifier.Bool{boolplanmodifier.UseNonNullStateForUnknown()}},
		"mac": schema.StringAttribute{
			Description:   "MAC address. Unset: PVE generates one, which is kept.",
			Optional:      true,
			Computed:      true,
			PlanModifiers: []planmodifier.String{stringplanmodifier.UseNonNullStateForUnknown()},
			Validators:    []validator.String{stringvalidator.RegexMatches(macRE, "must be a MAC address in upper case")},
		},
		"mtu": schema.Int64Attribute{
			Description: "MTU.",
			Optional:    true,
			Validators:  []validator.Int64{int64validator.Between(576, 65535)},
		},
		"rate": opt("Rate limit in MB/s."),
	}
}

// value is the NIC as PVE's netN property string.
func (n nicModel) value() string {
	p := pve.PropertyString{}
	p.Set("name", n.Name.ValueString())
	p.Set("bridge", n.Bridge.ValueString())
	set := func(key string, v types.String) {
		if !v.IsNull() && !v.IsUnknown() {
			p.Set(key, v.ValueString())
		}
	}
	if n.Firewall.ValueBool() {
		p.Set("firewall", "1")
	}
	set("gw", n.GW)
	set("gw6", n.GW6)
	set("hwaddr", n.MAC)
	set("ip", n.IP)
	set("ip6", n.IP6)
	if !n.MTU.IsNull() && !n.MTU.IsUnknown() {
		p.Set("mtu", strconv.FormatInt(n.MTU.ValueInt64(), 10))
	}
	set("rate", n.Rate)
	if !n.Tag.IsNull() && !n.Tag.IsUnknown() {
		p.Set("tag", strconv.FormatInt(n.Tag.ValueInt64(), 10))
	}
	return p.Format("")
}

func nicFromAPI(value string) (nicModel, error) {
	p, err := pve.ParsePropertyString(value, "")
	if err != nil {
		return nicModel{}, err
	}
	opt := func(key string) types.String {
		if v := p.Value(key); v != "" {
			return types.StringValue(v)
		}
		return types.StringNull()
	}
	num := func(key string) types.Int64 {
		if v, err := strconv.ParseInt(p.Value(key), 10, 64); err == nil {
			return types.Int64Value(v)
		}
		return types.Int64Null()
	}
	return nicModel{
		Name: opt("name"), Bridge: opt("bridge"), IP: opt("ip"), GW: opt("gw"), IP6: opt("ip6"), GW6: opt("gw6"),
		Tag: num("tag"), Firewall: types.BoolValue(p.Value("firewall") == "1"), MAC: opt("hwaddr"), MTU: num("mtu"),
		Rate: opt("rate"),
	}, nil
}

func managed(m types.Map) bool { return !m.IsNull() && !m.IsUnknown() }

// rootfs returns the root file system, nil while it is unknown.
func (m *containerModel) rootfs(ctx context.Context, diags *diag.Diagnostics) *rootfsModel {
	if m.RootFS.IsNull() || m.RootFS.IsUnknown() {
		return nil
	}
	var r rootfsModel
	diags.Append(m.RootFS.As(ctx, &r, basetypes.ObjectAsOptions{})...)
	return &r
}

func (m *containerModel) mounts(ctx context.Context, diags *diag.Diagnostics) map[string]volumeModel {
	out := map[string]volumeModel{}
	if managed(m.MountPoints) {
		diags.Append(m.MountPoints.ElementsAs(ctx, &out, false)...)
	}
	return out
}

func (m *containerModel) nics(ctx context.Context, diags *diag.Diagnostics) map[string]nicModel {
	out := map[string]nicModel{}
	if managed(m.Network) {
		diags.Append(m.Network.ElementsAs(ctx, &out, false)...)
	}
	return out
}

// nicValues renders NICs as their PVE values by slot.
func nicValues(nics map[string]nicModel) map[string]string {
	out := make(map[string]string, len(nics))
	for slot, n := range nics {
		out[slot] = n.value()
	}
	return out
}
