package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
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

var _ resource.ResourceWithImportState = (*optionsResource)(nil)

// NewOptionsResource returns the pve_cluster_options resource.
func NewOptionsResource() resource.Resource {
	return &optionsResource{}
}

type optionsResource struct {
	data *framework.ProviderData
}

// An option of datacenter.cfg: a plain value, or a property string held as
// a block with its sub-keys.
type option struct {
	attr, key   string
	description string
	kind        string // "string", "int", "block"
	enum        []string
	sub         []subOption // of a block
}

type subOption struct {
	attr, key   string
	description string
	kind        string // "string", "int", "bool"
	enum        []string
}

var keyboards = []string{"de", "de-ch", "da", "en-gb", "en-us", "es", "fi", "fr", "fr-be", "fr-ca", "fr-ch", "hu", "is",
	"it", "ja", "lt", "mk", "nl", "no", "pl", "pt", "pt-br", "sv", "sl", "tr"}

var languages = []string{"ar", "ca", "da", "de", "en", "es", "eu", "fa", "fr", "hr", "he", "it", "ja", "ka", "kr", "nb",
	"nl", "nn", "pl", "pt_BR", "ru", "sl", "sv", "tr", "ukr", "zh_CN", "zh_TW"}

// options are the settings pve_cluster_options manages, in PVE's names.
var options = []option{
	{attr: "keyboard", key: "keyboard", kind: "string", enum: keyboards, description: "Default keyboard layout of the VNC console."},
	{attr: "language", key: "language", kind: "string", enum: languages, description: "Default language of the web UI."},
	{attr: "console", key: "console", kind: "string", enum: []string{"vv", "html5", "xtermjs"},
		description: "Default console viewer: `html5` (noVNC), `xtermjs` or `vv` (SPICE). (PVE writes the old `applet` as `html5`.)"},
	{attr: "email_from", key: "email_from", kind: "string", description: "Sender address of notification emails."},
	{attr: "max_workers", key: "max_workers", kind: "int", description: "How many workers (per node) bulk actions such as stopall start at once."},
	{attr: "mac_prefix", key: "mac_prefix", kind: "string", description: "Prefix of generated MAC addresses (PVE's default: `BC:24:11`)."},
	{attr: "description", key: "description", kind: "string", description: "Datacenter notes, shown in the web UI."},
	{attr: "migration", key: "migration", kind: "block", description: "How guests migrate.", sub: []subOption{
		{attr: "type", key: "type", kind: "string", enum: []string{"secure", "insecure"}, description: "`secure` (through SSH) or `insecure` (plain TCP, faster, for trusted networks)."},
		{attr: "network", key: "network", kind: "string", description: "CIDR of the network migrations use, e.g. `10.10.0.0/24`."},
	}},
	{attr: "ha", key: "ha", kind: "block", description: "HA behaviour.", sub: []subOption{
		{attr: "shutdown_policy", key: "shutdown_policy", kind: "string", enum: []string{"freeze", "failover", "conditional", "migrate"},
			description: "What happens to HA services when a node shuts down: `freeze`, `failover`, `conditional` or `migrate`."},
	}},
	{attr: "bwlimit", key: "bwlimit", kind: "block", description: "Bandwidth limits in KiB/s.", sub: []subOption{
		{attr: "default", key: "default", kind: "int", description: "Default limit."},
		{attr: "clone", key: "clone", kind: "int", description: "Limit for cloning disks."},
		{attr: "migration", key: "migration", kind: "int", description: "Limit for migrating guests."},
		{attr: "move", key: "move", kind: "int", description: "Limit for moving disks."},
		{attr: "restore", key: "restore", kind: "int", description: "Limit for restoring backups."},
	}},
	{attr: "tag_style", key: "tag-style", kind: "block", description: "How the web UI shows tags.", sub: []subOption{
		{attr: "shape", key: "shape", kind: "string", enum: []string{"full", "circle", "dense", "none"}, description: "`full`, `circle`, `dense` or `none`."},
		{attr: "ordering", key: "ordering", kind: "string", enum: []string{"config", "alphabetical"}, description: "`config` or `alphabetical`."},
		{attr: "case_sensitive", key: "case-sensitive", kind: "bool", description: "Whether tags that differ in case are different."},
		{attr: "color_map", key: "color-map", kind: "string", description: "Colours by tag: `tag:RRGGBB[:RRGGBB]` separated by `;`."},
	}},
	{attr: "next_id", key: "next-id", kind: "block", description: "The range new VM IDs are taken from.", sub: []subOption{
		{attr: "lower", key: "lower", kind: "int", description: "Lowest VM ID handed out (inclusive)."},
		{attr: "upper", key: "upper", kind: "int", description: "Upper bound (exclusive)."},
	}},
}

