package mapping

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/boolplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/hcilab/terraform-provider-pve/internal/framework"
	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

// The PCI and USB mapping resources share one implementation: a name, a
// description, a set of per-node entries and, for PCI, a few switches.

var (
	_ resource.ResourceWithImportState    = (*mappingResource)(nil)
	_ resource.ResourceWithValidateConfig = (*mappingResource)(nil)
)

// flagSpec is a boolean option of a mapping.
type flagSpec struct {
	attr, key, description string
}

// kindSpec is what differs between the mapping kinds.
type kindSpec struct {
	kind        pve.MappingKind
	title       string // "PCI Mapping"
	slot        string // "hostpci", "usb": the VM keys that use it
	description string
	entryAttrs  map[string]schema.Attribute
	keys        []entryKey
	flags       []flagSpec
	// check adds warnings about entries that PVE's own check does not
	// cover (PCI: devices sharing the IOMMU group).
	check func(ctx context.Context, c *pve.Client, entries []types.Object, diags *diag.Diagnostics)
}

type mappingResource struct {
	spec kindSpec
	data *framework.ProviderData
}

// mappingModel is the state of a mapping; flags by attribute name.
type mappingModel struct {
	ID          types.String
	Name        types.String
	Description types.String
	Map         types.Set
	Flags       map[string]types.Bool
}

func (r *mappingResource) entryType() types.ObjectType {
	return types.ObjectType{AttrTypes: entryTypes(r.spec.keys)}
}

func (r *mappingResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_mapping_" + string(r.spec.kind)
}

func (r *mappingResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	attrs := map[string]schema.Attribute{
		"id": schema.StringAttribute{
			Description:   "The mapping's name.",
			Computed:      true,
			PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
		},
		"name": schema.StringAttribute{
			Description:   "Cluster-wide name of the mapping, used by VMs (`mapping = ...`). Changing it replaces the mapping.",
			Required:      true,
			PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			Validators: []validator.String{stringvalidator.RegexMatches(mappingNameRE,
				"must start with a letter, then letters, digits, '-' and '_'")},
		},
		"description": schema.StringAttribute{Description: "Description of the mapping.", Optional: true},
		"map": schema.SetNestedAttribute{
			Description: "The device on each node, one entry per node. After every change each entry is checked " +
				"against its node's hardware; problems are warnings, not errors (a node may be down or not yet installed).",
			Required:     true,
			NestedObject: schema.NestedAttributeObject{Attributes: r.spec.entryAttrs},
		},
	}
	for _, f := range r.spec.flags {
		attrs[f.attr] = schema.BoolAttribute{
			Description:   f.description + " Unset: left as it is (PVE's default: false).",
			Optional:      true,
			Computed:      true,
			PlanModifiers: []planmodifier.Bool{boolplanmodifier.UseStateForUnknown()},
		}
	}
	resp.Schema = schema.Schema{Description: r.spec.description, Attributes: attrs}
}

func (r *mappingResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = framework.ConfigureData(req.ProviderData, &resp.Diagnostics)
	r.data.RequirePVE(&resp.Diagnostics)
}

// ValidateConfig refuses a map that names a node twice.
func (r *mappingResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var set types.Set
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("map"), &set)...)
	if set.IsNull() || set.IsUnknown() {
		return
	}
	seen := map[string]bool{}
	for _, e := range set.Elements() {
		o, ok := e.(types.Object)
		if !ok || o.IsUnknown() {
			continue
		}
		n, ok := o.Attributes()["node"].(types.String)
		if !ok || n.IsUnknown() || n.IsNull() {
			continue
		}
		if seen[n.ValueString()] {
			resp.Diagnostics.AddAttributeError(path.Root("map"), "Node Mapped Twice",
				fmt.Sprintf("node %s has more than one entry; each node maps to one device (list several paths in one entry's path, separated by ';')", n.ValueString()))
		}
		seen[n.ValueString()] = true
	}
}

// get reads a model from a plan, state or config.
func (r *mappingResource) get(ctx context.Context, src interface {
	GetAttribute(context.Context, path.Path, any) diag.Diagnostics
}, diags *diag.Diagnostics) mappingModel {
	m := mappingModel{Flags: map[string]types.Bool{}}
	diags.Append(src.GetAttribute(ctx, path.Root("id"), &m.ID)...)
	diags.Append(src.GetAttribute(ctx, path.Root("name"), &m.Name)...)
	diags.Append(src.GetAttribute(ctx, path.Root("description"), &m.Description)...)
	diags.Append(src.GetAttribute(ctx, path.Root("map"), &m.Map)...)
	for _, f := range r.spec.flags {
		var b types.Bool
		diags.Append(src.GetAttribute(ctx, path.Root(f.attr), &b)...)
		m.Flags[f.attr] = b
	}
	return m
}

