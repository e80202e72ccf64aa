package pvesim

import (
	"context"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/pvesim/pvetest"
	proxmox "github.com/luthermonson/go-proxmox"
)

// expectDie checks a 500 answer whose message may span lines: the status
// line carries the first one.
func expectDie(t *testing.T, res pvetest.Result, msg string) {
	t.Helper()
	first, _, _ := strings.Cut(msg, "\n")
	pvetest.Expect(t, res, http.StatusInternalServerError, first)
	if !strings.HasSuffix(msg, "\n") {
		msg += "\n"
	}
	if res.Body["message"] != msg {
		t.Fatalf("message = %q, want %q", res.Body["message"], msg)
	}
}

// addGuests registers guests in the VM list without creating them, for
// calls that only look them up.
func addGuests(lab *PVE, kind string, vmids ...int) {
	lab.mu.Lock()
	defer lab.mu.Unlock()
	for _, id := range vmids {
		lab.guests[id] = guestRef{node: "pve1", kind: kind}
	}
}

var digestRE = regexp.MustCompile(`^[0-9a-f]{40}$`)

func TestHAResources(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	requireSchema(t, lab)
	c := newCaller(t, lab).WithToken()
	createSimpleVM(t, c, "pve1", 100, nil)
	createSimpleCT(t, c, "pve2", 101, nil)
	post := func(v url.Values) pvetest.Result { return c.Form(http.MethodPost, "/cluster/ha/resources", v) }

	pvetest.Expect(t, post(url.Values{"sid": {"vm:100"}, "state": {"stopped"}, "max_restart": {"2"}, "comment": {"web server"}}), http.StatusOK, "OK")
	pvetest.Expect(t, post(url.Values{"sid": {"101"}, "failback": {"0"}}), http.StatusOK, "OK") // a bare VMID is looked up
	r := dataMap(t, c.Get("/cluster/ha/resources/vm:100"))
	digest, _ := r["digest"].(string)
	if !digestRE.MatchString(digest) || r["sid"] != "vm:100" || r["type"] != "vm" || r["state"] != "stopped" ||
		r["max_restart"] != float64(2) || r["comment"] != "web server" || len(r) != 6 {
		t.Errorf("resource = %v", r)
	}
	if r := dataMap(t, c.Get("/cluster/ha/resources/101")); r["sid"] != "ct:101" || r["type"] != "ct" || r["failback"] != float64(0) || r["state"] != nil {
		t.Errorf("resource = %v", r)
	}
	if list := pvetest.DataList(t, c.Get("/cluster/ha/resources")); len(list) != 2 || list[0]["sid"] != "vm:100" || list[1]["sid"] != "ct:101" || list[1]["digest"] != list[0]["digest"] {
		t.Errorf("resources = %v", list)
	}
	if list := pvetest.DataList(t, c.Form(http.MethodGet, "/cluster/ha/resources", url.Values{"type": {"ct"}})); len(list) != 1 || list[0]["sid"] != "ct:101" {
		t.Errorf("ct resources = %v", list)
	}

	// refusals of create
	expectDie(t, post(url.Values{"sid": {"vm:100"}}), "create resource failed: resource ID 'vm:100' already defined")
	expectDie(t, post(url.Values{"sid": {"vm:999"}}), "resource 'vm:999' does not exists in cluster")
	expectDie(t, post(url.Values{"sid": {"999"}}), "unable do detect SID from VMID - VM/CT 999 does not exist")
	expectDie(t, post(url.Values{"sid": {"fw:100"}}), "unknown section type 'fw'")
	expectDie(t, post(url.Values{"sid": {"vm:0100"}}), "invalid VMID")
	expectDie(t, post(url.Values{"sid": {"vm:100"}, "type": {"ct"}}), "types does not match")
	expectDie(t, post(url.Values{"sid": {"vm:100"}, "group": {"prod"}}), "invalid parameter 'group': ha groups have been migrated to rules")
	expectDie(t, post(url.Values{"sid": {"ct:101"}, "comment": {"two\nlines"}}), "property contains a line feed")
	pvetest.ExpectParamError(t, post(url.Values{"sid": {"vm 100"}}), "sid", "invalid format - value does not look like a valid ha resource id\n")
	pvetest.ExpectParamError(t, post(url.Values{"sid": {"vm:100"}, "state": {"running"}}), "state", "value 'running' does not have a value in the enumeration 'started, stopped, enabled, disabled, ignored'")
	pvetest.ExpectParamError(t, post(url.Values{"sid": {"vm:100"}, "max_relocate": {"-1"}}), "max_relocate", "value must have a minimum value of 0")

	// update with digest, delete
	put := func(sid string, v url.Values) pvetest.Result {
		return c.Form(http.MethodPut, "/cluster/ha/resources/"+sid, v)
	}
	pvetest.Expect(t, put("vm:100", url.Values{"state": {"started"}, "max_relocate": {"3"}, "digest": {digest}}), http.StatusOK, "OK")
	expectDie(t, put("vm:100", url.Values{"state": {"stopped"}, "digest": {digest}}), "update resources config failed: detected modified configuration - file changed by other user? Try again.")
	pvetest.Expect(t, put("100", url.Values{"delete": {"comment,max_restart"}}), http.StatusOK, "OK")
	r = dataMap(t, c.Get("/cluster/ha/resources/vm:100"))
	if r["state"] != "started" || r["max_relocate"] != float64(3) || r["comment"] != nil || r["max_restart"] != nil || r["digest"] == digest {
		t.Errorf("resource = %v", r)
	}
	expectDie(t, put("vm:100", url.Values{"delete": {"node"}}), "update resources config failed: no such option 'node'")
	expectDie(t, put("vm:555", url.Values{"state": {"stopped"}}), "update resources config failed: no such resource 'vm:555'")
	expectDie(t, c.Get("/cluster/ha/resources/vm:555"), "no such resource 'vm:555'")
	expectDie(t, c.Get("/cluster/ha/resources/555"), "unable do detect SID from VMID - VM/CT 555 does not exist")

	// delete
	pvetest.Expect(t, c.Form(http.MethodDelete, "/cluster/ha/resources/ct:101", nil), http.StatusOK, "OK")
	expectDie(t, c.Form(http.MethodDelete, "/cluster/ha/resources/ct:101", nil), "cannot delete service 'ct:101', not HA managed!")
	if list := pvetest.DataList(t, c.Get("/cluster/ha/resources")); len(list) != 1 {
		t.Errorf("resources = %v", list)
	}
}

