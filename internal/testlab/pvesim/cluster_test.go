package pvesim

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/machine"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/perl"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/pvesim/pvetest"
)

// statusEntries returns /cluster/status by id ("cluster", "node/pve1", ...).
func statusEntries(t *testing.T, c *pvetest.Caller) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, e := range pvetest.DataList(t, c.Get("/cluster/status")) {
		out[e["id"].(string)] = e
	}
	return out
}

// nodeNames returns the "node" of each entry of a listing.
func nodeNames(list []map[string]any) []string {
	var out []string
	for _, e := range list {
		out = append(out, e["node"].(string))
	}
	return out
}

// checkStatus checks /cluster/status as seen from a node: the cluster entry
// and each node's online flag (the asked node is local).
func checkStatus(t *testing.T, c *pvetest.Caller, name string, version int, quorate bool, online map[string]bool) {
	t.Helper()
	st := statusEntries(t, c)
	cl := st["cluster"]
	if cl == nil || cl["name"] != name || cl["version"] != float64(version) || cl["quorate"] != float64(perl.BoolInt(quorate)) || cl["nodes"] != float64(len(online)) {
		t.Fatalf("cluster entry %v, want %s version %d quorate %v nodes %d", cl, name, version, quorate, len(online))
	}
	if len(st) != len(online)+1 {
		t.Fatalf("status has %d entries, want %d: %v", len(st), len(online)+1, st)
	}
	for node, on := range online {
		e := st["node/"+node]
		if e == nil || e["online"] != float64(perl.BoolInt(on)) || e["local"] != float64(perl.BoolInt(node == c.Node)) || e["type"] != "node" || e["name"] != node {
			t.Errorf("%s: entry of %s = %v, want online %v", c.Node, node, e, on)
		}
	}
}

// joinParams are the parameters of a join to member of lab's cluster.
func joinParams(lab *PVE, member string) url.Values {
	return url.Values{"hostname": {member}, "fingerprint": {lab.NodeFingerprint(member)}, "password": {lab.Password()}}
}

// createCluster creates cluster name on node, as the API client of a user would.
func createCluster(t *testing.T, c *pvetest.Caller, name string) {
	t.Helper()
	lines := runTask(t, c, http.MethodPost, "/cluster/config", url.Values{"clustername": {name}})
	if !slices.Contains(lines, "Writing corosync config to /etc/pve/corosync.conf") {
		t.Errorf("create log %q", lines)
	}
}

func TestStandaloneNodes(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{Standalone: true})
	c := newCaller(t, lab).WithToken()
	if lab.Endpoint() != lab.NodeEndpoint("pve1") || lab.Fingerprint() != lab.NodeFingerprint("pve1") || lab.NodeEndpoint("pve4") != "" {
		t.Fatalf("Endpoint %s, pve1 %s", lab.Endpoint(), lab.NodeEndpoint("pve1"))
	}
	seen := map[string]bool{}
	for _, name := range []string{"pve1", "pve2", "pve3"} {
		nc := c.OnNode(name)
		ep, fp := lab.NodeEndpoint(name), lab.NodeFingerprint(name)
		if seen[ep] || seen[fp] {
			t.Fatalf("%s shares endpoint %s or fingerprint %s", name, ep, fp)
		}
		seen[ep], seen[fp] = true, true

		st := pvetest.DataList(t, nc.Get("/cluster/status"))
		if len(st) != 1 || st[0]["id"] != "node/"+name || st[0]["local"] != float64(1) || st[0]["nodeid"] != float64(0) || st[0]["online"] != float64(1) {
			t.Errorf("%s: status %v", name, st)
		}
		nodes := pvetest.DataList(t, nc.Get("/nodes"))
		if len(nodes) != 1 || nodes[0]["node"] != name || nodes[0]["ssl_fingerprint"] != fp || nodes[0]["status"] != "online" {
			t.Errorf("%s: nodes %v", name, nodes)
		}
		if list := pvetest.DataList(t, nc.Get("/cluster/config/nodes")); len(list) != 0 {
			t.Errorf("%s: corosync nodes %v", name, list)
		}
		res := nc.Get("/cluster/config/join")
		pvetest.Expect(t, res, http.StatusFailedDependency, "node is not in a cluster, no join info available!")
		if res.Body["message"] != "node is not in a cluster, no join info available!" {
			t.Errorf("message %q", res.Body["message"])
		}
		if res := nc.Get("/cluster/config/totem"); res.Status != http.StatusOK || res.Body["data"] != nil {
			t.Errorf("%s: totem %s", name, res.Raw)
		}
		// another node is not reachable through this one
		other := "pve2"
		if name == other {
			other = "pve1"
		}
		expectError(t, nc.Get("/nodes/"+other+"/status"), "hostname lookup '"+other+"' failed - failed to get address info for: "+other+": Name or service not known")
		// no cluster name at login
		login := dataMap(t, newCaller(t, lab).OnNode(name).Form(http.MethodPost, "/access/ticket", url.Values{"username": {"root@pam"}, "password": {lab.Password()}}))
		if _, ok := login["clustername"]; ok {
			t.Errorf("%s: clustername in %v", name, login)
		}
	}

	// each node has its own VMID space
	for _, name := range []string{"pve1", "pve2"} {
		nc := c.OnNode(name)
		runTask(t, nc, http.MethodPost, "/nodes/"+name+"/qemu", url.Values{"vmid": {"100"}})
		res := pvetest.DataList(t, nc.Form(http.MethodGet, "/cluster/resources", url.Values{"type": {"vm"}}))
		if len(res) != 1 || res[0]["node"] != name {
			t.Errorf("%s: resources %v", name, res)
		}
	}
	if got := pvetest.DataList(t, c.OnNode("pve3").Form(http.MethodGet, "/cluster/resources", url.Values{"type": {"vm"}})); len(got) != 0 {
		t.Errorf("pve3 resources %v", got)
	}
}

