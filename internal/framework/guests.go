package framework

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

// SettleNetwork brings the network edits this run staged on node live
// before a guest is plugged into bridges, when they touch one of them; a
// guest on bridges the run did not touch reloads nothing. A failed reload,
// or bridges that will not go live because an edit of the node failed, are
// a warning here: the guest's own errors say what it means for it.
func SettleNetwork(ctx context.Context, c *pve.Client, node string, bridges []string, diags *diag.Diagnostics) {
	if len(bridges) == 0 {
		return
	}
	if err := c.SettleNetwork(ctx, node, bridges...); err != nil && ctx.Err() == nil {
		diags.AddWarning("Network Reload Failed", fmt.Sprintf("The bridges %s of node %s may not be live: %s",
			strings.Join(bridges, ", "), node, err))
	}
}

// firstValues turns parameters into one value per key.
func firstValues(p url.Values) map[string]string {
	out := make(map[string]string, len(p))
	for k, v := range p {
		if len(v) > 0 {
			out[k] = v[0]
		}
	}
	return out
}

// SettleGuestNetwork is SettleNetwork for the bridges of the NICs among a
// guest's create or config parameters.
func SettleGuestNetwork(ctx context.Context, c *pve.Client, node string, p url.Values, diags *diag.Diagnostics) {
	SettleNetwork(ctx, c, node, pve.GuestBridges(firstValues(p)), diags)
}

// TaskWarnings turns a task that ended with "WARNINGS: n" into a Terraform
// warning carrying the end of its log; what names the task ("VM 100 was
// created").
func TaskWarnings(res *pve.TaskResult, what string, diags *diag.Diagnostics) {
	if res == nil || res.Warnings == 0 {
		return
	}
	diags.AddWarning("Task Finished With Warnings", what+" with warnings:\n\n"+strings.Join(res.LogTail, "\n"))
}

// TagText renders a set of tags as PVE's sorted, semicolon-separated list.
func TagText(ctx context.Context, s types.Set, diags *diag.Diagnostics) string {
	var tags []string
	diags.Append(s.ElementsAs(ctx, &tags, false)...)
	slices.Sort(tags)
	return strings.Join(tags, ";")
}

// The life cycle that VMs and containers share: allocating a VM ID,
// applying a configuration change, the run state, deleting, importing.

// CreateGuestWithID runs create with the planned VM ID, or with a newly
// allocated one when the plan leaves it unset, and returns the ID used.
func CreateGuestWithID(ctx context.Context, c *pve.Client, vmid types.Int64, create func(vmid int) error) (int, error) {
	if vmid.IsNull() || vmid.IsUnknown() {
		return c.CreateWithNewVMID(ctx, create)
	}
	return int(vmid.ValueInt64()), create(int(vmid.ValueInt64()))
}

// SlotParams sets the devices of plan (slot to PVE value) that are new or
// changed since prior; with managed it also deletes the slots plan no
// longer has. An unmanaged map (unset in the configuration) adds and
// changes but never deletes.
func SlotParams(plan, prior map[string]string, managed bool, p url.Values) {
	for _, slot := range slices.Sorted(maps.Keys(plan)) {
		if old, exists := prior[slot]; !exists || plan[slot] != old {
			p.Set(slot, plan[slot])
		}
	}
	if managed {
		for _, slot := range slices.Sorted(maps.Keys(prior)) {
			if _, kept := plan[slot]; !kept {
				p.Add("delete", slot)
			}
		}
	}
}

// ApplyGuestConfig sends a configuration change built on a digest (the
// repeated "delete" values joined as PVE wants them), when it changes
// anything. Bridges staged on the node are brought up first: hot-plugged
// NICs need them.
func ApplyGuestConfig(ctx context.Context, c *pve.Client, kind pve.GuestKind, node string, vmid int, p url.Values, diags *diag.Diagnostics) error {
	if dels := p["delete"]; len(dels) > 0 {
		p.Set("delete", strings.Join(dels, ","))
	}
	if len(p) <= 1 && p.Has("digest") || len(p) == 0 {
		return nil
	}
	SettleGuestNetwork(ctx, c, node, p, diags)
	if _, err := c.UpdateGuestConfig(ctx, kind, node, vmid, p); err != nil {
		return fmt.Errorf("changing the configuration: %w", err)
	}
	return nil
}

// SetRunState starts or shuts down the guest as started says and reports
// whether it was left running as it was (the case in which changes may
// wait for its next start).
func SetRunState(ctx context.Context, c *pve.Client, kind pve.GuestKind, node string, vmid int, started bool, diags *diag.Diagnostics) (stillRunning bool, err error) {
	st, err := c.GuestCurrentStatus(ctx, kind, node, vmid)
	if err != nil {
		return false, err
	}
	running := st.Status == "running"
	switch {
	case started && !running:
		// Only when this run staged network edits on the node is the
		// guest's configuration read, for the bridges it starts on.
		if c.StagedThisRun(node) {
			if cfg, err := c.GuestConfig(ctx, kind, node, vmid, false); err == nil {
				SettleNetwork(ctx, c, node, pve.GuestBridges(cfg.Values), diags)
			}
		}
		if _, err := c.GuestAction(ctx, kind, node, vmid, "start", nil); err != nil {
			return false, fmt.Errorf("starting: %w", err)
		}
		return false, nil
	case !started && running:
		if _, err := c.GuestAction(ctx, kind, node, vmid, "shutdown", url.Values{"forceStop": {"1"}, "timeout": {"120"}}); err != nil {
			return false, fmt.Errorf("shutting down: %w", err)
		}
		return false, nil
	}
	return running, nil
}

