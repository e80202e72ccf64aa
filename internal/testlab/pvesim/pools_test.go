package pvesim

import (
	"context"
	"math"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/pvesim/pvetest"
	proxmox "github.com/luthermonson/go-proxmox"
)

// poolOf returns GET /pools?poolid=id (optionally of one member type).
func poolOf(t *testing.T, c *pvetest.Caller, id, typ string) map[string]any {
	t.Helper()
	q := url.Values{"poolid": {id}}
	if typ != "" {
		q.Set("type", typ)
	}
	l := pvetest.DataList(t, c.Form(http.MethodGet, "/pools", q))
	if len(l) != 1 || l[0]["poolid"] != id {
		t.Fatalf("pool %s = %v", id, l)
	}
	return l[0]
}

// memberIDs returns the "id" of each member of a pool.
func memberIDs(pool map[string]any) []string {
	ids := []string{}
	for _, m := range pool["members"].([]any) {
		ids = append(ids, m.(map[string]any)["id"].(string))
	}
	return ids
}

func expectMembers(t *testing.T, c *pvetest.Caller, pool string, want ...string) {
	t.Helper()
	if got := memberIDs(poolOf(t, c, pool, "")); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("members of %s = %q, want %q", pool, got, want)
	}
}

// expectNull checks a 200 answer with data null.
func expectNull(t *testing.T, res pvetest.Result) {
	t.Helper()
	pvetest.Expect(t, res, http.StatusOK, "OK")
	if res.Body["data"] != nil {
		t.Fatalf("data = %v, want null", res.Body["data"])
	}
}

