package guest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

// DeleteOptions are the choices a guest resource offers its delete.
type DeleteOptions struct {
	// DestroyUnreferencedDisks removes vm-<vmid>-* volumes no config
	// references, on every enabled storage (PVE's
	// destroy-unreferenced-disks; its web UI's default).
	DestroyUnreferencedDisks bool
	// ShutdownTimeout is how long a running guest gets to shut down
	// before it is stopped.
	ShutdownTimeout time.Duration
}

// DefaultShutdownTimeout is how long a running guest gets to shut down
// before its delete stops it.
const DefaultShutdownTimeout = 2 * time.Minute

// DestroyUnreferenced is the delete's destroy_unreferenced_disks as the
// state has it: null (a state written before the attribute existed) is
// its default, true.
func DestroyUnreferenced(v types.Bool) bool { return v.ValueBool() || v.IsNull() }

// Delete deletes a guest wherever it is now (a guest already gone is
// success). A protected guest is refused before anything is touched (PVE
// would refuse the delete, after the stop). A running guest is shut down
// gracefully, and stopped when it has not within the timeout (PVE's
// shutdown with forceStop), before the delete.
func Delete(ctx context.Context, c Client, kind pve.GuestKind, vmid int, opts DeleteOptions, diags *diag.Diagnostics) {
	what := fmt.Sprintf("%s %d", kind.Noun(), vmid)
	summary := "Unable to Delete " + kind.Title()
	guest, err := c.FindGuest(ctx, vmid)
	if errors.Is(err, pve.ErrNotFound) {
		return
	}
	if err != nil {
		diags.AddError(summary, err.Error())
		return
	}
	cfg, err := c.GuestConfig(ctx, kind, guest.Node, vmid, true)
	if errors.Is(err, pve.ErrNotFound) {
		return
	}
	if err != nil {
		diags.AddError(summary, err.Error())
		return
	}
	if v, _ := cfg.Get("protection"); v == "1" {
		diags.AddError(summary, fmt.Sprintf("%s has protection set, so PVE refuses to delete it: it was left as it is (not "+
			"stopped). Set protection = false and apply that first.", what))
		return
	}
	if guest.Status == "running" {
		timeout := opts.ShutdownTimeout
		if timeout <= 0 {
			timeout = DefaultShutdownTimeout
		}
		p := url.Values{"forceStop": {"1"}, "timeout": {strconv.Itoa(int(timeout.Seconds()))}}
		if err := shutdown(ctx, c, kind, guest.Node, vmid, p); err != nil {
			diags.AddError(summary, fmt.Sprintf("shutting %s down first: %s", what, err))
			return
		}
		// an HA-managed guest's shutdown only asks HA (ha.go)
		if err := waitStopped(ctx, c, kind, vmid); err != nil {
			diags.AddError(summary, fmt.Sprintf("shutting %s down first: %s", what, err))
			return
		}
	}
	if err := destroy(ctx, c, kind, guest.Node, vmid, opts.DestroyUnreferencedDisks); err != nil && !errors.Is(err, pve.ErrNotFound) {
		diags.AddError(summary, fmt.Sprintf("%s: %s", what, err))
	}
}

// RefuseProtectedRemoval is the plan-time half of Delete's protection
// check: destroying or replacing a guest whose state has protection = true
// is an error, before anything is stopped. replacing are the attributes
// whose change replaces the guest (a resource-level ModifyPlan does not see
// the attributes' RequiresReplace); a change from null is not counted, and
// Delete still refuses at apply what slips through.
func RefuseProtectedRemoval(ctx context.Context, kind pve.GuestKind, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse, replacing ...path.Path) {
	if req.State.Raw.IsNull() {
		return
	}
	var protected types.Bool
	var vmid types.Int64
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("protection"), &protected)...)
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("vmid"), &vmid)...)
	if !protected.ValueBool() {
		return
	}
	what := "destroys"
	if !req.Plan.Raw.IsNull() {
		replaced := false
		for _, p := range replacing {
			var planned, prior attr.Value
			resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, p, &planned)...)
			resp.Diagnostics.Append(req.State.GetAttribute(ctx, p, &prior)...)
			if planned != nil && prior != nil && !planned.IsUnknown() && !prior.IsNull() && !planned.Equal(prior) {
				replaced = true
			}
		}
		if !replaced {
			return
		}
		what = "replaces"
	}
	resp.Diagnostics.AddAttributeError(path.Root("protection"), kind.Title()+" Is Protected",
		fmt.Sprintf("This plan %s %s %d, which has protection = true: PVE refuses to delete it. Set protection = false and "+
			"apply that first.", what, kind.Noun(), vmid.ValueInt64()))
}

// DestroyUnreferencedDisksAttribute is the guest resources' switch for
// DeleteOptions.DestroyUnreferencedDisks.
func DestroyUnreferencedDisksAttribute(noun string) schema.BoolAttribute {
	return schema.BoolAttribute{
		Description: "When the " + noun + " is destroyed, also remove the `vm-<vmid>-*` volumes that no configuration " +
			"references, on every enabled storage, shared ones included (PVE's `destroy-unreferenced-disks`). Default true, " +
			"as in PVE's web UI; set false to keep such volumes.",
		Optional: true,
		Computed: true,
		Default:  booldefault.StaticBool(true),
	}
}
