package pvesim

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/machine"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/pvesim/pvetest"
	proxmox "github.com/luthermonson/go-proxmox"
)

const (
	gpuMapPVE1 = "node=pve1,path=0000:01:00.0,id=10de:2204,subsystem-id=1458:403b,iommugroup=2"
	gpuMapPVE2 = "node=pve2,path=0000:01:00.0,id=10de:2204,subsystem-id=1458:403b,iommugroup=2"
)

func sha1Hex(s string) string {
	sum := sha1.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// createMapping creates a mapping, which must succeed.
func createMapping(t *testing.T, c *pvetest.Caller, kind string, params url.Values) {
	t.Helper()
	res := c.Form(http.MethodPost, "/cluster/mapping/"+kind, params)
	pvetest.Expect(t, res, http.StatusOK, "OK")
	if res.Body["data"] != nil {
		t.Fatalf("create %s mapping: data = %v", kind, res.Body["data"])
	}
}

func TestMappingPCICrud(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()

	if idx := pvetest.DataList(t, c.Get("/cluster/mapping")); !reflect.DeepEqual(idx, []map[string]any{{"name": "dir"}, {"name": "pci"}, {"name": "usb"}}) {
		t.Errorf("mapping index = %v", idx)
	}
	if l := pvetest.DataList(t, c.Get("/cluster/mapping/pci")); len(l) != 0 {
		t.Errorf("mappings = %v", l)
	}
	expectError(t, c.Get("/cluster/mapping/pci/gpu"), "mapping 'gpu' not found")

	createMapping(t, c, "pci", url.Values{"id": {"gpu"}, "description": {"RTX 3090"}, "map": {gpuMapPVE1, gpuMapPVE2}})
	text := "gpu\n\tmap " + gpuMapPVE1 + "\n\tmap " + gpuMapPVE2 + "\n\tdescription RTX 3090\n\n"
	got := dataMap(t, c.Get("/cluster/mapping/pci/gpu"))
	want := map[string]any{"type": "pci", "description": "RTX 3090", "map": []any{gpuMapPVE1, gpuMapPVE2}, "digest": sha1Hex(text)}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("mapping = %v, want %v", got, want)
	}
	expectError(t, c.Form(http.MethodPost, "/cluster/mapping/pci", url.Values{"id": {"gpu"}, "map": {gpuMapPVE1}}),
		"create hardware mapping failed: pci ID 'gpu' already defined")
	expectError(t, c.Form(http.MethodPost, "/cluster/mapping/pci", url.Values{"id": {"gpu2"}, "map": {gpuMapPVE1}, "description": {"a\nb"}}),
		"property contains a line feed")

	// update: digest, the required map (check_config runs as for a create), delete
	expectError(t, c.Form(http.MethodPut, "/cluster/mapping/pci/gpu", url.Values{"digest": {sha1Hex("other")}, "map": {gpuMapPVE1}}),
		"update hardware mapping failed: detected modified configuration - file changed by other user? Try again.")
	expectError(t, c.Form(http.MethodPut, "/cluster/mapping/pci/gpu", url.Values{"description": {"x"}}),
		"update hardware mapping failed: missing value for required option 'map'")
	expectError(t, c.Form(http.MethodPut, "/cluster/mapping/pci/nope", url.Values{"map": {gpuMapPVE1}}),
		"update hardware mapping failed: pci ID 'nope' does not exist")
	res := c.Form(http.MethodPut, "/cluster/mapping/pci/gpu", url.Values{"digest": {want["digest"].(string)}, "map": {gpuMapPVE1}, "mdev": {"0"}, "live-migration-capable": {"1"}})
	pvetest.Expect(t, res, http.StatusOK, "OK")
	text = "gpu\n\tmap " + gpuMapPVE1 + "\n\tdescription RTX 3090\n\tlive-migration-capable 1\n\tmdev 0\n\n"
	got = dataMap(t, c.Get("/cluster/mapping/pci/gpu"))
	want = map[string]any{"type": "pci", "description": "RTX 3090", "map": []any{gpuMapPVE1}, "mdev": float64(0), "live-migration-capable": float64(1), "digest": sha1Hex(text)}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("updated mapping = %v, want %v", got, want)
	}
	expectError(t, c.Form(http.MethodPut, "/cluster/mapping/pci/gpu", url.Values{"map": {gpuMapPVE1}, "delete": {"map"}}),
		"update hardware mapping failed: unable to delete required option 'map'")
	expectError(t, c.Form(http.MethodPut, "/cluster/mapping/pci/gpu", url.Values{"map": {gpuMapPVE1}, "delete": {"description"}, "description": {"x"}}),
		"update hardware mapping failed: cannot set and delete property 'description' at the same time!")
	expectError(t, c.Form(http.MethodPut, "/cluster/mapping/pci/gpu", url.Values{"map": {gpuMapPVE1}, "delete": {"foo"}}),
		"update hardware mapping failed: no such option 'foo'")
	pvetest.Expect(t, c.Form(http.MethodPut, "/cluster/mapping/pci/gpu", url.Values{"map": {gpuMapPVE1, gpuMapPVE2}, "delete": {"description,mdev"}}), http.StatusOK, "OK")
	got = dataMap(t, c.Get("/cluster/mapping/pci/gpu"))
	if _, ok := got["description"]; ok || got["mdev"] != nil || got["live-migration-capable"] != float64(1) || len(got["map"].([]any)) != 2 {
		t.Errorf("after delete = %v", got)
	}

	// a second mapping is appended; every entry of the list has the file's digest
	createMapping(t, c, "pci", url.Values{"id": {"nic"}, "map": {"node=pve1,path=0000:03:00.0,id=8086:1533,subsystem-id=15d9:1533,iommugroup=4"}})
	list := pvetest.DataList(t, c.Get("/cluster/mapping/pci"))
	if len(list) != 2 || list[0]["id"] != "gpu" || list[1]["id"] != "nic" || list[0]["digest"] != list[1]["digest"] || list[0]["type"] != "pci" {
		t.Errorf("list = %v", list)
	}
	if _, ok := list[0]["checks"]; ok {
		t.Errorf("checks without check-node: %v", list[0])
	}

	// delete: gone, and deleting it again is no error
	for range 2 {
		res := c.Form(http.MethodDelete, "/cluster/mapping/pci/gpu", nil)
		pvetest.Expect(t, res, http.StatusOK, "OK")
	}
	expectError(t, c.Get("/cluster/mapping/pci/gpu"), "mapping 'gpu' not found")
	if l := pvetest.DataList(t, c.Get("/cluster/mapping/pci")); len(l) != 1 {
		t.Errorf("list after delete = %v", l)
	}

	requireSchema(t, lab)
	pvetest.ExpectParamError(t, c.Form(http.MethodPost, "/cluster/mapping/pci", url.Values{"id": {"gpu2"}}), "map", "property is missing and it is not optional")
	pvetest.ExpectParamError(t, c.Form(http.MethodPost, "/cluster/mapping/pci", url.Values{"id": {"1gpu"}, "map": {gpuMapPVE1}}), "id", "invalid format - invalid configuration ID '1gpu'\n")
	res = c.Form(http.MethodPost, "/cluster/mapping/pci", url.Values{"id": {"gpu2"}, "map": {"node=pve1,path=0000:01:00.0"}})
	pvetest.Expect(t, res, http.StatusBadRequest, "Parameter verification failed.")
	if _, ok := res.ErrorsMap()["map[0]"]; !ok {
		t.Errorf("errors = %v", res.ErrorsMap())
	}
}

