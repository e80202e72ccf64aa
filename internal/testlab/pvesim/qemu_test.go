package pvesim

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/mirror"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/pvesim/pvetest"
)

// waitTask polls a task until it has stopped and returns its exit status
// and log.
func waitTask(t *testing.T, c *pvetest.Caller, upid string) (string, []string) {
	t.Helper()
	m := upidRE.FindStringSubmatch(upid)
	if m == nil {
		t.Fatalf("not a UPID: %q", upid)
	}
	node := m[1]
	path := "/nodes/" + node + "/tasks/" + url.PathEscape(upid)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		res := c.Get(path + "/status")
		if res.Status == http.StatusUnauthorized && m[6] == "clusterjoin" {
			// the joining node authenticates nobody while it restarts its
			// cluster stack (joinCfsRestart): a client tries again
			time.Sleep(50 * time.Millisecond)
			continue
		}
		pvetest.Expect(t, res, http.StatusOK, "OK")
		d := res.Body["data"].(map[string]any)
		if d["status"] == "stopped" {
			logRes := c.Form(http.MethodGet, path+"/log", url.Values{"limit": {"500"}})
			var lines []string
			for _, l := range logRes.Body["data"].([]any) {
				lines = append(lines, l.(map[string]any)["t"].(string))
			}
			return d["exitstatus"].(string), lines
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("task %s did not finish", upid)
	return "", nil
}

// upidOf returns the UPID an async call answered with.
func upidOf(t *testing.T, res pvetest.Result) string {
	t.Helper()
	pvetest.Expect(t, res, http.StatusOK, "OK")
	upid, ok := res.Body["data"].(string)
	if !ok || !strings.HasPrefix(upid, "UPID:") {
		t.Fatalf("no UPID: %s", res.Raw)
	}
	return upid
}

// runTask calls an async endpoint and waits for its task, which must end OK.
func runTask(t *testing.T, c *pvetest.Caller, method, path string, params url.Values) []string {
	t.Helper()
	exit, lines := waitTask(t, c, upidOf(t, c.Form(method, path, params)))
	if exit != "OK" {
		t.Fatalf("%s %s: task ended with %q; log %q", method, path, exit, lines)
	}
	return lines
}

// failTask calls an async endpoint and waits for its task, which must fail with want.
func failTask(t *testing.T, c *pvetest.Caller, method, path string, params url.Values, want string) []string {
	t.Helper()
	exit, lines := waitTask(t, c, upidOf(t, c.Form(method, path, params)))
	if exit != want {
		t.Fatalf("%s %s: task ended with %q, want %q; log %q", method, path, exit, want, lines)
	}
	return lines
}

func dataMap(t *testing.T, res pvetest.Result) map[string]any {
	t.Helper()
	pvetest.Expect(t, res, http.StatusOK, "OK")
	m, ok := res.Body["data"].(map[string]any)
	if !ok {
		t.Fatalf("data is not an object: %s", res.Raw)
	}
	return m
}

// expectError checks a 500 answer with message msg (PVE adds a newline).
func expectError(t *testing.T, res pvetest.Result, msg string) {
	t.Helper()
	pvetest.Expect(t, res, http.StatusInternalServerError, msg)
	if res.Body["message"] != msg+"\n" {
		t.Fatalf("message = %q, want %q", res.Body["message"], msg+"\n")
	}
}

func vmConfig(t *testing.T, c *pvetest.Caller, node string, vmid int, current bool) map[string]any {
	t.Helper()
	q := url.Values{}
	if current {
		q.Set("current", "1")
	}
	return dataMap(t, c.Form(http.MethodGet, fmt.Sprintf("/nodes/%s/qemu/%d/config", node, vmid), q))
}

// createSimpleVM creates a VM with one 8 GiB disk and one NIC.
func createSimpleVM(t *testing.T, c *pvetest.Caller, node string, vmid int, extra url.Values) {
	t.Helper()
	params := url.Values{
		"vmid":   {fmt.Sprint(vmid)},
		"name":   {fmt.Sprintf("vm%d", vmid)},
		"cores":  {"1"},
		"memory": {"1024"},
		"scsihw": {"virtio-scsi-single"},
		"scsi0":  {"local-lvm:8,iothread=1"},
		"net0":   {"virtio,bridge=vmbr0"},
	}
	for k, v := range extra {
		params[k] = v
	}
	runTask(t, c, http.MethodPost, "/nodes/"+node+"/qemu", params)
}

var macRE = regexp.MustCompile(`^virtio=BC:24:11:[0-9A-F]{2}:[0-9A-F]{2}:[0-9A-F]{2},bridge=vmbr0$`)

func TestQemuCreateFromScratch(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{StatdInterval: statdTick})
	c := newCaller(t, lab).WithToken()
	putFile(t, c, "pve1", mirror.DebianISO)

	res := c.Form(http.MethodPost, "/nodes/pve1/qemu", url.Values{
		"vmid":      {"100"},
		"name":      {"web"},
		"cores":     {"2"},
		"memory":    {"2048"},
		"bios":      {"ovmf"},
		"tags":      {"web;Prod;web"},
		"scsi0":     {"local-lvm:32,discard=on,ssd=1"},
		"efidisk0":  {"local-lvm:1,efitype=4m,pre-enrolled-keys=1"},
		"tpmstate0": {"local-lvm:1,version=v2.0"},
		"ide2":      {"local:iso/debian-13.1.0-amd64-netinst.iso,media=cdrom"},
		"ide0":      {"local-lvm:cloudinit"},
		"net0":      {"virtio,bridge=vmbr0"},
	})
	upid := upidOf(t, res)
	if !strings.Contains(upid, ":qmcreate:100:root@pam!lab:") {
		t.Errorf("UPID = %s", upid)
	}

	// while the worker runs the config only has the create lock
	cfg := vmConfig(t, c, "pve1", 100, false)
	if cfg["lock"] != "create" || len(cfg) != 2 {
		t.Errorf("config during create = %v", cfg)
	}
	expectError(t, c.Form(http.MethodPut, "/nodes/pve1/qemu/100/config", url.Values{"cores": {"4"}}), "VM is locked (create)")
	// the ID is taken as soon as the call returned
	if id := c.Get("/cluster/nextid").Body["data"]; id != "101" {
		t.Errorf("nextid = %v", id)
	}

	exit, lines := waitTask(t, c, upid)
	if exit != "OK" {
		t.Fatalf("create: %s %q", exit, lines)
	}
	if !slices.Contains(lines, "scsi0: successfully created disk 'local-lvm:vm-100-disk-1,discard=on,size=32G,ssd=1'") ||
		!slices.Contains(lines, `  Logical volume "vm-100-disk-0" created.`) {
		t.Errorf("log = %q", lines)
	}

	cfg = vmConfig(t, c, "pve1", 100, false)
	want := map[string]any{
		"name":      "web",
		"cores":     float64(2),
		"memory":    "2048",
		"bios":      "ovmf",
		"tags":      "Prod;web",
		"efidisk0":  "local-lvm:vm-100-disk-0,efitype=4m,ms-cert=2023k,pre-enrolled-keys=1,size=4M",
		"scsi0":     "local-lvm:vm-100-disk-1,discard=on,size=32G,ssd=1",
		"tpmstate0": "local-lvm:vm-100-disk-2,size=4M,version=v2.0",
		"ide2":      "local:iso/debian-13.1.0-amd64-netinst.iso,media=cdrom,size=768K",
		"ide0":      "local-lvm:vm-100-cloudinit,media=cdrom",
		"boot":      "order=scsi0;ide0;net0",
	}
	for k, v := range want {
		if cfg[k] != v {
			t.Errorf("config %s = %#v, want %#v", k, cfg[k], v)
		}
	}
	if !macRE.MatchString(cfg["net0"].(string)) {
		t.Errorf("net0 = %v", cfg["net0"])
	}
	if !strings.HasPrefix(cfg["meta"].(string), "creation-qemu="+qemuVersion+",ctime=") ||
		!regexp.MustCompile(`^uuid=[0-9a-f-]{36}$`).MatchString(cfg["smbios1"].(string)) ||
		len(cfg["vmgenid"].(string)) != 36 || len(cfg["digest"].(string)) != 40 {
		t.Errorf("generated keys: %v", cfg)
	}
	if _, ok := cfg["lock"]; ok {
		t.Errorf("lock left: %v", cfg)
	}

	// a stale digest is refused
	expectError(t, c.Form(http.MethodPut, "/nodes/pve1/qemu/100/config", url.Values{"cores": {"4"}, "digest": {strings.Repeat("0", 40)}}),
		"checksum mismatch (file change by other user?)")
	// the right one is accepted and the digest changes
	pvetest.Expect(t, c.Form(http.MethodPut, "/nodes/pve1/qemu/100/config", url.Values{"cores": {"4"}, "digest": {cfg["digest"].(string)}}), http.StatusOK, "OK")
	if got := vmConfig(t, c, "pve1", 100, false); got["cores"] != float64(4) || got["digest"] == cfg["digest"] {
		t.Errorf("after update: %v", got)
	}

	// the guest is a cluster resource; the status shows it stopped
	afterStatd(lab)
	var found map[string]any
	for _, r := range pvetest.DataList(t, c.Form(http.MethodGet, "/cluster/resources", url.Values{"type": {"vm"}})) {
		if r["id"] == "qemu/100" {
			found = r
		}
	}
	if found == nil || found["node"] != "pve1" || found["name"] != "web" || found["status"] != "stopped" ||
		found["template"] != float64(0) || found["maxdisk"] != float64(32<<30) || found["maxmem"] != float64(2<<30) || found["tags"] != "Prod;web" {
		t.Errorf("resource = %v", found)
	}
	st := dataMap(t, c.Get("/nodes/pve1/qemu/100/status/current"))
	if st["status"] != "stopped" || st["qmpstatus"] != "stopped" || st["name"] != "web" || st["cpus"] != float64(4) ||
		st["ha"].(map[string]any)["managed"] != float64(0) {
		t.Errorf("status = %v", st)
	}
	if _, ok := st["template"]; ok {
		t.Errorf("status of a VM has template: %v", st)
	}

	// the VM does not exist on other nodes
	expectError(t, c.Get("/nodes/pve2/qemu/100/config"), "Configuration file 'nodes/pve2/qemu-server/100.conf' does not exist")
	// the same ID cannot be created again, on any node
	expectError(t, c.Form(http.MethodPost, "/nodes/pve2/qemu", url.Values{"vmid": {"100"}}), "unable to create VM 100 - VM 100 already exists on node 'pve1'")
}

