package guest

import (
	"context"
	"fmt"
	"net/url"
	"strconv"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

// withID runs create with the planned VM ID, or with a newly allocated one
// when the plan leaves it unset, and returns the ID used.
func withID(ctx context.Context, c Client, vmid types.Int64, create func(vmid int) error) (int, error) {
	if vmid.IsNull() || vmid.IsUnknown() {
		return c.CreateWithNewVMID(ctx, create)
	}
	return int(vmid.ValueInt64()), create(int(vmid.ValueInt64()))
}

// NewGuest is a guest to create from scratch.
type NewGuest struct {
	Kind pve.GuestKind
	Node string
	// VMID is the planned VM ID; null or unknown: the next free one.
	VMID types.Int64
	// Params are the create's parameters but the VM ID, pool included.
	Params url.Values
	// Started says whether the guest is to run.
	Started bool
}

// Create creates the guest g (package doc, "Create and clone") and
// returns its VM ID, with created true when the guest exists: the resource
// then reads it back into its state, whatever else went wrong (a start
// that failed is an error in diags). A create PVE accepted but that did not
// end well is recorded in state as tainted (created false).
func Create(ctx context.Context, c Client, g NewGuest, state *tfsdk.State, diags *diag.Diagnostics) (vmid int, created bool) {
	summary := "Unable to Create " + g.Kind.Title()
	// Bridges this apply staged on the node must be up before the guest's
	// NICs are plugged into them: by the start that follows, or by PVE.
	settleParams(ctx, c, g.Node, g.Params, diags)
	var res *pve.TaskResult
	vmid, err := withID(ctx, c, g.VMID, func(vmid int) error {
		g.Params.Set("vmid", strconv.Itoa(vmid))
		var err error
		res, err = create(ctx, c, g.Kind, g.Node, vmid, g.Params, diags)
		return err
	})
	if err != nil {
		diags.AddError(summary, fmt.Sprintf("creating the %s on node %s: %s", g.Kind.Noun(), g.Node, err))
		SaveAcceptedCreate(ctx, err, vmid, g.Node, state, diags)
		return vmid, false
	}
	TaskWarnings(res, fmt.Sprintf("%s %d was created", g.Kind.Title(), vmid), diags)
	// Started separately rather than with the create's start=1: a guest that
	// cannot start is then an error that says why, not a create task that
	// ends with a warning.
	if g.Started {
		if err := start(ctx, c, g.Kind, g.Node, vmid, diags); err != nil {
			diags.AddError("Unable to Start "+g.Kind.Title(), fmt.Sprintf("%s %d was created but did not start: %s", g.Kind.Noun(), vmid, err))
		}
	}
	return vmid, true
}

// CloneSource is a clone to make: the resource's clone block, the planned
// node, VM ID and pool, and the kind's own parameters (its name,
// description).
type CloneSource struct {
	Kind          pve.GuestKind
	SourceVMID    int64
	Full          types.Bool
	TargetStorage types.String
	Snapshot      types.String
	// Node is where the clone goes; VMID is its planned ID (null or
	// unknown: the next free one); Pool is the pool it joins.
	Node string
	VMID types.Int64
	Pool types.String
	// Params are the kind's own parameters of the clone.
	Params url.Values
}

// Clone clones the source, found on whichever node it is, and returns the
// clone's VM ID, with cloned true when the clone exists; the resource then
// converges it to its plan as an update would. A clone PVE accepted but
// that did not end well is recorded in state as tainted (cloned false).
func Clone(ctx context.Context, c Client, s CloneSource, state *tfsdk.State, diags *diag.Diagnostics) (vmid int, cloned bool) {
	summary := "Unable to Create " + s.Kind.Title()
	src := int(s.SourceVMID)
	source, err := c.FindGuest(ctx, src)
	if err != nil {
		diags.AddError(summary, fmt.Sprintf("finding the clone source %d: %s", src, err))
		return 0, false
	}
	p := url.Values{}
	for k, v := range s.Params {
		p[k] = v
	}
	for key, v := range map[string]types.String{"pool": s.Pool, "storage": s.TargetStorage, "snapshot": s.Snapshot} {
		if !v.IsNull() && !v.IsUnknown() {
			p.Set(key, v.ValueString())
		}
	}
	if s.Node != source.Node {
		p.Set("target", s.Node)
	}
	if !s.Full.IsNull() && !s.Full.IsUnknown() {
		p.Set("full", map[bool]string{true: "1", false: "0"}[s.Full.ValueBool()])
	}
	vmid, err = withID(ctx, c, s.VMID, func(vmid int) error {
		p.Set("newid", strconv.Itoa(vmid))
		_, err := c.CloneGuest(ctx, s.Kind, source.Node, src, p)
		return err
	})
	if err != nil {
		diags.AddError(summary, fmt.Sprintf("cloning %s %d: %s", s.Kind.Noun(), src, err))
		SaveAcceptedCreate(ctx, err, vmid, s.Node, state, diags)
		return vmid, false
	}
	return vmid, true
}
