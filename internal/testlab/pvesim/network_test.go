package pvesim

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/pvesim/pvetest"
)

// netIfaces returns the interfaces of GET /nodes/{node}/network by name,
// and the "changes" attribute of the answer.
func netIfaces(t *testing.T, c *pvetest.Caller, node string, query url.Values) (map[string]map[string]any, string) {
	t.Helper()
	res := c.Form(http.MethodGet, "/nodes/"+node+"/network", query)
	pvetest.Expect(t, res, http.StatusOK, "OK")
	out := map[string]map[string]any{}
	for _, e := range res.Body["data"].([]any) {
		d := e.(map[string]any)
		out[d["iface"].(string)] = d
	}
	changes, _ := res.Body["changes"].(string)
	if _, ok := res.Body["changes"]; ok && changes == "" {
		t.Errorf("changes present but empty: %s", res.Raw)
	}
	return out, changes
}

// netIface returns GET /nodes/{node}/network/{iface}.
func netIface(t *testing.T, c *pvetest.Caller, node, iface string) map[string]any {
	t.Helper()
	res := c.Get("/nodes/" + node + "/network/" + iface)
	pvetest.Expect(t, res, http.StatusOK, "OK")
	return res.Body["data"].(map[string]any)
}

// netCreate creates an interface and expects success.
func netCreate(t *testing.T, c *pvetest.Caller, node string, params url.Values) {
	t.Helper()
	res := c.Form(http.MethodPost, "/nodes/"+node+"/network", params)
	pvetest.Expect(t, res, http.StatusOK, "OK")
	if res.Body["data"] != nil {
		t.Fatalf("create returned %s", res.Raw)
	}
}

// reloadAndWait reloads the network of node and returns the stopped task's
// status and log.
func reloadAndWait(t *testing.T, c *pvetest.Caller, node string) (map[string]any, []string) {
	t.Helper()
	res := c.Form(http.MethodPut, "/nodes/"+node+"/network", nil)
	pvetest.Expect(t, res, http.StatusOK, "OK")
	upid, _ := res.Body["data"].(string)
	if !strings.HasPrefix(upid, "UPID:"+node+":") || !strings.HasSuffix(upid, ":srvreload:networking:root@pam!lab:") {
		t.Fatalf("reload returned %s", res.Raw)
	}
	return waitStopped(t, c, node, upid), taskLog(t, c, node, upid, nil)
}

// stageBondAndBridge stages bond0 (LACP over eno2 and eno3, jumbo frames)
// and the bridge vmbr1 on it.
func stageBondAndBridge(t *testing.T, c *pvetest.Caller, node string) {
	t.Helper()
	netCreate(t, c, node, url.Values{"iface": {"bond0"}, "type": {"bond"}, "slaves": {"eno2 eno3"}, "bond_mode": {"802.3ad"},
		"bond_xmit_hash_policy": {"layer3+4"}, "mtu": {"9000"}, "autostart": {"1"}})
	netCreate(t, c, node, url.Values{"iface": {"vmbr1"}, "type": {"bridge"}, "bridge_ports": {"bond0"}, "mtu": {"9000"},
		"cidr": {"10.10.10.1/24"}, "autostart": {"1"}, "comments": {"storage network"}})
}

// expectFields checks some members of an interface.
func expectFields(t *testing.T, what string, d map[string]any, want map[string]any) {
	t.Helper()
	for k, v := range want {
		got, ok := d[k]
		if v == nil && ok {
			t.Errorf("%s: %s = %#v, want none", what, k, got)
		}
		if v != nil && fmt.Sprint(got) != fmt.Sprint(v) {
			t.Errorf("%s: %s = %#v, want %#v", what, k, got, v)
		}
	}
}

