package ceph

import (
	"context"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
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
		Description: "The Ceph cluster's pools (`osd pool ls detail`), by name. Needs the ceph (librados) build and the " +
			"provider's ceph {} block.",
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
					"erasure_code_profile": str("Profile of an erasure pool."),
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
	needsLibrados("pve_ceph_pools", &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	c := d.data.CephClient(ctx, "Unable to Read Ceph Pools", &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	pools, err := c.Pools(ctx)
	if err != nil {
		resp.Diagnostics.AddError("Unable to Read Ceph Pools", err.Error())
		return
	}
	m := poolsModel{Pools: []poolEntry{}}
	for _, p := range pools {
		typ := "replicated"
		if p.Erasure() {
			typ = "erasure"
		}
		var apps []string
		for a := range p.Applications {
			apps = append(apps, a)
		}
		sort.Strings(apps)
		m.Pools = append(m.Pools, poolEntry{Name: types.StringValue(p.Name), ID: types.Int64Value(p.ID), Type: types.StringValue(typ),
			Size: types.Int64Value(p.Size), MinSize: types.Int64Value(p.MinSize), PGNum: types.Int64Value(p.PGNum),
			PGAutoscaleMode: types.StringValue(p.AutoscaleMode), ErasureCodeProfile: types.StringValue(p.ErasureCodeProfile),
			Application: types.StringValue(strings.Join(apps, ","))})
	}
	sort.Slice(m.Pools, func(i, j int) bool { return m.Pools[i].Name.ValueString() < m.Pools[j].Name.ValueString() })
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}
