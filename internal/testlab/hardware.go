package testlab

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// The host hardware of the lab's nodes, as PVE::API2::Hardware serves it
// (pve-manager PVE/API2/Hardware.pm, Hardware/PCI.pm, Hardware/USB.pm) from
// what PVE::SysFSTools (pve-common) reads in sysfs: lspci, pci_device_info,
// get_mdev_types and scan_usb.
//
// Every node is the same board (an Intel Xeon E-2388G server with a USB
// controller, an NVMe drive and two Intel I210 NICs); pve1 and pve2 also
// have an NVIDIA RTX 3090 in the first PCIe slot, its VGA and audio
// functions in one IOMMU group. Every other device has an IOMMU group of
// its own. None supports mediated devices. The inventory is fixed: the same
// node always reports the same devices.

// pciDevice is one PCI function as sysfs shows it. IDs keep the "0x" of the
// sysfs files; the names are what /usr/share/misc/pci.ids gives (a name
// pci.ids does not know is left out, as PVE leaves it out).
type pciDevice struct {
	id                string // "0000:01:00.0"
	vendor, device    string // "0x10de", "0x2204"
	class             string // "0x030000"
	subVendor, subDev string // "0x1458", "0x403b"
	iommuGroup        int
	mdev              bool
	vendorName        string
	deviceName        string
	subVendorName     string
	subDeviceName     string
	irq               string // pci_device_info refuses functions without a numeric irq
}

// usbDevice is one device of scan_usb.
type usbDevice struct {
	busnum, devnum, level, port, class int
	speed, vendid, prodid              string
	usbpath                            string // only below the root hub
	product, manufacturer              string
}

// hasGPU reports whether node n (1-based) has the passthrough GPU.
func hasGPU(nodeID int) bool { return nodeID == 1 || nodeID == 2 }

const (
	gpuPCIID      = "0000:01:00.0"
	gpuAudioPCIID = "0000:01:00.1"
)

// pciDevicesOf is the PCI inventory of a node, sorted by ID like lspci.
func pciDevicesOf(n *node) []pciDevice {
	const intel, supermicro = "Intel Corporation", "Super Micro Computer Inc"
	devs := []pciDevice{
		{id: "0000:00:00.0", vendor: "0x8086", device: "0x4c43", class: "0x060000", subVendor: "0x15d9", subDev: "0x1c48",
			iommuGroup: 0, vendorName: intel, deviceName: "Rocket Lake 8 core Host Bridge/DRAM Registers", subVendorName: supermicro, irq: "0"},
		{id: "0000:00:14.0", vendor: "0x8086", device: "0x43ed", class: "0x0c0330", subVendor: "0x15d9", subDev: "0x1c48",
			iommuGroup: 1, vendorName: intel, deviceName: "Tiger Lake-H USB 3.2 Gen 2x1 xHCI Host Controller", subVendorName: supermicro, irq: "128"},
	}
	if hasGPU(n.nodeID) {
		const nvidia, gigabyte = "NVIDIA Corporation", "Gigabyte Technology Co., Ltd"
		devs = append(devs,
			pciDevice{id: gpuPCIID, vendor: "0x10de", device: "0x2204", class: "0x030000", subVendor: "0x1458", subDev: "0x403b",
				iommuGroup: 2, vendorName: nvidia, deviceName: "GA102 [GeForce RTX 3090]", subVendorName: gigabyte, irq: "16"},
			pciDevice{id: gpuAudioPCIID, vendor: "0x10de", device: "0x1aef", class: "0x040300", subVendor: "0x1458", subDev: "0x403b",
				iommuGroup: 2, vendorName: nvidia, deviceName: "GA102 High Definition Audio Controller", subVendorName: gigabyte, irq: "17"},
		)
	}
	devs = append(devs,
		pciDevice{id: "0000:02:00.0", vendor: "0x144d", device: "0xa80a", class: "0x010802", subVendor: "0x144d", subDev: "0xa801",
			iommuGroup: 3, vendorName: "Samsung Electronics Co Ltd", deviceName: "NVMe SSD Controller PM9A1/PM9A3/980PRO",
			subVendorName: "Samsung Electronics Co Ltd", irq: "16"},
		pciDevice{id: "0000:03:00.0", vendor: "0x8086", device: "0x1533", class: "0x020000", subVendor: "0x15d9", subDev: "0x1533",
			iommuGroup: 4, vendorName: intel, deviceName: "I210 Gigabit Network Connection", subVendorName: supermicro, irq: "17"},
		pciDevice{id: "0000:04:00.0", vendor: "0x8086", device: "0x1533", class: "0x020000", subVendor: "0x15d9", subDev: "0x1533",
			iommuGroup: 5, vendorName: intel, deviceName: "I210 Gigabit Network Connection", subVendorName: supermicro, irq: "18"},
	)
	return devs
}

