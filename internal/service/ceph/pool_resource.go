package ceph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
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
	CrushRule       types.String  `tfsdk:"crush_rule"`
	Application     types.String  `tfsdk:"application"`
	ForceDestroy    types.Bool    `tfsdk:"force_destroy"`
	PGNumActual     types.Int64   `tfsdk:"pg_num_actual"`
	Objects         types.Int64   `tfsdk:"objects"`
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
		Description: "A Ceph pool of a PVE-managed Ceph cluster, through PVE's API (`/nodes/{node}/ceph/pool`). " +
			"`size` is set before `min_size`; with the autoscaler on, `pg_num` is the target and the PG count Ceph " +
			"reaches is `pg_num_actual` (no diff while Ceph converges). A pool that holds objects is not deleted " +
			"unless `force_destroy = true`. Import by pool name.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Description:   "The pool name.",
				Computed:      true,
				PlanModifiers: keepStr,
			},
			"node": schema.StringAttribute{
				Description:   "Node whose API manages the pool (any node of the Ceph cluster). Unset: the first online node.",
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
			"size":     optInt("Replicas (PVE's default 3). Set before min_size.", int64validator.Between(1, 7)),
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
				Description: "Share of the cluster's capacity the pool is expected to use, for the autoscaler.",
				Optional:    true,
			},
			"crush_rule": schema.StringAttribute{
				Description:   "CRUSH rule (by name). Unset: the cluster's default rule.",
				Optional:      true,
				Computed:      true,
				PlanModifiers: keepStr,
			},
			"application": schema.StringAttribute{
				Description:   "What the pool is for: `rbd` (PVE's default), `cephfs` or `rgw`.",
				Optional:      true,
				Computed:      true,
				PlanModifiers: keepStr,
				Validators:    []validator.String{stringvalidator.OneOf("rbd", "cephfs", "rgw")},
			},
			"force_destroy": schema.BoolAttribute{
				Description: "Delete the pool even when it holds objects (its data is lost). Default false.",
				Optional:    true,
			},
			"pg_num_actual": schema.Int64Attribute{Description: "The PG count the pool has now.", Computed: true},
			"objects": schema.Int64Attribute{Description: "Objects in the pool when last read, as Ceph last reported " +
				"(it reports pool usage every few seconds; null until it has).", Computed: true},
		},
	}
}

var poolNameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]*$`)

func (r *poolResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = framework.ConfigureData(req.ProviderData, &resp.Diagnostics)
	r.data.RequirePVE(&resp.Diagnostics)
}

// ValidateConfig checks min_size <= size when both are set.
func (r *poolResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var size, minSize types.Int64
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("size"), &size)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("min_size"), &minSize)...)
	if size.IsNull() || size.IsUnknown() || minSize.IsNull() || minSize.IsUnknown() {
		return
	}
	if minSize.ValueInt64() > size.ValueInt64() {
		resp.Diagnostics.AddAttributeError(path.Root("min_size"), "min_size Above size",
			fmt.Sprintf("min_size %d is more than size %d: a pool needs at most as many replicas for I/O as it has", minSize.ValueInt64(), size.ValueInt64()))
	}
}

// node is the node to talk to: the configured one, else the first online.
func (r *poolResource) node(ctx context.Context, c *pve.Client, m *poolModel) (string, error) {
	if !m.Node.IsNull() && !m.Node.IsUnknown() && m.Node.ValueString() != "" {
		return m.Node.ValueString(), nil
	}
	nodes, err := c.Nodes(ctx)
	if err != nil {
		return "", err
	}
	for _, n := range nodes {
		if n.Status == "online" {
			m.Node = types.StringValue(n.Node)
			return n.Node, nil
		}
	}
	return "", errors.New("no node is online")
}

// params renders the settings of m that differ from prior (all of them
// on create).
func params(m, prior *poolModel) url.Values {
	p := url.Values{}
	num := func(key string, v, old types.Int64) {
		if !v.IsNull() && !v.IsUnknown() && (prior == nil || !v.Equal(old)) {
			p.Set(key, strconv.FormatInt(v.ValueInt64(), 10))
		}
	}
	str := func(key string, v, old types.String) {
		if !v.IsNull() && !v.IsUnknown() && (prior == nil || !v.Equal(old)) {
			p.Set(key, v.ValueString())
		}
	}
	var o poolModel
	if prior != nil {
		o = *prior
	}
	num("size", m.Size, o.Size)
	num("min_size", m.MinSize, o.MinSize)
	num("pg_num", m.PGNum, o.PGNum)
	str("pg_autoscale_mode", m.PGAutoscaleMode, o.PGAutoscaleMode)
	str("crush_rule", m.CrushRule, o.CrushRule)
	str("application", m.Application, o.Application)
	if v := m.TargetSizeRatio; !v.IsNull() && !v.IsUnknown() && (prior == nil || !v.Equal(o.TargetSizeRatio)) {
		p.Set("target_size_ratio", strconv.FormatFloat(v.ValueFloat64(), 'f', -1, 64))
	}
	return p
}

// read sets m from the pool as PVE reports it.
func (r *poolResource) read(ctx context.Context, c *pve.Client, m *poolModel) error {
	node, err := r.node(ctx, c, m)
	if err != nil {
		return err
	}
	raw, err := c.CephPool(ctx, node, m.Name.ValueString())
	if err != nil {
		return err
	}
	num := func(key string) types.Int64 {
		var n json.Number
		if err := json.Unmarshal(raw[key], &n); err == nil {
			if i, err := n.Int64(); err == nil {
				return types.Int64Value(i)
			}
		}
		var s string
		if err := json.Unmarshal(raw[key], &s); err == nil {
			if i, err := strconv.ParseInt(s, 10, 64); err == nil {
				return types.Int64Value(i)
			}
		}
		return types.Int64Null()
	}
	str := func(key string) types.String {
		var s string
		if err := json.Unmarshal(raw[key], &s); err == nil && s != "" {
			return types.StringValue(s)
		}
		return types.StringNull()
	}
	m.ID = types.StringValue(m.Name.ValueString())
	m.Size, m.MinSize = num("size"), num("min_size")
	m.PGNumActual = num("pg_num")
	m.PGAutoscaleMode = str("pg_autoscale_mode")
	m.CrushRule = str("crush_rule")
	// pg_num is the target: Ceph changes the real count step by step
	// towards it (or, with the autoscaler on, towards its own), which is
	// no diff; pg_num_actual shows where it is.
	if m.PGNum.IsNull() || m.PGNum.IsUnknown() {
		m.PGNum = m.PGNumActual
	}
	var ratio float64
	if err := json.Unmarshal(raw["target_size_ratio"], &ratio); err == nil && ratio != 0 {
		m.TargetSizeRatio = types.Float64Value(ratio)
	} else {
		m.TargetSizeRatio = types.Float64Null()
	}
	var apps []string
	_ = json.Unmarshal(raw["application_list"], &apps)
	m.Application = types.StringNull()
	if len(apps) > 0 {
		m.Application = types.StringValue(strings.Join(apps, ","))
	}
	// Ceph reports pool usage every few seconds: a pool it has not
	// reported yet has no statistics (objects unknown: null).
	m.Objects = types.Int64Null()
	var stats struct {
		Objects *int64 `json:"objects"`
	}
	if err := json.Unmarshal(raw["statistics"], &stats); err == nil && stats.Objects != nil {
		m.Objects = types.Int64Value(*stats.Objects)
	}
	return nil
}

func (r *poolResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan poolModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	c := r.data.PVEClient(ctx, "Unable to Create Ceph Pool", &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	node, err := r.node(ctx, c, &plan)
	if err != nil {
		resp.Diagnostics.AddError("Unable to Create Ceph Pool", err.Error())
		return
	}
	name := plan.Name.ValueString()
	if _, err := c.CephPool(ctx, node, name); err == nil {
		resp.Diagnostics.AddError("Unable to Create Ceph Pool",
			fmt.Sprintf("pool %s exists already: import it (terraform import pve_ceph_pool.<name> %s) rather than create it", name, name))
		return
	}
	p := params(&plan, nil)
	p.Set("name", name)
	p.Set("add_storages", "0")
	if _, err := c.CreateCephPool(ctx, node, p); err != nil {
		resp.Diagnostics.AddError("Unable to Create Ceph Pool", err.Error())
		return
	}
	if err := r.read(ctx, c, &plan); err != nil {
		resp.Diagnostics.AddError("Unable to Read Ceph Pool", err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

func (r *poolResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state poolModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	c := r.data.PVEClient(ctx, "Unable to Read Ceph Pool", &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	if err := r.read(ctx, c, &state); err != nil {
		if errors.Is(err, pve.ErrNotFound) {
			resp.State.RemoveResource(ctx)
			return
		}
		resp.Diagnostics.AddError("Unable to Read Ceph Pool", err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}

func (r *poolResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state poolModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	c := r.data.PVEClient(ctx, "Unable to Update Ceph Pool", &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	node, err := r.node(ctx, c, &plan)
	if err != nil {
		resp.Diagnostics.AddError("Unable to Update Ceph Pool", err.Error())
		return
	}
	if p := params(&plan, &state); len(p) > 0 {
		if _, err := c.UpdateCephPool(ctx, node, plan.Name.ValueString(), p); err != nil {
			resp.Diagnostics.AddError("Unable to Update Ceph Pool", err.Error())
			return
		}
	}
	if err := r.read(ctx, c, &plan); err != nil {
		resp.Diagnostics.AddError("Unable to Read Ceph Pool", err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

// Delete refuses a pool with data unless force_destroy.
func (r *poolResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state poolModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	c := r.data.PVEClient(ctx, "Unable to Delete Ceph Pool", &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	name := state.Name.ValueString()
	if err := r.read(ctx, c, &state); err != nil {
		if errors.Is(err, pve.ErrNotFound) {
			return
		}
		resp.Diagnostics.AddError("Unable to Delete Ceph Pool", err.Error())
		return
	}
	// Wait (a little) for Ceph to report the pool's usage: deleting is
	// decided on it.
	for i := 0; state.Objects.IsNull() && !state.ForceDestroy.ValueBool() && i < 20; i++ {
		select {
		case <-ctx.Done():
			resp.Diagnostics.AddError("Unable to Delete Ceph Pool", ctx.Err().Error())
			return
		case <-time.After(500 * time.Millisecond):
		}
		if err := r.read(ctx, c, &state); err != nil {
			resp.Diagnostics.AddError("Unable to Delete Ceph Pool", err.Error())
			return
		}
	}
	if state.Objects.IsNull() && !state.ForceDestroy.ValueBool() {
		resp.Diagnostics.AddError("Ceph Pool Usage Unknown",
			fmt.Sprintf("Ceph has not reported how much pool %s holds yet: try again in a few seconds, or set force_destroy = true", name))
		return
	}
	if n := state.Objects.ValueInt64(); n > 0 && !state.ForceDestroy.ValueBool() {
		resp.Diagnostics.AddError("Ceph Pool Holds Data",
			fmt.Sprintf("pool %s holds %d objects: set force_destroy = true (and apply) to delete it with its data", name, n))
		return
	}
	p := url.Values{"remove_storages": {"0"}}
	if state.ForceDestroy.ValueBool() {
		p.Set("force", "1")
	}
	if _, err := c.DeleteCephPool(ctx, state.Node.ValueString(), name, p); err != nil && !errors.Is(err, pve.ErrNotFound) {
		msg := err.Error()
		if strings.Contains(msg, "mon_allow_pool_delete") {
			msg += " (the Ceph monitors refuse to delete pools: set mon_allow_pool_delete = true, e.g. `ceph config set mon mon_allow_pool_delete true`)"
		}
		resp.Diagnostics.AddError("Unable to Delete Ceph Pool", msg)
	}
}

func (r *poolResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resource.ImportStatePassthroughID(ctx, path.Root("name"), req, resp)
}