func TestClusterCreateAndJoin(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{Standalone: true})
	requireSchema(t, lab)
	c := newCaller(t, lab).WithToken()
	pve1, pve2, pve3 := c.OnNode("pve1"), c.OnNode("pve2"), c.OnNode("pve3")

	// create: a worker on the node asked
	upid := upidOf(t, pve1.Form(http.MethodPost, "/cluster/config", url.Values{"clustername": {"lab"}}))
	if !strings.Contains(upid, ":clustercreate:lab:root@pam!lab:") || !strings.HasPrefix(upid, "UPID:pve1:") {
		t.Fatalf("UPID %s", upid)
	}
	exit, lines := waitTask(t, pve1, upid)
	want := []string{
		"Corosync Cluster Engine Authentication key generator.",
		"Gathering 2048 bits for key from /dev/urandom.",
		"Writing corosync key to /etc/corosync/authkey.",
		"Writing corosync config to /etc/pve/corosync.conf",
		"Restart corosync and cluster filesystem",
		"TASK OK",
	}
	if exit != "OK" || !slices.Equal(lines, want) {
		t.Fatalf("create: %s %q", exit, lines)
	}
	checkStatus(t, pve1, "lab", 1, true, map[string]bool{"pve1": true})
	expectError(t, pve1.Form(http.MethodPost, "/cluster/config", url.Values{"clustername": {"again"}}), "cluster config '/etc/pve/corosync.conf' already exists")

	info := dataMap(t, pve1.Get("/cluster/config/join"))
	if info["preferred_node"] != "pve1" || !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(info["config_digest"].(string)) {
		t.Errorf("join info %v", info)
	}
	nl := info["nodelist"].([]any)
	n1 := nl[0].(map[string]any)
	if len(nl) != 1 || n1["name"] != "pve1" || n1["nodeid"] != "1" || n1["quorum_votes"] != "1" || n1["ring0_addr"] != machine.MgmtAddress(1) ||
		n1["pve_addr"] != machine.MgmtAddress(1) || n1["pve_fp"] != lab.NodeFingerprint("pve1") {
		t.Errorf("nodelist %v", nl)
	}
	totem := info["totem"].(map[string]any)
	if totem["cluster_name"] != "lab" || totem["config_version"] != "1" || totem["secauth"] != "on" || totem["link_mode"] != "passive" ||
		totem["interface"].(map[string]any)["0"].(map[string]any)["linknumber"] != "0" {
		t.Errorf("totem %v", totem)
	}
	if got := dataMap(t, pve1.Get("/cluster/config/totem")); got["config_version"] != "1" || got["cluster_name"] != "lab" {
		t.Errorf("totem %v", got)
	}
	expectError(t, pve1.Form(http.MethodGet, "/cluster/config/join", url.Values{"node": {"pve2"}}), "unknown node 'pve2'")

	// join pve2 through its own endpoint, with the creator's address and fingerprint
	oldFP := lab.NodeFingerprint("pve2")
	upid = upidOf(t, pve2.Form(http.MethodPost, "/cluster/config/join", url.Values{
		"hostname": {n1["pve_addr"].(string)}, "fingerprint": {n1["pve_fp"].(string)}, "password": {lab.Password()},
	}))
	if !strings.HasPrefix(upid, "UPID:pve2:") || !strings.HasSuffix(upid, ":clusterjoin::root@pam!lab:") {
		t.Fatalf("UPID %s", upid)
	}
	// the member has added pve2 at once; until pve2 runs its cluster stack it is offline, and the
	// two-vote cluster has no quorum
	checkStatus(t, pve1, "lab", 2, false, map[string]bool{"pve1": true, "pve2": false})
	exit, lines = waitTask(t, pve2, upid)
	if exit != "OK" || lines[0] != "Establishing API connection with host '"+machine.MgmtAddress(1)+"'" ||
		!slices.Contains(lines, "No cluster network links passed explicitly, fallback to local node IP '"+machine.MgmtAddress(2)+"'") ||
		lines[len(lines)-2] != "successfully added node 'pve2' to cluster." {
		t.Fatalf("join: %s %q", exit, lines)
	}
	if lab.NodeFingerprint("pve2") == oldFP {
		t.Error("pve2 kept its certificate")
	}
	checkStatus(t, pve1, "lab", 2, true, map[string]bool{"pve1": true, "pve2": true})
	checkStatus(t, pve2, "lab", 2, true, map[string]bool{"pve1": true, "pve2": true})

	// join pve3 through pve2, by name
	runTask(t, pve3, http.MethodPost, "/cluster/config/join", joinParams(lab, "pve2"))
	for _, nc := range []*pvetest.Caller{pve1, pve2, pve3} {
		checkStatus(t, nc, "lab", 3, true, map[string]bool{"pve1": true, "pve2": true, "pve3": true})
		if got := nodeNames(pvetest.DataList(t, nc.Get("/nodes"))); !slices.Equal(got, []string{"pve1", "pve2", "pve3"}) {
			t.Errorf("%s: /nodes %v", nc.Node, got)
		}
	}
	nodes := pvetest.DataList(t, pve3.Get("/cluster/config/nodes"))
	if len(nodes) != 3 || nodes[2]["node"] != "pve3" || nodes[2]["nodeid"] != "3" || nodes[2]["ring0_addr"] != machine.MgmtAddress(3) {
		t.Errorf("corosync nodes %v", nodes)
	}
	info = dataMap(t, pve3.Get("/cluster/config/join"))
	if info["preferred_node"] != "pve3" || len(info["nodelist"].([]any)) != 3 || info["totem"].(map[string]any)["config_version"] != "3" {
		t.Errorf("join info %v", info)
	}
	for _, e := range info["nodelist"].([]any) {
		n := e.(map[string]any)
		if n["pve_fp"] != lab.NodeFingerprint(n["name"].(string)) {
			t.Errorf("pve_fp of %v", n)
		}
	}

	// every member serves the cluster: calls are proxied, guests are cluster-wide
	if st := dataMap(t, pve3.Get("/nodes/pve1/status")); st["uptime"] == nil {
		t.Errorf("status %v", st)
	}
	runTask(t, pve1, http.MethodPost, "/nodes/pve2/qemu", url.Values{"vmid": {"100"}})
	vms := pvetest.DataList(t, pve3.Form(http.MethodGet, "/cluster/resources", url.Values{"type": {"vm"}}))
	if len(vms) != 1 || vms[0]["node"] != "pve2" {
		t.Errorf("resources %v", vms)
	}
	login := dataMap(t, newCaller(t, lab).OnNode("pve3").Form(http.MethodPost, "/access/ticket", url.Values{"username": {"root@pam"}, "password": {lab.Password()}}))
	if login["clustername"] != "lab" {
		t.Errorf("login %v", login)
	}
}