func TestPoolsCreateListUpdateDelete(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()
	if l := pvetest.DataList(t, c.Get("/pools")); len(l) != 0 {
		t.Fatalf("pools = %v", l)
	}

	expectNull(t, c.Form(http.MethodPost, "/pools", url.Values{"poolid": {"dev"}, "comment": {" Dev pool "}}))
	expectError(t, c.Form(http.MethodPost, "/pools", url.Values{"poolid": {"dev"}}), "create pool failed: pool 'dev' already exists")
	expectNull(t, c.Form(http.MethodPost, "/pools", url.Values{"poolid": {"prod"}}))
	expectNull(t, c.Form(http.MethodPost, "/pools", url.Values{"poolid": {"Zero"}, "comment": {"0"}}))
	// sorted like Perl sorts strings; user.cfg keeps no "0" comment and no outer spaces
	l := pvetest.DataList(t, c.Get("/pools"))
	if len(l) != 3 || l[0]["poolid"] != "Zero" || l[0]["comment"] != nil || l[1]["poolid"] != "dev" || l[1]["comment"] != "Dev pool" ||
		l[2]["poolid"] != "prod" || l[2]["comment"] != nil || l[1]["members"] != nil {
		t.Fatalf("pools = %v", l)
	}
	if p := poolOf(t, c, "dev", ""); p["comment"] != "Dev pool" || len(p["members"].([]any)) != 0 {
		t.Errorf("dev = %v", p)
	}
	expectError(t, c.Form(http.MethodGet, "/pools", url.Values{"poolid": {"nope"}}), "pool 'nope' does not exist")

	// comment: set, and cleared by an empty one
	expectNull(t, c.Form(http.MethodPut, "/pools", url.Values{"poolid": {"prod"}, "comment": {"Production"}}))
	if p := poolOf(t, c, "prod", ""); p["comment"] != "Production" {
		t.Errorf("prod = %v", p)
	}
	expectNull(t, c.Form(http.MethodPut, "/pools", url.Values{"poolid": {"prod"}, "comment": {""}}))
	if p := poolOf(t, c, "prod", ""); p["comment"] != nil {
		t.Errorf("prod = %v", p)
	}
	expectError(t, c.Form(http.MethodPut, "/pools", url.Values{"poolid": {"nope"}, "comment": {"x"}}), "update pools failed: pool 'nope' does not exist")

	// storages
	expectNull(t, c.Form(http.MethodPut, "/pools", url.Values{"poolid": {"dev"}, "storage": {"local-lvm,local"}}))
	p := poolOf(t, c, "dev", "")
	ms := p["members"].([]any)
	if len(ms) != 2 {
		t.Fatalf("dev = %v", p)
	}
	st := ms[0].(map[string]any)
	if st["id"] != "storage/pve1/local" || st["type"] != "storage" || st["storage"] != "local" || st["node"] != "pve1" ||
		st["plugintype"] != "dir" || st["status"] != "available" || st["shared"] != float64(0) ||
		st["content"] != "backup,import,iso,snippets,vztmpl" || st["maxdisk"] == nil || st["disk"] == nil {
		t.Errorf("storage member = %v", st)
	}
	if ms[1].(map[string]any)["id"] != "storage/pve1/local-lvm" {
		t.Errorf("members = %v", ms)
	}
	if m := memberIDs(poolOf(t, c, "dev", "qemu")); len(m) != 0 {
		t.Errorf("qemu members = %v", m)
	}
	expectError(t, c.Form(http.MethodPut, "/pools", url.Values{"poolid": {"dev"}, "storage": {"local"}}), "update pools failed: Storage 'local' is already a pool member")
	expectError(t, c.Form(http.MethodPut, "/pools", url.Values{"poolid": {"prod"}, "storage": {"local"}, "delete": {"1"}}),
		"update pools failed: Storage 'local' is not a pool member")
	expectError(t, c.Form(http.MethodDelete, "/pools", url.Values{"poolid": {"dev"}}), "delete pool failed: pool 'dev' is not empty (contains storage 'local')")
	expectNull(t, c.Form(http.MethodPut, "/pools", url.Values{"poolid": {"dev"}, "storage": {"local,local-lvm"}, "delete": {"1"}}))
	expectMembers(t, c, "dev")
	expectNull(t, c.Form(http.MethodDelete, "/pools", url.Values{"poolid": {"dev"}}))
	expectError(t, c.Form(http.MethodDelete, "/pools", url.Values{"poolid": {"dev"}}), "delete pool failed: pool 'dev' does not exist")

	// the deprecated per-pool paths
	d := dataMap(t, c.Get("/pools/prod"))
	if _, ok := d["poolid"]; ok || len(d["members"].([]any)) != 0 || d["comment"] != nil {
		t.Errorf("GET /pools/prod = %v", d)
	}
	expectNull(t, c.Form(http.MethodPut, "/pools/prod", url.Values{"comment": {"via path"}, "storage": {"local"}}))
	if d := dataMap(t, c.Form(http.MethodGet, "/pools/prod", url.Values{"type": {"storage"}})); d["comment"] != "via path" || len(d["members"].([]any)) != 1 {
		t.Errorf("GET /pools/prod = %v", d)
	}
	expectError(t, c.Get("/pools/nope"), "pool 'nope' does not exist")
	expectError(t, c.Form(http.MethodDelete, "/pools/prod", nil), "delete pool failed: pool 'prod' is not empty (contains storage 'local')")
	expectNull(t, c.Form(http.MethodPut, "/pools/prod", url.Values{"storage": {"local"}, "delete": {"1"}}))
	expectNull(t, c.Form(http.MethodDelete, "/pools/prod", nil))

	// nested pools need their parent, and keep it
	expectError(t, c.Form(http.MethodPost, "/pools", url.Values{"poolid": {"team/web"}}), "create pool failed: parent 'team' of pool 'team/web' does not exist")
	expectNull(t, c.Form(http.MethodPost, "/pools", url.Values{"poolid": {"team"}}))
	expectNull(t, c.Form(http.MethodPost, "/pools", url.Values{"poolid": {"team/web"}}))
	expectError(t, c.Form(http.MethodDelete, "/pools", url.Values{"poolid": {"team"}}), "delete pool failed: pool 'team' is not empty (contains pool 'team/web')")
	expectNull(t, c.Form(http.MethodDelete, "/pools", url.Values{"poolid": {"team/web"}}))
	expectNull(t, c.Form(http.MethodDelete, "/pools", url.Values{"poolid": {"team"}}))

	// a pool change takes the user.cfg lock
	expectNull(t, c.Form(http.MethodPost, "/pools", url.Values{"poolid": {"locked"}}))
	lab.Faults().SetLockContention(1)
	expectError(t, c.Form(http.MethodPut, "/pools", url.Values{"poolid": {"locked"}, "comment": {"x"}}),
		"update pools failed: cfs-lock 'file-user_cfg' error: got lock request timeout")
	lab.Faults().Reset()
}