func TestQemuStorage(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()

	cfgs := pvetest.DataList(t, c.Get("/storage"))
	if len(cfgs) != 2 || cfgs[0]["storage"] != "local" || cfgs[0]["type"] != "dir" || cfgs[0]["path"] != "/var/lib/vz" ||
		cfgs[1]["storage"] != "local-lvm" || cfgs[1]["type"] != "lvmthin" || cfgs[1]["vgname"] != "pve" || cfgs[1]["thinpool"] != "data" || cfgs[1]["content"] != "images,rootdir" {
		t.Errorf("storage config = %v", cfgs)
	}
	if l := pvetest.DataList(t, c.Form(http.MethodGet, "/storage", url.Values{"type": {"lvmthin"}})); len(l) != 1 || l[0]["storage"] != "local-lvm" {
		t.Errorf("type filter = %v", l)
	}
	expectError(t, c.Get("/storage/nfs"), "storage 'nfs' does not exist")

	before := dataMap(t, c.Get("/nodes/pve2/storage/local-lvm/status"))
	if before["total"] != float64(thinPoolSize) || before["used"] != float64(0) || before["active"] != float64(1) || before["type"] != "lvmthin" {
		t.Errorf("status = %v", before)
	}
	if l := pvetest.DataList(t, c.Form(http.MethodGet, "/nodes/pve2/storage", url.Values{"content": {"images"}})); len(l) != 1 || l[0]["storage"] != "local-lvm" || l[0]["enabled"] != float64(1) {
		t.Errorf("content filter = %v", l)
	}
	pvetest.ExpectParamError(t, c.Form(http.MethodGet, "/nodes/pve2/storage", url.Values{"storage": {"nfs"}}), "storage", "No such storage.")

	for _, name := range []string{mirror.ProxmoxISO, mirror.DebianISO, mirror.DebianTemplate, mirror.UbuntuTemplate} {
		putFile(t, c, "pve2", name)
	}
	isos := pvetest.DataList(t, c.Form(http.MethodGet, "/nodes/pve2/storage/local/content", url.Values{"content": {"iso"}}))
	tmpls := pvetest.DataList(t, c.Form(http.MethodGet, "/nodes/pve2/storage/local/content", url.Values{"content": {"vztmpl"}}))
	iso, _ := mirror.Lookup(mirror.DebianISO)
	if len(isos) != 2 || isos[0]["volid"] != "local:iso/debian-13.1.0-amd64-netinst.iso" || isos[0]["format"] != "iso" || isos[0]["size"] != float64(iso.Size) ||
		len(tmpls) != 2 || tmpls[0]["volid"] != "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst" || tmpls[1]["format"] != "tzst" {
		t.Errorf("iso %v\nvztmpl %v", isos, tmpls)
	}

	createSimpleVM(t, c, "pve2", 200, url.Values{"efidisk0": {"local-lvm:1"}})
	vols := pvetest.DataList(t, c.Form(http.MethodGet, "/nodes/pve2/storage/local-lvm/content", url.Values{"vmid": {"200"}}))
	if len(vols) != 2 || vols[0]["volid"] != "local-lvm:vm-200-disk-0" || vols[1]["volid"] != "local-lvm:vm-200-disk-1" ||
		vols[1]["size"] != float64(8<<30) || vols[1]["format"] != "raw" || vols[1]["vmid"] != float64(200) || vols[1]["content"] != "images" {
		t.Errorf("volumes = %v", vols)
	}
	// thin pool: only data written counts (the EFI vars)
	after := dataMap(t, c.Get("/nodes/pve2/storage/local-lvm/status"))
	if after["used"] != float64(efiVars2MSize) || after["avail"] != float64(thinPoolSize-efiVars2MSize) {
		t.Errorf("after create: %v", after)
	}

	// storage checks of create
	expectError(t, c.Form(http.MethodPost, "/nodes/pve2/qemu", url.Values{"vmid": {"201"}, "scsi0": {"nfs:10"}}), "storage 'nfs' does not exist")
	pvetest.ExpectParamError(t, c.Form(http.MethodPost, "/nodes/pve2/qemu", url.Values{"vmid": {"201"}, "scsi0": {"local:10"}}), "storage", "storage 'local' does not support vm images")
	pvetest.ExpectParamError(t, c.Form(http.MethodPost, "/nodes/pve2/qemu", url.Values{"vmid": {"201"}, "ide2": {"local:iso/debian-13.1.0-amd64-netinst.iso"}}), "ide2", "explicit 'media=cdrom' is required for iso images")
	pvetest.ExpectParamError(t, c.Form(http.MethodPost, "/nodes/pve2/qemu", url.Values{"vmid": {"201"}, "scsi1": {"local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"}}), "scsi1", "content type needs to be 'images' or 'iso'")
	failTask(t, c, http.MethodPost, "/nodes/pve2/qemu", url.Values{"vmid": {"201"}, "scsi0": {"local-lvm:4"}, "ide2": {"local:iso/missing.iso,media=cdrom"}},
		"unable to create VM 201 - volume 'local:iso/missing.iso' does not exist")
	// the failed create left nothing behind
	expectError(t, c.Get("/nodes/pve2/qemu/201/config"), "Configuration file 'nodes/pve2/qemu-server/201.conf' does not exist")
	if vols := pvetest.DataList(t, c.Form(http.MethodGet, "/nodes/pve2/storage/local-lvm/content", url.Values{"vmid": {"201"}})); len(vols) != 0 {
		t.Errorf("volumes of failed create: %v", vols)
	}
}

