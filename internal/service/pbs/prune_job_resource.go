package pbs

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/hcilab/terraform-provider-pve/internal/framework"
	"github.com/hcilab/terraform-provider-pve/internal/pbs"
)

var (
	_ resource.ResourceWithImportState    = (*pruneJobResource)(nil)
	_ resource.ResourceWithValidateConfig = (*pruneJobResource)(nil)
)

// NewPruneJobResource returns the pve_pbs_prune_job resource.
func NewPruneJobResource() resource.Resource {
	return &pruneJobResource{}
}

type pruneJobResource struct {
	data *framework.ProviderData
}

type keepModel struct {
	Last    types.Int64 `tfsdk:"last"`
	Hourly  types.Int64 `tfsdk:"hourly"`
	Daily   types.Int64 `tfsdk:"daily"`
	Weekly  types.Int64 `tfsdk:"weekly"`
	Monthly types.Int64 `tfsdk:"monthly"`
	Yearly  types.Int64 `tfsdk:"yearly"`
}

type pruneJobModel struct {
	ID        types.String `tfsdk:"id"`
	Store     types.String `tfsdk:"store"`
	Schedule  types.String `tfsdk:"schedule"`
	Keep      *keepModel   `tfsdk:"keep"`
	Namespace types.String `tfsdk:"namespace"`
	MaxDepth  types.Int64  `tfsdk:"max_depth"`
	Comment   types.String `tfsdk:"comment"`
	Disable   types.Bool   `tfsdk:"disable"`
}

func (r *pruneJobResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_pbs_prune_job"
}

func (r *pruneJobResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	keep := func(what string) schema.Int64Attribute {
		return schema.Int64Attribute{Description: fmt.Sprintf("Backups to keep: the %s.", what), Optional: true,
			Validators: []validator.Int64{int64validator.AtLeast(1)}}
	}
	resp.Schema = schema.Schema{
		Description: "A prune job of the Proxmox Backup Server: the retention of a datastore (or of a namespace in it), " +
			"applied on a schedule. Import by job ID.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Description:   "Job ID (3 to 32 letters, digits, `.`, `-` and `_`). Changing it replaces the job.",
				Required:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators: []validator.String{stringvalidator.LengthBetween(3, 32),
					stringvalidator.RegexMatches(safeID, "must be letters, digits, '.', '-' and '_', not starting with '.' or '-'")},
			},
			"store": schema.StringAttribute{Description: "Datastore to prune.", Required: true},
			"schedule": schema.StringAttribute{
				Description: "When to prune, a PBS calendar event (`daily`, `hourly`, `mon..fri 02:30`), checked at plan " +
					"time as PBS checks it.",
				Required:   true,
				Validators: []validator.String{calendarEvent},
			},
			"namespace": schema.StringAttribute{
				Description: "Namespace to prune (`a/b`). Unset: the datastore's root namespace.",
				Optional:    true,
			},
			"max_depth": schema.Int64Attribute{
				Description: "Levels of namespaces below `namespace` to prune too (0 to 7). Unset: all.",
				Optional:    true,
				Validators:  []validator.Int64{int64validator.Between(0, 7)},
			},
			"comment": commentAttribute(),
			"disable": schema.BoolAttribute{Description: "Keep the job but do not run it.", Optional: true},
		},
		Blocks: map[string]schema.Block{
			"keep": schema.SingleNestedBlock{
				Description: "How many backups to keep of each kind; at least one is needed. A backup kept by one rule " +
					"counts for the next, as PBS's prune simulator shows.",
				Attributes: map[string]schema.Attribute{
					"last": keep("last N"), "hourly": keep("last of each of the last N hours"),
					"daily": keep("last of each of the last N days"), "weekly": keep("last of each of the last N weeks"),
					"monthly": keep("last of each of the last N months"), "yearly": keep("last of each of the last N years"),
				},
			},
		},
	}
}

func (r *pruneJobResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = framework.ConfigureData(req.ProviderData, &resp.Diagnostics)
}

// ValidateConfig wants at least one keep setting: a prune job without one
// would delete every backup.
func (r *pruneJobResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m pruneJobModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if k := m.Keep; k == nil || (k.Last.IsNull() && k.Hourly.IsNull() && k.Daily.IsNull() && k.Weekly.IsNull() &&
		k.Monthly.IsNull() && k.Yearly.IsNull()) {
		resp.Diagnostics.AddAttributeError(path.Root("keep"), "Missing Retention",
			"a prune job needs a keep block with at least one of last, hourly, daily, weekly, monthly, yearly")
	}
}

// keepFields pairs the keep settings of the model with PBS's names.
func (k *keepModel) fields() []struct {
	name string
	v    types.Int64
} {
	return []struct {
		name string
		v    types.Int64
	}{{"keep-last", k.Last}, {"keep-hourly", k.Hourly}, {"keep-daily", k.Daily}, {"keep-weekly", k.Weekly},
		{"keep-monthly", k.Monthly}, {"keep-yearly", k.Yearly}}
}

func (k *keepModel) toAPI() pbs.KeepOptions {
	if k == nil {
		return pbs.KeepOptions{}
	}
	return pbs.KeepOptions{KeepLast: k.Last.ValueInt64Pointer(), KeepHourly: k.Hourly.ValueInt64Pointer(),
		KeepDaily: k.Daily.ValueInt64Pointer(), KeepWeekly: k.Weekly.ValueInt64Pointer(),
		KeepMonthly: k.Monthly.ValueInt64Pointer(), KeepYearly: k.Yearly.ValueInt64Pointer()}
}

