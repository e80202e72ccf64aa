package ceph

import (
	"context"
	"errors"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"

	"github.com/hcilab/terraform-provider-pve/internal/ceph"
	"github.com/hcilab/terraform-provider-pve/internal/framework"
)

// immutable is what the librados objects Ceph cannot change (CRUSH rules,
// erasure-code profiles) share: every change replaces them, so Update only
// records the plan; Read, Delete and import go by name. M is the model.
type immutable[M any] struct {
	typeName, title string
	data            *framework.ProviderData
	name            func(*M) string
	read            func(context.Context, *ceph.Client, *M) error
	remove          func(context.Context, *ceph.Client, string) error
}

func (r *immutable[M]) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = framework.ConfigureData(req.ProviderData, &resp.Diagnostics)
}

// ModifyPlan refuses the type in a build without librados.
func (r *immutable[M]) ModifyPlan(_ context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if !req.Plan.Raw.IsNull() {
		needsLibrados(r.typeName, &resp.Diagnostics)
	}
}

func (r *immutable[M]) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state M
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	c := r.data.CephClient(ctx, "Unable to Read "+r.title, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	if err := r.read(ctx, c, &state); err != nil {
		if errors.Is(err, ceph.ErrNotFound) {
			resp.State.RemoveResource(ctx)
			return
		}
		resp.Diagnostics.AddError("Unable to Read "+r.title, err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}

// Update never changes anything: every setting replaces the object.
func (r *immutable[M]) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan M
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

func (r *immutable[M]) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state M
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	c := r.data.CephClient(ctx, "Unable to Delete "+r.title, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	if err := r.remove(ctx, c, r.name(&state)); err != nil && !errors.Is(err, ceph.ErrNotFound) {
		resp.Diagnostics.AddError("Unable to Delete "+r.title, err.Error())
	}
}

func (r *immutable[M]) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resource.ImportStatePassthroughID(ctx, path.Root("name"), req, resp)
}
