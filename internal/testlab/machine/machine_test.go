package machine

import (
	"slices"
	"testing"
	"time"
)

func TestNew(t *testing.T) {
	now := time.Now()
	m := New(2, now)
	if m.Name != "pve2" || m.ID != 2 || m.IP != "192.168.100.12" || m.Threads != 16 || m.MemTotal != 64*GiB {
		t.Errorf("machine = %+v", m)
	}
	if got := m.NICNames(); !slices.Equal(got, []string{"eno1", "eno2", "eno3", "eno4"}) {
		t.Errorf("NICs = %q", got)
	}
	if m.NICs[1].MAC != "3C:EC:EF:6A:12:22" {
		t.Errorf("eno2 MAC = %s", m.NICs[1].MAC)
	}
	if up := m.Uptime(now); up != int64((72*time.Hour+2*97*time.Minute)/time.Second) {
		t.Errorf("uptime = %d", up)
	}
	m.SetBoot(now)
	if !m.Boot().Equal(now) || m.Uptime(now) != 0 {
		t.Errorf("boot = %v", m.Boot())
	}
}

func TestDevices(t *testing.T) {
	for id, want := range map[int]int{1: 7, 2: 7, 3: 5} {
		devs := New(id, time.Now()).PCIDevices()
		if len(devs) != want || slices.ContainsFunc(devs, func(d PCIDevice) bool { return d.ID == GPUPCIID }) != HasGPU(id) {
			t.Errorf("pve%d: %d PCI devices", id, len(devs))
		}
	}
	usb := New(1, time.Now()).USBDevices("6.17.2-1-pve")
	if len(usb) != 4 || usb[0].Manufacturer != "Linux 6.17.2-1-pve xhci-hcd" || usb[2].VendID+":"+usb[2].ProdID != "051d:0002" {
		t.Errorf("USB = %+v", usb)
	}
	if len(New(2, time.Now()).USBDevices("k")) != 3 {
		t.Errorf("pve2 has the UPS")
	}
}
