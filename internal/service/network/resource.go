package network

import (
	"context"
	"fmt"
	"net/url"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"

	"github.com/hcilab/terraform-provider-pve/internal/framework"
	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

// model is what a bridge, bond or VLAN model offers the shared CRUD code.
type model interface {
	common() *ifaceModel
	// params sets the kind's own PVE keys; prior is the state of an update.
	params(ctx context.Context, p url.Values, prior model, diags *diag.Diagnostics)
	// fromAPI sets the kind's own fields from what PVE reports; the fields
	// still hold the prior plan or state, which keeps empty lists empty.
	fromAPI(n *pve.NetworkInterface)
	// validate checks what single attributes cannot, naming the attribute.
	validate(diags *diag.Diagnostics)
}

// kind describes one interface type: its names and schema.
type kind struct {
	typeSuffix  string // "network_bridge"
	title       string // "Linux Bridge", for diagnostics
	pveType     string // PVE's type: bridge, bond, vlan
	description string
	attributes  map[string]schema.Attribute
}

// ifaceResource implements a bridge, bond or VLAN resource; M is its model.
type ifaceResource[M any, PM interface {
	*M
	model
}] struct {
	kind kind
	data *framework.ProviderData
}

func (r *ifaceResource[M, PM]) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_" + r.kind.typeSuffix
}

func (r *ifaceResource[M, PM]) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{Description: r.kind.description, Attributes: r.kind.attributes}
}

func (r *ifaceResource[M, PM]) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = framework.ConfigureData(req.ProviderData, &resp.Diagnostics)
	r.data.RequirePVE(&resp.Diagnostics)
}

func (r *ifaceResource[M, PM]) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	m := PM(new(M))
	resp.Diagnostics.Append(req.Config.Get(ctx, m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	m.common().checkAddressing(&resp.Diagnostics)
	m.validate(&resp.Diagnostics)
}

func (r *ifaceResource[M, PM]) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	planActivation(ctx, req, resp)
	r.checkManagementAddress(ctx, req, resp)
}

func (r *ifaceResource[M, PM]) client(ctx context.Context, action string, diags *diag.Diagnostics) *pve.Client {
	return r.data.PVEClient(ctx, r.summary(action), diags)
}

func (r *ifaceResource[M, PM]) summary(action string) string {
	return "Unable to " + action + " " + r.kind.title
}

func (r *ifaceResource[M, PM]) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	plan := PM(new(M))
	resp.Diagnostics.Append(req.Plan.Get(ctx, plan)...)
	c := r.client(ctx, "Create", &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	node, name := plan.common().Node.ValueString(), plan.common().Name.ValueString()
	p := url.Values{"type": {r.kind.pveType}}
	plan.common().params(p, nil)
	plan.params(ctx, p, nil, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	err := c.EditNetwork(ctx, node, name, name+" created", func(ctx context.Context) error {
		return c.CreateNetworkInterface(ctx, node, name, p)
	})
	if err != nil {
		resp.Diagnostics.AddError(r.summary("Create"), fmt.Sprintf("creating %s on node %s: %s", name, node, err))
		return
	}
	r.readBack(ctx, c, plan, "Create", &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, privateApplied, []byte("true"))...)
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

func (r *ifaceResource[M, PM]) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	plan, prior := PM(new(M)), PM(new(M))
	resp.Diagnostics.Append(req.Plan.Get(ctx, plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, prior)...)
	c := r.client(ctx, "Update", &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	node, name := plan.common().Node.ValueString(), plan.common().Name.ValueString()
	// PVE's update needs the type; everything the plan sets is sent again,
	// so an update also re-stages an interface whose reload was lost.
	p := url.Values{"type": {r.kind.pveType}}
	plan.common().params(p, prior.common())
	plan.params(ctx, p, prior, &resp.Diagnostics)
	joinDeletes(p)
	if resp.Diagnostics.HasError() {
		return
	}
	err := c.EditNetwork(ctx, node, name, name+" updated", func(ctx context.Context) error {
		return c.UpdateNetworkInterface(ctx, node, name, p)
	})
	if err != nil {
		resp.Diagnostics.AddError(r.summary("Update"), fmt.Sprintf("updating %s on node %s: %s", name, node, err))
		return
	}
	r.readBack(ctx, c, plan, "Update", &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, privateApplied, []byte("true"))...)
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

// readBack reads the interface after a write, through the finder Read
// uses, without waiting for the node's reload (which is what lets the
// node's next edits join it), and warns about MTU mismatches.
func (r *ifaceResource[M, PM]) readBack(ctx context.Context, c *pve.Client, m PM, action string, diags *diag.Diagnostics) {
	node, name := m.common().Node.ValueString(), m.common().Name.ValueString()
	n, cfg, err := findInterface(ctx, c, node, name, false, diags)
	if err != nil {
		diags.AddError(r.summary(action), fmt.Sprintf("reading %s on node %s back: %s", name, node, err))
		return
	}
	m.common().fromAPI(node, n, cfg.Pending(name))
	m.fromAPI(n)
	mtuWarnings(cfg, n, diags)
}

func (r *ifaceResource[M, PM]) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	state := PM(new(M))
	resp.Diagnostics.Append(req.State.Get(ctx, state)...)
	c := r.client(ctx, "Read", &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	node, name := state.common().Node.ValueString(), state.common().Name.ValueString()
	n, cfg, err := findInterface(ctx, c, node, name, true, &resp.Diagnostics)
	if notFound(err) {
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError(r.summary("Read"), err.Error())
		return
	}
	if n.Type != r.kind.pveType {
		resp.Diagnostics.AddError(r.summary("Read"),
			fmt.Sprintf("%s on node %s is of type %s, not %s: import it as the resource of that type", name, node, n.Type, r.kind.pveType))
		return
	}
	state.common().fromAPI(node, n, cfg.Pending(name))
	state.fromAPI(n)
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, privateApplied, []byte("false"))...)
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}