func TestQemuHotplugAndPending(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()
	createSimpleVM(t, c, "pve1", 100, nil)
	runTask(t, c, http.MethodPost, "/nodes/pve1/qemu/100/status/start", nil)
	failTask(t, c, http.MethodPost, "/nodes/pve1/qemu/100/status/start", nil, "VM 100 already running")

	st := dataMap(t, c.Get("/nodes/pve1/qemu/100/status/current"))
	if st["status"] != "running" || st["qmpstatus"] != "running" || st["pid"] == nil || st["running-qemu"] != qemuVersion {
		t.Errorf("status = %v", st)
	}

	// a NIC and a disk are hot-plugged, cores stay pending
	runTask(t, c, http.MethodPost, "/nodes/pve1/qemu/100/config", url.Values{
		"net1": {"virtio,bridge=vmbr0"}, "scsi1": {"local-lvm:4"}, "cores": {"4"}, "description": {"db host"},
	})
	cur := vmConfig(t, c, "pve1", 100, true)
	if !strings.HasPrefix(cur["net1"].(string), "virtio=BC:24:11:") || cur["scsi1"] != "local-lvm:vm-100-disk-1,size=4G" ||
		cur["cores"] != float64(1) || cur["description"] != "db host" {
		t.Errorf("current config = %v", cur)
	}
	if cfg := vmConfig(t, c, "pve1", 100, false); cfg["cores"] != float64(4) {
		t.Errorf("config with pending = %v", cfg)
	}
	pending := pvetest.DataList(t, c.Get("/nodes/pve1/qemu/100/pending"))
	var cores, digest map[string]any
	for _, e := range pending {
		switch e["key"] {
		case "cores":
			cores = e
		case "digest":
			digest = e
		}
	}
	if cores == nil || cores["value"] != float64(1) || cores["pending"] != float64(4) || digest == nil || len(digest["value"].(string)) != 40 {
		t.Errorf("pending = %v", pending)
	}

	// a missing bridge and a boot disk unplug are hot-plug problems
	res := c.Form(http.MethodPut, "/nodes/pve1/qemu/100/config", url.Values{"net2": {"virtio,bridge=vmbr9"}})
	pvetest.Expect(t, res, http.StatusBadRequest, "Parameter verification failed.")
	if msg := res.ErrorsMap()["net2"].(string); !strings.HasPrefix(msg, "hotplug problem - VM 100 qmp command 'netdev_add' failed") {
		t.Errorf("net2 error = %q", msg)
	}
	pvetest.ExpectParamError(t, c.Form(http.MethodPut, "/nodes/pve1/qemu/100/config", url.Values{"delete": {"scsi0"}}), "scsi0", "hotplug problem - can't unplug bootdisk 'scsi0'\n")
	// an existing NIC moved to a missing bridge
	res = c.Form(http.MethodPut, "/nodes/pve1/qemu/100/config", url.Values{"net0": {strings.Replace(cur["net0"].(string), "vmbr0", "vmbr7", 1)}})
	pvetest.ExpectParamError(t, res, "net0", "hotplug problem - bridge 'vmbr7' does not exist\n")

	// removing the hot-plugged disk detaches it as unused
	pvetest.Expect(t, c.Form(http.MethodPut, "/nodes/pve1/qemu/100/config", url.Values{"delete": {"scsi1,net2"}, "revert": {"net0,scsi0"}}), http.StatusOK, "OK")
	if cur := vmConfig(t, c, "pve1", 100, true); cur["unused0"] != "local-lvm:vm-100-disk-1" || cur["scsi1"] != nil {
		t.Errorf("after delete: %v", cur)
	}

	// stopping applies what was pending
	runTask(t, c, http.MethodPost, "/nodes/pve1/qemu/100/status/stop", nil)
	cur = vmConfig(t, c, "pve1", 100, true)
	if cur["cores"] != float64(4) || cur["net2"] != nil || !strings.Contains(cur["net0"].(string), "vmbr0") {
		t.Errorf("after stop: %v", cur)
	}
	if p := pvetest.DataList(t, c.Get("/nodes/pve1/qemu/100/pending")); slices.ContainsFunc(p, func(e map[string]any) bool { return e["pending"] != nil || e["delete"] != nil }) {
		t.Errorf("pending after stop: %v", p)
	}
	// re-attaching an unused volume takes it out of the unused list
	runTask(t, c, http.MethodPost, "/nodes/pve1/qemu/100/config", url.Values{"virtio1": {"local-lvm:vm-100-disk-1,size=1G"}})
	if cur := vmConfig(t, c, "pve1", 100, true); cur["unused0"] != nil || cur["virtio1"] != "local-lvm:vm-100-disk-1,size=4G" {
		t.Errorf("re-attached: %v", cur)
	}
	// on a stopped VM a change applies at once; force frees the volume
	runTask(t, c, http.MethodPost, "/nodes/pve1/qemu/100/config", url.Values{"memory": {"2048"}, "delete": {"virtio1"}, "force": {"1"}})
	if cur := vmConfig(t, c, "pve1", 100, true); cur["memory"] != "2048" || cur["virtio1"] != nil || cur["unused0"] != nil {
		t.Errorf("stopped update: %v", cur)
	}
	if vols := pvetest.DataList(t, c.Form(http.MethodGet, "/nodes/pve1/storage/local-lvm/content", url.Values{"vmid": {"100"}})); len(vols) != 1 {
		t.Errorf("volumes = %v", vols)
	}
	// pending changes of a running VM apply on start
	runTask(t, c, http.MethodPost, "/nodes/pve1/qemu/100/status/start", nil)
	pvetest.Expect(t, c.Form(http.MethodPut, "/nodes/pve1/qemu/100/config", url.Values{"sockets": {"2"}}), http.StatusOK, "OK")
	runTask(t, c, http.MethodPost, "/nodes/pve1/qemu/100/status/reboot", nil)
	if cur := vmConfig(t, c, "pve1", 100, true); cur["sockets"] != float64(2) {
		t.Errorf("reboot did not apply pending: %v", cur)
	}

	// a bridge that does not exist stops a start
	createSimpleVM(t, c, "pve1", 101, url.Values{"net0": {"virtio,bridge=vmbr9"}})
	lines := failTask(t, c, http.MethodPost, "/nodes/pve1/qemu/101/status/start", nil, "start failed: QEMU exited with code 1")
	if !slices.Contains(lines, "bridge 'vmbr9' does not exist") {
		t.Errorf("start log = %q", lines)
	}
	expectError(t, c.Form(http.MethodPost, "/nodes/pve1/qemu/101/status/reboot", nil), "VM 101 not running")
	// create with start=1 warns when the VM does not start
	exit, lines := waitTask(t, c, upidOf(t, c.Form(http.MethodPost, "/nodes/pve1/qemu", url.Values{"vmid": {"102"}, "net0": {"e1000,bridge=vmbr9"}, "start": {"1"}})))
	if exit != "WARNINGS: 1" || !slices.Contains(lines, "Execute autostart") || !slices.Contains(lines, "WARN: start failed: QEMU exited with code 1") {
		t.Errorf("create and start: %s %q", exit, lines)
	}
	if st := dataMap(t, c.Get("/nodes/pve1/qemu/102/status/current")); st["status"] != "stopped" {
		t.Errorf("status = %v", st)
	}
}

