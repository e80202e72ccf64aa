package network

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
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

// ifaceModel holds what bridges, bonds and VLANs have in common. Each
// resource's model embeds it.
type ifaceModel struct {
	ID        types.String `tfsdk:"id"`
	Node      types.String `tfsdk:"node"`
	Name      types.String `tfsdk:"name"`
	MTU       types.Int64  `tfsdk:"mtu"`
	CIDR      types.String `tfsdk:"cidr"`
	Gateway   types.String `tfsdk:"gateway"`
	CIDR6     types.String `tfsdk:"cidr6"`
	Gateway6  types.String `tfsdk:"gateway6"`
	Autostart types.Bool   `tfsdk:"autostart"`
	Comment   types.String `tfsdk:"comment"`
	Active    types.Bool   `tfsdk:"active"`
	Pending   types.Bool   `tfsdk:"pending"`
	// AllowManagementAddressChange is the opt-in of management.go; the
	// provider only reads it.
	AllowManagementAddressChange types.Bool `tfsdk:"allow_management_address_change"`
}

// ifaceAttributes are the schema attributes of ifaceModel; kind ("bridge")
// and check (its name rule) describe the name.
func ifaceAttributes(kind, nameDescription string, check func(string) error) map[string]schema.Attribute {
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	return map[string]schema.Attribute{
		"id": schema.StringAttribute{
			Description:   "`<node>:<name>`, also the import ID.",
			Computed:      true,
			PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
		},
		"node": schema.StringAttribute{
			Description:   "Node whose network this " + kind + " belongs to. Changing it replaces the " + kind + ".",
			Required:      true,
			PlanModifiers: replace,
			Validators:    []validator.String{framework.StringCheck("must be a node name", pve.CheckNodeName)},
		},
		"name": schema.StringAttribute{
			Description:   nameDescription + " Changing it replaces the " + kind + ".",
			Required:      true,
			PlanModifiers: replace,
			Validators:    []validator.String{framework.StringCheck("must be a valid "+kind+" name", check)},
		},
		"mtu": schema.Int64Attribute{
			Description: "MTU, 1280 to 65520 (9000 for jumbo frames). Unset: the kernel's default (1500).",
			Optional:    true,
			Validators:  []validator.Int64{int64validator.Between(1280, 65520)},
		},
		"cidr": schema.StringAttribute{
			Description: "IPv4 address with prefix length, e.g. `192.168.1.11/24`.",
			Optional:    true,
			Validators:  []validator.String{framework.StringCheck("must be an IPv4 CIDR", checkCIDR4)},
		},
		"gateway": schema.StringAttribute{
			Description: "IPv4 default gateway; must lie inside `cidr`. A node has one default gateway.",
			Optional:    true,
			Validators:  []validator.String{framework.StringCheck("must be an IPv4 address", checkIP4)},
		},
		"cidr6": schema.StringAttribute{
			Description: "IPv6 address with prefix length, e.g. `2001:db8::11/64`.",
			Optional:    true,
			Validators:  []validator.String{framework.StringCheck("must be an IPv6 CIDR", checkCIDR6)},
		},
		"gateway6": schema.StringAttribute{
			Description: "IPv6 default gateway; must lie inside `cidr6`.",
			Optional:    true,
			Validators:  []validator.String{framework.StringCheck("must be an IPv6 address", checkIP6)},
		},
		"autostart": schema.BoolAttribute{
			Description: "Bring the interface up at boot and on reload (`auto` line). Only autostarted interfaces are " +
				"brought up by a reload. Unset: as PVE has it (off for new interfaces).",
			Optional: true,
			Computed: true,
		},
		"comment": schema.StringAttribute{
			Description: "Comment.",
			Optional:    true,
		},
		"active": schema.BoolAttribute{
			Description: "Whether the interface is up. After an apply the node's reload may still be running; the " +
				"next refresh reports the outcome, and an autostarted interface that is not up plans an update.",
			Computed: true,
		},
		allowMgmtAttr: allowMgmtAttribute,
		"pending": schema.BoolAttribute{
			Description: "Whether the node holds staged changes of this interface that are not active yet " +
				"(`/etc/network/interfaces.new`). A pending interface plans an update, which reloads the node.",
			Computed: true,
		},
	}
}

