package bmc

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/stmcginnis/gofish/schemas"

	"github.com/hcilab/terraform-provider-pve/internal/framework"
	"github.com/hcilab/terraform-provider-pve/internal/redfish"
)

// NewSystemDataSource returns the pve_bmc_system data source.
func NewSystemDataSource() datasource.DataSource {
	return &systemDataSource{}
}

type systemDataSource struct {
	data *framework.ProviderData
}

type nicModel struct {
	ID   types.String `tfsdk:"id"`
	Name types.String `tfsdk:"name"`
	MAC  types.String `tfsdk:"mac"`
}

type systemModel struct {
	BMC                *framework.BMCModel `tfsdk:"bmc"`
	SystemID           types.String        `tfsdk:"system_id"`
	Manufacturer       types.String        `tfsdk:"manufacturer"`
	Model              types.String        `tfsdk:"model"`
	SerialNumber       types.String        `tfsdk:"serial_number"`
	BIOSVersion        types.String        `tfsdk:"bios_version"`
	PowerState         types.String        `tfsdk:"power_state"`
	Health             types.String        `tfsdk:"health"`
	ProcessorCount     types.Int64         `tfsdk:"processor_count"`
	ProcessorModel     types.String        `tfsdk:"processor_model"`
	MemoryGiB          types.Float64       `tfsdk:"memory_gib"`
	MACAddresses       []string            `tfsdk:"mac_addresses"`
	NICs               []nicModel          `tfsdk:"nics"`
	BMCFirmwareVersion types.String        `tfsdk:"bmc_firmware_version"`
}

func (d *systemDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_bmc_system"
}

func (d *systemDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	str := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Description: desc, Computed: true}
	}
	resp.Schema = schema.Schema{
		Description: "What a server's BMC tells about it: make, model, serial, BIOS, power, health, processors, memory, " +
			"its NICs' MAC addresses (to feed PVE's network configuration) and the BMC's firmware.",
		Attributes: map[string]schema.Attribute{
			"bmc": framework.BMCDataSourceAttribute(),
			"system_id": schema.StringAttribute{
				Description: "ID of the computer system. Unset: the BMC's only system.",
				Optional:    true,
				Computed:    true,
			},
			"manufacturer":    str("Manufacturer."),
			"model":           str("Model."),
			"serial_number":   str("Serial number."),
			"bios_version":    str("BIOS version."),
			"power_state":     str("Power state (`On`, `Off`, `PoweringOn`, `PoweringOff`)."),
			"health":          str("Health (`OK`, `Warning`, `Critical`)."),
			"processor_count": schema.Int64Attribute{Description: "Number of processors (sockets).", Computed: true},
			"processor_model": str("Processor model."),
			"memory_gib":      schema.Float64Attribute{Description: "Installed memory in GiB.", Computed: true},
			"mac_addresses": schema.ListAttribute{Description: "MAC addresses of the system's Ethernet interfaces, upper case, in the " +
				"BMC's order (a host-to-BMC interface, where the BMC lists one, included: see `nics`).", ElementType: types.StringType, Computed: true},
			"nics": schema.ListNestedAttribute{
				Description: "The system's Ethernet interfaces as the BMC lists them: ID, name and MAC address.",
				Computed:    true,
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"id":   str("Interface ID."),
					"name": str("Interface name."),
					"mac":  str("MAC address, upper case."),
				}},
			},
			"bmc_firmware_version": str("Firmware version of the BMC."),
		},
	}
}

func (d *systemDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = framework.ConfigureData(req.ProviderData, &resp.Diagnostics)
}

func (d *systemDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m systemModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	err := withSystem(ctx, d.data, m.BMC, m.SystemID, func(s *redfish.Session, sys *schemas.ComputerSystem) error {
		f, err := s.SystemFacts(sys)
		if err != nil {
			return err
		}
		m.SystemID = types.StringValue(f.ID)
		m.Manufacturer, m.Model, m.SerialNumber = types.StringValue(f.Manufacturer), types.StringValue(f.Model), types.StringValue(f.SerialNumber)
		m.BIOSVersion, m.PowerState, m.Health = types.StringValue(f.BIOSVersion), types.StringValue(f.PowerState), types.StringValue(f.Health)
		m.ProcessorCount, m.ProcessorModel = types.Int64Value(int64(f.ProcessorCount)), types.StringValue(f.ProcessorModel)
		m.MemoryGiB = types.Float64Value(f.MemoryGiB)
		m.MACAddresses = f.MACAddresses
		if m.MACAddresses == nil {
			m.MACAddresses = []string{}
		}
		m.NICs = []nicModel{}
		for _, n := range f.NICs {
			m.NICs = append(m.NICs, nicModel{ID: types.StringValue(n.ID), Name: types.StringValue(n.Name), MAC: types.StringValue(n.MAC)})
		}
		m.BMCFirmwareVersion = types.StringValue(f.BMCFirmwareVersion)
		return nil
	})
	if err != nil {
		addError(&resp.Diagnostics, "Unable to Read BMC System", err)
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}
