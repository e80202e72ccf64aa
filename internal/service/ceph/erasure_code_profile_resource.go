package ceph

import (
	"context"
	"errors"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/hcilab/terraform-provider-pve/internal/ceph"
	"github.com/hcilab/terraform-provider-pve/internal/framework"
)

var (
	_ resource.ResourceWithImportState = (*ecProfileResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*ecProfileResource)(nil)
)

// NewErasureCodeProfileResource returns the pve_ceph_erasure_code_profile resource.
func NewErasureCodeProfileResource() resource.Resource { return &ecProfileResource{} }

type ecProfileResource struct {
	data *framework.ProviderData
}

type ecProfileModel struct {
	ID            types.String `tfsdk:"id"`
	Name          types.String `tfsdk:"name"`
	K             types.Int64  `tfsdk:"k"`
	M             types.Int64  `tfsdk:"m"`
	FailureDomain types.String `tfsdk:"failure_domain"`
	DeviceClass   types.String `tfsdk:"device_class"`
	Plugin        types.String `tfsdk:"plugin"`
	Technique     types.String `tfsdk:"technique"`
}

func (r *ecProfileResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_ceph_erasure_code_profile"
}

func (r *ecProfileResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	replaceKeep := []planmodifier.String{stringplanmodifier.RequiresReplace(), stringplanmodifier.UseStateForUnknown()}
	replaceInt := []planmodifier.Int64{int64planmodifier.RequiresReplace()}
	resp.Schema = schema.Schema{
		Description: "An erasure-code profile: `k` data chunks and `m` coding chunks, spread over a failure domain. " +
			"Profiles in use cannot change, so any change replaces it; one a pool uses is not deleted. Needs the ceph " +
			"(librados) build and the provider's ceph {} block. Import by name.",
		Attributes: map[string]schema.Attribute{
			"id":   schema.StringAttribute{Description: "The profile name.", Computed: true, PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"name": schema.StringAttribute{Description: "Profile name.", Required: true, PlanModifiers: replace},
			"k": schema.Int64Attribute{Description: "Data chunks.", Required: true, PlanModifiers: replaceInt,
				Validators: []validator.Int64{int64validator.AtLeast(2)}},
			"m": schema.Int64Attribute{Description: "Coding chunks: how many may be lost.", Required: true, PlanModifiers: replaceInt,
				Validators: []validator.Int64{int64validator.AtLeast(1)}},
			"failure_domain": schema.StringAttribute{Description: "What chunks are spread over: `host` (Ceph's default), `osd`, `rack`, ...",
				Optional: true, Computed: true, PlanModifiers: replaceKeep},
			"device_class": schema.StringAttribute{Description: "Only devices of this class. Unset: any.", Optional: true, PlanModifiers: replace},
			"plugin": schema.StringAttribute{Description: "Erasure-code plugin: `jerasure` (Ceph's default), `isa`, `lrc`, `shec`, `clay`.",
				Optional: true, Computed: true, PlanModifiers: replaceKeep},
			"technique": schema.StringAttribute{Description: "The plugin's technique, e.g. `reed_sol_van` (jerasure's default).",
				Optional: true, Computed: true, PlanModifiers: replaceKeep},
		},
	}
}

func (r *ecProfileResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = framework.ConfigureData(req.ProviderData, &resp.Diagnostics)
}

func (r *ecProfileResource) ModifyPlan(_ context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if !req.Plan.Raw.IsNull() {
		needsLibrados("pve_ceph_erasure_code_profile", &resp.Diagnostics)
	}
}

func (r *ecProfileResource) read(ctx context.Context, c *ceph.Client, m *ecProfileModel) error {
	p, err := c.Profile(ctx, m.Name.ValueString())
	if err != nil {
		return err
	}
	opt := func(s string) types.String {
		if s == "" {
			return types.StringNull()
		}
		return types.StringValue(s)
	}
	m.ID = types.StringValue(p.Name)
	m.K, m.M = types.Int64Value(p.K), types.Int64Value(p.M)
	m.FailureDomain, m.DeviceClass, m.Plugin, m.Technique = opt(p.FailureDomain), opt(p.DeviceClass), opt(p.Plugin), opt(p.Technique)
	return nil
}

func (r *ecProfileResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan ecProfileModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	c := r.data.CephClient(ctx, "Unable to Create Erasure-Code Profile", &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	str := func(v types.String) string {
		if v.IsNull() || v.IsUnknown() {
			return ""
		}
		return v.ValueString()
	}
	err := c.SetProfile(ctx, ceph.ECProfile{Name: plan.Name.ValueString(), K: plan.K.ValueInt64(), M: plan.M.ValueInt64(),
		FailureDomain: str(plan.FailureDomain), DeviceClass: str(plan.DeviceClass), Plugin: str(plan.Plugin), Technique: str(plan.Technique)})
	if err != nil {
		resp.Diagnostics.AddError("Unable to Create Erasure-Code Profile", err.Error())
		return
	}
	if err := r.read(ctx, c, &plan); err != nil {
		resp.Diagnostics.AddError("Unable to Read Erasure-Code Profile", err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

func (r *ecProfileResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state ecProfileModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	c := r.data.CephClient(ctx, "Unable to Read Erasure-Code Profile", &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	if err := r.read(ctx, c, &state); err != nil {
		if errors.Is(err, ceph.ErrNotFound) {
			resp.State.RemoveResource(ctx)
			return
		}
		resp.Diagnostics.AddError("Unable to Read Erasure-Code Profile", err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}

// Update never runs: every setting replaces the profile.
func (r *ecProfileResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan ecProfileModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

func (r *ecProfileResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state ecProfileModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	c := r.data.CephClient(ctx, "Unable to Delete Erasure-Code Profile", &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	if err := c.DeleteProfile(ctx, state.Name.ValueString()); err != nil && !errors.Is(err, ceph.ErrNotFound) {
		resp.Diagnostics.AddError("Unable to Delete Erasure-Code Profile", err.Error())
	}
}

func (r *ecProfileResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resource.ImportStatePassthroughID(ctx, path.Root("name"), req, resp)
}
