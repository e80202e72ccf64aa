package machine

// The host hardware of the lab's machines: what PVE::SysFSTools
// (pve-common) reads in sysfs (lspci, pci_device_info, get_mdev_types and
// scan_usb) and PVE::API2::Hardware serves.
//
// Every node is the same board (an Intel Xeon E-2388G server with a USB
// controller, an NVMe drive and two Intel I210 NICs); pve1 and pve2 also
// have an NVIDIA RTX 3090 in the first PCIe slot, its VGA and audio
// functions in one IOMMU group. Every other device has an IOMMU group of
// its own. None supports mediated devices. The inventory is fixed: the same
// node always reports the same devices.

// PCIDevice is one PCI function as sysfs shows it. IDs keep the "0x" of the
// sysfs files; the names are what /usr/share/misc/pci.ids gives (a name
// pci.ids does not know is left out, as PVE leaves it out).
type PCIDevice struct {
	ID                   string // "0000:01:00.0"
	Vendor, Device       string // "0x10de", "0x2204"
	Class                string // "0x030000"
	SubVendor, SubDevice string // "0x1458", "0x403b"
	IOMMUGroup           int
	Mdev                 bool
	VendorName           string
	DeviceName           string
	SubVendorName        string
	SubDeviceName        string
	IRQ                  string // pci_device_info refuses functions without a numeric irq
}

// USBDevice is one device of scan_usb.
type USBDevice struct {
	Busnum, Devnum, Level, Port, Class int
	Speed, VendID, ProdID              string
	USBPath                            string // only below the root hub
	Product, Manufacturer              string
}

// HasGPU reports whether machine number id (1-based) has the passthrough GPU.
func HasGPU(id int) bool { return id == 1 || id == 2 }

// The PCI IDs of the passthrough GPU's functions.
const (
	GPUPCIID      = "0000:01:00.0"
	GPUAudioPCIID = "0000:01:00.1"
)

// PCIDevices is the PCI inventory of the machine, sorted by ID like lspci.
func (m *Machine) PCIDevices() []PCIDevice {
	const intel, supermicro = "Intel Corporation", "Super Micro Computer Inc"
	devs := []PCIDevice{
		{ID: "0000:00:00.0", Vendor: "0x8086", Device: "0x4c43", Class: "0x060000", SubVendor: "0x15d9", SubDevice: "0x1c48",
			IOMMUGroup: 0, VendorName: intel, DeviceName: "Rocket Lake 8 core Host Bridge/DRAM Registers", SubVendorName: supermicro, IRQ: "0"},
		{ID: "0000:00:14.0", Vendor: "0x8086", Device: "0x43ed", Class: "0x0c0330", SubVendor: "0x15d9", SubDevice: "0x1c48",
			IOMMUGroup: 1, VendorName: intel, DeviceName: "Tiger Lake-H USB 3.2 Gen 2x1 xHCI Host Controller", SubVendorName: supermicro, IRQ: "128"},
	}
	if HasGPU(m.ID) {
		const nvidia, gigabyte = "NVIDIA Corporation", "Gigabyte Technology Co., Ltd"
		devs = append(devs,
			PCIDevice{ID: GPUPCIID, Vendor: "0x10de", Device: "0x2204", Class: "0x030000", SubVendor: "0x1458", SubDevice: "0x403b",
				IOMMUGroup: 2, VendorName: nvidia, DeviceName: "GA102 [GeForce RTX 3090]", SubVendorName: gigabyte, IRQ: "16"},
			PCIDevice{ID: GPUAudioPCIID, Vendor: "0x10de", Device: "0x1aef", Class: "0x040300", SubVendor: "0x1458", SubDevice: "0x403b",
				IOMMUGroup: 2, VendorName: nvidia, DeviceName: "GA102 High Definition Audio Controller", SubVendorName: gigabyte, IRQ: "17"},
		)
	}
	devs = append(devs,
		PCIDevice{ID: "0000:02:00.0", Vendor: "0x144d", Device: "0xa80a", Class: "0x010802", SubVendor: "0x144d", SubDevice: "0xa801",
			IOMMUGroup: 3, VendorName: "Samsung Electronics Co Ltd", DeviceName: "NVMe SSD Controller PM9A1/PM9A3/980PRO",
			SubVendorName: "Samsung Electronics Co Ltd", IRQ: "16"},
		PCIDevice{ID: "0000:03:00.0", Vendor: "0x8086", Device: "0x1533", Class: "0x020000", SubVendor: "0x15d9", SubDevice: "0x1533",
			IOMMUGroup: 4, VendorName: intel, DeviceName: "I210 Gigabit Network Connection", SubVendorName: supermicro, IRQ: "17"},
		PCIDevice{ID: "0000:04:00.0", Vendor: "0x8086", Device: "0x1533", Class: "0x020000", SubVendor: "0x15d9", SubDevice: "0x1533",
			IOMMUGroup: 5, VendorName: intel, DeviceName: "I210 Gigabit Network Connection", SubVendorName: supermicro, IRQ: "18"},
	)
	return devs
}

// USBDevices is scan_usb of the machine: each root hub (usb1, usb2) followed by
// the devices below it. pve1 has a UPS on its USB 2 bus. kernel is the
// release of the running kernel, whose xhci-hcd driver names the root hubs'
// manufacturer.
func (m *Machine) USBDevices(kernel string) []USBDevice {
	hcd := "Linux " + kernel + " xhci-hcd"
	devs := []USBDevice{
		{Busnum: 1, Devnum: 1, Level: 0, Port: 0, Class: 9, Speed: "480", VendID: "1d6b", ProdID: "0002", Product: "xHCI Host Controller", Manufacturer: hcd},
		{Busnum: 1, Devnum: 2, Level: 1, Port: 0, Class: 0, Speed: "480", VendID: "046b", ProdID: "ff10", USBPath: "1",
			Product: "Virtual Keyboard and Mouse", Manufacturer: "American Megatrends Inc."},
	}
	if m.ID == 1 {
		devs = append(devs, USBDevice{Busnum: 1, Devnum: 3, Level: 1, Port: 3, Class: 0, Speed: "12", VendID: "051d", ProdID: "0002", USBPath: "4",
			Product: "Back-UPS XS 700U  FW:924.Z3 .I USB FW:Z3", Manufacturer: "American Power Conversion"})
	}
	return append(devs,
		USBDevice{Busnum: 2, Devnum: 1, Level: 0, Port: 0, Class: 9, Speed: "10000", VendID: "1d6b", ProdID: "0003", Product: "xHCI Host Controller", Manufacturer: hcd})
}
