package ceph

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/float64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/boolplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/hcilab/terraform-provider-pve/internal/framework"
	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

var (
	_ resource.ResourceWithImportState    = (*poolResource)(nil)
	_ resource.ResourceWithValidateConfig = (*poolResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*poolResource)(nil)
)

// NewPoolResource returns the pve_ceph_pool resource.
func NewPoolResource() resource.Resource {
	return &poolResource{}
}

type poolResource struct {
	data *framework.ProviderData
}

type poolModel struct {
	ID              types.String  `tfsdk:"id"`
	Node            types.String  `tfsdk:"node"`
	Name            types.String  `tfsdk:"name"`
	Size            types.Int64   `tfsdk:"size"`
	MinSize         types.Int64   `tfsdk:"min_size"`
	PGNum           types.Int64   `tfsdk:"pg_num"`
	PGAutoscaleMode types.String  `tfsdk:"pg_autoscale_mode"`
	TargetSizeRatio types.Float64 `tfsdk:"target_size_ratio"`
	TargetSizeBytes types.Int64   `tfsdk:"target_size_bytes"`
	CrushRule       types.String  `tfsdk:"crush_rule"`
	Application     types.String  `tfsdk:"application"`
	// librados only
	ErasureCodeProfile types.String `tfsdk:"erasure_code_profile"`
	AllowECOverwrites  types.Bool   `tfsdk:"allow_ec_overwrites"`
	QuotaMaxBytes      types.Int64  `tfsdk:"quota_max_bytes"`
	QuotaMaxObjects    types.Int64  `tfsdk:"quota_max_objects"`

	ForceDestroy types.Bool  `tfsdk:"force_destroy"`
	AllowSingle  types.Bool  `tfsdk:"allow_single_replica"`
	PGNumActual  types.Int64 `tfsdk:"pg_num_actual"`
	Objects      types.Int64 `tfsdk:"objects"`
	BytesUsed    types.Int64 `tfsdk:"bytes_used"`
}

func (r *poolResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_ceph_pool"
}