func TestClusterJoinRefusals(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{Standalone: true, Nodes: 4})
	requireSchema(t, lab)
	c := newCaller(t, lab).WithToken()
	pve1, pve2, pve3, pve4 := c.OnNode("pve1"), c.OnNode("pve2"), c.OnNode("pve3"), c.OnNode("pve4")
	createCluster(t, pve1, "lab")
	join := "/cluster/config/join"

	// a node with guests
	runTask(t, pve2, http.MethodPost, "/nodes/pve2/qemu", url.Values{"vmid": {"100"}})
	lines := failTask(t, pve2, http.MethodPost, join, joinParams(lab, "pve1"), "Check if node may join a cluster failed!")
	if !slices.Equal(lines, []string{"detected the following error(s):", "* this host already contains virtual guests", "TASK ERROR: Check if node may join a cluster failed!"}) {
		t.Errorf("log %q", lines)
	}

	// the member's fingerprint, not another node's
	params := joinParams(lab, "pve1")
	params.Set("fingerprint", lab.NodeFingerprint("pve3"))
	lines = failTask(t, pve3, http.MethodPost, join, params, "fingerprint '"+lab.NodeFingerprint("pve1")+"' not verified, abort!")
	if !slices.Equal(lines[:1], []string{"Establishing API connection with host 'pve1'"}) {
		t.Errorf("log %q", lines)
	}
	// a fingerprint in lower case is fine, a wrong password is not
	params = joinParams(lab, "pve1")
	params.Set("fingerprint", strings.ToLower(lab.NodeFingerprint("pve1")))
	params.Set("password", "wrong")
	failTask(t, pve3, http.MethodPost, join, params, "401 authentication failure")
	// unknown and unreachable hosts
	params = joinParams(lab, "pve1")
	params.Set("hostname", "pve9")
	failTask(t, pve3, http.MethodPost, join, params, "500 Can't connect to pve9:8006 (Name or service not known)")
	// a standalone node is no cluster member
	lines = failTask(t, pve3, http.MethodPost, join, joinParams(lab, "pve4"), "Cluster join aborted!")
	if n := len(lines); n < 3 || lines[n-3] != "An error occurred on the cluster node: invalid corosync.conf" || lines[n-2] != "! no nodes found" {
		t.Errorf("log %q", lines)
	}
	// a link address the node does not have
	params = joinParams(lab, "pve1")
	params.Set("link0", "10.9.9.9")
	lines = failTask(t, pve3, http.MethodPost, join, params, "Check if node may join a cluster failed!")
	if !slices.Equal(lines, []string{"detected the following error(s):", "* link0: cannot use IP '10.9.9.9', not found on local node!", "", "TASK ERROR: Check if node may join a cluster failed!"}) {
		t.Errorf("log %q", lines)
	}
	// nothing changed
	checkStatus(t, pve1, "lab", 1, true, map[string]bool{"pve1": true})

	// while pve3 joins, the cluster counts it but it is offline: no quorum for another join
	upid := upidOf(t, pve3.Form(http.MethodPost, join, joinParams(lab, "pve1")))
	lines = failTask(t, pve4, http.MethodPost, join, joinParams(lab, "pve1"), "Cluster join aborted!")
	if !slices.Contains(lines, "An error occurred on the cluster node: cluster not ready - no quorum?") {
		t.Errorf("log %q", lines)
	}
	if exit, lines := waitTask(t, pve3, upid); exit != "OK" {
		t.Fatalf("join: %s %q", exit, lines)
	}
	runTask(t, pve4, http.MethodPost, join, joinParams(lab, "pve3"))
	checkStatus(t, pve1, "lab", 3, true, map[string]bool{"pve1": true, "pve3": true, "pve4": true})

	// joining twice
	lines = failTask(t, pve3, http.MethodPost, join, joinParams(lab, "pve1"), "Check if node may join a cluster failed!")
	want := []string{
		"detected the following error(s):",
		"* authentication key '/etc/corosync/authkey' already exists",
		"* cluster config '/etc/pve/corosync.conf' already exists",
		"* corosync is already running, is this node already in a cluster?!",
		"TASK ERROR: Check if node may join a cluster failed!",
	}
	if !slices.Equal(lines, want) {
		t.Errorf("log %q", lines)
	}
	// forced, the member refuses to add a node it has under other settings
	params = joinParams(lab, "pve1")
	params.Set("force", "1")
	params.Set("nodeid", "7")
	lines = failTask(t, pve3, http.MethodPost, join, params, "Cluster join aborted!")
	if !slices.Contains(lines, "WARNING : detected error but forced to continue!") || !slices.Contains(lines, "An error occurred on the cluster node: can't add existing node 'pve3'") {
		t.Errorf("log %q", lines)
	}
	expectError(t, pve3.Form(http.MethodPost, "/cluster/config", url.Values{"clustername": {"other"}}), "cluster config '/etc/pve/corosync.conf' already exists")
	// forced, a node with guests joins; its configuration database, guests
	// included, is replaced by the cluster's
	params = joinParams(lab, "pve1")
	params.Set("force", "1")
	lines = runTask(t, pve2, http.MethodPost, join, params)
	if !slices.Equal(lines[:4], []string{"detected the following error(s):", "* this host already contains virtual guests", "", "WARNING : detected error but forced to continue!"}) {
		t.Errorf("log %q", lines)
	}
	if vms := pvetest.DataList(t, pve2.Form(http.MethodGet, "/cluster/resources", url.Values{"type": {"vm"}})); len(vms) != 0 {
		t.Errorf("guests %v", vms)
	}
	checkStatus(t, pve2, "lab", 4, true, map[string]bool{"pve1": true, "pve2": true, "pve3": true, "pve4": true})

	// the fingerprint is required through the API (pvecm add can ask instead)
	pvetest.ExpectParamError(t, pve2.Form(http.MethodPost, join, url.Values{"hostname": {"pve1"}, "password": {"x"}}), "fingerprint", "property is missing and it is not optional")
}