func TestMappingPCICheckNode(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()

	createMapping(t, c, "pci", url.Values{"id": {"gpu"}, "map": {gpuMapPVE1, gpuMapPVE2,
		"node=pve3,path=0000:01:00.0,id=10de:2204,subsystem-id=1458:403b,iommugroup=2"}})
	// the whole device (both functions); its first function is checked
	createMapping(t, c, "pci", url.Values{"id": {"gpu-all"}, "map": {"node=pve1,path=0000:01:00,id=10de:2204,subsystem-id=1458:403b,iommugroup=2"}})
	createMapping(t, c, "pci", url.Values{"id": {"wrong-id"}, "map": {"node=pve1,path=0000:03:00.0,id=8086:1521,subsystem-id=15d9:1533,iommugroup=4"}})
	createMapping(t, c, "pci", url.Values{"id": {"wrong-group"}, "map": {"node=pve1,path=0000:03:00.0,id=8086:1533,subsystem-id=15d9:1533,iommugroup=9"}})
	createMapping(t, c, "pci", url.Values{"id": {"no-subsystem"}, "map": {"node=pve1,path=0000:02:00.0,id=144d:a80a,iommugroup=3"}})
	createMapping(t, c, "pci", url.Values{"id": {"mdev"}, "mdev": {"1"}, "map": {gpuMapPVE1}})

	checks := func(node string) map[string][]map[string]any {
		t.Helper()
		out := map[string][]map[string]any{}
		for _, e := range pvetest.DataList(t, c.Form(http.MethodGet, "/cluster/mapping/pci", url.Values{"check-node": {node}})) {
			list := []map[string]any{}
			for _, ch := range e["checks"].([]any) {
				list = append(list, ch.(map[string]any))
			}
			out[e["id"].(string)] = list
		}
		return out
	}
	errCheck := func(msg string) []map[string]any {
		return []map[string]any{{"severity": "error", "message": "Invalid configuration: " + msg}}
	}
	warnNoMapping := func(node string) []map[string]any {
		return []map[string]any{{"severity": "warning", "message": "No mapping for node " + node + "."}}
	}

	want := map[string][]map[string]any{
		"gpu":          {},
		"gpu-all":      {},
		"wrong-id":     errCheck("'id' does not match for 'wrong-id' (8086:1533 != 8086:1521)\n"),
		"wrong-group":  errCheck("'iommugroup' does not match for 'wrong-group' (4 != 9)\n"),
		"no-subsystem": errCheck("missing expected property 'subsystem-id' for device '0000:02:00.0'\n"),
		"mdev":         errCheck("'mdev' does not match for 'mdev' (0 != 1)\n"),
	}
	if got := checks("pve1"); !reflect.DeepEqual(got, want) {
		t.Errorf("checks on pve1 = %v\nwant %v", got, want)
	}
	want = map[string][]map[string]any{
		"gpu":          errCheck("pci device '0000:01:00.0' not found\n"),
		"gpu-all":      warnNoMapping("pve3"),
		"wrong-id":     warnNoMapping("pve3"),
		"wrong-group":  warnNoMapping("pve3"),
		"no-subsystem": warnNoMapping("pve3"),
		"mdev":         warnNoMapping("pve3"),
	}
	if got := checks("pve3"); !reflect.DeepEqual(got, want) {
		t.Errorf("checks on pve3 = %v\nwant %v", got, want)
	}
	if got := checks("pve2")["gpu"]; len(got) != 0 {
		t.Errorf("gpu on pve2 = %v", got)
	}
	expectError(t, c.Form(http.MethodGet, "/cluster/mapping/pci", url.Values{"check-node": {"pve9"}}),
		"hostname lookup 'pve9' failed - failed to get address info for: pve9: Name or service not known")
}

