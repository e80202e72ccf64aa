package vm

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
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
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/setplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/hcilab/terraform-provider-pve/internal/framework"
	"github.com/hcilab/terraform-provider-pve/internal/framework/guest"
	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

var (
	_ resource.ResourceWithImportState = (*vmResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*vmResource)(nil)
)

// Default timeouts of the long operations.
const (
	defaultCreateTimeout = 20 * time.Minute
	defaultUpdateTimeout = 20 * time.Minute
	defaultDeleteTimeout = 10 * time.Minute
)

// NewVMResource returns the pve_vm resource.
func NewVMResource() resource.Resource {
	return &vmResource{}
}

type vmResource struct {
	data *framework.ProviderData
}

// vmModels reads and writes vmModel in the paths a plan takes for every VM
// (Read, ModifyPlan) without the framework's per-call reflection set-up
// (framework.Model). The framework makes a resource value per request, so
// it lives here.
var vmModels framework.Model[vmModel]

func (r *vmResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_vm"
}

func (r *vmResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	// Settings a clone takes from its source, and PVE defaults otherwise:
	// unset, they are left as they are.
	keepStr := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	resp.Schema = schema.Schema{
		Description: "A QEMU/KVM virtual machine. Devices are maps keyed by PVE's slot (`scsi0`, `net1`), so adding " +
			"one never touches another; disks only grow; changing `node` migrates the VM (online when it runs). " +
			"Changes PVE can only apply at the next start are reported, and applied by a reboot only with " +
			"`reboot_on_change = true`. While the VM is HA-managed (a `pve_ha_resource` whose state is not `ignored`), " +
			"HA owns where and whether it runs: the provider neither starts, stops nor moves it back after a " +
			"failover, and keeps `node` and `started` as configured. Import with `<node>/<vmid>` or `<vmid>`.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Description:   "The VM ID as a string; it stays the same when the VM moves to another node.",
				Computed:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"node": schema.StringAttribute{
				Description: "Node the VM runs on. Changing it migrates the VM, online when it runs. For an HA-managed VM: the " +
					"node it was placed on; where HA runs it after a failover or an HA migration is not drift, and a change " +
					"here migrates it through HA (waiting until HA has moved it).",
				Required:   true,
				Validators: []validator.String{framework.StringCheck("must be a node name", pve.CheckNodeName)},
			},
			"vmid": schema.Int64Attribute{
				Description: "VM ID, 100 to 999999999. Unset: the next free ID, allocated safely when several VMs " +
					"are created at once. Changing it replaces the VM.",
				Optional: true,
				Computed: true,
				PlanModifiers: []planmodifier.Int64{
					int64planmodifier.UseStateForUnknown(),
					int64planmodifier.RequiresReplaceIfConfigured(),
				},
				Validators: []validator.Int64{int64validator.Between(100, 999999999)},
			},
			"name": schema.StringAttribute{
				Description:   "Name (a DNS name). Unset: left as it is (PVE's default on a new VM, the source's on a clone).",
				Optional:      true,
				Computed:      true,
				PlanModifiers: keepStr,
				Validators:    []validator.String{framework.StringCheck("must be a DNS name", pve.CheckDNSName)},
			},
			"description": schema.StringAttribute{
				Description:   "Description, shown in the web UI's notes. Unset: left as it is (PVE's default on a new VM, the source's on a clone).",
				Optional:      true,
				Computed:      true,
				PlanModifiers: keepStr,
			},
			"tags": schema.SetAttribute{
				Description:   "Tags. Unset: left as it is (PVE's default on a new VM, the source's on a clone).",
				ElementType:   types.StringType,
				Optional:      true,
				Computed:      true,
				PlanModifiers: []planmodifier.Set{setplanmodifier.UseStateForUnknown()},
				Validators:    []validator.Set{setvalidator.ValueStringsAre(framework.StringCheck("must be a PVE tag", pve.CheckTag))},
			},
			"cpu":    cpuAttribute(),
			"memory": memoryAttribute(),
			"bios": schema.StringAttribute{
				Description:   "Firmware: `seabios` or `ovmf` (UEFI). Unset: left as it is (PVE's default on a new VM, the source's on a clone).",
				Optional:      true,
				Computed:      true,
				PlanModifiers: keepStr,
				Validators:    []validator.String{stringvalidator.OneOf("seabios", "ovmf")},
			},
			"machine": schema.StringAttribute{
				Description:   "Machine type: `q35` or `i440fx` (`pc`), optionally versioned (`pc-q35-9.2`). Unset: left as it is (PVE's default on a new VM, the source's on a clone).",
				Optional:      true,
				Computed:      true,
				PlanModifiers: keepStr,
				Validators: []validator.String{stringvalidator.RegexMatches(machineRE,
					"must be q35, i440fx, pc, or a versioned pc-q35-X.Y / pc-i440fx-X.Y")},
			},
			"scsi_controller": schema.StringAttribute{
				Description:   "SCSI controller: `virtio-scsi-single`, `virtio-scsi-pci`, `lsi`, `lsi53c810`, `megasas`, `pvscsi`. Unset: left as it is (PVE's default on a new VM, the source's on a clone).",
				Optional:      true,
				Computed:      true,
				PlanModifiers: keepStr,
				Validators: []validator.String{stringvalidator.OneOf("virtio-scsi-single", "virtio-scsi-pci", "lsi",
					"lsi53c810", "megasas", "pvscsi")},
			},
			"cdrom": schema.StringAttribute{
				Description: "ISO volume in the CD-ROM drive (`ide2`), e.g. `local:iso/proxmox-ve_9.1-1.iso`.",
				Optional:    true,
			},
			"clone": schema.SingleNestedAttribute{
				Description: "Create the VM as a clone of another VM or template, then apply the rest of this " +
					"configuration to it (disks grow to their `size`). Changing it replaces the VM.",
				Optional:      true,
				PlanModifiers: []planmodifier.Object{objectplanmodifier.RequiresReplace()},
				Attributes: map[string]schema.Attribute{
					"source_vmid": schema.Int64Attribute{
						Description: "VM ID of the VM or template to clone; it is found on whichever node it is.",
						Required:    true,
						Validators:  []validator.Int64{int64validator.Between(100, 999999999)},
					},
					"full": schema.BoolAttribute{
						Description: "Full clone (independent copies of the disks). Unset: PVE's default, a linked clone " +
							"of a template and a full clone of anything else.",
						Optional: true,
					},
					"target_storage": schema.StringAttribute{
						Description: "Storage for the disks of a full clone. Unset: the source's storage.",
						Optional:    true,
					},
					"snapshot": schema.StringAttribute{Description: "Clone this snapshot of the source.", Optional: true},
				},
			},
			"disks": schema.MapNestedAttribute{
				Description: "Disks by slot: `scsi0`..`scsi30`, `virtio0`..`virtio15`, `sata0`..`sata5`, `ide0`..`ide3`. " +
					"Unset: the disks are not managed (a clone keeps its template's).",
				Optional:      true,
				Computed:      true,
				NestedObject:  schema.NestedAttributeObject{Attributes: diskAttributes()},
				Validators:    []validator.Map{slotKeys{diskFamilies}},
				PlanModifiers: []planmodifier.Map{mapplanmodifier.UseStateForUnknown()},
			},
			"network": schema.MapNestedAttribute{
				Description:   "NICs by slot: `net0`..`net31`. Unset: the NICs are not managed (a clone keeps its template's).",
				Optional:      true,
				Computed:      true,
				NestedObject:  schema.NestedAttributeObject{Attributes: nicAttributes()},
				Validators:    []validator.Map{slotKeys{netFamilies}},
				PlanModifiers: []planmodifier.Map{mapplanmodifier.UseStateForUnknown()},
			},
			"usb": schema.MapNestedAttribute{
				Description: "USB devices by slot: `usb0`..`usb4`, and up to `usb13` with machine version 7.1 or later " +
					"and `os_type` `l26`, `win8`, `win10` or `win11`. Unset: not managed (a clone keeps its template's).",
				Optional:      true,
				Computed:      true,
				NestedObject:  schema.NestedAttributeObject{Attributes: usbAttributes()},
				Validators:    []validator.Map{slotKeys{usbFamilies}},
				PlanModifiers: []planmodifier.Map{mapplanmodifier.UseStateForUnknown()},
			},
			"hostpci": schema.MapNestedAttribute{
				Description: "Host PCI devices (GPUs, say) by slot: `hostpci0`..`hostpci15`, each a cluster mapping " +
					"(`pve_mapping_pci`) or a raw host address. PVE does not hot-plug them: on a running VM a change " +
					"waits for the next start. Unset: not managed (a clone keeps its template's).",
				Optional:      true,
				Computed:      true,
				NestedObject:  schema.NestedAttributeObject{Attributes: hostPCIAttributes()},
				Validators:    []validator.Map{slotKeys{hostPCIFamilies}},
				PlanModifiers: []planmodifier.Map{mapplanmodifier.UseStateForUnknown()},
			},
			"os_type": schema.StringAttribute{
				Description: "Guest OS type, which PVE tunes the VM for: `l26` (Linux), `win11`, `win10`, `win8`, `win7`, " +
					"`wvista`, `w2k8`, `w2k3`, `w2k`, `wxp`, `l24`, `solaris`, `other`. Unset: left as it is (PVE's default " +
					"`other` on a new VM, the source's on a clone).",
				Optional:      true,
				Computed:      true,
				PlanModifiers: keepStr,
				Validators: []validator.String{stringvalidator.OneOf("other", "wxp", "w2k", "w2k3", "w2k8", "wvista",
					"win7", "win8", "win10", "win11", "l24", "l26", "solaris")},
			},
			"pool": schema.StringAttribute{
				Description: "Resource pool the VM belongs to. Changing it moves the VM to the new pool; unset, the VM is " +
					"in no pool (PVE's clones do not join their source's pool either).",
				Optional:   true,
				Validators: []validator.String{framework.StringCheck("must be a pool ID", pve.CheckPoolID)},
			},
			"agent":      agentAttribute(),
			"cloud_init": cloudInitAttribute(),
			"vga":        vgaAttribute(),
			"serial":     serialAttribute(),
			"startup":    guest.StartupAttribute("VM"),
			"efi_disk":   efiDiskAttribute(),
			"tpm_state":  tpmStateAttribute(),
			"protection": schema.BoolAttribute{
				Description: "Protect the VM from removal and its disks from changes. Destroying or replacing a protected VM " +
					"is refused at plan time (and nothing is stopped): set it false and apply that first.",
				Optional: true,
			},
			"destroy_unreferenced_disks": guest.DestroyUnreferencedDisksAttribute("VM"),
			"started": schema.BoolAttribute{
				Description: "Whether the VM runs. Default true. For an HA-managed VM the run state is its `pve_ha_resource`'s " +
					"`state`: this value is kept as configured, never acted on, and changing it is refused at plan time.",
				Optional: true,
				Computed: true,
				Default:  booldefault.StaticBool(true),
			},
			"on_boot": schema.BoolAttribute{
				Description:   "Start the VM when its node boots. Unset: left as it is (PVE's default on a new VM, the source's on a clone).",
				Optional:      true,
				Computed:      true,
				PlanModifiers: []planmodifier.Bool{boolplanmodifier.UseStateForUnknown()},
			},
			"reboot_on_change": schema.BoolAttribute{
				Description: "Reboot a running VM when a change can only take effect at its next start. Default false: " +
					"such changes stay pending and a warning says so.",
				Optional: true,
			},
			"timeouts": framework.Timeouts(ctx, timeouts.Opts{Create: true, Update: true, Delete: true},
				"Defaults: create 20m, update 20m, delete 10m."),
		},
	}
}

