package pvesim

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/pvesim/pvetest"
)

func TestVersionOption(t *testing.T) {
	if _, err := Start(Options{Version: "7.4"}); err == nil || !strings.Contains(err.Error(), `unsupported PVE version "7.4"`) {
		t.Errorf("Start(7.4) = %v", err)
	}
	if lab := startLab(t, Options{}); lab.Version() != "9.1" {
		t.Errorf("default Version() = %q", lab.Version())
	}
}

// A lab in PVE 8 mode loads the 8.4 schema, reports 8.4 and serves the
// basics.
func TestPVE8Basics(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{Version: "8.4"})
	requireSchema(t, lab)
	if lab.Version() != "8.4" {
		t.Errorf("Version() = %q", lab.Version())
	}
	c := newCaller(t, lab).WithToken()

	if v := dataMap(t, c.Get("/version")); v["version"] != "8.4.1" || v["release"] != "8.4" || v["repoid"] != "2a5fa54a8503f96d" {
		t.Errorf("version = %v", v)
	}
	if v := dataMap(t, c.Get("/nodes/pve2/version")); v["version"] != "8.4.1" {
		t.Errorf("node version = %v", v)
	}
	if n := pvetest.DataList(t, c.Get("/nodes")); len(n) != 3 || n[0]["node"] != "pve1" {
		t.Errorf("nodes = %v", n)
	}
	st := dataMap(t, c.Get("/nodes/pve1/status"))
	if st["pveversion"] != "pve-manager/8.4.1/2a5fa54a8503f96d" || !strings.HasPrefix(st["kversion"].(string), "Linux 6.8.12-10-pve #1 SMP") ||
		st["current-kernel"].(map[string]any)["release"] != "6.8.12-10-pve" {
		t.Errorf("status = %v", st)
	}

	createSimpleVM(t, c, "pve1", 100, nil)
	cfg := vmConfig(t, c, "pve1", 100, false)
	if !strings.HasPrefix(cfg["meta"].(string), "creation-qemu=9.2.0,ctime=") || cfg["scsi0"] != "local-lvm:vm-100-disk-0,iothread=1,size=8G" {
		t.Errorf("config = %v", cfg)
	}
	runTask(t, c, http.MethodPost, "/nodes/pve1/qemu/100/status/start", nil)
	if st := dataMap(t, c.Get("/nodes/pve1/qemu/100/status/current")); st["running-qemu"] != "9.2.0" {
		t.Errorf("VM status = %v", st)
	}

	// the 8.4 schema: what 9.1 added is unknown
	pvetest.Expect(t, c.Get("/nodes/pve1/lxc/100/migrate"), http.StatusNotImplemented, "Method 'GET /nodes/pve1/lxc/100/migrate' not implemented")
	pvetest.ExpectParamError(t, c.Form(http.MethodPut, "/cluster/options", url.Values{"replication": {"secure"}}), "replication",
		"property is not defined in schema and the schema does not allow additional properties")
	pvetest.ExpectParamError(t, c.Form(http.MethodPut, "/cluster/options", url.Values{"crs": {"ha=dynamic"}}), "crs",
		"invalid format - format error\ncrs.ha: value 'dynamic' does not have a value in the enumeration 'basic, static'\n")
	pvetest.Expect(t, c.Form(http.MethodPut, "/cluster/options", url.Values{"crs": {"ha=static"}, "keyboard": {"en-us"}}), http.StatusOK, "OK")
	if o := dataMap(t, c.Get("/cluster/options")); o["keyboard"] != "en-us" || o["crs"].(map[string]any)["ha"] != "static" {
		t.Errorf("options = %v", o)
	}
}

func TestGoProxmoxPVE8(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{Version: "8.4", Nodes: 1})
	client := goProxmoxClients(t, lab)["credentials"]
	ctx := context.Background()
	v, err := client.Version(ctx)
	if err != nil || v.Version != "8.4.1" || v.Release != "8.4" {
		t.Fatalf("Version = %+v, %v", v, err)
	}
	node, err := client.Node(ctx, "pve1")
	if err != nil || !strings.HasPrefix(node.PVEVersion, "pve-manager/8.4.1/") {
		t.Errorf("Node = %+v, %v", node, err)
	}
}
