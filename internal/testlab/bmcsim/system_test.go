package bmcsim

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/bmcsim/bmctest"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/machine"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/sim/simtest"
)

// The computer system: its inventory and its boot source override.

func TestSystemInventory(t *testing.T) {
	t.Parallel()
	lab := startBMCLab(t, labOptions{Nodes: 3})
	ids := map[string]bool{}
	for _, n := range lab.NodeNames() {
		b := lab.BMC(n)
		c := newCaller(t, lab, n).Basic()
		res := c.Get("/redfish/v1/Systems")
		members := res.Body["Members"].([]any)
		if len(members) != 1 || members[0].(map[string]any)["@odata.id"] != "/redfish/v1/Systems/"+b.SystemID() {
			t.Fatalf("%s: systems %s", n, res.Raw)
		}
		if ids[b.SystemID()] {
			t.Fatalf("system ID %s twice", b.SystemID())
		}
		ids[b.SystemID()] = true
		sys := c.Get("/redfish/v1/Systems/" + b.SystemID())
		bmctest.Expect(t, sys, http.StatusOK, "")
		s := sys.Body
		if s["Id"] != b.SystemID() || s["SerialNumber"] != b.SerialNumber() || s["Manufacturer"] != "Supermicro" ||
			s["HostName"] != n || s["PowerState"] != "On" || s["BiosVersion"] == "" {
			t.Errorf("%s: system %s", n, sys.Raw)
		}
		ps := s["ProcessorSummary"].(map[string]any)
		ms := s["MemorySummary"].(map[string]any)
		if ps["Count"] != 1.0 || ps["CoreCount"] != 8.0 || ps["LogicalProcessorCount"] != 16.0 || ps["Model"] != machine.CPUModel ||
			ms["TotalSystemMemoryGiB"] != 64.0 || s["Status"].(map[string]any)["Health"] != "OK" {
			t.Errorf("%s: summaries %v %v", n, ps, ms)
		}
		reset := s["Actions"].(map[string]any)["#ComputerSystem.Reset"].(map[string]any)
		if reset["target"] != "/redfish/v1/Systems/"+b.SystemID()+"/Actions/ComputerSystem.Reset" ||
			len(reset["ResetType@Redfish.AllowableValues"].([]any)) < 6 {
			t.Errorf("reset action %v", reset)
		}
		// ETag header and @odata.etag agree; If-None-Match answers 304
		etag := sys.Header.Get("ETag")
		if etag == "" || s["@odata.etag"] != etag {
			t.Errorf("ETag %q, @odata.etag %v", etag, s["@odata.etag"])
		}
		if res := c.Do(http.MethodGet, "/redfish/v1/Systems/"+b.SystemID(), nil, map[string]string{"If-None-Match": etag}); res.Status != http.StatusNotModified {
			t.Errorf("If-None-Match: %d", res.Status)
		}
		// the NICs eno1 .. eno4, with their MAC addresses (and maybe the
		// mockup's host interface to the BMC)
		nics := c.Get("/redfish/v1/Systems/" + b.SystemID() + "/EthernetInterfaces")
		var macs []string
		for _, m := range nics.Body["Members"].([]any) {
			nic := c.Get(m.(map[string]any)["@odata.id"].(string))
			bmctest.Expect(t, nic, http.StatusOK, "")
			if nic.Body["Id"] != "ToManager" {
				macs = append(macs, nic.Body["MACAddress"].(string))
			}
		}
		if !slices.Equal(macs, b.MACAddresses()) || len(macs) != 4 || !strings.HasPrefix(macs[0], "3C:EC:EF:") {
			t.Errorf("%s: MACs %v, want %v", n, macs, b.MACAddresses())
		}
		cpu := c.Get("/redfish/v1/Systems/" + b.SystemID() + "/Processors/CPU1")
		if cpu.Body["TotalCores"] != 8.0 || cpu.Body["TotalThreads"] != 16.0 {
			t.Errorf("CPU1 %s", cpu.Raw)
		}
		mem := c.Get("/redfish/v1/Systems/" + b.SystemID() + "/Memory")
		if mem.Body["Members@odata.count"] != 4.0 {
			t.Errorf("memory %s", mem.Raw)
		}
		bmctest.Expect(t, c.Get("/redfish/v1/Systems/"+b.SystemID()+"/Processors/CPU2"), http.StatusNotFound, "ResourceNotFound")
		mgr := c.Get("/redfish/v1/Managers/BMC")
		if mgr.Body["FirmwareVersion"] == "" || mgr.Body["ManagerType"] != "BMC" || mgr.Body["Status"].(map[string]any)["Health"] != "OK" {
			t.Errorf("manager %s", mgr.Raw)
		}
		nic := c.Get("/redfish/v1/Managers/BMC/EthernetInterfaces/eth0")
		if nic.Body["HostName"] != n+"-bmc" {
			t.Errorf("BMC NIC %s", nic.Raw)
		}
		ch := c.Get("/redfish/v1/Chassis/1U")
		if ch.Body["PowerState"] != "On" || ch.Body["Manufacturer"] != "Supermicro" {
			t.Errorf("chassis %s", ch.Raw)
		}
		bmctest.Expect(t, c.Get("/redfish/v1/Systems/437XR1138R2"), http.StatusNotFound, "ResourceNotFound")
	}
	// the BMCs of pve3 run older firmware
	fw := func(n string) any {
		return newCaller(t, lab, n).Basic().Get("/redfish/v1/Managers/BMC").Body["FirmwareVersion"]
	}
	if fw("pve1") == fw("pve3") {
		t.Errorf("pve1 and pve3 run the same BMC firmware %v", fw("pve1"))
	}
}

