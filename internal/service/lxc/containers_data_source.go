package lxc

import (
	"context"
	"regexp"
	"sort"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/hcilab/terraform-provider-pve/internal/framework"
	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

var _ datasource.DataSourceWithConfigure = (*containersDataSource)(nil)

// NewContainersDataSource returns the pve_containers data source.
func NewContainersDataSource() datasource.DataSource {
	return &containersDataSource{}
}

type containersDataSource struct {
	data *framework.ProviderData
}

type containersModel struct {
	Node       types.String          `tfsdk:"node"`
	Tag        types.String          `tfsdk:"tag"`
	NameRegex  types.String          `tfsdk:"name_regex"`
	Template   types.Bool            `tfsdk:"template"`
	Containers []containerEntryModel `tfsdk:"containers"`
}

type containerEntryModel struct {
	VMID     types.Int64  `tfsdk:"vmid"`
	Node     types.String `tfsdk:"node"`
	Name     types.String `tfsdk:"name"`
	Status   types.String `tfsdk:"status"`
	Template types.Bool   `tfsdk:"template"`
	Tags     []string     `tfsdk:"tags"`
}

func (d *containersDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_containers"
}

func (d *containersDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	computed := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Description: desc, Computed: true}
	}
	resp.Schema = schema.Schema{
		Description: "The cluster's LXC containers (`GET /cluster/resources`), filtered, sorted by VM ID.",
		Attributes: map[string]schema.Attribute{
			"node": schema.StringAttribute{
				Description: "Only containers on this node.",
				Optional:    true,
				Validators:  []validator.String{framework.StringCheck("must be a node name", pve.CheckNodeName)},
			},
			"tag":        schema.StringAttribute{Description: "Only containers with this tag.", Optional: true},
			"name_regex": schema.StringAttribute{Description: "Only containers whose host name matches this regular expression (Go syntax).", Optional: true},
			"template":   schema.BoolAttribute{Description: "Only templates (true) or only containers that are not (false).", Optional: true},
			"containers": schema.ListNestedAttribute{
				Description: "The containers.",
				Computed:    true,
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"vmid":     schema.Int64Attribute{Description: "VM ID.", Computed: true},
					"node":     computed("Node the container is on."),
					"name":     computed("Host name."),
					"status":   computed("`running` or `stopped`."),
					"template": schema.BoolAttribute{Description: "Whether it is a template.", Computed: true},
					"tags":     schema.ListAttribute{Description: "Tags, sorted.", ElementType: types.StringType, Computed: true},
				}},
			},
		},
	}
}

func (d *containersDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = framework.ConfigureData(req.ProviderData, &resp.Diagnostics)
	d.data.RequirePVE(&resp.Diagnostics)
}

func (d *containersDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m containersModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	filter := pve.GuestFilter{Kind: pve.LXC, Node: m.Node.ValueString(), Tag: m.Tag.ValueString()}
	if !m.NameRegex.IsNull() {
		re, err := regexp.Compile(m.NameRegex.ValueString())
		if err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("name_regex"), "Invalid Regular Expression", err.Error())
			return
		}
		filter.Name = re.MatchString
	}
	if !m.Template.IsNull() {
		t := m.Template.ValueBool()
		filter.Template = &t
	}
	c := d.data.PVEClient(ctx, "Unable to Read Containers", &resp.Diagnostics)
	if c == nil {
		return
	}
	rs, err := c.ClusterResources(ctx, "vm")
	if err != nil {
		resp.Diagnostics.AddError("Unable to Read Containers", err.Error())
		return
	}
	m.Containers = []containerEntryModel{}
	for _, r := range rs {
		if !filter.Match(r) {
			continue
		}
		m.Containers = append(m.Containers, containerEntryModel{
			VMID:     types.Int64Value(int64(r.VMID)),
			Node:     types.StringValue(r.Node),
			Name:     types.StringValue(r.Name),
			Status:   types.StringValue(r.Status),
			Template: types.BoolValue(r.Template == 1),
			Tags:     pve.SplitTags(r.Tags),
		})
	}
	sort.Slice(m.Containers, func(i, j int) bool { return m.Containers[i].VMID.ValueInt64() < m.Containers[j].VMID.ValueInt64() })
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}
