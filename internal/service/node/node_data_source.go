package node

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/hcilab/terraform-provider-pve/internal/framework"
	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

var _ datasource.DataSourceWithConfigure = (*nodeDataSource)(nil)

// NewNodeDataSource returns the pve_node data source.
func NewNodeDataSource() datasource.DataSource {
	return &nodeDataSource{}
}

type nodeDataSource struct {
	data *framework.ProviderData
}

type nodeModel struct {
	Name          types.String    `tfsdk:"name"`
	CPUModel      types.String    `tfsdk:"cpu_model"`
	CPUCount      types.Int64     `tfsdk:"cpu_count"`
	CPUSockets    types.Int64     `tfsdk:"cpu_sockets"`
	CPUCores      types.Int64     `tfsdk:"cpu_cores"`
	CPUUsage      types.Float64   `tfsdk:"cpu_usage"`
	MemoryTotal   types.Int64     `tfsdk:"memory_total"`
	MemoryUsed    types.Int64     `tfsdk:"memory_used"`
	MemoryFree    types.Int64     `tfsdk:"memory_free"`
	SwapTotal     types.Int64     `tfsdk:"swap_total"`
	SwapUsed      types.Int64     `tfsdk:"swap_used"`
	RootFSTotal   types.Int64     `tfsdk:"rootfs_total"`
	RootFSUsed    types.Int64     `tfsdk:"rootfs_used"`
	KernelVersion types.String    `tfsdk:"kernel_version"`
	PVEVersion    types.String    `tfsdk:"pve_version"`
	Uptime        types.Int64     `tfsdk:"uptime"`
	LoadAverage   []types.Float64 `tfsdk:"load_average"`
	BootMode      types.String    `tfsdk:"boot_mode"`
}

func (d *nodeDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_node"
}

func (d *nodeDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	computed := func(desc string) schema.Int64Attribute {
		return schema.Int64Attribute{Description: desc, Computed: true}
	}
	resp.Schema = schema.Schema{
		Description: "The status of one PVE node (`GET /nodes/{node}/status`). A node that does not exist is an error.",
		Attributes: map[string]schema.Attribute{
			"name": schema.StringAttribute{
				Description: "Node name, e.g. `pve1`.",
				Required:    true,
				Validators:  []validator.String{framework.StringCheck("must be a node name", pve.CheckNodeName)},
			},
			"cpu_model":      schema.StringAttribute{Description: "CPU model.", Computed: true},
			"cpu_count":      computed("Number of logical CPUs."),
			"cpu_sockets":    computed("Number of CPU sockets."),
			"cpu_cores":      computed("CPU cores per socket."),
			"cpu_usage":      schema.Float64Attribute{Description: "CPU usage, from 0 to 1.", Computed: true},
			"memory_total":   computed("Total memory in bytes."),
			"memory_used":    computed("Used memory in bytes."),
			"memory_free":    computed("Free memory in bytes."),
			"swap_total":     computed("Swap size in bytes."),
			"swap_used":      computed("Used swap in bytes."),
			"rootfs_total":   computed("Size of the root file system in bytes."),
			"rootfs_used":    computed("Used space of the root file system in bytes."),
			"kernel_version": schema.StringAttribute{Description: "Running kernel, as `uname` reports it.", Computed: true},
			"pve_version":    schema.StringAttribute{Description: "pve-manager version string, e.g. `pve-manager/9.1.3/...`.", Computed: true},
			"uptime":         computed("Uptime in seconds."),
			"load_average": schema.ListAttribute{
				Description: "Load averages over 1, 5 and 15 minutes.",
				ElementType: types.Float64Type,
				Computed:    true,
			},
			"boot_mode": schema.StringAttribute{Description: "Firmware boot mode: `efi` or `legacy-bios`.", Computed: true},
		},
	}
}

func (d *nodeDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = framework.ConfigureData(req.ProviderData, &resp.Diagnostics)
	d.data.RequirePVE(&resp.Diagnostics)
}

func (d *nodeDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m nodeModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	client := d.data.PVEClient(ctx, "Unable to Read PVE Node", &resp.Diagnostics)
	if client == nil {
		return
	}
	name := m.Name.ValueString()
	status, err := client.NodeStatus(ctx, name)
	if errors.Is(err, pve.ErrNotFound) {
		resp.Diagnostics.AddAttributeError(path.Root("name"), "PVE Node Not Found",
			fmt.Sprintf("there is no node %q in the cluster: %s", name, err))
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Unable to Read PVE Node", err.Error())
		return
	}
	out, err := nodeFromAPI(name, status)
	if err != nil {
		resp.Diagnostics.AddError("Unable to Read PVE Node", err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, out)...)
}

func nodeFromAPI(name string, s *pve.NodeStatus) (nodeModel, error) {
	m := nodeModel{
		Name:          types.StringValue(name),
		CPUModel:      types.StringValue(s.CPUModel),
		CPUCount:      types.Int64Value(int64(s.CPUs)),
		CPUSockets:    types.Int64Value(int64(s.Sockets)),
		CPUCores:      types.Int64Value(int64(s.Cores)),
		CPUUsage:      types.Float64Value(s.CPU),
		MemoryTotal:   types.Int64Value(int64(s.MemoryTotal)),
		MemoryUsed:    types.Int64Value(int64(s.MemoryUsed)),
		MemoryFree:    types.Int64Value(int64(s.MemoryFree)),
		SwapTotal:     types.Int64Value(int64(s.SwapTotal)),
		SwapUsed:      types.Int64Value(int64(s.SwapUsed)),
		RootFSTotal:   types.Int64Value(int64(s.RootFSTotal)),
		RootFSUsed:    types.Int64Value(int64(s.RootFSUsed)),
		KernelVersion: types.StringValue(s.KernelVersion),
		PVEVersion:    types.StringValue(s.PVEVersion),
		Uptime:        types.Int64Value(int64(s.Uptime)),
		BootMode:      types.StringValue(s.BootMode),
		LoadAverage:   make([]types.Float64, 0, len(s.LoadAvg)),
	}
	for _, l := range s.LoadAvg {
		f, err := strconv.ParseFloat(l, 64)
		if err != nil {
			return nodeModel{}, fmt.Errorf("node %s reports an unreadable load average %q: %w", name, l, err)
		}
		m.LoadAverage = append(m.LoadAverage, types.Float64Value(f))
	}
	return m, nil
}