func TestBootOverride(t *testing.T) {
	t.Parallel()
	lab := startBMCLab(t, labOptions{Nodes: 1})
	b := lab.BMC("pve1")
	c := newCaller(t, lab, "pve1").Basic()
	sys := "/redfish/v1/Systems/" + b.SystemID()
	boot := c.Get(sys).Body["Boot"].(map[string]any)
	if boot["BootSourceOverrideEnabled"] != "Disabled" || boot["BootSourceOverrideTarget"] != "None" ||
		!slices.Contains(boot["BootSourceOverrideTarget@Redfish.AllowableValues"].([]any), any("Cd")) {
		t.Fatalf("Boot %v", boot)
	}
	for _, tc := range []struct {
		boot map[string]any
		id   string
	}{
		{map[string]any{"BootSourceOverrideTarget": "Floppy"}, "PropertyValueNotInList"},
		{map[string]any{"BootSourceOverrideEnabled": "Twice"}, "PropertyValueNotInList"},
		{map[string]any{"BootSourceOverrideMode": "BIOS"}, "PropertyValueNotInList"},
		{map[string]any{"BootSourceOverrideTarget": 3}, "PropertyValueTypeError"},
		{map[string]any{"BootNext": "Boot0001"}, "PropertyUnknown"},
	} {
		bmctest.Expect(t, c.Do(http.MethodPatch, sys, map[string]any{"Boot": tc.boot}, nil), http.StatusBadRequest, tc.id)
	}
	// If-Match: a stale ETag is refused, the current one accepted
	etag := c.Get(sys).Header.Get("ETag")
	res := c.Do(http.MethodPatch, sys, map[string]any{"Boot": map[string]any{"BootSourceOverrideTarget": "Cd"}},
		map[string]string{"If-Match": `"0000"`})
	if res.Status != http.StatusPreconditionFailed {
		t.Fatalf("stale If-Match: %d %s", res.Status, res.Raw)
	}
	res = c.Do(http.MethodPatch, sys, map[string]any{"Boot": map[string]any{
		"BootSourceOverrideTarget": "Cd", "BootSourceOverrideEnabled": "Once", "BootSourceOverrideMode": "UEFI",
		"BootSourceOverrideTarget@Redfish.AllowableValues": []string{"ignored"}}},
		map[string]string{"If-Match": etag})
	bmctest.Expect(t, res, http.StatusOK, "")
	if res.Header.Get("ETag") == etag {
		t.Error("ETag unchanged by the PATCH")
	}
	if o := b.BootOverride(); o != (BootOverride{Target: "Cd", Enabled: "Once", Mode: "UEFI"}) {
		t.Fatalf("override %+v", o)
	}
	// with an image in the CD drive, the next boot boots it, once
	bmctest.Expect(t, c.Do(http.MethodPost, sys+"/VirtualMedia/CD1/Actions/VirtualMedia.InsertMedia",
		map[string]any{"Image": "http://images.lab/pve.iso"}, nil), http.StatusNoContent, "")
	bmctest.Expect(t, c.Reset("ForceRestart"), http.StatusNoContent, "")
	if o := b.BootOverride(); o.Enabled != "Disabled" || o.Target != "None" {
		t.Errorf("after the boot: %+v", o)
	}
	if lb := b.LastBoot(); lb.Target != "Cd" || lb.Image != "http://images.lab/pve.iso" || lb.Mode != "UEFI" {
		t.Errorf("last boot %+v", lb)
	}
	simtest.WaitUntil(t, "pve1 to run", func() bool { return lab.NodeRunning("pve1") })
	// Continuous stays; the target None turns the override off
	bmctest.Expect(t, c.Do(http.MethodPatch, sys, map[string]any{"Boot": map[string]any{
		"BootSourceOverrideTarget": "Pxe", "BootSourceOverrideEnabled": "Continuous"}}, nil), http.StatusOK, "")
	bmctest.Expect(t, c.Reset("ForceRestart"), http.StatusNoContent, "")
	if o := b.BootOverride(); o.Enabled != "Continuous" || o.Target != "Pxe" || b.LastBoot().Target != "Pxe" {
		t.Errorf("continuous: %+v %+v", o, b.LastBoot())
	}
	bmctest.Expect(t, c.Do(http.MethodPatch, sys, map[string]any{"Boot": map[string]any{"BootSourceOverrideTarget": "None"}}, nil),
		http.StatusOK, "")
	if o := b.BootOverride(); o.Enabled != "Disabled" {
		t.Errorf("target None: %+v", o)
	}
	simtest.WaitUntil(t, "pve1 to run", func() bool { return lab.NodeRunning("pve1") })
}
