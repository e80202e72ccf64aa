package network

import (
	"context"
	"maps"
	"net/url"

	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/hcilab/terraform-provider-pve/internal/framework"
	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

var (
	_ resource.ResourceWithImportState    = (*ifaceResource[bridgeModel, *bridgeModel])(nil)
	_ resource.ResourceWithValidateConfig = (*ifaceResource[bridgeModel, *bridgeModel])(nil)
	_ resource.ResourceWithModifyPlan     = (*ifaceResource[bridgeModel, *bridgeModel])(nil)
)

// NewBridgeResource returns the pve_network_bridge resource.
func NewBridgeResource() resource.Resource {
	attrs := ifaceAttributes("bridge", "Bridge name, `vmbrN`.", checkBridgeName)
	maps.Copy(attrs, map[string]schema.Attribute{
		"ports": schema.ListAttribute{
			Description: "Interfaces enslaved to the bridge (NICs, bonds, VLANs), e.g. `[\"bond0\"]`. Unset or empty: " +
				"a bridge without ports.",
			ElementType: types.StringType,
			Optional:    true,
			Validators: []validator.List{
				listvalidator.UniqueValues(),
				listvalidator.ValueStringsAre(framework.StringCheck("must be an interface name", checkIfaceName)),
			},
		},
		"vlan_aware": schema.BoolAttribute{
			Description: "Make the bridge VLAN aware, so guests' NICs can carry tags. Unset: as PVE has it (off for new bridges).",
			Optional:    true,
			Computed:    true,
		},
		"vids": schema.ListAttribute{
			Description: "VLANs the VLAN-aware bridge carries: tags and ranges, e.g. `[\"10\", \"20\", \"100-200\"]`. " +
				"Only with `vlan_aware = true`. Unset: as PVE sets it (`2-4094`).",
			ElementType: types.StringType,
			Optional:    true,
			Computed:    true,
			Validators: []validator.List{
				listvalidator.SizeAtLeast(1),
				listvalidator.ValueStringsAre(framework.StringCheck("must be a VLAN tag or range", checkVIDs)),
			},
		},
	})
	return &ifaceResource[bridgeModel, *bridgeModel]{kind: kind{
		typeSuffix: "network_bridge",
		title:      "Linux Bridge",
		pveType:    "bridge",
		description: "A Linux bridge on a PVE node (`vmbrN`), for guests' NICs and the node's own addresses. " +
			stagingDescription + " Import with `<node>:<name>`, e.g. `pve1:vmbr0`.",
		attributes: attrs,
	}}
}

type bridgeModel struct {
	ifaceModel
	Ports     types.List `tfsdk:"ports"`
	VLANAware types.Bool `tfsdk:"vlan_aware"`
	VIDs      types.List `tfsdk:"vids"`
}

func (m *bridgeModel) common() *ifaceModel { return &m.ifaceModel }

func (m *bridgeModel) params(ctx context.Context, p url.Values, prior model, diags *diag.Diagnostics) {
	if !m.Ports.IsNull() && len(m.Ports.Elements()) > 0 {
		p.Set("bridge_ports", listText(ctx, m.Ports, diags))
	} else if prior != nil && !prior.(*bridgeModel).Ports.IsNull() {
		p.Add("delete", "bridge_ports")
	}
	// PVE's writer turns any value of bridge_vlan_aware into "yes": false
	// is the key's absence.
	if m.VLANAware.ValueBool() {
		p.Set("bridge_vlan_aware", "1")
	} else if prior != nil && prior.(*bridgeModel).VLANAware.ValueBool() && !m.VLANAware.IsUnknown() {
		p.Add("delete", "bridge_vlan_aware")
	}
	if !m.VIDs.IsNull() && !m.VIDs.IsUnknown() {
		p.Set("bridge_vids", listText(ctx, m.VIDs, diags))
	}
}

func (m *bridgeModel) fromAPI(n *pve.NetworkInterface) {
	ports := pve.SplitList(n.BridgePorts)
	if len(ports) == 1 && ports[0] == "none" {
		ports = nil
	}
	m.Ports = listFromAPI(ports, m.Ports)
	m.VLANAware = types.BoolValue(bool(n.BridgeVLANAware))
	m.VIDs = listFromAPI(pve.SplitList(n.BridgeVIDs), m.VIDs)
	if m.VIDs.IsNull() {
		// Computed: a known value, even when PVE reports none.
		m.VIDs = types.ListValueMust(types.StringType, nil)
	}
}

func (m *bridgeModel) validate(diags *diag.Diagnostics) {
	if !m.VIDs.IsNull() && !m.VIDs.IsUnknown() && !m.VLANAware.IsUnknown() && !m.VLANAware.ValueBool() {
		diags.AddAttributeError(path.Root("vids"), "VLANs Without a VLAN-Aware Bridge",
			"vids takes effect only on a VLAN-aware bridge: set vlan_aware = true, or remove vids")
	}
}
