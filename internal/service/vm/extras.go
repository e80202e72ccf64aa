package vm

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/boolplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/listplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/objectplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"

	"github.com/hcilab/terraform-provider-pve/internal/framework"
	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

// The smaller blocks of a VM: the guest agent, the start order, the EFI
// disk and the TPM state. Each has its schema, its PVE value (toAPI) and
// its reading (fromAPI).

// keepObject keeps a block the configuration leaves unset as it is: a
// clone keeps its template's agent, start order and display.
var keepObject = []planmodifier.Object{objectplanmodifier.UseStateForUnknown()}

// The same for the settings inside a block. (Terraform keeps an unset block
// as it is only when every attribute inside it is computed.)
var (
	keepBool   = []planmodifier.Bool{boolplanmodifier.UseStateForUnknown()}
	keepInt    = []planmodifier.Int64{int64planmodifier.UseStateForUnknown()}
	keepString = []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
)

// The attribute types of the blocks held as objects.
var (
	agentTypes  = map[string]attr.Type{"enabled": types.BoolType, "trim": types.BoolType, "type": types.StringType}
	vgaTypesMap = map[string]attr.Type{"type": types.StringType, "memory": types.Int64Type}
)

// objectAs returns the block o holds, nil when it is null or unknown.
func objectAs[T any](ctx context.Context, o types.Object, diags *diag.Diagnostics) *T {
	if o.IsNull() || o.IsUnknown() {
		return nil
	}
	var v T
	diags.Append(o.As(ctx, &v, basetypes.ObjectAsOptions{})...)
	return &v
}

// objectOf returns v as an object of the given attribute types, null when
// v is nil.
func objectOf[T any](attrTypes map[string]attr.Type, v *T) types.Object {
	if v == nil {
		return types.ObjectNull(attrTypes)
	}
	o, diags := framework.ObjectFrom(context.Background(), attrTypes, *v)
	if diags.HasError() {
		panic(fmt.Sprintf("building a block: %v", diags))
	}
	return o
}

// blockAPI is the PVE value of a block: unknown (left as it is) while the
// block is unknown, null when it is null.
func blockAPI[T any](ctx context.Context, o types.Object, toAPI func(*T) types.String, diags *diag.Diagnostics) types.String {
	if o.IsUnknown() {
		return types.StringUnknown()
	}
	return toAPI(objectAs[T](ctx, o, diags))
}

type agentModel struct {
	Enabled types.Bool   `tfsdk:"enabled"`
	Trim    types.Bool   `tfsdk:"trim"`
	Type    types.String `tfsdk:"type"`
}

func agentAttribute() schema.Attribute {
	return schema.SingleNestedAttribute{
		Description:   "QEMU guest agent. Unset: left as it is (none on a new VM, the source's on a clone).",
		Optional:      true,
		Computed:      true,
		PlanModifiers: keepObject,
		Attributes: map[string]schema.Attribute{
			"enabled": schema.BoolAttribute{Description: "Talk to a guest agent in the VM. Default true.", Optional: true, Computed: true,
				Default: booldefault.StaticBool(true)},
			"trim": schema.BoolAttribute{Description: "Run fstrim in the guest after a disk is moved or a VM migrated. Unset: left as it is.",
				Optional: true, Computed: true, PlanModifiers: keepBool},
			"type": schema.StringAttribute{
				Description:   "Agent channel: `virtio` or `isa`. Unset: left as it is (PVE's default: virtio).",
				Optional:      true,
				Computed:      true,
				PlanModifiers: keepString,
				Validators:    []validator.String{stringvalidator.OneOf("virtio", "isa")},
			},
		},
	}
}

func (a *agentModel) toAPI() types.String {
	if a == nil {
		return types.StringNull()
	}
	p := pve.PropertyString{}
	p.Set("enabled", boolText(a.Enabled.ValueBool()))
	if !a.Trim.IsNull() && !a.Trim.IsUnknown() {
		p.Set("fstrim_cloned_disks", boolText(a.Trim.ValueBool()))
	}
	if !a.Type.IsNull() && !a.Type.IsUnknown() {
		p.Set("type", a.Type.ValueString())
	}
	return types.StringValue(p.Format("enabled"))
}

func agentFromAPI(v string) (*agentModel, error) {
	if v == "" {
		return nil, nil
	}
	p, err := pve.ParsePropertyString(v, "enabled")
	if err != nil {
		return nil, err
	}
	a := &agentModel{Enabled: types.BoolValue(p.Value("enabled") == "1"), Trim: types.BoolNull(), Type: types.StringNull()}
	if t, ok := p.Get("fstrim_cloned_disks"); ok {
		a.Trim = types.BoolValue(t == "1")
	}
	if t, ok := p.Get("type"); ok {
		a.Type = types.StringValue(t)
	}
	return a, nil
}