func TestQemuResize(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()
	createSimpleVM(t, c, "pve1", 100, nil)
	lines := runTask(t, c, http.MethodPut, "/nodes/pve1/qemu/100/resize", url.Values{"disk": {"scsi0"}, "size": {"+10G"}})
	if cfg := vmConfig(t, c, "pve1", 100, false); cfg["scsi0"] != "local-lvm:vm-100-disk-0,iothread=1,size=18G" {
		t.Errorf("scsi0 = %v", cfg["scsi0"])
	}
	if !slices.Contains(lines, "  Logical volume pve/vm-100-disk-0 successfully resized.") {
		t.Errorf("log = %q", lines)
	}
	runTask(t, c, http.MethodPut, "/nodes/pve1/qemu/100/resize", url.Values{"disk": {"scsi0"}, "size": {"20G"}})
	failTask(t, c, http.MethodPut, "/nodes/pve1/qemu/100/resize", url.Values{"disk": {"scsi0"}, "size": {"10G"}}, "shrinking disks is not supported")
	failTask(t, c, http.MethodPut, "/nodes/pve1/qemu/100/resize", url.Values{"disk": {"scsi5"}, "size": {"+1G"}}, "disk 'scsi5' does not exist")
	if cfg := vmConfig(t, c, "pve1", 100, false); cfg["scsi0"] != "local-lvm:vm-100-disk-0,iothread=1,size=20G" {
		t.Errorf("scsi0 = %v", cfg["scsi0"])
	}
}