// params sets the common PVE keys of m and, with the prior state of an
// update, lists the keys to clear in "delete".
func (m *ifaceModel) params(p url.Values, prior *ifaceModel) {
	set := func(key string, v attr.Value, text string) {
		if !v.IsNull() && !v.IsUnknown() {
			p.Set(key, text)
		}
	}
	set("mtu", m.MTU, strconv.FormatInt(m.MTU.ValueInt64(), 10))
	set("cidr", m.CIDR, m.CIDR.ValueString())
	set("gateway", m.Gateway, m.Gateway.ValueString())
	set("cidr6", m.CIDR6, m.CIDR6.ValueString())
	set("gateway6", m.Gateway6, m.Gateway6.ValueString())
	// Autostart is the stanza's "auto" line: false is its absence.
	if m.Autostart.ValueBool() {
		p.Set("autostart", "1")
	}
	set("comments", m.Comment, m.Comment.ValueString())
	if prior == nil {
		return
	}
	clear := func(key string, now, before attr.Value) {
		if now.IsNull() && !before.IsNull() {
			p.Add("delete", key)
		}
	}
	clear("mtu", m.MTU, prior.MTU)
	clear("cidr", m.CIDR, prior.CIDR)
	clear("gateway", m.Gateway, prior.Gateway)
	clear("cidr6", m.CIDR6, prior.CIDR6)
	clear("gateway6", m.Gateway6, prior.Gateway6)
	clear("comments", m.Comment, prior.Comment)
	if !m.Autostart.IsUnknown() && !m.Autostart.IsNull() && !m.Autostart.ValueBool() && prior.Autostart.ValueBool() {
		p.Add("delete", "autostart")
	}
}

// joinDeletes turns the repeated "delete" keys into PVE's one list.
func joinDeletes(p url.Values) {
	if d := p["delete"]; len(d) > 0 {
		p.Set("delete", strings.Join(d, ","))
	}
}

// fromAPI sets the common fields from what PVE reports.
func (m *ifaceModel) fromAPI(node string, n *pve.NetworkInterface, pending bool) {
	m.ID = types.StringValue(node + ":" + n.Iface)
	m.Node = types.StringValue(node)
	m.Name = types.StringValue(n.Iface)
	m.MTU = optInt(n.MTU)
	m.CIDR = optString(n.IPv4())
	m.Gateway = optString(n.Gateway)
	m.CIDR6 = optString(n.IPv6())
	m.Gateway6 = optString(n.Gateway6)
	m.Autostart = types.BoolValue(bool(n.Autostart))
	m.Comment = optString(n.Comment())
	m.Active = types.BoolValue(bool(n.Active))
	m.Pending = types.BoolValue(pending)
}

func optString(s string) types.String {
	if s == "" {
		return types.StringNull()
	}
	return types.StringValue(s)
}

func optInt(i pve.Int) types.Int64 {
	if i == 0 {
		return types.Int64Null()
	}
	return types.Int64Value(int64(i))
}

// listFromAPI is a list of strings PVE reports; an empty list in the
// configuration stays empty rather than turning null.
func listFromAPI(items []string, prior types.List) types.List {
	if len(items) == 0 {
		if !prior.IsNull() && !prior.IsUnknown() && len(prior.Elements()) == 0 {
			return prior
		}
		return types.ListNull(types.StringType)
	}
	vals := make([]attr.Value, len(items))
	for i, s := range items {
		vals[i] = types.StringValue(s)
	}
	return types.ListValueMust(types.StringType, vals)
}

// listText joins a list attribute into PVE's space-separated form.
func listText(ctx context.Context, l types.List, diags *diag.Diagnostics) string {
	var items []string
	diags.Append(l.ElementsAs(ctx, &items, false)...)
	return strings.Join(items, " ")
}

// checkAddressing reports gateways outside their CIDR, and gateways
// without one.
func (m *ifaceModel) checkAddressing(diags *diag.Diagnostics) {
	pairs := []struct {
		gw, cidr         types.String
		gwAttr, cidrAttr string
	}{
		{m.Gateway, m.CIDR, "gateway", "cidr"},
		{m.Gateway6, m.CIDR6, "gateway6", "cidr6"},
	}
	for _, p := range pairs {
		if p.gw.IsNull() || p.gw.IsUnknown() || p.cidr.IsUnknown() {
			continue
		}
		if p.cidr.IsNull() {
			diags.AddAttributeError(path.Root(p.gwAttr), "Gateway Without Address",
				fmt.Sprintf("%s needs %s: a gateway must lie inside the interface's network", p.gwAttr, p.cidrAttr))
			continue
		}
		if err := checkGatewayInCIDR(p.gw.ValueString(), p.cidr.ValueString()); err != nil {
			diags.AddAttributeError(path.Root(p.gwAttr), "Gateway Outside Network", err.Error())
		}
	}
}

