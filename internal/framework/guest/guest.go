package guest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

// SettleNetwork brings the network edits this run staged on node live
// before a guest is plugged into bridges, when they touch one of them; a
// guest on bridges the run did not touch reloads nothing. A failed reload,
// or bridges that will not go live because an edit of the node failed, are
// a warning here: the guest's own errors say what it means for it.
func SettleNetwork(ctx context.Context, c Client, node string, bridges []string, diags *diag.Diagnostics) {
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

// settleParams is SettleNetwork for the bridges of the NICs among a
// guest's create or config parameters.
func settleParams(ctx context.Context, c Client, node string, p url.Values, diags *diag.Diagnostics) {
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

// ImportID reads an import ID, "<node>/<vmid>" or "<vmid>": the node is
// only a hint, the guest is found wherever it is.
func ImportID(id string) (int64, error) {
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

// ImportState imports a guest by its import ID (ImportID). The state gets
// the VM ID and the delete's default; the read that follows fills in the
// rest, node and started included, from what PVE reports (an HA-managed
// guest too: with no prior values, KeepHAOwned keeps nothing).
func ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	vmid, err := ImportID(req.ID)
	if err != nil {
		resp.Diagnostics.AddError("Invalid Import ID", err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("vmid"), vmid)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("destroy_unreferenced_disks"), true)...)
}