func (m *pruneJobModel) toAPI() pbs.PruneJob {
	return pbs.PruneJob{ID: m.ID.ValueString(), Store: m.Store.ValueString(), Schedule: m.Schedule.ValueString(),
		Comment: m.Comment.ValueString(), Disable: m.Disable.ValueBool(), NS: m.Namespace.ValueString(),
		MaxDepth: m.MaxDepth.ValueInt64Pointer(), KeepOptions: m.Keep.toAPI()}
}

func (m *pruneJobModel) fromAPI(j *pbs.PruneJob) {
	opt := func(s string) types.String {
		if s == "" {
			return types.StringNull()
		}
		return types.StringValue(s)
	}
	m.ID, m.Store, m.Schedule = types.StringValue(j.ID), types.StringValue(j.Store), types.StringValue(j.Schedule)
	m.Namespace, m.Comment = opt(j.NS), opt(j.Comment)
	m.MaxDepth = types.Int64PointerValue(j.MaxDepth)
	// disable = false and unset read the same from PBS: keep what the
	// configuration says.
	if j.Disable || !m.Disable.IsNull() {
		m.Disable = types.BoolValue(j.Disable)
	}
	k := j.KeepOptions
	m.Keep = &keepModel{Last: types.Int64PointerValue(k.KeepLast), Hourly: types.Int64PointerValue(k.KeepHourly),
		Daily: types.Int64PointerValue(k.KeepDaily), Weekly: types.Int64PointerValue(k.KeepWeekly),
		Monthly: types.Int64PointerValue(k.KeepMonthly), Yearly: types.Int64PointerValue(k.KeepYearly)}
}

// read reads the job m names into m, from the prune job list shared by the
// reads of one run (a refresh of many jobs reads it once), and returns the
// config digest.
func (m *pruneJobModel) read(ctx context.Context, c *pbs.Client) (string, error) {
	j, digest, err := c.PruneJobShared(ctx, m.ID.ValueString())
	if err != nil {
		return "", err
	}
	m.fromAPI(j)
	return digest, nil
}

func (r *pruneJobResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	const summary = "Unable to Create PBS Prune Job"
	var plan pruneJobModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	c := r.data.PBSClient(ctx, summary, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	if err := c.CreatePruneJob(ctx, plan.toAPI()); err != nil {
		if errors.Is(err, pbs.ErrConflict) {
			err = fmt.Errorf("%w (import it: terraform import pve_pbs_prune_job.<name> %s)", err, plan.ID.ValueString())
		}
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	if _, err := plan.read(ctx, c); err != nil {
		resp.Diagnostics.AddError("Unable to Read PBS Prune Job", err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

func (r *pruneJobResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	const summary = "Unable to Read PBS Prune Job"
	var state pruneJobModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	c := r.data.PBSClient(ctx, summary, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	if _, err := state.read(ctx, c); err != nil {
		if errors.Is(err, pbs.ErrNotFound) {
			resp.State.RemoveResource(ctx)
			return
		}
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}

func (r *pruneJobResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	const summary = "Unable to Update PBS Prune Job"
	var plan, state pruneJobModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	c := r.data.PBSClient(ctx, summary, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	// the digest the update is checked against, read afresh
	_, digest, err := c.PruneJob(ctx, state.ID.ValueString())
	if err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	store, schedule := plan.Store.ValueString(), plan.Schedule.ValueString()
	u := pbs.PruneJobUpdate{Store: &store, Schedule: &schedule, Digest: digest}
	optStr := func(name string, v types.String, dst **string) {
		if v.IsNull() {
			u.Delete = append(u.Delete, name)
			return
		}
		s := v.ValueString()
		*dst = &s
	}
	optStr("comment", plan.Comment, &u.Comment)
	optStr("ns", plan.Namespace, &u.NS)
	if plan.MaxDepth.IsNull() {
		u.Delete = append(u.Delete, "max-depth")
	} else {
		u.MaxDepth = plan.MaxDepth.ValueInt64Pointer()
	}
	if plan.Disable.ValueBool() {
		u.Disable = plan.Disable.ValueBoolPointer()
	} else {
		u.Delete = append(u.Delete, "disable")
	}
	u.KeepOptions = plan.Keep.toAPI()
	for _, f := range plan.Keep.fields() {
		if f.v.IsNull() {
			u.Delete = append(u.Delete, f.name)
		}
	}
	if err := c.UpdatePruneJob(ctx, plan.ID.ValueString(), u); err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	if _, err := plan.read(ctx, c); err != nil {
		resp.Diagnostics.AddError("Unable to Read PBS Prune Job", err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

func (r *pruneJobResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	const summary = "Unable to Delete PBS Prune Job"
	var state pruneJobModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	c := r.data.PBSClient(ctx, summary, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	if err := c.DeletePruneJob(ctx, state.ID.ValueString(), ""); err != nil && !errors.Is(err, pbs.ErrNotFound) {
		resp.Diagnostics.AddError(summary, err.Error())
	}
}

func (r *pruneJobResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resource.ImportStatePassthroughID(ctx, path.Root("id"), req, resp)
}