// set writes a model into the state.
func (r *mappingResource) set(ctx context.Context, state *tfsdk.State, m mappingModel, diags *diag.Diagnostics) {
	diags.Append(state.SetAttribute(ctx, path.Root("id"), m.ID)...)
	diags.Append(state.SetAttribute(ctx, path.Root("name"), m.Name)...)
	diags.Append(state.SetAttribute(ctx, path.Root("description"), m.Description)...)
	diags.Append(state.SetAttribute(ctx, path.Root("map"), m.Map)...)
	for _, f := range r.spec.flags {
		diags.Append(state.SetAttribute(ctx, path.Root(f.attr), m.Flags[f.attr])...)
	}
}

// entries returns the map's entries.
func (m mappingModel) entries() []types.Object {
	var out []types.Object
	for _, e := range m.Map.Elements() {
		if o, ok := e.(types.Object); ok {
			out = append(out, o)
		}
	}
	return out
}

// params renders m as PVE's settings; with prior, what m no longer sets
// is deleted (false switches included: PVE's default is false).
func (r *mappingResource) params(m mappingModel, prior *mappingModel) url.Values {
	p := url.Values{}
	for _, e := range m.entries() {
		p.Add("map", entryToAPI(r.spec.keys, e))
	}
	var deletes []string
	if d := m.Description; !d.IsNull() && d.ValueString() != "" {
		p.Set("description", d.ValueString())
	} else if prior != nil && !prior.Description.IsNull() {
		deletes = append(deletes, "description")
	}
	for _, f := range r.spec.flags {
		v := m.Flags[f.attr]
		switch {
		case v.IsUnknown() || v.IsNull():
		case v.ValueBool():
			p.Set(f.key, "1")
		case prior != nil && prior.Flags[f.attr].ValueBool():
			deletes = append(deletes, f.key)
		}
	}
	if len(deletes) > 0 {
		p.Set("delete", strings.Join(deletes, ","))
	}
	return p
}

// fromAPI sets m from what PVE returns.
func (r *mappingResource) fromAPI(m *mappingModel, api *pve.Mapping) error {
	m.ID = types.StringValue(api.ID)
	m.Name = types.StringValue(api.ID)
	m.Description = types.StringNull()
	if api.Description != "" {
		m.Description = types.StringValue(api.Description)
	}
	elems := make([]attr.Value, 0, len(api.Map))
	for _, s := range api.Map {
		o, err := entryFromAPI(r.spec.keys, s)
		if err != nil {
			return fmt.Errorf("map entry %q: %w", s, err)
		}
		elems = append(elems, o)
	}
	set, diags := types.SetValue(r.entryType(), elems)
	if diags.HasError() {
		return fmt.Errorf("map: %v", diags)
	}
	m.Map = set
	for _, f := range r.spec.flags {
		m.Flags[f.attr] = types.BoolValue(api.Flags[f.key])
	}
	return nil
}

// readInto reads the mapping m names into m, through Read's finder.
func (r *mappingResource) readInto(ctx context.Context, c *pve.Client, m *mappingModel, summary string, diags *diag.Diagnostics) {
	api, err := c.GetMappingShared(ctx, r.spec.kind, m.Name.ValueString())
	if err != nil {
		diags.AddError(summary, err.Error())
		return
	}
	if err := r.fromAPI(m, api); err != nil {
		diags.AddError(summary, err.Error())
	}
}