func TestNetworkInitialState(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()
	ifaces, changes := netIfaces(t, c, "pve2", nil)
	if changes != "" || len(ifaces) != 5 {
		t.Fatalf("interfaces %v, changes %q", slices.Sorted(maps.Keys(ifaces)), changes)
	}
	expectFields(t, "vmbr0", ifaces["vmbr0"], map[string]any{
		"iface": "vmbr0", "type": "bridge", "method": "static", "method6": "manual", "families": []any{"inet"},
		"autostart": 1, "active": 1, "exists": nil, "bridge_ports": "eno1", "bridge_stp": "off", "bridge_fd": "0",
		"address": "192.168.100.12", "netmask": "24", "cidr": "192.168.100.12/24", "gateway": "192.168.100.1",
	})
	expectFields(t, "eno1", ifaces["eno1"], map[string]any{"type": "eth", "method": "manual", "exists": 1, "active": 1, "autostart": nil})
	for _, nic := range []string{"eno2", "eno3", "eno4"} {
		expectFields(t, nic, ifaces[nic], map[string]any{"type": "eth", "method": "manual", "exists": 1, "active": nil})
	}
	if _, ok := ifaces["vmbr0"]["priority"].(float64); !ok {
		t.Errorf("priority = %#v, want a number", ifaces["vmbr0"]["priority"])
	}
	// The management address is the node's address in the cluster.
	for _, e := range c.Get("/cluster/status").Body["data"].([]any) {
		if m := e.(map[string]any); m["name"] == "pve2" && m["ip"] != "192.168.100.12" {
			t.Errorf("cluster status of pve2 = %v", m)
		}
	}
	// A single interface comes without its name; lo is not listed but exists.
	vmbr0 := netIface(t, c, "pve2", "vmbr0")
	if _, ok := vmbr0["iface"]; ok || vmbr0["cidr"] != "192.168.100.12/24" {
		t.Errorf("vmbr0 = %v", vmbr0)
	}
	expectFields(t, "lo", netIface(t, c, "pve2", "lo"), map[string]any{"type": "loopback", "method": "loopback", "active": 1, "autostart": 1})
}

func TestNetworkStageAndReload(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()
	stageBondAndBridge(t, c, "pve1")

	bond := netIface(t, c, "pve1", "bond0")
	expectFields(t, "staged bond0", bond, map[string]any{
		"type": "bond", "slaves": "eno2 eno3", "bond_mode": "802.3ad", "bond_xmit_hash_policy": "layer3+4",
		"bond_miimon": "100", "mtu": "9000", "autostart": 1, "method": "manual", "active": nil,
	})
	expectFields(t, "staged vmbr1", netIface(t, c, "pve1", "vmbr1"), map[string]any{
		"type": "bridge", "bridge_ports": "bond0", "cidr": "10.10.10.1/24", "address": "10.10.10.1", "netmask": "24",
		"method": "static", "comments": "storage network\n", "mtu": "9000", "active": nil,
	})
	ifaces, changes := netIfaces(t, c, "pve1", nil)
	for _, want := range []string{
		"--- /etc/network/interfaces\t", "+++ /etc/network/interfaces.new\t", "\n@@ -",
		"\n+auto eno2\n iface eno2 inet manual\n", // the writer starts bond slaves with their bond
		"\n+auto bond0\n+iface bond0 inet manual\n+\tbond-slaves eno2 eno3\n+\tbond-miimon 100\n+\tbond-mode 802.3ad\n+\tbond-xmit-hash-policy layer3+4\n+\tmtu 9000\n",
		"\n+auto vmbr1\n+iface vmbr1 inet static\n+\taddress 10.10.10.1/24\n+\tbridge-ports bond0\n+\tbridge-stp off\n+\tbridge-fd 0\n+\tmtu 9000\n+#storage network\n",
	} {
		if !strings.Contains(changes, want) {
			t.Errorf("changes lack %q:\n%s", want, changes)
		}
	}
	if ifaces["vmbr0"]["active"] != float64(1) || ifaces["bond0"]["active"] != nil {
		t.Errorf("active before the reload: vmbr0 %v, bond0 %v", ifaces["vmbr0"]["active"], ifaces["bond0"]["active"])
	}

	status, log := reloadAndWait(t, c, "pve1")
	if status["exitstatus"] != "OK" || fmt.Sprint(log) != "[TASK OK]" {
		t.Fatalf("reload: %v, log %q", status, log)
	}
	ifaces, changes = netIfaces(t, c, "pve1", nil)
	if changes != "" {
		t.Errorf("changes after the reload:\n%s", changes)
	}
	for name, want := range map[string]any{"bond0": 1, "vmbr1": 1, "eno2": 1, "eno3": 1, "vmbr0": 1, "eno1": 1, "eno4": nil} {
		expectFields(t, name, ifaces[name], map[string]any{"active": want})
	}
	res := c.Form(http.MethodGet, "/nodes/pve1/tasks", url.Values{"typefilter": {"srvreload"}})
	if list := res.Body["data"].([]any); len(list) != 1 || list[0].(map[string]any)["id"] != "networking" {
		t.Errorf("srvreload tasks = %s", res.Raw)
	}
}

