package pvesim

import (
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/pvesim/pvetest"
)

// createBareVM creates a VM without disks and NICs.
func createBareVM(t *testing.T, c *pvetest.Caller, node string, vmid int, extra url.Values) {
	t.Helper()
	params := url.Values{"vmid": {fmt.Sprint(vmid)}, "memory": {"1024"}}
	for k, v := range extra {
		params[k] = v
	}
	runTask(t, c, http.MethodPost, "/nodes/"+node+"/qemu", params)
}

func startVM(node string, vmid int) string {
	return fmt.Sprintf("/nodes/%s/qemu/%d/status/start", node, vmid)
}

func configPath(node string, vmid int) string {
	return fmt.Sprintf("/nodes/%s/qemu/%d/config", node, vmid)
}

func hasLogLine(lines []string, suffix string) bool {
	return slices.ContainsFunc(lines, func(l string) bool { return strings.HasSuffix(l, suffix) })
}

// Raw host devices are for root@pam only: an API token of root@pam is
// another user (PVE compares the user string). Mappings are for anyone,
// and whether they exist is not checked when the config is written.
func TestQemuHostDevicePermissions(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	token := newCaller(t, lab).WithToken()
	root := newCaller(t, lab).WithTicket()

	create := func(c *pvetest.Caller, vmid int, k, v string) pvetest.Result {
		return c.Form(http.MethodPost, "/nodes/pve1/qemu", url.Values{"vmid": {fmt.Sprint(vmid)}, k: {v}})
	}
	expectError(t, create(token, 100, "hostpci0", "0000:01:00.0,pcie=1"), "only root can set 'hostpci0' config for non-mapped devices")
	expectError(t, create(token, 100, "hostpci0", "pcie=1"), "either 'host' or 'mapping' must be set.")
	expectError(t, create(token, 100, "usb0", "host=051d:0002"), "only root can set 'usb0' config for real devices")
	expectError(t, create(token, 100, "usb0", "usb3=1"), "either 'host' or 'mapping' must be set.")
	createBareVM(t, token, "pve1", 100, url.Values{"hostpci0": {"mapping=nothing-yet"}, "usb0": {"spice"}, "usb1": {"mapping=ups"}})
	createBareVM(t, root, "pve1", 101, url.Values{"hostpci0": {"0000:01:00.0"}, "usb0": {"host=1-4"}})

	// updates: the new value, and the old one it replaces or deletes
	expectError(t, token.Form(http.MethodPut, configPath("pve1", 100), url.Values{"hostpci1": {"01:00.1"}}),
		"only root can set 'hostpci1' config for non-mapped devices")
	lines := failTask(t, token, http.MethodPost, configPath("pve1", 100), url.Values{"usb2": {"0781:5581"}},
		"only root can set 'usb2' config for real devices")
	if !slices.Contains(lines, "update VM 100: -usb2 0781:5581") {
		t.Errorf("log = %q", lines)
	}
	pvetest.Expect(t, token.Form(http.MethodPut, configPath("pve1", 100), url.Values{"hostpci1": {"mapping=other"}, "usb2": {"mapping=stick"}}), http.StatusOK, "OK")
	pvetest.Expect(t, root.Form(http.MethodPut, configPath("pve1", 100), url.Values{"hostpci1": {"01:00.1"}}), http.StatusOK, "OK")
	expectError(t, token.Form(http.MethodPut, configPath("pve1", 101), url.Values{"hostpci0": {"mapping=gpu"}}),
		"only root can set 'hostpci0' config for non-mapped devices")
	expectError(t, token.Form(http.MethodPut, configPath("pve1", 101), url.Values{"delete": {"usb0"}}),
		"only root can set 'usb0' config for real devices")
	pvetest.Expect(t, root.Form(http.MethodPut, configPath("pve1", 101), url.Values{"delete": {"usb0,hostpci0"}}), http.StatusOK, "OK")
	if cfg := vmConfig(t, root, "pve1", 101, false); cfg["usb0"] != nil || cfg["hostpci0"] != nil {
		t.Errorf("config 101 = %v", cfg)
	}
	cfg := vmConfig(t, root, "pve1", 100, false)
	if cfg["hostpci0"] != "mapping=nothing-yet" || cfg["hostpci1"] != "01:00.1" || cfg["usb2"] != "mapping=stick" || cfg["usb0"] != "spice" {
		t.Errorf("config 100 = %v", cfg)
	}
}