func TestPoolGuestMembers(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{StatdInterval: statdTick})
	c := newCaller(t, lab).WithToken()
	for _, id := range []string{"web", "db"} {
		expectNull(t, c.Form(http.MethodPost, "/pools", url.Values{"poolid": {id}}))
	}

	// create with a pool: the guest joins when its create task is done
	pvetest.Expect(t, c.Form(http.MethodPost, "/nodes/pve1/qemu", url.Values{"vmid": {"100"}, "pool": {"nope"}}), http.StatusForbidden,
		"Permission check failed (pool 'nope' does not exist)")
	pvetest.Expect(t, c.Form(http.MethodPost, "/nodes/pve1/lxc", url.Values{"vmid": {"200"}, "ostemplate": {debianTemplate}, "pool": {"nope"}}),
		http.StatusForbidden, "Permission check failed (pool 'nope' does not exist)")
	expectError(t, c.Get("/nodes/pve1/qemu/100/config"), "Configuration file 'nodes/pve1/qemu-server/100.conf' does not exist")
	createSimpleVM(t, c, "pve1", 100, url.Values{"pool": {"web"}, "tags": {"a"}})
	createSimpleCT(t, c, "pve2", 200, url.Values{"pool": {"db"}})
	if _, ok := vmConfig(t, c, "pve1", 100, false)["pool"]; ok {
		t.Error("pool is not a config key")
	}
	afterStatd(lab) // a member's status and name are pvestatd's (read_pool uses extract_vm_stats)
	p := poolOf(t, c, "web", "")
	if ms := p["members"].([]any); len(ms) != 1 {
		t.Fatalf("web = %v", p)
	}
	vm := p["members"].([]any)[0].(map[string]any)
	if vm["id"] != "qemu/100" || vm["vmid"] != float64(100) || vm["node"] != "pve1" || vm["type"] != "qemu" || vm["name"] != "vm100" ||
		vm["status"] != "stopped" || vm["template"] != float64(0) || vm["maxmem"] != float64(1<<30) || vm["maxdisk"] != float64(8<<30) ||
		vm["maxcpu"] != float64(1) || vm["uptime"] != float64(0) {
		t.Errorf("member = %v", vm)
	}
	for _, k := range []string{"pool", "tags", "lock", "hastate"} {
		if _, ok := vm[k]; ok {
			t.Errorf("member has %s: %v", k, vm)
		}
	}
	expectMembers(t, c, "db", "lxc/200")

	// PUT vms: a guest of another pool moves only with allow-move
	expectError(t, c.Form(http.MethodPut, "/pools", url.Values{"poolid": {"web"}, "vms": {"200"}}),
		"update pools failed: VM 200 belongs already to pool 'db' and 'allow-move' is not set")
	expectError(t, c.Form(http.MethodPut, "/pools", url.Values{"poolid": {"web"}, "vms": {"100"}}), "update pools failed: VM 100 is already a pool member")
	expectError(t, c.Form(http.MethodPut, "/pools", url.Values{"poolid": {"web"}, "vms": {"999"}}), "update pools failed: VM 999 does not exist")
	// a failed update changes nothing, not even what came before the failure
	expectError(t, c.Form(http.MethodPut, "/pools", url.Values{"poolid": {"db"}, "comment": {"new"}, "storage": {"local"}, "vms": {"100"}}),
		"update pools failed: VM 100 belongs already to pool 'web' and 'allow-move' is not set")
	if p := poolOf(t, c, "db", ""); p["comment"] != nil || strings.Join(memberIDs(p), " ") != "lxc/200" {
		t.Errorf("db = %v", p)
	}
	expectNull(t, c.Form(http.MethodPut, "/pools", url.Values{"poolid": {"web"}, "vms": {"200"}, "allow-move": {"1"}}))
	expectMembers(t, c, "web", "qemu/100", "lxc/200")
	expectMembers(t, c, "db")
	if m := memberIDs(poolOf(t, c, "web", "lxc")); strings.Join(m, " ") != "lxc/200" {
		t.Errorf("lxc members = %v", m)
	}

	// delete=1 removes members
	expectNull(t, c.Form(http.MethodPut, "/pools", url.Values{"poolid": {"web"}, "vms": {"200"}, "delete": {"1"}}))
	expectError(t, c.Form(http.MethodPut, "/pools", url.Values{"poolid": {"web"}, "vms": {"200"}, "delete": {"1"}}), "update pools failed: VM 200 is not a pool member")
	expectMembers(t, c, "web", "qemu/100")
	expectNull(t, c.Form(http.MethodPut, "/pools", url.Values{"poolid": {"db"}, "vms": {"200"}}))
	expectError(t, c.Form(http.MethodDelete, "/pools", url.Values{"poolid": {"web"}}), "delete pool failed: pool 'web' is not empty (contains VM 100)")

	// clone with a pool: the new guest joins it, the source stays where it was
	runTask(t, c, http.MethodPost, "/nodes/pve1/qemu/100/clone", url.Values{"newid": {"101"}, "pool": {"db"}})
	runTask(t, c, http.MethodPost, ctPath("pve2", 200, "/clone"), url.Values{"newid": {"201"}, "pool": {"web"}})
	pvetest.Expect(t, c.Form(http.MethodPost, "/nodes/pve1/qemu/100/clone", url.Values{"newid": {"102"}, "pool": {"nope"}}), http.StatusForbidden,
		"Permission check failed (pool 'nope' does not exist)")
	pvetest.Expect(t, c.Form(http.MethodPost, ctPath("pve2", 200, "/clone"), url.Values{"newid": {"202"}, "pool": {"nope"}}), http.StatusForbidden,
		"Permission check failed (pool 'nope' does not exist)")
	runTask(t, c, http.MethodPost, "/nodes/pve1/qemu/100/clone", url.Values{"newid": {"1000"}})
	expectMembers(t, c, "web", "qemu/100", "lxc/201") // VMIDs sort as strings
	expectMembers(t, c, "db", "qemu/101", "lxc/200")
	expectNull(t, c.Form(http.MethodPut, "/pools", url.Values{"poolid": {"db"}, "vms": {"1000"}}))
	expectMembers(t, c, "db", "qemu/1000", "qemu/101", "lxc/200")

	// destroying a guest takes it out of its pool
	runTask(t, c, http.MethodDelete, "/nodes/pve1/qemu/100", nil)
	runTask(t, c, http.MethodDelete, ctPath("pve2", 201, ""), nil)
	expectMembers(t, c, "web")
	expectNull(t, c.Form(http.MethodDelete, "/pools", url.Values{"poolid": {"web"}}))
	runTask(t, c, http.MethodDelete, "/nodes/pve1/qemu/101", nil)
	expectMembers(t, c, "db", "qemu/1000", "lxc/200")
	// a guest created again under a freed VMID is in no pool
	createSimpleVM(t, c, "pve1", 100, nil)
	for _, r := range pvetest.DataList(t, c.Form(http.MethodGet, "/cluster/resources", url.Values{"type": {"vm"}})) {
		if r["vmid"] == float64(100) && r["pool"] != nil {
			t.Errorf("resource = %v", r)
		}
	}
}