func (r *ifaceResource[M, PM]) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	state := PM(new(M))
	resp.Diagnostics.Append(req.State.Get(ctx, state)...)
	c := r.client(ctx, "Delete", &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	node, name := state.common().Node.ValueString(), state.common().Name.ValueString()
	err := c.EditNetwork(ctx, node, name, name+" deleted", func(ctx context.Context) error {
		return c.DeleteNetworkInterface(ctx, node, name)
	})
	if err != nil {
		resp.Diagnostics.AddError(r.summary("Delete"), fmt.Sprintf("deleting %s on node %s: %s", name, node, err))
	}
}

func (r *ifaceResource[M, PM]) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	importInterface(ctx, req, resp)
}

// mtuWarnings warns about MTUs that will cap or break jumbo frames: a
// bridge with a smaller MTU than one of its ports, a bond whose slaves
// differ, a VLAN larger than its raw device. Unset MTUs count as 1500.
func mtuWarnings(cfg *pve.NetworkConfig, n *pve.NetworkInterface, diags *diag.Diagnostics) {
	mtu := func(i *pve.NetworkInterface) int64 {
		if i == nil || i.MTU == 0 {
			return 1500
		}
		return int64(i.MTU)
	}
	switch n.Type {
	case "bridge":
		for _, port := range pve.SplitList(n.BridgePorts) {
			if p := cfg.Interface(port); p != nil && mtu(n) < mtu(p) {
				diags.AddWarning("Bridge MTU Smaller Than Its Port",
					fmt.Sprintf("%s has MTU %d but its port %s has MTU %d: frames larger than %d will not cross the bridge.",
						n.Iface, mtu(n), port, mtu(p), mtu(n)))
			}
		}
	case "bond":
		seen := map[int64]string{}
		for _, s := range pve.SplitList(n.Slaves) {
			seen[mtu(cfg.Interface(s))] = s
		}
		if len(seen) > 1 {
			diags.AddWarning("Bond Slaves With Different MTUs",
				fmt.Sprintf("the slaves of %s (%s) do not share one MTU; the bond runs at the MTU it is given, and a slave with a smaller one drops larger frames.",
					n.Iface, n.Slaves))
		}
	case "vlan":
		if raw := cfg.Interface(n.VLANRawDevice); raw != nil && mtu(n) > mtu(raw) {
			diags.AddWarning("VLAN MTU Larger Than Its Device",
				fmt.Sprintf("%s has MTU %d but its raw device %s has MTU %d.", n.Iface, mtu(n), raw.Iface, mtu(raw)))
		}
	}
}