func TestHAResourceStateOfGuests(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{HARound: manualHA})
	c := newCaller(t, lab).WithToken()
	createSimpleVM(t, c, "pve1", 100, nil)
	createSimpleVM(t, c, "pve2", 101, nil)
	createSimpleCT(t, c, "pve1", 102, url.Values{"ha-managed": {"1"}})
	for _, v := range []url.Values{{"sid": {"vm:100"}, "state": {"disabled"}}, {"sid": {"vm:101"}, "state": {"ignored"}}} {
		pvetest.Expect(t, c.Form(http.MethodPost, "/cluster/ha/resources", v), http.StatusOK, "OK")
	}
	if r := dataMap(t, c.Get("/cluster/ha/resources/ct:102")); r["state"] != "stopped" {
		t.Errorf("ha-managed CT = %v", r)
	}
	// the CRM master takes them in (request_stop), the LRMs report them
	// stopped, the master reads that (ha_manager.go)
	crmRound(lab)
	lrmRound(t, lab, c)
	crmRound(lab)
	hastate := map[string]any{}
	for _, e := range pvetest.DataList(t, c.Form(http.MethodGet, "/cluster/resources", url.Values{"type": {"vm"}})) {
		hastate[e["id"].(string)] = e["hastate"]
	}
	// the manager's state (disabled is stopped there), else the requested one
	if want := map[string]any{"qemu/100": "stopped", "qemu/101": "ignored", "lxc/102": "stopped"}; !reflect.DeepEqual(hastate, want) {
		t.Errorf("hastate = %v, want %v", hastate, want)
	}
	if ha := dataMap(t, c.Get("/nodes/pve1/qemu/100/status/current"))["ha"]; !reflect.DeepEqual(ha, map[string]any{"managed": float64(1), "group": nil, "state": "stopped"}) {
		t.Errorf("VM 100 ha = %v", ha)
	}
	if ha := dataMap(t, c.Get("/nodes/pve2/qemu/101/status/current"))["ha"]; !reflect.DeepEqual(ha, map[string]any{"managed": float64(0)}) {
		t.Errorf("ignored VM 101 ha = %v", ha)
	}

	// an HA start of the CT requests the started state; the CRM and the
	// LRM start it
	runTask(t, c, http.MethodPost, ctPath("pve1", 102, "/status/start"), nil)
	crmRound(lab)
	lrmRound(t, lab, c)
	if r := dataMap(t, c.Get("/cluster/ha/resources/ct:102")); r["state"] != "started" {
		t.Errorf("CT 102 after hastart = %v", r)
	}
	if ha := dataMap(t, c.Get(ctPath("pve1", 102, "/status/current")))["ha"]; !reflect.DeepEqual(ha, map[string]any{"managed": float64(1), "group": nil, "state": "started"}) {
		t.Errorf("CT 102 ha = %v", ha)
	}
	runTask(t, c, http.MethodPost, ctPath("pve1", 102, "/status/stop"), nil)
	crmRound(lab) // crm-command stop: the requested state becomes stopped
	if r := dataMap(t, c.Get("/cluster/ha/resources/ct:102")); r["state"] != "stopped" {
		t.Errorf("CT 102 after hastop = %v", r)
	}

	// an ignored resource still blocks destroy without purge; purge removes
	// it and its rules
	pvetest.Expect(t, c.Form(http.MethodPost, "/cluster/ha/rules", url.Values{"rule": {"apart"}, "type": {"resource-affinity"}, "affinity": {"negative"}, "resources": {"vm:100,vm:101"}}), http.StatusOK, "OK")
	expectError(t, c.Form(http.MethodDelete, "/nodes/pve2/qemu/101", nil), "unable to remove VM 101 - used in HA resources and purge parameter not set.")
	lines := runTask(t, c, http.MethodDelete, "/nodes/pve2/qemu/101", url.Values{"purge": {"1"}})
	if !slices.Contains(lines, "NOTE: removed VM 101 from HA resource configuration.") {
		t.Errorf("log = %q", lines)
	}
	rule := dataMap(t, c.Get("/cluster/ha/rules/apart"))
	if rule["resources"] != "vm:100" || !reflect.DeepEqual(rule["errors"], map[string]any{"resources": []any{"rule is ineffective as there are less than two resources"}}) {
		t.Errorf("rule = %v", rule)
	}
}