func TestNetworkRevert(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()
	before, _ := netIfaces(t, c, "pve1", nil)
	stageBondAndBridge(t, c, "pve1")
	pvetest.Expect(t, c.Form(http.MethodDelete, "/nodes/pve1/network", nil), http.StatusOK, "OK")
	after, changes := netIfaces(t, c, "pve1", nil)
	if changes != "" || fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("after revert: %v, changes %q; want %v", after, changes, before)
	}
	pvetest.ExpectParamError(t, c.Get("/nodes/pve1/network/bond0"), "iface", "interface does not exist")
}

func TestNetworkParameterErrors(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()
	post := func(params url.Values) pvetest.Result { return c.Form(http.MethodPost, "/nodes/pve1/network", params) }

	pvetest.ExpectParamError(t, post(url.Values{"iface": {"vmbr0"}, "type": {"bridge"}}), "iface", "interface already exists")
	pvetest.ExpectParamError(t, post(url.Values{"iface": {"eno4"}, "type": {"eth"}}), "iface", "interface already exists")
	pvetest.ExpectParamError(t, c.Get("/nodes/pve1/network/bond9"), "iface", "interface does not exist")
	pvetest.ExpectParamError(t, c.Form(http.MethodPut, "/nodes/pve1/network/bond9", url.Values{"type": {"bond"}}), "iface", "interface does not exist")
	pvetest.ExpectParamError(t, c.Form(http.MethodDelete, "/nodes/pve1/network/bond9", nil), "iface", "interface does not exist")

	netCreate(t, c, "pve1", url.Values{"iface": {"bond0"}, "type": {"bond"}, "slaves": {"eno2 eno3"}})
	pvetest.ExpectParamError(t, post(url.Values{"iface": {"bond1"}, "type": {"bond"}, "slaves": {"eno3,eno4"}}), "slaves", "eno3 is already used on interface 'bond0'.")
	pvetest.ExpectParamError(t, post(url.Values{"iface": {"vmbr1"}, "type": {"bridge"}, "bridge_ports": {"eno1"}}), "bridge_ports", "eno1 is already used on interface 'vmbr0'.")
	pvetest.ExpectParamError(t, post(url.Values{"iface": {"vmbr1"}, "type": {"bridge"}, "cidr": {"10.0.0.2/24"}, "gateway": {"10.0.0.1"}}),
		"gateway", "Default gateway already exists on interface 'vmbr0'.")
	pvetest.ExpectParamError(t, post(url.Values{"iface": {"vmbr1"}, "type": {"bridge"}, "cidr": {"10.0.0.2/24"}, "address": {"10.0.0.3"}, "netmask": {"255.255.255.0"}}),
		"address", "address conflicts with cidr")
	pvetest.ExpectParamError(t, post(url.Values{"iface": {"vmbr1"}, "type": {"bridge"}, "bridge_vlan_aware": {"1"}, "bridge_vids": {","}}),
		"bridge_vids", "VLAN list items are empty")
	pvetest.ExpectParamError(t, post(url.Values{"iface": {"vmbr1"}, "type": {"bridge"}, "cidr6": {"2001:db8::5/64"}}),
		"address", "2001:db8::5 with type 'RESERVED', cannot be used as host IPv6 address.")
	// The API leaves these to the writer, which dies (status 500).
	pvetest.Expect(t, post(url.Values{"iface": {"vmbr1"}, "type": {"bridge"}, "bridge_ports": {"bond7"}}),
		http.StatusInternalServerError, "bridge 'vmbr1' - unable to find bridge port 'bond7'")
	pvetest.Expect(t, post(url.Values{"iface": {"bond1"}, "type": {"bond"}, "slaves": {"eno9"}}),
		http.StatusInternalServerError, "bond 'bond1' - wrong interface type on slave 'eno9' ('' != 'eth or bond')")
	pvetest.Expect(t, post(url.Values{"iface": {"vmbr1"}, "type": {"bridge"}, "bridge_ports": {"bond0"}, "mtu": {"9000"}}), http.StatusOK, "OK")
	pvetest.Expect(t, c.Form(http.MethodDelete, "/nodes/pve1/network/bond0", nil),
		http.StatusInternalServerError, "bridge 'vmbr1' - unable to find bridge port 'bond0'")
	pvetest.Expect(t, post(url.Values{"iface": {"vmbr0.100"}, "type": {"vlan"}, "mtu": {"9000"}}),
		http.StatusInternalServerError, "interface 'vmbr0' - mtu 1500 is lower than 'vmbr0.100' - mtu 9000")
	pvetest.Expect(t, post(url.Values{"iface": {"vmbr9"}, "type": {"OVSBridge"}}),
		http.StatusInternalServerError, "Open VSwitch is not installed (need package 'openvswitch-switch')")
}

