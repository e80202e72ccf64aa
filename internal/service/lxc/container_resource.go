package lxc

import (
	"context"
	"fmt"
	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"maps"
	"net/url"
	"slices"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/boolplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/mapplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/objectplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/hcilab/terraform-provider-pve/internal/framework"
	"github.com/hcilab/terraform-provider-pve/internal/framework/guest"
	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

var (
	_ resource.ResourceWithImportState = (*containerResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*containerResource)(nil)
)

const (
	defaultCreateTimeout = 20 * time.Minute
	defaultUpdateTimeout = 20 * time.Minute
	defaultDeleteTimeout = 10 * time.Minute
)

// NewContainerResource returns the pve_container resource.
func NewContainerResource() resource.Resource {
	return &containerResource{}
}

type containerResource struct {
	data *framework.ProviderData
}

// containerModels reads and writes containerModel in the paths a plan
// takes for every container (Read, ModifyPlan) without the framework's
// per-call reflection set-up (framework.Model). The framework makes a
// resource value per request, so it lives here.
var containerModels framework.Model[containerModel]

func (r *containerResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_container"
}

func (r *containerResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	// PVE does not keep the template a container was made from: an
	// imported container has none in its state, and setting it then is not
	// a change of the container.
	replaceTemplate := []planmodifier.String{stringplanmodifier.RequiresReplaceIf(
		func(_ context.Context, req planmodifier.StringRequest, resp *stringplanmodifier.RequiresReplaceIfFuncResponse) {
			resp.RequiresReplace = !req.StateValue.IsNull()
		}, "Changing the template replaces the container.", "Changing the template replaces the container.")}
	optInt := func(desc string, v ...validator.Int64) schema.Int64Attribute {
		return schema.Int64Attribute{Description: desc, Optional: true, Computed: true, Validators: v,
			PlanModifiers: []planmodifier.Int64{int64planmodifier.UseStateForUnknown()}}
	}
	flag := func(desc string) schema.BoolAttribute {
		return schema.BoolAttribute{Description: desc, Optional: true}
	}
	resp.Schema = schema.Schema{
		Description: "An LXC container. Mount points and NICs are maps keyed by PVE's slot (`mp0`, `net0`), so adding " +
			"one never touches another; volumes only grow; changing `node` migrates the container (restarting it " +
			"when it runs). While the container is HA-managed (a `pve_ha_resource` whose state is not `ignored`), " +
			"HA owns where and whether it runs: the provider neither starts, stops nor moves it back after a " +
			"failover, and keeps `node` and `started` as configured. Import with `<node>/<vmid>` or `<vmid>`.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Description:   "The container's VM ID as a string; it stays the same when the container moves.",
				Computed:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"node": schema.StringAttribute{
				Description: "Node the container runs on. Changing it migrates the container. For an HA-managed container: the " +
					"node it was placed on; where HA runs it after a failover or an HA relocation is not drift, and a change " +
					"here relocates it through HA (waiting until HA has moved it).",
				Required:   true,
				Validators: []validator.String{framework.StringCheck("must be a node name", pve.CheckNodeName)},
			},
			"vmid": schema.Int64Attribute{
				Description: "VM ID, 100 to 999999999. Unset: the next free ID. Changing it replaces the container.",
				Optional:    true,
				Computed:    true,
				PlanModifiers: []planmodifier.Int64{
					int64planmodifier.UseStateForUnknown(),
					int64planmodifier.RequiresReplaceIfConfigured(),
				},
				Validators: []validator.Int64{int64validator.Between(100, 999999999)},
			},
			"hostname": schema.StringAttribute{
				Description:   "Host name (a DNS name). Unset: as PVE names it (`CT<vmid>`).",
				Optional:      true,
				Computed:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
				Validators:    []validator.String{framework.StringCheck("must be a DNS name", pve.CheckDNSName)},
			},
			"description": schema.StringAttribute{Description: "Description.", Optional: true},
			"tags": schema.SetAttribute{Description: "Tags (letters, digits, `_`, `-`, `+`, `.`).", ElementType: types.StringType, Optional: true,
				Validators: []validator.Set{setvalidator.ValueStringsAre(framework.StringCheck("must be a PVE tag", pve.CheckTag))}},
			"ostemplate": schema.StringAttribute{
				Description: "Template volume, e.g. `local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst`. Exactly one of " +
					"`ostemplate` and `clone`. Changing it replaces the container. PVE does not keep it: after an import, " +
					"the first apply only records it.",
				Optional:      true,
				PlanModifiers: replaceTemplate,
				Validators:    []validator.String{stringvalidator.ExactlyOneOf(path.MatchRoot("clone"))},
			},
			"clone": schema.SingleNestedAttribute{
				Description: "Create the container as a clone of another container or template, then apply the rest of " +
					"this configuration to it (volumes grow to their `size`). Changing it replaces the container.",
				Optional:      true,
				PlanModifiers: []planmodifier.Object{objectplanmodifier.RequiresReplace()},
				Attributes: map[string]schema.Attribute{
					"source_vmid": schema.Int64Attribute{
						Description: "VM ID of the container or template to clone; it is found on whichever node it is.",
						Required:    true,
						Validators:  []validator.Int64{int64validator.Between(100, 999999999)},
					},
					"full": schema.BoolAttribute{
						Description: "Full clone (independent copies of the volumes). Unset: PVE's default, a linked clone " +
							"of a template and a full clone of anything else.",
						Optional: true,
					},
					"target_storage": schema.StringAttribute{
						Description: "Storage for the volumes of a full clone. Unset: the source's storage.",
						Optional:    true,
					},
					"snapshot": schema.StringAttribute{Description: "Clone this snapshot of the source.", Optional: true},
				},
			},
			"pool": schema.StringAttribute{
				Description: "Resource pool the container belongs to. Changing it moves the container to the new pool; " +
					"unset, the container is in no pool.",
				Optional:   true,
				Validators: []validator.String{framework.StringCheck("must be a pool ID", pve.CheckPoolID)},
			},
			"unprivileged": schema.BoolAttribute{
				Description: "Run unprivileged (user namespaces). Unset: as PVE creates containers (unprivileged). " +
					"Changing it replaces the container.",
				Optional: true,
				Computed: true,
				PlanModifiers: []planmodifier.Bool{
					boolplanmodifier.UseStateForUnknown(),
					boolplanmodifier.RequiresReplaceIfConfigured(),
				},
			},
			"features": schema.SingleNestedAttribute{
				Description: "Container features.",
				Optional:    true,
				Attributes: map[string]schema.Attribute{
					"nesting": flag("Allow nested containers (also what systemd in recent distributions wants)."),
					"keyctl":  flag("Allow the keyctl() system call (Docker in unprivileged containers)."),
					"fuse":    flag("Allow FUSE mounts."),
					"mount": schema.ListAttribute{
						Description: "File system types the container may mount, e.g. `[\"nfs\", \"cifs\"]` (privileged containers).",
						ElementType: types.StringType,
						Optional:    true,
					},
				},
			},
			"cores":  optInt("CPU cores. Unset: as PVE has it (all of the node's).", int64validator.Between(1, 8192)),
			"memory": optInt("Memory in MiB. Unset: PVE's default (512).", int64validator.AtLeast(16)),
			"swap":   optInt("Swap in MiB. Unset: PVE's default (512).", int64validator.AtLeast(0)),
			"rootfs": schema.SingleNestedAttribute{
				Description:   "Root file system; required with `ostemplate`. Unset on a clone: the source's, as it is.",
				Optional:      true,
				Computed:      true,
				PlanModifiers: []planmodifier.Object{objectplanmodifier.UseStateForUnknown()},
				Attributes:    volumeAttributes(false),
			},
			"mount_points": schema.MapNestedAttribute{
				Description:   "Mount points by slot: `mp0`..`mp255`. Unset: not managed.",
				Optional:      true,
				Computed:      true,
				NestedObject:  schema.NestedAttributeObject{Attributes: volumeAttributes(true)},
				Validators:    []validator.Map{mapvalidator.KeysAre(stringvalidator.RegexMatches(mountSlotRE, "must be a mount point slot: mp0..mp255"))},
				PlanModifiers: []planmodifier.Map{mapplanmodifier.UseStateForUnknown()},
			},
			"network": schema.MapNestedAttribute{
				Description:   "NICs by slot: `net0`..`net31`. Unset: not managed.",
				Optional:      true,
				Computed:      true,
				NestedObject:  schema.NestedAttributeObject{Attributes: nicAttributes()},
				Validators:    []validator.Map{mapvalidator.KeysAre(stringvalidator.RegexMatches(netSlotRE, "must be a NIC slot: net0..net31"))},
				PlanModifiers: []planmodifier.Map{mapplanmodifier.UseStateForUnknown()},
			},
			"password": schema.StringAttribute{
				Description: "Root password, set when the container is created. Write-only: PVE never returns it.",
				Optional:    true,
				Sensitive:   true,
				WriteOnly:   true,
			},
			"ssh_public_keys": schema.StringAttribute{
				Description: "SSH public keys for root, one per line, set when the container is created. Write-only.",
				Optional:    true,
				Sensitive:   true,
				WriteOnly:   true,
			},
			"nameserver":   schema.StringAttribute{Description: "DNS servers, space-separated. Unset: the node's.", Optional: true},
			"searchdomain": schema.StringAttribute{Description: "DNS search domain. Unset: the node's.", Optional: true},
			"started": schema.BoolAttribute{
				Description: "Whether the container runs. Default true. For an HA-managed container the run state is its " +
					"`pve_ha_resource`'s `state`: this value is kept as configured, never acted on, and changing it is refused at plan time.",
				Optional: true,
				Computed: true,
				Default:  booldefault.StaticBool(true),
			},
			"on_boot": flag("Start the container when its node boots."),
			"startup": guest.StartupAttribute("container"),
			"protection": flag("Protect the container from removal (and its disks from changes). Destroying or replacing a " +
				"protected container is refused at plan time (and nothing is stopped): set it false and apply that first."),
			"destroy_unreferenced_disks": guest.DestroyUnreferencedDisksAttribute("container"),
			"timeouts": framework.Timeouts(ctx, timeouts.Opts{Create: true, Update: true, Delete: true},
				"Defaults: create 20m, update 20m, delete 10m."),
		},
	}
}

