package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
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

// The HA types (pve_ha_resource, pve_ha_rule, pve_ha_group) share one
// implementation: an ID, a few settings, a digest-guarded update, and the
// PVE version they exist in.

var (
	_ resource.ResourceWithImportState = (*haResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*haResource)(nil)
)

// haField is one setting of an HA object.
type haField struct {
	attr, key, description string
	kind                   string // "string", "int", "bool", "nodes" (node -> priority), "list" (set of strings)
	enum                   []string
	// computed: PVE fills it in when unset (read back, unset = left as is).
	computed bool
	// replace: a change replaces the object (PVE cannot change it).
	replace bool
	// minMajor: the PVE major version the setting needs.
	minMajor int
}

// haSpec is what differs between the HA types.
type haSpec struct {
	kind, typeName, title string
	idAttr, idDescription string
	idValidator           validator.String
	description           string
	fields                []haField
	minMajor, maxMajor    int    // PVE versions the type exists in (0: any)
	wrongVersion          string // what to use instead
	sendOnUpdate          []string
	createExtra           func(id string, p url.Values)
	// settle waits, after a create or change, until PVE acts on it.
	settle func(ctx context.Context, c *pve.Client, id string, plan haValues) error
}

type haResource struct {
	spec haSpec
	data *framework.ProviderData
}

func (r *haResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_" + r.spec.typeName
}

func (r *haResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	attrs := map[string]schema.Attribute{
		"id": schema.StringAttribute{
			Description:   "Same as `" + r.spec.idAttr + "`.",
			Computed:      true,
			PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
		},
		r.spec.idAttr: schema.StringAttribute{
			Description:   r.spec.idDescription + " Changing it replaces the " + r.spec.title + ".",
			Required:      true,
			PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			Validators:    []validator.String{r.spec.idValidator},
		},
	}
	for _, f := range r.spec.fields {
		desc := f.description
		if f.replace {
			desc += " Changing it replaces the " + r.spec.title + "."
		}
		switch f.kind {
		case "string":
			a := schema.StringAttribute{Description: desc, Optional: true, Computed: f.computed}
			if len(f.enum) > 0 {
				a.Validators = []validator.String{stringvalidator.OneOf(f.enum...)}
			}
			if f.replace {
				a.PlanModifiers = append(a.PlanModifiers, stringplanmodifier.RequiresReplace())
			}
			if f.computed {
				a.PlanModifiers = append(a.PlanModifiers, stringplanmodifier.UseStateForUnknown())
			}
			attrs[f.attr] = a
		case "int":
			a := schema.Int64Attribute{Description: desc, Optional: true, Computed: f.computed,
				Validators: []validator.Int64{int64validator.AtLeast(0)}}
			if f.computed {
				a.PlanModifiers = []planmodifier.Int64{int64planmodifier.UseStateForUnknown()}
			}
			attrs[f.attr] = a
		case "bool":
			a := schema.BoolAttribute{Description: desc, Optional: true, Computed: f.computed}
			if f.computed {
				a.PlanModifiers = []planmodifier.Bool{boolplanmodifier.UseStateForUnknown()}
			}
			attrs[f.attr] = a
		case "nodes":
			attrs[f.attr] = schema.MapAttribute{Description: desc, Optional: true, ElementType: types.Int64Type}
		case "list":
			attrs[f.attr] = schema.SetAttribute{Description: desc, Optional: true, ElementType: types.StringType}
		}
	}
	resp.Schema = schema.Schema{Description: r.spec.description, Attributes: attrs}
}

func (r *haResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = framework.ConfigureData(req.ProviderData, &resp.Diagnostics)
	r.data.RequirePVE(&resp.Diagnostics)
}

// haValues holds the settings by attribute name.
type haValues map[string]attr.Value

// attrType is the Terraform type of a setting.
func (f haField) attrType() attr.Type {
	switch f.kind {
	case "int":
		return types.Int64Type
	case "bool":
		return types.BoolType
	case "nodes":
		return types.MapType{ElemType: types.Int64Type}
	case "list":
		return types.SetType{ElemType: types.StringType}
	}
	return types.StringType
}