func TestMappingUSB(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()

	createMapping(t, c, "usb", url.Values{"id": {"ups"}, "description": {"APC UPS"}, "map": {"node=pve1,id=051d:0002", "node=pve2,id=051d:0002"}})
	createMapping(t, c, "usb", url.Values{"id": {"port4"}, "map": {"node=pve1,id=046b:ff10,path=1-4"}})
	got := dataMap(t, c.Get("/cluster/mapping/usb/ups"))
	text := "ups\n\tmap node=pve1,id=051d:0002\n\tmap node=pve2,id=051d:0002\n\tdescription APC UPS\n\n" +
		"port4\n\tmap node=pve1,id=046b:ff10,path=1-4\n\n"
	if got["type"] != "usb" || got["description"] != "APC UPS" || got["digest"] != sha1Hex(text) {
		t.Errorf("mapping = %v", got)
	}
	expectError(t, c.Form(http.MethodPost, "/cluster/mapping/usb", url.Values{"id": {"ups"}, "map": {"node=pve1,id=051d:0002"}}),
		"create hardware mapping failed: usb ID 'ups' already defined")
	expectError(t, c.Form(http.MethodPut, "/cluster/mapping/usb/nope", url.Values{"map": {"node=pve1,id=051d:0002"}}),
		"update hardware mapping failed: usb ID 'nope' does not exist")

	// the diagnostics of USB mappings are under "errors"
	errs := func(node string) map[string]any {
		out := map[string]any{}
		for _, e := range pvetest.DataList(t, c.Form(http.MethodGet, "/cluster/mapping/usb", url.Values{"check-node": {node}})) {
			if _, ok := e["checks"]; ok {
				t.Errorf("usb entry with checks: %v", e)
			}
			out[e["id"].(string)] = e["errors"]
		}
		return out
	}
	want := map[string]any{
		"ups":   []any{},
		"port4": []any{map[string]any{"severity": "error", "message": "Invalid configuration: 'id' does not match for 'port4' (051d:0002 != 046b:ff10)\n"}},
	}
	if got := errs("pve1"); !reflect.DeepEqual(got, want) {
		t.Errorf("errors on pve1 = %v", got)
	}
	want = map[string]any{
		"ups":   []any{map[string]any{"severity": "error", "message": "Invalid configuration: usb device '051d:0002' not found\n"}},
		"port4": []any{map[string]any{"severity": "warning", "message": "No mapping for node pve2."}},
	}
	if got := errs("pve2"); !reflect.DeepEqual(got, want) {
		t.Errorf("errors on pve2 = %v", got)
	}

	pvetest.Expect(t, c.Form(http.MethodPut, "/cluster/mapping/usb/port4", url.Values{"map": {"node=pve1,id=051d:0002,path=1-4"}, "delete": {"description"}}), http.StatusOK, "OK")
	if got := errs("pve1")["port4"]; !reflect.DeepEqual(got, []any{}) {
		t.Errorf("port4 after fix = %v", got)
	}
	pvetest.Expect(t, c.Form(http.MethodDelete, "/cluster/mapping/usb/port4", nil), http.StatusOK, "OK")
	if l := pvetest.DataList(t, c.Get("/cluster/mapping/usb")); len(l) != 1 {
		t.Errorf("list = %v", l)
	}
}

