package vm

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/hcilab/terraform-provider-pve/internal/framework/guest"
	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

type vmModel struct {
	ID             types.String    `tfsdk:"id"`
	Node           types.String    `tfsdk:"node"`
	VMID           types.Int64     `tfsdk:"vmid"`
	Name           types.String    `tfsdk:"name"`
	Description    types.String    `tfsdk:"description"`
	Tags           types.Set       `tfsdk:"tags"`
	CPU            types.Object    `tfsdk:"cpu"`
	Memory         types.Object    `tfsdk:"memory"`
	BIOS           types.String    `tfsdk:"bios"`
	Machine        types.String    `tfsdk:"machine"`
	SCSIController types.String    `tfsdk:"scsi_controller"`
	CDROM          types.String    `tfsdk:"cdrom"`
	Clone          *cloneModel     `tfsdk:"clone"`
	Disks          types.Map       `tfsdk:"disks"`
	Network        types.Map       `tfsdk:"network"`
	USB            types.Map       `tfsdk:"usb"`
	HostPCI        types.Map       `tfsdk:"hostpci"`
	OSType         types.String    `tfsdk:"os_type"`
	Pool           types.String    `tfsdk:"pool"`
	CloudInit      *cloudInitModel `tfsdk:"cloud_init"`
	VGA            types.Object    `tfsdk:"vga"`
	Serial         types.List      `tfsdk:"serial"`
	Agent          types.Object    `tfsdk:"agent"`
	Startup        types.Object    `tfsdk:"startup"`
	Protection     types.Bool      `tfsdk:"protection"`
	DestroyUnrefd  types.Bool      `tfsdk:"destroy_unreferenced_disks"`
	EFIDisk        *efiDiskModel   `tfsdk:"efi_disk"`
	TPMState       *tpmStateModel  `tfsdk:"tpm_state"`
	Started        types.Bool      `tfsdk:"started"`
	OnBoot         types.Bool      `tfsdk:"on_boot"`
	RebootOnChange types.Bool      `tfsdk:"reboot_on_change"`
	Timeouts       timeouts.Value  `tfsdk:"timeouts"`
}

// configParams renders the settings of m that are plain configuration keys
// (not devices); with prior, keys m no longer sets go to "delete".
func configParams(ctx context.Context, m, prior *vmModel, p url.Values, diags *diag.Diagnostics) {
	// An unknown value is an attribute the configuration leaves unset: it
	// stays as it is (PVE's default for a new VM, the source's for a clone).
	set := func(key string, v, old attr.Value, text func() string) {
		switch {
		case v.IsUnknown():
		case !v.IsNull():
			if prior == nil || !v.Equal(old) {
				p.Set(key, text())
			}
		case prior != nil && !old.IsNull():
			p.Add("delete", key)
		}
	}
	str := func(key string, v, old types.String) { set(key, v, old, v.ValueString) }
	flag := func(key string, v, old types.Bool) {
		set(key, v, old, func() string { return boolText(v.ValueBool()) })
	}
	var o vmModel
	if prior != nil {
		o = *prior
	}
	str("name", m.Name, o.Name)
	str("description", m.Description, o.Description)
	str("bios", m.BIOS, o.BIOS)
	str("machine", m.Machine, o.Machine)
	str("scsihw", m.SCSIController, o.SCSIController)
	str("ostype", m.OSType, o.OSType)
	sizingParams(ctx, m, &o, set, diags)
	flag("onboot", m.OnBoot, o.OnBoot)
	flag("protection", m.Protection, o.Protection)
	var priorCI *cloudInitModel
	if prior != nil {
		priorCI = o.CloudInit
	}
	cloudInitParams(ctx, m.CloudInit, priorCI, p, diags)
	str("agent", blockAPI(ctx, m.Agent, (*agentModel).toAPI, diags), blockAPI(ctx, o.Agent, (*agentModel).toAPI, diags))
	str("vga", blockAPI(ctx, m.VGA, (*vgaModel).toAPI, diags), blockAPI(ctx, o.VGA, (*vgaModel).toAPI, diags))
	str("startup", guest.StartupToAPI(ctx, m.Startup, diags), guest.StartupToAPI(ctx, o.Startup, diags))
	var serial, oldSerial []string
	if !m.Serial.IsNull() && !m.Serial.IsUnknown() {
		diags.Append(m.Serial.ElementsAs(ctx, &serial, false)...)
	}
	if !o.Serial.IsNull() && !o.Serial.IsUnknown() {
		diags.Append(o.Serial.ElementsAs(ctx, &oldSerial, false)...)
	}
	for i := range 4 {
		if m.Serial.IsUnknown() {
			break // unset: left as they are
		}
		now, before := types.StringNull(), types.StringNull()
		if i < len(serial) {
			now = types.StringValue(serial[i])
		}
		if i < len(oldSerial) {
			before = types.StringValue(oldSerial[i])
		}
		str(fmt.Sprintf("serial%d", i), now, before)
	}
	// The EFI disk and the TPM state are allocated when they appear and
	// removed when they go; changing one is refused at plan time.
	if m.EFIDisk != nil && o.EFIDisk == nil {
		p.Set("efidisk0", m.EFIDisk.toAPI())
	} else if m.EFIDisk == nil && o.EFIDisk != nil {
		p.Add("delete", "efidisk0")
	}
	if m.TPMState != nil && o.TPMState == nil {
		p.Set("tpmstate0", m.TPMState.toAPI())
	} else if m.TPMState == nil && o.TPMState != nil {
		p.Add("delete", "tpmstate0")
	}
	tags := types.StringNull()
	oldTags := types.StringNull()
	if m.Tags.IsUnknown() {
		tags = types.StringUnknown()
	} else if !m.Tags.IsNull() {
		tags = types.StringValue(guest.TagText(ctx, m.Tags, diags))
	}
	if prior != nil && !o.Tags.IsNull() {
		oldTags = types.StringValue(guest.TagText(ctx, o.Tags, diags))
	}
	str("tags", tags, oldTags)
	// Ejecting keeps the drive ("none"): a running VM changes media at once,
	// while removing the drive would wait for its next start (and a local
	// ISO left in the drive blocks migration).
	switch {
	case !m.CDROM.IsNull() && !m.CDROM.IsUnknown():
		if prior == nil || !m.CDROM.Equal(o.CDROM) {
			p.Set("ide2", m.CDROM.ValueString()+",media=cdrom")
		}
	case prior != nil && !o.CDROM.IsNull():
		p.Set("ide2", "none,media=cdrom")
	}
}