func TestHARules(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	requireSchema(t, lab)
	c := newCaller(t, lab).WithToken()
	addGuests(lab, "qemu", 100, 101, 102, 103)
	for _, sid := range []string{"vm:100", "vm:101", "vm:102", "vm:103"} {
		pvetest.Expect(t, c.Form(http.MethodPost, "/cluster/ha/resources", url.Values{"sid": {sid}}), http.StatusOK, "OK")
	}
	post := func(v url.Values) pvetest.Result { return c.Form(http.MethodPost, "/cluster/ha/rules", v) }
	put := func(rule string, v url.Values) pvetest.Result {
		return c.Form(http.MethodPut, "/cluster/ha/rules/"+rule, v)
	}

	pvetest.Expect(t, post(url.Values{"rule": {"prefer-pve1"}, "type": {"node-affinity"}, "resources": {"vm:101,vm:100"}, "nodes": {"pve2,pve1:2"}, "strict": {"1"}, "comment": {"first: pve1"}}), http.StatusOK, "OK")
	pvetest.Expect(t, post(url.Values{"rule": {"apart"}, "type": {"resource-affinity"}, "resources": {"vm:102,vm:103"}, "affinity": {"negative"}}), http.StatusOK, "OK")
	r := dataMap(t, c.Get("/cluster/ha/rules/prefer-pve1"))
	digest, _ := r["digest"].(string)
	want := map[string]any{"rule": "prefer-pve1", "type": "node-affinity", "resources": "vm:100,vm:101", "nodes": "pve1:2,pve2",
		"strict": float64(1), "comment": "first: pve1", "order": float64(1), "digest": digest}
	if !digestRE.MatchString(digest) || !reflect.DeepEqual(r, want) {
		t.Errorf("rule = %v, want %v", r, want)
	}
	if r := dataMap(t, c.Get("/cluster/ha/rules/apart")); r["order"] != float64(2) || r["affinity"] != "negative" || r["resources"] != "vm:102,vm:103" {
		t.Errorf("rule = %v", r)
	}
	names := func(list []map[string]any) []string {
		var out []string
		for _, e := range list {
			out = append(out, e["rule"].(string))
		}
		return out
	}
	if got := names(pvetest.DataList(t, c.Get("/cluster/ha/rules"))); !slices.Equal(got, []string{"prefer-pve1", "apart"}) {
		t.Errorf("rules = %v", got)
	}
	if got := names(pvetest.DataList(t, c.Form(http.MethodGet, "/cluster/ha/rules", url.Values{"type": {"resource-affinity"}}))); !slices.Equal(got, []string{"apart"}) {
		t.Errorf("resource affinity rules = %v", got)
	}
	if got := names(pvetest.DataList(t, c.Form(http.MethodGet, "/cluster/ha/rules", url.Values{"resource": {"vm:101"}}))); !slices.Equal(got, []string{"prefer-pve1"}) {
		t.Errorf("rules of vm:101 = %v", got)
	}

	// check_config, references and feasibility
	expectDie(t, post(url.Values{"rule": {"apart"}, "type": {"resource-affinity"}, "resources": {"vm:100,vm:101"}, "affinity": {"positive"}}), "create ha rule failed: HA rule 'apart' already defined")
	expectDie(t, post(url.Values{"rule": {"r1"}, "type": {"node-affinity"}, "resources": {"vm:100"}}), "missing value for required option 'nodes'")
	expectDie(t, post(url.Values{"rule": {"r1"}, "type": {"resource-affinity"}, "resources": {"vm:100,vm:101"}}), "missing value for required option 'affinity'")
	expectDie(t, post(url.Values{"rule": {"r1"}, "type": {"node-affinity"}, "resources": {"vm:100"}, "nodes": {"pve1"}, "affinity": {"positive"}}), "unexpected property 'affinity'")
	expectDie(t, post(url.Values{"rule": {"r1"}, "type": {"resource-affinity"}, "resources": {"vm:100,vm:999,vm:998"}, "affinity": {"positive"}}), "create ha rule failed: cannot use unmanaged resource(s) vm:998, vm:999.")
	expectDie(t, post(url.Values{"rule": {"r1"}, "type": {"node-affinity"}, "resources": {"vm:102"}, "nodes": {"pve1,pve7,pve9:1"}}), "create ha rule failed: cannot use non-existant node(s) pve7, pve9.")
	expectDie(t, post(url.Values{"rule": {"r1"}, "type": {"resource-affinity"}, "resources": {"vm:103"}, "affinity": {"positive"}}),
		"create ha rule failed: 400 Rule 'r1' is invalid.\nresources: rule is ineffective as there are less than two resources")
	expectDie(t, post(url.Values{"rule": {"r1"}, "type": {"resource-affinity"}, "resources": {"vm:100"}, "affinity": {"positive"}}),
		"create ha rule failed: 400 Rule 'r1' is invalid.\nresources: rule is ineffective as there are less than two resources, resources are in node affinity rules with multiple priorities")
	expectDie(t, post(url.Values{"rule": {"r1"}, "type": {"node-affinity"}, "resources": {"vm:101,vm:102"}, "nodes": {"pve3"}}),
		"create ha rule failed: 400 Rule 'r1' is invalid.\nresources: resource 'vm:101' is already used in another node affinity rule")
	expectDie(t, post(url.Values{"rule": {"r1"}, "type": {"resource-affinity"}, "resources": {"vm:100,vm:101,vm:102,vm:103"}, "affinity": {"negative"}}),
		"create ha rule failed: 400 Rule 'r1' is invalid.\nresources: rule defines more resources than available nodes, resources are in node affinity rules with multiple priorities")
	expectDie(t, post(url.Values{"rule": {"r1"}, "type": {"resource-affinity"}, "resources": {"vm:102,vm:103"}, "affinity": {"positive"}}),
		"create ha rule failed: 400 Rule 'r1' is invalid.\nresources: rule shares two or more resources with a negative resource affinity rule")
	pvetest.ExpectParamError(t, post(url.Values{"rule": {"r1"}, "type": {"resource-affinity"}, "resources": {"100,101"}, "affinity": {"positive"}}), "resources", "invalid format - value does not look like a valid ha resource id\n")
	pvetest.ExpectParamError(t, post(url.Values{"rule": {"r1"}, "type": {"location"}, "resources": {"vm:100"}}), "type", "value 'location' does not have a value in the enumeration 'node-affinity, resource-affinity'")
	pvetest.ExpectParamError(t, post(url.Values{"rule": {"r1"}, "type": {"node-affinity"}, "resources": {"vm:102"}, "nodes": {"pve1:high"}}), "nodes", "invalid format - value does not look like a valid ha node\n")
	// a disabled rule is not checked
	pvetest.Expect(t, post(url.Values{"rule": {"off"}, "type": {"resource-affinity"}, "resources": {"vm:100"}, "affinity": {"positive"}, "disable": {"1"}}), http.StatusOK, "OK")
	if r := dataMap(t, c.Get("/cluster/ha/rules/off")); r["disable"] != float64(1) || r["errors"] != nil {
		t.Errorf("disabled rule = %v", r)
	}

	// update: type required and fixed, digest, delete
	pvetest.ExpectParamError(t, put("prefer-pve1", url.Values{"nodes": {"pve3"}}), "type", "property is missing and it is not optional")
	expectDie(t, put("prefer-pve1", url.Values{"type": {"resource-affinity"}}), "update HA rules failed: unexpected property 'type'")
	expectDie(t, put("nope", url.Values{"type": {"node-affinity"}}), "update HA rules failed: HA rule 'nope' does not exist")
	stale := digest
	digest = dataMap(t, c.Get("/cluster/ha/rules/prefer-pve1"))["digest"].(string)
	if digest == stale {
		t.Errorf("digest %s did not change with the rules", digest)
	}
	pvetest.Expect(t, put("prefer-pve1", url.Values{"type": {"node-affinity"}, "nodes": {"pve3"}, "delete": {"strict"}, "digest": {digest}}), http.StatusOK, "OK")
	expectDie(t, put("prefer-pve1", url.Values{"type": {"node-affinity"}, "comment": {"x"}, "digest": {digest}}), "update HA rules failed: detected modified configuration - file changed by other user? Try again.")
	expectDie(t, put("prefer-pve1", url.Values{"type": {"node-affinity"}, "delete": {"nodes"}}), "update HA rules failed: unable to delete required option 'nodes'")
	expectDie(t, put("prefer-pve1", url.Values{"type": {"node-affinity"}, "delete": {"affinity"}}), "update HA rules failed: no such option 'affinity'")
	expectDie(t, put("prefer-pve1", url.Values{"type": {"node-affinity"}, "comment": {"x"}, "delete": {"comment"}}), "update HA rules failed: cannot set and delete property 'comment' at the same time!")
	expectDie(t, put("apart", url.Values{"type": {"resource-affinity"}, "resources": {"vm:102"}}),
		"update HA rules failed: 400 Rule 'apart' is invalid.\nresources: rule is ineffective as there are less than two resources")
	if r := dataMap(t, c.Get("/cluster/ha/rules/prefer-pve1")); r["nodes"] != "pve3" || r["strict"] != nil || r["comment"] != "first: pve1" {
		t.Errorf("rule = %v", r)
	}

	// delete: no error for a rule that is not there
	pvetest.Expect(t, c.Form(http.MethodDelete, "/cluster/ha/rules/off", nil), http.StatusOK, "OK")
	pvetest.Expect(t, c.Form(http.MethodDelete, "/cluster/ha/rules/off", nil), http.StatusOK, "OK")
	expectDie(t, c.Get("/cluster/ha/rules/off"), "no such ha rule 'off'")

	// removing a resource purges it from the rules by default; a rule left
	// without resources goes
	pvetest.Expect(t, c.Form(http.MethodDelete, "/cluster/ha/resources/vm:102", url.Values{"purge": {"0"}}), http.StatusOK, "OK")
	if r := dataMap(t, c.Get("/cluster/ha/rules/apart")); r["resources"] != "vm:102,vm:103" {
		t.Errorf("rule = %v", r)
	}
	pvetest.Expect(t, c.Form(http.MethodDelete, "/cluster/ha/resources/vm:103", nil), http.StatusOK, "OK")
	if r := dataMap(t, c.Get("/cluster/ha/rules/apart")); r["resources"] != "vm:102" {
		t.Errorf("rule = %v", r)
	}
	pvetest.Expect(t, c.Form(http.MethodPut, "/cluster/ha/rules/prefer-pve1", url.Values{"type": {"node-affinity"}, "resources": {"vm:100"}}), http.StatusOK, "OK")
	pvetest.Expect(t, c.Form(http.MethodDelete, "/cluster/ha/resources/vm:100", nil), http.StatusOK, "OK")
	if got := names(pvetest.DataList(t, c.Get("/cluster/ha/rules"))); !slices.Equal(got, []string{"apart"}) {
		t.Errorf("rules = %v", got)
	}
	expectDie(t, put("apart", url.Values{"type": {"resource-affinity"}, "comment": {"x"}}), "update HA rules failed: 400 Rule 'apart' is invalid.\nresources: rule is ineffective as there are less than two resources")
	expectDie(t, put("apart", url.Values{"type": {"resource-affinity"}, "resources": {"vm:101,vm:102"}}), "update HA rules failed: cannot use unmanaged resource(s) vm:102.")
}

