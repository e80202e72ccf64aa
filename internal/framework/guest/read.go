package guest

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

// FromAPI is a resource's reading of a guest into its model: where the
// guest is and its status (found), and its configuration with pending
// changes applied.
type FromAPI func(found *pve.ClusterResource, cfg *pve.GuestConfig) error

// ReadBack reads the guest vmid into the resource's model (fromAPI) after
// a write, through the finder Read uses; action names the operation in
// errors ("Create").
func ReadBack(ctx context.Context, c Client, kind pve.GuestKind, vmid types.Int64, fromAPI FromAPI, action string, diags *diag.Diagnostics) {
	summary := "Unable to " + action + " " + kind.Title()
	found, cfg, err := c.FindGuestConfig(ctx, kind, int(vmid.ValueInt64()))
	if err != nil {
		diags.AddError(summary, err.Error())
		return
	}
	if err := fromAPI(found, cfg); err != nil {
		diags.AddError(summary, fmt.Sprintf("%s %d: %s", kind.Noun(), vmid.ValueInt64(), err))
	}
}

// Refresh is a guest resource's Read: it finds the guest vmid wherever it
// is, with its configuration, in one lookup, and reads it into the model
// (fromAPI, which sets node and started from what PVE reports). For a
// guest HA manages, node and started then keep their prior values (ha.go:
// HA's placement and run state are not drift). A guest that is gone (or
// whose ID now belongs to a guest of the other kind) is removed from the
// state; ok says whether the model is to be saved.
func Refresh(ctx context.Context, c Client, kind pve.GuestKind, vmid types.Int64, fromAPI FromAPI, node *types.String,
	started *types.Bool, state *tfsdk.State, diags *diag.Diagnostics) (ok bool) {
	summary := "Unable to Read " + kind.Title()
	found, cfg, err := c.FindGuestConfig(ctx, kind, int(vmid.ValueInt64()))
	if err != nil {
		if errors.Is(err, pve.ErrNotFound) {
			state.RemoveResource(ctx)
		} else {
			diags.AddError(summary, err.Error())
		}
		return false
	}
	priorNode, priorStarted := *node, *started
	if err := fromAPI(found, cfg); err != nil {
		diags.AddError(summary, fmt.Sprintf("%s %d: %s", kind.Noun(), found.VMID, err))
		return false
	}
	managed, err := c.GuestHAManaged(ctx, kind, found.VMID)
	if err != nil {
		diags.AddError(summary, fmt.Sprintf("%s %d: %s", kind.Noun(), found.VMID, err))
		return false
	}
	KeepHAOwned(managed, node, started, priorNode, priorStarted)
	return true
}

// Update runs the change ch (Converge) and reads the guest back into the
// resource's model (fromAPI), whose node and started keep their planned
// values while HA manages the guest. ok is false when the change failed:
// the state is then left as it was.
func Update(ctx context.Context, c Client, ch Change, fromAPI FromAPI, node *types.String, started *types.Bool,
	diags *diag.Diagnostics) (ok bool) {
	managed := Converge(ctx, c, ch, diags)
	if diags.HasError() {
		return false
	}
	wantNode, wantStarted := *node, *started
	ReadBack(ctx, c, ch.Kind, types.Int64Value(int64(ch.VMID)), fromAPI, ch.Action, diags)
	KeepHAOwned(managed, node, started, wantNode, wantStarted)
	return true
}
