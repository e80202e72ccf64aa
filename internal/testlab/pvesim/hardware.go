package pvesim

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/machine"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/pveschema"
)

// The host hardware of the lab's nodes (package machine), as
// PVE::API2::Hardware serves it (pve-manager PVE/API2/Hardware.pm,
// Hardware/PCI.pm, Hardware/USB.pm) from what PVE::SysFSTools (pve-common)
// reads in sysfs: lspci, pci_device_info, get_mdev_types and scan_usb.

// --- SysFSTools ----------------------------------------------------------

var (
	pciIDRE       = regexp.MustCompile(`^[a-f0-9]{4,}:[a-f0-9]{2}:[a-f0-9]{2}\.[a-f0-9]$`)
	pciFunctionRE = regexp.MustCompile(`(?i)\.[a-f0-9]`)
)

// lspciPrefix is lspci with a string filter: the functions whose ID, with
// or without the 0000: domain, starts with filter ("01:00" is both
// functions of the GPU).
func lspciPrefix(n *node, filter string) []machine.PCIDevice {
	var out []machine.PCIDevice
	for _, d := range n.PCIDevices() {
		if strings.HasPrefix(d.ID, filter) || strings.HasPrefix(strings.TrimPrefix(d.ID, "0000:"), filter) {
			out = append(out, d)
		}
	}
	return out
}

// pciDeviceInfo is pci_device_info: the function with exactly that ID
// (domain included), or nil.
func pciDeviceInfo(n *node, id string) *machine.PCIDevice {
	if n == nil || !pciIDRE.MatchString(id) {
		return nil
	}
	for _, d := range n.PCIDevices() {
		if d.ID == id && d.IRQ != "" {
			return &d
		}
	}
	return nil
}

// lspciEntry renders a device like lspci: IDs always, the names and the
// subsystem (with its "0x") only when verbose.
func lspciEntry(d machine.PCIDevice, verbose bool) map[string]any {
	e := map[string]any{"id": d.ID, "vendor": d.Vendor, "device": d.Device, "class": d.Class, "iommugroup": d.IOMMUGroup}
	if d.Mdev {
		e["mdev"] = 1
	}
	if !verbose {
		return e
	}
	e["subsystem_vendor"], e["subsystem_device"] = d.SubVendor, d.SubDevice
	for k, v := range map[string]string{"vendor_name": d.VendorName, "device_name": d.DeviceName,
		"subsystem_vendor_name": d.SubVendorName, "subsystem_device_name": d.SubDeviceName} {
		if v != "" {
			e[k] = v
		}
	}
	return e
}

// usbEntry renders a device like scan_usb.
func usbEntry(d machine.USBDevice) map[string]any {
	e := map[string]any{"busnum": d.Busnum, "devnum": d.Devnum, "level": d.Level, "port": d.Port, "class": d.Class,
		"speed": d.Speed, "vendid": d.VendID, "prodid": d.ProdID}
	// scan_usb never reports "serial": it reads it with "my $serial => ...",
	// which does not assign.
	for k, v := range map[string]string{"usbpath": d.USBPath, "product": d.Product, "manufacturer": d.Manufacturer} {
		if v != "" {
			e[k] = v
		}
	}
	return e
}

// --- routes --------------------------------------------------------------

const defaultPCIClassBlacklist = "05;06;0b"

func (p *PVE) registerHardwareRoutes() {
	p.Handle(http.MethodGet, "/nodes/{node}/hardware", func(*Request) (any, error) {
		return []map[string]any{{"type": "pci"}, {"type": "usb"}}, nil
	})
	p.Handle(http.MethodGet, "/nodes/{node}/hardware/pci", p.pciScan)
	p.Handle(http.MethodGet, "/nodes/{node}/hardware/pci/{pci-id-or-mapping}", func(*Request) (any, error) {
		return []map[string]any{{"method": "mdev"}}, nil
	})
	p.Handle(http.MethodGet, "/nodes/{node}/hardware/pci/{pci-id-or-mapping}/mdev", p.mdevScan)
	p.Handle(http.MethodGet, "/nodes/{node}/hardware/usb", p.usbScan)
}

// pciScan serves GET /nodes/{node}/hardware/pci (pci_scan): the classes of
// the blacklist are regex fragments matched at the start of the class
// after "0x"; an empty blacklist shows everything.
func (p *PVE) pciScan(r *Request) (any, error) {
	blacklist, ok := r.String("pci-class-blacklist")
	if !ok {
		blacklist = defaultPCIClassBlacklist
	}
	var filter *regexp.Regexp
	if parts := pveschema.SplitList(blacklist); len(parts) > 0 {
		re, err := regexp.Compile(`^0x(?:` + strings.Join(parts, "|") + `)`)
		if err != nil {
			re = regexp.MustCompile(`^0x(?:` + regexp.QuoteMeta(strings.Join(parts, "|")) + `)`)
		}
		filter = re
	}
	verbose := r.Bool("verbose", true)
	n := p.node(r.PathParams["node"])
	out := []map[string]any{}
	if n == nil {
		return out, nil
	}
	for _, d := range n.PCIDevices() {
		if filter != nil && filter.MatchString(d.Class) {
			continue
		}
		out = append(out, lspciEntry(d, verbose))
	}
	return out, nil
}

// mdevScan serves GET /nodes/{node}/hardware/pci/{pci-id-or-mapping}/mdev
// (mdevscan). get_mdev_types answers an empty list for any function without
// mdev_supported_types or an nvidia directory, also for IDs that do not
// exist; for a mapping it merges the types of the node's entries. No lab
// device supports mediated devices, so the list is always empty.
func (p *PVE) mdevScan(*Request) (any, error) {
	return []map[string]any{}, nil
}

// usbScan serves GET /nodes/{node}/hardware/usb (usbscan).
func (p *PVE) usbScan(r *Request) (any, error) {
	out := []map[string]any{}
	if n := p.node(r.PathParams["node"]); n != nil {
		for _, d := range n.USBDevices(pveKernel) {
			out = append(out, usbEntry(d))
		}
	}
	return out, nil
}

// usbDeviceByPath finds the device at "bus-port(.port)*" like
// PVE::Mapping::USB::assert_valid does (root hubs have no path).
func usbDeviceByPath(n *node, path string) *machine.USBDevice {
	var found *machine.USBDevice
	for _, d := range n.USBDevices(pveKernel) {
		if d.USBPath == "" || d.Busnum == 0 {
			continue
		}
		if strconv.Itoa(d.Busnum)+"-"+d.USBPath == path {
			found = &d
		}
	}
	return found
}

// usbDeviceByID finds the last device with vendor:product id (the loop of
// assert_valid keeps the last match).
func usbDeviceByID(n *node, id string) *machine.USBDevice {
	var found *machine.USBDevice
	for _, d := range n.USBDevices(pveKernel) {
		if d.VendID+":"+d.ProdID == id {
			found = &d
		}
	}
	return found
}
