package network

import (
	"context"
	"fmt"
	"maps"
	"net/url"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/hcilab/terraform-provider-pve/internal/framework"
	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

var (
	_ resource.ResourceWithImportState    = (*ifaceResource[vlanModel, *vlanModel])(nil)
	_ resource.ResourceWithValidateConfig = (*ifaceResource[vlanModel, *vlanModel])(nil)
	_ resource.ResourceWithModifyPlan     = (*ifaceResource[vlanModel, *vlanModel])(nil)
)

// NewVLANResource returns the pve_network_vlan resource.
func NewVLANResource() resource.Resource {
	attrs := ifaceAttributes("VLAN", "VLAN interface name: `<device>.<tag>` (e.g. `bond0.40`) or `vlan<tag>` "+
		"(e.g. `vlan40`, which needs `vlan_raw_device`).", checkVLANName)
	maps.Copy(attrs, map[string]schema.Attribute{
		"vlan_raw_device": schema.StringAttribute{
			Description: "The interface that carries the VLAN. Required for `vlan<tag>` names; for `<device>.<tag>` " +
				"names it is the device part of the name. Changing it replaces the VLAN.",
			Optional: true,
			Computed: true,
			PlanModifiers: []planmodifier.String{
				stringplanmodifier.UseStateForUnknown(),
				stringplanmodifier.RequiresReplace(),
			},
			Validators: []validator.String{framework.StringCheck("must be an interface name", checkIfaceName)},
		},
		"tag": schema.Int64Attribute{
			Description: "VLAN tag, 1 to 4094; it is the number in the name, so it need not be set.",
			Optional:    true,
			Computed:    true,
			PlanModifiers: []planmodifier.Int64{
				int64planmodifier.UseStateForUnknown(),
				int64planmodifier.RequiresReplace(),
			},
			Validators: []validator.Int64{int64validator.Between(1, 4094)},
		},
	})
	return &ifaceResource[vlanModel, *vlanModel]{kind: kind{
		typeSuffix: "network_vlan",
		title:      "Linux VLAN",
		pveType:    "vlan",
		description: "A Linux VLAN interface on a PVE node, such as `bond0.40` for a Ceph network on a tagged VLAN. " +
			stagingDescription + " Import with `<node>:<name>`, e.g. `pve1:bond0.40`.",
		attributes: attrs,
	}}
}

type vlanModel struct {
	ifaceModel
	VLANRawDevice types.String `tfsdk:"vlan_raw_device"`
	Tag           types.Int64  `tfsdk:"tag"`
}

func (m *vlanModel) common() *ifaceModel { return &m.ifaceModel }

func (m *vlanModel) params(_ context.Context, p url.Values, _ model, _ *diag.Diagnostics) {
	// A <device>.<tag> name says everything; vlan<tag> needs its device.
	if raw, _, err := parseVLANName(m.Name.ValueString()); err == nil && raw == "" {
		p.Set("vlan-raw-device", m.VLANRawDevice.ValueString())
	}
}

func (m *vlanModel) fromAPI(n *pve.NetworkInterface) {
	raw, tag, _ := parseVLANName(n.Iface)
	if n.VLANRawDevice != "" {
		raw = n.VLANRawDevice
	}
	if n.VLANID != 0 {
		tag = int64(n.VLANID)
	}
	m.VLANRawDevice = optString(raw)
	m.Tag = types.Int64Value(tag)
}

func (m *vlanModel) validate(diags *diag.Diagnostics) {
	if m.Name.IsUnknown() {
		return
	}
	raw, tag, err := parseVLANName(m.Name.ValueString())
	if err != nil {
		return // reported by the name attribute
	}
	if !m.Tag.IsNull() && !m.Tag.IsUnknown() && m.Tag.ValueInt64() != tag {
		diags.AddAttributeError(path.Root("tag"), "VLAN Tag Differs From Its Name",
			fmt.Sprintf("the name %s implies tag %d, not %d", m.Name.ValueString(), tag, m.Tag.ValueInt64()))
	}
	if m.VLANRawDevice.IsUnknown() {
		return
	}
	switch {
	case raw == "" && m.VLANRawDevice.IsNull():
		diags.AddAttributeError(path.Root("vlan_raw_device"), "Missing VLAN Raw Device",
			fmt.Sprintf("a VLAN named %s needs vlan_raw_device, the interface that carries it", m.Name.ValueString()))
	case raw != "" && !m.VLANRawDevice.IsNull() && m.VLANRawDevice.ValueString() != raw:
		diags.AddAttributeError(path.Root("vlan_raw_device"), "VLAN Raw Device Differs From Its Name",
			fmt.Sprintf("the name %s implies the device %s, not %s", m.Name.ValueString(), raw, m.VLANRawDevice.ValueString()))
	}
}