func TestQemuHostPCIStart(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithTicket()

	// pcie needs q35
	createBareVM(t, c, "pve1", 100, url.Values{"hostpci0": {"0000:01:00,pcie=1"}})
	failTask(t, c, http.MethodPost, startVM("pve1", 100), nil, "q35 machine model is not enabled at /usr/share/perl5/PVE/QemuServer/PCI.pm line 504.")
	pvetest.Expect(t, c.Form(http.MethodPut, configPath("pve1", 100), url.Values{"machine": {"q35"}}), http.StatusOK, "OK")
	runTask(t, c, http.MethodPost, startVM("pve1", 100), nil)

	// hostpci is not hot-pluggable: it stays pending on the running VM
	pvetest.Expect(t, c.Form(http.MethodPut, configPath("pve1", 100), url.Values{"hostpci1": {"0000:03:00.0"}}), http.StatusOK, "OK")
	if cur := vmConfig(t, c, "pve1", 100, true); cur["hostpci1"] != nil {
		t.Errorf("hostpci1 applied to the running VM: %v", cur)
	}
	if pend := vmConfig(t, c, "pve1", 100, false); pend["hostpci1"] != "0000:03:00.0" {
		t.Errorf("pending = %v", pend)
	}

	// a function held by a running VM
	createBareVM(t, c, "pve1", 101, url.Values{"hostpci0": {"01:00.1"}})
	failTask(t, c, http.MethodPost, startVM("pve1", 101), nil, "PCI device '0000:01:00.1' already in use by VMID '100'")

	for _, tc := range []struct{ value, node, err string }{
		{"0000:05:00.0", "pve1", "no PCI device found for '0000:05:00.0'"},
		{"01:00.0", "pve3", "no PCI device found for '01:00.0'"},
		{"host=01:00.0,mapping=gpu", "pve2", "Cannot set both 'host' and 'mapping'."},
		{"mapping=gpu", "pve3", "PCI device mapping not found for 'gpu'"},
		{"mapping=nope", "pve2", "PCI device mapping not found for 'nope'"},
		{"mapping=bad", "pve2", "PCI device mapping invalid (hardware probably changed): 'id' does not match for 'bad' (10de:2204 != 10de:2206)"},
		{"01:00.0,mdev=nvidia-1", "pve2", "could not create mediated device"},
		{"01:00,mdev=nvidia-1", "pve2", "cannot use mediated device with multifunction device"},
		{"01:00.0,legacy-igd=1", "pve2", "legacy IGD assignment requires VGA mode to be 'none'"},
	} {
		createMapping(t, c, "pci", url.Values{"id": {"gpu"}, "map": {gpuMapPVE1, gpuMapPVE2}})
		createMapping(t, c, "pci", url.Values{"id": {"bad"}, "map": {"node=pve2,path=0000:01:00.0,id=10de:2206,subsystem-id=1458:403b,iommugroup=2"}})
		createBareVM(t, c, tc.node, 110, url.Values{"hostpci0": {tc.value}})
		lines := failTask(t, c, http.MethodPost, startVM(tc.node, 110), nil, tc.err)
		if strings.Contains(tc.value, "mdev") && strings.HasPrefix(tc.err, "could not") && !slices.Contains(lines, "pci device '0000:01:00.0' does not support mediated devices ") {
			t.Errorf("log = %q", lines)
		}
		runTask(t, c, http.MethodDelete, fmt.Sprintf("/nodes/%s/qemu/110", tc.node), nil)
		for _, id := range []string{"gpu", "bad"} {
			pvetest.Expect(t, c.Form(http.MethodDelete, "/cluster/mapping/pci/"+id, nil), http.StatusOK, "OK")
		}
	}

	// a mapping with an entry for the node, whole device: both functions
	createMapping(t, c, "pci", url.Values{"id": {"gpu"}, "map": {gpuMapPVE1, strings.Replace(gpuMapPVE2, "0000:01:00.0", "0000:01:00", 1)}})
	createBareVM(t, c, "pve2", 120, url.Values{"hostpci0": {"mapping=gpu,pcie=1"}, "machine": {"pc-q35-10.1"}})
	runTask(t, c, http.MethodPost, startVM("pve2", 120), nil)
	createBareVM(t, c, "pve2", 121, url.Values{"hostpci0": {"01:00.1"}})
	failTask(t, c, http.MethodPost, startVM("pve2", 121), nil, "PCI device '0000:01:00.1' already in use by VMID '120'")
	runTask(t, c, http.MethodPost, "/nodes/pve2/qemu/120/status/stop", nil)
	runTask(t, c, http.MethodPost, startVM("pve2", 121), nil)

	// deleting a mapping is not refused while a VM uses it; the VM no longer starts
	pvetest.Expect(t, c.Form(http.MethodDelete, "/cluster/mapping/pci/gpu", nil), http.StatusOK, "OK")
	failTask(t, c, http.MethodPost, startVM("pve2", 120), nil, "PCI device mapping not found for 'gpu'")
}

