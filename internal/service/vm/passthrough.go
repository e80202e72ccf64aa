package vm

import (
	"fmt"
	"regexp"
	"strconv"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/boolplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

// Host devices passed through to a VM: USB devices (usbN) and PCI devices
// (hostpciN), each by a cluster resource mapping or by the host's own id.

var (
	usbFamilies     = []slotFamily{{"usb", 14}}
	hostPCIFamilies = []slotFamily{{"hostpci", 16}}

	// usbHostRE is what PVE takes as a host USB device: vendor:product,
	// bus-port(.port)*, or spice.
	usbHostRE = regexp.MustCompile(`^((0x)?[0-9a-fA-F]{4}:(0x)?[0-9a-fA-F]{4}|\d+-\d+(\.\d+)*|[Ss][Pp][Ii][Cc][Ee])$`)
	// pciIDRE is a host PCI device or function, or several separated by ";".
	pciIDRE = regexp.MustCompile(`^(([0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}(\.[0-7])?)(;([0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}(\.[0-7])?)*$`)
	// mappingIDRE is PVE's pve-configid format, the names of mappings.
	mappingIDRE = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_-]*$`)
)

// usbModel is one USB device of the usb map.
type usbModel struct {
	Host    types.String `tfsdk:"host"`
	Mapping types.String `tfsdk:"mapping"`
	USB3    types.Bool   `tfsdk:"usb3"`
}

var usbType = types.ObjectType{AttrTypes: map[string]attr.Type{
	"host": types.StringType, "mapping": types.StringType, "usb3": types.BoolType,
}}

// hostPCIModel is one PCI device of the hostpci map.
type hostPCIModel struct {
	Mapping types.String `tfsdk:"mapping"`
	ID      types.String `tfsdk:"id"`
	PCIe    types.Bool   `tfsdk:"pcie"`
	ROMBar  types.Bool   `tfsdk:"rombar"`
	XVGA    types.Bool   `tfsdk:"x_vga"`
	MDev    types.String `tfsdk:"mdev"`
}

var hostPCIType = types.ObjectType{AttrTypes: map[string]attr.Type{
	"mapping": types.StringType, "id": types.StringType, "pcie": types.BoolType, "rombar": types.BoolType,
	"x_vga": types.BoolType, "mdev": types.StringType,
}}

// flagAttribute is a switch PVE reads as its default when it is not set.
func flagAttribute(desc string) schema.BoolAttribute {
	return schema.BoolAttribute{Description: desc, Optional: true, Computed: true,
		PlanModifiers: []planmodifier.Bool{boolplanmodifier.UseNonNullStateForUnknown()}}
}

func usbAttributes() map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"host": schema.StringAttribute{
			Description: "Host USB device: `vendor:product` (hex, e.g. `0781:5583`), a port `bus-port` (e.g. `1-2.3`), " +
				"or `spice` for SPICE USB redirection. Exactly one of `host` and `mapping`. A host device other than " +
				"`spice` needs root@pam (a password login): PVE refuses it to API tokens, which must use a mapping.",
			Optional: true,
			Validators: []validator.String{
				stringvalidator.RegexMatches(usbHostRE, "must be vendor:product (hex), bus-port, or spice"),
				stringvalidator.ExactlyOneOf(path.MatchRelative().AtParent().AtName("mapping")),
			},
		},
		"mapping": schema.StringAttribute{
			Description: "Name of a cluster USB mapping (`pve_mapping_usb`).",
			Optional:    true,
			Validators:  []validator.String{stringvalidator.RegexMatches(mappingIDRE, "must be a mapping name")},
		},
		"usb3": flagAttribute("Plug the device into a USB 3 controller. Unset: left as it is (PVE's default: off)."),
	}
}

func hostPCIAttributes() map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"mapping": schema.StringAttribute{
			Description: "Name of a cluster PCI mapping (`pve_mapping_pci`): the VM gets that device on whichever node " +
				"it runs. Exactly one of `mapping` and `id`.",
			Optional: true,
			Validators: []validator.String{
				stringvalidator.RegexMatches(mappingIDRE, "must be a mapping name"),
				stringvalidator.ExactlyOneOf(path.MatchRelative().AtParent().AtName("id")),
			},
		},
		"id": schema.StringAttribute{
			Description: "Host PCI device by address, e.g. `0000:01:00` (all functions) or `0000:01:00.0`; several " +
				"separated by `;` (the first free one is used). Needs root@pam (a password login): PVE refuses raw " +
				"devices to API tokens, which must use a `mapping`.",
			Optional:   true,
			Validators: []validator.String{stringvalidator.RegexMatches(pciIDRE, "must be a PCI address such as 0000:01:00 or 0000:01:00.0")},
		},
		"pcie":   flagAttribute("Attach as a PCI Express device; needs `machine = \"q35\"`. Unset: left as it is (PVE's default: off)."),
		"rombar": flagAttribute("Make the device's ROM visible in the guest's memory map. Unset: left as it is (PVE's default: on)."),
		"x_vga":  flagAttribute("Make this the VM's primary GPU (x-vga). Unset: left as it is (PVE's default: off)."),
		"mdev": schema.StringAttribute{
			Description: "Mediated device type to create on the device, e.g. `nvidia-63` (for devices that support it).",
			Optional:    true,
		},
	}
}

