package guest

import (
	"context"
	"regexp"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/hcilab/terraform-provider-pve/internal/framework"
	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

var _ datasource.DataSourceWithConfigure = (*guestListDataSource)(nil)

// NewListDataSource returns the list data source of one kind of
// guest: pve_vms or pve_containers. Both read /cluster/resources and
// filter it the same way.
func NewListDataSource(kind pve.GuestKind) datasource.DataSource {
	return &guestListDataSource{kind: kind}
}

type guestListDataSource struct {
	kind pve.GuestKind
	data *framework.ProviderData
}

type guestFilterModel struct {
	Node      types.String `tfsdk:"node"`
	Tag       types.String `tfsdk:"tag"`
	NameRegex types.String `tfsdk:"name_regex"`
	Template  types.Bool   `tfsdk:"template"`
}

type guestEntryModel struct {
	VMID     types.Int64  `tfsdk:"vmid"`
	Node     types.String `tfsdk:"node"`
	Name     types.String `tfsdk:"name"`
	Status   types.String `tfsdk:"status"`
	Template types.Bool   `tfsdk:"template"`
	Pool     types.String `tfsdk:"pool"`
	Tags     []string     `tfsdk:"tags"`
}

// plural is the kind's plural, the type name's suffix and the list's
// attribute: "vms" or "containers".
func (d *guestListDataSource) plural() string { return strings.ToLower(d.kind.Noun()) + "s" }

func (d *guestListDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_" + d.plural()
}

func (d *guestListDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	noun := d.kind.Noun()
	nouns := noun + "s"
	computed := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Description: desc, Computed: true}
	}
	name := "name"
	what := "QEMU VMs"
	if d.kind == pve.LXC {
		name, what = "host name", "LXC containers"
	}
	resp.Schema = schema.Schema{
		Description: "The cluster's " + what + " (`GET /cluster/resources`, with each guest's status, name and template flag " +
			"as its node reports them now), filtered, sorted by VM ID.",
		Attributes: map[string]schema.Attribute{
			"node": schema.StringAttribute{
				Description: "Only " + nouns + " on this node.",
				Optional:    true,
				Validators:  []validator.String{framework.StringCheck("must be a node name", pve.CheckNodeName)},
			},
			"tag":        schema.StringAttribute{Description: "Only " + nouns + " with this tag.", Optional: true},
			"name_regex": schema.StringAttribute{Description: "Only " + nouns + " whose " + name + " matches this regular expression (Go syntax).", Optional: true},
			"template":   schema.BoolAttribute{Description: "Only templates (true) or only " + nouns + " that are not (false).", Optional: true},
			d.plural(): schema.ListNestedAttribute{
				Description: "The " + nouns + ".",
				Computed:    true,
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"vmid":     schema.Int64Attribute{Description: "VM ID.", Computed: true},
					"node":     computed("Node the " + noun + " is on."),
					"name":     computed(strings.ToUpper(name[:1]) + name[1:] + "."),
					"status":   computed("`running` or `stopped`."),
					"template": schema.BoolAttribute{Description: "Whether it is a template.", Computed: true},
					"pool":     computed("Resource pool it belongs to, empty when none."),
					"tags":     schema.ListAttribute{Description: "Tags, sorted.", ElementType: types.StringType, Computed: true},
				}},
			},
		},
	}
}

func (d *guestListDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = framework.ConfigureData(req.ProviderData, &resp.Diagnostics)
	d.data.RequirePVE(&resp.Diagnostics)
}

func (d *guestListDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	summary := "Unable to Read " + d.kind.Title() + "s"
	var m guestFilterModel
	for attr, dst := range map[string]any{"node": &m.Node, "tag": &m.Tag, "name_regex": &m.NameRegex, "template": &m.Template} {
		resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root(attr), dst)...)
	}
	if resp.Diagnostics.HasError() {
		return
	}
	filter := pve.GuestFilter{Kind: d.kind, Node: m.Node.ValueString(), Tag: m.Tag.ValueString()}
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
	c := d.data.PVEClient(ctx, summary, &resp.Diagnostics)
	if c == nil {
		return
	}
	rs, err := c.ClusterResources(ctx, "vm")
	if err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	liveGuestState(ctx, c, d.kind, rs)
	out := []guestEntryModel{}
	for _, r := range rs {
		if !filter.Match(r) {
			continue
		}
		out = append(out, guestEntryModel{
			VMID:     types.Int64Value(int64(r.VMID)),
			Node:     types.StringValue(r.Node),
			Name:     types.StringValue(r.Name),
			Status:   types.StringValue(r.Status),
			Template: types.BoolValue(r.Template == 1),
			Pool:     types.StringValue(r.Pool),
			Tags:     pve.SplitTags(r.Tags),
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].VMID.ValueInt64() < out[j].VMID.ValueInt64() })
	for attr, v := range map[string]any{"node": m.Node, "tag": m.Tag, "name_regex": m.NameRegex, "template": m.Template, d.plural(): out} {
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root(attr), v)...)
	}
}

// liveGuestState replaces the status, name and template flag of the guests
// of kind in rs with what their nodes report now (the nodes' guest lists,
// which PVE computes live): /cluster/resources has them from pvestatd's
// last broadcast, up to 10 s old ("unknown", without a name, for a guest
// made since). A node that does not answer (offline) keeps what
// /cluster/resources says, which is "unknown" for its guests.
func liveGuestState(ctx context.Context, c *pve.Client, kind pve.GuestKind, rs []pve.ClusterResource) {
	live := map[string]map[int]pve.GuestStatus{}
	for i := range rs {
		r := &rs[i]
		if r.Type != string(kind) {
			continue
		}
		guests, ok := live[r.Node]
		if !ok {
			list, err := c.NodeGuests(ctx, kind, r.Node)
			if err == nil {
				guests = map[int]pve.GuestStatus{}
				for _, g := range list {
					guests[int(g.VMID)] = g.GuestStatus
				}
			}
			live[r.Node] = guests
		}
		if st, ok := guests[r.VMID]; ok {
			r.Status, r.Name, r.Template = st.Status, st.Name, st.Template
		}
	}
}