func TestPoolClusterResources(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{StatdInterval: statdTick})
	c := newCaller(t, lab).WithToken()
	expectNull(t, c.Form(http.MethodPost, "/pools", url.Values{"poolid": {"web"}}))
	expectNull(t, c.Form(http.MethodPost, "/pools", url.Values{"poolid": {"empty"}}))
	createSimpleVM(t, c, "pve1", 100, url.Values{"pool": {"web"}, "cores": {"2"}})
	createSimpleVM(t, c, "pve1", 101, url.Values{"pool": {"web"}})
	createSimpleVM(t, c, "pve1", 102, nil)
	createSimpleCT(t, c, "pve2", 200, url.Values{"pool": {"web"}})

	// stopped guests add nothing to their pool's entry
	all := pvetest.DataList(t, c.Get("/cluster/resources"))
	if all[0]["id"] != "/pool/empty" || all[1]["id"] != "/pool/web" {
		t.Fatalf("resources = %v", all)
	}
	if web := all[1]; web["type"] != "pool" || web["pool"] != "web" || len(web) != 3 {
		t.Errorf("pool entry = %v", web)
	}
	runTask(t, c, http.MethodPost, "/nodes/pve1/qemu/100/status/start", nil)
	runTask(t, c, http.MethodPost, ctPath("pve2", 200, "/status/start"), nil)

	// a guest counts once it has an uptime (a whole second)
	var byID map[string]map[string]any
	waitFor(t, func() bool {
		byID = map[string]map[string]any{}
		for _, r := range pvetest.DataList(t, c.Get("/cluster/resources")) {
			byID[r["id"].(string)] = r
		}
		vmUp, _ := byID["qemu/100"]["uptime"].(float64)
		ctUp, _ := byID["lxc/200"]["uptime"].(float64)
		return vmUp > 0 && ctUp > 0
	})
	web, vm, ct := byID["/pool/web"], byID["qemu/100"], byID["lxc/200"]
	if byID["/pool/empty"]["uptime"] != nil || len(byID["/pool/empty"]) != 3 {
		t.Errorf("empty pool = %v", byID["/pool/empty"])
	}
	if vm["pool"] != "web" || byID["qemu/101"]["pool"] != "web" || ct["pool"] != "web" || byID["qemu/102"]["pool"] != nil {
		t.Errorf("guests = %v %v %v %v", vm, byID["qemu/101"], ct, byID["qemu/102"])
	}
	// the running guests sum up (a container without cores has the host's CPUs)
	num := func(m map[string]any, k string) float64 { return m[k].(float64) }
	wantCPU := (num(vm, "cpu")*num(vm, "maxcpu") + num(ct, "cpu")*num(ct, "maxcpu")) / (num(vm, "maxcpu") + num(ct, "maxcpu"))
	if num(web, "maxcpu") != 2+16 || num(web, "maxcpu") != num(vm, "maxcpu")+num(ct, "maxcpu") ||
		num(web, "maxmem") != num(vm, "maxmem")+num(ct, "maxmem") || num(web, "mem") != num(vm, "mem")+num(ct, "mem") ||
		num(web, "uptime") != max(num(vm, "uptime"), num(ct, "uptime")) || math.Abs(num(web, "cpu")-wantCPU) > 1e-9 {
		t.Errorf("pool entry = %v\nvm = %v\nct = %v", web, vm, ct)
	}

	// pools only come unfiltered
	for _, r := range pvetest.DataList(t, c.Form(http.MethodGet, "/cluster/resources", url.Values{"type": {"vm"}})) {
		if r["type"] == "pool" || (r["vmid"] == float64(100) && r["pool"] != "web") {
			t.Errorf("resource = %v", r)
		}
	}
	if lab.SchemaLoaded() {
		res := c.Form(http.MethodGet, "/cluster/resources", url.Values{"type": {"pool"}})
		pvetest.ExpectParamError(t, res, "type", "value 'pool' does not have a value in the enumeration 'vm, storage, node, sdn'")
	}
}

