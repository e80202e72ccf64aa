package cluster

import (
	"context"
	"fmt"
	"sort"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/hcilab/terraform-provider-pve/internal/framework"
	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

var _ datasource.DataSourceWithConfigure = (*statusDataSource)(nil)

// NewStatusDataSource returns the pve_cluster_status data source.
func NewStatusDataSource() datasource.DataSource {
	return &statusDataSource{}
}

type statusDataSource struct {
	data *framework.ProviderData
}

type statusModel struct {
	Name          types.String      `tfsdk:"name"`
	Clustered     types.Bool        `tfsdk:"clustered"`
	Quorate       types.Bool        `tfsdk:"quorate"`
	ConfigVersion types.Int64       `tfsdk:"config_version"`
	ExpectedVotes types.Int64       `tfsdk:"expected_votes"`
	Quorum        types.Int64       `tfsdk:"quorum"`
	Nodes         []statusNodeModel `tfsdk:"nodes"`
	Warnings      []string          `tfsdk:"warnings"`
}

type statusNodeModel struct {
	Name   types.String `tfsdk:"name"`
	NodeID types.Int64  `tfsdk:"node_id"`
	IP     types.String `tfsdk:"ip"`
	Online types.Bool   `tfsdk:"online"`
	Local  types.Bool   `tfsdk:"local"`
	Votes  types.Int64  `tfsdk:"votes"`
}

func (d *statusDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_cluster_status"
}

func (d *statusDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	num := func(desc string) schema.Int64Attribute {
		return schema.Int64Attribute{Description: desc, Computed: true}
	}
	str := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Description: desc, Computed: true}
	}
	flag := func(desc string) schema.BoolAttribute { return schema.BoolAttribute{Description: desc, Computed: true} }
	resp.Schema = schema.Schema{
		Description: "The membership and quorum of the cluster the provider's endpoint belongs to (`/cluster/status`, " +
			"`/cluster/config/join`), with warnings about a fragile setup. A standalone node reports `clustered = false`.",
		Attributes: map[string]schema.Attribute{
			"name":           str("Cluster name; empty on a standalone node."),
			"clustered":      flag("Whether the node is in a cluster."),
			"quorate":        flag("Whether the cluster has quorum (a standalone node always has)."),
			"config_version": num("corosync's config_version."),
			"expected_votes": num("The votes of all nodes."),
			"quorum":         num("Votes needed for quorum: floor(expected_votes / 2) + 1."),
			"nodes": schema.ListNestedAttribute{
				Description: "The nodes, by name.",
				Computed:    true,
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"name":    str("Node name."),
					"node_id": num("corosync node ID (0 on a standalone node)."),
					"ip":      str("The node's address."),
					"online":  flag("Whether the node is in the membership."),
					"local":   flag("Whether this is the node the provider talks to."),
					"votes":   num("The node's quorum votes."),
				}},
			},
			"warnings": schema.ListAttribute{
				Description: "What makes the cluster fragile: fewer than 3 nodes, an even node count (no QDevice), " +
					"nodes offline, no quorum.",
				ElementType: types.StringType,
				Computed:    true,
			},
		},
	}
}

func (d *statusDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = framework.ConfigureData(req.ProviderData, &resp.Diagnostics)
	d.data.RequirePVE(&resp.Diagnostics)
}

func (d *statusDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	c := d.data.PVEClient(ctx, "Unable to Read Cluster Status", &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	st, err := c.ClusterStatus(ctx)
	if err != nil {
		resp.Diagnostics.AddError("Unable to Read Cluster Status", err.Error())
		return
	}
	votes := map[string]int{}
	if st.Name != "" {
		info, err := c.ClusterJoinInfo(ctx, "")
		if err != nil {
			resp.Diagnostics.AddError("Unable to Read Cluster Status", err.Error())
			return
		}
		for _, n := range info.Nodes {
			votes[n.Name] = int(n.Votes)
		}
	}
	m := statusModel{Name: types.StringValue(st.Name), Clustered: types.BoolValue(st.Name != ""),
		Quorate: types.BoolValue(st.Quorate), ConfigVersion: types.Int64Value(int64(st.Version)), Warnings: []string{}}
	expected, offline := 0, 0
	for _, n := range st.Nodes {
		v, ok := votes[n.Name]
		if !ok {
			v = 1 // a standalone node
		}
		expected += v
		if !n.Online {
			offline++
		}
		m.Nodes = append(m.Nodes, statusNodeModel{Name: types.StringValue(n.Name), NodeID: types.Int64Value(int64(n.NodeID)),
			IP: types.StringValue(n.IP), Online: types.BoolValue(bool(n.Online)), Local: types.BoolValue(bool(n.Local)),
			Votes: types.Int64Value(int64(v))})
	}
	sort.Slice(m.Nodes, func(i, j int) bool { return m.Nodes[i].Name.ValueString() < m.Nodes[j].Name.ValueString() })
	m.ExpectedVotes = types.Int64Value(int64(expected))
	m.Quorum = types.Int64Value(int64(expected/2 + 1))
	m.Warnings = warnings(st, len(st.Nodes), offline, hasQDevice(ctx, c))
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}

// hasQDevice reports whether the cluster has a corosync QDevice.
func hasQDevice(ctx context.Context, c *pve.Client) bool {
	var q map[string]any
	if err := c.Get(ctx, "/cluster/config/qdevice", nil, &q); err != nil {
		return false
	}
	return len(q) > 0
}

// warnings says what makes a cluster fragile.
func warnings(st *pve.ClusterStatus, nodes, offline int, qdevice bool) []string {
	out := []string{}
	if st.Name == "" {
		return out
	}
	if nodes < 3 {
		out = append(out, fmt.Sprintf("only %d nodes: losing one loses quorum (a cluster wants 3 or more, or a QDevice)", nodes))
	}
	if nodes%2 == 0 && !qdevice {
		out = append(out, fmt.Sprintf("an even number of nodes (%d) without a QDevice: half of them failing loses quorum", nodes))
	}
	if offline > 0 {
		out = append(out, fmt.Sprintf("%d of %d nodes are offline", offline, nodes))
	}
	if !st.Quorate {
		out = append(out, "the cluster has no quorum: its configuration cannot change until enough nodes are back")
	}
	return out
}
