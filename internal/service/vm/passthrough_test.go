package vm

import (
	"net/url"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/types"
)

func TestPassthroughRoundTrip(t *testing.T) {
	for _, in := range []string{"host=0781:5583,usb3=1", "mapping=yubikey", "host=spice", "host=1-2.3"} {
		u, err := usbFromAPI(in)
		if err != nil {
			t.Fatal(err)
		}
		want := strings.TrimPrefix(in, "host=") // the default key is written bare, as PVE does
		if !strings.Contains(in, "usb3") {
			want += ",usb3=0" // read as PVE's default, then sent explicitly
		}
		if got := u.value(); got != want {
			t.Errorf("usb %q -> %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"mapping=gpu,pcie=1":                       "mapping=gpu,pcie=1,rombar=1,x-vga=0",
		"host=0000:01:00,pcie=1,x-vga=1,rombar=0":  "0000:01:00,pcie=1,rombar=0,x-vga=1",
		"0000:02:00.0;0000:03:00.0,mdev=nvidia-63": "0000:02:00.0;0000:03:00.0,pcie=0,rombar=1,x-vga=0,mdev=nvidia-63",
	} {
		h, err := hostPCIFromAPI(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := h.value(); got != want {
			t.Errorf("hostpci %q -> %q, want %q", in, got, want)
		}
		again, err := hostPCIFromAPI(h.value())
		if err != nil || again != h {
			t.Errorf("hostpci %q: second round trip %+v, %v", in, again, err)
		}
	}
	// Unset switches are not sent: PVE keeps its defaults.
	h := hostPCIModel{Mapping: types.StringValue("gpu"), ID: types.StringNull(), PCIe: types.BoolValue(true),
		ROMBar: types.BoolUnknown(), XVGA: types.BoolNull(), MDev: types.StringNull()}
	if got := h.value(); got != "mapping=gpu,pcie=1" {
		t.Errorf("value with unset switches = %q", got)
	}
}

func TestPassthroughPatterns(t *testing.T) {
	for _, id := range []string{"0000:01:00", "01:00.0", "0000:01:00.1;0000:02:00.0"} {
		if !pciIDRE.MatchString(id) {
			t.Errorf("%q should be a PCI id", id)
		}
	}
	for _, id := range []string{"0000:01:00.8", "1:00.0", "10de:2204", ""} {
		if pciIDRE.MatchString(id) {
			t.Errorf("%q should not be a PCI id", id)
		}
	}
	for _, host := range []string{"0781:5583", "0x0781:0x5583", "1-2", "1-2.3.4", "spice", "SPICE"} {
		if !usbHostRE.MatchString(host) {
			t.Errorf("%q should be a USB host device", host)
		}
	}
	for _, host := range []string{"0781:55831", "1.2", "usb0", "1-"} {
		if usbHostRE.MatchString(host) {
			t.Errorf("%q should not be a USB host device", host)
		}
	}
}

func TestUSBSlotProblem(t *testing.T) {
	s, unknown, null := types.StringValue, types.StringUnknown(), types.StringNull()
	for _, tt := range []struct {
		slot            int
		machine, osType types.String
		isNew           bool
		problem         string
	}{
		{4, s("pc-i440fx-5.0"), s("other"), true, ""},
		{5, s("q35"), s("l26"), true, ""},
		{13, null, s("win11"), true, ""},
		{5, s("pc-q35-7.1"), s("win10"), false, ""},
		{5, s("pc-q35-7.0"), s("l26"), false, "machine version 7.1"},
		{5, s("pc-i440fx-6.2+pve1"), s("l26"), false, "machine version 7.1"},
		{5, s("q35"), s("win7"), false, "os_type is win7"},
		{5, unknown, unknown, true, "os_type is unset"},
		{5, unknown, unknown, false, ""}, // a clone's: PVE judges
	} {
		got := usbSlotProblem(tt.slot, tt.machine, tt.osType, tt.isNew)
		if (tt.problem == "") != (got == "") || !strings.Contains(got, tt.problem) {
			t.Errorf("usb%d machine=%s os=%s new=%v: %q, want %q", tt.slot, tt.machine, tt.osType, tt.isNew, got, tt.problem)
		}
	}
	if pcieProblem(s("q35"), true) != "" || pcieProblem(s("pc-q35-9.2"), false) != "" {
		t.Error("q35 machines take PCIe devices")
	}
	if pcieProblem(s("pc"), false) == "" || pcieProblem(null, true) == "" || pcieProblem(unknown, true) == "" {
		t.Error("i440fx (PVE's default) takes no PCIe devices")
	}
	if pcieProblem(unknown, false) != "" {
		t.Error("a clone's unknown machine is PVE's to judge")
	}
}

func TestDeviceParams(t *testing.T) {
	gpu := hostPCIModel{Mapping: types.StringValue("gpu"), ID: types.StringNull(), PCIe: types.BoolValue(true),
		ROMBar: types.BoolValue(true), XVGA: types.BoolValue(false), MDev: types.StringNull()}
	other := gpu
	other.Mapping = types.StringValue("nic")
	p := url.Values{}
	deviceParams(map[string]hostPCIModel{"hostpci0": gpu, "hostpci2": other},
		map[string]hostPCIModel{"hostpci0": gpu, "hostpci1": gpu}, true, p)
	if p.Get("hostpci2") != "mapping=nic,pcie=1,rombar=1,x-vga=0" || p.Has("hostpci0") || p.Get("delete") != "hostpci1" {
		t.Errorf("params = %v", p)
	}
	p = url.Values{}
	deviceParams(map[string]hostPCIModel{}, map[string]hostPCIModel{"hostpci1": gpu}, false, p)
	if len(p) != 0 {
		t.Errorf("an unmanaged map changes nothing, got %v", p)
	}
}