func (r *haResource) get(ctx context.Context, src framework.Getter, diags *diag.Diagnostics) (string, haValues) {
	var id types.String
	diags.Append(src.GetAttribute(ctx, path.Root(r.spec.idAttr), &id)...)
	v := haValues{}
	for _, f := range r.spec.fields {
		v[f.attr] = framework.GetValue(ctx, src, f.attr, f.attrType(), diags)
	}
	return id.ValueString(), v
}

func (r *haResource) set(ctx context.Context, state interface {
	SetAttribute(context.Context, path.Path, any) diag.Diagnostics
}, id string, v haValues, diags *diag.Diagnostics) {
	diags.Append(state.SetAttribute(ctx, path.Root("id"), id)...)
	diags.Append(state.SetAttribute(ctx, path.Root(r.spec.idAttr), id)...)
	for _, f := range r.spec.fields {
		diags.Append(state.SetAttribute(ctx, path.Root(f.attr), v[f.attr])...)
	}
}

// haText is a setting as PVE takes it, "" when unset.
func haText(f haField, v attr.Value) string {
	if v == nil || v.IsNull() || v.IsUnknown() {
		return ""
	}
	switch f.kind {
	case "string":
		return v.(types.String).ValueString()
	case "int":
		return strconv.FormatInt(v.(types.Int64).ValueInt64(), 10)
	case "bool":
		return map[bool]string{true: "1", false: "0"}[v.(types.Bool).ValueBool()]
	case "nodes":
		var parts []string
		for node, pri := range v.(types.Map).Elements() {
			p := pri.(types.Int64).ValueInt64()
			if p > 0 {
				parts = append(parts, fmt.Sprintf("%s:%d", node, p))
			} else {
				parts = append(parts, node)
			}
		}
		slices.Sort(parts)
		return strings.Join(parts, ",")
	case "list":
		var parts []string
		for _, e := range v.(types.Set).Elements() {
			parts = append(parts, e.(types.String).ValueString())
		}
		slices.Sort(parts)
		return strings.Join(parts, ",")
	}
	return ""
}

// haFromAPI reads a setting PVE returned ("" when absent).
func haFromAPI(f haField, s string, present bool) (attr.Value, error) {
	switch f.kind {
	case "string":
		if !present || s == "" {
			return types.StringNull(), nil
		}
		return types.StringValue(s), nil
	case "int":
		if !present || s == "" {
			return types.Int64Null(), nil
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not a number", f.key, s)
		}
		return types.Int64Value(n), nil
	case "bool":
		if !present || s == "" {
			return types.BoolNull(), nil
		}
		return types.BoolValue(s == "1" || s == "true"), nil
	case "nodes":
		if !present || s == "" {
			return types.MapNull(types.Int64Type), nil
		}
		m := map[string]attr.Value{}
		for _, part := range strings.Split(s, ",") {
			node, pri, _ := strings.Cut(strings.TrimSpace(part), ":")
			n := int64(0)
			if pri != "" {
				var err error
				if n, err = strconv.ParseInt(pri, 10, 64); err != nil {
					return nil, fmt.Errorf("%s: bad priority in %q", f.key, part)
				}
			}
			m[node] = types.Int64Value(n)
		}
		return types.MapValueMust(types.Int64Type, m), nil
	case "list":
		if !present || s == "" {
			return types.SetNull(types.StringType), nil
		}
		var vals []attr.Value
		for _, part := range strings.Split(s, ",") {
			vals = append(vals, types.StringValue(strings.TrimSpace(part)))
		}
		return types.SetValueMust(types.StringType, vals), nil
	}
	return nil, fmt.Errorf("unknown kind %s", f.kind)
}