var (
	machineRE = regexpMust(`^(q35|i440fx|pc|pc-(q35|i440fx)-\d+\.\d+(\+pve\d+)?)$`)
)

func (r *vmResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = framework.ConfigureData(req.ProviderData, &resp.Diagnostics)
	r.data.RequirePVE(&resp.Diagnostics)
}

// ModifyPlan refuses at plan time what would otherwise destroy data or need
// a replacement: shrinking a disk, moving it to another storage; and a disk
// in the cloud-init drive's slot.
func (r *vmResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	guest.RefuseProtectedRemoval(ctx, pve.QEMU, req, resp, path.Root("vmid"), path.Root("clone"))
	if req.Plan.Raw.IsNull() {
		return
	}
	// The plan and the prior state are decoded once each: every decoding
	// walks the whole schema (a profile of a plan of 100 VMs showed it).
	var plan, state vmModel
	resp.Diagnostics.Append(vmModels.GetPlan(ctx, req.Plan, &plan)...)
	hasState := !req.State.Raw.IsNull()
	if hasState {
		resp.Diagnostics.Append(vmModels.GetState(ctx, req.State, &state)...)
	}
	if resp.Diagnostics.HasError() {
		return
	}
	planDisks := plan.disks(ctx, &resp.Diagnostics)
	if _, taken := planDisks[cdromDrive]; taken && !plan.CDROM.IsNull() {
		resp.Diagnostics.AddAttributeError(path.Root("disks").AtMapKey(cdromDrive), "Slot Taken by the CD-ROM",
			"with cdrom, "+cdromDrive+" holds the CD-ROM drive: put this disk in another slot")
	}
	if _, taken := planDisks[cloudInitDrive]; taken && plan.CloudInit != nil {
		resp.Diagnostics.AddAttributeError(path.Root("disks").AtMapKey(cloudInitDrive), "Slot Taken by Cloud-Init",
			"with cloud_init, "+cloudInitDrive+" holds the cloud-init drive: put this disk in another slot")
	}
	isNew := !hasState && plan.Clone == nil
	planUSB := elements[usbModel](ctx, plan.USB, &resp.Diagnostics)
	for slot := range planUSB {
		n, _ := strconv.Atoi(strings.TrimPrefix(slot, "usb"))
		if problem := usbSlotProblem(n, plan.Machine, plan.OSType, isNew); problem != "" {
			resp.Diagnostics.AddAttributeError(path.Root("usb").AtMapKey(slot), "USB Slot Not Available", slot+": "+problem)
		}
	}
	// qemu-server's check_hostpci_perm and check_usb_perm: only root@pam
	// itself (not its API tokens) may pass a raw host device through.
	rootUser := r.data != nil && r.data.PVEConfig != nil && r.data.PVEConfig.APIToken == "" && r.data.PVEConfig.Username == "root@pam"
	notRoot := func(at path.Path, what string) {
		who := "an API token"
		if r.data != nil && r.data.PVEConfig != nil && r.data.PVEConfig.APIToken == "" {
			who = r.data.PVEConfig.Username
		}
		resp.Diagnostics.AddAttributeError(at, "Raw Device Needs root@pam",
			fmt.Sprintf("PVE lets only root@pam itself pass %s through (the provider authenticates as %s, and PVE answers "+
				"\"only root can set ... config\"): use a resource mapping (mapping = ...) instead, or authenticate as root@pam "+
				"with its password.", what, who))
	}
	// PVE checks a device when it is set: devices the state already has
	// as they are pass.
	var priorUSB map[string]usbModel
	var priorPCI map[string]hostPCIModel
	if hasState {
		priorUSB, priorPCI = elements[usbModel](ctx, state.USB, &resp.Diagnostics), elements[hostPCIModel](ctx, state.HostPCI, &resp.Diagnostics)
	}
	for slot, dev := range planUSB {
		if old, ok := priorUSB[slot]; ok && old == dev {
			continue
		}
		if h := dev.Host.ValueString(); !rootUser && h != "" && !dev.Host.IsUnknown() && !strings.EqualFold(h, "spice") {
			notRoot(path.Root("usb").AtMapKey(slot).AtName("host"), "a host USB device ("+h+")")
		}
	}
	for slot, dev := range elements[hostPCIModel](ctx, plan.HostPCI, &resp.Diagnostics) {
		if old, ok := priorPCI[slot]; ok && old == dev {
			continue
		}
		if !rootUser && dev.ID.ValueString() != "" && !dev.ID.IsUnknown() {
			notRoot(path.Root("hostpci").AtMapKey(slot).AtName("id"), "a PCI device by its address ("+dev.ID.ValueString()+")")
		}
		if dev.PCIe.ValueBool() {
			if problem := pcieProblem(plan.Machine, isNew); problem != "" {
				resp.Diagnostics.AddAttributeError(path.Root("hostpci").AtMapKey(slot).AtName("pcie"), "PCIe Needs Q35", slot+": "+problem)
			}
		}
	}
	if !hasState || resp.Diagnostics.HasError() {
		return
	}
	if plan.EFIDisk != nil && state.EFIDisk != nil && !sameVolumeSettings(
		[]attr.Value{plan.EFIDisk.Storage, plan.EFIDisk.Type, plan.EFIDisk.PreEnrolledKeys},
		[]attr.Value{state.EFIDisk.Storage, state.EFIDisk.Type, state.EFIDisk.PreEnrolledKeys}) {
		resp.Diagnostics.AddAttributeError(path.Root("efi_disk"), "Changing the EFI Disk Not Supported",
			"the EFI disk keeps its storage, type and keys; remove it in one apply and add it again in another to recreate it (its EFI variables are lost)")
	}
	if plan.TPMState != nil && state.TPMState != nil && !sameVolumeSettings(
		[]attr.Value{plan.TPMState.Storage, plan.TPMState.Version}, []attr.Value{state.TPMState.Storage, state.TPMState.Version}) {
		resp.Diagnostics.AddAttributeError(path.Root("tpm_state"), "Changing the TPM State Not Supported",
			"the TPM state keeps its storage and version; changing them would lose what the TPM holds (BitLocker keys, say)")
	}
	if !plan.Started.Equal(state.Started) && !plan.Started.IsUnknown() {
		if c := r.data.PVEClient(ctx, "Unable to Plan VM", &resp.Diagnostics); c != nil {
			guest.CheckHAOwnedPlan(ctx, c, pve.QEMU, int(state.VMID.ValueInt64()), plan.Started, state.Started, &resp.Diagnostics)
		}
	}
	oldDisks := state.disks(ctx, &resp.Diagnostics)
	for slot, d := range planDisks {
		old, ok := oldDisks[slot]
		if !ok {
			continue
		}
		at := path.Root("disks").AtMapKey(slot)
		if !d.Size.IsUnknown() && d.Size.ValueInt64() < old.Size.ValueInt64() {
			resp.Diagnostics.AddAttributeError(at.AtName("size"), "Disks Only Grow",
				fmt.Sprintf("%s is %d GiB; it cannot shrink to %d GiB (PVE does not shrink disks, and replacing the VM would lose its data)",
					slot, old.Size.ValueInt64(), d.Size.ValueInt64()))
		}
		if !d.Format.IsUnknown() && d.Format.ValueString() != old.Format.ValueString() {
			resp.Diagnostics.AddAttributeError(at.AtName("format"), "Converting Disks Not Supported",
				fmt.Sprintf("%s is %s; converting it to %s is not supported (replacing the VM would lose its data)", slot, old.Format.ValueString(), d.Format.ValueString()))
		}
		if !d.Storage.IsUnknown() && d.Storage.ValueString() != old.Storage.ValueString() {
			resp.Diagnostics.AddAttributeError(at.AtName("storage"), "Moving Disks Not Supported",
				fmt.Sprintf("%s is on %s; moving it to %s is not supported yet", slot, old.Storage.ValueString(), d.Storage.ValueString()))
		}
	}
}

