package pvesim

import (
	"encoding/base64"
	"encoding/binary"
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

const (
	debianTemplate = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"
	ubuntuTemplate = "local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst"
)

// testSSHKey is a well-formed ed25519 public key line.
func testSSHKey() string {
	blob := binary.BigEndian.AppendUint32(nil, 11)
	blob = append(blob, "ssh-ed25519"...)
	blob = binary.BigEndian.AppendUint32(blob, 32)
	blob = append(blob, make([]byte, 32)...)
	return "ssh-ed25519 " + base64.StdEncoding.EncodeToString(blob) + " admin@example"
}

func ctConfig(t *testing.T, c *pvetest.Caller, node string, vmid int, current bool) map[string]any {
	t.Helper()
	q := url.Values{}
	if current {
		q.Set("current", "1")
	}
	return dataMap(t, c.Form(http.MethodGet, fmt.Sprintf("/nodes/%s/lxc/%d/config", node, vmid), q))
}

func ctPath(node string, vmid int, sub string) string {
	return fmt.Sprintf("/nodes/%s/lxc/%d%s", node, vmid, sub)
}

// createSimpleCT creates a Debian container with an 8 GiB root file
// system, one NIC and nesting (no systemd warning).
func createSimpleCT(t *testing.T, c *pvetest.Caller, node string, vmid int, extra url.Values) {
	t.Helper()
	putFile(t, c, node, mirror.DebianTemplate)
	params := url.Values{
		"vmid":       {fmt.Sprint(vmid)},
		"ostemplate": {debianTemplate},
		"hostname":   {fmt.Sprintf("ct%d", vmid)},
		"rootfs":     {"local-lvm:8"},
		"net0":       {"name=eth0,bridge=vmbr0,ip=dhcp"},
		"features":   {"nesting=1"},
	}
	for k, v := range extra {
		params[k] = v
	}
	runTask(t, c, http.MethodPost, "/nodes/"+node+"/lxc", params)
}

var ctNetRE = regexp.MustCompile(`^name=eth0,bridge=vmbr0,firewall=1,hwaddr=BC:24:11:[0-9A-F]{2}:[0-9A-F]{2}:[0-9A-F]{2},ip=dhcp,ip6=auto,tag=40,type=veth$`)

func TestLXCCreateFromTemplate(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()
	putFile(t, c, "pve1", mirror.DebianTemplate)
	putFile(t, c, "pve1", mirror.UbuntuTemplate)
	putFile(t, c, "pve1", mirror.DebianISO)

	upid := upidOf(t, c.Form(http.MethodPost, "/nodes/pve1/lxc", url.Values{
		"vmid":            {"200"},
		"ostemplate":      {debianTemplate},
		"hostname":        {"web.example.com"},
		"rootfs":          {"local-lvm:8"},
		"mp0":             {"local-lvm:4,mp=/data,backup=yes"},
		"net0":            {"name=eth0,bridge=vmbr0,ip=dhcp,ip6=auto,firewall=1,tag=40"},
		"password":        {"s3cret-pw"},
		"ssh-public-keys": {testSSHKey()},
		"unprivileged":    {"1"},
		"features":        {"nesting=1"},
		"cores":           {"2"},
		"nameserver":      {"1.1.1.1,9.9.9.9"},
		"searchdomain":    {"example.com"},
		"onboot":          {"1"},
		"tags":            {"web;Prod;web"},
		"description":     {"line one\nline two"},
	}))
	if !strings.Contains(upid, ":vzcreate:200:root@pam!lab:") {
		t.Errorf("UPID = %s", upid)
	}
	// the config exists at once, locked
	if cfg := ctConfig(t, c, "pve1", 200, false); cfg["lock"] != "create" || len(cfg) != 2 {
		t.Errorf("config during create = %v", cfg)
	}
	if id := c.Get("/cluster/nextid").Body["data"]; id != "100" {
		t.Errorf("nextid = %v", id)
	}
	exit, lines := waitTask(t, c, upid)
	if exit != "OK" {
		t.Fatalf("create: %s %q", exit, lines)
	}
	for _, want := range []string{
		`  Logical volume "vm-200-disk-0" created.`,
		"Creating filesystem with 2097152 4k blocks and 524288 inodes",
		"\t32768, 98304, 163840, 229376, 294912, 819200, 884736, 1605632",
		`  Logical volume "vm-200-disk-1" created.`,
		"extracting archive '/var/lib/vz/template/cache/debian-12-standard_12.7-1_amd64.tar.zst'",
		"Detected container architecture: amd64",
		"Creating SSH host key 'ssh_host_ed25519_key' - this may take some time ...",
	} {
		if !slices.Contains(lines, want) {
			t.Errorf("log lacks %q: %q", want, lines)
		}
	}

	cfg := ctConfig(t, c, "pve1", 200, false)
	want := map[string]any{
		"arch":         "amd64",
		"ostype":       "debian",
		"hostname":     "web.example.com",
		"rootfs":       "local-lvm:vm-200-disk-0,size=8G",
		"mp0":          "local-lvm:vm-200-disk-1,mp=/data,backup=1,size=4G",
		"memory":       float64(512),
		"swap":         float64(512),
		"cores":        float64(2),
		"unprivileged": float64(1),
		"onboot":       float64(1),
		"features":     "nesting=1",
		"nameserver":   "1.1.1.1 9.9.9.9",
		"searchdomain": "example.com",
		"tags":         "Prod;web",
		"description":  "line one\nline two\n",
	}
	for k, v := range want {
		if cfg[k] != v {
			t.Errorf("config %s = %#v, want %#v", k, cfg[k], v)
		}
	}
	if !ctNetRE.MatchString(cfg["net0"].(string)) || len(cfg["digest"].(string)) != 40 {
		t.Errorf("net0 = %v, digest = %v", cfg["net0"], cfg["digest"])
	}
	for _, k := range []string{"password", "ssh-public-keys", "lock", "ostemplate", "storage"} {
		if _, ok := cfg[k]; ok {
			t.Errorf("config has %s: %v", k, cfg)
		}
	}
	if vols := pvetest.DataList(t, c.Form(http.MethodGet, "/nodes/pve1/storage/local-lvm/content", url.Values{"vmid": {"200"}})); len(vols) != 2 ||
		vols[0]["size"] != float64(8<<30) || vols[1]["size"] != float64(4<<30) {
		t.Errorf("volumes = %v", vols)
	}
	st := dataMap(t, c.Get(ctPath("pve1", 200, "/status/current")))
	if st["status"] != "stopped" || st["type"] != "lxc" || st["name"] != "web.example.com" || st["cpus"] != float64(2) ||
		st["maxmem"] != float64(512<<20) || st["maxswap"] != float64(512<<20) || st["maxdisk"] != float64(8<<30) ||
		st["ha"].(map[string]any)["managed"] != float64(0) || st["vmid"] != float64(200) {
		t.Errorf("status = %v", st)
	}

	// a template without nesting: systemd warns; defaults are filled in
	exit, lines = waitTask(t, c, upidOf(t, c.Form(http.MethodPost, "/nodes/pve1/lxc", url.Values{
		"vmid": {"201"}, "ostemplate": {ubuntuTemplate}, "rootfs": {"local-lvm:2"},
	})))
	if exit != "WARNINGS: 1" || !slices.Contains(lines, "WARN: Systemd 255 detected. You may need to enable nesting.") {
		t.Errorf("ubuntu create: %s %q", exit, lines)
	}
	if cfg := ctConfig(t, c, "pve1", 201, false); cfg["hostname"] != "CT201" || cfg["ostype"] != "ubuntu" || cfg["unprivileged"] != float64(1) ||
		cfg["memory"] != float64(512) || cfg["rootfs"] != "local-lvm:vm-201-disk-0,size=2G" {
		t.Errorf("defaults: %v", cfg)
	}

	// checks before the worker
	base := url.Values{"vmid": {"202"}, "ostemplate": {debianTemplate}, "rootfs": {"local-lvm:4"}}
	with := func(kv ...string) url.Values {
		v := url.Values{}
		for k, vs := range base {
			v[k] = vs
		}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	expectError(t, c.Form(http.MethodPost, "/nodes/pve1/lxc", with("ostemplate", "local:iso/debian-13.1.0-amd64-netinst.iso")),
		"unable to use volume local:iso/debian-13.1.0-amd64-netinst.iso - content type needs to be 'vztmpl'")
	pvetest.Expect(t, c.Form(http.MethodPost, "/nodes/pve1/lxc", with("features", "nesting=1,keyctl=1")), http.StatusForbidden,
		"Permission check failed (changing feature flags (except nesting) is only allowed for root@pam)")
	expectError(t, c.Form(http.MethodPost, "/nodes/pve1/lxc", with("ssh-public-keys", "ssh-rsa AAAAnot-a-key")), "SSH public key validation error")
	pvetest.ExpectParamError(t, c.Form(http.MethodPost, "/nodes/pve1/lxc", with("rootfs", "local:8")), "storage", "storage 'local' does not support container directories")
	pvetest.ExpectParamError(t, c.Form(http.MethodPost, "/nodes/pve1/lxc", with("rootfs", "8")), "storage", "storage 'local' does not support container directories")
	expectError(t, c.Form(http.MethodPost, "/nodes/pve1/lxc", url.Values{"vmid": {"202"}, "ostemplate": {debianTemplate}, "mp0": {"local-lvm:1,mp=/x"}}),
		"mount points configured, but 'rootfs' not set - aborting")
	expectError(t, c.Form(http.MethodPost, "/nodes/pve2/lxc", with("vmid", "200")), "CT 200 already exists on node 'pve1'")
	// the template is looked for in the worker, after the disks exist
	lines = failTask(t, c, http.MethodPost, "/nodes/pve1/lxc", with("ostemplate", "local:vztmpl/missing.tar.zst"),
		"unable to create CT 202 - can't find file 'local:vztmpl/missing.tar.zst'")
	if !slices.Contains(lines, `  Logical volume "vm-202-disk-0" successfully removed.`) {
		t.Errorf("log = %q", lines)
	}
	expectError(t, c.Get(ctPath("pve1", 202, "/config")), "Configuration file 'nodes/pve1/lxc/202.conf' does not exist")

	// root@pam itself may set any feature
	root := newCaller(t, lab).WithTicket()
	runTask(t, root, http.MethodPost, "/nodes/pve1/lxc", with("features", "nesting=1,keyctl=1"))
	if cfg := ctConfig(t, c, "pve1", 202, false); cfg["features"] != "nesting=1,keyctl=1" {
		t.Errorf("features = %v", cfg["features"])
	}
	// and the token may not change them afterwards
	pvetest.Expect(t, c.Form(http.MethodPut, ctPath("pve1", 202, "/config"), url.Values{"features": {"nesting=1"}}), http.StatusForbidden,
		"Permission check failed (changing feature flags (except nesting) is only allowed for root@pam)")
}

func TestLXCConfigDigestHotplugAndPending(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()
	createSimpleCT(t, c, "pve1", 200, nil)
	cfgPath := ctPath("pve1", 200, "/config")

	cfg := ctConfig(t, c, "pve1", 200, false)
	expectError(t, c.Form(http.MethodPut, cfgPath, url.Values{"memory": {"1024"}, "digest": {strings.Repeat("0", 40)}}),
		"detected modified configuration - file changed by other user? Try again.")
	// stopped: a change applies at once; PUT answers null
	res := c.Form(http.MethodPut, cfgPath, url.Values{"memory": {"768"}, "digest": {cfg["digest"].(string)}})
	pvetest.Expect(t, res, http.StatusOK, "OK")
	if res.Body["data"] != nil {
		t.Errorf("PUT answered %s", res.Raw)
	}
	if cfg := ctConfig(t, c, "pve1", 200, true); cfg["memory"] != float64(768) {
		t.Errorf("memory = %v", cfg["memory"])
	}
	expectError(t, c.Form(http.MethodPut, cfgPath, url.Values{"delete": {"rootfs"}}), "unable to delete required option 'rootfs'")
	expectError(t, c.Form(http.MethodPut, cfgPath, url.Values{"unprivileged": {"0"}}), "unable to modify read-only option: 'unprivileged'")
	pvetest.ExpectParamError(t, c.Form(http.MethodPut, cfgPath, url.Values{"delete": {"bogus"}}), "delete", "unknown option 'bogus'")
	expectError(t, c.Form(http.MethodPut, cfgPath, nil), "no options specified")

	runTask(t, c, http.MethodPost, ctPath("pve1", 200, "/status/start"), nil)
	// running: memory and swap are hot-plugged, the name server stays pending
	pvetest.Expect(t, c.Form(http.MethodPut, cfgPath, url.Values{"memory": {"1024"}, "swap": {"256"}, "nameserver": {"9.9.9.9"}, "cores": {"4"}}), http.StatusOK, "OK")
	cur := ctConfig(t, c, "pve1", 200, true)
	if cur["memory"] != float64(1024) || cur["swap"] != float64(256) || cur["cores"] != float64(4) || cur["nameserver"] != nil {
		t.Errorf("current = %v", cur)
	}
	if cfg := ctConfig(t, c, "pve1", 200, false); cfg["nameserver"] != "9.9.9.9" {
		t.Errorf("with pending = %v", cfg)
	}
	st := dataMap(t, c.Get(ctPath("pve1", 200, "/status/current")))
	if st["maxmem"] != float64(1<<30) || st["cpus"] != float64(4) || st["status"] != "running" {
		t.Errorf("status = %v", st)
	}
	pending := pvetest.DataList(t, c.Get(ctPath("pve1", 200, "/pending")))
	var ns, mem map[string]any
	for _, e := range pending {
		switch e["key"] {
		case "nameserver":
			ns = e
		case "memory":
			mem = e
		}
	}
	if ns == nil || ns["pending"] != "9.9.9.9" || ns["value"] != nil || mem == nil || mem["value"] != float64(1024) || mem["pending"] != nil {
		t.Errorf("pending = %v", pending)
	}

	// a NIC on a bridge the node lacks cannot be plugged; nothing is written
	before := ctConfig(t, c, "pve1", 200, false)["digest"]
	pvetest.ExpectParamError(t, c.Form(http.MethodPut, cfgPath, url.Values{"net1": {"name=eth1,bridge=vmbr9"}, "memory": {"2048"}}),
		"net1", "unable to hotplug net1: bridge 'vmbr9' does not exist\n")
	if cfg := ctConfig(t, c, "pve1", 200, false); cfg["digest"] != before || cfg["memory"] != float64(1024) {
		t.Errorf("after failed hotplug: %v", cfg)
	}
	// a new mount point is hot-plugged, its removal waits
	pvetest.Expect(t, c.Form(http.MethodPut, cfgPath, url.Values{"mp1": {"local-lvm:2,mp=/extra"}, "net1": {"name=eth1,bridge=vmbr0"}}), http.StatusOK, "OK")
	if cur := ctConfig(t, c, "pve1", 200, true); cur["mp1"] != "local-lvm:vm-200-disk-1,mp=/extra,size=2G" || !strings.HasPrefix(cur["net1"].(string), "name=eth1,bridge=vmbr0,hwaddr=BC:24:11:") {
		t.Errorf("hot-plugged: %v", cur)
	}
	pvetest.Expect(t, c.Form(http.MethodPut, cfgPath, url.Values{"delete": {"mp1"}}), http.StatusOK, "OK")
	if p := pvetest.DataList(t, c.Get(ctPath("pve1", 200, "/pending"))); !slices.ContainsFunc(p, func(e map[string]any) bool { return e["key"] == "mp1" && e["delete"] == float64(1) }) {
		t.Errorf("pending = %v", p)
	}

	// stopping applies nothing; starting applies it all
	runTask(t, c, http.MethodPost, ctPath("pve1", 200, "/status/stop"), nil)
	if cur := ctConfig(t, c, "pve1", 200, true); cur["nameserver"] != nil || cur["mp1"] == nil {
		t.Errorf("after stop: %v", cur)
	}
	runTask(t, c, http.MethodPost, ctPath("pve1", 200, "/status/start"), nil)
	cur = ctConfig(t, c, "pve1", 200, true)
	if cur["nameserver"] != "9.9.9.9" || cur["mp1"] != nil || cur["unused0"] != "local-lvm:vm-200-disk-1" {
		t.Errorf("after start: %v", cur)
	}
	if p := pvetest.DataList(t, c.Get(ctPath("pve1", 200, "/pending"))); slices.ContainsFunc(p, func(e map[string]any) bool { return e["pending"] != nil || e["delete"] != nil }) {
		t.Errorf("pending after start: %v", p)
	}
	// a reboot applies pending changes too
	pvetest.Expect(t, c.Form(http.MethodPut, cfgPath, url.Values{"searchdomain": {"lab.example"}}), http.StatusOK, "OK")
	runTask(t, c, http.MethodPost, ctPath("pve1", 200, "/status/reboot"), nil)
	if cur := ctConfig(t, c, "pve1", 200, true); cur["searchdomain"] != "lab.example" {
		t.Errorf("after reboot: %v", cur)
	}
	// deleting the unused volume frees it
	pvetest.Expect(t, c.Form(http.MethodPut, cfgPath, url.Values{"delete": {"unused0"}}), http.StatusOK, "OK")
	if vols := pvetest.DataList(t, c.Form(http.MethodGet, "/nodes/pve1/storage/local-lvm/content", url.Values{"vmid": {"200"}})); len(vols) != 1 {
		t.Errorf("volumes = %v", vols)
	}
}

func TestLXCPower(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()
	createSimpleCT(t, c, "pve1", 200, nil)

	expectError(t, c.Form(http.MethodPost, ctPath("pve1", 200, "/status/stop"), nil), "CT 200 not running")
	expectError(t, c.Form(http.MethodPost, ctPath("pve1", 200, "/status/shutdown"), nil), "CT 200 not running")
	expectError(t, c.Form(http.MethodPost, ctPath("pve1", 200, "/status/reboot"), nil), "VM 200 not running")
	pvetest.ExpectParamError(t, c.Form(http.MethodPost, ctPath("pve1", 200, "/status/start"), url.Values{"skiplock": {"1"}}), "skiplock", "Only root may use this option.")

	upid := upidOf(t, c.Form(http.MethodPost, ctPath("pve1", 200, "/status/start"), nil))
	if !strings.Contains(upid, ":vzstart:200:") {
		t.Errorf("UPID = %s", upid)
	}
	if exit, lines := waitTask(t, c, upid); exit != "OK" {
		t.Fatalf("start: %s %q", exit, lines)
	}
	expectError(t, c.Form(http.MethodPost, ctPath("pve1", 200, "/status/start"), nil), "CT 200 already running")
	st := dataMap(t, c.Get(ctPath("pve1", 200, "/status/current")))
	if st["status"] != "running" || st["pid"] == nil || st["uptime"].(float64) > 5 {
		t.Errorf("status = %v", st)
	}
	if l := pvetest.DataList(t, c.Get("/nodes/pve1/lxc")); len(l) != 1 || l[0]["status"] != "running" || l[0]["name"] != "ct200" {
		t.Errorf("list = %v", l)
	}
	exit, _ := waitTask(t, c, upidOf(t, c.Form(http.MethodPost, ctPath("pve1", 200, "/status/shutdown"), url.Values{"timeout": {"30"}})))
	if exit != "OK" {
		t.Fatalf("shutdown: %s", exit)
	}
	if st := dataMap(t, c.Get(ctPath("pve1", 200, "/status/current"))); st["status"] != "stopped" {
		t.Errorf("status = %v", st)
	}

	// a NIC on a missing bridge keeps the container from starting
	createSimpleCT(t, c, "pve1", 201, url.Values{"net0": {"name=eth0,bridge=vmbr9"}})
	lines := failTask(t, c, http.MethodPost, ctPath("pve1", 201, "/status/start"), nil, "startup for container '201' failed")
	if !slices.Contains(lines, "bridge 'vmbr9' does not exist") {
		t.Errorf("log = %q", lines)
	}
	// a container that is not there
	failTask(t, c, http.MethodPost, ctPath("pve1", 299, "/status/start"), nil, "Configuration file 'nodes/pve1/lxc/299.conf' does not exist")
	expectError(t, c.Get(ctPath("pve1", 299, "/status/current")), "Configuration file 'nodes/pve1/lxc/299.conf' does not exist")
	// create with start=1 starts it in a vzstart task of its own
	createSimpleCT(t, c, "pve2", 202, url.Values{"start": {"1"}})
	waitFor(t, func() bool { return dataMap(t, c.Get(ctPath("pve2", 202, "/status/current")))["status"] == "running" })
	if tasks := pvetest.DataList(t, c.Form(http.MethodGet, "/nodes/pve2/tasks", url.Values{"typefilter": {"vzstart"}})); len(tasks) != 1 {
		t.Errorf("tasks = %v", tasks)
	}
}

func TestLXCResize(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()
	createSimpleCT(t, c, "pve1", 200, url.Values{"mp0": {"local-lvm:1,mp=/srv"}})
	resize := ctPath("pve1", 200, "/resize")

	upid := upidOf(t, c.Form(http.MethodPut, resize, url.Values{"disk": {"rootfs"}, "size": {"+2G"}}))
	if !strings.Contains(upid, ":resize:200:") {
		t.Errorf("UPID = %s", upid)
	}
	exit, lines := waitTask(t, c, upid)
	if exit != "OK" || !slices.Contains(lines, "  Logical volume pve/vm-200-disk-0 successfully resized.") ||
		!slices.Contains(lines, "The filesystem on /dev/pve/vm-200-disk-0 is now 2621440 (4k) blocks long.") {
		t.Fatalf("resize: %s %q", exit, lines)
	}
	if cfg := ctConfig(t, c, "pve1", 200, false); cfg["rootfs"] != "local-lvm:vm-200-disk-0,size=10G" {
		t.Errorf("rootfs = %v", cfg["rootfs"])
	}
	runTask(t, c, http.MethodPut, resize, url.Values{"disk": {"mp0"}, "size": {"3G"}})
	if cfg := ctConfig(t, c, "pve1", 200, false); cfg["mp0"] != "local-lvm:vm-200-disk-1,mp=/srv,size=3G" {
		t.Errorf("mp0 = %v", cfg["mp0"])
	}
	expectError(t, c.Form(http.MethodPut, resize, url.Values{"disk": {"rootfs"}, "size": {"4G"}}), "unable to shrink disk size")
	expectError(t, c.Form(http.MethodPut, resize, url.Values{"disk": {"rootfs"}, "size": {"10G"}}), "disk is already at specified size")
	expectError(t, c.Form(http.MethodPut, resize, url.Values{"disk": {"rootfs"}, "size": {"+1G"}, "digest": {strings.Repeat("a", 40)}}),
		"detected modified configuration - file changed by other user? Try again.")
	if vols := pvetest.DataList(t, c.Form(http.MethodGet, "/nodes/pve1/storage/local-lvm/content", url.Values{"vmid": {"200"}})); vols[0]["size"] != float64(10<<30) {
		t.Errorf("volumes = %v", vols)
	}
}

func TestLXCCloneAndTemplate(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()
	createSimpleCT(t, c, "pve1", 200, url.Values{"mp0": {"local-lvm:1,mp=/srv"}})
	src := ctConfig(t, c, "pve1", 200, false)

	// (sort keys %$src_conf: mp0 comes before rootfs)
	expectError(t, c.Form(http.MethodPost, ctPath("pve1", 200, "/clone"), url.Values{"newid": {"201"}, "full": {"0"}}),
		"Linked clone feature for 'local-lvm:vm-200-disk-1' is not available")
	expectError(t, c.Form(http.MethodPost, ctPath("pve1", 200, "/clone"), url.Values{"newid": {"201"}, "target": {"pve2"}}),
		"can't clone CT to node 'pve2' (CT uses local storage)")
	// the failed calls left neither locks nor configs behind
	if cfg := ctConfig(t, c, "pve1", 200, false); cfg["lock"] != nil {
		t.Errorf("source = %v", cfg)
	}
	expectError(t, c.Get(ctPath("pve1", 201, "/config")), "Configuration file 'nodes/pve1/lxc/201.conf' does not exist")

	upid := upidOf(t, c.Form(http.MethodPost, ctPath("pve1", 200, "/clone"), url.Values{"newid": {"201"}, "hostname": {"copy"}}))
	// while it copies, the source is locked and the clone exists
	if cfg := ctConfig(t, c, "pve1", 200, false); cfg["lock"] != "disk" {
		t.Errorf("source during clone = %v", cfg)
	}
	expectError(t, c.Form(http.MethodPut, ctPath("pve1", 200, "/config"), url.Values{"cores": {"2"}}), "CT is locked (disk)")
	if cfg := ctConfig(t, c, "pve1", 201, false); cfg["lock"] != "create" {
		t.Errorf("clone during clone = %v", cfg)
	}
	exit, lines := waitTask(t, c, upid)
	if exit != "OK" || !strings.Contains(upid, ":vzclone:200:") || !slices.Contains(lines, "create full clone of mountpoint rootfs (local-lvm:vm-200-disk-0)") {
		t.Fatalf("clone: %s %s %q", upid, exit, lines)
	}
	cl := ctConfig(t, c, "pve1", 201, false)
	if cl["hostname"] != "copy" || cl["rootfs"] != "local-lvm:vm-201-disk-0,size=8G" || cl["mp0"] != "local-lvm:vm-201-disk-1,mp=/srv,size=1G" ||
		cl["net0"] == src["net0"] || !strings.HasPrefix(cl["net0"].(string), "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:") || cl["lock"] != nil || cl["ostype"] != "debian" {
		t.Errorf("clone = %v\nsource = %v", cl, src)
	}
	if cfg := ctConfig(t, c, "pve1", 200, false); cfg["lock"] != nil {
		t.Errorf("source after clone = %v", cfg)
	}
	expectError(t, c.Form(http.MethodPost, ctPath("pve1", 200, "/clone"), url.Values{"newid": {"201"}}), "CT 201 already exists on node 'pve1'")

	// convert to a template: the call answers null, a vztemplate task does the work
	res := c.Form(http.MethodPost, ctPath("pve1", 200, "/template"), nil)
	pvetest.Expect(t, res, http.StatusOK, "OK")
	if res.Body["data"] != nil {
		t.Errorf("template answered %s", res.Raw)
	}
	waitFor(t, func() bool { return ctConfig(t, c, "pve1", 200, false)["template"] == float64(1) })
	tpl := ctConfig(t, c, "pve1", 200, false)
	if tpl["rootfs"] != "local-lvm:base-200-disk-0,size=8G" || tpl["mp0"] != "local-lvm:base-200-disk-1,mp=/srv,size=1G" {
		t.Errorf("template = %v", tpl)
	}
	expectError(t, c.Form(http.MethodPost, ctPath("pve1", 200, "/template"), nil), "you can't convert a template to a template")
	failTask(t, c, http.MethodPost, ctPath("pve1", 200, "/status/start"), nil, "you can't start a CT if it's a template")

	// linked clones by default; the template's "disk" lock refuses a second clone at the same time
	var wg sync.WaitGroup
	results := make([]pvetest.Result, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = c.Form(http.MethodPost, ctPath("pve1", 200, "/clone"), url.Values{"newid": {fmt.Sprint(210 + i)}})
		}()
	}
	wg.Wait()
	var upids []string
	refused := 0
	for _, res := range results {
		if res.Status == http.StatusOK {
			upids = append(upids, res.Body["data"].(string))
		} else if res.Body["message"] == "CT is locked (disk)\n" {
			refused++
		}
	}
	if len(upids) != 1 || refused != 1 {
		t.Fatalf("concurrent clones: %v", results)
	}
	exit, lines = waitTask(t, c, upids[0])
	if exit != "OK" || !slices.Contains(lines, "create linked clone of mount point rootfs (local-lvm:base-200-disk-0)") {
		t.Fatalf("linked clone: %s %q", exit, lines)
	}
	// the template cannot go while a linked clone uses it
	failTask(t, c, http.MethodDelete, ctPath("pve1", 200, ""), nil, "base volume 'local-lvm:base-200-disk-0' is still in use by linked cloned")
}

func TestLXCMigrateWithRestart(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()
	createSimpleCT(t, c, "pve1", 200, url.Values{"mp0": {"local-lvm:1,mp=/srv"}})
	runTask(t, c, http.MethodPost, ctPath("pve1", 200, "/status/start"), nil)
	migrate := ctPath("pve1", 200, "/migrate")

	expectError(t, c.Form(http.MethodPost, migrate, url.Values{"target": {"pve2"}}), "can't migrate running container without --online or --restart")
	pvetest.ExpectParamError(t, c.Form(http.MethodPost, migrate, url.Values{"target": {"pve1"}}), "target", "target is local node.")
	expectError(t, c.Form(http.MethodPost, migrate, url.Values{"target": {"pve9"}}), "no such cluster node 'pve9'")
	lines := failTask(t, c, http.MethodPost, migrate, url.Values{"target": {"pve2"}, "online": {"1"}}, "migration aborted")
	if !slices.ContainsFunc(lines, func(l string) bool { return strings.HasSuffix(l, "lxc live migration is currently not implemented") }) {
		t.Errorf("log = %q", lines)
	}
	if pre := dataMap(t, c.Form(http.MethodGet, migrate, url.Values{"target": {"pve2"}})); pre["running"] != float64(1) || len(pre["allowed-nodes"].([]any)) != 2 {
		t.Errorf("precondition = %v", pre)
	}

	upid := upidOf(t, c.Form(http.MethodPost, migrate, url.Values{"target": {"pve2"}, "restart": {"1"}}))
	if !strings.Contains(upid, ":vzmigrate:200:") {
		t.Errorf("UPID = %s", upid)
	}
	expectError(t, c.Form(http.MethodPut, ctPath("pve1", 200, "/config"), url.Values{"cores": {"2"}}), "CT is locked (migrate)")
	exit, lines := waitTask(t, c, upid)
	if exit != "OK" {
		t.Fatalf("migrate: %s %q", exit, lines)
	}
	for _, want := range []string{"shutdown CT 200", "starting migration of CT 200 to node 'pve2' (192.168.100.12)",
		"found local volume 'local-lvm:vm-200-disk-0' (in current VM config)", "start container on target node"} {
		if !slices.ContainsFunc(lines, func(l string) bool { return strings.HasSuffix(l, want) }) {
			t.Errorf("log lacks %q: %q", want, lines)
		}
	}
	expectError(t, c.Get(ctPath("pve1", 200, "/config")), "Configuration file 'nodes/pve1/lxc/200.conf' does not exist")
	if st := dataMap(t, c.Get(ctPath("pve2", 200, "/status/current"))); st["status"] != "running" || st["lock"] != nil {
		t.Errorf("status on target = %v", st)
	}
	if vols := pvetest.DataList(t, c.Form(http.MethodGet, "/nodes/pve2/storage/local-lvm/content", url.Values{"vmid": {"200"}})); len(vols) != 2 {
		t.Errorf("volumes on target = %v", vols)
	}
	if vols := pvetest.DataList(t, c.Form(http.MethodGet, "/nodes/pve1/storage/local-lvm/content", url.Values{"vmid": {"200"}})); len(vols) != 0 {
		t.Errorf("volumes left on source = %v", vols)
	}
	// a stopped container moves without restart
	runTask(t, c, http.MethodPost, ctPath("pve2", 200, "/status/stop"), nil)
	createSimpleCT(t, c, "pve1", 201, nil)
	runTask(t, c, http.MethodPost, ctPath("pve1", 201, "/migrate"), url.Values{"target": {"pve2"}})
	if cfg := ctConfig(t, c, "pve2", 201, false); cfg["rootfs"] != "local-lvm:vm-201-disk-0,size=8G" {
		t.Errorf("migrated config = %v", cfg)
	}
}

func TestLXCDestroy(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()
	createSimpleCT(t, c, "pve1", 200, url.Values{"protection": {"1"}, "mp0": {"local-lvm:1,mp=/srv"}})

	expectError(t, c.Form(http.MethodDelete, ctPath("pve1", 200, ""), nil), "can't remove CT 200 - protection mode enabled")
	expectError(t, c.Form(http.MethodPut, ctPath("pve1", 200, "/config"), url.Values{"delete": {"mp0"}}), "can't remove CT 200 drive 'mp0' - protection mode enabled")
	pvetest.Expect(t, c.Form(http.MethodPut, ctPath("pve1", 200, "/config"), url.Values{"delete": {"protection"}}), http.StatusOK, "OK")
	runTask(t, c, http.MethodPost, ctPath("pve1", 200, "/status/start"), nil)
	expectError(t, c.Form(http.MethodDelete, ctPath("pve1", 200, ""), nil), "unable to destroy CT 200 - container is running")
	runTask(t, c, http.MethodPost, ctPath("pve1", 200, "/status/stop"), nil)

	upid := upidOf(t, c.Form(http.MethodDelete, ctPath("pve1", 200, ""), url.Values{"purge": {"1"}}))
	if !strings.Contains(upid, ":vzdestroy:200:") {
		t.Errorf("UPID = %s", upid)
	}
	exit, lines := waitTask(t, c, upid)
	if exit != "OK" || !slices.Contains(lines, `  Logical volume "vm-200-disk-1" successfully removed.`) || !slices.Contains(lines, "purging CT 200 from related configurations..") {
		t.Fatalf("destroy: %s %q", exit, lines)
	}
	expectError(t, c.Get(ctPath("pve1", 200, "/config")), "Configuration file 'nodes/pve1/lxc/200.conf' does not exist")
	expectError(t, c.Form(http.MethodDelete, ctPath("pve1", 200, ""), nil), "Configuration file 'nodes/pve1/lxc/200.conf' does not exist")
	if vols := pvetest.DataList(t, c.Form(http.MethodGet, "/nodes/pve1/storage/local-lvm/content", nil)); len(vols) != 0 {
		t.Errorf("volumes = %v", vols)
	}

	// force destroys a running container, with a warning
	createSimpleCT(t, c, "pve1", 201, nil)
	runTask(t, c, http.MethodPost, ctPath("pve1", 201, "/status/start"), nil)
	exit, lines = waitTask(t, c, upidOf(t, c.Form(http.MethodDelete, ctPath("pve1", 201, ""), url.Values{"force": {"1"}})))
	if exit != "WARNINGS: 1" || !slices.Contains(lines, "WARN: forced to stop CT 201 before destroying!") {
		t.Errorf("forced destroy: %s %q", exit, lines)
	}
	if id := c.Get("/cluster/nextid").Body["data"]; id != "100" {
		t.Errorf("nextid = %v", id)
	}
}

func TestLXCHAManaged(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{HARound: manualHA})
	c := newCaller(t, lab).WithToken()
	createSimpleCT(t, c, "pve1", 300, url.Values{"ha-managed": {"1"}})
	if ha := pvetest.DataList(t, c.Get("/cluster/ha/resources")); len(ha) != 1 || ha[0]["sid"] != "ct:300" || ha[0]["type"] != "ct" {
		t.Errorf("HA resources = %v", ha)
	}
	if st := dataMap(t, c.Get(ctPath("pve1", 300, "/status/current"))); st["ha"].(map[string]any)["managed"] != float64(1) {
		t.Errorf("status = %v", st)
	}
	upid := upidOf(t, c.Form(http.MethodPost, ctPath("pve1", 300, "/status/start"), nil))
	if exit, lines := waitTask(t, c, upid); exit != "OK" || !strings.Contains(upid, ":hastart:300:") || !slices.Contains(lines, "Requesting HA start for CT 300") {
		t.Errorf("HA start: %s %s %q", upid, exit, lines)
	}
	// the CT runs once the CRM and the LRM got to it (ha_manager.go)
	crmRound(lab)
	lrmRound(t, lab, c)
	runTask(t, c, http.MethodPost, ctPath("pve1", 300, "/status/stop"), nil)
	crmRound(lab)
	lrmRound(t, lab, c)
	expectError(t, c.Form(http.MethodDelete, ctPath("pve1", 300, ""), nil), "unable to remove CT 300 - used in HA resources and purge parameter not set.")
	lines := runTask(t, c, http.MethodDelete, ctPath("pve1", 300, ""), url.Values{"purge": {"1"}})
	if !slices.Contains(lines, "NOTE: removed CT 300 from HA resource configuration.") {
		t.Errorf("log = %q", lines)
	}
	if ha := pvetest.DataList(t, c.Get("/cluster/ha/resources")); len(ha) != 0 {
		t.Errorf("HA resources = %v", ha)
	}
}

