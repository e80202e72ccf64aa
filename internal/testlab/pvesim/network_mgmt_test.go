package pvesim

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/pvesim/pvetest"
)

// refusesConnections reports whether node's endpoint refuses connections.
func refusesConnections(t *testing.T, lab *PVE, c *pvetest.Caller, node string) bool {
	t.Helper()
	client := *c.HTTP
	client.Timeout = 5 * time.Second
	res, err := client.Get(lab.NodeEndpoint(node) + "/api2/json/version")
	if err != nil {
		return strings.Contains(err.Error(), "connection refused")
	}
	res.Body.Close()
	return false
}

// waitUnreachable polls until node's endpoint refuses connections (the
// reload worker that took the address away has ended).
func waitUnreachable(t *testing.T, lab *PVE, c *pvetest.Caller, node string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second) // a guard against hanging, not a timing assertion
	for !refusesConnections(t, lab, c, node) {
		if time.Now().After(deadline) {
			t.Fatalf("%s's endpoint still takes connections", node)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A reload that takes the management address off vmbr0 takes the node off
// the network: its endpoint refuses connections, a member forwarding a
// call to it answers 595, and it leaves the membership; the console brings
// it back.
func TestNetworkManagementAddressLost(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()
	pve1 := c.OnNode("pve1")
	res := pve1.Form(http.MethodPut, "/nodes/pve1/network/vmbr0", url.Values{
		"type": {"bridge"}, "cidr": {"192.168.100.211/24"}, "gateway": {"192.168.100.1"}, "bridge_ports": {"eno1"}, "autostart": {"1"}})
	pvetest.Expect(t, res, http.StatusOK, "OK")
	if refusesConnections(t, lab, c, "pve1") || !lab.APIReachable("pve1") {
		t.Fatal("a staged edit took the node off the network")
	}
	res = pve1.Form(http.MethodPut, "/nodes/pve1/network", nil)
	pvetest.Expect(t, res, http.StatusOK, "OK")
	waitUnreachable(t, lab, c, "pve1")
	if lab.APIReachable("pve1") || !lab.NodeRunning("pve1") {
		t.Fatalf("APIReachable %v, NodeRunning %v: want an unreachable running node", lab.APIReachable("pve1"), lab.NodeRunning("pve1"))
	}
	fwd := c.OnNode("pve2").Get("/nodes/pve1/status")
	if fwd.Status != 595 {
		t.Errorf("pve2 forwarding to pve1: %d %s, want 595", fwd.Status, fwd.Reason)
	}
	status := c.OnNode("pve2").Get("/cluster/status")
	pvetest.Expect(t, status, http.StatusOK, "OK")
	for _, e := range status.Body["data"].([]any) {
		if m := e.(map[string]any); m["name"] == "pve1" && m["online"] != float64(0) {
			t.Errorf("pve1 in the membership: %v, want offline", m)
		}
	}

	if err := lab.ConsoleWriteInterfaces("pve1", lab.InstallerInterfaces("pve1")); err != nil {
		t.Fatal(err)
	}
	if refusesConnections(t, lab, c, "pve1") {
		t.Fatal("pve1 still refuses connections after the console restored its address")
	}
	pvetest.Expect(t, c.OnNode("pve2").Get("/nodes/pve1/status"), http.StatusOK, "OK")
}

// Edits staged and never reloaded go live at the next boot
// (pvenetcommit): a staged change that drops the management address
// leaves the node unreachable after a power cycle.
func TestNetworkStagedAppliedAtBoot(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()
	pve2 := c.OnNode("pve2")
	netCreate(t, pve2, "pve2", url.Values{"iface": {"vmbr3"}, "type": {"bridge"}, "autostart": {"1"}})
	res := pve2.Form(http.MethodPut, "/nodes/pve2/network/vmbr0", url.Values{
		"type": {"bridge"}, "cidr": {"192.168.100.212/24"}, "gateway": {"192.168.100.1"}, "bridge_ports": {"eno1"}, "autostart": {"1"}})
	pvetest.Expect(t, res, http.StatusOK, "OK")
	if err := lab.StopNode("pve2"); err != nil {
		t.Fatal(err)
	}
	if err := lab.StartNode("pve2"); err != nil {
		t.Fatal(err)
	}
	if !refusesConnections(t, lab, c, "pve2") {
		t.Fatal("pve2 booted with the staged change and still takes connections")
	}
	if err := lab.ConsoleWriteInterfaces("pve2", lab.InstallerInterfaces("pve2")); err != nil {
		t.Fatal(err)
	}
	ifaces, changes := netIfaces(t, pve2, "pve2", nil)
	if changes != "" {
		t.Errorf("changes after the console's rewrite:\n%s", changes)
	}
	if _, ok := ifaces["vmbr3"]; ok {
		t.Error("vmbr3 survives the console's rewrite")
	}

	// A staged change that keeps the address goes live at boot too.
	netCreate(t, pve2, "pve2", url.Values{"iface": {"vmbr4"}, "type": {"bridge"}, "autostart": {"1"}})
	if err := lab.StopNode("pve2"); err != nil {
		t.Fatal(err)
	}
	if err := lab.StartNode("pve2"); err != nil {
		t.Fatal(err)
	}
	ifaces, changes = netIfaces(t, pve2, "pve2", nil)
	if changes != "" || ifaces["vmbr4"]["active"] != float64(1) {
		t.Errorf("after the boot: vmbr4 %v, changes %q; want vmbr4 up and nothing staged", ifaces["vmbr4"], changes)
	}
}