// efiDiskModel and tpmStateModel are small volumes PVE allocates itself.
type efiDiskModel struct {
	Storage         types.String `tfsdk:"storage"`
	Type            types.String `tfsdk:"type"`
	PreEnrolledKeys types.Bool   `tfsdk:"pre_enrolled_keys"`
	Volume          types.String `tfsdk:"volume"`
}

type tpmStateModel struct {
	Storage types.String `tfsdk:"storage"`
	Version types.String `tfsdk:"version"`
	Volume  types.String `tfsdk:"volume"`
}

func volumeAttribute() schema.StringAttribute {
	return schema.StringAttribute{
		Description:   "The volume PVE allocated.",
		Computed:      true,
		PlanModifiers: []planmodifier.String{stringplanmodifier.UseNonNullStateForUnknown()},
	}
}

func efiDiskAttribute() schema.Attribute {
	return schema.SingleNestedAttribute{
		Description: "EFI variables disk (`efidisk0`), for `bios = \"ovmf\"`.",
		Optional:    true,
		Attributes: map[string]schema.Attribute{
			"storage": schema.StringAttribute{Description: "Storage for the EFI disk.", Required: true},
			"type": schema.StringAttribute{
				Description:   "Size of the EFI vars: `4m` (needed for Secure Boot) or `2m`. Unset: as PVE sets it.",
				Optional:      true,
				Computed:      true,
				Validators:    []validator.String{stringvalidator.OneOf("2m", "4m")},
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"pre_enrolled_keys": schema.BoolAttribute{
				Description:   "Enroll the distribution and Microsoft Secure Boot keys. Unset: as PVE sets it.",
				Optional:      true,
				Computed:      true,
				PlanModifiers: []planmodifier.Bool{boolplanmodifier.UseStateForUnknown()},
			},
			"volume": volumeAttribute(),
		},
	}
}

func tpmStateAttribute() schema.Attribute {
	return schema.SingleNestedAttribute{
		Description: "TPM state (`tpmstate0`), e.g. for Windows 11. On storage that cannot snapshot raw volumes " +
			"(LVM, directories) it is allowed, with a warning: snapshots of the VM will be refused.",
		Optional: true,
		Attributes: map[string]schema.Attribute{
			"storage": schema.StringAttribute{Description: "Storage for the TPM state.", Required: true},
			"version": schema.StringAttribute{
				Description:   "TPM version: `v2.0` or `v1.2`. Unset: as PVE sets it.",
				Optional:      true,
				Computed:      true,
				Validators:    []validator.String{stringvalidator.OneOf("v1.2", "v2.0")},
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"volume": volumeAttribute(),
		},
	}
}

func (e *efiDiskModel) toAPI() string {
	p := pve.PropertyString{}
	p.Set("file", e.Storage.ValueString()+":1")
	if !e.Type.IsNull() && !e.Type.IsUnknown() {
		p.Set("efitype", e.Type.ValueString())
	}
	if !e.PreEnrolledKeys.IsNull() && !e.PreEnrolledKeys.IsUnknown() {
		p.Set("pre-enrolled-keys", boolText(e.PreEnrolledKeys.ValueBool()))
	}
	return p.Format("file")
}

func (t *tpmStateModel) toAPI() string {
	p := pve.PropertyString{}
	p.Set("file", t.Storage.ValueString()+":1")
	if !t.Version.IsNull() && !t.Version.IsUnknown() {
		p.Set("version", t.Version.ValueString())
	}
	return p.Format("file")
}

// efiDiskFromAPI reads efidisk0.
func efiDiskFromAPI(v string) (*efiDiskModel, error) {
	if v == "" {
		return nil, nil
	}
	p, err := pve.ParsePropertyString(v, "file")
	if err != nil {
		return nil, err
	}
	storage, _, _ := strings.Cut(p.Value("file"), ":")
	e := &efiDiskModel{Storage: types.StringValue(storage), Type: types.StringNull(), PreEnrolledKeys: types.BoolNull(),
		Volume: types.StringValue(p.Value("file"))}
	// Absent means PVE's defaults: the small 2m vars, no keys.
	e.Type = types.StringValue("2m")
	if t, ok := p.Get("efitype"); ok {
		e.Type = types.StringValue(t)
	}
	e.PreEnrolledKeys = types.BoolValue(p.Value("pre-enrolled-keys") == "1")
	return e, nil
}

func tpmStateFromAPI(v string) (*tpmStateModel, error) {
	if v == "" {
		return nil, nil
	}
	p, err := pve.ParsePropertyString(v, "file")
	if err != nil {
		return nil, err
	}
	storage, _, _ := strings.Cut(p.Value("file"), ":")
	t := &tpmStateModel{Storage: types.StringValue(storage), Version: types.StringNull(), Volume: types.StringValue(p.Value("file"))}
	t.Version = types.StringValue("v1.2") // PVE's default when the key is absent
	if ver, ok := p.Get("version"); ok {
		t.Version = types.StringValue(ver)
	}
	return t, nil
}

func boolText(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// snapshotless are storage types whose raw volumes cannot be snapshot.
var snapshotless = map[string]bool{"lvm": true, "dir": true, "nfs": true, "cifs": true, "glusterfs": true, "iscsi": true}

type vgaModel struct {
	Type   types.String `tfsdk:"type"`
	Memory types.Int64  `tfsdk:"memory"`
}

// VGA types PVE offers.
var vgaTypes = []string{"std", "cirrus", "vmware", "qxl", "qxl2", "qxl3", "qxl4", "serial0", "serial1", "serial2", "serial3",
	"virtio", "virtio-gl", "none"}

func vgaAttribute() schema.Attribute {
	return schema.SingleNestedAttribute{
		Description:   "Display adapter. Unset: left as it is (PVE's default on a new VM, the source's on a clone).",
		Optional:      true,
		Computed:      true,
		PlanModifiers: keepObject,
		Attributes: map[string]schema.Attribute{
			"type": schema.StringAttribute{
				Description:   "Adapter type, e.g. `std`, `virtio`, `qxl`, or `serial0` for a serial console only. Unset: left as it is (PVE's default: std).",
				Optional:      true,
				Computed:      true,
				PlanModifiers: keepString,
				Validators:    []validator.String{stringvalidator.OneOf(vgaTypes...)},
			},
			"memory": schema.Int64Attribute{
				Description:   "Video memory in MiB. Unset: left as it is.",
				Optional:      true,
				Computed:      true,
				PlanModifiers: keepInt,
				Validators:    []validator.Int64{int64validator.Between(4, 512)},
			},
		},
	}
}

func (v *vgaModel) toAPI() types.String {
	if v == nil {
		return types.StringNull()
	}
	p := pve.PropertyString{}
	if !v.Type.IsNull() && !v.Type.IsUnknown() {
		p.Set("type", v.Type.ValueString())
	}
	if !v.Memory.IsNull() && !v.Memory.IsUnknown() {
		p.Set("memory", strconv.FormatInt(v.Memory.ValueInt64(), 10))
	}
	return types.StringValue(p.Format("type"))
}

func vgaFromAPI(v string) (*vgaModel, error) {
	if v == "" {
		return nil, nil
	}
	p, err := pve.ParsePropertyString(v, "type")
	if err != nil {
		return nil, err
	}
	m := &vgaModel{Type: types.StringNull(), Memory: types.Int64Null()}
	if t := p.Value("type"); t != "" {
		m.Type = types.StringValue(t)
	}
	if mem, ok := p.Get("memory"); ok {
		n, err := strconv.ParseInt(mem, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("vga memory %q is not a number", mem)
		}
		m.Memory = types.Int64Value(n)
	}
	return m, nil
}

// serialRE is what a serial port may be: a socket or a host device.
var serialRE = regexpMust(`^(socket|/dev/.+)$`)

func serialAttribute() schema.Attribute {
	return schema.ListAttribute{
		Description: "Serial ports `serial0`.. in order: `socket` (for `qm terminal` and a serial console) or a host " +
			"device such as `/dev/ttyS0`. At most 4. Unset: left as they are (none on a new VM, the source's on a clone); " +
			"`[]` removes them.",
		ElementType:   types.StringType,
		Optional:      true,
		Computed:      true,
		PlanModifiers: []planmodifier.List{listplanmodifier.UseStateForUnknown()},
		Validators: []validator.List{
			listvalidator.SizeAtMost(4),
			listvalidator.ValueStringsAre(stringvalidator.RegexMatches(serialRE, "must be socket or /dev/...")),
		},
	}
}

// sameVolumeSettings compares planned settings with the state's, where an
// unknown planned value (unset, computed) counts as unchanged.
func sameVolumeSettings(plan, state []attr.Value) bool {
	for i := range plan {
		if !plan[i].IsUnknown() && !plan[i].Equal(state[i]) {
			return false
		}
	}
	return true
}

// warnTPMStorage warns when the TPM state lives on storage that cannot
// snapshot it: PVE then refuses snapshots of the VM.
func warnTPMStorage(ctx context.Context, c *pve.Client, m *vmModel, diags *diag.Diagnostics) {
	if m.TPMState == nil {
		return
	}
	storage := m.TPMState.Storage.ValueString()
	typ, err := c.StorageType(ctx, storage)
	if err == nil && snapshotless[typ] {
		diags.AddAttributeWarning(path.Root("tpm_state").AtName("storage"), "TPM State Cannot Be Snapshot",
			fmt.Sprintf("storage %s (%s) cannot snapshot the TPM state's raw volume: PVE will refuse snapshots of this VM", storage, typ))
	}
}