// readNode reads a node's network configuration; typ filters by type. With
// settle, the node's scheduled reload runs first, so the answer is what is
// active; a failed reload becomes a warning, since the state it left is
// what the read reports.
func readNode(ctx context.Context, c *pve.Client, node, typ string, settle bool, diags *diag.Diagnostics) (*pve.NetworkConfig, error) {
	if err := settleNode(ctx, c, node, settle, diags); err != nil {
		return nil, err
	}
	return c.NetworkConfig(ctx, node, typ)
}

// readNodeShared is readNode of all interfaces, from the node's list shared
// by the reads of one run.
func readNodeShared(ctx context.Context, c *pve.Client, node string, settle bool, diags *diag.Diagnostics) (*pve.NetworkConfig, error) {
	if err := settleNode(ctx, c, node, settle, diags); err != nil {
		return nil, err
	}
	return c.NetworkConfigShared(ctx, node)
}

// settleNode runs the node's scheduled reload when settle is set.
func settleNode(ctx context.Context, c *pve.Client, node string, settle bool, diags *diag.Diagnostics) error {
	if !settle {
		return nil
	}
	if err := c.SettleNetwork(ctx, node); err != nil {
		if ctx.Err() != nil {
			return err
		}
		diags.AddWarning("Network Reload Failed",
			fmt.Sprintf("The last network reload of node %s failed; its interfaces are read as they are now.\n\n%s", node, err))
	}
	return nil
}

// findInterface reads one interface of a node with readNode, from the
// node's list shared by the reads of one run (pve.NetworkConfigShared: a
// refresh of many interfaces of a node reads it once). A missing interface
// is pve.ErrNotFound.
func findInterface(ctx context.Context, c *pve.Client, node, name string, settle bool, diags *diag.Diagnostics) (*pve.NetworkInterface, *pve.NetworkConfig, error) {
	cfg, err := readNodeShared(ctx, c, node, settle, diags)
	if err != nil {
		return nil, nil, err
	}
	iface := cfg.Interface(name)
	if iface == nil {
		return nil, cfg, fmt.Errorf("interface %s on node %s: %w", name, node, pve.ErrNotFound)
	}
	return iface, cfg, nil
}

// privateApplied is the private state key that marks a state written by an
// apply, before the refresh that settles the node.
const privateApplied = "applied"

// planActivation plans an update of an interface that is not what it should
// be: staged but not reloaded, or autostarted but not up. Marking active and
// pending unknown gives Terraform a diff, and the update reloads the node.
func planActivation(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.State.Raw.IsNull() || req.Plan.Raw.IsNull() {
		return
	}
	var active, pending, autostart types.Bool
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("active"), &active)...)
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("pending"), &pending)...)
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("autostart"), &autostart)...)
	if resp.Diagnostics.HasError() {
		return
	}
	// Straight after an apply the node's reload may not have run yet: the
	// state says so until a refresh has settled the node and read it again.
	if applied, _ := req.Private.GetKey(ctx, privateApplied); string(applied) == "true" {
		return
	}
	if pending.ValueBool() || (autostart.ValueBool() && !active.IsNull() && !active.ValueBool()) {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("active"), types.BoolUnknown())...)
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("pending"), types.BoolUnknown())...)
	}
}

// importInterface imports "node:name".
func importInterface(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	node, name, ok := strings.Cut(req.ID, ":")
	if !ok || node == "" || name == "" || pve.CheckNodeName(node) != nil {
		resp.Diagnostics.AddError("Invalid Import ID",
			fmt.Sprintf("expected <node>:<interface>, e.g. pve1:vmbr0, got %q", req.ID))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("node"), node)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), name)...)
}

// notFound reports whether err means the interface is gone.
func notFound(err error) bool {
	return errors.Is(err, pve.ErrNotFound)
}
