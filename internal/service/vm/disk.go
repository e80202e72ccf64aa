package vm

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/boolplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

// Disk cache modes PVE accepts.
var cacheModes = []string{"none", "writethrough", "writeback", "unsafe", "directsync"}

// diskModel is one disk of the disks map.
type diskModel struct {
	Storage  types.String `tfsdk:"storage"`
	Size     types.Int64  `tfsdk:"size"`
	Format   types.String `tfsdk:"format"`
	Cache    types.String `tfsdk:"cache"`
	Discard  types.Bool   `tfsdk:"discard"`
	IOThread types.Bool   `tfsdk:"iothread"`
	SSD      types.Bool   `tfsdk:"ssd"`
	Backup   types.Bool   `tfsdk:"backup"`
	Volume   types.String `tfsdk:"volume"`
}

// diskType is the element type of the disks map.
var diskType = types.ObjectType{AttrTypes: map[string]attr.Type{
	"storage": types.StringType, "size": types.Int64Type, "format": types.StringType, "cache": types.StringType, "discard": types.BoolType,
	"iothread": types.BoolType, "ssd": types.BoolType, "backup": types.BoolType, "volume": types.StringType,
}}

func diskAttributes() map[string]schema.Attribute {
	flag := func(desc string) schema.BoolAttribute {
		return schema.BoolAttribute{Description: desc + " Unset: left as it is.", Optional: true, Computed: true,
			PlanModifiers: []planmodifier.Bool{boolplanmodifier.UseNonNullStateForUnknown()}}
	}
	return map[string]schema.Attribute{
		"storage": schema.StringAttribute{
			Description: "Storage the disk is allocated on, e.g. `local-lvm`. Moving a disk to another storage is not supported yet (a plan-time error, never a replacement).",
			Required:    true,
		},
		"size": schema.Int64Attribute{
			Description: "Size in GiB. Disks only grow: a smaller size is a plan-time error.",
			Required:    true,
			Validators:  []validator.Int64{int64validator.AtLeast(1)},
		},
		"format": schema.StringAttribute{
			Description: "Image format: `raw`, `qcow2` or `vmdk`. Block storages (LVM, ZFS, Ceph RBD) only take `raw`. " +
				"Unset: the storage's default (qcow2 on directory storages, raw elsewhere). Converting a disk is not " +
				"supported (a plan-time error, never a replacement).",
			Optional:      true,
			Computed:      true,
			PlanModifiers: []planmodifier.String{stringplanmodifier.UseNonNullStateForUnknown()},
			Validators:    []validator.String{stringvalidator.OneOf("raw", "qcow2", "vmdk")},
		},
		"cache": schema.StringAttribute{
			Description: "Cache mode: `none`, `writethrough`, `writeback`, `unsafe`, `directsync`. Unset: PVE's default (no cache).",
			Optional:    true,
			Validators:  []validator.String{stringvalidator.OneOf(cacheModes...)},
		},
		"discard":  flag("Pass discards (TRIM) to the storage, so thin volumes shrink. Default off."),
		"iothread": flag("Give the disk its own I/O thread (with the `virtio-scsi-single` controller or virtio disks). Default off."),
		"ssd":      flag("Present the disk as an SSD to the guest. Default off."),
		"backup":   flag("Include the disk in backups. Default on."),
		"volume": schema.StringAttribute{
			Description:   "The volume PVE allocated, e.g. `local-lvm:vm-100-disk-0`.",
			Computed:      true,
			PlanModifiers: []planmodifier.String{stringplanmodifier.UseNonNullStateForUnknown()},
		},
	}
}

// createValue is the disk as a create or hot-plug parameter: PVE allocates
// "storage:sizeGiB".
func (d diskModel) createValue() string {
	p := pve.PropertyString{}
	p.Set("file", fmt.Sprintf("%s:%d", d.Storage.ValueString(), d.Size.ValueInt64()))
	if !d.Format.IsNull() && !d.Format.IsUnknown() {
		p.Set("format", d.Format.ValueString())
	}
	d.setOptions(&p)
	return p.Format("file")
}

// updateValue is the disk's existing volume with the options of d, for a
// change of options only (the size is changed with a resize).
func (d diskModel) updateValue(current string) (string, error) {
	p, err := pve.ParsePropertyString(current, "file")
	if err != nil {
		return "", err
	}
	for _, k := range []string{"cache", "discard", "iothread", "ssd", "backup"} {
		p.Delete(k)
	}
	d.setOptions(&p)
	return p.Format("file"), nil
}

func (d diskModel) setOptions(p *pve.PropertyString) {
	if !d.Cache.IsNull() && !d.Cache.IsUnknown() {
		p.Set("cache", d.Cache.ValueString())
	}
	if d.Discard.ValueBool() {
		p.Set("discard", "on")
	}
	if d.IOThread.ValueBool() {
		p.Set("iothread", "1")
	}
	if d.SSD.ValueBool() {
		p.Set("ssd", "1")
	}
	if !d.Backup.IsNull() && !d.Backup.IsUnknown() && !d.Backup.ValueBool() {
		p.Set("backup", "0")
	}
}

// diskFromAPI reads a disk's property string. It reports false for what
// is not a disk in the map's sense (a CD-ROM, a cloud-init drive).
func diskFromAPI(value string) (diskModel, bool, error) {
	p, err := pve.ParsePropertyString(value, "file")
	if err != nil {
		return diskModel{}, false, err
	}
	file := p.Value("file")
	if p.Value("media") == "cdrom" || strings.Contains(file, "cloudinit") || file == "none" {
		return diskModel{}, false, nil
	}
	storage, _, ok := strings.Cut(file, ":")
	if !ok {
		return diskModel{}, false, fmt.Errorf("disk %q has no storage volume", value)
	}
	size, err := pve.SizeGiB(p.Value("size"))
	if err != nil {
		return diskModel{}, false, err
	}
	d := diskModel{
		Storage:  types.StringValue(storage),
		Size:     types.Int64Value(size),
		Format:   types.StringValue(diskFormat(file, p.Value("format"))),
		Cache:    types.StringNull(),
		Discard:  types.BoolValue(p.Value("discard") == "on"),
		IOThread: types.BoolValue(p.Value("iothread") == "1"),
		SSD:      types.BoolValue(p.Value("ssd") == "1"),
		Backup:   types.BoolValue(p.Value("backup") != "0"),
		Volume:   types.StringValue(file),
	}
	if c := p.Value("cache"); c != "" {
		d.Cache = types.StringValue(c)
	}
	return d, true, nil
}

// diskFormat is a volume's image format: as the configuration states it,
// else as its file name shows it, else raw (block storages).
func diskFormat(volume, stated string) string {
	if stated != "" {
		return stated
	}
	for _, f := range []string{"qcow2", "vmdk", "raw"} {
		if strings.HasSuffix(volume, "."+f) {
			return f
		}
	}
	return "raw"
}

// disks returns the disks map, empty while it is unset or unknown.
func (m *vmModel) disks(ctx context.Context, diags *diag.Diagnostics) map[string]diskModel {
	return elements[diskModel](ctx, m.Disks, diags)
}

func sameDiskOptions(a, b diskModel) bool {
	return a.Cache.Equal(b.Cache) && a.Discard.ValueBool() == b.Discard.ValueBool() &&
		a.IOThread.ValueBool() == b.IOThread.ValueBool() && a.SSD.ValueBool() == b.SSD.ValueBool() &&
		a.Backup.ValueBool() == b.Backup.ValueBool()
}