func TestNetworkUpdate(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()
	stageBondAndBridge(t, c, "pve1")
	put := func(iface string, params url.Values) {
		t.Helper()
		pvetest.Expect(t, c.Form(http.MethodPut, "/nodes/pve1/network/"+iface, params), http.StatusOK, "OK")
	}

	put("bond0", url.Values{"type": {"bond"}, "delete": {"mtu"}})
	expectFields(t, "bond0", netIface(t, c, "pve1", "bond0"), map[string]any{"mtu": nil, "slaves": "eno2 eno3", "bond_mode": "802.3ad"})

	put("vmbr1", url.Values{"type": {"bridge"}, "cidr": {"10.10.20.1/24"}, "comments": {"moved"}})
	expectFields(t, "vmbr1", netIface(t, c, "pve1", "vmbr1"), map[string]any{"cidr": "10.10.20.1/24", "method": "static", "comments": "moved\n", "mtu": "9000"})

	// Like PVE, an update sets the method from its own parameters: without
	// an address the interface becomes "manual", and keeps its address.
	put("vmbr1", url.Values{"type": {"bridge"}, "mtu": {"1500"}})
	expectFields(t, "vmbr1", netIface(t, c, "pve1", "vmbr1"), map[string]any{"cidr": "10.10.20.1/24", "method": "manual", "mtu": "1500"})
	put("vmbr1", url.Values{"type": {"bridge"}, "delete": {"cidr,mtu"}})
	expectFields(t, "vmbr1", netIface(t, c, "pve1", "vmbr1"), map[string]any{"cidr": nil, "address": nil, "mtu": nil})

	// IPv6 only; JSON bodies work as well as forms.
	res := c.JSON(http.MethodPut, "/nodes/pve1/network/vmbr1", map[string]any{"type": "bridge", "cidr6": "fd00:10::1/64", "autostart": false})
	pvetest.Expect(t, res, http.StatusOK, "OK")
	expectFields(t, "vmbr1", netIface(t, c, "pve1", "vmbr1"), map[string]any{
		"cidr6": "fd00:10::1/64", "address6": "fd00:10::1", "netmask6": "64", "method6": "static", "families": []any{"inet6"}, "autostart": nil,
	})
	_, changes := netIfaces(t, c, "pve1", nil)
	if !strings.Contains(changes, "\n+iface vmbr1 inet6 static\n+\taddress fd00:10::1/64\n+\tbridge-ports bond0\n") {
		t.Errorf("changes:\n%s", changes)
	}
}

func TestNetworkReloadFailure(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()
	// Stanzas for NICs the node does not have are accepted; ifreload finds out.
	netCreate(t, c, "pve1", url.Values{"iface": {"eno8"}, "type": {"eth"}})
	netCreate(t, c, "pve1", url.Values{"iface": {"eno9"}, "type": {"eth"}})
	netCreate(t, c, "pve1", url.Values{"iface": {"bond1"}, "type": {"bond"}, "slaves": {"eno4 eno8"}, "autostart": {"1"}})
	netCreate(t, c, "pve1", url.Values{"iface": {"vmbr2"}, "type": {"bridge"}, "bridge_ports": {"eno9"}, "autostart": {"1"}})

	status, log := reloadAndWait(t, c, "pve1")
	if status["exitstatus"] != ifreloadFailed {
		t.Errorf("exitstatus = %v", status["exitstatus"])
	}
	want := []string{
		"bond1 : error: bond1: skipping slave eno8, does not exist ",
		"vmbr2 : error: vmbr2: bridge port eno9 does not exist ",
		"TASK ERROR: command 'ifreload -a' failed: exit code 1",
	}
	if !slices.Equal(log, want) {
		t.Errorf("log = %q, want %q", log, want)
	}
	ifaces, changes := netIfaces(t, c, "pve1", nil)
	if changes != "" {
		t.Errorf("the new configuration is not in place:\n%s", changes)
	}
	for name, want := range map[string]map[string]any{
		"eno8":  {"type": "eth", "exists": nil, "active": nil},
		"eno9":  {"type": "eth", "exists": nil, "active": nil},
		"eno4":  {"exists": 1, "active": 1},
		"bond1": {"active": 1}, // ifupdown2 creates bonds and bridges despite missing members
		"vmbr2": {"active": 1},
	} {
		expectFields(t, name, ifaces[name], want)
	}
}