func TestHAGroupsMigratedOnPVE9(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()
	expectDie(t, c.Get("/cluster/ha/groups"), "cannot index groups: ha groups have been migrated to rules")
	expectDie(t, c.Get("/cluster/ha/groups/prod"), "cannot read group: ha groups have been migrated to rules")
	expectDie(t, c.Form(http.MethodPost, "/cluster/ha/groups", url.Values{"group": {"prod"}, "nodes": {"pve1"}}), "cannot create group: ha groups have been migrated to rules")
	expectDie(t, c.Form(http.MethodPut, "/cluster/ha/groups/prod", url.Values{"nodes": {"pve1"}}), "cannot update group: ha groups have been migrated to rules")
	expectDie(t, c.Form(http.MethodDelete, "/cluster/ha/groups/prod", nil), "cannot delete group: ha groups have been migrated to rules")
	if idx := pvetest.DataList(t, c.Get("/cluster/ha")); len(idx) != 4 || idx[3]["id"] != "rules" {
		t.Errorf("index = %v", idx)
	}
}

func TestHAGroupsOnPVE8(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{Version: "8.4"})
	requireSchema(t, lab)
	c := newCaller(t, lab).WithToken()
	addGuests(lab, "qemu", 100)

	post := func(v url.Values) pvetest.Result { return c.Form(http.MethodPost, "/cluster/ha/groups", v) }
	pvetest.Expect(t, post(url.Values{"group": {"prod"}, "nodes": {"pve2,pve1:2"}, "restricted": {"1"}, "comment": {"production"}}), http.StatusOK, "OK")
	g := dataMap(t, c.Get("/cluster/ha/groups/prod"))
	digest, _ := g["digest"].(string)
	want := map[string]any{"group": "prod", "type": "group", "nodes": "pve1:2,pve2", "restricted": float64(1), "comment": "production", "digest": digest}
	if !digestRE.MatchString(digest) || !reflect.DeepEqual(g, want) {
		t.Errorf("group = %v, want %v", g, want)
	}
	expectDie(t, post(url.Values{"group": {"prod"}, "nodes": {"pve1"}}), "create ha group failed: ha group ID 'prod' already defined")
	pvetest.ExpectParamError(t, post(url.Values{"group": {"test"}, "nodes": {"pve1"}, "type": {"rule"}}), "type", "value 'rule' does not have a value in the enumeration 'group'")
	pvetest.ExpectParamError(t, post(url.Values{"group": {"test"}}), "nodes", "property is missing and it is not optional")
	pvetest.ExpectParamError(t, post(url.Values{"group": {"test"}, "nodes": {"pve1:x"}}), "nodes", "invalid format - value does not look like a valid ha group node\n")

	put := func(v url.Values) pvetest.Result { return c.Form(http.MethodPut, "/cluster/ha/groups/prod", v) }
	pvetest.Expect(t, put(url.Values{"nofailback": {"1"}, "delete": {"restricted"}, "digest": {digest}}), http.StatusOK, "OK")
	expectDie(t, put(url.Values{"comment": {"x"}, "digest": {digest}}), "update ha group failed: detected modified configuration - file changed by other user? Try again.")
	expectDie(t, put(url.Values{"delete": {"nodes"}}), "update ha group failed: unable to delete required option 'nodes'")
	expectDie(t, c.Form(http.MethodPut, "/cluster/ha/groups/test", url.Values{"comment": {"x"}}), "update ha group failed: no such ha group 'test'")
	if g := dataMap(t, c.Get("/cluster/ha/groups/prod")); g["nofailback"] != float64(1) || g["restricted"] != nil {
		t.Errorf("group = %v", g)
	}
	if list := pvetest.DataList(t, c.Get("/cluster/ha/groups")); len(list) != 1 || list[0]["group"] != "prod" {
		t.Errorf("groups = %v", list)
	}
	expectDie(t, c.Get("/cluster/ha/groups/test"), "no such ha group 'test'")

	// resources take groups on PVE 8, and no failback
	res := func(v url.Values) pvetest.Result { return c.Form(http.MethodPost, "/cluster/ha/resources", v) }
	expectDie(t, res(url.Values{"sid": {"vm:100"}, "group": {"test"}}), "HA group 'test' does not exist")
	pvetest.ExpectParamError(t, res(url.Values{"sid": {"vm:100"}, "failback": {"0"}}), "failback", "property is not defined in schema and the schema does not allow additional properties")
	expectDie(t, res(url.Values{"sid": {"999"}}), "unable do add resource - VM/CT 999 does not exist")
	pvetest.Expect(t, res(url.Values{"sid": {"vm:100"}, "group": {"prod"}}), http.StatusOK, "OK")
	if r := dataMap(t, c.Get("/cluster/ha/resources/vm:100")); r["group"] != "prod" {
		t.Errorf("resource = %v", r)
	}
	expectDie(t, c.Form(http.MethodPut, "/cluster/ha/resources/vm:100", url.Values{"state": {"stopped"}, "digest": {strings.Repeat("0", 40)}}),
		"update resource failed: detected modified configuration - file changed by other user? Try again.")
	var service map[string]any
	for _, e := range pvetest.DataList(t, c.Get("/cluster/ha/status/current")) {
		if e["id"] == "service:vm:100" {
			service = e
		}
		if e["type"] == "fencing" {
			t.Errorf("PVE 8 has no fencing entry: %v", e)
		}
	}
	if service["group"] != "prod" || service["failback"] != nil || service["request_state"] != "started" {
		t.Errorf("service = %v", service)
	}
	expectDie(t, c.Form(http.MethodDelete, "/cluster/ha/groups/prod", nil), "delete ha group failed: ha group is used by service 'vm:100'")
	pvetest.ExpectParamError(t, c.Form(http.MethodDelete, "/cluster/ha/resources/vm:100", url.Values{"purge": {"1"}}), "purge", "property is not defined in schema and the schema does not allow additional properties")
	pvetest.Expect(t, c.Form(http.MethodDelete, "/cluster/ha/resources/vm:100", nil), http.StatusOK, "OK")
	pvetest.Expect(t, c.Form(http.MethodDelete, "/cluster/ha/groups/prod", nil), http.StatusOK, "OK")
	pvetest.Expect(t, c.Form(http.MethodDelete, "/cluster/ha/groups/prod", nil), http.StatusOK, "OK")

	// PVE 8 has no rules: an unknown path
	pvetest.Expect(t, c.Get("/cluster/ha/rules"), http.StatusNotImplemented, "Method 'GET /cluster/ha/rules' not implemented")
	pvetest.Expect(t, c.Form(http.MethodPost, "/cluster/ha/rules", url.Values{"rule": {"r"}}), http.StatusNotImplemented, "Method 'POST /cluster/ha/rules' not implemented")
	if idx := pvetest.DataList(t, c.Get("/cluster/ha")); len(idx) != 3 {
		t.Errorf("index = %v", idx)
	}
}