func TestPoolSchemaRejects(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	requireSchema(t, lab)
	c := newCaller(t, lab).WithToken()
	pvetest.ExpectParamError(t, c.Form(http.MethodPost, "/pools", url.Values{"poolid": {"bad pool"}}), "poolid",
		"invalid format - pool name 'bad pool' contains invalid characters\n")
	pvetest.ExpectParamError(t, c.Form(http.MethodPost, "/pools", url.Values{"poolid": {"a/b/c/d"}}), "poolid",
		"invalid format - pool name 'a/b/c/d' nested too deeply (max levels = 3)\n")
	pvetest.ExpectParamError(t, c.Form(http.MethodPost, "/pools", url.Values{"poolid": {"a//b"}}), "poolid",
		"invalid format - pool name 'a//b' contains invalid characters\n")
	pvetest.ExpectParamError(t, c.Form(http.MethodPost, "/nodes/pve1/qemu", url.Values{"vmid": {"100"}, "pool": {"x:y"}}), "pool",
		"invalid format - pool name 'x:y' contains invalid characters\n")
	pvetest.ExpectParamError(t, c.Form(http.MethodGet, "/pools", url.Values{"type": {"qemu"}}), "poolid", "missing property - 'type' requires this property")
	pvetest.ExpectParamError(t, c.Form(http.MethodGet, "/pools", url.Values{"poolid": {"x"}, "type": {"vm"}}), "type",
		"value 'vm' does not have a value in the enumeration 'qemu, lxc, storage'")
	expectNull(t, c.Form(http.MethodPost, "/pools", url.Values{"poolid": {"ok"}}))
	pvetest.ExpectParamError(t, c.Form(http.MethodPut, "/pools", url.Values{"poolid": {"ok"}, "vms": {"100,abc"}}), "vms",
		"invalid format - value does not look like a valid VM ID\n")
	pvetest.ExpectParamError(t, c.Form(http.MethodPut, "/pools", url.Values{"poolid": {"ok"}, "allow-move": {"maybe"}}), "allow-move",
		"type check ('boolean') failed - got 'maybe'")
}