// usbDevicesOf is scan_usb of a node: each root hub (usb1, usb2) followed by
// the devices below it. pve1 has a UPS on its USB 2 bus.
func usbDevicesOf(n *node) []usbDevice {
	hcd := "Linux " + pveKernel + " xhci-hcd"
	devs := []usbDevice{
		{busnum: 1, devnum: 1, level: 0, port: 0, class: 9, speed: "480", vendid: "1d6b", prodid: "0002", product: "xHCI Host Controller", manufacturer: hcd},
		{busnum: 1, devnum: 2, level: 1, port: 0, class: 0, speed: "480", vendid: "046b", prodid: "ff10", usbpath: "1",
			product: "Virtual Keyboard and Mouse", manufacturer: "American Megatrends Inc."},
	}
	if n.nodeID == 1 {
		devs = append(devs, usbDevice{busnum: 1, devnum: 3, level: 1, port: 3, class: 0, speed: "12", vendid: "051d", prodid: "0002", usbpath: "4",
			product: "Back-UPS XS 700U  FW:924.Z3 .I USB FW:Z3", manufacturer: "American Power Conversion"})
	}
	return append(devs,
		usbDevice{busnum: 2, devnum: 1, level: 0, port: 0, class: 9, speed: "10000", vendid: "1d6b", prodid: "0003", product: "xHCI Host Controller", manufacturer: hcd})
}

// --- SysFSTools ----------------------------------------------------------

var (
	pciIDRE       = regexp.MustCompile(`^[a-f0-9]{4,}:[a-f0-9]{2}:[a-f0-9]{2}\.[a-f0-9]$`)
	pciFunctionRE = regexp.MustCompile(`(?i)\.[a-f0-9]`)
)

// lspciPrefix is lspci with a string filter: the functions whose ID, with
// or without the 0000: domain, starts with filter ("01:00" is both
// functions of the GPU).
func lspciPrefix(n *node, filter string) []pciDevice {
	var out []pciDevice
	for _, d := range pciDevicesOf(n) {
		if strings.HasPrefix(d.id, filter) || strings.HasPrefix(strings.TrimPrefix(d.id, "0000:"), filter) {
			out = append(out, d)
		}
	}
	return out
}

// pciDeviceInfo is pci_device_info: the function with exactly that ID
// (domain included), or nil.
func pciDeviceInfo(n *node, id string) *pciDevice {
	if n == nil || !pciIDRE.MatchString(id) {
		return nil
	}
	for _, d := range pciDevicesOf(n) {
		if d.id == id && d.irq != "" {
			return &d
		}
	}
	return nil
}

// lspciEntry renders a device like lspci: IDs always, the names and the
// subsystem (with its "0x") only when verbose.
func (d pciDevice) lspciEntry(verbose bool) map[string]any {
	e := map[string]any{"id": d.id, "vendor": d.vendor, "device": d.device, "class": d.class, "iommugroup": d.iommuGroup}
	if d.mdev {
		e["mdev"] = 1
	}
	if !verbose {
		return e
	}
	e["subsystem_vendor"], e["subsystem_device"] = d.subVendor, d.subDev
	for k, v := range map[string]string{"vendor_name": d.vendorName, "device_name": d.deviceName,
		"subsystem_vendor_name": d.subVendorName, "subsystem_device_name": d.subDeviceName} {
		if v != "" {
			e[k] = v
		}
	}
	return e
}

func (d usbDevice) entry() map[string]any {
	e := map[string]any{"busnum": d.busnum, "devnum": d.devnum, "level": d.level, "port": d.port, "class": d.class,
		"speed": d.speed, "vendid": d.vendid, "prodid": d.prodid}
	// scan_usb never reports "serial": it reads it with "my $serial => ...",
	// which does not assign.
	for k, v := range map[string]string{"usbpath": d.usbpath, "product": d.product, "manufacturer": d.manufacturer} {
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
	if parts := splitList(blacklist); len(parts) > 0 {
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
	for _, d := range pciDevicesOf(n) {
		if filter != nil && filter.MatchString(d.class) {
			continue
		}
		out = append(out, d.lspciEntry(verbose))
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
		for _, d := range usbDevicesOf(n) {
			out = append(out, d.entry())
		}
	}
	return out, nil
}

// usbDeviceByPath finds the device at "bus-port(.port)*" like
// PVE::Mapping::USB::assert_valid does (root hubs have no path).
func usbDeviceByPath(n *node, path string) *usbDevice {
	var found *usbDevice
	for _, d := range usbDevicesOf(n) {
		if d.usbpath == "" || d.busnum == 0 {
			continue
		}
		if strconv.Itoa(d.busnum)+"-"+d.usbpath == path {
			found = &d
		}
	}
	return found
}

// usbDeviceByID finds the last device with vendor:product id (the loop of
// assert_valid keeps the last match).
func usbDeviceByID(n *node, id string) *usbDevice {
	var found *usbDevice
	for _, d := range usbDevicesOf(n) {
		if d.vendid+":"+d.prodid == id {
			found = &d
		}
	}
	return found
}
