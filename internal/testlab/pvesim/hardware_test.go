package pvesim

import (
	"maps"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"testing"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/pvesim/pvetest"
)

func pciIDs(list []map[string]any) []string {
	var ids []string
	for _, d := range list {
		ids = append(ids, d["id"].(string))
	}
	return ids
}

func TestHardwarePCIList(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()

	if idx := pvetest.DataList(t, c.Get("/nodes/pve1/hardware")); !reflect.DeepEqual(idx, []map[string]any{{"type": "pci"}, {"type": "usb"}}) {
		t.Errorf("hardware index = %v", idx)
	}

	// the default blacklist "05;06;0b" hides the host bridge
	list := pvetest.DataList(t, c.Get("/nodes/pve1/hardware/pci"))
	want := []string{"0000:00:14.0", "0000:01:00.0", "0000:01:00.1", "0000:02:00.0", "0000:03:00.0", "0000:04:00.0"}
	if got := pciIDs(list); !slices.Equal(got, want) {
		t.Fatalf("pve1 devices = %v, want %v", got, want)
	}
	gpu := list[1]
	wantGPU := map[string]any{
		"id": "0000:01:00.0", "vendor": "0x10de", "device": "0x2204", "class": "0x030000", "iommugroup": float64(2),
		"vendor_name": "NVIDIA Corporation", "device_name": "GA102 [GeForce RTX 3090]",
		"subsystem_vendor": "0x1458", "subsystem_device": "0x403b", "subsystem_vendor_name": "Gigabyte Technology Co., Ltd",
	}
	if !reflect.DeepEqual(gpu, wantGPU) {
		t.Errorf("GPU = %v", gpu)
	}
	if audio := list[2]; audio["iommugroup"] != float64(2) || audio["class"] != "0x040300" || audio["device"] != "0x1aef" {
		t.Errorf("GPU audio = %v", audio)
	}
	if list[3]["iommugroup"] == list[4]["iommugroup"] || list[4]["iommugroup"] == list[5]["iommugroup"] {
		t.Errorf("NVMe and NICs share an IOMMU group: %v", list)
	}

	// an empty blacklist shows everything, a custom one what it does not name
	all := pvetest.DataList(t, c.Form(http.MethodGet, "/nodes/pve1/hardware/pci", url.Values{"pci-class-blacklist": {""}}))
	if got := pciIDs(all); len(got) != 7 || got[0] != "0000:00:00.0" || all[0]["class"] != "0x060000" {
		t.Errorf("unfiltered = %v", got)
	}
	noNet := pvetest.DataList(t, c.Form(http.MethodGet, "/nodes/pve1/hardware/pci", url.Values{"pci-class-blacklist": {"02;03,06"}}))
	if got := pciIDs(noNet); !slices.Equal(got, []string{"0000:00:14.0", "0000:01:00.1", "0000:02:00.0"}) {
		t.Errorf("without network, display and bridges = %v", got)
	}

	// verbose=0: the IDs only, no names and no subsystem
	terse := pvetest.DataList(t, c.Form(http.MethodGet, "/nodes/pve1/hardware/pci", url.Values{"verbose": {"0"}}))
	if keys := slices.Sorted(maps.Keys(terse[1])); !slices.Equal(keys, []string{"class", "device", "id", "iommugroup", "vendor"}) {
		t.Errorf("terse keys = %v", keys)
	}

	// pve3 has no GPU
	if got := pciIDs(pvetest.DataList(t, c.Get("/nodes/pve3/hardware/pci"))); !slices.Equal(got, []string{"0000:00:14.0", "0000:02:00.0", "0000:03:00.0", "0000:04:00.0"}) {
		t.Errorf("pve3 devices = %v", got)
	}
	if got := pciIDs(pvetest.DataList(t, c.Get("/nodes/pve2/hardware/pci"))); !slices.Equal(got, want) {
		t.Errorf("pve2 devices = %v", got)
	}

	expectError(t, c.Get("/nodes/pve9/hardware/pci"), "hostname lookup 'pve9' failed - failed to get address info for: pve9: Name or service not known")
}

func TestHardwarePCIDevice(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()

	for _, id := range []string{"0000:01:00.0", "01:00.0", "gpu"} {
		if idx := pvetest.DataList(t, c.Get("/nodes/pve1/hardware/pci/"+id)); !reflect.DeepEqual(idx, []map[string]any{{"method": "mdev"}}) {
			t.Errorf("index of %s = %v", id, idx)
		}
		// no lab device supports mediated devices: get_mdev_types is empty
		if l := pvetest.DataList(t, c.Get("/nodes/pve1/hardware/pci/"+id+"/mdev")); len(l) != 0 {
			t.Errorf("mdev types of %s = %v", id, l)
		}
	}
	requireSchema(t, lab)
	pvetest.ExpectParamError(t, c.Get("/nodes/pve1/hardware/pci/01:00/mdev"), "pci-id-or-mapping", "value does not match the regex pattern")
}

func TestHardwareUSB(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()

	list := pvetest.DataList(t, c.Get("/nodes/pve1/hardware/usb"))
	if len(list) != 4 {
		t.Fatalf("pve1 USB = %v", list)
	}
	root := map[string]any{"busnum": float64(1), "devnum": float64(1), "level": float64(0), "port": float64(0), "class": float64(9),
		"speed": "480", "vendid": "1d6b", "prodid": "0002", "product": "xHCI Host Controller", "manufacturer": "Linux " + pveKernel + " xhci-hcd"}
	if !reflect.DeepEqual(list[0], root) {
		t.Errorf("root hub = %v", list[0])
	}
	ups := list[2]
	if ups["vendid"] != "051d" || ups["prodid"] != "0002" || ups["usbpath"] != "4" || ups["port"] != float64(3) || ups["level"] != float64(1) || ups["speed"] != "12" {
		t.Errorf("UPS = %v", ups)
	}
	for _, d := range list {
		if _, ok := d["serial"]; ok {
			t.Errorf("scan_usb never reports a serial: %v", d)
		}
	}
	if l := pvetest.DataList(t, c.Get("/nodes/pve2/hardware/usb")); len(l) != 3 {
		t.Errorf("pve2 USB = %v", l)
	}
}
