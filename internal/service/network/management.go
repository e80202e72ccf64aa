package network

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// An edit that removes the address the provider and the cluster reach a
// node through cuts the node off when it goes live: its API is gone (and
// with it the way to undo the edit), calls the cluster forwards to it
// fail, and corosync may lose it. So a plan that would do it is an error
// unless the interface opts in with allow_management_address_change.

const allowMgmtAttr = "allow_management_address_change"

// allowMgmtAttribute is the opt-in's schema attribute.
var allowMgmtAttribute = schema.BoolAttribute{
	Description: "Allow a plan that removes or changes this interface's address while it is the address the provider " +
		"and the cluster reach the node through (the node's IP in `/cluster/status`, or the provider endpoint's host), " +
		"or that destroys, replaces or stops autostarting such an interface. Without it such a plan is an error: " +
		"once the node's network is reloaded its API is unreachable until someone restores the address at its " +
		"console. To destroy such an interface, set it and apply first, so that the state holds it.",
	Optional: true,
}

// addrSide is what the state or the plan says of an interface's
// addressing.
type addrSide struct {
	Node, Name, CIDR, CIDR6 types.String
	Autostart, Allow        types.Bool
}

// attrGetter is a plan or a state.
type attrGetter interface {
	GetAttribute(context.Context, path.Path, any) diag.Diagnostics
}

// getAddrSide reads the addressing of a plan or state; what cannot be read
// stays null, and the check passes it by.
func getAddrSide(ctx context.Context, g attrGetter) addrSide {
	var s addrSide
	g.GetAttribute(ctx, path.Root("node"), &s.Node)
	g.GetAttribute(ctx, path.Root("name"), &s.Name)
	g.GetAttribute(ctx, path.Root("cidr"), &s.CIDR)
	g.GetAttribute(ctx, path.Root("cidr6"), &s.CIDR6)
	g.GetAttribute(ctx, path.Root("autostart"), &s.Autostart)
	g.GetAttribute(ctx, path.Root(allowMgmtAttr), &s.Allow)
	return s
}

// addrs returns the addresses of the interface's CIDRs.
func (s addrSide) addrs() []netip.Addr {
	var out []netip.Addr
	for _, v := range []types.String{s.CIDR, s.CIDR6} {
		if v.IsNull() || v.IsUnknown() {
			continue
		}
		if p, err := netip.ParsePrefix(v.ValueString()); err == nil {
			out = append(out, p.Addr().Unmap())
		}
	}
	return out
}

// removedAddrs returns the addresses of prior that plan (nil: destroy)
// removes: all of them when the interface goes, is replaced, or stops
// autostarting; else those its CIDRs no longer have. A CIDR not known yet
// is taken as kept: it is checked when it is known, at apply's plan.
func removedAddrs(prior addrSide, plan *addrSide) []netip.Addr {
	old := prior.addrs()
	if plan == nil || plan.Node.ValueString() != prior.Node.ValueString() || plan.Name.ValueString() != prior.Name.ValueString() ||
		(prior.Autostart.ValueBool() && !plan.Autostart.IsUnknown() && !plan.Autostart.ValueBool()) {
		return old
	}
	if plan.CIDR.IsUnknown() || plan.CIDR6.IsUnknown() {
		return nil
	}
	kept := plan.addrs()
	return slices.DeleteFunc(old, func(a netip.Addr) bool { return slices.Contains(kept, a) })
}

// checkManagementAddress refuses a plan that removes the address the
// provider reaches the interface's node through, unless the interface opts
// in. When the node cannot be asked (not reachable at plan time), there is
// nothing to check against.
func (r *ifaceResource[M, PM]) checkManagementAddress(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.State.Raw.IsNull() {
		return
	}
	prior := getAddrSide(ctx, req.State)
	var plan *addrSide
	allow := prior.Allow
	if !req.Plan.Raw.IsNull() {
		s := getAddrSide(ctx, req.Plan)
		plan, allow = &s, s.Allow
	}
	removed := removedAddrs(prior, plan)
	if len(removed) == 0 || allow.ValueBool() || r.data == nil || r.data.PVE == nil {
		return
	}
	c, err := r.data.PVE.Client(ctx)
	if err != nil {
		return
	}
	node := prior.Node.ValueString()
	mgmt, err := c.ManagementAddresses(ctx, node)
	if err != nil {
		resp.Diagnostics.AddWarning("Management Address Not Checked",
			fmt.Sprintf("Could not read how node %s is reached (%s), so this plan was not checked for removing its management address.", node, err))
		return
	}
	var hit []string
	for _, a := range removed {
		if slices.Contains(mgmt, a) {
			hit = append(hit, a.String())
		}
	}
	if len(hit) == 0 {
		return
	}
	what := "changes or removes its address"
	switch {
	case plan == nil:
		what = "destroys it"
	case removedAll(prior, plan):
		what = "replaces it or stops autostarting it"
	}
	resp.Diagnostics.AddAttributeError(path.Root("cidr"), "Plan Removes the Node's Management Address",
		fmt.Sprintf("%s on node %s carries %s, the address the provider and the cluster reach %s through, and this plan %s. "+
			"Once the node's network is reloaded its API is unreachable, and only its console can bring it back. "+
			"Move the address to its new interface first, or set %s = true on this interface to do it anyway.",
			prior.Name.ValueString(), node, strings.Join(hit, ", "), node, what, allowMgmtAttr))
}

// removedAll reports whether plan takes the whole interface away (replace
// or no autostart) rather than changing its address.
func removedAll(prior addrSide, plan *addrSide) bool {
	return plan.Node.ValueString() != prior.Node.ValueString() || plan.Name.ValueString() != prior.Name.ValueString() ||
		(prior.Autostart.ValueBool() && !plan.Autostart.IsUnknown() && !plan.Autostart.ValueBool())
}
