package mapping

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/hcilab/terraform-provider-pve/internal/framework"
	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

// A map entry is one node's device: attributes in the configuration, keys
// of a property string in PVE ("node=pve1,path=0000:01:00.0,id=10de:2204").

// entryKey is one setting of an entry.
type entryKey struct {
	attr, key string
	number    bool
}

var (
	pciEntryKeys = []entryKey{{"node", "node", false}, {"path", "path", false}, {"id", "id", false},
		{"subsystem_id", "subsystem-id", false}, {"iommu_group", "iommugroup", true}, {"description", "description", false}}
	usbEntryKeys = []entryKey{{"node", "node", false}, {"path", "path", false}, {"id", "id", false},
		{"description", "description", false}}

	// pciPathRE is a PCI device ("0000:01:00", all its functions) or
	// function ("0000:01:00.0"); several are separated by ";".
	pciPathRE = regexp.MustCompile(`^[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}(\.[0-7])?(;[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}(\.[0-7])?)*$`)
	// usbPathRE is a USB port: bus-port(.port)*.
	usbPathRE = regexp.MustCompile(`^\d+-\d+(\.\d+)*$`)
	// vendorDeviceRE is "vendor:device" in hex, as lspci prints it.
	vendorDeviceRE = regexp.MustCompile(`^[0-9a-fA-F]{4}:[0-9a-fA-F]{4}$`)
	// mappingNameRE is PVE's pve-configid format.
	mappingNameRE = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_-]*$`)
	// noCommaRE keeps descriptions inside one property string value.
	noCommaRE = regexp.MustCompile(`^[^,=]*$`)
)

func entryTypes(keys []entryKey) map[string]attr.Type {
	out := map[string]attr.Type{}
	for _, k := range keys {
		out[k.attr] = types.StringType
		if k.number {
			out[k.attr] = types.Int64Type
		}
	}
	return out
}

func pciEntryAttributes() map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"node": nodeAttribute(),
		"path": schema.StringAttribute{
			Description: "PCI address on that node: a function (`0000:01:00.0`) or a whole device with all its " +
				"functions (`0000:01:00`, a GPU with its audio function); several separated by `;`, the first free one is used.",
			Required:   true,
			Validators: []validator.String{stringvalidator.RegexMatches(pciPathRE, "must be a PCI address such as 0000:01:00.0 or 0000:01:00")},
		},
		"id": vendorDeviceAttribute("The device's `vendor:device` ID in hex, e.g. `10de:2204` (`pve_node_pci_devices` gives it); PVE checks it to detect hardware changes.", true),
		"subsystem_id": vendorDeviceAttribute("The subsystem's `vendor:device` ID, e.g. `1458:403b`; checked like `id`. "+
			"Set it for devices that have one (PVE's check warns when it is missing).", false),
		"iommu_group": schema.Int64Attribute{
			Description: "IOMMU group the device is expected in (checked like `id`).",
			Optional:    true,
			Validators:  []validator.Int64{int64validator.AtLeast(0)},
		},
		"description": descriptionAttribute(),
	}
}

func usbEntryAttributes() map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"node": nodeAttribute(),
		"id":   vendorDeviceAttribute("The device's `vendor:product` ID in hex, e.g. `1050:0407`. Without `path`, the device is found by it.", true),
		"path": schema.StringAttribute{
			Description: "USB port the device is plugged into, `bus-port(.port)*`, e.g. `1-2.3`; then `id` only detects hardware changes.",
			Optional:    true,
			Validators:  []validator.String{stringvalidator.RegexMatches(usbPathRE, "must be a USB port such as 1-2 or 1-2.3")},
		},
		"description": descriptionAttribute(),
	}
}

func nodeAttribute() schema.StringAttribute {
	return schema.StringAttribute{
		Description: "Node the device is on; each node appears once in a map.",
		Required:    true,
		Validators:  []validator.String{framework.StringCheck("must be a node name", pve.CheckNodeName)},
	}
}

func vendorDeviceAttribute(desc string, required bool) schema.StringAttribute {
	return schema.StringAttribute{
		Description: desc,
		Required:    required,
		Optional:    !required,
		Validators:  []validator.String{stringvalidator.RegexMatches(vendorDeviceRE, "must be vendor:device in hex, such as 10de:2204")},
	}
}

func descriptionAttribute() schema.StringAttribute {
	return schema.StringAttribute{
		Description: "Description of this node's device.",
		Optional:    true,
		Validators:  []validator.String{stringvalidator.RegexMatches(noCommaRE, "must not contain ',' or '='")},
	}
}

// entryToAPI renders an entry as PVE's property string.
func entryToAPI(keys []entryKey, e types.Object) string {
	attrs := e.Attributes()
	p := pve.PropertyString{}
	for _, k := range keys {
		switch v := attrs[k.attr].(type) {
		case types.String:
			if !v.IsNull() && !v.IsUnknown() && v.ValueString() != "" {
				p.Set(k.key, v.ValueString())
			}
		case types.Int64:
			if !v.IsNull() && !v.IsUnknown() {
				p.Set(k.key, strconv.FormatInt(v.ValueInt64(), 10))
			}
		}
	}
	return p.Format("")
}

// entryFromAPI reads PVE's property string of an entry.
func entryFromAPI(keys []entryKey, s string) (types.Object, error) {
	p, err := pve.ParsePropertyString(s, "")
	if err != nil {
		return types.Object{}, err
	}
	vals := map[string]attr.Value{}
	for _, k := range keys {
		v, ok := p.Get(k.key)
		switch {
		case k.number && ok:
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return types.Object{}, fmt.Errorf("%s: %q is not a number", k.key, v)
			}
			vals[k.attr] = types.Int64Value(n)
		case k.number:
			vals[k.attr] = types.Int64Null()
		case ok && v != "":
			vals[k.attr] = types.StringValue(v)
		default:
			vals[k.attr] = types.StringNull()
		}
	}
	o, diags := types.ObjectValue(entryTypes(keys), vals)
	if diags.HasError() {
		return types.Object{}, fmt.Errorf("%v", diags)
	}
	return o, nil
}

// entryNode is an entry's node.
func entryNode(e types.Object) string {
	if n, ok := e.Attributes()["node"].(types.String); ok {
		return n.ValueString()
	}
	return ""
}

// entryString is one string setting of an entry.
func entryString(e types.Object, name string) string {
	if v, ok := e.Attributes()[name].(types.String); ok {
		return v.ValueString()
	}
	return ""
}

// lower is a hex ID as PVE compares it.
func lower(s string) string { return strings.ToLower(strings.TrimPrefix(s, "0x")) }
