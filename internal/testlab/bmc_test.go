package testlab

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/bmcsim"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/bmcsim/bmctest"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/sim/simtest"
)

// Tests of the BMCs as parts of the lab (bmc.go): their endpoints,
// credentials and certificates, their power driving the nodes, the lab's
// power showing on them. Package bmcsim tests the BMCs themselves.

// fastTiming keeps power transitions short in tests.
var fastTiming = bmcsim.Timing{
	PowerOn:          150 * time.Millisecond,
	ForceOff:         100 * time.Millisecond,
	GracefulShutdown: 400 * time.Millisecond,
	Boot:             200 * time.Millisecond,
	Media:            200 * time.Millisecond,
}

// newRF returns a client of a node's BMC, without credentials.
func newRF(t *testing.T, lab *Lab, node string) *bmctest.Client {
	t.Helper()
	b := lab.BMC(node)
	if b == nil {
		t.Fatalf("no BMC for %s", node)
	}
	return bmctest.New(t, bmctest.Config{
		Endpoint:  b.Endpoint(),
		CACertPEM: lab.CACertPEM(),
		Username:  lab.BMCUsername(),
		Password:  lab.BMCPassword(),
		SystemID:  b.SystemID(),
	})
}

// startBMCLab starts a lab whose BMCs have short power transitions.
func startBMCLab(t *testing.T, opts Options) *Lab {
	t.Helper()
	if opts.SchemaPath == "" {
		opts.SchemaPath = "-" // the BMC tests do not need PVE's schema
	}
	lab := startLab(t, opts)
	for _, n := range lab.NodeNames() {
		lab.BMC(n).SetTiming(fastTiming)
	}
	return lab
}

func TestBMCEndpointsAndCertificates(t *testing.T) {
	t.Parallel()
	lab := startBMCLab(t, Options{})
	seen := map[string]bool{}
	for _, n := range lab.NodeNames() {
		ep := lab.BMCEndpoint(n)
		if !strings.HasPrefix(ep, "https://127.0.0.1:") || seen[ep] || ep == lab.NodeEndpoint(n) {
			t.Fatalf("BMC endpoint of %s: %q", n, ep)
		}
		seen[ep] = true
		// the lab's CA signs the BMC's certificate, for its name too
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM([]byte(lab.CACertPEM()))
		conn, err := tls.Dial("tcp", strings.TrimPrefix(ep, "https://"), &tls.Config{RootCAs: pool, ServerName: n + "-bmc"})
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		if proto := conn.ConnectionState().NegotiatedProtocol; proto != "" && proto != "http/1.1" {
			t.Errorf("ALPN %q", proto)
		}
		conn.Close()
	}
	if lab.BMCEndpoint("pve9") != "" || lab.BMC("pve9") != nil {
		t.Error("a BMC for an unknown node")
	}
	if lab.BMCUsername() != "ADMIN" || len(lab.BMCPassword()) < 16 {
		t.Errorf("credentials %q %q", lab.BMCUsername(), lab.BMCPassword())
	}
}

