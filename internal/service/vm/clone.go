package vm

import (
	"context"
	"fmt"
	"net/url"
	"strconv"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/hcilab/terraform-provider-pve/internal/framework"
	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

// cloneModel is where a VM is cloned from.
type cloneModel struct {
	SourceVMID    types.Int64  `tfsdk:"source_vmid"`
	Full          types.Bool   `tfsdk:"full"`
	TargetStorage types.String `tfsdk:"target_storage"`
	Snapshot      types.String `tfsdk:"snapshot"`
}

// cloneFunc returns the create function of a clone: the clone task from
// the source's node, for a given new VM ID.
func (r *vmResource) cloneFunc(ctx context.Context, c *pve.Client, plan *vmModel) (func(vmid int) error, error) {
	src := int(plan.Clone.SourceVMID.ValueInt64())
	source, err := c.FindGuest(ctx, src)
	if err != nil {
		return nil, fmt.Errorf("finding the clone source %d: %w", src, err)
	}
	return func(vmid int) error {
		p := url.Values{"newid": {strconv.Itoa(vmid)}}
		if !plan.Name.IsNull() {
			p.Set("name", plan.Name.ValueString())
		}
		if node := plan.Node.ValueString(); node != source.Node {
			p.Set("target", node)
		}
		if !plan.Clone.Full.IsNull() {
			p.Set("full", map[bool]string{true: "1", false: "0"}[plan.Clone.Full.ValueBool()])
		}
		if !plan.Clone.TargetStorage.IsNull() {
			p.Set("storage", plan.Clone.TargetStorage.ValueString())
		}
		if !plan.Clone.Snapshot.IsNull() {
			p.Set("snapshot", plan.Clone.Snapshot.ValueString())
		}
		if !plan.Pool.IsNull() {
			p.Set("pool", plan.Pool.ValueString())
		}
		_, err := c.CloneGuest(ctx, pve.QEMU, source.Node, src, p)
		return err
	}, nil
}

// createClone clones, then converges the clone to the plan as an update
// would: what the clone brought is the prior state.
func (r *vmResource) createClone(ctx context.Context, c *pve.Client, plan *vmModel, create func(int) error, resp *resource.CreateResponse) {
	vmid, err := framework.CreateGuestWithID(ctx, c, plan.VMID, create)
	if err != nil {
		resp.Diagnostics.AddError("Unable to Create VM", fmt.Sprintf("cloning VM %d: %s", plan.Clone.SourceVMID.ValueInt64(), err))
		framework.SaveAcceptedCreate(ctx, err, vmid, plan.Node.ValueString(), &resp.State, &resp.Diagnostics)
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
	r.converge(ctx, c, plan, &prior, "Create", &resp.Diagnostics)
	// The clone exists: it goes into the state even when converging failed,
	// so that it is not left behind unknown to Terraform.
	r.readInto(ctx, c, plan, "Create", &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}
