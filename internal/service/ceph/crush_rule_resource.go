package ceph

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/hcilab/terraform-provider-pve/internal/ceph"
)

var (
	_ resource.ResourceWithImportState = (*crushRuleResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*crushRuleResource)(nil)
)

// NewCrushRuleResource returns the pve_ceph_crush_rule resource.
func NewCrushRuleResource() resource.Resource {
	r := &crushRuleResource{}
	r.immutable = immutable[crushRuleModel]{typeName: "pve_ceph_crush_rule", title: "CRUSH Rule",
		name:   func(m *crushRuleModel) string { return m.Name.ValueString() },
		read:   r.read,
		remove: func(ctx context.Context, c *ceph.Client, name string) error { return c.DeleteRule(ctx, name) }}
	return r
}

type crushRuleResource struct {
	immutable[crushRuleModel]
}

type crushRuleModel struct {
	ID                 types.String `tfsdk:"id"`
	Name               types.String `tfsdk:"name"`
	Type               types.String `tfsdk:"type"`
	Root               types.String `tfsdk:"root"`
	FailureDomain      types.String `tfsdk:"failure_domain"`
	DeviceClass        types.String `tfsdk:"device_class"`
	ErasureCodeProfile types.String `tfsdk:"erasure_code_profile"`
	RuleID             types.Int64  `tfsdk:"rule_id"`
}

// needsLibrados refuses, at plan time, a type only the ceph build manages.
func needsLibrados(typeName string, diags *diag.Diagnostics) {
	if !ceph.Built {
		diags.AddError("Needs the Ceph Build", fmt.Sprintf("%s talks to Ceph through librados, which this build of the "+
			"provider does not have: use the ceph build (make build-ceph, or the release's linux_amd64 _ceph archive) "+
			"with the provider's ceph {} block", typeName))
	}
}

func (r *crushRuleResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_ceph_crush_rule"
}

func (r *crushRuleResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	replaceKeep := []planmodifier.String{stringplanmodifier.RequiresReplace(), stringplanmodifier.UseStateForUnknown()}
	resp.Schema = schema.Schema{
		Description: "A CRUSH rule: which devices a pool's data lives on (root, device class) and what its copies are " +
			"spread over (failure domain). Ceph cannot change a rule, so any change replaces it; it is read back from " +
			"its steps. A rule a pool uses is not deleted. Needs the ceph (librados) build and the provider's ceph {} " +
			"block. Import by name.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Description: "The rule name.", Computed: true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"name": schema.StringAttribute{Description: "Rule name.", Required: true, PlanModifiers: replace},
			"type": schema.StringAttribute{
				Description: "`replicated` (default) or `erasure` (with `erasure_code_profile`).", Optional: true, Computed: true,
				Default: stringdefault.StaticString("replicated"), PlanModifiers: replace,
				Validators: []validator.String{stringvalidator.OneOf("replicated", "erasure")},
			},
			"root": schema.StringAttribute{Description: "CRUSH root to take devices from (default `default`).", Optional: true,
				Computed: true, PlanModifiers: replaceKeep},
			"failure_domain": schema.StringAttribute{Description: "What copies are spread over: `host` (default), `osd`, `rack`, ...",
				Optional: true, Computed: true, PlanModifiers: replaceKeep},
			"device_class": schema.StringAttribute{Description: "Only devices of this class: `hdd`, `ssd`, `nvme`. Unset: any.",
				Optional: true, PlanModifiers: replace},
			"erasure_code_profile": schema.StringAttribute{Description: "Profile of an erasure rule (its failure domain and class come from it).",
				Optional: true, PlanModifiers: replace},
			"rule_id": schema.Int64Attribute{Description: "The rule's ID.", Computed: true,
				PlanModifiers: []planmodifier.Int64{int64planmodifier.UseStateForUnknown()}},
		},
	}
}

func (r *crushRuleResource) read(ctx context.Context, c *ceph.Client, m *crushRuleModel) error {
	rule, err := c.Rule(ctx, m.Name.ValueString())
	if err != nil {
		return err
	}
	m.ID, m.Name, m.Type = types.StringValue(rule.Name), types.StringValue(rule.Name), types.StringValue(rule.Type)
	m.RuleID = types.Int64Value(rule.ID)
	m.Root = types.StringValue(rule.Root)
	if rule.Type == "replicated" {
		m.FailureDomain = types.StringValue(rule.FailureDomain)
		m.DeviceClass = types.StringNull()
		if rule.DeviceClass != "" {
			m.DeviceClass = types.StringValue(rule.DeviceClass)
		}
	} else {
		if m.FailureDomain.IsNull() || m.FailureDomain.IsUnknown() {
			m.FailureDomain = types.StringValue(rule.FailureDomain)
		}
	}
	return nil
}

func (r *crushRuleResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan crushRuleModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	c := r.data.CephClient(ctx, "Unable to Create CRUSH Rule", &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	var err error
	if plan.Type.ValueString() == "erasure" {
		if plan.ErasureCodeProfile.IsNull() {
			resp.Diagnostics.AddAttributeError(path.Root("erasure_code_profile"), "Profile Needed", "an erasure rule is made from an erasure-code profile")
			return
		}
		err = c.CreateErasureRule(ctx, plan.Name.ValueString(), plan.ErasureCodeProfile.ValueString())
	} else {
		root, fd := "default", "host"
		if !plan.Root.IsUnknown() && !plan.Root.IsNull() {
			root = plan.Root.ValueString()
		}
		if !plan.FailureDomain.IsUnknown() && !plan.FailureDomain.IsNull() {
			fd = plan.FailureDomain.ValueString()
		}
		err = c.CreateReplicatedRule(ctx, plan.Name.ValueString(), root, fd, plan.DeviceClass.ValueString())
	}
	if err != nil {
		resp.Diagnostics.AddError("Unable to Create CRUSH Rule", err.Error())
		return
	}
	if err := r.read(ctx, c, &plan); err != nil {
		resp.Diagnostics.AddError("Unable to Read CRUSH Rule", err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}
