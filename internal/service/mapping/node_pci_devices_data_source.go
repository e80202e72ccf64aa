package mapping

import (
	"context"
	"regexp"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/hcilab/terraform-provider-pve/internal/framework"
	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

var _ datasource.DataSourceWithConfigure = (*nodePCIDevicesDataSource)(nil)

// NewNodePCIDevicesDataSource returns the pve_node_pci_devices data source.
func NewNodePCIDevicesDataSource() datasource.DataSource {
	return &nodePCIDevicesDataSource{}
}

type nodePCIDevicesDataSource struct {
	data *framework.ProviderData
}

type nodePCIDevicesModel struct {
	Node     types.String     `tfsdk:"node"`
	Class    types.String     `tfsdk:"class"`
	VendorID types.String     `tfsdk:"vendor_id"`
	Devices  []pciDeviceModel `tfsdk:"devices"`
}

type pciDeviceModel struct {
	Path                types.String `tfsdk:"path"`
	ID                  types.String `tfsdk:"id"`
	Class               types.String `tfsdk:"class"`
	VendorID            types.String `tfsdk:"vendor_id"`
	DeviceID            types.String `tfsdk:"device_id"`
	VendorName          types.String `tfsdk:"vendor_name"`
	DeviceName          types.String `tfsdk:"device_name"`
	SubsystemID         types.String `tfsdk:"subsystem_id"`
	SubsystemVendorName types.String `tfsdk:"subsystem_vendor_name"`
	SubsystemDeviceName types.String `tfsdk:"subsystem_device_name"`
	IOMMUGroup          types.Int64  `tfsdk:"iommu_group"`
	MDev                types.Bool   `tfsdk:"mdev"`
}

func (d *nodePCIDevicesDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_node_pci_devices"
}

func (d *nodePCIDevicesDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	str := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Description: desc, Computed: true}
	}
	resp.Schema = schema.Schema{
		Description: "A node's PCI devices (`/nodes/{node}/hardware/pci`), every class included, sorted by address; " +
			"filtered by class and vendor, e.g. a node's GPUs to build a `pve_mapping_pci` from.",
		Attributes: map[string]schema.Attribute{
			"node": schema.StringAttribute{
				Description: "Node to list.",
				Required:    true,
				Validators:  []validator.String{framework.StringCheck("must be a node name", pve.CheckNodeName)},
			},
			"class": schema.StringAttribute{
				Description: "Only devices whose class starts with these hex digits: `03` display controllers (GPUs), " +
					"`0300` VGA, `02` network, `0108` NVMe. With or without `0x`.",
				Optional:   true,
				Validators: []validator.String{stringvalidator.RegexMatches(hexPrefixRE, "must be hex digits, e.g. 03 or 0x0300")},
			},
			"vendor_id": schema.StringAttribute{
				Description: "Only devices of this vendor, e.g. `10de` (NVIDIA), `1002` (AMD), `8086` (Intel).",
				Optional:    true,
				Validators:  []validator.String{stringvalidator.RegexMatches(hexPrefixRE, "must be a hex vendor ID, e.g. 10de")},
			},
			"devices": schema.ListNestedAttribute{
				Description: "The devices (PCI functions).",
				Computed:    true,
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"path":                  str("PCI address, e.g. `0000:01:00.0` (a mapping entry's `path`)."),
					"id":                    str("`vendor:device` in hex, e.g. `10de:2204` (a mapping entry's `id`)."),
					"class":                 str("PCI class in hex, e.g. `0x030000`."),
					"vendor_id":             str("Vendor ID in hex, e.g. `10de`."),
					"device_id":             str("Device ID in hex, e.g. `2204`."),
					"vendor_name":           str("Vendor name, when the node's PCI database knows it."),
					"device_name":           str("Device name, when the node's PCI database knows it."),
					"subsystem_id":          str("Subsystem `vendor:device` in hex (a mapping entry's `subsystem_id`); empty when there is none."),
					"subsystem_vendor_name": str("Subsystem vendor name."),
					"subsystem_device_name": str("Subsystem device name."),
					"iommu_group":           schema.Int64Attribute{Description: "IOMMU group (a mapping entry's `iommu_group`); -1 without an IOMMU.", Computed: true},
					"mdev":                  schema.BoolAttribute{Description: "Whether the device can provide mediated devices (vGPU).", Computed: true},
				}},
			},
		},
	}
}

var hexPrefixRE = regexp.MustCompile(`^(0x)?[0-9a-fA-F]{1,6}$`)

func (d *nodePCIDevicesDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = framework.ConfigureData(req.ProviderData, &resp.Diagnostics)
	d.data.RequirePVE(&resp.Diagnostics)
}

func (d *nodePCIDevicesDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m nodePCIDevicesModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	c := d.data.PVEClient(ctx, "Unable to Read PCI Devices", &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	devices, err := c.NodePCIDevices(ctx, m.Node.ValueString())
	if err != nil {
		resp.Diagnostics.AddError("Unable to Read PCI Devices", err.Error())
		return
	}
	class, vendor := lower(m.Class.ValueString()), lower(m.VendorID.ValueString())
	m.Devices = []pciDeviceModel{}
	for _, dev := range devices {
		if !strings.HasPrefix(lower(dev.Class), class) || vendor != "" && lower(dev.Vendor) != vendor {
			continue
		}
		m.Devices = append(m.Devices, pciDeviceModel{
			Path:                types.StringValue(dev.ID),
			ID:                  types.StringValue(dev.VendorDevice()),
			Class:               types.StringValue(dev.Class),
			VendorID:            types.StringValue(lower(dev.Vendor)),
			DeviceID:            types.StringValue(lower(dev.Device)),
			VendorName:          types.StringValue(dev.VendorName),
			DeviceName:          types.StringValue(dev.DeviceName),
			SubsystemID:         types.StringValue(dev.SubsystemID()),
			SubsystemVendorName: types.StringValue(dev.SubsystemVendorName),
			SubsystemDeviceName: types.StringValue(dev.SubsystemDeviceName),
			IOMMUGroup:          types.Int64Value(int64(dev.IOMMUGroup)),
			MDev:                types.BoolValue(bool(dev.MDev)),
		})
	}
	sort.Slice(m.Devices, func(i, j int) bool { return m.Devices[i].Path.ValueString() < m.Devices[j].Path.ValueString() })
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}