// go-proxmox's hardware and mapping calls work against the lab unchanged.
func TestGoProxmoxHardwareAndMappings(t *testing.T) {
	lab := startLab(t, Options{})
	for name, client := range goProxmoxClients(t, lab) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			node, err := client.Node(ctx, "pve1")
			if err != nil {
				t.Fatalf("Node: %v", err)
			}
			if idx, err := node.HardwareIndex(ctx); err != nil || !reflect.DeepEqual(idx, []string{"pci", "usb"}) {
				t.Errorf("HardwareIndex = %v, %v", idx, err)
			}
			devs, err := node.ListPCIDevices(ctx, nil)
			if err != nil || len(devs) != 6 || devs[1].ID != machine.GPUPCIID || devs[1].IOMMUGroup != 2 || devs[1].DeviceName != "GA102 [GeForce RTX 3090]" {
				t.Fatalf("ListPCIDevices = %v, %v", devs, err)
			}
			all, err := node.ListPCIDevices(ctx, &proxmox.HardwarePCIOptions{ClassBlacklist: []string{"0c"}, Terse: true})
			if err != nil || len(all) != 6 || all[0].Class != "0x060000" || all[0].VendorName != "" {
				t.Errorf("ListPCIDevices(terse) = %v, %v", all, err)
			}
			if m, err := devs[1].Index(ctx); err != nil || !reflect.DeepEqual(m, []string{"mdev"}) {
				t.Errorf("Index = %v, %v", m, err)
			}
			if types, err := devs[1].Mdev(ctx); err != nil || len(types) != 0 {
				t.Errorf("Mdev = %v, %v", types, err)
			}
			usb, err := node.ListUSBDevices(ctx)
			if err != nil || len(usb) != 4 || usb[2].VendID != "051d" || usb[2].USBPath != "4" {
				t.Errorf("ListUSBDevices = %v, %v", usb, err)
			}

			cluster, err := client.Cluster(ctx)
			if err != nil {
				t.Fatalf("Cluster: %v", err)
			}
			if idx, err := cluster.Mappings(ctx); err != nil || len(idx) != 3 || idx[1].Name != "pci" {
				t.Errorf("Mappings = %v, %v", idx, err)
			}
			id := "gpu-" + name
			if err := cluster.NewPCIMapping(ctx, &proxmox.ClusterPCIMappingOptions{ID: id, Description: "RTX", Map: []string{gpuMapPVE1}}); err != nil {
				t.Fatalf("NewPCIMapping: %v", err)
			}
			m, err := cluster.PCIMapping(ctx, id)
			if err != nil || m.Description != "RTX" || len(m.Map) != 1 || m.Digest == "" {
				t.Fatalf("PCIMapping = %+v, %v", m, err)
			}
			if err := cluster.UpdatePCIMapping(ctx, id, &proxmox.ClusterPCIMappingOptions{ID: id, Map: []string{gpuMapPVE1, gpuMapPVE2},
				LiveMigrationCapable: true, Digest: m.Digest, Delete: "description"}); err != nil {
				t.Fatalf("UpdatePCIMapping: %v", err)
			}
			list, err := cluster.PCIMappings(ctx, "pve2")
			var mine *proxmox.ClusterPCIMapping
			for _, e := range list {
				if e.ID == id {
					mine = e
				}
			}
			if err != nil || mine == nil || len(mine.Map) != 2 || !bool(mine.LiveMigrationCapable) || mine.Description != "" || len(mine.Checks) != 0 {
				t.Errorf("PCIMappings = %+v, %v", mine, err)
			}
			if err := cluster.DeletePCIMapping(ctx, id); err != nil {
				t.Errorf("DeletePCIMapping: %v", err)
			}

			if err := cluster.NewUSBMapping(ctx, &proxmox.ClusterUSBMappingOptions{ID: "ups-" + name, Map: []string{"node=pve1,id=051d:0002"}}); err != nil {
				t.Fatalf("NewUSBMapping: %v", err)
			}
			if u, err := cluster.USBMapping(ctx, "ups-"+name); err != nil || len(u.Map) != 1 {
				t.Errorf("USBMapping = %+v, %v", u, err)
			}
			if l, err := cluster.USBMappings(ctx, "pve1"); err != nil || len(l) == 0 {
				t.Errorf("USBMappings = %v, %v", l, err)
			}
			if err := cluster.DeleteUSBMapping(ctx, "ups-"+name); err != nil {
				t.Errorf("DeleteUSBMapping: %v", err)
			}
		})
	}
}

// Directory mappings can be listed and read; the lab has none.
func TestMappingDir(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()
	if l := pvetest.DataList(t, c.Form(http.MethodGet, "/cluster/mapping/dir", url.Values{"check-node": {"pve2"}})); len(l) != 0 {
		t.Errorf("dir mappings = %v", l)
	}
	expectError(t, c.Get("/cluster/mapping/dir/share"), "mapping 'share' not found")
	// a VM using one cannot be migrated: check_local_resources dereferences the missing entry
	runTask(t, c, http.MethodPost, "/nodes/pve1/qemu", url.Values{"vmid": {"100"}, "virtiofs0": {"dirid=share"}})
	expectError(t, c.Get("/nodes/pve1/qemu/100/migrate"), strings.TrimSuffix(helpersUndefArray, "\n"))
}