// fromAPI sets m from what PVE reports. Optional attributes that PVE leaves
// unset stay null.
func (m *vmModel) fromAPI(found *pve.ClusterResource, cfg *pve.GuestConfig) error {
	optStr := func(key string) types.String {
		if v, ok := cfg.Get(key); ok && v != "" {
			return types.StringValue(v)
		}
		return types.StringNull()
	}
	var err error
	m.ID = types.StringValue(strconv.Itoa(found.VMID))
	m.Node = types.StringValue(found.Node)
	m.VMID = types.Int64Value(int64(found.VMID))
	m.Name = optStr("name")
	// PVE keeps descriptions as comment lines; a final line break is not
	// part of what was set.
	m.Description = types.StringNull()
	if d := strings.TrimRight(cfg.Values["description"], "\n"); d != "" {
		m.Description = types.StringValue(d)
	}
	m.BIOS = optStr("bios")
	m.Machine = optStr("machine")
	m.SCSIController = optStr("scsihw")
	m.OSType = optStr("ostype")
	m.Pool = types.StringNull()
	if found.Pool != "" {
		m.Pool = types.StringValue(found.Pool)
	}
	if m.CPU, m.Memory, err = sizingFromAPI(cfg); err != nil {
		return err
	}
	m.OnBoot = types.BoolNull()
	if v, ok := cfg.Get("onboot"); ok {
		m.OnBoot = types.BoolValue(v == "1")
	}
	m.Protection = types.BoolNull()
	if v, ok := cfg.Get("protection"); ok {
		m.Protection = types.BoolValue(v == "1")
	}
	if m.CloudInit, err = cloudInitFromAPI(cfg, m.CloudInit); err != nil {
		return fmt.Errorf("cloud-init: %w", err)
	}
	vga, err := vgaFromAPI(cfg.Values["vga"])
	if err != nil {
		return fmt.Errorf("vga: %w", err)
	}
	m.VGA = objectOf(vgaTypesMap, vga)
	// "serial = []" (remove them all) reads back as it was set.
	if m.Serial.IsNull() || m.Serial.IsUnknown() || len(m.Serial.Elements()) > 0 {
		m.Serial = types.ListNull(types.StringType)
	}
	var serial []attr.Value
	for i := range 4 {
		v, ok := cfg.Get(fmt.Sprintf("serial%d", i))
		if !ok {
			break
		}
		serial = append(serial, types.StringValue(v))
	}
	if len(serial) > 0 {
		m.Serial = types.ListValueMust(types.StringType, serial)
	}
	agent, err := agentFromAPI(cfg.Values["agent"])
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	m.Agent = objectOf(agentTypes, agent)
	if m.Startup, err = guest.StartupFromAPI(cfg.Values["startup"]); err != nil {
		return err
	}
	if m.EFIDisk, err = efiDiskFromAPI(cfg.Values["efidisk0"]); err != nil {
		return fmt.Errorf("efidisk0: %w", err)
	}
	if m.TPMState, err = tpmStateFromAPI(cfg.Values["tpmstate0"]); err != nil {
		return fmt.Errorf("tpmstate0: %w", err)
	}
	m.Tags = types.SetNull(types.StringType)
	if tags := pve.SplitTags(cfg.Values["tags"]); len(tags) > 0 {
		vals := make([]attr.Value, len(tags))
		for i, t := range tags {
			vals[i] = types.StringValue(t)
		}
		m.Tags = types.SetValueMust(types.StringType, vals)
	}
	m.CDROM = types.StringNull()
	disks := map[string]diskModel{}
	nics := map[string]nicModel{}
	usbs := map[string]usbModel{}
	pcis := map[string]hostPCIModel{}
	for key, value := range cfg.Values {
		switch {
		case checkSlot(key, diskFamilies) == nil:
			d, isDisk, err := diskFromAPI(value)
			if err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
			if isDisk {
				disks[key] = d
			} else if key == "ide2" {
				if p, err := pve.ParsePropertyString(value, "file"); err == nil && p.Value("media") == "cdrom" && p.Value("file") != "none" {
					m.CDROM = types.StringValue(p.Value("file"))
				}
			}
		case checkSlot(key, netFamilies) == nil:
			n, err := nicFromAPI(value)
			if err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
			nics[key] = n
		case checkSlot(key, usbFamilies) == nil:
			if usbs[key], err = usbFromAPI(value); err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
		case checkSlot(key, hostPCIFamilies) == nil:
			if pcis[key], err = hostPCIFromAPI(value); err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
		}
	}
	m.Disks = mapOf(diskType, disks)
	m.Network = mapOf(nicType, nics)
	m.USB = mapOf(usbType, usbs)
	m.HostPCI = mapOf(hostPCIType, pcis)
	m.Started = types.BoolValue(found.Status == "running")
	return nil
}
