package pvesim

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/cephlab"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/pvesim/pvetest"
)

// The Ceph pool API of the simulated nodes on the lab's real Ceph cluster.

// cephPoolEntry returns the pool of GET /nodes/{node}/ceph/pool named name
// (nil if there is none).
func cephPoolEntry(t *testing.T, c *pvetest.Caller, node, name string) map[string]any {
	t.Helper()
	for _, p := range pvetest.DataList(t, c.Get("/nodes/"+node+"/ceph/pool")) {
		if p["pool_name"] == name {
			return p
		}
	}
	return nil
}

// cephCLIPools lists the pools with the ceph CLI.
func cephCLIPools(t *testing.T, c *cephlab.Cluster) []string {
	t.Helper()
	var pools []string
	if err := c.CommandJSON(&pools, "osd", "pool", "ls"); err != nil {
		t.Fatal(err)
	}
	return pools
}

// expectLogLine checks that a task log has a line.
func expectLogLine(t *testing.T, lines []string, want string) {
	t.Helper()
	if !slices.Contains(lines, want) {
		t.Errorf("task log %q has no line %q", lines, want)
	}
}

func TestCephPoolAPIWithoutCeph(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()
	const noCeph = "binary not installed: /usr/bin/ceph-mon"
	expectError(t, c.Get("/nodes/pve1/ceph/pool"), noCeph)
	expectError(t, c.Get("/nodes/pve2/ceph/rules"), noCeph)
	expectError(t, c.Get("/nodes/pve1/ceph/pool/rbd/status"), noCeph)
	expectError(t, c.Form(http.MethodPost, "/nodes/pve1/ceph/pool", url.Values{"name": {"rbd"}}), noCeph)
	expectError(t, c.Form(http.MethodPut, "/nodes/pve1/ceph/pool/rbd", url.Values{"size": {"2"}}), noCeph)
	expectError(t, c.Form(http.MethodDelete, "/nodes/pve1/ceph/pool/rbd", nil), noCeph)
	// the pool's index needs no Ceph
	if l := pvetest.DataList(t, c.Get("/nodes/pve1/ceph/pool/rbd")); len(l) != 1 || l[0]["name"] != "status" {
		t.Errorf("pool index = %v", l)
	}

	// a cluster that has been closed cannot be reached
	closed := &cephlab.Cluster{}
	lab.AttachCeph(closed)
	const noMon = "rados_connect failed - Connection timed out"
	expectError(t, c.Get("/nodes/pve1/ceph/pool"), noMon)
	expectError(t, c.Get("/nodes/pve1/ceph/rules"), noMon)
	expectError(t, c.Form(http.MethodPost, "/nodes/pve1/ceph/pool", url.Values{"name": {"rbd"}}), noMon)
	failTask(t, c, http.MethodDelete, "/nodes/pve1/ceph/pool/rbd", nil, noMon)
	lines := failTask(t, c, http.MethodPut, "/nodes/pve1/ceph/pool/rbd", url.Values{"size": {"2"}}, "Could not set: size")
	expectLogLine(t, lines, noMon)
}

