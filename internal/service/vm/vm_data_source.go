package vm

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

var _ datasource.DataSourceWithConfigure = (*vmDataSource)(nil)

// NewVMDataSource returns the pve_vm data source.
func NewVMDataSource() datasource.DataSource {
	return &vmDataSource{}
}

type vmDataSource struct {
	data *framework.ProviderData
}

type vmDataModel struct {
	VMID        types.Int64  `tfsdk:"vmid"`
	Node        types.String `tfsdk:"node"`
	Name        types.String `tfsdk:"name"`
	Description types.String `tfsdk:"description"`
	Status      types.String `tfsdk:"status"`
	Template    types.Bool   `tfsdk:"template"`
	Tags        []string     `tfsdk:"tags"`
	Cores       types.Int64  `tfsdk:"cores"`
	Sockets     types.Int64  `tfsdk:"sockets"`
	Memory      types.Int64  `tfsdk:"memory"`
}

func (d *vmDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_vm"
}

func (d *vmDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	str := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Description: desc, Computed: true}
	}
	num := func(desc string) schema.Int64Attribute {
		return schema.Int64Attribute{Description: desc, Computed: true}
	}
	resp.Schema = schema.Schema{
		Description: "One QEMU VM, found by VM ID on whichever node it runs. A VM that does not exist is an error.",
		Attributes: map[string]schema.Attribute{
			"vmid": schema.Int64Attribute{
				Description: "VM ID.",
				Required:    true,
				Validators:  []validator.Int64{int64validator.Between(100, 999999999)},
			},
			"node":        str("Node the VM is on."),
			"name":        str("Name."),
			"description": str("Description."),
			"status":      str("`running` or `stopped`."),
			"template":    schema.BoolAttribute{Description: "Whether it is a template (a clone source).", Computed: true},
			"tags":        schema.ListAttribute{Description: "Tags, sorted.", ElementType: types.StringType, Computed: true},
			"cores":       num("CPU cores per socket (PVE's default 1 when unset)."),
			"sockets":     num("CPU sockets (PVE's default 1 when unset)."),
			"memory":      num("Memory in MiB (PVE's default 512 when unset)."),
		},
	}
}

func (d *vmDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = framework.ConfigureData(req.ProviderData, &resp.Diagnostics)
	d.data.RequirePVE(&resp.Diagnostics)
}

func (d *vmDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m vmDataModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	c := d.data.PVEClient(ctx, "Unable to Read VM", &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	vmid := int(m.VMID.ValueInt64())
	guest, cfg, err := c.FindGuestConfig(ctx, pve.QEMU, vmid)
	if isNotFound(err) {
		resp.Diagnostics.AddAttributeError(path.Root("vmid"), "VM Not Found", err.Error())
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Unable to Read VM", err.Error())
		return
	}
	withDefault := func(key string, def int64) types.Int64 {
		if n, err := strconv.ParseInt(cfg.Values[key], 10, 64); err == nil {
			return types.Int64Value(n)
		}
		return types.Int64Value(def)
	}
	m.Node = types.StringValue(guest.Node)
	m.Name = types.StringValue(cfg.Values["name"])
	m.Description = types.StringValue(cfg.Values["description"])
	m.Status = types.StringValue(guest.Status)
	m.Template = types.BoolValue(cfg.Values["template"] == "1")
	m.Tags = pve.SplitTags(cfg.Values["tags"])
	m.Cores, m.Sockets, m.Memory = withDefault("cores", 1), withDefault("sockets", 1), withDefault("memory", 512)
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}