func subTypes(o option) map[string]attr.Type {
	out := map[string]attr.Type{}
	for _, s := range o.sub {
		out[s.attr] = map[string]attr.Type{"string": types.StringType, "int": types.Int64Type, "bool": types.BoolType}[s.kind]
	}
	return out
}

func (r *optionsResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_cluster_options"
}

func (r *optionsResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	attrs := map[string]schema.Attribute{
		"id": schema.StringAttribute{
			Description:   "Always `cluster`: there is one set of options.",
			Computed:      true,
			PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
		},
	}
	for _, o := range options {
		desc := o.description + " Unset: not managed."
		switch o.kind {
		case "string":
			a := schema.StringAttribute{Description: desc, Optional: true}
			if len(o.enum) > 0 {
				a.Validators = []validator.String{stringvalidator.OneOf(o.enum...)}
			}
			attrs[o.attr] = a
		case "int":
			attrs[o.attr] = schema.Int64Attribute{Description: desc, Optional: true, Validators: []validator.Int64{int64validator.AtLeast(1)}}
		case "block":
			sub := map[string]schema.Attribute{}
			for _, s := range o.sub {
				switch s.kind {
				case "string":
					a := schema.StringAttribute{Description: s.description, Optional: true}
					if len(s.enum) > 0 {
						a.Validators = []validator.String{stringvalidator.OneOf(s.enum...)}
					}
					sub[s.attr] = a
				case "int":
					sub[s.attr] = schema.Int64Attribute{Description: s.description, Optional: true, Validators: []validator.Int64{int64validator.AtLeast(0)}}
				case "bool":
					sub[s.attr] = schema.BoolAttribute{Description: s.description, Optional: true}
				}
			}
			attrs[o.attr] = schema.SingleNestedAttribute{Description: desc, Optional: true, Attributes: sub}
		}
	}
	resp.Schema = schema.Schema{
		Description: "The datacenter's options (`/cluster/options`, datacenter.cfg). There is one set: declare this " +
			"resource once. It manages the options it sets and leaves the others as they are; removing one from the " +
			"configuration, or destroying the resource, resets what it set to PVE's defaults. Import with the ID `cluster` " +
			"(every option PVE has set then comes into the state).",
		Attributes: attrs,
	}
}

func (r *optionsResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = framework.ConfigureData(req.ProviderData, &resp.Diagnostics)
	r.data.RequirePVE(&resp.Diagnostics)
}

// values holds the options by attribute name, as Terraform values.
type values map[string]attr.Value

// attrType is the Terraform type of an option.
func (o option) attrType() attr.Type {
	switch o.kind {
	case "int":
		return types.Int64Type
	case "block":
		return types.ObjectType{AttrTypes: subTypes(o)}
	}
	return types.StringType
}

func (r *optionsResource) get(ctx context.Context, src framework.Getter, diags *diag.Diagnostics) values {
	v := values{}
	for _, o := range options {
		v[o.attr] = framework.GetValue(ctx, src, o.attr, o.attrType(), diags)
	}
	return v
}

func (r *optionsResource) set(ctx context.Context, state interface {
	SetAttribute(context.Context, path.Path, any) diag.Diagnostics
}, v values, diags *diag.Diagnostics) {
	diags.Append(state.SetAttribute(ctx, path.Root("id"), "cluster")...)
	for _, o := range options {
		diags.Append(state.SetAttribute(ctx, path.Root(o.attr), v[o.attr])...)
	}
}