// TestCephPoolAPI creates, reads, changes and deletes a pool through PVE's
// API, and checks each step on the cluster with the ceph CLI.
func TestCephPoolAPI(t *testing.T) {
	cl := labCeph(t)
	lab := startLab(t, Options{Ceph: cl})
	if lab.Ceph() != cl {
		t.Fatal("Options.Ceph is not attached")
	}
	c := newCaller(t, lab).WithToken()
	const pool = "pve-pool"

	lines := runTask(t, c, http.MethodPost, "/nodes/pve1/ceph/pool", url.Values{
		"name": {pool}, "size": {"2"}, "min_size": {"1"}, "pg_num": {"8"},
		"pg_autoscale_mode": {"off"}, "target_size_ratio": {"0.25"}, "target_size": {"1G"},
	})
	// size first, then the others by name, defaults included
	want := []string{
		"pool pve-pool: applying size = 2",
		"pool pve-pool: applying application = rbd",
		"pool pve-pool: applying min_size = 1",
		"pool pve-pool: applying pg_autoscale_mode = off",
		"pool pve-pool: applying pg_num = 8",
		"pool pve-pool: applying target_size_bytes = 1073741824",
		"pool pve-pool: applying target_size_ratio = 0.25",
	}
	if len(lines) < len(want) || !slices.Equal(lines[:len(want)], want) {
		t.Errorf("create log = %q, want %q", lines, want)
	}
	if !slices.Contains(cephCLIPools(t, cl), pool) {
		t.Fatalf("ceph osd pool ls has no %s", pool)
	}
	var size struct {
		Size    int `json:"size"`
		MinSize int `json:"min_size"`
	}
	if err := cl.CommandJSON(&size, "osd", "pool", "get", pool, "size"); err != nil || size.Size != 2 {
		t.Errorf("ceph osd pool get size = %d (%v), want 2", size.Size, err)
	}

	e := cephPoolEntry(t, c, "pve2", pool)
	if e == nil {
		t.Fatalf("GET /nodes/pve2/ceph/pool has no %s", pool)
	}
	for k, v := range map[string]any{"size": 2.0, "min_size": 1.0, "pg_num": 8.0, "crush_rule": 0.0, "crush_rule_name": "replicated_rule",
		"pg_autoscale_mode": "off", "type": "replicated", "target_size": 1073741824.0, "target_size_ratio": 0.25} {
		if e[k] != v {
			t.Errorf("list: %s = %v (%T), want %v; entry %v", k, e[k], e[k], v, e)
		}
	}
	if apps, _ := e["application_metadata"].(map[string]any); apps == nil || apps["rbd"] == nil {
		t.Errorf("list: application_metadata = %v, want rbd", e["application_metadata"])
	}

	st := dataMap(t, c.Form(http.MethodGet, "/nodes/pve1/ceph/pool/"+pool+"/status", url.Values{"verbose": {"1"}}))
	for k, v := range map[string]any{"name": pool, "size": 2.0, "min_size": 1.0, "pg_num": 8.0, "pgp_num": 8.0, "crush_rule": "replicated_rule",
		"pg_autoscale_mode": "off", "hashpspool": "1", "noscrub": "0", "nodelete": "0", "fast_read": "0", "target_size": 1073741824.0, "target_size_ratio": 0.25} {
		if st[k] != v {
			t.Errorf("status: %s = %v (%T), want %v", k, st[k], st[k], v)
		}
	}
	if apps, _ := st["application_list"].([]any); len(apps) != 1 || apps[0] != "rbd" {
		t.Errorf("status: application_list = %v, want [rbd]", st["application_list"])
	}
	if id, ok := st["id"].(float64); !ok || id != e["pool"] {
		t.Errorf("status: id = %v, list says %v", st["id"], e["pool"])
	}

	// change the size: size resets min_size, so PVE sets it first
	lines = runTask(t, c, http.MethodPut, "/nodes/pve1/ceph/pool/"+pool, url.Values{"size": {"3"}, "min_size": {"2"}})
	if !slices.Equal(lines, []string{"pool pve-pool: applying size = 3", "pool pve-pool: applying min_size = 2", "TASK OK"}) {
		t.Errorf("set log = %q", lines)
	}
	if err := cl.CommandJSON(&size, "osd", "pool", "get", pool, "size"); err != nil || size.Size != 3 {
		t.Errorf("ceph osd pool get size = %d (%v), want 3", size.Size, err)
	}
	if e := cephPoolEntry(t, c, "pve1", pool); e["size"] != 3.0 || e["min_size"] != 2.0 {
		t.Errorf("list after PUT: size %v min_size %v", e["size"], e["min_size"])
	}

	// a setting Ceph refuses: the others are still applied
	lines = failTask(t, c, http.MethodPut, "/nodes/pve1/ceph/pool/"+pool, url.Values{"crush_rule": {"nope"}, "pg_autoscale_mode": {"warn"}}, "Could not set: crush_rule")
	expectLogLine(t, lines, "mon_command failed - crush rule nope does not exist")
	if st := dataMap(t, c.Get("/nodes/pve1/ceph/pool/"+pool+"/status")); st["pg_autoscale_mode"] != "warn" || st["crush_rule"] != "replicated_rule" {
		t.Errorf("status after a partly failed PUT: %v %v", st["pg_autoscale_mode"], st["crush_rule"])
	}

	// a CRUSH rule by device class, as a PVE user makes one
	if _, err := cl.Command("osd", "crush", "rule", "create-replicated", "ssd-only", "default", "host", "ssd"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = cl.Command("osd", "crush", "rule", "rm", "ssd-only") })
	var names []string
	for _, r := range pvetest.DataList(t, c.Get("/nodes/pve1/ceph/rules")) {
		names = append(names, r["name"].(string))
	}
	if !slices.Equal(names, []string{"replicated_rule", "ssd-only"}) {
		t.Errorf("rules = %q", names)
	}
	runTask(t, c, http.MethodPut, "/nodes/pve1/ceph/pool/"+pool, url.Values{"crush_rule": {"ssd-only"}, "size": {"2"}})
	if e := cephPoolEntry(t, c, "pve1", pool); e["crush_rule_name"] != "ssd-only" || e["size"] != 2.0 {
		t.Errorf("list after crush_rule: %v %v", e["crush_rule_name"], e["size"])
	}

	// the monitors refuse to delete pools until mon_allow_pool_delete is set
	if err := cl.SetAllowPoolDelete(false); err != nil {
		t.Fatal(err)
	}
	failTask(t, c, http.MethodDelete, "/nodes/pve1/ceph/pool/"+pool, nil,
		"mon_command failed - pool deletion is disabled; you must first set the mon_allow_pool_delete config option to true before you can destroy a pool")
	if !slices.Contains(cephCLIPools(t, cl), pool) {
		t.Fatal("the pool is gone after a refused delete")
	}
	if err := cl.SetAllowPoolDelete(true); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cl.SetAllowPoolDelete(false) })
	runTask(t, c, http.MethodDelete, "/nodes/pve1/ceph/pool/"+pool, url.Values{"remove_storages": {"1"}})
	if slices.Contains(cephCLIPools(t, cl), pool) {
		t.Fatal("ceph osd pool ls still has the pool")
	}
	if e := cephPoolEntry(t, c, "pve1", pool); e != nil {
		t.Fatalf("list still has the pool: %v", e)
	}
	expectError(t, c.Get("/nodes/pve1/ceph/pool/"+pool+"/status"), "mon_command failed - unrecognized pool 'pve-pool'")
	failTask(t, c, http.MethodDelete, "/nodes/pve1/ceph/pool/"+pool, nil, "mon_command failed - unrecognized pool 'pve-pool'")
}

