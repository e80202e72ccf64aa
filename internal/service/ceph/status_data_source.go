package ceph

import (
	"context"
	"encoding/json"
	"sort"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/hcilab/terraform-provider-pve/internal/ceph"
	"github.com/hcilab/terraform-provider-pve/internal/framework"
)

var _ datasource.DataSourceWithConfigure = (*statusDataSource)(nil)

// NewStatusDataSource returns the pve_ceph_status data source.
func NewStatusDataSource() datasource.DataSource { return &statusDataSource{} }

type statusDataSource struct {
	data *framework.ProviderData
}

type statusModel struct {
	FSID         types.String `tfsdk:"fsid"`
	Health       types.String `tfsdk:"health"`
	HealthChecks []string     `tfsdk:"health_checks"`
	Mons         types.Int64  `tfsdk:"mons"`
	QuorumNames  []string     `tfsdk:"quorum_names"`
	OSDs         types.Int64  `tfsdk:"osds"`
	OSDsUp       types.Int64  `tfsdk:"osds_up"`
	OSDsIn       types.Int64  `tfsdk:"osds_in"`
	Pools        types.Int64  `tfsdk:"pools"`
	PGs          types.Int64  `tfsdk:"pgs"`
	BytesUsed    types.Int64  `tfsdk:"bytes_used"`
	BytesAvail   types.Int64  `tfsdk:"bytes_available"`
	BytesTotal   types.Int64  `tfsdk:"bytes_total"`
}

func (d *statusDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_ceph_status"
}

func (d *statusDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	num := func(desc string) schema.Int64Attribute {
		return schema.Int64Attribute{Description: desc, Computed: true}
	}
	resp.Schema = schema.Schema{
		Description: "The Ceph cluster's health, monitors, OSDs and usage (`ceph status`): through librados with the " +
			"provider's ceph {} block (the ceph build), else through PVE's API (`/cluster/ceph/status`) of a PVE-managed Ceph cluster.",
		Attributes: map[string]schema.Attribute{
			"fsid":            schema.StringAttribute{Description: "The cluster's FSID.", Computed: true},
			"health":          schema.StringAttribute{Description: "`HEALTH_OK`, `HEALTH_WARN` or `HEALTH_ERR`.", Computed: true},
			"health_checks":   schema.ListAttribute{Description: "The failing health checks: `<CHECK>: <message>`, sorted.", ElementType: types.StringType, Computed: true},
			"mons":            num("Monitors in the monitor map."),
			"quorum_names":    schema.ListAttribute{Description: "Monitors in quorum.", ElementType: types.StringType, Computed: true},
			"osds":            num("OSDs."),
			"osds_up":         num("OSDs up."),
			"osds_in":         num("OSDs in."),
			"pools":           num("Pools."),
			"pgs":             num("Placement groups."),
			"bytes_used":      num("Raw bytes used."),
			"bytes_available": num("Raw bytes available."),
			"bytes_total":     num("Raw capacity in bytes."),
		},
	}
}

func (d *statusDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = framework.ConfigureData(req.ProviderData, &resp.Diagnostics)
}

func (d *statusDataSource) Read(ctx context.Context, _ datasource.ReadRequest, resp *datasource.ReadResponse) {
	const summary = "Unable to Read Ceph Status"
	st := d.status(ctx, summary, &resp.Diagnostics)
	if st == nil {
		return
	}
	m := statusModel{FSID: types.StringValue(st.FSID), Health: types.StringValue(st.Health.Status),
		Mons: types.Int64Value(int64(st.Monitors())), QuorumNames: st.QuorumNames,
		OSDs: types.Int64Value(int64(st.OSDMap.NumOSDs)), OSDsUp: types.Int64Value(int64(st.OSDMap.NumUpOSDs)),
		OSDsIn: types.Int64Value(int64(st.OSDMap.NumInOSDs)), Pools: types.Int64Value(int64(st.PGMap.NumPools)),
		PGs: types.Int64Value(int64(st.PGMap.NumPGs)), BytesUsed: types.Int64Value(st.PGMap.BytesUsed),
		BytesAvail: types.Int64Value(st.PGMap.BytesAvail), BytesTotal: types.Int64Value(st.PGMap.BytesTotal),
		HealthChecks: []string{}}
	if m.QuorumNames == nil {
		m.QuorumNames = []string{}
	}
	for name, check := range st.Health.Checks {
		m.HealthChecks = append(m.HealthChecks, name+": "+check.Summary.Message)
	}
	sort.Strings(m.HealthChecks)
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}

// status reads the status through librados or PVE's API.
func (d *statusDataSource) status(ctx context.Context, summary string, diags *diag.Diagnostics) *ceph.Status {
	if librados(d.data) {
		needsLibrados("pve_ceph_status with the provider's ceph {} block", diags)
		c := d.data.CephClient(ctx, summary, diags)
		if diags.HasError() {
			return nil
		}
		st, err := c.Status(ctx)
		if err != nil {
			diags.AddError(summary, err.Error())
			return nil
		}
		return st
	}
	c := d.data.PVEClient(ctx, summary, diags)
	if diags.HasError() {
		return nil
	}
	raw, err := c.CephStatus(ctx)
	if err != nil {
		diags.AddError(summary, err.Error())
		return nil
	}
	var st ceph.Status
	if err := json.Unmarshal(raw, &st); err != nil {
		diags.AddError(summary, "decoding PVE's Ceph status: "+err.Error())
		return nil
	}
	return &st
}
