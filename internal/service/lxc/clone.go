package lxc

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
	src := int(plan.Clone.SourceVMID.ValueInt64())
	source, err := c.FindGuest(ctx, src)
	if err != nil {
		resp.Diagnostics.AddError("Unable to Create Container", fmt.Sprintf("finding the clone source %d: %s", src, err))
		return
	}
	p := url.Values{}
	for key, v := range map[string]types.String{"hostname": plan.Hostname, "description": plan.Description, "pool": plan.Pool,
		"storage": plan.Clone.TargetStorage, "snapshot": plan.Clone.Snapshot} {
		if !v.IsNull() && !v.IsUnknown() {
			p.Set(key, v.ValueString())
		}
	}
	if node := plan.Node.ValueString(); node != source.Node {
		p.Set("target", node)
	}
	if !plan.Clone.Full.IsNull() {
		p.Set("full", map[bool]string{true: "1", false: "0"}[plan.Clone.Full.ValueBool()])
	}
	vmid, err := framework.CreateGuestWithID(ctx, c, plan.VMID, func(vmid int) error {
		p.Set("newid", strconv.Itoa(vmid))
		_, err := c.CloneGuest(ctx, pve.LXC, source.Node, src, p)
		return err
	})
	if err != nil {
		resp.Diagnostics.AddError("Unable to Create Container", fmt.Sprintf("cloning container %d: %s", src, err))
		framework.SaveAcceptedCreate(ctx, err, vmid, plan.Node.ValueString(), &resp.State, &resp.Diagnostics)
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
	r.converge(ctx, c, plan, &prior, "Create", &resp.Diagnostics)
	// The clone exists: it goes into the state even when converging
	// failed, so that it is not left behind unknown to Terraform.
	r.readInto(ctx, c, plan, "Create", &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}