func TestClusterQuorum(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{StatdInterval: statdTick})
	c := newCaller(t, lab).WithToken()
	pve1 := c.OnNode("pve1")
	all := map[string]bool{"pve1": true, "pve2": true, "pve3": true}
	checkStatus(t, pve1, clusterName, 3, true, all)
	runTask(t, pve1, http.MethodPost, "/nodes/pve3/qemu", url.Values{"vmid": {"100"}})
	runTask(t, pve1, http.MethodPost, "/nodes/pve3/qemu/100/status/start", nil)
	vmStatus := func() any {
		afterStatd(lab)
		return pvetest.DataList(t, pve1.Form(http.MethodGet, "/cluster/resources", url.Values{"type": {"vm"}}))[0]["status"]
	}
	if st := vmStatus(); st != "running" {
		t.Fatalf("VM %v", st)
	}

	// one node off: still a majority
	if err := lab.StopNode("pve3"); err != nil {
		t.Fatal(err)
	}
	if st := vmStatus(); st != "unknown" {
		t.Errorf("VM on the stopped node: %v", st)
	}
	if lab.NodeRunning("pve3") {
		t.Error("pve3 still running")
	}
	checkStatus(t, pve1, clusterName, 3, true, map[string]bool{"pve1": true, "pve2": true, "pve3": false})
	checkStatus(t, c.OnNode("pve2"), clusterName, 3, true, map[string]bool{"pve1": true, "pve2": true, "pve3": false})
	expectNull(t, pve1.Form(http.MethodPost, "/pools", url.Values{"poolid": {"dev"}}))

	// two off: no quorum
	if err := lab.StopNode("pve2"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.HTTP.Get(lab.NodeEndpoint("pve2") + "/api2/json/version"); err == nil {
		t.Fatal("a stopped node answers")
	}
	checkStatus(t, pve1, clusterName, 3, false, map[string]bool{"pve1": true, "pve2": false, "pve3": false})
	nodes := pvetest.DataList(t, pve1.Get("/nodes"))
	if len(nodes) != 3 || nodes[0]["status"] != "online" || nodes[1]["status"] != "offline" || nodes[2]["status"] != "offline" || nodes[1]["uptime"] != nil {
		t.Errorf("nodes %v", nodes)
	}
	res := pvetest.DataList(t, pve1.Form(http.MethodGet, "/cluster/resources", url.Values{"type": {"node"}}))
	if res[1]["status"] != "offline" || res[1]["cpu"] != nil {
		t.Errorf("resources %v", res)
	}
	// calls for an offline node do not get through pveproxy
	res2 := pve1.Get("/nodes/pve2/status")
	pvetest.Expect(t, res2, 595, "No route to host")

	// writes fail as PVE's do without quorum; reads and node-local writes work
	expectError(t, pve1.Form(http.MethodPost, "/pools", url.Values{"poolid": {"prod"}}), "create pool failed: cfs-lock 'file-user_cfg' error: no quorum!")
	expectError(t, pve1.Form(http.MethodPost, "/nodes/pve1/qemu", url.Values{"vmid": {"100"}}), "cluster not ready - no quorum?")
	expectError(t, pve1.Form(http.MethodDelete, "/pools", url.Values{"poolid": {"dev"}}), "delete pool failed: cfs-lock 'file-user_cfg' error: no quorum!")
	pvetest.Expect(t, pve1.Form(http.MethodPost, "/nodes/pve1/network", url.Values{"iface": {"vmbr9"}, "type": {"bridge"}}), http.StatusOK, "OK")
	pvetest.DataList(t, pve1.Get("/pools"))
	if login := newCaller(t, lab).WithTicket(); login == nil {
		t.Fatal("no login")
	}

	// back on: quorum again
	if err := lab.StartNode("pve2"); err != nil {
		t.Fatal(err)
	}
	checkStatus(t, c.OnNode("pve2"), clusterName, 3, true, map[string]bool{"pve1": true, "pve2": true, "pve3": false})
	expectNull(t, pve1.Form(http.MethodPost, "/pools", url.Values{"poolid": {"prod"}}))
	if err := lab.StartNode("pve3"); err != nil {
		t.Fatal(err)
	}
	checkStatus(t, c.OnNode("pve3"), clusterName, 3, true, all)
	// the node has booted again; its guests died with it
	if st := dataMap(t, pve1.Get("/nodes/pve3/status")); st["uptime"].(float64) > 60 {
		t.Errorf("uptime %v", st["uptime"])
	}
	if st := vmStatus(); st != "stopped" {
		t.Errorf("VM after the power cycle: %v", st)
	}
}