func TestLXCClusterResourcesAndNextID(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{StatdInterval: statdTick})
	c := newCaller(t, lab).WithToken()
	createSimpleVM(t, c, "pve1", 100, nil)
	if id := c.Get("/cluster/nextid").Body["data"]; id != "101" {
		t.Errorf("nextid = %v", id)
	}
	createSimpleCT(t, c, "pve2", 101, url.Values{"tags": {"db"}})
	if id := c.Get("/cluster/nextid").Body["data"]; id != "102" {
		t.Errorf("nextid = %v", id)
	}
	pvetest.ExpectParamError(t, c.Form(http.MethodGet, "/cluster/nextid", url.Values{"vmid": {"101"}}), "vmid", "VM 101 already exists")
	// one VMID space: a VM cannot take a container's ID and vice versa
	expectError(t, c.Form(http.MethodPost, "/nodes/pve1/qemu", url.Values{"vmid": {"101"}}), "unable to create VM 101 - CT 101 already exists on node 'pve2'")
	expectError(t, c.Form(http.MethodPost, "/nodes/pve1/lxc", url.Values{"vmid": {"100"}, "ostemplate": {debianTemplate}, "rootfs": {"local-lvm:1"}}),
		"VM 100 already exists on node 'pve1'")

	afterStatd(lab)
	res := pvetest.DataList(t, c.Form(http.MethodGet, "/cluster/resources", url.Values{"type": {"vm"}}))
	if len(res) != 2 || res[0]["id"] != "qemu/100" || res[1]["id"] != "lxc/101" {
		t.Fatalf("resources = %v", res)
	}
	ct := res[1]
	if ct["type"] != "lxc" || ct["node"] != "pve2" || ct["name"] != "ct101" || ct["status"] != "stopped" || ct["template"] != float64(0) ||
		ct["maxdisk"] != float64(8<<30) || ct["maxmem"] != float64(512<<20) || ct["tags"] != "db" || ct["vmid"] != float64(101) {
		t.Errorf("lxc resource = %v", ct)
	}
	if l := pvetest.DataList(t, c.Get("/nodes/pve1/lxc")); len(l) != 0 {
		t.Errorf("pve1 containers = %v", l)
	}
}