func TestQemuCloneAndTemplate(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{StatdInterval: statdTick})
	c := newCaller(t, lab).WithToken()
	createSimpleVM(t, c, "pve1", 100, url.Values{"ide2": {"local-lvm:cloudinit"}})
	src := vmConfig(t, c, "pve1", 100, false)

	// a VM that is not a template clones fully, never linked
	expectError(t, c.Form(http.MethodPost, "/nodes/pve1/qemu/100/clone", url.Values{"newid": {"101"}, "full": {"0"}}),
		"Linked clone feature is not supported for 'local-lvm:vm-100-disk-0' (scsi0)")
	lines := runTask(t, c, http.MethodPost, "/nodes/pve1/qemu/100/clone", url.Values{"newid": {"101"}, "name": {"copy"}})
	if !slices.Contains(lines, "create full clone of drive scsi0 (local-lvm:vm-100-disk-0)") {
		t.Errorf("clone log = %q", lines)
	}
	cl := vmConfig(t, c, "pve1", 101, false)
	if cl["name"] != "copy" || cl["scsi0"] != "local-lvm:vm-101-disk-0,iothread=1,size=8G" || cl["ide2"] != "local-lvm:vm-101-cloudinit,media=cdrom" ||
		cl["net0"] == src["net0"] || !macRE.MatchString(cl["net0"].(string)) || cl["smbios1"] == src["smbios1"] || cl["vmgenid"] == src["vmgenid"] || cl["meta"] != src["meta"] {
		t.Errorf("clone = %v\nsource = %v", cl, src)
	}
	expectError(t, c.Form(http.MethodPost, "/nodes/pve1/qemu/100/clone", url.Values{"newid": {"101"}}), "unable to create VM 101: config file already exists")
	expectError(t, c.Form(http.MethodPost, "/nodes/pve1/qemu/100/clone", url.Values{"newid": {"102"}, "target": {"pve2"}}), "can't clone VM to node 'pve2' (VM uses local storage)")

	// convert to a template: disks become base volumes
	runTask(t, c, http.MethodPost, "/nodes/pve1/qemu/100/template", nil)
	tpl := vmConfig(t, c, "pve1", 100, false)
	if tpl["template"] != float64(1) || tpl["scsi0"] != "local-lvm:base-100-disk-0,iothread=1,size=8G" || tpl["ide2"] != "local-lvm:vm-100-cloudinit,media=cdrom" {
		t.Errorf("template = %v", tpl)
	}
	if st := dataMap(t, c.Get("/nodes/pve1/qemu/100/status/current")); st["template"] != float64(1) {
		t.Errorf("status = %v", st)
	}
	expectError(t, c.Form(http.MethodPost, "/nodes/pve1/qemu/100/template", nil), "you can't convert a template to a template")
	failTask(t, c, http.MethodPost, "/nodes/pve1/qemu/100/status/start", nil, "you can't start a vm if it's a template")

	// three linked clones at once: the template's flock is shared
	var wg sync.WaitGroup
	upids := make([]string, 3)
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := c.Form(http.MethodPost, "/nodes/pve1/qemu/100/clone", url.Values{"newid": {fmt.Sprint(110 + i)}, "name": {fmt.Sprintf("node%d", i)}})
			if res.Status == http.StatusOK {
				upids[i], _ = res.Body["data"].(string)
			}
		}()
	}
	wg.Wait()
	for i, upid := range upids {
		if upid == "" {
			t.Fatalf("clone %d refused", i)
		}
		if exit, lines := waitTask(t, c, upid); exit != "OK" {
			t.Fatalf("clone %d: %s %q", i, exit, lines)
		}
	}
	lc := vmConfig(t, c, "pve1", 111, false)
	if lc["scsi0"] != "local-lvm:vm-111-disk-0,iothread=1,size=8G" || lc["name"] != "node1" || lc["template"] != nil {
		t.Errorf("linked clone = %v", lc)
	}
	afterStatd(lab)
	res := pvetest.DataList(t, c.Form(http.MethodGet, "/cluster/resources", url.Values{"type": {"vm"}}))
	if len(res) != 5 || res[0]["template"] != float64(1) || res[1]["template"] != float64(0) {
		t.Errorf("resources = %v", res)
	}

	// the template cannot go while linked clones use it
	failTask(t, c, http.MethodDelete, "/nodes/pve1/qemu/100", nil, "base volume 'local-lvm:base-100-disk-0' is still in use by linked cloned")
	for _, id := range []int{110, 111, 112} {
		runTask(t, c, http.MethodDelete, fmt.Sprintf("/nodes/pve1/qemu/%d", id), nil)
	}
	runTask(t, c, http.MethodDelete, "/nodes/pve1/qemu/100", nil)
}