func (r *containerResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = framework.ConfigureData(req.ProviderData, &resp.Diagnostics)
	r.data.RequirePVE(&resp.Diagnostics)
}

// ModifyPlan refuses shrinking a volume at plan time.
func (r *containerResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	guest.RefuseProtectedRemoval(ctx, pve.LXC, req, resp,
		path.Root("vmid"), path.Root("clone"), path.Root("ostemplate"), path.Root("unprivileged"))
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan, state containerModel
	resp.Diagnostics.Append(containerModels.GetPlan(ctx, req.Plan, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if req.State.Raw.IsNull() {
		if plan.Clone == nil && plan.RootFS.IsUnknown() {
			resp.Diagnostics.AddAttributeError(path.Root("rootfs"), "Missing Root File System",
				"a container made from an ostemplate needs rootfs = { storage = ..., size = ... }")
		}
		// PVE sets a container's root password and SSH keys only when it
		// creates one from a template (pve-container's create_vm; the config
		// API has neither): a clone keeps its source's.
		if plan.Clone != nil {
			for _, attr := range []string{"password", "ssh_public_keys"} {
				var v types.String
				resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root(attr), &v)...)
				if !v.IsNull() {
					resp.Diagnostics.AddAttributeError(path.Root(attr), "Not Applied to a Clone",
						fmt.Sprintf("PVE sets %s only when it creates a container from a template; a clone keeps its "+
							"source's. Leave it unset with clone, and set it in the clone afterwards (e.g. with cloud-init or "+
							"your configuration management).", attr))
				}
			}
		}
		return
	}
	resp.Diagnostics.Append(containerModels.GetState(ctx, req.State, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if !plan.Started.Equal(state.Started) && !plan.Started.IsUnknown() {
		if c := r.data.PVEClient(ctx, "Unable to Plan Container", &resp.Diagnostics); c != nil {
			guest.CheckHAOwnedPlan(ctx, c, pve.LXC, int(state.VMID.ValueInt64()), plan.Started, state.Started, &resp.Diagnostics)
		}
	}
	shrink := func(at path.Path, name string, now, before types.Int64) {
		if !now.IsUnknown() && now.ValueInt64() < before.ValueInt64() {
			resp.Diagnostics.AddAttributeError(at, "Volumes Only Grow",
				fmt.Sprintf("%s is %d GiB; it cannot shrink to %d GiB", name, before.ValueInt64(), now.ValueInt64()))
		}
	}
	// Moving a volume to another storage (PVE's move_volume) is not done:
	// refused here rather than left undone by the apply.
	move := func(at path.Path, name string, now, before types.String) {
		if !now.IsUnknown() && !before.IsNull() && now.ValueString() != before.ValueString() {
			resp.Diagnostics.AddAttributeError(at, "Moving Volumes Not Supported",
				fmt.Sprintf("%s is on %s; moving it to %s is not supported yet", name, before.ValueString(), now.ValueString()))
		}
	}
	if planRoot, stateRoot := plan.rootfs(ctx, &resp.Diagnostics), state.rootfs(ctx, &resp.Diagnostics); planRoot != nil && stateRoot != nil {
		shrink(path.Root("rootfs").AtName("size"), "rootfs", planRoot.Size, stateRoot.Size)
		move(path.Root("rootfs").AtName("storage"), "rootfs", planRoot.Storage, stateRoot.Storage)
	}
	old := state.mounts(ctx, &resp.Diagnostics)
	for slot, mp := range plan.mounts(ctx, &resp.Diagnostics) {
		if before, ok := old[slot]; ok {
			shrink(path.Root("mount_points").AtMapKey(slot).AtName("size"), slot, mp.Size, before.Size)
			move(path.Root("mount_points").AtMapKey(slot).AtName("storage"), slot, mp.Storage, before.Storage)
		}
	}
}

func (r *containerResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan, config containerModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	// Write-only attributes are only in the configuration.
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	c := r.data.PVEClient(ctx, "Unable to Create Container", &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := plan.Timeouts.Create(ctx, defaultCreateTimeout)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if plan.Clone != nil {
		r.createClone(ctx, c, &plan, resp)
		return
	}

	p := url.Values{"ostemplate": {plan.OSTemplate.ValueString()}}
	configParams(ctx, &plan, nil, p, &resp.Diagnostics)
	if !plan.Unprivileged.IsNull() && !plan.Unprivileged.IsUnknown() {
		p.Set("unprivileged", map[bool]string{true: "1", false: "0"}[plan.Unprivileged.ValueBool()])
	}
	if root := plan.rootfs(ctx, &resp.Diagnostics); root != nil {
		p.Set("rootfs", volumeModel{Storage: root.Storage, Size: root.Size}.createValue(false))
	}
	for slot, mp := range plan.mounts(ctx, &resp.Diagnostics) {
		p.Set(slot, mp.createValue(true))
	}
	for slot, nic := range plan.nics(ctx, &resp.Diagnostics) {
		p.Set(slot, nic.value())
	}
	if !plan.Pool.IsNull() {
		p.Set("pool", plan.Pool.ValueString())
	}
	if !config.Password.IsNull() {
		p.Set("password", config.Password.ValueString())
	}
	if !config.SSHPublicKeys.IsNull() {
		p.Set("ssh-public-keys", config.SSHPublicKeys.ValueString())
	}
	if resp.Diagnostics.HasError() {
		return
	}
	vmid, created := guest.Create(ctx, c, guest.NewGuest{Kind: pve.LXC, Node: plan.Node.ValueString(), VMID: plan.VMID,
		Params: p, Started: plan.Started.ValueBool()}, &resp.State, &resp.Diagnostics)
	if !created {
		return
	}
	plan.VMID = types.Int64Value(int64(vmid))
	r.readInto(ctx, c, &plan, "Create", &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

// readInto reads the container m names into m, through the finder Read
// uses.
func (r *containerResource) readInto(ctx context.Context, c *pve.Client, m *containerModel, action string, diags *diag.Diagnostics) {
	guest.ReadBack(ctx, c, pve.LXC, m.VMID, m.reader(ctx), action, diags)
}

func (r *containerResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state containerModel
	resp.Diagnostics.Append(containerModels.GetState(ctx, req.State, &state)...)
	c := r.data.PVEClient(ctx, "Unable to Read Container", &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	if guest.Refresh(ctx, c, pve.LXC, state.VMID, state.reader(ctx), &state.Node, &state.Started, &resp.State, &resp.Diagnostics) {
		resp.Diagnostics.Append(containerModels.SetState(ctx, &resp.State, state)...)
	}
}

func (r *containerResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state containerModel
	resp.Diagnostics.Append(containerModels.GetPlan(ctx, req.Plan, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	c := r.data.PVEClient(ctx, "Unable to Update Container", &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := plan.Timeouts.Update(ctx, defaultUpdateTimeout)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ch := r.change(ctx, &plan, &state, "Update", &resp.Diagnostics)
	if guest.Update(ctx, c, ch, plan.reader(ctx), &plan.Node, &plan.Started, &resp.Diagnostics) {
		resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
	}
}

// change is the change that brings the existing container from prior to
// plan, for guest.Converge to run: configuration keys and devices in one
// digest-guarded change, grown volumes, the pool, the node, the run state.
func (r *containerResource) change(ctx context.Context, plan, prior *containerModel, action string, diags *diag.Diagnostics) guest.Change {
	return guest.Change{
		Kind: pve.LXC,
		VMID: int(prior.VMID.ValueInt64()),
		Config: func(current *pve.GuestConfig) (guest.ConfigChange, error) {
			return configChange(ctx, plan, prior, current, diags)
		},
		Pool:      plan.Pool.ValueString(),
		PriorPool: prior.Pool.ValueString(),
		Node:      plan.Node,
		PriorNode: prior.Node,
		Started:   plan.Started.ValueBool(),
		Action:    action,
	}
}

// configChange is the container's configuration change against its
// current configuration: keys and devices that differ, and the volumes
// that grow.
func configChange(ctx context.Context, plan, prior *containerModel, current *pve.GuestConfig, diags *diag.Diagnostics) (guest.ConfigChange, error) {
	p := url.Values{}
	configParams(ctx, plan, prior, p, diags)
	var resizes []guest.Resize
	if planRoot, priorRoot := plan.rootfs(ctx, diags), prior.rootfs(ctx, diags); planRoot != nil && priorRoot != nil &&
		planRoot.Size.ValueInt64() > priorRoot.Size.ValueInt64() {
		resizes = append(resizes, guest.Resize{Disk: "rootfs", Size: fmt.Sprintf("%dG", planRoot.Size.ValueInt64())})
	}
	planMounts, priorMounts := plan.mounts(ctx, diags), prior.mounts(ctx, diags)
	for _, slot := range slices.Sorted(maps.Keys(planMounts)) {
		mp := planMounts[slot]
		old, exists := priorMounts[slot]
		if !exists {
			p.Set(slot, mp.createValue(true))
			continue
		}
		if mp.Size.ValueInt64() > old.Size.ValueInt64() {
			resizes = append(resizes, guest.Resize{Disk: slot, Size: fmt.Sprintf("%dG", mp.Size.ValueInt64())})
		}
		if !mp.Path.Equal(old.Path) || mp.Backup.ValueBool() != old.Backup.ValueBool() || mp.ReadOnly.ValueBool() != old.ReadOnly.ValueBool() {
			cur, err := pve.ParsePropertyString(current.Values[slot], "volume")
			if err != nil {
				return guest.ConfigChange{}, fmt.Errorf("%s: %w", slot, err)
			}
			cur.Delete("backup")
			cur.Delete("ro")
			mp.setOptions(&cur)
			p.Set(slot, cur.Format("volume"))
		}
	}
	if managed(plan.MountPoints) {
		for _, slot := range slices.Sorted(maps.Keys(priorMounts)) {
			if _, kept := planMounts[slot]; !kept {
				p.Add("delete", slot)
			}
		}
	}
	guest.SlotParams(nicValues(plan.nics(ctx, diags)), nicValues(prior.nics(ctx, diags)), managed(plan.Network), p)
	return guest.ConfigChange{Params: p, Resizes: resizes}, nil
}

func (r *containerResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state containerModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	c := r.data.PVEClient(ctx, "Unable to Delete Container", &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := state.Timeouts.Delete(ctx, defaultDeleteTimeout)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	guest.Delete(ctx, c, pve.LXC, int(state.VMID.ValueInt64()),
		guest.DeleteOptions{DestroyUnreferencedDisks: guest.DestroyUnreferenced(state.DestroyUnrefd)}, &resp.Diagnostics)
}

func (r *containerResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	guest.ImportState(ctx, req, resp)
}