// PendingKeys lists the configuration keys of a running guest that wait
// for its next start, sorted.
func PendingKeys(ctx context.Context, c *pve.Client, kind pve.GuestKind, node string, vmid int) ([]string, error) {
	pending, err := c.GuestPending(ctx, kind, node, vmid)
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, item := range pending {
		if item.Pending != nil || item.Delete != 0 {
			keys = append(keys, item.Key)
		}
	}
	slices.Sort(keys)
	return keys, nil
}

// ReadGuest finds the guest a resource's state names, with its
// configuration, in one lookup; a guest that is gone (or whose ID now
// belongs to a guest of the other kind) is removed from the state (ok
// false, no error).
func ReadGuest(ctx context.Context, c *pve.Client, kind pve.GuestKind, vmid types.Int64, state *tfsdk.State, summary string,
	diags *diag.Diagnostics) (guest *pve.ClusterResource, cfg *pve.GuestConfig, ok bool) {
	guest, cfg, err := c.FindGuestConfig(ctx, kind, int(vmid.ValueInt64()))
	if err != nil {
		if errors.Is(err, pve.ErrNotFound) {
			state.RemoveResource(ctx)
		} else {
			diags.AddError(summary, err.Error())
		}
		return nil, nil, false
	}
	return guest, cfg, true
}

// SaveAcceptedCreate records a guest whose create or clone PVE accepted (it
// answered with a task) but that did not end well, or was not waited for
// to its end: the guest may exist under vmid on node. Its ID goes into the
// state with the error, so that Terraform keeps it as a tainted resource
// that the next apply replaces, instead of an orphan that it would
// duplicate (an allocated VMID) or trip over ("already exists").
func SaveAcceptedCreate(ctx context.Context, err error, vmid int, node string, state *tfsdk.State, diags *diag.Diagnostics) {
	var accepted *pve.AcceptedError
	if vmid <= 0 || !errors.As(err, &accepted) {
		return
	}
	diags.Append(state.SetAttribute(ctx, path.Root("vmid"), int64(vmid))...)
	diags.Append(state.SetAttribute(ctx, path.Root("node"), node)...)
	diags.AddWarning("Guest Recorded as Tainted",
		fmt.Sprintf("PVE accepted the create of guest %d on node %s, but it did not finish well: the guest may exist. It is "+
			"in the state as tainted, so the next apply removes whatever is left of it and creates it again.", vmid, node))
}

// GuestDeleteOptions are the choices a guest resource offers its delete.
type GuestDeleteOptions struct {
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

// DeleteGuest deletes a guest wherever it is now (a guest already gone is
// success). A protected guest is refused before anything is touched (PVE
// would refuse the delete, after the stop). A running guest is shut down
// gracefully, and stopped when it has not within the timeout (PVE's
// shutdown with forceStop), before the delete.
func DeleteGuest(ctx context.Context, c *pve.Client, kind pve.GuestKind, vmid int, opts GuestDeleteOptions, diags *diag.Diagnostics) {
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
		if _, err := c.GuestAction(ctx, kind, guest.Node, vmid, "shutdown", p); err != nil {
			diags.AddError(summary, fmt.Sprintf("shutting %s down first: %s", what, err))
			return
		}
		// an HA-managed guest's shutdown only asks HA (guest_ha.go)
		if err := WaitGuestStopped(ctx, c, kind, vmid); err != nil {
			diags.AddError(summary, fmt.Sprintf("shutting %s down first: %s", what, err))
			return
		}
	}
	if _, err := c.DeleteGuest(ctx, kind, guest.Node, vmid, opts.DestroyUnreferencedDisks); err != nil && !errors.Is(err, pve.ErrNotFound) {
		diags.AddError(summary, fmt.Sprintf("%s: %s", what, err))
	}
}

// RefuseProtectedRemoval is the plan-time half of DeleteGuest's protection
// check: destroying or replacing a guest whose state has protection = true
// is an error, before anything is stopped. replacing are the attributes
// whose change replaces the guest (a resource-level ModifyPlan does not see
// the attributes' RequiresReplace); a change from null is not counted, and
// DeleteGuest still refuses at apply what slips through.
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
// GuestDeleteOptions.DestroyUnreferencedDisks.
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

// GuestImportID reads an import ID, "<node>/<vmid>" or "<vmid>": the node
// is only a hint, the guest is found wherever it is.
func GuestImportID(id string) (int64, error) {
	s := id
	if _, after, ok := strings.Cut(s, "/"); ok {
		s = after
	}
	vmid, err := strconv.ParseInt(s, 10, 64)
	if err != nil || vmid < 100 {
		return 0, fmt.Errorf("expected <node>/<vmid> or <vmid>, e.g. pve1/100, got %q", id)
	}
	return vmid, nil
}
