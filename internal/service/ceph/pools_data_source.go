package ceph

import (
	"context"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/hcilab/terraform-provider-pve/internal/framework"
)

var _ datasource.DataSourceWithConfigure = (*poolsDataSource)(nil)

// NewPoolsDataSource returns the pve_ceph_pools data source.
func NewPoolsDataSource() datasource.DataSource { return &poolsDataSource{} }

type poolsDataSource struct {
	data *framework.ProviderData
}

type poolEntry struct {
	Name               types.String `tfsdk:"name"`
	ID                 types.Int64  `tfsdk:"id"`
	Type               types.String `tfsdk:"type"`
	Size               types.Int64  `tfsdk:"size"`
	MinSize            types.Int64  `tfsdk:"min_size"`
	PGNum              types.Int64  `tfsdk:"pg_num"`
	PGAutoscaleMode    types.String `tfsdk:"pg_autoscale_mode"`
	CrushRule          types.String `tfsdk:"crush_rule"`
	ErasureCodeProfile types.String `tfsdk:"erasure_code_profile"`
	Application        types.String `tfsdk:"application"`
}

type poolsModel struct {
	Pools []poolEntry `tfsdk:"pools"`
}

func (d *poolsDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_ceph_pools"
}

func (d *poolsDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	str := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Description: desc, Computed: true}
	}
	num := func(desc string) schema.Int64Attribute {
		return schema.Int64Attribute{Description: desc, Computed: true}
	}
	resp.Schema = schema.Schema{
		Description: "The Ceph cluster's pools, by name: through librados (`osd pool ls detail`) with the provider's " +
			"ceph {} block (the ceph build), else through PVE's API (`/nodes/{node}/ceph/pool`, on the first online node).",
		Attributes: map[string]schema.Attribute{
			"pools": schema.ListNestedAttribute{
				Description: "The pools.",
				Computed:    true,
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"name":                 str("Pool name."),
					"id":                   num("Pool ID."),
					"type":                 str("`replicated` or `erasure`."),
					"size":                 num("Replicas (k+m for an erasure pool)."),
					"min_size":             num("Replicas needed for I/O."),
					"pg_num":               num("Placement groups now."),
					"pg_autoscale_mode":    str("PG autoscaler mode."),
					"crush_rule":           str("CRUSH rule name."),
					"erasure_code_profile": str("Profile of an erasure pool (null through PVE's API, which does not report it)."),
					"application":          str("Applications, comma separated (rbd, cephfs, rgw)."),
				}},
			},
		},
	}
}

func (d *poolsDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = framework.ConfigureData(req.ProviderData, &resp.Diagnostics)
}

func (d *poolsDataSource) Read(ctx context.Context, _ datasource.ReadRequest, resp *datasource.ReadResponse) {
	const summary = "Unable to Read Ceph Pools"
	var pools []poolEntry
	if librados(d.data) {
		pools = d.libradosPools(ctx, summary, &resp.Diagnostics)
	} else {
		pools = d.pvePools(ctx, summary, &resp.Diagnostics)
	}
	if resp.Diagnostics.HasError() {
		return
	}
	sort.Slice(pools, func(i, j int) bool { return pools[i].Name.ValueString() < pools[j].Name.ValueString() })
	resp.Diagnostics.Append(resp.State.Set(ctx, poolsModel{Pools: pools})...)
}

func optString(s string) types.String {
	if s == "" {
		return types.StringNull()
	}
	return types.StringValue(s)
}

func (d *poolsDataSource) libradosPools(ctx context.Context, summary string, diags *diag.Diagnostics) []poolEntry {
	needsLibrados("pve_ceph_pools with the provider's ceph {} block", diags)
	c := d.data.CephClient(ctx, summary, diags)
	if diags.HasError() {
		return nil
	}
	pools, err := c.Pools(ctx)
	if err != nil {
		diags.AddError(summary, err.Error())
		return nil
	}
	rules, err := c.RuleNames(ctx)
	if err != nil {
		diags.AddError(summary, err.Error())
		return nil
	}
	out := []poolEntry{}
	for _, p := range pools {
		typ, profile := "replicated", ""
		if p.Erasure() {
			typ, profile = "erasure", p.ErasureCodeProfile
		}
		out = append(out, poolEntry{Name: types.StringValue(p.Name), ID: types.Int64Value(p.ID), Type: types.StringValue(typ),
			Size: types.Int64Value(p.Size), MinSize: types.Int64Value(p.MinSize), PGNum: types.Int64Value(p.PGNum),
			PGAutoscaleMode: optString(p.AutoscaleMode), CrushRule: optString(rules[p.CrushRule]),
			ErasureCodeProfile: optString(profile), Application: types.StringValue(strings.Join(slices.Sorted(maps.Keys(p.Applications)), ","))})
	}
	return out
}

func (d *poolsDataSource) pvePools(ctx context.Context, summary string, diags *diag.Diagnostics) []poolEntry {
	c := d.data.PVEClient(ctx, summary, diags)
	if diags.HasError() {
		return nil
	}
	node, err := onlineNode(ctx, c)
	if err != nil {
		diags.AddError(summary, err.Error())
		return nil
	}
	pools, err := c.CephPools(ctx, node)
	if err != nil {
		diags.AddError(summary, err.Error())
		return nil
	}
	out := []poolEntry{}
	for _, p := range pools {
		out = append(out, poolEntry{Name: types.StringValue(p.Name), ID: types.Int64Value(p.ID), Type: types.StringValue(p.Type),
			Size: types.Int64Value(p.Size), MinSize: types.Int64Value(p.MinSize), PGNum: types.Int64Value(p.PGNum),
			PGAutoscaleMode: optString(p.PGAutoscaleMode), CrushRule: optString(p.CrushRuleName), ErasureCodeProfile: types.StringNull(),
			Application: types.StringValue(strings.Join(slices.Sorted(maps.Keys(p.ApplicationMetadata)), ","))})
	}
	return out
}