func TestQemuUSBStartAndHotplug(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithTicket()
	const slotErr = "using usb5 is only possible with machine type >= 7.1 and ostype l26 or windows > 7"

	// usb5..usb13 are accepted in the config and refused at start
	for _, tc := range []struct {
		machine, ostype string
		ok              bool
	}{
		{"", "", false},
		{"", "l26", true},
		{"q35", "win11", true},
		{"pc-i440fx-7.1", "win10", true},
		{"pc-i440fx-7.0", "l26", false},
		{"pc-q35-6.2+pve0", "l26", false},
		{"q35", "win7", false},
		{"q35", "other", false},
	} {
		params := url.Values{"usb5": {"host=051d:0002"}}
		if tc.machine != "" {
			params.Set("machine", tc.machine)
		}
		if tc.ostype != "" {
			params.Set("ostype", tc.ostype)
		}
		createBareVM(t, c, "pve1", 100, params)
		if tc.ok {
			runTask(t, c, http.MethodPost, startVM("pve1", 100), nil)
			runTask(t, c, http.MethodPost, "/nodes/pve1/qemu/100/status/stop", nil)
		} else {
			failTask(t, c, http.MethodPost, startVM("pve1", 100), nil, slotErr)
		}
		runTask(t, c, http.MethodDelete, "/nodes/pve1/qemu/100", nil)
	}

	// mappings are resolved on the node at start
	createMapping(t, c, "usb", url.Values{"id": {"ups"}, "map": {"node=pve1,id=051d:0002", "node=pve2,id=051d:0002"}})
	createMapping(t, c, "usb", url.Values{"id": {"twice"}, "map": {"node=pve1,id=051d:0002", "node=pve1,path=1-4,id=051d:0002"}})
	for _, tc := range []struct{ value, node, err string }{
		{"mapping=ups", "pve1", ""},
		{"host=0781:5581", "pve2", ""}, // QEMU waits for a device that is not plugged in
		{"mapping=ups", "pve2", "USB Mapping invalid (hardware probably changed): usb device '051d:0002' not found"},
		{"mapping=ups", "pve3", "USB device mapping not found for 'ups'"},
		{"mapping=twice", "pve1", "More than one USB mapping per host not supported"},
		{"host=spice", "pve1", ""},
		{"host=SPICE", "pve1", "no usb id or path given"},
		{"host=1-4,mapping=ups", "pve1", "no usb id or path given"},
	} {
		createBareVM(t, c, tc.node, 101, url.Values{"usb0": {tc.value}, "ostype": {"l26"}})
		if tc.err == "" {
			runTask(t, c, http.MethodPost, startVM(tc.node, 101), nil)
			runTask(t, c, http.MethodPost, fmt.Sprintf("/nodes/%s/qemu/101/status/stop", tc.node), nil)
		} else {
			failTask(t, c, http.MethodPost, startVM(tc.node, 101), nil, tc.err)
		}
		runTask(t, c, http.MethodDelete, fmt.Sprintf("/nodes/%s/qemu/101", tc.node), nil)
	}

	// hotplug needs qemu-xhci: ostype l26 and machine >= 7.1
	createBareVM(t, c, "pve1", 102, url.Values{"ostype": {"l26"}})
	runTask(t, c, http.MethodPost, startVM("pve1", 102), nil)
	pvetest.Expect(t, c.Form(http.MethodPut, configPath("pve1", 102), url.Values{"usb0": {"mapping=ups"}}), http.StatusOK, "OK")
	if cur := vmConfig(t, c, "pve1", 102, true); cur["usb0"] != "mapping=ups" {
		t.Errorf("usb0 not hot-plugged: %v", cur)
	}
	pvetest.ExpectParamError(t, c.Form(http.MethodPut, configPath("pve1", 102), url.Values{"usb1": {"mapping=nope"}}), "usb1", "hotplug problem - USB device mapping not found for 'nope'\n")

	createBareVM(t, c, "pve1", 103, url.Values{"ostype": {"l26"}, "machine": {"pc-i440fx-6.2"}})
	runTask(t, c, http.MethodPost, startVM("pve1", 103), nil)
	pvetest.Expect(t, c.Form(http.MethodPut, configPath("pve1", 103), url.Values{"usb0": {"mapping=ups"}}), http.StatusOK, "OK")
	if cur := vmConfig(t, c, "pve1", 103, true); cur["usb0"] != nil {
		t.Errorf("usb0 hot-plugged on machine 6.2: %v", cur)
	}
}