func TestNetworkFailNextTasks(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()
	stageBondAndBridge(t, c, "pve1")
	lab.Faults().FailNextTasks(1, ifreloadFailed)
	status, log := reloadAndWait(t, c, "pve1")
	if status["exitstatus"] != ifreloadFailed || log[len(log)-1] != "TASK ERROR: "+ifreloadFailed {
		t.Fatalf("reload: %v, log %q", status, log)
	}
	ifaces, changes := netIfaces(t, c, "pve1", nil)
	if changes != "" || ifaces["bond0"] == nil {
		t.Errorf("the new configuration is not in place: %v\n%s", ifaces, changes)
	}
	for name, want := range map[string]any{"bond0": nil, "vmbr1": nil, "eno2": nil, "vmbr0": 1} {
		expectFields(t, name, ifaces[name], map[string]any{"active": want})
	}
	// The next reload brings them up.
	if status, _ := reloadAndWait(t, c, "pve1"); status["exitstatus"] != "OK" {
		t.Fatalf("second reload: %v", status)
	}
	ifaces, _ = netIfaces(t, c, "pve1", nil)
	expectFields(t, "bond0", ifaces["bond0"], map[string]any{"active": 1})
}

func TestNetworkLockContention(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()
	lab.Faults().SetLockContention(1)
	const msg = "can't lock file '/etc/network/.pve-interfaces.lock' - got timeout"
	pvetest.Expect(t, c.Form(http.MethodPost, "/nodes/pve1/network", url.Values{"iface": {"vmbr1"}, "type": {"bridge"}}), http.StatusInternalServerError, msg)
	pvetest.Expect(t, c.Form(http.MethodPut, "/nodes/pve1/network/vmbr0", url.Values{"type": {"bridge"}}), http.StatusInternalServerError, msg)
	pvetest.Expect(t, c.Form(http.MethodDelete, "/nodes/pve1/network/vmbr0", nil), http.StatusInternalServerError, msg)
	// Reload and revert take no lock; reads never do.
	pvetest.Expect(t, c.Form(http.MethodDelete, "/nodes/pve1/network", nil), http.StatusOK, "OK")
	pvetest.Expect(t, c.Get("/nodes/pve1/network"), http.StatusOK, "OK")
	if status, _ := reloadAndWait(t, c, "pve1"); status["exitstatus"] != "OK" {
		t.Errorf("reload: %v", status)
	}
}

func TestNetworkTypeFilter(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()
	stageBondAndBridge(t, c, "pve1")
	for filter, want := range map[string]string{
		"bond": "[bond0]", "bridge": "[vmbr0 vmbr1]", "any_bridge": "[vmbr0 vmbr1]", "any_local_bridge": "[vmbr0 vmbr1]",
		"eth": "[eno1 eno2 eno3 eno4]", "vlan": "[]", "include_sdn": "[bond0 eno1 eno2 eno3 eno4 vmbr0 vmbr1]",
	} {
		ifaces, _ := netIfaces(t, c, "pve1", url.Values{"type": {filter}})
		if got := fmt.Sprint(slices.Sorted(maps.Keys(ifaces))); got != want {
			t.Errorf("type=%s: %s, want %s", filter, got, want)
		}
	}
}

func TestNetworkNodeIsolation(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()
	stageBondAndBridge(t, c, "pve1")
	if ifaces, changes := netIfaces(t, c, "pve2", nil); ifaces["bond0"] != nil || changes != "" {
		t.Errorf("pve2 sees pve1's changes: %v\n%s", ifaces, changes)
	}
	// pve2 may create its own bond0 and reload without touching pve1.
	netCreate(t, c, "pve2", url.Values{"iface": {"bond0"}, "type": {"bond"}, "slaves": {"eno4"}})
	if status, _ := reloadAndWait(t, c, "pve2"); status["exitstatus"] != "OK" {
		t.Fatalf("reload: %v", status)
	}
	if _, changes := netIfaces(t, c, "pve1", nil); !strings.Contains(changes, "+\tbond-slaves eno2 eno3") {
		t.Errorf("pve1's changes are gone:\n%s", changes)
	}
	expectFields(t, "pve2 bond0", netIface(t, c, "pve2", "bond0"), map[string]any{"slaves": "eno4"})
}

