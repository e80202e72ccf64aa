package ceph

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/hcilab/terraform-provider-pve/internal/ceph"
)

var (
	_ resource.ResourceWithImportState = (*ecProfileResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*ecProfileResource)(nil)
)

// NewErasureCodeProfileResource returns the pve_ceph_erasure_code_profile resource.
func NewErasureCodeProfileResource() resource.Resource {
	r := &ecProfileResource{}
	r.immutable = immutable[ecProfileModel]{typeName: "pve_ceph_erasure_code_profile", title: "Erasure-Code Profile",
		name:   func(m *ecProfileModel) string { return m.Name.ValueString() },
		read:   r.read,
		remove: func(ctx context.Context, c *ceph.Client, name string) error { return c.DeleteProfile(ctx, name) }}
	return r
}

type ecProfileResource struct {
	immutable[ecProfileModel]
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