func TestQemuMigrate(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()
	createSimpleVM(t, c, "pve1", 100, nil)
	runTask(t, c, http.MethodPost, "/nodes/pve1/qemu/100/status/start", nil)

	expectError(t, c.Form(http.MethodPost, "/nodes/pve1/qemu/100/migrate", url.Values{"target": {"pve2"}}), "can't migrate running VM without --online")
	pvetest.ExpectParamError(t, c.Form(http.MethodPost, "/nodes/pve1/qemu/100/migrate", url.Values{"target": {"pve1"}}), "target", "target is local node.")
	pre := dataMap(t, c.Form(http.MethodGet, "/nodes/pve1/qemu/100/migrate", url.Values{"target": {"pve2"}}))
	if pre["running"] != float64(1) || len(pre["local_disks"].([]any)) != 1 || len(pre["allowed_nodes"].([]any)) != 2 {
		t.Errorf("precondition = %v", pre)
	}
	lines := failTask(t, c, http.MethodPost, "/nodes/pve1/qemu/100/migrate", url.Values{"target": {"pve2"}, "online": {"1"}}, "migration aborted")
	if !slices.ContainsFunc(lines, func(l string) bool {
		return strings.HasSuffix(l, "can't migrate local disk 'local-lvm:vm-100-disk-0': can't live migrate attached local disks without with-local-disks option")
	}) {
		t.Errorf("log = %q", lines)
	}

	upid := upidOf(t, c.Form(http.MethodPost, "/nodes/pve1/qemu/100/migrate", url.Values{"target": {"pve2"}, "online": {"1"}, "with-local-disks": {"1"}}))
	// while it migrates the config is locked
	expectError(t, c.Form(http.MethodPut, "/nodes/pve1/qemu/100/config", url.Values{"name": {"x"}}), "VM is locked (migrate)")
	if exit, lines := waitTask(t, c, upid); exit != "OK" {
		t.Fatalf("migrate: %s %q", exit, lines)
	}
	expectError(t, c.Get("/nodes/pve1/qemu/100/config"), "Configuration file 'nodes/pve1/qemu-server/100.conf' does not exist")
	st := dataMap(t, c.Get("/nodes/pve2/qemu/100/status/current"))
	if st["status"] != "running" || st["lock"] != nil {
		t.Errorf("status on target = %v", st)
	}
	for _, r := range pvetest.DataList(t, c.Form(http.MethodGet, "/cluster/resources", url.Values{"type": {"vm"}})) {
		if r["id"] == "qemu/100" && r["node"] != "pve2" {
			t.Errorf("resource = %v", r)
		}
	}
	if vols := pvetest.DataList(t, c.Form(http.MethodGet, "/nodes/pve2/storage/local-lvm/content", url.Values{"vmid": {"100"}})); len(vols) != 1 {
		t.Errorf("volumes on target = %v", vols)
	}
	if vols := pvetest.DataList(t, c.Form(http.MethodGet, "/nodes/pve1/storage/local-lvm/content", url.Values{"vmid": {"100"}})); len(vols) != 0 {
		t.Errorf("volumes left on source = %v", vols)
	}
	if l := pvetest.DataList(t, c.Get("/nodes/pve1/qemu")); len(l) != 0 {
		t.Errorf("pve1 VMs = %v", l)
	}
	// offline migration back
	runTask(t, c, http.MethodPost, "/nodes/pve2/qemu/100/status/stop", nil)
	runTask(t, c, http.MethodPost, "/nodes/pve2/qemu/100/migrate", url.Values{"target": {"pve1"}})
	if l := pvetest.DataList(t, c.Get("/nodes/pve1/qemu")); len(l) != 1 || l[0]["vmid"] != float64(100) || l[0]["status"] != "stopped" {
		t.Errorf("pve1 VMs = %v", l)
	}
}