func TestHAStatus(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{HARound: manualHA})
	c := newCaller(t, lab).WithToken()
	// before the CRM ran: quorum and a fencing entry on standby
	got := pvetest.DataList(t, c.Get("/cluster/ha/status/current"))
	want := []map[string]any{
		{"id": "quorum", "type": "quorum", "node": "pve1", "status": "OK", "quorate": float64(1)},
		{"id": "fencing", "type": "fencing", "node": "pve1", "status": "standby (CRM watchdog standby)", "armed-state": "standby"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("status = %v", got)
	}
	if ms := dataMap(t, c.Get("/cluster/ha/status/manager_status")); !reflect.DeepEqual(ms, map[string]any{"manager_status": map[string]any{}, "quorum": map[string]any{"node": "pve1", "quorate": float64(1)}}) {
		t.Errorf("manager status = %v", ms)
	}
	if idx := pvetest.DataList(t, c.Get("/cluster/ha/status")); len(idx) != 2 || idx[0]["name"] != "current" || idx[1]["name"] != "manager_status" {
		t.Errorf("status index = %v", idx)
	}

	createSimpleVM(t, c, "pve2", 100, nil)
	addGuests(lab, "lxc", 101)
	pvetest.Expect(t, c.Form(http.MethodPost, "/cluster/ha/resources", url.Values{"sid": {"vm:100"}, "comment": {"db"}}), http.StatusOK, "OK")
	pvetest.Expect(t, c.Form(http.MethodPost, "/cluster/ha/resources", url.Values{"sid": {"ct:101"}, "state": {"ignored"}}), http.StatusOK, "OK")
	pvetest.Expect(t, c.Form(http.MethodPut, "/cluster/options", url.Values{"crs": {"ha=static"}}), http.StatusOK, "OK")
	// pve1's CRM becomes master and has vm:100 started; pve2's LRM starts it,
	// the master has not read the result yet (ha_manager.go)
	crmRound(lab)
	lrmRound(t, lab, c)
	byID := map[string]map[string]any{}
	var ids []string
	for _, e := range pvetest.DataList(t, c.Get("/cluster/ha/status/current")) {
		byID[e["id"].(string)] = e
		ids = append(ids, e["id"].(string))
	}
	if !slices.Equal(ids, []string{"quorum", "master", "fencing", "lrm:pve1", "lrm:pve2", "lrm:pve3", "service:vm:100", "service:ct:101"}) {
		t.Errorf("entries = %v", ids)
	}
	statusRE := func(re string) *regexp.Regexp { return regexp.MustCompile("^" + re + "$") }
	when := `\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}`
	if m := byID["master"]; m["node"] != "pve1" || !statusRE(`pve1 \(active, `+when+`\) - static load CRS`).MatchString(m["status"].(string)) {
		t.Errorf("master = %v", m)
	}
	if f := byID["fencing"]; f["status"] != "armed (CRM watchdog active)" || f["armed-state"] != "armed" {
		t.Errorf("fencing = %v", f)
	}
	if l := byID["lrm:pve2"]; !statusRE(`pve2 \(active, watchdog active, ` + when + `\)`).MatchString(l["status"].(string)) {
		t.Errorf("lrm pve2 = %v", l)
	}
	if l := byID["lrm:pve1"]; !statusRE(`pve1 \(idle, watchdog standby, ` + when + `\)`).MatchString(l["status"].(string)) {
		t.Errorf("lrm pve1 = %v", l)
	}
	// started by the CRM, "starting" until the master read the LRM's result
	svc := byID["service:vm:100"]
	wantSvc := map[string]any{"id": "service:vm:100", "type": "service", "sid": "vm:100", "node": "pve2", "crm_state": "started", "state": "starting",
		"status": "vm:100 (pve2, starting)", "request_state": "started", "max_restart": float64(1), "max_relocate": float64(1), "failback": float64(1), "comment": "db"}
	if !reflect.DeepEqual(svc, wantSvc) {
		t.Errorf("service = %v, want %v", svc, wantSvc)
	}
	crmRound(lab)
	if svc := byIDOf(t, c)["service:vm:100"]; svc["state"] != "started" || svc["status"] != "vm:100 (pve2, started)" {
		t.Errorf("service = %v", svc)
	}
	if svc := byID["service:ct:101"]; svc["state"] != "ignored" || svc["crm_state"] != nil || svc["status"] != "ct:101 (pve1, ignored)" {
		t.Errorf("ignored service = %v", svc)
	}

	ms := dataMap(t, c.Get("/cluster/ha/status/manager_status"))
	m := ms["manager_status"].(map[string]any)
	ss := m["service_status"].(map[string]any)
	vm := ss["vm:100"].(map[string]any)
	if m["master_node"] != "pve1" || len(ss) != 1 || vm["node"] != "pve2" || vm["state"] != "started" || vm["running"] != float64(1) || len(vm["uid"].(string)) != 22 ||
		!reflect.DeepEqual(m["node_status"], map[string]any{"pve1": "online", "pve2": "online", "pve3": "online"}) {
		t.Errorf("manager status = %v", ms)
	}
	if lrm := ms["lrm_status"].(map[string]any)["pve2"].(map[string]any); lrm["mode"] != "active" || lrm["state"] != "active" {
		t.Errorf("lrm status = %v", lrm)
	}
}