func TestBMCPowerDrivesTheNode(t *testing.T) {
	t.Parallel()
	lab := startBMCLab(t, Options{Nodes: 3})
	c := newRF(t, lab, "pve2").Basic()
	pve := newCaller(t, lab).WithToken()
	nodeStatus := func(name string) string {
		for _, n := range pve.Get("/nodes").Body["data"].([]any) {
			if m := n.(map[string]any); m["node"] == name {
				return m["status"].(string)
			}
		}
		return ""
	}

	// ForceOff: the machine stops at once, PowerState goes PoweringOff, Off
	bmctest.Expect(t, c.Reset("ForceOff"), http.StatusNoContent, "")
	if lab.NodeRunning("pve2") {
		t.Fatal("pve2 runs after ForceOff")
	}
	if nodeStatus("pve2") != "offline" {
		t.Errorf("pve2 is %q in /nodes", nodeStatus("pve2"))
	}
	if p := c.Power(); p != "PoweringOff" && p != "Off" {
		t.Fatalf("PowerState %s", p)
	}
	simtest.WaitUntil(t, "Off", func() bool { return c.Power() == "Off" })
	sys := c.Get("/redfish/v1/Systems/" + c.SystemID).Body
	if sys["BootProgress"].(map[string]any)["LastState"] != "None" || lab.BMC("pve2").PowerState() != "Off" {
		t.Errorf("off: %v", sys["BootProgress"])
	}
	// ForceOff again changes nothing; restarting a system that is off is refused
	bmctest.Expect(t, c.Reset("ForceOff"), http.StatusNoContent, "")
	bmctest.Expect(t, c.Reset("ForceRestart"), http.StatusBadRequest, "ResourceInStandby")

	// On: PoweringOn, On, and after the boot the node is back (slow
	// transitions, so that the checks below happen during them)
	slow := fastTiming
	slow.PowerOn, slow.GracefulShutdown = time.Second, time.Second
	lab.BMC("pve2").SetTiming(slow)
	bmctest.Expect(t, c.Reset("On"), http.StatusNoContent, "")
	if p := c.Power(); p != "PoweringOn" {
		t.Fatalf("PowerState %s after On", p)
	}
	bmctest.Expect(t, c.Reset("GracefulShutdown"), http.StatusConflict, "ResourceInUse") // still in transition
	simtest.WaitUntil(t, "On", func() bool { return c.Power() == "On" })
	simtest.WaitUntil(t, "pve2 to run", func() bool { return lab.NodeRunning("pve2") })
	simtest.WaitUntil(t, "pve2 online", func() bool { return nodeStatus("pve2") == "online" })
	if lab.BMC("pve2").LastBoot().At.IsZero() {
		t.Error("no last boot")
	}

	// GracefulShutdown takes longer than ForceOff; the node runs until the power goes off
	start := time.Now()
	bmctest.Expect(t, c.Reset("GracefulShutdown"), http.StatusNoContent, "")
	if !lab.NodeRunning("pve2") || c.Power() != "PoweringOff" {
		t.Fatalf("during shutdown: running %v, %s", lab.NodeRunning("pve2"), c.Power())
	}
	simtest.WaitUntil(t, "Off", func() bool { return c.Power() == "Off" })
	if took := time.Since(start); took < slow.GracefulShutdown {
		t.Errorf("graceful shutdown took %v", took)
	}
	if lab.NodeRunning("pve2") {
		t.Fatal("pve2 runs after GracefulShutdown")
	}
	// PushPowerButton turns it on
	bmctest.Expect(t, c.Reset("PushPowerButton"), http.StatusNoContent, "")
	simtest.WaitUntil(t, "pve2 to run", func() bool { return lab.NodeRunning("pve2") })

	// GracefulRestart: PowerState stays On, the node goes down and comes back
	simtest.WaitUntil(t, "the end of the transition", func() bool { return c.Reset("GracefulRestart").Status == http.StatusNoContent })
	simtest.WaitUntil(t, "pve2 to go down", func() bool { return !lab.NodeRunning("pve2") })
	if p := c.Power(); p != "On" {
		t.Errorf("PowerState %s during a restart", p)
	}
	simtest.WaitUntil(t, "pve2 to run", func() bool { return lab.NodeRunning("pve2") })

	// a ResetType outside the allowable values, a missing or unknown parameter
	for _, tc := range []struct {
		body any
		id   string
	}{
		{map[string]any{"ResetType": "Suspend"}, "PropertyValueNotInList"},
		{map[string]any{"ResetType": "ForceOn"}, "PropertyValueNotInList"},
		{map[string]any{}, "ActionParameterMissing"},
		{map[string]any{"ResetType": "On", "Delay": 3}, "ActionParameterUnknown"},
		{map[string]any{"ResetType": 1}, "ActionParameterValueTypeError"},
	} {
		res := c.Do(http.MethodPost, "/redfish/v1/Systems/"+c.SystemID+"/Actions/ComputerSystem.Reset", tc.body, nil)
		bmctest.Expect(t, res, http.StatusBadRequest, tc.id)
	}
	res := c.Reset("Suspend")
	if !strings.Contains(res.Raw, "The value Suspend for the property ResetType is not in the list of acceptable values.") {
		t.Errorf("message %s", res.Raw)
	}
	// the other machines never noticed
	if !lab.NodeRunning("pve1") || !lab.NodeRunning("pve3") {
		t.Error("another node stopped")
	}
}

func TestBMCFollowsLabPower(t *testing.T) {
	t.Parallel()
	lab := startBMCLab(t, Options{Nodes: 2})
	c := newRF(t, lab, "pve1").Basic()
	if err := lab.StopNode("pve1"); err != nil {
		t.Fatal(err)
	}
	if p := c.Power(); p != "Off" {
		t.Fatalf("PowerState %s after StopNode", p)
	}
	if err := lab.StartNode("pve1"); err != nil {
		t.Fatal(err)
	}
	if p := c.Power(); p != "On" {
		t.Fatalf("PowerState %s after StartNode", p)
	}
	// a BMC-driven restart is not mistaken for an outage
	bmctest.Expect(t, c.Reset("ForceRestart"), http.StatusNoContent, "")
	if c.Power() != "On" {
		t.Fatal("not On during a restart")
	}
	simtest.WaitUntil(t, "pve1 to run", func() bool { return lab.NodeRunning("pve1") })
}

func TestBMCEnvLines(t *testing.T) {
	t.Parallel()
	lab := startBMCLab(t, Options{Nodes: 2})
	lines := strings.Join(lab.EnvLines(), "\n")
	for _, want := range []string{
		"export BMC_USERNAME=ADMIN",
		"export BMC_PASSWORD=" + lab.BMCPassword(),
		"export BMC_ENDPOINT_PVE1=" + lab.BMCEndpoint("pve1"),
		"export BMC_ENDPOINT_PVE2=" + lab.BMCEndpoint("pve2"),
	} {
		if !strings.Contains(lines, want+"\n") && !strings.HasSuffix(lines, want) {
			t.Errorf("EnvLines lack %q:\n%s", want, lines)
		}
	}
	if !strings.HasPrefix(lines, "export PVE_ENDPOINT=") {
		t.Errorf("EnvLines start with %q", lines[:30])
	}
}
