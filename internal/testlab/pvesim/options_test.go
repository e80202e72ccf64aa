package pvesim

import (
	"context"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/pvesim/pvetest"
	proxmox "github.com/luthermonson/go-proxmox"
)

func TestClusterOptionsOfAFreshCluster(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()
	got := dataMap(t, c.Get("/cluster/options"))
	want := map[string]any{"description": "", "mac_prefix": "BC:24:11", "allowed-tags": []any{}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("options = %v, want %v", got, want)
	}
	if v := dataMap(t, c.Get("/version")); v["console"] != nil {
		t.Errorf("version = %v", v)
	}
}

func TestClusterOptionsSetAndGet(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	requireSchema(t, lab)
	c := newCaller(t, lab).WithToken()
	createSimpleVM(t, c, "pve1", 100, url.Values{"tags": {"web"}})

	pvetest.Expect(t, c.Form(http.MethodPut, "/cluster/options", url.Values{
		"keyboard":        {"de"},
		"language":        {"en"},
		"console":         {"xtermjs"},
		"migration":       {"secure,network=10.0.0.0/24"},
		"ha":              {"shutdown_policy=migrate"},
		"next-id":         {"lower=200,upper=300"},
		"max_workers":     {"4"},
		"email_from":      {"pve@example.com"},
		"bwlimit":         {"default=1000,migration=500"},
		"mac_prefix":      {"02:A0"},
		"tag-style":       {"shape=dense,ordering=config"},
		"registered-tags": {"prod;admin"},
		"user-tag-access": {"user-allow=list,user-allow-list=team-b;team-a"},
		"webauthn":        {"rp=lab,origin=https://pve.example.com,allow-subdomains=0"},
		"crs":             {"ha=static,ha-rebalance-on-start=1"},
		"fencing":         {"watchdog"},
		"description":     {"Lab cluster\nsee: https://wiki.example.com/pve 100%"},
	}), http.StatusOK, "OK")

	got := dataMap(t, c.Get("/cluster/options"))
	want := map[string]any{
		"keyboard":        "de",
		"language":        "en",
		"console":         "xtermjs",
		"migration":       map[string]any{"type": "secure", "network": "10.0.0.0/24"},
		"ha":              map[string]any{"shutdown_policy": "migrate"},
		"next-id":         map[string]any{"lower": "200", "upper": "300"},
		"max_workers":     "4", // parse_config leaves integers as the file has them
		"email_from":      "pve@example.com",
		"bwlimit":         "default=1000,migration=500", // not parsed by parse_datacenter_config
		"mac_prefix":      "02:A0",
		"tag-style":       map[string]any{"shape": "dense", "ordering": "config"},
		"registered-tags": []any{"prod", "admin"}, // as written; a later write sorts them
		"user-tag-access": map[string]any{"user-allow": "list", "user-allow-list": []any{"team-b", "team-a"}},
		"webauthn":        map[string]any{"rp": "lab", "origin": "https://pve.example.com", "allow-subdomains": float64(0)},
		"crs":             map[string]any{"ha": "static", "ha-rebalance-on-start": float64(1)},
		"fencing":         "watchdog",
		"description":     "Lab cluster\nsee: https://wiki.example.com/pve 100%\n",
		"allowed-tags":    []any{"admin", "prod", "team-a", "team-b", "web"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("options =\n%v\nwant\n%v", got, want)
	}
	if v := dataMap(t, c.Get("/version")); v["console"] != "xtermjs" || v["version"] != "9.1.3" {
		t.Errorf("version = %v", v)
	}

	// another write prints the parsed values back; delete removes keys, a
	// deleted mac_prefix is the default again
	pvetest.Expect(t, c.Form(http.MethodPut, "/cluster/options", url.Values{"delete": {"keyboard,migration,mac_prefix,description"}}), http.StatusOK, "OK")
	got = dataMap(t, c.Get("/cluster/options"))
	for _, k := range []string{"keyboard", "migration"} {
		if _, ok := got[k]; ok {
			t.Errorf("%s not deleted: %v", k, got)
		}
	}
	if got["mac_prefix"] != "BC:24:11" || got["description"] != "" || !reflect.DeepEqual(got["registered-tags"], []any{"admin", "prod"}) ||
		!reflect.DeepEqual(got["user-tag-access"], map[string]any{"user-allow": "list", "user-allow-list": []any{"team-a", "team-b"}}) {
		t.Errorf("options = %v", got)
	}

	// the default prefix is not written, applet is html5, the deprecated
	// migration_unsecure becomes the migration type
	pvetest.Expect(t, c.Form(http.MethodPut, "/cluster/options", url.Values{"mac_prefix": {"bc:24:11"}, "console": {"applet"}, "migration_unsecure": {"1"}}), http.StatusOK, "OK")
	got = dataMap(t, c.Get("/cluster/options"))
	if _, ok := got["migration_unsecure"]; ok || got["mac_prefix"] != "BC:24:11" || got["console"] != "html5" ||
		!reflect.DeepEqual(got["migration"], map[string]any{"type": "insecure"}) {
		t.Errorf("options = %v", got)
	}
	lab.mu.Lock()
	text := lab.dcConfig
	lab.mu.Unlock()
	if strings.Contains(text, "mac_prefix") || !strings.Contains(text, "console: html5\n") || !strings.Contains(text, "migration: insecure\n") {
		t.Errorf("datacenter.cfg = %q", text)
	}
}

func TestClusterOptionsRejected(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	requireSchema(t, lab)
	c := newCaller(t, lab).WithToken()
	put := func(k, v string) pvetest.Result {
		return c.Form(http.MethodPut, "/cluster/options", url.Values{k: {v}})
	}

	pvetest.ExpectParamError(t, put("keyboard", "xx"), "keyboard", "value 'xx' does not have a value in the enumeration 'de, de-ch, da, en-gb, en-us, es, fi, fr, fr-be, fr-ca, fr-ch, hu, is, it, ja, lt, mk, nl, no, pl, pt, pt-br, sv, sl, tr'")
	pvetest.ExpectParamError(t, put("max_workers", "0"), "max_workers", "value must have a minimum value of 1")
	pvetest.ExpectParamError(t, put("migration", "type=fast"), "migration", "invalid format - format error\nmigration.type: value 'fast' does not have a value in the enumeration 'secure, insecure'\n")
	pvetest.ExpectParamError(t, put("migration", "secure,network=10.0.0.1"), "migration", "invalid format - format error\nmigration.network: invalid format - value does not look like a valid CIDR network\n\n")
	pvetest.ExpectParamError(t, put("next-id", "first=100"), "next-id", "invalid format - invalid key in comma-separated list property: first\n")
	pvetest.ExpectParamError(t, put("mac_prefix", "BD:24"), "mac_prefix", "invalid format - value is not a valid unicast MAC address prefix\n")
	pvetest.ExpectParamError(t, put("email_from", "not an address"), "email_from", "invalid format - value does not look like a valid email address\n")
	pvetest.ExpectParamError(t, put("http_proxy", "https://proxy"), "http_proxy", "value does not match the regex pattern")
	pvetest.ExpectParamError(t, put("ha", "shutdown_policy=reboot"), "ha", "invalid format - format error\nha.shutdown_policy: value 'reboot' does not have a value in the enumeration 'freeze, failover, conditional, migrate'\n")
	pvetest.ExpectParamError(t, put("delete", "keyboard 1st"), "delete", "invalid format - invalid configuration ID '1st'\n")
	pvetest.ExpectParamError(t, put("datacenter", "1"), "datacenter", "property is not defined in schema and the schema does not allow additional properties")

	// write_datacenter_config checks next-id's boundaries, the defaults included
	expectError(t, put("next-id", "lower=500,upper=200"), "lower (500) <= upper (200) boundary rule broken")
	expectError(t, put("next-id", "lower=2000000"), "lower (2000000) <= upper (1000000) boundary rule broken")
	if got := dataMap(t, c.Get("/cluster/options")); got["next-id"] != nil {
		t.Errorf("next-id written: %v", got)
	}
	// an empty range is allowed, nextid then finds nothing
	pvetest.Expect(t, put("next-id", "lower=300,upper=300"), http.StatusOK, "OK")
	expectError(t, c.Get("/cluster/nextid"), "unable to get any free VMID in range [300, 300]")
}

func TestClusterNextIDRange(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()
	pvetest.Expect(t, c.Form(http.MethodPut, "/cluster/options", url.Values{"next-id": {"lower=9000,upper=9003"}}), http.StatusOK, "OK")
	if id := c.Get("/cluster/nextid").Body["data"]; id != "9000" {
		t.Errorf("nextid = %v", id)
	}
	lab.mu.Lock()
	lab.guests[9000] = guestRef{node: "pve1", kind: "qemu"}
	lab.guests[9002] = guestRef{node: "pve2", kind: "lxc"}
	lab.mu.Unlock()
	if id := c.Get("/cluster/nextid").Body["data"]; id != "9001" {
		t.Errorf("nextid = %v", id)
	}
	lab.mu.Lock()
	lab.guests[9001] = guestRef{node: "pve1", kind: "qemu"}
	lab.mu.Unlock()
	expectError(t, c.Get("/cluster/nextid"), "unable to get any free VMID in range [9000, 9003]")
	// asking for a given VMID does not look at the range
	if id := c.Form(http.MethodGet, "/cluster/nextid", url.Values{"vmid": {"150"}}).Body["data"]; id != "150" {
		t.Errorf("nextid(150) = %v", id)
	}
	// only lower: upper stays 1000000
	pvetest.Expect(t, c.Form(http.MethodPut, "/cluster/options", url.Values{"next-id": {"lower=9001"}}), http.StatusOK, "OK")
	if id := c.Get("/cluster/nextid").Body["data"]; id != "9003" {
		t.Errorf("nextid = %v", id)
	}
	pvetest.Expect(t, c.Form(http.MethodPut, "/cluster/options", url.Values{"delete": {"next-id"}}), http.StatusOK, "OK")
	if id := c.Get("/cluster/nextid").Body["data"]; id != "100" {
		t.Errorf("nextid = %v", id)
	}
}

func TestClusterOptionsJSONBody(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()
	pvetest.Expect(t, c.JSON(http.MethodPut, "/cluster/options", map[string]any{"max_workers": 8, "migration_unsecure": false, "language": "de"}), http.StatusOK, "OK")
	got := dataMap(t, c.Get("/cluster/options"))
	// write_datacenter_config maps migration_unsecure to migration when that is unset
	if _, ok := got["migration_unsecure"]; ok || got["max_workers"] != "8" || got["language"] != "de" ||
		!reflect.DeepEqual(got["migration"], map[string]any{"type": "secure"}) {
		t.Errorf("options = %v", got)
	}
}

// go-proxmox v0.8.0 reads and writes the datacenter options. Its typed
// response has migration as a string, which PVE (and the lab) return as
// an object once it is set; the long tail lands in Extra.
func TestGoProxmoxClusterOptions(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	client := goProxmoxClients(t, lab)["token"]
	ctx := context.Background()
	cluster, err := client.Cluster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	err = cluster.UpdateClusterOptions(ctx, &proxmox.ClusterOptionsUpdate{
		Keyboard:    "fr",
		Console:     "html5",
		Description: "managed by terraform",
		EmailFrom:   "pve@example.com",
		Extra:       map[string]any{"next-id": "lower=500,upper=600", "tag-style": "shape=circle"},
	})
	if err != nil {
		t.Fatalf("UpdateClusterOptions: %v", err)
	}
	opts, err := cluster.ClusterOptions(ctx)
	if err != nil {
		t.Fatalf("ClusterOptions: %v", err)
	}
	if opts.Keyboard != "fr" || opts.Console != "html5" || opts.Description != "managed by terraform\n" || opts.EmailFrom != "pve@example.com" ||
		opts.MACPrefix != "BC:24:11" || !reflect.DeepEqual(opts.Extra["next-id"], map[string]any{"lower": "500", "upper": "600"}) ||
		!reflect.DeepEqual(opts.Extra["tag-style"], map[string]any{"shape": "circle"}) {
		t.Errorf("options = %+v", opts)
	}
	if id, err := cluster.NextID(ctx); err != nil || id != 500 {
		t.Errorf("NextID = %d, %v", id, err)
	}
	if err := cluster.UpdateClusterOptions(ctx, &proxmox.ClusterOptionsUpdate{Delete: "keyboard,next-id"}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if opts, err := cluster.ClusterOptions(ctx); err != nil || opts.Keyboard != "" || opts.Extra["next-id"] != nil {
		t.Errorf("options = %+v, %v", opts, err)
	}
	if err := cluster.UpdateClusterOptions(ctx, &proxmox.ClusterOptionsUpdate{Migration: "insecure"}); err != nil {
		t.Fatalf("migration: %v", err)
	}
	if _, err := cluster.ClusterOptions(ctx); err == nil || !strings.Contains(err.Error(), "cannot unmarshal object") {
		t.Errorf("ClusterOptions with migration set = %v; go-proxmox v0.8.0 types migration as a string", err)
	}
}