// TestCephPoolAPIErasureCoded creates an erasure coded pool through PVE's
// API: a profile, a data pool and a metadata pool; deleting each pool
// removes what PVE removes with it.
func TestCephPoolAPIErasureCoded(t *testing.T) {
	cl := labCeph(t)
	lab := startLab(t, Options{Ceph: cl})
	c := newCaller(t, lab).WithToken()
	if err := cl.SetAllowPoolDelete(true); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cl.SetAllowPoolDelete(false) })

	lines := runTask(t, c, http.MethodPost, "/nodes/pve1/ceph/pool", url.Values{
		"name": {"ec"}, "erasure-coding": {"k=2,m=1,device-class=ssd,failure-domain=osd"}, "add_storages": {"0"}, "pg_num": {"8"},
	})
	expectLogLine(t, lines, "created new erasure code profile 'pve_ec_ec'")
	expectLogLine(t, lines, "pool ec-data: applying allow_ec_overwrites = true")
	pools := cephCLIPools(t, cl)
	if !slices.Contains(pools, "ec-data") || !slices.Contains(pools, "ec-metadata") {
		t.Fatalf("pools = %v, want ec-data and ec-metadata", pools)
	}
	var profile map[string]string
	if err := cl.CommandJSON(&profile, "osd", "erasure-code-profile", "get", "pve_ec_ec"); err != nil {
		t.Fatal(err)
	}
	if profile["k"] != "2" || profile["m"] != "1" || profile["crush-device-class"] != "ssd" || profile["crush-failure-domain"] != "osd" {
		t.Errorf("profile = %v", profile)
	}
	data, meta := cephPoolEntry(t, c, "pve1", "ec-data"), cephPoolEntry(t, c, "pve1", "ec-metadata")
	if data["type"] != "erasure" || meta["type"] != "replicated" || meta["pg_num"] != 32.0 || data["pg_num"] != 8.0 {
		t.Errorf("data pool %v, metadata pool %v", data, meta)
	}

	// an EC profile that does not exist is refused before the worker
	expectError(t, c.Form(http.MethodPost, "/nodes/pve1/ceph/pool", url.Values{"name": {"ec2"}, "erasure-coding": {"k=2,m=1,profile=nope"}}),
		"Erasure code profile 'nope' does not exist.")

	runTask(t, c, http.MethodDelete, "/nodes/pve1/ceph/pool/ec-metadata", nil)
	lines = runTask(t, c, http.MethodDelete, "/nodes/pve1/ceph/pool/ec-data", nil)
	for _, want := range []string{"found erasure coded profile 'pve_ec_ec', destroying its CRUSH rule", "destroying erasure coded profile 'pve_ec_ec'"} {
		expectLogLine(t, lines, want)
	}
	var profiles []string
	if err := cl.CommandJSON(&profiles, "osd", "erasure-code-profile", "ls"); err != nil || slices.Contains(profiles, "pve_ec_ec") {
		t.Errorf("profiles after delete = %v (%v)", profiles, err)
	}
	var rules []string
	if err := cl.CommandJSON(&rules, "osd", "crush", "rule", "ls"); err != nil || slices.Contains(rules, "ec-data") {
		t.Errorf("rules after delete = %v (%v)", rules, err)
	}
}