// checkVersion says whether the type exists in the server's PVE version.
func (r *haResource) checkVersion(ctx context.Context, c *pve.Client, v haValues) error {
	major, err := c.MajorVersion(ctx)
	if err != nil {
		return err
	}
	switch {
	case r.spec.minMajor > 0 && major < r.spec.minMajor, r.spec.maxMajor > 0 && major > r.spec.maxMajor:
		return fmt.Errorf("pve_%s does not exist in PVE %d: %s", r.spec.typeName, major, r.spec.wrongVersion)
	}
	for _, f := range r.spec.fields {
		if f.minMajor > 0 && major < f.minMajor && haText(f, v[f.attr]) != "" {
			return fmt.Errorf("%s needs PVE %d or later; the server runs PVE %d", f.attr, f.minMajor, major)
		}
	}
	return nil
}

// ModifyPlan refuses, at plan time, a type or setting the server's PVE
// version does not have.
func (r *haResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || r.data == nil {
		return
	}
	c, err := r.data.PVE.Client(ctx)
	if err != nil {
		return // not reachable yet: checked again at apply
	}
	_, v := r.get(ctx, req.Plan, &resp.Diagnostics)
	if err := r.checkVersion(ctx, c, v); err != nil && !pve.IsUnreachable(err) {
		resp.Diagnostics.AddError("Wrong PVE Version", err.Error())
	}
}

// read reads the object id into v, from the kind's index shared by the
// reads of one run (pve.GetHAShared).
func (r *haResource) read(ctx context.Context, c *pve.Client, id string, v haValues) error {
	obj, err := c.GetHAShared(ctx, r.spec.kind, id)
	if err != nil {
		return err
	}
	for _, f := range r.spec.fields {
		s, present := obj[f.key]
		val, err := haFromAPI(f, s, present)
		if err != nil {
			return err
		}
		v[f.attr] = val
	}
	return nil
}

func (r *haResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	summary := "Unable to Create " + r.spec.title
	id, plan := r.get(ctx, req.Plan, &resp.Diagnostics)
	c := r.data.PVEClient(ctx, summary, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	if err := r.checkVersion(ctx, c, plan); err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	p := url.Values{r.spec.idAttr: {id}}
	if r.spec.createExtra != nil {
		r.spec.createExtra(id, p)
	}
	for _, f := range r.spec.fields {
		if t := haText(f, plan[f.attr]); t != "" {
			p.Set(f.key, t)
		}
	}
	if err := c.CreateHA(ctx, r.spec.kind, p); err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	if r.spec.settle != nil {
		if err := r.spec.settle(ctx, c, id, plan); err != nil {
			// created: in state (tainted), so that the next apply finds it
			resp.Diagnostics.AddError(summary, err.Error())
		}
	}
	if err := r.read(ctx, c, id, plan); err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
	}
	r.set(ctx, &resp.State, id, plan, &resp.Diagnostics)
}

