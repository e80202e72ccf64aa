package storage

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/hcilab/terraform-provider-pve/internal/framework"
)

var _ datasource.DataSourceWithConfigure = (*contentDataSource)(nil)

// NewContentDataSource returns the pve_storage_content data source.
func NewContentDataSource() datasource.DataSource {
	return &contentDataSource{}
}

type contentDataSource struct {
	data *framework.ProviderData
}

type contentModel struct {
	Node    types.String  `tfsdk:"node"`
	Storage types.String  `tfsdk:"storage"`
	Content types.String  `tfsdk:"content"`
	VMID    types.Int64   `tfsdk:"vmid"`
	Volumes []volumeModel `tfsdk:"volumes"`
}

type volumeModel struct {
	VolID   types.String `tfsdk:"volid"`
	Content types.String `tfsdk:"content"`
	Format  types.String `tfsdk:"format"`
	Size    types.Int64  `tfsdk:"size"`
	VMID    types.Int64  `tfsdk:"vmid"`
}

// storageContents are PVE's content types (pve-storage-content).
var storageContents = []string{"images", "rootdir", "vztmpl", "iso", "backup", "snippets", "import"}

func (d *contentDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_storage_content"
}

func (d *contentDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "The volumes on a node's storage (`GET /nodes/{node}/storage/{storage}/content`), in PVE's order: " +
			"ISO images, container templates, guest disks, backups. A storage with nothing of the kind asked gives an empty list.",
		Attributes: map[string]schema.Attribute{
			"node":    schema.StringAttribute{Description: "Node whose view of the storage is listed (a local storage differs per node).", Required: true},
			"storage": schema.StringAttribute{Description: "Storage ID, e.g. `local`.", Required: true},
			"content": schema.StringAttribute{
				Description: "Only volumes of this content type: `images`, `rootdir`, `vztmpl`, `iso`, `backup`, `snippets` or `import`.",
				Optional:    true,
				Validators:  []validator.String{stringvalidator.OneOf(storageContents...)},
			},
			"vmid": schema.Int64Attribute{
				Description: "Only the volumes of this guest.",
				Optional:    true,
				Validators:  []validator.Int64{int64validator.AtLeast(1)},
			},
			"volumes": schema.ListNestedAttribute{
				Description: "The volumes.",
				Computed:    true,
				NestedObject: schema.NestedAttributeObject{
					Attributes: map[string]schema.Attribute{
						"volid":   schema.StringAttribute{Description: "Volume ID, e.g. `local:iso/debian-13.1.0-amd64-netinst.iso`.", Computed: true},
						"content": schema.StringAttribute{Description: "Content type of the volume.", Computed: true},
						"format":  schema.StringAttribute{Description: "Format: `iso`, `tzst` (a zstd template), `raw`, `qcow2`, ...", Computed: true},
						"size":    schema.Int64Attribute{Description: "Size in bytes.", Computed: true},
						"vmid":    schema.Int64Attribute{Description: "The guest owning the volume (null for files such as ISO images).", Computed: true},
					},
				},
			},
		},
	}
}

func (d *contentDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = framework.ConfigureData(req.ProviderData, &resp.Diagnostics)
	d.data.RequirePVE(&resp.Diagnostics)
}

func (d *contentDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	const summary = "Unable to Read Storage Content"
	var m contentModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	c := d.data.PVEClient(ctx, summary, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	vols, err := c.StorageContent(ctx, m.Node.ValueString(), m.Storage.ValueString(), m.Content.ValueString(), int(m.VMID.ValueInt64()))
	if err != nil {
		resp.Diagnostics.AddError(summary, fmt.Sprint(err))
		return
	}
	m.Volumes = make([]volumeModel, 0, len(vols))
	for _, v := range vols {
		vm := volumeModel{VolID: types.StringValue(v.VolID), Content: types.StringValue(v.Content), Format: types.StringValue(v.Format),
			Size: types.Int64Value(v.Size), VMID: types.Int64Null()}
		if v.VMID != 0 {
			vm.VMID = types.Int64Value(int64(v.VMID))
		}
		m.Volumes = append(m.Volumes, vm)
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}