func byIDOf(t *testing.T, c *pvetest.Caller) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, e := range pvetest.DataList(t, c.Get("/cluster/ha/status/current")) {
		out[e["id"].(string)] = e
	}
	return out
}

func TestHALockTimeout(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()
	addGuests(lab, "qemu", 100)
	lab.Faults().SetLockContention(1)
	expectDie(t, c.Form(http.MethodPost, "/cluster/ha/resources", url.Values{"sid": {"vm:100"}}), "create resource failed: cfs-lock 'domain-ha' error: got lock request timeout")
	expectDie(t, c.Form(http.MethodPut, "/cluster/options", url.Values{"keyboard": {"de"}}), "cfs-lock 'file-datacenter_cfg' error: got lock request timeout")
}

// go-proxmox v0.8.0's HA calls work against the lab unchanged.
func TestGoProxmoxHA(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{HARound: manualHA})
	addGuests(lab, "qemu", 100, 101)
	client := goProxmoxClients(t, lab)["token"]
	ctx := context.Background()
	cluster, err := client.Cluster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stopped, two, no := "stopped", 2, proxmox.IntOrBool(false)
	for _, sid := range []string{"vm:100", "vm:101"} {
		if err := cluster.NewHAResource(ctx, &proxmox.HAResourceCreateOption{SID: sid, State: &stopped, MaxRestart: &two, Failback: &no, Comment: "lab"}); err != nil {
			t.Fatalf("NewHAResource(%s): %v", sid, err)
		}
	}
	list, err := cluster.HAResources(ctx, "vm")
	if err != nil || len(list) != 2 || list[0].SID != "vm:100" || *list[0].State != "stopped" || *list[0].MaxRestart != 2 || bool(*list[0].Failback) || list[0].Digest == "" {
		t.Fatalf("HAResources = %v, %v", list, err)
	}
	started := "started"
	if err := cluster.HAResourceUpdate(ctx, "vm:100", &proxmox.HAResourceUpdateOption{State: &started, Delete: "comment", Digest: list[0].Digest}); err != nil {
		t.Fatalf("HAResourceUpdate: %v", err)
	}
	if r, err := cluster.HAResource(ctx, "vm:100"); err != nil || *r.State != "started" || r.Comment != "" {
		t.Errorf("HAResource = %+v, %v", r, err)
	}

	err = cluster.NewHARule(ctx, &proxmox.HARuleCreateOption{Rule: "apart", Type: "resource-affinity", Resources: "vm:100,vm:101", Affinity: "negative"})
	if err != nil {
		t.Fatalf("NewHARule: %v", err)
	}
	err = cluster.NewHARule(ctx, &proxmox.HARuleCreateOption{Rule: "home", Type: "node-affinity", Resources: "vm:100", Nodes: "pve2,pve1", Strict: true})
	if err != nil {
		t.Fatalf("NewHARule: %v", err)
	}
	rules, err := cluster.HARules(ctx, "vm:100", "node-affinity")
	if err != nil || len(rules) != 1 || rules[0].Rule != "home" || rules[0].Nodes != "pve1,pve2" || !bool(rules[0].Strict) {
		t.Fatalf("HARules = %v, %v", rules, err)
	}
	if err := cluster.HARuleUpdate(ctx, "home", &proxmox.HARuleUpdateOption{Type: "node-affinity", Comment: "prefer pve1", Digest: rules[0].Digest}); err != nil {
		t.Fatalf("HARuleUpdate: %v", err)
	}
	if r, err := cluster.HARule(ctx, "home"); err != nil || r.Comment != "prefer pve1" || r.Resources != "vm:100" {
		t.Errorf("HARule = %+v, %v", r, err)
	}
	if err := cluster.HARuleDelete(ctx, "home"); err != nil {
		t.Fatalf("HARuleDelete: %v", err)
	}

	crmRound(lab) // pve1's CRM becomes master
	status, err := cluster.HAStatus(ctx)
	if err != nil || len(status) != 8 || status[0].Type != "quorum" || status[0].Quorate != 1 || status[6].ID != "service:vm:100" || status[6].ServiceState != "starting" {
		t.Errorf("HAStatus = %v, %v", status, err)
	}
	ms, err := cluster.HAManagerStatus(ctx)
	if err != nil || ms.ManagerStatus["master_node"] != "pve1" || ms.NodeStatus != nil || ms.Quorum["quorate"] != float64(1) {
		t.Errorf("HAManagerStatus = %+v, %v", ms, err)
	}
	// PVE lists /cluster/ha by "id", go-proxmox reads "subdir": four empty names
	if subdirs, err := cluster.HASubdirs(ctx); err != nil || len(subdirs) != 4 {
		t.Errorf("HASubdirs = %q, %v", subdirs, err)
	}

	if err := cluster.HAResourceDelete(ctx, "vm:101", true); err != nil {
		t.Fatalf("HAResourceDelete: %v", err)
	}
	if rules, err := cluster.HARules(ctx, "", ""); err != nil || len(rules) != 1 || rules[0].Resources != "vm:100" {
		t.Errorf("HARules after purge = %v, %v", rules, err)
	}
	if _, err := cluster.HAGroups(ctx); err == nil || !strings.Contains(err.Error(), "ha groups have been migrated to rules") {
		t.Errorf("HAGroups = %v", err)
	}
}