func TestNetworkSchema(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	requireSchema(t, lab)
	c := newCaller(t, lab).WithToken()
	res := c.Form(http.MethodPost, "/nodes/pve1/network", url.Values{"iface": {"bond0"}, "type": {"bond"}, "bond_miimon": {"100"}})
	pvetest.ExpectParamError(t, res, "bond_miimon", "property is not defined in schema and the schema does not allow additional properties")
	res = c.Form(http.MethodPost, "/nodes/pve1/network", url.Values{"iface": {"bond0"}, "type": {"bond"}, "bond_mode": {"lacp"}})
	pvetest.Expect(t, res, http.StatusBadRequest, "Parameter verification failed.")
	if msg, _ := res.ErrorsMap()["bond_mode"].(string); !strings.HasPrefix(msg, "value 'lacp' does not have a value in the enumeration 'balance-rr, ") {
		t.Errorf("bond_mode error = %q", msg)
	}
	// PUT needs the type.
	pvetest.ExpectParamError(t, c.Form(http.MethodPut, "/nodes/pve1/network/vmbr0", url.Values{"mtu": {"9000"}}), "type", "property is missing and it is not optional")
}

func TestGoProxmoxNetwork(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()
	stageBondAndBridge(t, c, "pve1")
	client := goProxmoxClients(t, lab)["token"]
	ctx := context.Background()
	node, err := client.Node(ctx, "pve1")
	if err != nil {
		t.Fatal(err)
	}
	networks, err := node.Networks(ctx)
	if err != nil || len(networks) != 7 {
		t.Fatalf("Networks = %v, %v", networks, err)
	}
	bridges, err := node.Networks(ctx, "bridge")
	if err != nil || len(bridges) != 2 {
		t.Fatalf("Networks(bridge) = %v, %v", bridges, err)
	}
	bond, err := node.Network(ctx, "bond0")
	if err != nil || bond.Type != "bond" || bond.MTU != "9000" || bond.Slaves != "eno2 eno3" || bond.Autostart != 1 || bond.Iface != "bond0" {
		t.Fatalf("Network(bond0) = %+v, %v", bond, err)
	}
	task, err := node.NetworkReload(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Wait(ctx, 50*time.Millisecond, 5*time.Second); err != nil || !task.IsSuccessful {
		t.Fatalf("reload task = %+v, %v", task, err)
	}
	vmbr1, err := node.Network(ctx, "vmbr1")
	if err != nil || vmbr1.CIDR != "10.10.10.1/24" || vmbr1.BridgePorts != "bond0" || vmbr1.BridgeFd != "0" || vmbr1.Netmask != "24" || fmt.Sprint(vmbr1.Active) != "1" {
		t.Fatalf("Network(vmbr1) = %+v, %v", vmbr1, err)
	}
}

func TestNetworkConcurrentEdits(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()
	statuses := make(chan int, 16)
	var wg sync.WaitGroup
	for _, node := range []string{"pve1", "pve2"} {
		for id := 10; id < 18; id++ {
			wg.Go(func() {
				res := c.Form(http.MethodPost, "/nodes/"+node+"/network", url.Values{"iface": {fmt.Sprintf("vmbr0.%d", id)}, "type": {"vlan"}})
				statuses <- res.Status
			})
		}
	}
	wg.Wait()
	close(statuses)
	for status := range statuses {
		if status != http.StatusOK {
			t.Errorf("create answered %d", status)
		}
	}
	for _, node := range []string{"pve1", "pve2"} {
		ifaces, _ := netIfaces(t, c, node, url.Values{"type": {"vlan"}})
		if len(ifaces) != 8 {
			t.Errorf("%s has %d VLANs, want 8", node, len(ifaces))
		}
		vlan := ifaces["vmbr0.15"]
		expectFields(t, "vmbr0.15", vlan, map[string]any{"type": "vlan", "vlan-raw-device": "vmbr0", "vlan-id": "15"})
		// a VLAN inherits "exists" from its raw device, which a bridge has not: null
		if v, ok := vlan["exists"]; !ok || v != nil {
			t.Errorf("vmbr0.15: exists = %#v (present %v), want null", v, ok)
		}
	}
}