func TestClusterDeleteNode(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{Nodes: 4})
	c := newCaller(t, lab).WithToken()
	pve1 := c.OnNode("pve1")
	del := func(node string) pvetest.Result {
		return pve1.Form(http.MethodDelete, "/cluster/config/nodes/"+node, nil)
	}

	expectError(t, del("pve1"), "Cannot delete myself from cluster!")
	expectError(t, del("pve9"), "Node/IP: pve9 is not a known host of the cluster.")

	// a node that is off
	if err := lab.StopNode("pve4"); err != nil {
		t.Fatal(err)
	}
	expectNull(t, del("pve4"))
	checkStatus(t, pve1, clusterName, 5, true, map[string]bool{"pve1": true, "pve2": true, "pve3": true})
	if got := nodeNames(pvetest.DataList(t, pve1.Get("/nodes"))); !slices.Equal(got, []string{"pve1", "pve2", "pve3"}) {
		t.Errorf("nodes %v", got)
	}
	expectError(t, pve1.Get("/nodes/pve4/status"), "hostname lookup 'pve4' failed - failed to get address info for: pve4: Name or service not known")
	// started again, it has the cluster's old configuration but no corosync: no quorum
	if err := lab.StartNode("pve4"); err != nil {
		t.Fatal(err)
	}
	pve4 := c.OnNode("pve4")
	checkStatus(t, pve4, clusterName, 4, false, map[string]bool{"pve1": false, "pve2": false, "pve3": false, "pve4": true})
	expectError(t, pve4.Form(http.MethodPost, "/pools", url.Values{"poolid": {"dev"}}), "create pool failed: cfs-lock 'file-user_cfg' error: no quorum!")
	checkStatus(t, pve1, clusterName, 5, true, map[string]bool{"pve1": true, "pve2": true, "pve3": true})

	// a node that is online: PVE stops its corosync (it does not refuse)
	expectNull(t, del("pve3"))
	checkStatus(t, pve1, clusterName, 6, true, map[string]bool{"pve1": true, "pve2": true})
	checkStatus(t, c.OnNode("pve3"), clusterName, 5, false, map[string]bool{"pve1": false, "pve2": false, "pve3": true})

	// with pve2 off the two-node cluster has no quorum to remove it
	if err := lab.StopNode("pve2"); err != nil {
		t.Fatal(err)
	}
	expectError(t, del("pve2"), "cluster not ready - no quorum?")
}

