package network

import (
	"context"
	"sort"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/hcilab/terraform-provider-pve/internal/framework"
	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

var _ datasource.DataSourceWithConfigure = (*interfacesDataSource)(nil)

// Interface types the data source filters by, as PVE's list call takes them.
var interfaceTypes = []string{"bridge", "bond", "eth", "alias", "vlan", "OVSBridge", "OVSBond", "OVSPort", "OVSIntPort", "any_bridge"}

// NewInterfacesDataSource returns the pve_network_interfaces data source.
func NewInterfacesDataSource() datasource.DataSource {
	return &interfacesDataSource{}
}

type interfacesDataSource struct {
	data *framework.ProviderData
}

type interfacesModel struct {
	Node           types.String          `tfsdk:"node"`
	Type           types.String          `tfsdk:"type"`
	PendingChanges types.String          `tfsdk:"pending_changes"`
	Interfaces     []interfaceEntryModel `tfsdk:"interfaces"`
}

type interfaceEntryModel struct {
	Name          types.String `tfsdk:"name"`
	Type          types.String `tfsdk:"type"`
	Active        types.Bool   `tfsdk:"active"`
	Exists        types.Bool   `tfsdk:"exists"`
	Autostart     types.Bool   `tfsdk:"autostart"`
	Pending       types.Bool   `tfsdk:"pending"`
	CIDR          types.String `tfsdk:"cidr"`
	Gateway       types.String `tfsdk:"gateway"`
	CIDR6         types.String `tfsdk:"cidr6"`
	Gateway6      types.String `tfsdk:"gateway6"`
	MTU           types.Int64  `tfsdk:"mtu"`
	Ports         []string     `tfsdk:"ports"`
	VLANAware     types.Bool   `tfsdk:"vlan_aware"`
	BondMode      types.String `tfsdk:"bond_mode"`
	VLANRawDevice types.String `tfsdk:"vlan_raw_device"`
	Comment       types.String `tfsdk:"comment"`
}

func (d *interfacesDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_network_interfaces"
}

func (d *interfacesDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	str := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Description: desc, Computed: true}
	}
	flag := func(desc string) schema.BoolAttribute { return schema.BoolAttribute{Description: desc, Computed: true} }
	resp.Schema = schema.Schema{
		Description: "The network interfaces of a PVE node as PVE reports them (`GET /nodes/{node}/network`): the staged " +
			"configuration (`/etc/network/interfaces.new`) when there is one, and whether each interface is up now. " +
			"Reading it never reloads the node's network.",
		Attributes: map[string]schema.Attribute{
			"node": schema.StringAttribute{
				Description: "Node name.",
				Required:    true,
				Validators:  []validator.String{framework.StringCheck("must be a node name", pve.CheckNodeName)},
			},
			"type": schema.StringAttribute{
				Description: "Only interfaces of this type: " + quoted(interfaceTypes) + ".",
				Optional:    true,
				Validators:  []validator.String{stringvalidator.OneOf(interfaceTypes...)},
			},
			"pending_changes": str("Staged changes not yet active, as a diff of `/etc/network/interfaces`; empty when none."),
			"interfaces": schema.ListNestedAttribute{
				Description: "The interfaces, sorted by name.",
				Computed:    true,
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"name":            str("Interface name."),
					"type":            str("Type: `eth`, `bridge`, `bond`, `vlan`, ..."),
					"active":          flag("Whether the interface is up."),
					"exists":          flag("Whether it is a physical NIC."),
					"autostart":       flag("Whether it is brought up at boot and on reload."),
					"pending":         flag("Whether staged changes touch it."),
					"cidr":            str("IPv4 address with prefix length."),
					"gateway":         str("IPv4 gateway."),
					"cidr6":           str("IPv6 address with prefix length."),
					"gateway6":        str("IPv6 gateway."),
					"mtu":             schema.Int64Attribute{Description: "MTU, null when unset (1500).", Computed: true},
					"ports":           schema.ListAttribute{Description: "Bridge ports or bond slaves.", ElementType: types.StringType, Computed: true},
					"vlan_aware":      flag("Whether a bridge is VLAN aware."),
					"bond_mode":       str("Bonding mode of a bond."),
					"vlan_raw_device": str("Raw device of a VLAN."),
					"comment":         str("Comment."),
				}},
			},
		},
	}
}

func (d *interfacesDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = framework.ConfigureData(req.ProviderData, &resp.Diagnostics)
	d.data.RequirePVE(&resp.Diagnostics)
}

func (d *interfacesDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m interfacesModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	c := d.data.PVEClient(ctx, "Unable to Read Network Interfaces", &resp.Diagnostics)
	if c == nil {
		return
	}
	cfg, err := readNode(ctx, c, m.Node.ValueString(), m.Type.ValueString(), false, &resp.Diagnostics)
	if notFound(err) {
		resp.Diagnostics.AddAttributeError(path.Root("node"), "PVE Node Not Found", err.Error())
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Unable to Read Network Interfaces", err.Error())
		return
	}
	m.PendingChanges = types.StringValue(cfg.Changes)
	m.Interfaces = interfacesFromAPI(cfg)
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}

func interfacesFromAPI(cfg *pve.NetworkConfig) []interfaceEntryModel {
	out := make([]interfaceEntryModel, 0, len(cfg.Interfaces))
	for i := range cfg.Interfaces {
		n := &cfg.Interfaces[i]
		ports := pve.SplitList(n.BridgePorts + " " + n.Slaves)
		if len(ports) == 1 && ports[0] == "none" {
			ports = nil
		}
		if ports == nil {
			ports = []string{}
		}
		out = append(out, interfaceEntryModel{
			Name:          types.StringValue(n.Iface),
			Type:          types.StringValue(n.Type),
			Active:        types.BoolValue(bool(n.Active)),
			Exists:        types.BoolValue(bool(n.Exists)),
			Autostart:     types.BoolValue(bool(n.Autostart)),
			Pending:       types.BoolValue(cfg.Pending(n.Iface)),
			CIDR:          optString(n.IPv4()),
			Gateway:       optString(n.Gateway),
			CIDR6:         optString(n.IPv6()),
			Gateway6:      optString(n.Gateway6),
			MTU:           optInt(n.MTU),
			Ports:         ports,
			VLANAware:     types.BoolValue(bool(n.BridgeVLANAware)),
			BondMode:      optString(n.BondMode),
			VLANRawDevice: optString(n.VLANRawDevice),
			Comment:       optString(n.Comment()),
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name.ValueString() < out[j].Name.ValueString() })
	return out
}