func (r *haResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	summary := "Unable to Read " + r.spec.title
	id, state := r.get(ctx, req.State, &resp.Diagnostics)
	c := r.data.PVEClient(ctx, summary, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	if err := r.read(ctx, c, id, state); err != nil {
		if errors.Is(err, pve.ErrNotFound) {
			resp.State.RemoveResource(ctx)
			return
		}
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	r.set(ctx, &resp.State, id, state, &resp.Diagnostics)
}

func (r *haResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	summary := "Unable to Update " + r.spec.title
	id, plan := r.get(ctx, req.Plan, &resp.Diagnostics)
	_, state := r.get(ctx, req.State, &resp.Diagnostics)
	c := r.data.PVEClient(ctx, summary, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	if err := r.checkVersion(ctx, c, plan); err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	current, err := c.GetHA(ctx, r.spec.kind, id)
	if err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	p := url.Values{}
	if d := current.Digest(); d != "" {
		p.Set("digest", d)
	}
	var deletes []string
	for _, f := range r.spec.fields {
		now, then := haText(f, plan[f.attr]), haText(f, state[f.attr])
		switch {
		case now != "" && (now != then || slices.Contains(r.spec.sendOnUpdate, f.key)):
			p.Set(f.key, now)
		case now == "" && then != "" && !plan[f.attr].IsUnknown():
			deletes = append(deletes, f.key)
		}
	}
	if len(deletes) > 0 {
		p.Set("delete", strings.Join(deletes, ","))
	}
	if err := c.UpdateHA(ctx, r.spec.kind, id, p); err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	if r.spec.settle != nil && p.Has("state") {
		if err := r.spec.settle(ctx, c, id, plan); err != nil {
			resp.Diagnostics.AddError(summary, err.Error())
		}
	}
	if err := r.read(ctx, c, id, plan); err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
	}
	r.set(ctx, &resp.State, id, plan, &resp.Diagnostics)
}

func (r *haResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	summary := "Unable to Delete " + r.spec.title
	id, _ := r.get(ctx, req.State, &resp.Diagnostics)
	c := r.data.PVEClient(ctx, summary, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	if err := c.DeleteHA(ctx, r.spec.kind, id); err != nil && !errors.Is(err, pve.ErrNotFound) {
		resp.Diagnostics.AddError(summary, err.Error())
	}
}

func (r *haResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resource.ImportStatePassthroughID(ctx, path.Root(r.spec.idAttr), req, resp)
}

var (
	sidRE    = regexp.MustCompile(`^(vm|ct):[1-9][0-9]{2,8}$`)
	haNameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*$`)
)

// NewHAResourceResource returns the pve_ha_resource resource.
func NewHAResourceResource() resource.Resource {
	return &haResource{spec: haSpec{
		kind: "resources", typeName: "ha_resource", title: "HA Resource",
		idAttr:        "sid",
		idDescription: "The guest, as `vm:<vmid>` or `ct:<vmid>`.",
		idValidator:   stringvalidator.RegexMatches(sidRE, "must be vm:<vmid> or ct:<vmid>"),
		description: "A guest the HA manager keeps in its requested state, restarting or relocating it when its node " +
			"fails (`/cluster/ha/resources`). Where it may run is set by `pve_ha_rule` (PVE 9) or `group` (PVE 8). " +
			"PVE's HA manager works in rounds of about 10 s: creating the resource or changing its `state` waits (up to " +
			"10 minutes) until HA reports the guest in that state (`started`: running; `stopped`, `disabled`: stopped; " +
			"`ignored`: no wait), and fails if HA puts it in its error state. While a guest is HA-managed (any state but " +
			"`ignored`), HA owns its run state and node: its `pve_vm`/`pve_container` does not start, stop or move it " +
			"back, keeps `started` and `node` as configured when HA runs it elsewhere (after a failover, say), refuses " +
			"a change of `started`, and migrates it through HA when `node` changes. Import by SID.",
		fields: []haField{
			{attr: "state", key: "state", kind: "string", computed: true, enum: []string{"started", "stopped", "disabled", "ignored"},
				description: "Requested state: `started`, `stopped`, `disabled` or `ignored`. Unset: PVE's default (started), or as it is. " +
					"Applying it waits until HA reports the guest in this state."},
			{attr: "max_restart", key: "max_restart", kind: "int", computed: true,
				description: "Restarts on the same node before relocating. Unset: PVE's default (1), or as it is."},
			{attr: "max_relocate", key: "max_relocate", kind: "int", computed: true,
				description: "Relocations to other nodes before giving up. Unset: PVE's default (1), or as it is."},
			{attr: "failback", key: "failback", kind: "bool", computed: true, minMajor: 9,
				description: "Move back to the preferred node when it is back (PVE 9). Unset: PVE's default (true), or as it is."},
			{attr: "group", key: "group", kind: "string",
				description: "HA group the guest runs in (PVE 8; PVE 9 uses `pve_ha_rule`)."},
			{attr: "comment", key: "comment", kind: "string", description: "Comment."},
		},
		settle: settleHAResource,
	}}
}

// haSettleTimeout bounds the wait for HA to act on a resource: PVE's
// manager and LRM rounds are 10 s, a start or stop some rounds.
const haSettleTimeout = 10 * time.Minute

// settleHAResource waits until the HA manager has the guest in its
// requested state (PVE's CRM and LRM act on it rounds later).
func settleHAResource(ctx context.Context, c *pve.Client, sid string, plan haValues) error {
	ctx, cancel := context.WithTimeout(ctx, haSettleTimeout)
	defer cancel()
	requested := "started" // PVE's default
	if v, ok := plan["state"].(types.String); ok && !v.IsNull() && !v.IsUnknown() {
		requested = v.ValueString()
	}
	return c.WaitHARequestedState(ctx, sid, requested)
}

// NewHARuleResource returns the pve_ha_rule resource.
func NewHARuleResource() resource.Resource {
	return &haResource{spec: haSpec{
		kind: "rules", typeName: "ha_rule", title: "HA Rule",
		idAttr:        "rule",
		idDescription: "Rule name.",
		idValidator:   stringvalidator.RegexMatches(haNameRE, "must start with a letter, then letters, digits, '-' and '_'"),
		description: "Where HA resources run (PVE 9, `/cluster/ha/rules`): a `node-affinity` rule keeps them on " +
			"`nodes` (by priority, `strict` to never leave them); a `resource-affinity` rule keeps `resources` together " +
			"(`positive`) or apart (`negative`). PVE 8 has HA groups instead (`pve_ha_group`). Import by rule name.",
		minMajor:     9,
		wrongVersion: "PVE 8 places HA resources with HA groups: use pve_ha_group",
		sendOnUpdate: []string{"type"},
		fields: []haField{
			{attr: "type", key: "type", kind: "string", replace: true, enum: []string{"node-affinity", "resource-affinity"},
				description: "`node-affinity` or `resource-affinity`."},
			{attr: "resources", key: "resources", kind: "list", description: "The HA resources (SIDs, `vm:100`) the rule applies to."},
			{attr: "nodes", key: "nodes", kind: "nodes", description: "node-affinity: the nodes, each with a priority (higher first; 0 for none)."},
			{attr: "strict", key: "strict", kind: "bool", description: "node-affinity: run only on `nodes`, never elsewhere."},
			{attr: "affinity", key: "affinity", kind: "string", enum: []string{"positive", "negative"},
				description: "resource-affinity: `positive` keeps the resources on one node, `negative` on different nodes."},
			{attr: "disable", key: "disable", kind: "bool", description: "Keep the rule but do not apply it."},
			{attr: "comment", key: "comment", kind: "string", description: "Comment."},
		},
	}}
}

// NewHAGroupResource returns the pve_ha_group resource.
func NewHAGroupResource() resource.Resource {
	return &haResource{spec: haSpec{
		kind: "groups", typeName: "ha_group", title: "HA Group",
		idAttr:        "group",
		idDescription: "Group name.",
		idValidator:   stringvalidator.RegexMatches(haNameRE, "must start with a letter, then letters, digits, '-' and '_'"),
		description: "The nodes HA resources of the group may run on (PVE 8, `/cluster/ha/groups`). PVE 9 replaced " +
			"groups with rules (`pve_ha_rule`). Import by group name.",
		maxMajor:     8,
		wrongVersion: "PVE 9 replaced HA groups with HA rules: use pve_ha_rule with type = \"node-affinity\"",
		createExtra:  func(_ string, p url.Values) { p.Set("type", "group") },
		fields: []haField{
			{attr: "nodes", key: "nodes", kind: "nodes", description: "The nodes, each with a priority (higher first; 0 for none)."},
			{attr: "restricted", key: "restricted", kind: "bool", description: "Run only on `nodes`, never elsewhere."},
			{attr: "nofailback", key: "nofailback", kind: "bool", description: "Do not move back to a higher-priority node when it returns."},
			{attr: "comment", key: "comment", kind: "string", description: "Comment."},
		},
	}}
}
