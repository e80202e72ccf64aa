package vm

import (
	"context"
	"net/url"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/hcilab/terraform-provider-pve/internal/framework/guest"
	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

// cloneModel is where a VM is cloned from.
type cloneModel struct {
	SourceVMID    types.Int64  `tfsdk:"source_vmid"`
	Full          types.Bool   `tfsdk:"full"`
	TargetStorage types.String `tfsdk:"target_storage"`
	Snapshot      types.String `tfsdk:"snapshot"`
}

// createClone clones, then converges the clone to the plan as an update
// would: what the clone brought is the prior state.
func (r *vmResource) createClone(ctx context.Context, c *pve.Client, plan *vmModel, resp *resource.CreateResponse) {
	params := url.Values{}
	if !plan.Name.IsNull() && !plan.Name.IsUnknown() {
		params.Set("name", plan.Name.ValueString())
	}
	vmid, cloned := guest.Clone(ctx, c, guest.CloneSource{Kind: pve.QEMU, SourceVMID: plan.Clone.SourceVMID.ValueInt64(),
		Full: plan.Clone.Full, TargetStorage: plan.Clone.TargetStorage, Snapshot: plan.Clone.Snapshot,
		Node: plan.Node.ValueString(), VMID: plan.VMID, Pool: plan.Pool, Params: params}, &resp.State, &resp.Diagnostics)
	if !cloned {
		return
	}
	plan.VMID = types.Int64Value(int64(vmid))
	prior := vmModel{VMID: plan.VMID}
	r.readInto(ctx, c, &prior, "Create", &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	// The clone's cloud-init password is its source's: the configured one
	// is sent whatever its version (unknown equals nothing).
	if prior.CloudInit != nil {
		prior.CloudInit.PasswordVer = types.Int64Unknown()
	}
	// Unset devices are not managed: the clone's are kept.
	if plan.Disks.IsNull() || plan.Disks.IsUnknown() {
		plan.Disks = prior.Disks
	}
	if plan.Network.IsNull() || plan.Network.IsUnknown() {
		plan.Network = prior.Network
	}
	if plan.USB.IsNull() || plan.USB.IsUnknown() {
		plan.USB = prior.USB
	}
	if plan.HostPCI.IsNull() || plan.HostPCI.IsUnknown() {
		plan.HostPCI = prior.HostPCI
	}
	guest.Converge(ctx, c, r.change(ctx, plan, &prior, "Create", &resp.Diagnostics), &resp.Diagnostics)
	// The clone exists: it goes into the state even when converging failed,
	// so that it is not left behind unknown to Terraform.
	r.readInto(ctx, c, plan, "Create", &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}