func (r *mappingResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	summary := "Unable to Create " + r.spec.title
	plan := r.get(ctx, req.Plan, &resp.Diagnostics)
	c := r.data.PVEClient(ctx, summary, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	if err := c.CreateMapping(ctx, r.spec.kind, plan.Name.ValueString(), r.params(plan, nil)); err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	r.readInto(ctx, c, &plan, summary, &resp.Diagnostics)
	r.set(ctx, &resp.State, plan, &resp.Diagnostics)
	r.checkNodes(ctx, c, plan, &resp.Diagnostics)
}

func (r *mappingResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	summary := "Unable to Read " + r.spec.title
	state := r.get(ctx, req.State, &resp.Diagnostics)
	c := r.data.PVEClient(ctx, summary, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	// the kind's index shared by the reads of one run: a refresh of many
	// mappings reads it once
	api, err := c.GetMappingShared(ctx, r.spec.kind, state.Name.ValueString())
	if errors.Is(err, pve.ErrNotFound) {
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	if err := r.fromAPI(&state, api); err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	r.set(ctx, &resp.State, state, &resp.Diagnostics)
}

func (r *mappingResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	summary := "Unable to Update " + r.spec.title
	plan := r.get(ctx, req.Plan, &resp.Diagnostics)
	state := r.get(ctx, req.State, &resp.Diagnostics)
	c := r.data.PVEClient(ctx, summary, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	id := plan.Name.ValueString()
	current, err := c.GetMapping(ctx, r.spec.kind, id)
	if err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	p := r.params(plan, &state)
	p.Set("digest", current.Digest)
	if err := c.UpdateMapping(ctx, r.spec.kind, id, p); err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	r.readInto(ctx, c, &plan, summary, &resp.Diagnostics)
	r.set(ctx, &resp.State, plan, &resp.Diagnostics)
	r.checkNodes(ctx, c, plan, &resp.Diagnostics)
}

// Delete refuses to delete a mapping a VM uses (PVE would let it go, and
// the VM would no longer start).
func (r *mappingResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	summary := "Unable to Delete " + r.spec.title
	state := r.get(ctx, req.State, &resp.Diagnostics)
	c := r.data.PVEClient(ctx, summary, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	id := state.Name.ValueString()
	users, err := mappingUsers(ctx, c, r.spec.slot, id)
	if err != nil {
		resp.Diagnostics.AddError(summary, fmt.Sprintf("finding the VMs that use %s mapping %s: %s", r.spec.kind, id, err))
		return
	}
	if len(users) > 0 {
		resp.Diagnostics.AddError(summary, fmt.Sprintf("%s mapping %s is in use by %s: remove it from them first (PVE would delete it and leave them unable to start)",
			r.spec.kind, id, strings.Join(users, ", ")))
		return
	}
	if err := c.DeleteMapping(ctx, r.spec.kind, id); err != nil && !errors.Is(err, pve.ErrNotFound) {
		resp.Diagnostics.AddError(summary, err.Error())
	}
}

func (r *mappingResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if !mappingNameRE.MatchString(req.ID) {
		resp.Diagnostics.AddError("Invalid Import ID", fmt.Sprintf("expected a mapping name such as gpu, got %q", req.ID))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), req.ID)...)
}

// checkNodes runs PVE's check of each entry against its node's hardware,
// and the kind's own checks; what they find are warnings.
func (r *mappingResource) checkNodes(ctx context.Context, c *pve.Client, m mappingModel, diags *diag.Diagnostics) {
	id := m.Name.ValueString()
	entries := m.entries()
	for _, e := range entries {
		node := entryNode(e)
		checks, err := c.CheckMapping(ctx, r.spec.kind, id, node)
		if err != nil {
			diags.AddWarning("Mapping Not Checked", fmt.Sprintf("%s mapping %s could not be checked on node %s: %s", r.spec.kind, id, node, err))
			continue
		}
		for _, ch := range checks {
			diags.AddAttributeWarning(path.Root("map"), "Mapping Does Not Match the Hardware",
				fmt.Sprintf("%s mapping %s on node %s (%s): %s", r.spec.kind, id, node, ch.Severity, strings.TrimSpace(ch.Message)))
		}
	}
	if r.spec.check != nil {
		r.spec.check(ctx, c, entries, diags)
	}
}

// mappingUsers lists the VMs whose configuration uses a mapping in one of
// their slot keys ("VM 100 (hostpci0)").
func mappingUsers(ctx context.Context, c *pve.Client, slot, id string) ([]string, error) {
	guests, err := c.ClusterResources(ctx, "vm")
	if err != nil {
		return nil, err
	}
	var users []string
	for _, g := range guests {
		if g.Type != string(pve.QEMU) {
			continue
		}
		cfg, err := c.GuestConfig(ctx, pve.QEMU, g.Node, g.VMID, false)
		if errors.Is(err, pve.ErrNotFound) {
			continue // gone meanwhile
		}
		if err != nil {
			return nil, err
		}
		var keys []string
		for key, value := range cfg.Values {
			if !strings.HasPrefix(key, slot) {
				continue
			}
			if p, err := pve.ParsePropertyString(value, "host"); err == nil && p.Value("mapping") == id {
				keys = append(keys, key)
			}
		}
		if len(keys) > 0 {
			slices.Sort(keys)
			users = append(users, fmt.Sprintf("VM %d (%s) on %s", g.VMID, strings.Join(keys, ", "), g.Node))
		}
	}
	slices.Sort(users)
	return users, nil
}