func TestAddNodeAPI(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	requireSchema(t, lab)
	c := newCaller(t, lab).WithToken()
	add := func(node string, params url.Values) pvetest.Result {
		return c.Form(http.MethodPost, "/cluster/config/nodes/"+node, params)
	}
	expectError(t, add("pve2", url.Values{"new_node_ip": {"192.168.100.99"}}), "can't add existing node 'pve2'")
	expectError(t, add("pve9", nil), "no links and no fallback ip (new_node_ip) given, cannot join cluster")
	expectError(t, add("pve9", url.Values{"link0": {machine.MgmtAddress(2)}, "apiversion": {"1"}}), "corosync: address '"+machine.MgmtAddress(2)+"' already used on link ring0_addr by node 'pve2'")
	expectError(t, add("pve9", url.Values{"link1": {"10.1.1.9"}, "link0": {"10.0.0.9"}}), "corosync: link 1 specified for new node doesn't exist in cluster config")
	res := dataMap(t, add("pve9", url.Values{"new_node_ip": {"192.168.100.99"}, "apiversion": {"1"}}))
	conf := res["corosync_conf"].(string)
	for _, want := range []string{"  node {\n    name: pve9\n    nodeid: 4\n    quorum_votes: 1\n    ring0_addr: 192.168.100.99\n  }\n", "  config_version: 4\n", "totem {\n  cluster_name: pvelab\n"} {
		if !strings.Contains(conf, want) {
			t.Errorf("corosync.conf lacks %q:\n%s", want, conf)
		}
	}
	// pve9 never comes: 3 of 4 votes are still a majority
	checkStatus(t, c.OnNode("pve1"), clusterName, 4, true, map[string]bool{"pve1": true, "pve2": true, "pve3": true, "pve9": false})
	pvetest.Expect(t, c.Get("/nodes/pve2/status"), http.StatusOK, "OK")
	pvetest.Expect(t, c.Get("/nodes/pve9/status"), 595, "No route to host")
}