func (r *poolResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	keepInt := []planmodifier.Int64{int64planmodifier.UseStateForUnknown()}
	keepStr := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	optInt := func(desc string, v ...validator.Int64) schema.Int64Attribute {
		return schema.Int64Attribute{Description: desc, Optional: true, Computed: true, PlanModifiers: keepInt, Validators: v}
	}
	resp.Schema = schema.Schema{
		Description: "A Ceph pool. With the provider's `ceph {}` block (the ceph build) it is managed through " +
			"librados; without it, through PVE's API (`/nodes/{node}/ceph/pool`) of a PVE-managed Ceph cluster, which " +
			"offers no quotas and no erasure-coded pools of their own (PVE makes those as a pair of pools). " +
			"`size` is set before `min_size`; with the autoscaler on, `pg_num` is the target and the PG count Ceph " +
			"reaches is `pg_num_actual` (no diff while Ceph converges). A pool that holds objects is not deleted " +
			"unless `force_destroy = true`. Import by pool name.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Description:   "Ceph's pool ID (a number).",
				Computed:      true,
				PlanModifiers: keepStr,
			},
			"node": schema.StringAttribute{
				Description: "Node whose API manages the pool (any node of the Ceph cluster), when the pool is managed " +
					"through PVE's API. Unset: the first online node (null with librados, which does not use it).",
				Optional:      true,
				Computed:      true,
				PlanModifiers: keepStr,
				Validators:    []validator.String{framework.StringCheck("must be a node name", pve.CheckNodeName)},
			},
			"name": schema.StringAttribute{
				Description:   "Pool name. Changing it replaces the pool.",
				Required:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:    []validator.String{stringvalidator.RegexMatches(poolNameRE, "must be letters, digits, '.', '-' and '_'")},
			},
			"size": optInt("Replicas (PVE's default 3; Ceph's osd_pool_default_size with librados). Set before min_size, "+
				"which Ceph then resets. An erasure-coded pool's size is its profile's k+m.", int64validator.Between(1, 7)),
			"min_size": optInt("Replicas needed for I/O (PVE's default 2); at most size.", int64validator.Between(1, 7)),
			"pg_num": optInt("Placement groups (PVE's default 128; see the pg_num function): the target, which Ceph reaches step by "+
				"step (pg_num_actual), or which the autoscaler replaces when it is on.",
				int64validator.Between(1, 32768)),
			"pg_autoscale_mode": schema.StringAttribute{
				Description:   "PG autoscaler: `on`, `off` or `warn` (PVE's default).",
				Optional:      true,
				Computed:      true,
				PlanModifiers: keepStr,
				Validators:    []validator.String{stringvalidator.OneOf("on", "off", "warn")},
			},
			"target_size_ratio": schema.Float64Attribute{
				Description: "Share of the cluster's capacity the pool is expected to use, for the autoscaler. Removing it clears it.",
				Optional:    true,
				Validators:  []validator.Float64{float64validator.AtLeast(0)},
			},
			"target_size_bytes": schema.Int64Attribute{
				Description: "Bytes the pool is expected to hold, for the autoscaler. Removing it clears it.",
				Optional:    true,
				Validators:  []validator.Int64{int64validator.AtLeast(0)},
			},
			"erasure_code_profile": schema.StringAttribute{
				Description: "Makes an erasure-coded pool with this profile (see pve_ceph_erasure_code_profile). Unset: a " +
					"replicated pool. Changing it replaces the pool. Needs librados (the provider's ceph {} block).",
				Optional:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"allow_ec_overwrites": schema.BoolAttribute{
				Description: "Let an erasure-coded pool take partial writes (RBD and CephFS data need it). Ceph cannot turn it " +
					"off again. Needs librados.",
				Optional:      true,
				Computed:      true,
				PlanModifiers: []planmodifier.Bool{boolplanmodifier.UseStateForUnknown()},
			},
			"quota_max_bytes":   optInt("Quota in bytes; 0 means none. Needs librados.", int64validator.AtLeast(0)),
			"quota_max_objects": optInt("Quota in objects; 0 means none. Needs librados.", int64validator.AtLeast(0)),
			"crush_rule": schema.StringAttribute{
				Description:   "CRUSH rule (by name). Unset: the cluster's default rule.",
				Optional:      true,
				Computed:      true,
				PlanModifiers: keepStr,
			},
			"application": schema.StringAttribute{
				Description: "What the pool is for: `rbd` (PVE's default), `cephfs` or `rgw`. With librados a change disables " +
					"the old application; PVE's API cannot, and Ceph refuses a second one.",
				Optional:      true,
				Computed:      true,
				PlanModifiers: keepStr,
				Validators:    []validator.String{stringvalidator.OneOf("rbd", "cephfs", "rgw")},
			},
			"force_destroy": schema.BoolAttribute{
				Description: "Delete the pool even when it holds objects (its data is lost). Default false.",
				Optional:    true,
			},
			"allow_single_replica": schema.BoolAttribute{
				Description: "Allow `size = 1`: one copy of every object, so losing one disk loses data. Without it `size = 1` " +
					"is refused at plan time (Ceph itself also wants `mon_allow_pool_size_one`).",
				Optional: true,
			},
			"pg_num_actual": schema.Int64Attribute{Description: "The PG count the pool has now.", Computed: true},
			"objects": schema.Int64Attribute{Description: "Objects in the pool when last read, as Ceph last reported " +
				"(it reports pool usage every few seconds; null until it has). Through PVE's API null on PVE 8.4 and on " +
				"9.x before 9.1.12, whose pool status reports the statistics of another pool.", Computed: true},
			"bytes_used": schema.Int64Attribute{Description: "Raw bytes the pool uses (replicas included) when last read, " +
				"as Ceph last reported (null until it has). A pool that holds objects or bytes is not deleted without " +
				"`force_destroy`.", Computed: true},
		},
	}
}

var poolNameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]*$`)

func (r *poolResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = framework.ConfigureData(req.ProviderData, &resp.Diagnostics)
}

func (r *poolResource) librados() bool { return librados(r.data) }

// ValidateConfig checks min_size <= size when both are set.
func (r *poolResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var size, minSize types.Int64
	var profile types.String
	var overwrites types.Bool
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("size"), &size)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("min_size"), &minSize)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("erasure_code_profile"), &profile)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("allow_ec_overwrites"), &overwrites)...)
	if profile.IsNull() && !overwrites.IsNull() && !overwrites.IsUnknown() {
		resp.Diagnostics.AddAttributeError(path.Root("allow_ec_overwrites"), "Not an Erasure-Coded Pool",
			"allow_ec_overwrites is for erasure-coded pools: set erasure_code_profile too, or leave it out")
	}
	var single types.Bool
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("allow_single_replica"), &single)...)
	if !size.IsUnknown() && size.ValueInt64() == 1 && !single.ValueBool() {
		resp.Diagnostics.AddAttributeError(path.Root("size"), "Single Replica Needs Opt-In",
			"size = 1 keeps one copy of every object: losing one disk loses data. Set allow_single_replica = true if that is "+
				"what you want (e.g. scratch data), or use size 2 or more.")
	}
	if !profile.IsNull() && !size.IsNull() {
		resp.Diagnostics.AddAttributeError(path.Root("size"), "Size of an Erasure-Coded Pool",
			"an erasure-coded pool's size is its profile's k+m: leave size out")
	}
	if size.IsNull() || size.IsUnknown() || minSize.IsNull() || minSize.IsUnknown() {
		return
	}
	if minSize.ValueInt64() > size.ValueInt64() {
		resp.Diagnostics.AddAttributeError(path.Root("min_size"), "min_size Above size",
			fmt.Sprintf("min_size %d is more than size %d: a pool needs at most as many replicas for I/O as it has", minSize.ValueInt64(), size.ValueInt64()))
	}
}

// libradosOnly are the settings of m that only librados sets, with why
// PVE's API lacks them.
func libradosOnly(m *poolModel) []struct {
	set       bool
	attr, why string
} {
	return []struct {
		set       bool
		attr, why string
	}{
		{!m.ErasureCodeProfile.IsNull(), "erasure_code_profile", "PVE's API makes an erasure-coded pool as a pair of pools (<name>-data and <name>-metadata)"},
		{!m.AllowECOverwrites.IsNull(), "allow_ec_overwrites", "PVE's API does not set it"},
		{!m.QuotaMaxBytes.IsNull(), "quota_max_bytes", "PVE's API has no pool quotas"},
		{!m.QuotaMaxObjects.IsNull(), "quota_max_objects", "PVE's API has no pool quotas"},
	}
}

// ModifyPlan refuses what the transport cannot do, before anything is
// sent, and plans min_size as unknown when a size change will reset it.
func (r *poolResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || r.data == nil {
		return
	}
	if r.librados() {
		needsLibrados("pve_ceph_pool with the provider's ceph {} block", &resp.Diagnostics)
	} else {
		var config poolModel
		resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
		for _, s := range libradosOnly(&config) {
			if s.set {
				resp.Diagnostics.AddAttributeError(path.Root(s.attr), "Needs librados",
					fmt.Sprintf("%s is set through librados only (%s): configure the provider's ceph {} block, with the ceph build", s.attr, s.why))
			}
		}
	}
	if resp.Diagnostics.HasError() || req.State.Raw.IsNull() {
		return
	}
	var plan, state poolModel
	var configMinSize types.Int64
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("min_size"), &configMinSize)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if state.AllowECOverwrites.ValueBool() && !plan.AllowECOverwrites.IsUnknown() && !plan.AllowECOverwrites.ValueBool() {
		resp.Diagnostics.AddAttributeError(path.Root("allow_ec_overwrites"), "EC Overwrites Stay On",
			"Ceph cannot turn allow_ec_overwrites off once it is on: set it to true, or leave it out")
		return
	}
	if configMinSize.IsNull() && !plan.Size.IsUnknown() && !plan.Size.Equal(state.Size) {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("min_size"), types.Int64Unknown())...)
	}
}

// transport picks librados or PVE's API (on m's node, or the first online
// node, which it records in m).
func (r *poolResource) transport(ctx context.Context, summary string, m *poolModel, diags *diag.Diagnostics) poolTransport {
	if r.librados() {
		c := r.data.CephClient(ctx, summary, diags)
		if c == nil {
			return nil
		}
		if m.Node.IsUnknown() {
			m.Node = types.StringNull() // a configured node is kept: librados does not use it
		}
		return radosPools{c}
	}
	c := r.data.PVEClient(ctx, summary, diags)
	if c == nil {
		return nil
	}
	if !m.Node.IsNull() && !m.Node.IsUnknown() && m.Node.ValueString() != "" {
		return pvePools{c, m.Node.ValueString()}
	}
	node, err := onlineNode(ctx, c)
	if err != nil {
		diags.AddError(summary, err.Error())
		return nil
	}
	m.Node = types.StringValue(node)
	return pvePools{c, node}
}

// fromAPI sets m from the pool as read.
func (m *poolModel) fromAPI(p *poolInfo) {
	optStr := func(s string) types.String {
		if s == "" {
			return types.StringNull()
		}
		return types.StringValue(s)
	}
	optInt := func(v *int64) types.Int64 {
		if v == nil {
			return types.Int64Null()
		}
		return types.Int64Value(*v)
	}
	m.ID = types.StringValue(strconv.FormatInt(p.ID, 10))
	m.Size, m.MinSize = types.Int64Value(p.Size), types.Int64Value(p.MinSize)
	m.PGNumActual = types.Int64Value(p.PGNum)
	// pg_num is the target: Ceph changes the real count step by step
	// towards it (or, with the autoscaler on, towards its own), which is
	// no diff; pg_num_actual shows where it is.
	if m.PGNum.IsNull() || m.PGNum.IsUnknown() {
		m.PGNum = m.PGNumActual
	}
	m.PGAutoscaleMode = optStr(p.AutoscaleMode)
	m.CrushRule = optStr(p.CrushRule)
	m.TargetSizeRatio = types.Float64Null()
	if p.TargetSizeRatio != 0 {
		m.TargetSizeRatio = types.Float64Value(p.TargetSizeRatio)
	}
	m.TargetSizeBytes = types.Int64Null()
	if p.TargetSizeBytes != 0 {
		m.TargetSizeBytes = types.Int64Value(p.TargetSizeBytes)
	}
	m.Application = optStr(strings.Join(p.Applications, ","))
	m.ErasureCodeProfile = optStr(p.ECProfile)
	m.AllowECOverwrites = types.BoolPointerValue(p.ECOverwrites)
	m.QuotaMaxBytes, m.QuotaMaxObjects = optInt(p.QuotaMaxBytes), optInt(p.QuotaMaxObjects)
	// Ceph reports pool usage every few seconds: a pool it has not
	// reported yet has no statistics (objects unknown: null).
	m.Objects, m.BytesUsed = optInt(p.Objects), optInt(p.BytesUsed)
}

// usageKnown reports whether Ceph has reported the pool's usage.
func (m *poolModel) usageKnown() bool { return !m.Objects.IsNull() || !m.BytesUsed.IsNull() }

// holdsData says what the pool holds ("3 objects", "4096 bytes"), "" when
// it is empty or its usage unknown. Objects decide where they are known;
// through PVE's API on releases that report no per-pool object count, the
// pool's bytes do.
func (m *poolModel) holdsData() string {
	if n := m.Objects.ValueInt64(); n > 0 {
		return fmt.Sprintf("%d objects", n)
	}
	if n := m.BytesUsed.ValueInt64(); n > 0 {
		return fmt.Sprintf("%d bytes", n)
	}
	return ""
}

// read sets m from the pool through t.
func (m *poolModel) read(ctx context.Context, t poolTransport) error {
	p, err := t.get(ctx, m.Name.ValueString())
	if err != nil {
		return err
	}
	m.fromAPI(p)
	return nil
}

func (r *poolResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	const summary = "Unable to Create Ceph Pool"
	var plan poolModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	t := r.transport(ctx, summary, &plan, &resp.Diagnostics)
	if t == nil {
		return
	}
	name := plan.Name.ValueString()
	if _, err := t.get(ctx, name); err == nil {
		resp.Diagnostics.AddError(summary,
			fmt.Sprintf("pool %s exists already: import it (terraform import pve_ceph_pool.<name> %s) rather than create it", name, name))
		return
	} else if !errors.Is(err, errPoolNotFound) {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	if err := t.create(ctx, &plan); err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	if err := plan.read(ctx, t); err != nil {
		resp.Diagnostics.AddError("Unable to Read Ceph Pool", err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

func (r *poolResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	const summary = "Unable to Read Ceph Pool"
	var state poolModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	t := r.transport(ctx, summary, &state, &resp.Diagnostics)
	if t == nil {
		return
	}
	if err := state.read(ctx, t); err != nil {
		if errors.Is(err, errPoolNotFound) {
			resp.State.RemoveResource(ctx)
			return
		}
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}

func (r *poolResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	const summary = "Unable to Update Ceph Pool"
	var plan, state poolModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	t := r.transport(ctx, summary, &plan, &resp.Diagnostics)
	if t == nil {
		return
	}
	if err := t.update(ctx, &plan, &state); err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	if err := plan.read(ctx, t); err != nil {
		resp.Diagnostics.AddError("Unable to Read Ceph Pool", err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

// Delete refuses a pool with data unless force_destroy.
func (r *poolResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	const summary = "Unable to Delete Ceph Pool"
	var state poolModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	t := r.transport(ctx, summary, &state, &resp.Diagnostics)
	if t == nil {
		return
	}
	name, force := state.Name.ValueString(), state.ForceDestroy.ValueBool()
	// Wait (a little) for Ceph to report the pool's usage: deleting is
	// decided on it.
	for i := 0; ; i++ {
		if err := state.read(ctx, t); err != nil {
			if errors.Is(err, errPoolNotFound) {
				return
			}
			resp.Diagnostics.AddError(summary, err.Error())
			return
		}
		if force || state.usageKnown() || i == 20 {
			break
		}
		select {
		case <-ctx.Done():
			resp.Diagnostics.AddError(summary, ctx.Err().Error())
			return
		case <-time.After(500 * time.Millisecond):
		}
	}
	if !force {
		if msg := state.holdsData(); msg != "" {
			resp.Diagnostics.AddError("Ceph Pool Holds Data",
				fmt.Sprintf("pool %s holds %s: set force_destroy = true (and apply) to delete it with its data", name, msg))
			return
		}
		if !state.usageKnown() {
			resp.Diagnostics.AddError("Ceph Pool Usage Unknown",
				fmt.Sprintf("Ceph has not reported how much pool %s holds yet: try again in a few seconds, or set force_destroy = true", name))
			return
		}
	}
	if err := t.remove(ctx, name, force); err != nil && !errors.Is(err, errPoolNotFound) {
		resp.Diagnostics.AddError(summary, err.Error())
	}
}

func (r *poolResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resource.ImportStatePassthroughID(ctx, path.Root("name"), req, resp)
}