func (r *vmResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan vmModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	c := r.data.PVEClient(ctx, "Unable to Create VM", &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := plan.Timeouts.Create(ctx, defaultCreateTimeout)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	withConfigPassword(ctx, req.Config, plan.CloudInit, &resp.Diagnostics)
	if plan.Clone != nil {
		r.createClone(ctx, c, &plan, resp)
		return
	}
	p := url.Values{}
	configParams(ctx, &plan, nil, p, &resp.Diagnostics)
	for slot, disk := range plan.disks(ctx, &resp.Diagnostics) {
		p.Set(slot, disk.createValue())
	}
	deviceParams(plan.nics(ctx, &resp.Diagnostics), nil, false, p)
	deviceParams(elements[usbModel](ctx, plan.USB, &resp.Diagnostics), nil, false, p)
	deviceParams(elements[hostPCIModel](ctx, plan.HostPCI, &resp.Diagnostics), nil, false, p)
	if !plan.Pool.IsNull() {
		p.Set("pool", plan.Pool.ValueString())
	}
	if resp.Diagnostics.HasError() {
		return
	}
	vmid, created := guest.Create(ctx, c, guest.NewGuest{Kind: pve.QEMU, Node: plan.Node.ValueString(), VMID: plan.VMID,
		Params: p, Started: plan.Started.ValueBool()}, &resp.State, &resp.Diagnostics)
	if !created {
		return
	}
	plan.VMID = types.Int64Value(int64(vmid))
	warnTPMStorage(ctx, c, &plan, &resp.Diagnostics)
	r.readInto(ctx, c, &plan, "Create", &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

// readInto reads the VM m names into m, through the finder Read uses:
// the node it lives on now, its configuration with pending changes
// applied, and whether it runs.
func (r *vmResource) readInto(ctx context.Context, c *pve.Client, m *vmModel, action string, diags *diag.Diagnostics) {
	guest.ReadBack(ctx, c, pve.QEMU, m.VMID, m.fromAPI, action, diags)
}

func (r *vmResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state vmModel
	resp.Diagnostics.Append(vmModels.GetState(ctx, req.State, &state)...)
	c := r.data.PVEClient(ctx, "Unable to Read VM", &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	if guest.Refresh(ctx, c, pve.QEMU, state.VMID, state.fromAPI, &state.Node, &state.Started, &resp.State, &resp.Diagnostics) {
		resp.Diagnostics.Append(vmModels.SetState(ctx, &resp.State, state)...)
	}
}

func (r *vmResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state vmModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	c := r.data.PVEClient(ctx, "Unable to Update VM", &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := plan.Timeouts.Update(ctx, defaultUpdateTimeout)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	withConfigPassword(ctx, req.Config, plan.CloudInit, &resp.Diagnostics)
	ch := r.change(ctx, &plan, &state, "Update", &resp.Diagnostics)
	if !guest.Update(ctx, c, ch, plan.fromAPI, &plan.Node, &plan.Started, &resp.Diagnostics) {
		return
	}
	if state.TPMState == nil {
		warnTPMStorage(ctx, c, &plan, &resp.Diagnostics)
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

// change is the change that brings the existing VM from prior to plan,
// for guest.Converge to run: configuration keys and devices in one
// digest-guarded change, grown disks, the pool, the node, the run state.
func (r *vmResource) change(ctx context.Context, plan, prior *vmModel, action string, diags *diag.Diagnostics) guest.Change {
	return guest.Change{
		Kind: pve.QEMU,
		VMID: int(prior.VMID.ValueInt64()),
		Config: func(current *pve.GuestConfig) (guest.ConfigChange, error) {
			return configChange(ctx, plan, prior, current, diags)
		},
		Pool:           plan.Pool.ValueString(),
		PriorPool:      prior.Pool.ValueString(),
		Node:           plan.Node,
		PriorNode:      prior.Node,
		Started:        plan.Started.ValueBool(),
		RebootOnChange: plan.RebootOnChange.ValueBool(),
		Action:         action,
	}
}

// configChange is the VM's configuration change against its current
// configuration: keys and devices that differ, and the disks that grow.
func configChange(ctx context.Context, plan, prior *vmModel, current *pve.GuestConfig, diags *diag.Diagnostics) (guest.ConfigChange, error) {
	p := url.Values{}
	configParams(ctx, plan, prior, p, diags)
	var resizes []guest.Resize
	planDisks, priorDisks := plan.disks(ctx, diags), prior.disks(ctx, diags)
	for _, slot := range slices.Sorted(maps.Keys(planDisks)) {
		disk := planDisks[slot]
		old, exists := priorDisks[slot]
		if !exists {
			p.Set(slot, disk.createValue())
			continue
		}
		if disk.Size.ValueInt64() > old.Size.ValueInt64() {
			resizes = append(resizes, guest.Resize{Disk: slot, Size: fmt.Sprintf("%dG", disk.Size.ValueInt64())})
		}
		if !sameDiskOptions(disk, old) {
			value, err := disk.updateValue(current.Values[slot])
			if err != nil {
				return guest.ConfigChange{}, fmt.Errorf("%s: %w", slot, err)
			}
			p.Set(slot, value)
		}
	}
	if managed(plan.Disks) {
		for _, slot := range slices.Sorted(maps.Keys(priorDisks)) {
			if _, kept := planDisks[slot]; !kept {
				p.Add("delete", slot)
			}
		}
	}
	deviceParams(plan.nics(ctx, diags), prior.nics(ctx, diags), managed(plan.Network), p)
	deviceParams(elements[usbModel](ctx, plan.USB, diags), elements[usbModel](ctx, prior.USB, diags), managed(plan.USB), p)
	deviceParams(elements[hostPCIModel](ctx, plan.HostPCI, diags), elements[hostPCIModel](ctx, prior.HostPCI, diags),
		managed(plan.HostPCI), p)
	return guest.ConfigChange{Params: p, Resizes: resizes}, nil
}

func (r *vmResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state vmModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	c := r.data.PVEClient(ctx, "Unable to Delete VM", &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := state.Timeouts.Delete(ctx, defaultDeleteTimeout)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	guest.Delete(ctx, c, pve.QEMU, int(state.VMID.ValueInt64()),
		guest.DeleteOptions{DestroyUnreferencedDisks: guest.DestroyUnreferenced(state.DestroyUnrefd)}, &resp.Diagnostics)
}

func (r *vmResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	guest.ImportState(ctx, req, resp)
}