func TestGoProxmoxHAGroupsOnPVE8(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{Version: "8.4"})
	addGuests(lab, "qemu", 100)
	client := goProxmoxClients(t, lab)["token"]
	ctx := context.Background()
	cluster, err := client.Cluster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := cluster.NewHAGroup(ctx, &proxmox.HAGroupCreateOption{Group: "prod", Nodes: "pve1:2,pve2", Restricted: true}); err != nil {
		t.Fatalf("NewHAGroup: %v", err)
	}
	groups, err := cluster.HAGroups(ctx)
	if err != nil || len(groups) != 1 || groups[0].Group != "prod" || groups[0].Nodes != "pve1:2,pve2" || !bool(groups[0].Restricted) {
		t.Fatalf("HAGroups = %v, %v", groups, err)
	}
	if err := cluster.HAGroupUpdate(ctx, "prod", &proxmox.HAGroupUpdateOption{Comment: "production", NoFailback: true, Digest: groups[0].Digest}); err != nil {
		t.Fatalf("HAGroupUpdate: %v", err)
	}
	if g, err := cluster.HAGroup(ctx, "prod"); err != nil || g.Comment != "production" || !bool(g.NoFailback) {
		t.Errorf("HAGroup = %+v, %v", g, err)
	}
	if err := cluster.NewHAResource(ctx, &proxmox.HAResourceCreateOption{SID: "vm:100", Group: "prod"}); err != nil {
		t.Fatalf("NewHAResource: %v", err)
	}
	if err := cluster.HAGroupDelete(ctx, "prod"); err == nil || !strings.Contains(err.Error(), "ha group is used by service 'vm:100'") {
		t.Errorf("HAGroupDelete = %v", err)
	}
	if err := cluster.HAResourceDelete(ctx, "vm:100", false); err != nil {
		t.Fatalf("HAResourceDelete: %v", err)
	}
	if err := cluster.HAGroupDelete(ctx, "prod"); err != nil {
		t.Fatalf("HAGroupDelete: %v", err)
	}
	if _, err := cluster.HARules(ctx, "", ""); err == nil || !strings.Contains(err.Error(), "not implemented") {
		t.Errorf("HARules on PVE 8 = %v", err)
	}
}