// text is an option's value as PVE takes it; "" when it is null.
func text(o option, v attr.Value) string {
	if v == nil || v.IsNull() || v.IsUnknown() {
		return ""
	}
	switch o.kind {
	case "string":
		return v.(types.String).ValueString()
	case "int":
		return strconv.FormatInt(v.(types.Int64).ValueInt64(), 10)
	}
	attrs := v.(types.Object).Attributes()
	p := pve.PropertyString{}
	for _, s := range o.sub {
		switch sv := attrs[s.attr].(type) {
		case types.String:
			if !sv.IsNull() && !sv.IsUnknown() {
				p.Set(s.key, sv.ValueString())
			}
		case types.Int64:
			if !sv.IsNull() && !sv.IsUnknown() {
				p.Set(s.key, strconv.FormatInt(sv.ValueInt64(), 10))
			}
		case types.Bool:
			if !sv.IsNull() && !sv.IsUnknown() {
				p.Set(s.key, map[bool]string{true: "1", false: "0"}[sv.ValueBool()])
			}
		}
	}
	return p.Format("")
}

// params renders plan against prior: changed options set, options no
// longer set deleted.
func params(plan, prior values) url.Values {
	p := url.Values{}
	var deletes []string
	for _, o := range options {
		now, then := text(o, plan[o.attr]), text(o, prior[o.attr])
		switch {
		case now != "" && now != then:
			p.Set(o.key, now)
		case now == "" && then != "":
			deletes = append(deletes, o.key)
		}
	}
	if len(deletes) > 0 {
		p.Set("delete", strings.Join(deletes, ","))
	}
	return p
}

// defaults are what PVE reports for options nobody set: an import does not
// take them as set.
var defaults = map[string]string{"mac_prefix": `"BC:24:11"`}

// fromAPI reads the options PVE returns into v: every option set when all
// is (import), else only those v manages (non-null).
func fromAPI(raw map[string]json.RawMessage, v values, all bool) error {
	for _, o := range options {
		if !all && (v[o.attr] == nil || v[o.attr].IsNull()) {
			continue
		}
		if all && defaults[o.key] == string(raw[o.key]) {
			continue
		}
		val, err := optionFromAPI(o, raw[o.key])
		if err != nil {
			return fmt.Errorf("%s: %w", o.key, err)
		}
		v[o.attr] = val
	}
	return nil
}

func optionFromAPI(o option, raw json.RawMessage) (attr.Value, error) {
	null := func() attr.Value {
		switch o.kind {
		case "string":
			return types.StringNull()
		case "int":
			return types.Int64Null()
		}
		return types.ObjectNull(subTypes(o))
	}
	if len(raw) == 0 || string(raw) == "null" {
		return null(), nil
	}
	switch o.kind {
	case "string":
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		if s == "" {
			return null(), nil
		}
		return types.StringValue(s), nil
	case "int":
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return nil, err
			}
			n = json.Number(s)
		}
		i, err := n.Int64()
		if err != nil {
			return nil, err
		}
		return types.Int64Value(i), nil
	}
	// A block: PVE returns the parsed property string as an object (a
	// string from older versions).
	fields := map[string]string{}
	var obj map[string]any
	if err := json.Unmarshal(raw, &obj); err == nil {
		for k, x := range obj {
			fields[k] = fmt.Sprint(x)
		}
	} else {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		defaultKey := ""
		if o.key == "migration" {
			defaultKey = "type"
		}
		p, err := pve.ParsePropertyString(s, defaultKey)
		if err != nil {
			return nil, err
		}
		for _, k := range p.Keys() {
			fields[k] = p.Value(k)
		}
	}
	vals := map[string]attr.Value{}
	for _, s := range o.sub {
		f, ok := fields[s.key]
		switch s.kind {
		case "string":
			vals[s.attr] = types.StringNull()
			if ok {
				vals[s.attr] = types.StringValue(f)
			}
		case "int":
			vals[s.attr] = types.Int64Null()
			if ok {
				n, err := strconv.ParseFloat(f, 64)
				if err != nil {
					return nil, fmt.Errorf("%s: %q is not a number", s.key, f)
				}
				vals[s.attr] = types.Int64Value(int64(n))
			}
		case "bool":
			vals[s.attr] = types.BoolNull()
			if ok {
				vals[s.attr] = types.BoolValue(slices.Contains([]string{"1", "true"}, f))
			}
		}
	}
	obj2, d := types.ObjectValue(subTypes(o), vals)
	if d.HasError() {
		return nil, fmt.Errorf("%v", d)
	}
	return obj2, nil
}

