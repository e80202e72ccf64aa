package vm

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

var _ datasource.DataSourceWithConfigure = (*vmsDataSource)(nil)

// NewVMsDataSource returns the pve_vms data source.
func NewVMsDataSource() datasource.DataSource {
	return &vmsDataSource{}
}

type vmsDataSource struct {
	data *framework.ProviderData
}

type vmsModel struct {
	Node      types.String   `tfsdk:"node"`
	Tag       types.String   `tfsdk:"tag"`
	NameRegex types.String   `tfsdk:"name_regex"`
	Template  types.Bool     `tfsdk:"template"`
	VMs       []vmEntryModel `tfsdk:"vms"`
}

type vmEntryModel struct {
	VMID     types.Int64  `tfsdk:"vmid"`
	Node     types.String `tfsdk:"node"`
	Name     types.String `tfsdk:"name"`
	Status   types.String `tfsdk:"status"`
	Template types.Bool   `tfsdk:"template"`
	Tags     []string     `tfsdk:"tags"`
}

func (d *vmsDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_vms"
}

func (d *vmsDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	computed := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Description: desc, Computed: true}
	}
	resp.Schema = schema.Schema{
		Description: "The cluster's QEMU VMs (`GET /cluster/resources`), filtered, sorted by VMID.",
		Attributes: map[string]schema.Attribute{
			"node": schema.StringAttribute{
				Description: "Only VMs on this node.",
				Optional:    true,
				Validators:  []validator.String{framework.StringCheck("must be a node name", pve.CheckNodeName)},
			},
			"tag":        schema.StringAttribute{Description: "Only VMs with this tag.", Optional: true},
			"name_regex": schema.StringAttribute{Description: "Only VMs whose name matches this regular expression (Go syntax).", Optional: true},
			"template":   schema.BoolAttribute{Description: "Only templates (true) or only VMs that are not (false).", Optional: true},
			"vms": schema.ListNestedAttribute{
				Description: "The VMs.",
				Computed:    true,
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"vmid":     schema.Int64Attribute{Description: "VM ID.", Computed: true},
					"node":     computed("Node the VM is on."),
					"name":     computed("Name."),
					"status":   computed("`running` or `stopped`."),
					"template": schema.BoolAttribute{Description: "Whether it is a template.", Computed: true},
					"tags":     schema.ListAttribute{Description: "Tags, sorted.", ElementType: types.StringType, Computed: true},
				}},
			},
		},
	}
}

func (d *vmsDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = framework.ConfigureData(req.ProviderData, &resp.Diagnostics)
	d.data.RequirePVE(&resp.Diagnostics)
}

func (d *vmsDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m vmsModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var nameRE *regexp.Regexp
	if !m.NameRegex.IsNull() {
		var err error
		if nameRE, err = regexp.Compile(m.NameRegex.ValueString()); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("name_regex"), "Invalid Regular Expression", err.Error())
			return
		}
	}
	c := d.data.PVEClient(ctx, "Unable to Read VMs", &resp.Diagnostics)
	if c == nil {
		return
	}
	rs, err := c.ClusterResources(ctx, "vm")
	if err != nil {
		resp.Diagnostics.AddError("Unable to Read VMs", err.Error())
		return
	}
	filter := pve.GuestFilter{Kind: pve.QEMU, Node: m.Node.ValueString(), Tag: m.Tag.ValueString()}
	if nameRE != nil {
		filter.Name = nameRE.MatchString
	}
	if !m.Template.IsNull() {
		t := m.Template.ValueBool()
		filter.Template = &t
	}
	m.VMs = []vmEntryModel{}
	for _, r := range rs {
		if !filter.Match(r) {
			continue
		}
		tags := pve.SplitTags(r.Tags)
		m.VMs = append(m.VMs, vmEntryModel{
			VMID:     types.Int64Value(int64(r.VMID)),
			Node:     types.StringValue(r.Node),
			Name:     types.StringValue(r.Name),
			Status:   types.StringValue(r.Status),
			Template: types.BoolValue(r.Template == 1),
			Tags:     tags,
		})
	}
	sort.Slice(m.VMs, func(i, j int) bool { return m.VMs[i].VMID.ValueInt64() < m.VMs[j].VMID.ValueInt64() })
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}