func TestQemuMigrateHostDevices(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	root := newCaller(t, lab).WithTicket()
	token := newCaller(t, lab).WithToken()
	abortLine := "ERROR: migration aborted (duration 00:00:00): "

	// a raw device blocks migration, offline with force (root@pam only) excepted
	createBareVM(t, root, "pve1", 100, url.Values{"hostpci0": {"0000:03:00.0"}, "serial0": {"socket"}, "usb0": {"spice"}})
	pre := dataMap(t, root.Form(http.MethodGet, "/nodes/pve1/qemu/100/migrate", url.Values{"target": {"pve2"}}))
	if !reflect.DeepEqual(pre["local_resources"], []any{"hostpci0"}) || len(pre["allowed_nodes"].([]any)) != 2 {
		t.Errorf("precondition = %v", pre)
	}
	lines := failTask(t, root, http.MethodPost, "/nodes/pve1/qemu/100/migrate", url.Values{"target": {"pve2"}}, "migration aborted")
	if !hasLogLine(lines, abortLine+"can't migrate VM which uses local devices: hostpci0") || hasLogLine(lines, "starting migration of VM 100 to node 'pve2' (192.168.100.12)") {
		t.Errorf("log = %q", lines)
	}
	pvetest.ExpectParamError(t, token.Form(http.MethodPost, "/nodes/pve1/qemu/100/migrate", url.Values{"target": {"pve2"}, "force": {"1"}}), "force", "Only root may use this option.")
	lines = runTask(t, root, http.MethodPost, "/nodes/pve1/qemu/100/migrate", url.Values{"target": {"pve2"}, "force": {"1"}})
	if !hasLogLine(lines, " migrating VM which uses local devices") {
		t.Errorf("log = %q", lines)
	}

	// a mapped device: the target needs an entry, live only when live-migration-capable
	createMapping(t, root, "pci", url.Values{"id": {"gpu"}, "map": {gpuMapPVE1, gpuMapPVE2}})
	createBareVM(t, root, "pve1", 101, url.Values{"hostpci0": {"mapping=gpu"}, "usb0": {"host=051d:0002"}})
	pre = dataMap(t, root.Form(http.MethodGet, "/nodes/pve1/qemu/101/migrate", nil))
	want := map[string]any{
		"allowed_nodes":        []any{"pve2"},
		"not_allowed_nodes":    map[string]any{"pve3": map[string]any{"unavailable-resources": []any{"hostpci0"}}},
		"local_resources":      []any{"usb0"},
		"mapped-resources":     []any{"hostpci0"},
		"mapped-resource-info": map[string]any{"hostpci0": map[string]any{"name": "gpu"}},
	}
	for k, v := range want {
		if !reflect.DeepEqual(pre[k], v) {
			t.Errorf("precondition %s = %v, want %v", k, pre[k], v)
		}
	}
	pvetest.Expect(t, root.Form(http.MethodPut, configPath("pve1", 101), url.Values{"delete": {"usb0"}}), http.StatusOK, "OK")
	lines = failTask(t, root, http.MethodPost, "/nodes/pve1/qemu/101/migrate", url.Values{"target": {"pve3"}}, "migration aborted")
	if !hasLogLine(lines, abortLine+"can't migrate to 'pve3': missing mapped devices hostpci0") {
		t.Errorf("log = %q", lines)
	}
	runTask(t, root, http.MethodPost, "/nodes/pve1/qemu/101/status/start", nil)
	pre = dataMap(t, root.Form(http.MethodGet, "/nodes/pve1/qemu/101/migrate", nil))
	if !reflect.DeepEqual(pre["local_resources"], []any{"hostpci0"}) {
		t.Errorf("precondition of the running VM = %v", pre)
	}
	lines = failTask(t, root, http.MethodPost, "/nodes/pve1/qemu/101/migrate", url.Values{"target": {"pve2"}, "online": {"1"}}, "migration aborted")
	if !hasLogLine(lines, abortLine+"can't live migrate running VM which uses following mapped devices: hostpci0:gpu") {
		t.Errorf("log = %q", lines)
	}
	pvetest.Expect(t, root.Form(http.MethodPut, "/cluster/mapping/pci/gpu", url.Values{"map": {gpuMapPVE1, gpuMapPVE2}, "live-migration-capable": {"1"}}), http.StatusOK, "OK")
	pre = dataMap(t, root.Form(http.MethodGet, "/nodes/pve1/qemu/101/migrate", nil))
	if !reflect.DeepEqual(pre["mapped-resource-info"], map[string]any{"hostpci0": map[string]any{"name": "gpu", "live-migration": float64(1)}}) ||
		!reflect.DeepEqual(pre["local_resources"], []any{}) {
		t.Errorf("precondition with a live-migratable mapping = %v", pre)
	}
	lines = runTask(t, root, http.MethodPost, "/nodes/pve1/qemu/101/migrate", url.Values{"target": {"pve2"}, "online": {"1"}})
	if !hasLogLine(lines, " migrating VM which uses mapped local devices") {
		t.Errorf("log = %q", lines)
	}
	if st := dataMap(t, root.Get("/nodes/pve2/qemu/101/status/current")); st["status"] != "running" {
		t.Errorf("status on pve2 = %v", st)
	}
	// on pve2 it holds the GPU now
	createBareVM(t, root, "pve2", 102, url.Values{"hostpci0": {"01:00.0"}})
	failTask(t, root, http.MethodPost, startVM("pve2", 102), nil, "PCI device '0000:01:00.0' already in use by VMID '101'")

	// a mapping that no longer exists breaks check_local_resources
	pvetest.Expect(t, root.Form(http.MethodDelete, "/cluster/mapping/pci/gpu", nil), http.StatusOK, "OK")
	expectError(t, root.Get("/nodes/pve2/qemu/101/migrate"), strings.TrimSuffix(helpersUndefArray, "\n"))
}