// TestGoProxmoxPools drives the pool calls of go-proxmox, an independent
// client, against the lab.
func TestGoProxmoxPools(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{StatdInterval: statdTick})
	c := newCaller(t, lab).WithToken()
	createSimpleVM(t, c, "pve1", 100, nil)
	createSimpleCT(t, c, "pve1", 200, nil)
	client := goProxmoxClients(t, lab)["token"]
	ctx := context.Background()

	if err := client.NewPool(ctx, "web", "Web servers"); err != nil {
		t.Fatalf("NewPool: %v", err)
	}
	if err := client.NewPool(ctx, "db", ""); err != nil {
		t.Fatalf("NewPool: %v", err)
	}
	if err := client.NewPool(ctx, "db", ""); err == nil || !strings.Contains(err.Error(), "500 create pool failed: pool 'db' already exists") {
		t.Errorf("NewPool twice: %v", err)
	}
	pools, err := client.Pools(ctx)
	if err != nil || len(pools) != 2 || pools[0].PoolID != "db" || pools[1].PoolID != "web" || pools[1].Comment != "Web servers" {
		t.Fatalf("Pools = %v, %v", pools, err)
	}

	web, err := client.Pool(ctx, "web")
	if err != nil || web.PoolID != "web" || len(web.Members) != 0 {
		t.Fatalf("Pool = %+v, %v", web, err)
	}
	if err := web.Update(ctx, &proxmox.PoolUpdateOption{VirtualMachines: "100,200", Storage: "local", Comment: "Web"}); err != nil {
		t.Fatalf("Update: %v", err)
	}
	afterStatd(lab) // a member's status and name are pvestatd's (read_pool uses extract_vm_stats)
	web, err = client.Pool(ctx, "web")
	if err != nil || web.Comment != "Web" || len(web.Members) != 3 {
		t.Fatalf("Pool = %+v, %v", web, err)
	}
	if m := web.Members[0]; m.ID != "qemu/100" || m.Type != "qemu" || m.VMID != 100 || m.Node != "pve1" || m.Name != "vm100" || m.Status != "stopped" || m.MaxMem != 1<<30 {
		t.Errorf("member = %+v", m)
	}
	if m := web.Members[2]; m.ID != "storage/pve1/local" || m.Storage != "local" || m.PluginType != "dir" {
		t.Errorf("member = %+v", m)
	}
	cts, err := client.Pool(ctx, "web", "lxc")
	if err != nil || len(cts.Members) != 1 || cts.Members[0].ID != "lxc/200" {
		t.Errorf("Pool(lxc) = %+v, %v", cts, err)
	}
	if _, err := client.Pool(ctx, "nope"); err == nil || !strings.Contains(err.Error(), "pool 'nope' does not exist") {
		t.Errorf("Pool(nope): %v", err)
	}

	db, err := client.Pool(ctx, "db")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(ctx, &proxmox.PoolUpdateOption{VirtualMachines: "200"}); err == nil ||
		!strings.Contains(err.Error(), "VM 200 belongs already to pool 'web' and 'allow-move' is not set") {
		t.Errorf("Update without allow-move: %v", err)
	}
	if err := db.Update(ctx, &proxmox.PoolUpdateOption{VirtualMachines: "200", AllowMove: true}); err != nil {
		t.Fatalf("Update with allow-move: %v", err)
	}
	// the deprecated per-pool calls, which clients built on older go-proxmox
	// releases make: the lab must serve them too
	//lint:ignore SA1019 tested on purpose
	got, err := db.GetDeprecated(ctx)
	if err != nil || got.PoolID != "db" || len(got.Members) != 1 || got.Members[0].ID != "lxc/200" {
		t.Errorf("GetDeprecated = %+v, %v", got, err)
	}
	//lint:ignore SA1019 tested on purpose
	if err := db.UpdateDeprecated(ctx, &proxmox.PoolUpdateOption{VirtualMachines: "200", Delete: true}); err != nil {
		t.Fatalf("UpdateDeprecated: %v", err)
	}
	//lint:ignore SA1019 tested on purpose
	if err := db.DeleteDeprecated(ctx); err != nil {
		t.Fatalf("DeleteDeprecated: %v", err)
	}

	if err := web.Delete(ctx); err == nil || !strings.Contains(err.Error(), "delete pool failed: pool 'web' is not empty (contains VM 100)") {
		t.Errorf("Delete of a pool with members: %v", err)
	}
	if err := web.Update(ctx, &proxmox.PoolUpdateOption{VirtualMachines: "100", Storage: "local", Delete: true}); err != nil {
		t.Fatalf("Update delete: %v", err)
	}
	if err := web.Delete(ctx); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if pools, err := client.Pools(ctx); err != nil || len(pools) != 0 {
		t.Errorf("Pools = %v, %v", pools, err)
	}
}