// TestCephPoolAPIChecks covers what PVE refuses before a worker runs and
// the faults of the lab.
func TestCephPoolAPIChecks(t *testing.T) {
	cl := labCeph(t)
	lab := startLab(t, Options{Ceph: cl})
	requireSchema(t, lab)
	c := newCaller(t, lab).WithToken()

	pvetest.ExpectParamError(t, c.Form(http.MethodPost, "/nodes/pve1/ceph/pool", url.Values{"name": {"a/b"}}),
		"name", "value does not match the regex pattern")
	pvetest.ExpectParamError(t, c.Form(http.MethodPost, "/nodes/pve1/ceph/pool", url.Values{"name": {"p"}, "size": {"8"}}),
		"size", "value must have a maximum value of 7")
	// add_storages needs a name that is a storage ID
	expectError(t, c.Form(http.MethodPost, "/nodes/pve1/ceph/pool", url.Values{"name": {"a_"}, "add_storages": {"1"}}),
		"storage ID 'a_' contains illegal characters")

	// a failed worker does nothing
	lab.Faults().FailNextTasks(1, "injected failure")
	failTask(t, c, http.MethodPost, "/nodes/pve1/ceph/pool", url.Values{"name": {"never"}, "pg_num": {"8"}}, "injected failure")
	if slices.Contains(cephCLIPools(t, cl), "never") {
		t.Error("a failed task created the pool")
	}

	// without a cluster, the node has no Ceph
	lab.AttachCeph(nil)
	expectError(t, c.Get("/nodes/pve1/ceph/rules"), "binary not installed: /usr/bin/ceph-mon")
	lab.AttachCeph(cl)
	if l := pvetest.DataList(t, c.Get("/nodes/pve3/ceph/rules")); len(l) == 0 || !strings.Contains(l[0]["name"].(string), "rule") {
		t.Errorf("rules = %v", l)
	}
}

// TestCephPoolStatusLastPool: on the modelled releases (9.1.3, 8.4.1)
// getpool's statistics are those of the last pool in "ceph df", whatever
// pool was asked for (version.go, poolStatusLastPool; pve-manager b0f4269e
// fixed it in 9.1.12); the pool list maps "ceph df" by pool ID and is right.
func TestCephPoolStatusLastPool(t *testing.T) {
	cl := labCeph(t)
	lab := startLab(t, Options{Ceph: cl})
	c := newCaller(t, lab).WithToken()
	for _, name := range []string{"stat-older", "stat-newer"} {
		runTask(t, c, http.MethodPost, "/nodes/pve1/ceph/pool", url.Values{"name": {name}, "size": {"2"}, "min_size": {"1"}, "pg_num": {"8"}, "pg_autoscale_mode": {"off"}})
		t.Cleanup(func() { c.Form(http.MethodDelete, "/nodes/pve1/ceph/pool/"+name, url.Values{"force": {"1"}}) })
	}
	if err := cl.PutObject("stat-older", "hello", []byte("hello, pool\n")); err != nil {
		t.Fatal(err)
	}
	objects := func(name string) any {
		st := dataMap(t, c.Form(http.MethodGet, "/nodes/pve1/ceph/pool/"+name+"/status", url.Values{"verbose": {"1"}}))
		stats, _ := st["statistics"].(map[string]any)
		if stats == nil {
			t.Fatalf("status of %s has no statistics: %v", name, st)
		}
		return stats["objects"]
	}
	// the newer pool is the last in "ceph df": both answer its statistics
	if got := objects("stat-older"); got != 0.0 {
		t.Errorf("statistics.objects of stat-older = %v, want 0 (stat-newer's, as PVE 9.1.3 answers)", got)
	}
	if got := objects("stat-newer"); got != 0.0 {
		t.Errorf("statistics.objects of stat-newer = %v, want 0", got)
	}
	if e := cephPoolEntry(t, c, "pve1", "stat-older"); e == nil || !(e["bytes_used"].(float64) > 0) {
		t.Errorf("list: stat-older = %v, want bytes_used > 0", e)
	}
	if e := cephPoolEntry(t, c, "pve1", "stat-newer"); e == nil || e["bytes_used"] != 0.0 {
		t.Errorf("list: stat-newer = %v, want bytes_used 0", e)
	}
}