func (r *optionsResource) read(ctx context.Context, c *pve.Client, v values, all bool) error {
	var raw map[string]json.RawMessage
	if err := c.Get(ctx, "/cluster/options", nil, &raw); err != nil {
		return fmt.Errorf("reading the cluster options: %w", err)
	}
	return fromAPI(raw, v, all)
}

func (r *optionsResource) apply(ctx context.Context, c *pve.Client, plan, prior values) error {
	p := params(plan, prior)
	if len(p) == 0 {
		return nil
	}
	if err := c.Put(ctx, "/cluster/options", p, nil); err != nil {
		return fmt.Errorf("changing the cluster options: %w", err)
	}
	return nil
}

func (r *optionsResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	plan := r.get(ctx, req.Plan, &resp.Diagnostics)
	c := r.data.PVEClient(ctx, "Unable to Create Cluster Options", &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	if err := r.apply(ctx, c, plan, values{}); err != nil {
		resp.Diagnostics.AddError("Unable to Create Cluster Options", err.Error())
		return
	}
	if err := r.read(ctx, c, plan, false); err != nil {
		resp.Diagnostics.AddError("Unable to Create Cluster Options", err.Error())
		return
	}
	r.set(ctx, &resp.State, plan, &resp.Diagnostics)
}

func (r *optionsResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	state := r.get(ctx, req.State, &resp.Diagnostics)
	c := r.data.PVEClient(ctx, "Unable to Read Cluster Options", &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	imported, d := req.Private.GetKey(ctx, "imported")
	resp.Diagnostics.Append(d...)
	if err := r.read(ctx, c, state, len(imported) > 0); err != nil {
		resp.Diagnostics.AddError("Unable to Read Cluster Options", err.Error())
		return
	}
	r.set(ctx, &resp.State, state, &resp.Diagnostics)
	if len(imported) > 0 {
		resp.Diagnostics.Append(resp.Private.SetKey(ctx, "imported", nil)...)
	}
}

func (r *optionsResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	plan := r.get(ctx, req.Plan, &resp.Diagnostics)
	state := r.get(ctx, req.State, &resp.Diagnostics)
	c := r.data.PVEClient(ctx, "Unable to Update Cluster Options", &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	if err := r.apply(ctx, c, plan, state); err != nil {
		resp.Diagnostics.AddError("Unable to Update Cluster Options", err.Error())
		return
	}
	if err := r.read(ctx, c, plan, false); err != nil {
		resp.Diagnostics.AddError("Unable to Update Cluster Options", err.Error())
		return
	}
	r.set(ctx, &resp.State, plan, &resp.Diagnostics)
}

// Delete resets the options this resource set.
func (r *optionsResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	state := r.get(ctx, req.State, &resp.Diagnostics)
	c := r.data.PVEClient(ctx, "Unable to Delete Cluster Options", &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	if err := r.apply(ctx, c, values{}, state); err != nil {
		resp.Diagnostics.AddError("Unable to Delete Cluster Options", err.Error())
	}
}

func (r *optionsResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if req.ID != "cluster" {
		resp.Diagnostics.AddError("Invalid Import ID", fmt.Sprintf("the cluster options have one ID, cluster; got %q", req.ID))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), "cluster")...)
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, "imported", []byte(`true`))...)
}
