package pool

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/hcilab/terraform-provider-pve/internal/framework"
	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

var _ resource.ResourceWithImportState = (*poolResource)(nil)

// NewPoolResource returns the pve_pool resource.
func NewPoolResource() resource.Resource {
	return &poolResource{}
}

type poolResource struct {
	data *framework.ProviderData
}

type poolModel struct {
	ID      types.String `tfsdk:"id"`
	PoolID  types.String `tfsdk:"pool_id"`
	Comment types.String `tfsdk:"comment"`
}

func (r *poolResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_pool"
}

func (r *poolResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "A resource pool: a named group of guests and storages to give permissions on. Guests join it " +
			"through their own `pool` attribute. PVE refuses to delete a pool that still has members. Import by pool ID.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Description:   "The pool ID.",
				Computed:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"pool_id": schema.StringAttribute{
				Description: "Pool name: letters, digits, `-`, `_` and `.`; nested pools as `parent/child` (three levels " +
					"at most, the parent created first). Changing it replaces the pool.",
				Required:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:    []validator.String{framework.StringCheck("must be a pool ID", pve.CheckPoolID)},
			},
			"comment": schema.StringAttribute{Description: "Comment.", Optional: true},
		},
	}
}

func (r *poolResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = framework.ConfigureData(req.ProviderData, &resp.Diagnostics)
	r.data.RequirePVE(&resp.Diagnostics)
}

func (r *poolResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan poolModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	c := r.data.PVEClient(ctx, "Unable to Create Pool", &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	if err := c.CreatePool(ctx, plan.PoolID.ValueString(), plan.Comment.ValueString()); err != nil {
		resp.Diagnostics.AddError("Unable to Create Pool", err.Error())
		return
	}
	// The pool exists from here on: if the read-back fails, it goes into
	// the state with its ID (tainted by the error), not with an unknown one.
	plan.ID = plan.PoolID
	r.readInto(ctx, c, &plan, "Create", &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

// readInto reads the pool m names into m, through Read's finder.
func (r *poolResource) readInto(ctx context.Context, c *pve.Client, m *poolModel, action string, diags *diag.Diagnostics) {
	p, err := c.GetPoolShared(ctx, m.PoolID.ValueString())
	if err != nil {
		diags.AddError("Unable to "+action+" Pool", err.Error())
		return
	}
	m.fromAPI(p)
}

func (m *poolModel) fromAPI(p *pve.Pool) {
	m.ID = types.StringValue(p.ID)
	m.PoolID = types.StringValue(p.ID)
	m.Comment = types.StringNull()
	if c := strings.TrimSpace(p.Comment); c != "" {
		m.Comment = types.StringValue(c)
	}
}

func (r *poolResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state poolModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	c := r.data.PVEClient(ctx, "Unable to Read Pool", &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	// the pool index shared by the reads of one run: a refresh of many
	// pools reads it once
	p, err := c.GetPoolShared(ctx, state.PoolID.ValueString())
	if errors.Is(err, pve.ErrNotFound) {
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Unable to Read Pool", err.Error())
		return
	}
	state.fromAPI(p)
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}

func (r *poolResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan poolModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	c := r.data.PVEClient(ctx, "Unable to Update Pool", &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	if err := c.SetPoolComment(ctx, plan.PoolID.ValueString(), plan.Comment.ValueString()); err != nil {
		resp.Diagnostics.AddError("Unable to Update Pool", err.Error())
		return
	}
	r.readInto(ctx, c, &plan, "Update", &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

func (r *poolResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state poolModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	c := r.data.PVEClient(ctx, "Unable to Delete Pool", &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	id := state.PoolID.ValueString()
	p, err := c.GetPool(ctx, id)
	if errors.Is(err, pve.ErrNotFound) {
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Unable to Delete Pool", err.Error())
		return
	}
	if len(p.Members) > 0 {
		var names []string
		for _, m := range p.Members {
			names = append(names, m.ID)
		}
		resp.Diagnostics.AddError("Unable to Delete Pool",
			fmt.Sprintf("pool %s still has members (%s): move or delete them first", id, strings.Join(names, ", ")))
		return
	}
	if err := c.DeletePool(ctx, id); err != nil && !errors.Is(err, pve.ErrNotFound) {
		resp.Diagnostics.AddError("Unable to Delete Pool", err.Error())
	}
}

func (r *poolResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if err := pve.CheckPoolID(req.ID); err != nil {
		resp.Diagnostics.AddError("Invalid Import ID", err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("pool_id"), req.ID)...)
}