func TestJoinRenewsCertificateAndTickets(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{Standalone: true, Nodes: 2})
	c := newCaller(t, lab).WithToken()
	createCluster(t, c.OnNode("pve1"), "lab")
	// a ticket of pve2's own (standalone) authkey
	ticket := newCaller(t, lab).OnNode("pve2").WithTicket()
	pvetest.Expect(t, ticket.Get("/version"), http.StatusOK, "OK")
	upid := upidOf(t, ticket.Form(http.MethodPost, "/cluster/config/join", joinParams(lab, "pve1")))
	// the worker runs with the old configuration; it can be watched with the ticket
	if st := dataMap(t, ticket.Get("/nodes/pve2/tasks/"+url.PathEscape(upid)+"/status")); st["status"] != "running" {
		t.Fatalf("status %v", st)
	}
	waitFor(t, func() bool {
		time.Sleep(50 * time.Millisecond)
		return ticket.Get("/version").Status == http.StatusUnauthorized
	})
	// after the join pve2 uses the cluster's keys: the token works, the old ticket does not
	exit, _ := waitTask(t, c.OnNode("pve2"), upid)
	if exit != "OK" {
		t.Fatalf("exit %s", exit)
	}
	pvetest.Expect(t, ticket.Get("/version"), http.StatusUnauthorized, "permission denied - invalid PVE ticket")
	// a ticket from pve1 is valid on pve2 now
	t1 := newCaller(t, lab).OnNode("pve1").WithTicket()
	pvetest.Expect(t, t1.OnNode("pve2").Get("/version"), http.StatusOK, "OK")
}

// TestJoinRestartWindow: at the end of a join the joining node restarts
// its cluster stack (Setup::finish_join) and authenticates nobody for a
// while (joinCfsRestart): its own API and the calls a member forwards to
// it answer 401; after the join both work.
func TestJoinRestartWindow(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{Nodes: 2, Standalone: true})
	c := newCaller(t, lab).WithToken()
	pve1, pve2 := c.OnNode("pve1"), c.OnNode("pve2")
	createCluster(t, pve1, "win")
	upid := upidOf(t, pve2.Form(http.MethodPost, "/cluster/config/join", joinParams(lab, "pve1")))
	time.Sleep(clusterJoinWork + joinCfsRestart/3)
	status := "/nodes/pve2/tasks/" + url.PathEscape(upid) + "/status"
	pvetest.Expect(t, pve2.Get("/version"), http.StatusUnauthorized, cfsDownMessage)
	pvetest.Expect(t, pve1.Get(status), http.StatusUnauthorized, cfsDownMessage)
	if exit, lines := waitTask(t, pve1, upid); exit != "OK" {
		t.Fatalf("join: %s %q", exit, lines)
	}
	pvetest.Expect(t, pve2.Get("/version"), http.StatusOK, "OK")
	pvetest.Expect(t, pve1.Get(status), http.StatusOK, "OK")
}