func TestQemuDestroy(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()
	createSimpleVM(t, c, "pve1", 100, url.Values{"protection": {"1"}})
	expectError(t, c.Form(http.MethodDelete, "/nodes/pve1/qemu/100", nil), "can't remove VM 100 - protection mode enabled")
	pvetest.Expect(t, c.Form(http.MethodPut, "/nodes/pve1/qemu/100/config", url.Values{"delete": {"protection"}}), http.StatusOK, "OK")
	runTask(t, c, http.MethodPost, "/nodes/pve1/qemu/100/status/start", nil)
	expectError(t, c.Form(http.MethodDelete, "/nodes/pve1/qemu/100", nil), "VM 100 is running - destroy failed")
	runTask(t, c, http.MethodPost, "/nodes/pve1/qemu/100/status/shutdown", nil)

	if id := c.Get("/cluster/nextid").Body["data"]; id != "101" {
		t.Errorf("nextid = %v", id)
	}
	lines := runTask(t, c, http.MethodDelete, "/nodes/pve1/qemu/100", url.Values{"purge": {"1"}, "destroy-unreferenced-disks": {"1"}})
	if !slices.Contains(lines, `  Logical volume "vm-100-disk-0" successfully removed.`) || !slices.Contains(lines, "purging VM 100 from related configurations..") {
		t.Errorf("log = %q", lines)
	}
	expectError(t, c.Get("/nodes/pve1/qemu/100/config"), "Configuration file 'nodes/pve1/qemu-server/100.conf' does not exist")
	expectError(t, c.Form(http.MethodDelete, "/nodes/pve1/qemu/100", nil), "Configuration file 'nodes/pve1/qemu-server/100.conf' does not exist")
	if vols := pvetest.DataList(t, c.Form(http.MethodGet, "/nodes/pve1/storage/local-lvm/content", nil)); len(vols) != 0 {
		t.Errorf("volumes = %v", vols)
	}
	if id := c.Get("/cluster/nextid").Body["data"]; id != "100" {
		t.Errorf("nextid = %v", id)
	}
	if ha := pvetest.DataList(t, c.Get("/cluster/ha/resources")); len(ha) != 0 {
		t.Errorf("HA resources = %v", ha)
	}
	// a VM that is not there: the status call dies in check_running
	expectError(t, c.Form(http.MethodPost, "/nodes/pve1/qemu/100/status/reset", nil), "unable to find configuration file for VM 100 - no such machine")
	failTask(t, c, http.MethodPost, "/nodes/pve1/qemu/100/status/start", nil, "Configuration file 'nodes/pve1/qemu-server/100.conf' does not exist")
}