// value is the device as PVE's usbN property string.
func (u usbModel) value() string {
	p := pve.PropertyString{}
	if known(u.Host) {
		p.Set("host", u.Host.ValueString())
	}
	if known(u.Mapping) {
		p.Set("mapping", u.Mapping.ValueString())
	}
	if !u.USB3.IsNull() && !u.USB3.IsUnknown() {
		p.Set("usb3", boolText(u.USB3.ValueBool()))
	}
	return p.Format("host")
}

func usbFromAPI(value string) (usbModel, error) {
	p, err := pve.ParsePropertyString(value, "host")
	if err != nil {
		return usbModel{}, err
	}
	return usbModel{
		Host:    optValue(p, "host"),
		Mapping: optValue(p, "mapping"),
		USB3:    types.BoolValue(p.Value("usb3") == "1"),
	}, nil
}

// value is the device as PVE's hostpciN property string.
func (h hostPCIModel) value() string {
	p := pve.PropertyString{}
	if known(h.ID) {
		p.Set("host", h.ID.ValueString())
	}
	if known(h.Mapping) {
		p.Set("mapping", h.Mapping.ValueString())
	}
	for _, f := range []struct {
		key string
		v   types.Bool
	}{{"pcie", h.PCIe}, {"rombar", h.ROMBar}, {"x-vga", h.XVGA}} {
		if !f.v.IsNull() && !f.v.IsUnknown() {
			p.Set(f.key, boolText(f.v.ValueBool()))
		}
	}
	if known(h.MDev) {
		p.Set("mdev", h.MDev.ValueString())
	}
	return p.Format("host")
}

func hostPCIFromAPI(value string) (hostPCIModel, error) {
	p, err := pve.ParsePropertyString(value, "host")
	if err != nil {
		return hostPCIModel{}, err
	}
	flag := func(key string, def bool) types.Bool {
		v, ok := p.Get(key)
		if !ok {
			return types.BoolValue(def)
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			return types.BoolValue(def)
		}
		return types.BoolValue(b)
	}
	return hostPCIModel{
		ID:      optValue(p, "host"),
		Mapping: optValue(p, "mapping"),
		PCIe:    flag("pcie", false),
		ROMBar:  flag("rombar", true),
		XVGA:    flag("x-vga", false),
		MDev:    optValue(p, "mdev"),
	}, nil
}

// modernOSTypes are the OS types that can have more than five USB devices:
// Linux 2.6+ and Windows after 7.
var modernOSTypes = map[string]bool{"l26": true, "win8": true, "win10": true, "win11": true}

// machineVersionRE takes the version out of a versioned machine type.
var machineVersionRE = regexp.MustCompile(`^pc-(?:q35|i440fx)-(\d+)\.(\d+)`)

// usbSlotProblem says why usbN (N >= 5) cannot be used with this machine
// type and OS type, or "" when it can. Unknown values (a clone's, left
// unset) are not judged; null ones are PVE's defaults for a new VM.
func usbSlotProblem(slot int, machine, osType types.String, isNew bool) string {
	if slot < 5 {
		return ""
	}
	if known(machine) {
		if m := machineVersionRE.FindStringSubmatch(machine.ValueString()); m != nil {
			major, _ := strconv.Atoi(m[1])
			minor, _ := strconv.Atoi(m[2])
			if major < 7 || major == 7 && minor < 1 {
				return fmt.Sprintf("usb5..usb13 need machine version 7.1 or later; machine is %s", machine.ValueString())
			}
		}
	}
	switch {
	case known(osType) && !modernOSTypes[osType.ValueString()]:
		return fmt.Sprintf("usb5..usb13 need os_type l26, win8, win10 or win11; os_type is %s", osType.ValueString())
	case isNew && (osType.IsNull() || osType.IsUnknown()):
		return "usb5..usb13 need os_type l26, win8, win10 or win11; os_type is unset (PVE's default: other)"
	}
	return ""
}

// pcieProblem says why a PCIe device cannot be attached with this machine
// type, or "" when it can.
func pcieProblem(machine types.String, isNew bool) string {
	switch {
	case known(machine):
		if m := machine.ValueString(); m != "q35" && !regexp.MustCompile(`^pc-q35-`).MatchString(m) {
			return fmt.Sprintf("pcie needs machine = \"q35\"; machine is %s", m)
		}
	case isNew:
		return "pcie needs machine = \"q35\"; machine is unset (PVE's default: i440fx)"
	}
	return ""
}

// known reports whether v holds a value.
func known(v types.String) bool { return !v.IsNull() && !v.IsUnknown() && v.ValueString() != "" }

// optValue is a property string's key as a string, null when absent.
func optValue(p pve.PropertyString, key string) types.String {
	if v, ok := p.Get(key); ok && v != "" {
		return types.StringValue(v)
	}
	return types.StringNull()
}
