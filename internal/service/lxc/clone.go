package lxc

import (
	"context"
	"net/url"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/hcilab/terraform-provider-pve/internal/framework/guest"
	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

// cloneModel is where a container is cloned from.
type cloneModel struct {
	SourceVMID    types.Int64  `tfsdk:"source_vmid"`
	Full          types.Bool   `tfsdk:"full"`
	TargetStorage types.String `tfsdk:"target_storage"`
	Snapshot      types.String `tfsdk:"snapshot"`
}

// createClone clones the source, then converges the clone to the plan as
// an update would: what the clone brought is the prior state.
func (r *containerResource) createClone(ctx context.Context, c *pve.Client, plan *containerModel, resp *resource.CreateResponse) {
	params := url.Values{}
	for key, v := range map[string]types.String{"hostname": plan.Hostname, "description": plan.Description} {
		if !v.IsNull() && !v.IsUnknown() {
			params.Set(key, v.ValueString())
		}
	}
	vmid, cloned := guest.Clone(ctx, c, guest.CloneSource{Kind: pve.LXC, SourceVMID: plan.Clone.SourceVMID.ValueInt64(),
		Full: plan.Clone.Full, TargetStorage: plan.Clone.TargetStorage, Snapshot: plan.Clone.Snapshot,
		Node: plan.Node.ValueString(), VMID: plan.VMID, Pool: plan.Pool, Params: params}, &resp.State, &resp.Diagnostics)
	if !cloned {
		return
	}
	plan.VMID = types.Int64Value(int64(vmid))
	prior := containerModel{VMID: plan.VMID}
	r.readInto(ctx, c, &prior, "Create", &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	// Unset volumes and NICs are the clone's.
	if plan.RootFS.IsNull() || plan.RootFS.IsUnknown() {
		plan.RootFS = prior.RootFS
	}
	if !managed(plan.MountPoints) {
		plan.MountPoints = prior.MountPoints
	}
	if !managed(plan.Network) {
		plan.Network = prior.Network
	}
	guest.Converge(ctx, c, r.change(ctx, plan, &prior, "Create", &resp.Diagnostics), &resp.Diagnostics)
	// The clone exists: it goes into the state even when converging
	// failed, so that it is not left behind unknown to Terraform.
	r.readInto(ctx, c, plan, "Create", &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}
