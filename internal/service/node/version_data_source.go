package node

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/hcilab/terraform-provider-pve/internal/framework"
	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

var _ datasource.DataSourceWithConfigure = (*versionDataSource)(nil)

// NewVersionDataSource returns the pve_version data source.
func NewVersionDataSource() datasource.DataSource {
	return &versionDataSource{}
}

type versionDataSource struct {
	data *framework.ProviderData
}

type versionModel struct {
	Version types.String `tfsdk:"version"`
	Release types.String `tfsdk:"release"`
	RepoID  types.String `tfsdk:"repo_id"`
}

func (d *versionDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_version"
}

func (d *versionDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "The version of the PVE API the provider talks to (`GET /version`).",
		Attributes: map[string]schema.Attribute{
			"version": schema.StringAttribute{
				Description: "Full version of pve-manager, e.g. `9.1.3`.",
				Computed:    true,
			},
			"release": schema.StringAttribute{
				Description: "Release, e.g. `9.1`.",
				Computed:    true,
			},
			"repo_id": schema.StringAttribute{
				Description: "Short commit id of the pve-manager build.",
				Computed:    true,
			},
		},
	}
}

func (d *versionDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = framework.ConfigureData(req.ProviderData, &resp.Diagnostics)
	d.data.RequirePVE(&resp.Diagnostics)
}

func (d *versionDataSource) Read(ctx context.Context, _ datasource.ReadRequest, resp *datasource.ReadResponse) {
	client := d.data.PVEClient(ctx, "Unable to Read PVE Version", &resp.Diagnostics)
	if client == nil {
		return
	}
	v, err := client.Version(ctx)
	if err != nil {
		resp.Diagnostics.AddError("Unable to Read PVE Version", err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, versionFromAPI(v))...)
}

func versionFromAPI(v *pve.Version) versionModel {
	return versionModel{
		Version: types.StringValue(v.Version),
		Release: types.StringValue(v.Release),
		RepoID:  types.StringValue(v.RepoID),
	}
}
