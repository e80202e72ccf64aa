package mapping

import (
	"github.com/hashicorp/terraform-plugin-framework/resource"

	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

// NewUSBResource returns the pve_mapping_usb resource.
func NewUSBResource() resource.Resource {
	return &mappingResource{spec: kindSpec{
		kind:  pve.USBMapping,
		title: "USB Mapping",
		slot:  "usb",
		description: "A cluster-wide name for equivalent USB devices (licence dongles, security keys) on several nodes " +
			"(`/cluster/mapping/usb`), used by VMs as `usb = { usb0 = { mapping = ... } }`. Changes are checked against " +
			"each node's hardware and what does not match is a warning. A mapping that a VM uses is not deleted. Import by name.",
		entryAttrs: usbEntryAttributes(),
		keys:       usbEntryKeys,
	}}
}
