package vm

import (
	"context"
	"regexp"
	"slices"
	"strconv"

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

	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

// NIC models PVE emulates.
var nicModels = []string{"virtio", "e1000", "e1000e", "rtl8139", "vmxnet3"}

// nicModel is one NIC of the network map.
type nicModel struct {
	Model    types.String `tfsdk:"model"`
	Bridge   types.String `tfsdk:"bridge"`
	Tag      types.Int64  `tfsdk:"tag"`
	MAC      types.String `tfsdk:"mac"`
	Firewall types.Bool   `tfsdk:"firewall"`
	MTU      types.Int64  `tfsdk:"mtu"`
	Rate     types.String `tfsdk:"rate"`
}

// nicType is the element type of the network map.
var nicType = types.ObjectType{AttrTypes: map[string]attr.Type{
	"model": types.StringType, "bridge": types.StringType, "tag": types.Int64Type, "mac": types.StringType,
	"firewall": types.BoolType, "mtu": types.Int64Type, "rate": types.StringType,
}}

func nicAttributes() map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"model": schema.StringAttribute{
			Description: "NIC model: `virtio`, `e1000`, `e1000e`, `rtl8139`, `vmxnet3`.",
			Required:    true,
			Validators:  []validator.String{stringvalidator.OneOf(nicModels...)},
		},
		"bridge": schema.StringAttribute{
			Description: "Bridge the NIC is plugged into, e.g. `vmbr0`.",
			Required:    true,
		},
		"tag": schema.Int64Attribute{
			Description: "VLAN tag on a VLAN-aware bridge.",
			Optional:    true,
			Validators:  []validator.Int64{int64validator.Between(1, 4094)},
		},
		"mac": schema.StringAttribute{
			Description:   "MAC address. Unset: PVE generates one, which is kept.",
			Optional:      true,
			Computed:      true,
			PlanModifiers: []planmodifier.String{stringplanmodifier.UseNonNullStateForUnknown()},
			Validators: []validator.String{stringvalidator.RegexMatches(macRE,
				"must be a MAC address in upper case, such as BC:24:11:2A:3B:4C")},
		},
		"firewall": schema.BoolAttribute{
			Description:   "Filter the NIC's traffic with PVE's firewall. Default off. Unset: left as it is.",
			Optional:      true,
			Computed:      true,
			PlanModifiers: []planmodifier.Bool{boolplanmodifier.UseNonNullStateForUnknown()},
		},
		"mtu": schema.Int64Attribute{
			Description: "MTU of a virtio NIC (1 = the bridge's MTU).",
			Optional:    true,
			Validators:  []validator.Int64{int64validator.Between(1, 65520)},
		},
		"rate": schema.StringAttribute{
			Description: "Rate limit in MB/s, e.g. `12.5`.",
			Optional:    true,
		},
	}
}

// value is the NIC as PVE's netN property string.
func (n nicModel) value() string {
	p := pve.PropertyString{}
	mac := ""
	if !n.MAC.IsNull() && !n.MAC.IsUnknown() {
		mac = n.MAC.ValueString()
	}
	if mac != "" {
		p.Set(n.Model.ValueString(), mac)
	} else {
		p.Set("model", n.Model.ValueString())
	}
	p.Set("bridge", n.Bridge.ValueString())
	if n.Firewall.ValueBool() {
		p.Set("firewall", "1")
	}
	if !n.Tag.IsNull() && !n.Tag.IsUnknown() {
		p.Set("tag", strconv.FormatInt(n.Tag.ValueInt64(), 10))
	}
	if !n.MTU.IsNull() && !n.MTU.IsUnknown() {
		p.Set("mtu", strconv.FormatInt(n.MTU.ValueInt64(), 10))
	}
	if !n.Rate.IsNull() && !n.Rate.IsUnknown() {
		p.Set("rate", n.Rate.ValueString())
	}
	return p.Format("")
}

// nicFromAPI reads a netN property string ("virtio=BC:24:..,bridge=vmbr0").
func nicFromAPI(value string) (nicModel, error) {
	p, err := pve.ParsePropertyString(value, "model")
	if err != nil {
		return nicModel{}, err
	}
	n := nicModel{
		Model:    types.StringNull(),
		Bridge:   types.StringValue(p.Value("bridge")),
		Tag:      types.Int64Null(),
		MAC:      types.StringNull(),
		Firewall: types.BoolValue(p.Value("firewall") == "1"),
		MTU:      types.Int64Null(),
		Rate:     types.StringNull(),
	}
	for _, k := range p.Keys() {
		if slices.Contains(nicModels, k) {
			n.Model, n.MAC = types.StringValue(k), types.StringValue(p.Value(k))
		}
	}
	if m := p.Value("model"); m != "" {
		n.Model = types.StringValue(m)
		if mac := p.Value("macaddr"); mac != "" {
			n.MAC = types.StringValue(mac)
		}
	}
	if v, err := strconv.ParseInt(p.Value("tag"), 10, 64); err == nil {
		n.Tag = types.Int64Value(v)
	}
	if v, err := strconv.ParseInt(p.Value("mtu"), 10, 64); err == nil {
		n.MTU = types.Int64Value(v)
	}
	if r := p.Value("rate"); r != "" {
		n.Rate = types.StringValue(r)
	}
	return n, nil
}

var macRE = regexp.MustCompile(`^([0-9A-F]{2}:){5}[0-9A-F]{2}$`)

// nics returns the network map, empty while it is unset or unknown.
func (m *vmModel) nics(ctx context.Context, diags *diag.Diagnostics) map[string]nicModel {
	return elements[nicModel](ctx, m.Network, diags)
}
