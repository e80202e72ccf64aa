package guest

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

// How pve_vm and pve_container share a guest with pve_ha_resource.
//
// While a guest is HA-managed (it has an HA resource whose requested state
// is not "ignored"), PVE's HA manager decides where it runs and whether it
// runs: it restarts it, recovers it to another node when its node fails,
// and PVE turns the guest API's start, stop and migrate into requests to
// HA that take effect some manager rounds later (qemu-server's vm_start,
// vm_stop, migrate_vm; pve-container's the same). So for such a guest:
//
//   - `started` follows HA: the run state is pve_ha_resource's `state`.
//     Refresh keeps `started` as it was instead of reporting HA's doing as
//     drift, the provider never starts or stops the guest, and a change of
//     `started` is refused at plan time.
//   - `node` is where the configuration put it. After a failover or an HA
//     migration done elsewhere, refresh keeps it (the provider finds the
//     guest wherever it is) and no plan moves it back, which could mean
//     moving it to a node that is still down. Changing `node` in the
//     configuration asks HA to migrate it (as PVE does for the guest API's
//     migrate) and waits until HA has moved it.
//
// Once the HA resource is gone (or ignored), both attributes are the
// guest's own again.

// HAManaged reports whether HA manages the guest (PVE's
// vm_is_ha_managed).
func HAManaged(ctx context.Context, c Client, kind pve.GuestKind, vmid int) (bool, error) {
	return c.GuestHAManaged(ctx, kind, vmid)
}

// KeepHAOwned keeps node and started at their prior values for an
// HA-managed guest (after a read that set them from what PVE reports).
// Null prior values (an import) take what PVE reports.
func KeepHAOwned(managed bool, node *types.String, started *types.Bool, priorNode types.String, priorStarted types.Bool) {
	if !managed {
		return
	}
	if !priorNode.IsNull() && !priorNode.IsUnknown() {
		*node = priorNode
	}
	if !priorStarted.IsNull() && !priorStarted.IsUnknown() {
		*started = priorStarted
	}
}

// CheckHAOwnedPlan refuses, at plan time, a change of `started` for a guest
// that HA manages. It asks PVE only when `started` changes.
func CheckHAOwnedPlan(ctx context.Context, c Client, kind pve.GuestKind, vmid int, plan, state types.Bool, diags *diag.Diagnostics) {
	if plan.IsUnknown() || plan.IsNull() || plan.Equal(state) {
		return
	}
	managed, err := c.GuestHAManaged(ctx, kind, vmid)
	if err != nil {
		diags.AddWarning("Unable to Read the HA Resources", err.Error())
		return
	}
	if managed {
		sid := pve.HASID(kind, vmid)
		diags.AddAttributeError(path.Root("started"), "Run State Owned by HA",
			fmt.Sprintf("%s %d is HA-managed (%s): HA starts and stops it. Set the `state` of its pve_ha_resource instead "+
				"(started, stopped), or remove the HA resource to manage `started` here.", kind.Noun(), vmid, sid))
	}
}

// MigrateThroughHA migrates an HA-managed guest: PVE turns the migration
// into a request to HA (an hamigrate task that ends at once), so it then
// waits until HA has moved the guest to target.
func MigrateThroughHA(ctx context.Context, c Client, kind pve.GuestKind, node string, vmid int, target string, running bool) error {
	if _, err := c.MigrateGuest(ctx, kind, node, vmid, target, running); err != nil {
		return err
	}
	return c.WaitHAMigration(ctx, pve.HASID(kind, vmid), target)
}

// isRunning reports whether the guest runs, from its live status.
func isRunning(ctx context.Context, c Client, kind pve.GuestKind, node string, vmid int) (bool, error) {
	st, err := c.GuestCurrentStatus(ctx, kind, node, vmid)
	if err != nil {
		return false, err
	}
	return st.Status == "running", nil
}

// waitStopped waits until the guest no longer runs: at once after a
// stop task, rounds later when the guest is HA-managed and the stop was an
// hastop (a request to HA). HA may move the guest meanwhile, so it is
// looked up each time.
func waitStopped(ctx context.Context, c Client, kind pve.GuestKind, vmid int) error {
	wait := pve.HAPollInterval / 4
	for {
		guest, err := c.FindGuest(ctx, vmid)
		if err != nil {
			return err
		}
		running, err := isRunning(ctx, c, kind, guest.Node, vmid)
		if err != nil || !running {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s %d to stop: %w", kind.Noun(), vmid, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, pve.HAPollInterval)
	}
}
