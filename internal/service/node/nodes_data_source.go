package node

import (
	"context"
	"sort"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/hcilab/terraform-provider-pve/internal/framework"
	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

var _ datasource.DataSourceWithConfigure = (*nodesDataSource)(nil)

// NewNodesDataSource returns the pve_nodes data source.
func NewNodesDataSource() datasource.DataSource {
	return &nodesDataSource{}
}

type nodesDataSource struct {
	data *framework.ProviderData
}

type nodesModel struct {
	Nodes []nodeEntryModel `tfsdk:"nodes"`
	Names []types.String   `tfsdk:"names"`
}

type nodeEntryModel struct {
	Name           types.String  `tfsdk:"name"`
	Status         types.String  `tfsdk:"status"`
	Online         types.Bool    `tfsdk:"online"`
	CPUUsage       types.Float64 `tfsdk:"cpu_usage"`
	CPUCount       types.Int64   `tfsdk:"cpu_count"`
	MemoryUsed     types.Int64   `tfsdk:"memory_used"`
	MemoryTotal    types.Int64   `tfsdk:"memory_total"`
	DiskUsed       types.Int64   `tfsdk:"disk_used"`
	DiskTotal      types.Int64   `tfsdk:"disk_total"`
	Uptime         types.Int64   `tfsdk:"uptime"`
	Level          types.String  `tfsdk:"level"`
	SSLFingerprint types.String  `tfsdk:"ssl_fingerprint"`
}

func (d *nodesDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_nodes"
}

func (d *nodesDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "Every node of the PVE cluster (`GET /nodes`), sorted by name.",
		Attributes: map[string]schema.Attribute{
			"names": schema.ListAttribute{
				Description: "Names of the nodes, sorted.",
				ElementType: types.StringType,
				Computed:    true,
			},
			"nodes": schema.ListNestedAttribute{
				Description: "The nodes, sorted by name.",
				Computed:    true,
				NestedObject: schema.NestedAttributeObject{
					Attributes: map[string]schema.Attribute{
						"name":            schema.StringAttribute{Description: "Node name.", Computed: true},
						"status":          schema.StringAttribute{Description: "Status as PVE reports it: `online`, `offline` or `unknown`.", Computed: true},
						"online":          schema.BoolAttribute{Description: "Whether the node is online.", Computed: true},
						"cpu_usage":       schema.Float64Attribute{Description: "CPU usage, from 0 to 1.", Computed: true},
						"cpu_count":       schema.Int64Attribute{Description: "Number of logical CPUs.", Computed: true},
						"memory_used":     schema.Int64Attribute{Description: "Used memory in bytes.", Computed: true},
						"memory_total":    schema.Int64Attribute{Description: "Total memory in bytes.", Computed: true},
						"disk_used":       schema.Int64Attribute{Description: "Used space of the root file system in bytes.", Computed: true},
						"disk_total":      schema.Int64Attribute{Description: "Size of the root file system in bytes.", Computed: true},
						"uptime":          schema.Int64Attribute{Description: "Uptime in seconds.", Computed: true},
						"level":           schema.StringAttribute{Description: "Support subscription level (empty without a subscription).", Computed: true},
						"ssl_fingerprint": schema.StringAttribute{Description: "SHA-256 fingerprint of the node's certificate.", Computed: true},
					},
				},
			},
		},
	}
}

func (d *nodesDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = framework.ConfigureData(req.ProviderData, &resp.Diagnostics)
	d.data.RequirePVE(&resp.Diagnostics)
}

func (d *nodesDataSource) Read(ctx context.Context, _ datasource.ReadRequest, resp *datasource.ReadResponse) {
	client := d.data.PVEClient(ctx, "Unable to Read PVE Nodes", &resp.Diagnostics)
	if client == nil {
		return
	}
	nodes, err := client.Nodes(ctx)
	if err != nil {
		resp.Diagnostics.AddError("Unable to Read PVE Nodes", err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, nodesFromAPI(nodes))...)
}

func nodesFromAPI(nodes []pve.NodeListEntry) nodesModel {
	sorted := append([]pve.NodeListEntry(nil), nodes...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Node < sorted[j].Node })
	m := nodesModel{
		Nodes: make([]nodeEntryModel, 0, len(sorted)),
		Names: make([]types.String, 0, len(sorted)),
	}
	for _, n := range sorted {
		m.Names = append(m.Names, types.StringValue(n.Node))
		m.Nodes = append(m.Nodes, nodeEntryModel{
			Name:           types.StringValue(n.Node),
			Status:         types.StringValue(n.Status),
			Online:         types.BoolValue(n.Status == "online"),
			CPUUsage:       types.Float64Value(n.CPU),
			CPUCount:       types.Int64Value(int64(n.MaxCPU)),
			MemoryUsed:     types.Int64Value(int64(n.Mem)),
			MemoryTotal:    types.Int64Value(int64(n.MaxMem)),
			DiskUsed:       types.Int64Value(int64(n.Disk)),
			DiskTotal:      types.Int64Value(int64(n.MaxDisk)),
			Uptime:         types.Int64Value(int64(n.Uptime)),
			Level:          types.StringValue(n.Level),
			SSLFingerprint: types.StringValue(n.SSLFingerprint),
		})
	}
	return m
}