func TestQemuConcurrentCreateSameID(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()
	id := c.Get("/cluster/nextid").Body["data"].(string)
	var wg sync.WaitGroup
	results := make([]pvetest.Result, 2)
	for i, node := range []string{"pve1", "pve2"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = c.Form(http.MethodPost, "/nodes/"+node+"/qemu", url.Values{"vmid": {id}, "scsi0": {"local-lvm:4"}})
		}()
	}
	wg.Wait()
	ok, failed := 0, 0
	for i, res := range results {
		switch res.Status {
		case http.StatusOK:
			ok++
		case http.StatusInternalServerError:
			failed++
			other := []string{"pve2", "pve1"}[i]
			want := fmt.Sprintf("unable to create VM %s - VM %s already exists on node '%s'\n", id, id, other)
			if res.Body["message"] != want {
				t.Errorf("message = %q, want %q", res.Body["message"], want)
			}
		default:
			t.Errorf("answer %d %s", res.Status, res.Raw)
		}
	}
	if ok != 1 || failed != 1 {
		t.Fatalf("ok %d, failed %d", ok, failed)
	}
	if next := c.Get("/cluster/nextid").Body["data"]; next == id {
		t.Errorf("nextid still %v", next)
	}
}

func TestQemuSchemaRejects(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	requireSchema(t, lab)
	c := newCaller(t, lab).WithToken()
	pvetest.ExpectParamError(t, c.Form(http.MethodPost, "/nodes/pve1/qemu", url.Values{"vmid": {"100"}, "scsi31": {"local-lvm:8"}}),
		"scsi31", "property is not defined in schema and the schema does not allow additional properties")
	pvetest.ExpectParamError(t, c.Form(http.MethodPost, "/nodes/pve1/qemu", url.Values{"vmid": {"100"}, "colour": {"blue"}}),
		"colour", "property is not defined in schema and the schema does not allow additional properties")
	pvetest.ExpectParamError(t, c.Form(http.MethodPost, "/nodes/pve1/qemu", url.Values{"vmid": {"99"}}), "vmid", "invalid format - value does not look like a valid VM ID\n")
}

func TestQemuLockFaultAndWorkerFailure(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()
	createSimpleVM(t, c, "pve1", 100, nil)

	lab.Faults().SetLockContention(1)
	expectError(t, c.Form(http.MethodPut, "/nodes/pve1/qemu/100/config", url.Values{"cores": {"2"}}), "can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout")
	// the asynchronous update also takes the lock in the API call
	// (update_vm_api's lock_config, qemu-server Qemu.pm), before any worker
	expectError(t, c.Form(http.MethodPost, "/nodes/pve1/qemu/100/config", url.Values{"cores": {"2"}}), "can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout")
	expectError(t, c.Form(http.MethodPost, "/nodes/pve1/qemu", url.Values{"vmid": {"101"}}), "unable to create VM 101 - can't lock file '/var/lock/qemu-server/lock-101.conf' - got timeout")
	lab.Faults().Reset()

	// a create worker that dies leaves no VM behind
	lab.Faults().FailNextTasks(1, "unable to create VM 101 - lvcreate 'pve/vm-101-disk-0' error: out of space")
	failTask(t, c, http.MethodPost, "/nodes/pve1/qemu", url.Values{"vmid": {"101"}, "scsi0": {"local-lvm:4"}}, "unable to create VM 101 - lvcreate 'pve/vm-101-disk-0' error: out of space")
	if id := c.Get("/cluster/nextid").Body["data"]; id != "101" {
		t.Errorf("nextid = %v", id)
	}
	// POST config waits for a running worker's flock rather than failing
	upid := upidOf(t, c.Form(http.MethodPost, "/nodes/pve1/qemu/100/status/start", nil))
	pvetest.Expect(t, c.Form(http.MethodPut, "/nodes/pve1/qemu/100/config", url.Values{"name": {"renamed"}}), http.StatusOK, "OK")
	if exit, _ := waitTask(t, c, upid); exit != "OK" {
		t.Fatalf("start: %s", exit)
	}
	if cfg := vmConfig(t, c, "pve1", 100, true); cfg["name"] != "renamed" {
		t.Errorf("name = %v", cfg["name"])
	}
}
