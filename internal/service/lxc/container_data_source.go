package lxc

import (
	"context"
	"strconv"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/hcilab/terraform-provider-pve/internal/framework"
	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

var _ datasource.DataSourceWithConfigure = (*containerDataSource)(nil)

// NewContainerDataSource returns the pve_container data source.
func NewContainerDataSource() datasource.DataSource {
	return &containerDataSource{}
}

type containerDataSource struct {
	data *framework.ProviderData
}

type containerDataModel struct {
	VMID         types.Int64  `tfsdk:"vmid"`
	Node         types.String `tfsdk:"node"`
	Hostname     types.String `tfsdk:"hostname"`
	Status       types.String `tfsdk:"status"`
	Template     types.Bool   `tfsdk:"template"`
	Unprivileged types.Bool   `tfsdk:"unprivileged"`
	OSType       types.String `tfsdk:"os_type"`
	Tags         []string     `tfsdk:"tags"`
	Cores        types.Int64  `tfsdk:"cores"`
	Memory       types.Int64  `tfsdk:"memory"`
}

func (d *containerDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_container"
}

func (d *containerDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	str := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Description: desc, Computed: true}
	}
	resp.Schema = schema.Schema{
		Description: "One LXC container, found by VM ID on whichever node it runs. A container that does not exist is an error.",
		Attributes: map[string]schema.Attribute{
			"vmid": schema.Int64Attribute{
				Description: "VM ID.",
				Required:    true,
				Validators:  []validator.Int64{int64validator.Between(100, 999999999)},
			},
			"node":         str("Node the container is on."),
			"hostname":     str("Host name."),
			"status":       str("`running` or `stopped`."),
			"template":     schema.BoolAttribute{Description: "Whether it is a template.", Computed: true},
			"unprivileged": schema.BoolAttribute{Description: "Whether it runs unprivileged.", Computed: true},
			"os_type":      str("Distribution PVE detected in the template, e.g. `debian`."),
			"tags":         schema.ListAttribute{Description: "Tags, sorted.", ElementType: types.StringType, Computed: true},
			"cores":        schema.Int64Attribute{Description: "CPU cores; null when unlimited (all of the node's).", Computed: true},
			"memory":       schema.Int64Attribute{Description: "Memory in MiB (PVE's default 512 when unset).", Computed: true},
		},
	}
}

func (d *containerDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = framework.ConfigureData(req.ProviderData, &resp.Diagnostics)
	d.data.RequirePVE(&resp.Diagnostics)
}

func (d *containerDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m containerDataModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	c := d.data.PVEClient(ctx, "Unable to Read Container", &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	vmid := int(m.VMID.ValueInt64())
	guest, cfg, err := c.FindGuestConfig(ctx, pve.LXC, vmid)
	if isNotFound(err) {
		resp.Diagnostics.AddAttributeError(path.Root("vmid"), "Container Not Found", err.Error())
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Unable to Read Container", err.Error())
		return
	}
	m.Node = types.StringValue(guest.Node)
	m.Hostname = types.StringValue(cfg.Values["hostname"])
	m.Status = types.StringValue(guest.Status)
	m.Template = types.BoolValue(cfg.Values["template"] == "1")
	m.Unprivileged = types.BoolValue(cfg.Values["unprivileged"] == "1")
	m.OSType = types.StringValue(cfg.Values["ostype"])
	m.Tags = pve.SplitTags(cfg.Values["tags"])
	m.Cores = types.Int64Null()
	if n, err := strconv.ParseInt(cfg.Values["cores"], 10, 64); err == nil {
		m.Cores = types.Int64Value(n)
	}
	m.Memory = types.Int64Value(512)
	if n, err := strconv.ParseInt(cfg.Values["memory"], 10, 64); err == nil {
		m.Memory = types.Int64Value(n)
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}