func TestLXCSchemaRejects(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	requireSchema(t, lab)
	c := newCaller(t, lab).WithToken()
	notDefined := "property is not defined in schema and the schema does not allow additional properties"
	pvetest.ExpectParamError(t, c.Form(http.MethodPost, "/nodes/pve1/lxc", url.Values{"vmid": {"200"}, "ostemplate": {debianTemplate}, "colour": {"blue"}}), "colour", notDefined)
	pvetest.ExpectParamError(t, c.Form(http.MethodPost, "/nodes/pve1/lxc", url.Values{"vmid": {"200"}, "ostemplate": {debianTemplate}, "scsi0": {"local-lvm:8"}}), "scsi0", notDefined)
	createSimpleCT(t, c, "pve1", 200, nil)
	pvetest.ExpectParamError(t, c.Form(http.MethodPut, ctPath("pve1", 200, "/config"), url.Values{"name": {"x"}}), "name", notDefined)
	res := c.Form(http.MethodPut, ctPath("pve1", 200, "/resize"), url.Values{"disk": {"scsi0"}, "size": {"+1G"}})
	pvetest.Expect(t, res, http.StatusBadRequest, "Parameter verification failed.")
	if msg, _ := res.ErrorsMap()["disk"].(string); !strings.HasPrefix(msg, "value 'scsi0' does not have a value in the enumeration 'rootfs, mp0, mp1, ") {
		t.Errorf("disk error = %q", msg)
	}
}

// waitFor polls cond until it holds (at most 5 s).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("condition not met in time")
}
