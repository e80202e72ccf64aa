package testlab

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/bmcsim"
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

// rfCaller sends requests to one BMC.
type rfCaller struct {
	t       *testing.T
	lab     *Lab
	bmc     *bmcsim.BMC
	client  *http.Client
	headers map[string]string
}

func newRF(t *testing.T, lab *Lab, node string) *rfCaller {
	t.Helper()
	b := lab.BMC(node)
	if b == nil {
		t.Fatalf("no BMC for %s", node)
	}
	return &rfCaller{t: t, lab: lab, bmc: b, client: httpClient(t, lab), headers: map[string]string{}}
}

// basic authenticates with basic auth.
func (c *rfCaller) basic() *rfCaller {
	c.headers["Authorization"] = "Basic " + basicAuth(c.lab.BMCUsername(), c.lab.BMCPassword())
	return c
}

func basicAuth(user, pass string) string {
	req, _ := http.NewRequest(http.MethodGet, "https://x", nil)
	req.SetBasicAuth(user, pass)
	return strings.TrimPrefix(req.Header.Get("Authorization"), "Basic ")
}

// rfResult is an answer of a BMC.
type rfResult struct {
	Status int
	Header http.Header
	Raw    string
	Body   map[string]any
}

// messageIDs returns the MessageIds of an error body.
func (r rfResult) messageIDs() []string {
	var ids []string
	e, _ := r.Body["error"].(map[string]any)
	infos, _ := e["@Message.ExtendedInfo"].([]any)
	for _, i := range infos {
		ids = append(ids, i.(map[string]any)["MessageId"].(string))
	}
	return ids
}

func (c *rfCaller) get(path string) rfResult { return c.do(http.MethodGet, path, nil, nil) }

// do sends a request; body is JSON encoded unless it is a string.
func (c *rfCaller) do(method, path string, body any, headers map[string]string) rfResult {
	c.t.Helper()
	var r io.Reader
	switch v := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(v)
	default:
		raw, err := json.Marshal(v)
		if err != nil {
			c.t.Fatal(err)
		}
		r = strings.NewReader(string(raw))
	}
	req, err := http.NewRequest(method, c.bmc.Endpoint()+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	if r != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range c.headers {
		req.Header.Set(k, v)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	res := rfResult{Status: resp.StatusCode, Header: resp.Header, Raw: string(raw)}
	if len(raw) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &res.Body); err != nil {
			c.t.Fatalf("%s %s: body is not JSON: %v: %s", method, path, err, raw)
		}
	}
	return res
}

// expectRF checks an answer's status and, for errors, its first MessageId.
func expectRF(t *testing.T, res rfResult, status int, messageID string) {
	t.Helper()
	if res.Status != status {
		t.Fatalf("got %d, want %d; body %s", res.Status, status, res.Raw)
	}
	if messageID == "" {
		return
	}
	ids := res.messageIDs()
	if len(ids) == 0 || ids[0] != "Base.1.5."+messageID {
		t.Fatalf("messages %v, want Base.1.5.%s; body %s", ids, messageID, res.Raw)
	}
	e := res.Body["error"].(map[string]any)
	if len(ids) == 1 && e["code"] != ids[0] {
		t.Fatalf("code %v, want %s", e["code"], ids[0])
	}
}

// waitUntil polls cond until it holds or 5 seconds pass.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
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

// power returns the PowerState the BMC answers.
func (c *rfCaller) power() string {
	c.t.Helper()
	return c.get("/redfish/v1/Systems/" + c.bmc.SystemID()).Body["PowerState"].(string)
}

func (c *rfCaller) reset(resetType string) rfResult {
	c.t.Helper()
	return c.do(http.MethodPost, "/redfish/v1/Systems/"+c.bmc.SystemID()+"/Actions/ComputerSystem.Reset",
		map[string]any{"ResetType": resetType}, nil)
}

func TestBMCPowerDrivesTheNode(t *testing.T) {
	t.Parallel()
	lab := startBMCLab(t, Options{Nodes: 3})
	c := newRF(t, lab, "pve2").basic()
	pve := newCaller(t, lab).withToken()
	nodeStatus := func(name string) string {
		for _, n := range pve.get("/nodes").Body["data"].([]any) {
			if m := n.(map[string]any); m["node"] == name {
				return m["status"].(string)
			}
		}
		return ""
	}

	// ForceOff: the machine stops at once, PowerState goes PoweringOff, Off
	expectRF(t, c.reset("ForceOff"), http.StatusNoContent, "")
	if lab.NodeRunning("pve2") {
		t.Fatal("pve2 runs after ForceOff")
	}
	if nodeStatus("pve2") != "offline" {
		t.Errorf("pve2 is %q in /nodes", nodeStatus("pve2"))
	}
	if p := c.power(); p != "PoweringOff" && p != "Off" {
		t.Fatalf("PowerState %s", p)
	}
	waitUntil(t, "Off", func() bool { return c.power() == "Off" })
	sys := c.get("/redfish/v1/Systems/" + c.bmc.SystemID()).Body
	if sys["BootProgress"].(map[string]any)["LastState"] != "None" || lab.BMC("pve2").PowerState() != "Off" {
		t.Errorf("off: %v", sys["BootProgress"])
	}
	// ForceOff again changes nothing; restarting a system that is off is refused
	expectRF(t, c.reset("ForceOff"), http.StatusNoContent, "")
	expectRF(t, c.reset("ForceRestart"), http.StatusBadRequest, "ResourceInStandby")

	// On: PoweringOn, On, and after the boot the node is back (slow
	// transitions, so that the checks below happen during them)
	slow := fastTiming
	slow.PowerOn, slow.GracefulShutdown = time.Second, time.Second
	c.bmc.SetTiming(slow)
	expectRF(t, c.reset("On"), http.StatusNoContent, "")
	if p := c.power(); p != "PoweringOn" {
		t.Fatalf("PowerState %s after On", p)
	}
	expectRF(t, c.reset("GracefulShutdown"), http.StatusConflict, "ResourceInUse") // still in transition
	waitUntil(t, "On", func() bool { return c.power() == "On" })
	waitUntil(t, "pve2 to run", func() bool { return lab.NodeRunning("pve2") })
	waitUntil(t, "pve2 online", func() bool { return nodeStatus("pve2") == "online" })
	if lab.BMC("pve2").LastBoot().At.IsZero() {
		t.Error("no last boot")
	}

	// GracefulShutdown takes longer than ForceOff; the node runs until the power goes off
	start := time.Now()
	expectRF(t, c.reset("GracefulShutdown"), http.StatusNoContent, "")
	if !lab.NodeRunning("pve2") || c.power() != "PoweringOff" {
		t.Fatalf("during shutdown: running %v, %s", lab.NodeRunning("pve2"), c.power())
	}
	waitUntil(t, "Off", func() bool { return c.power() == "Off" })
	if took := time.Since(start); took < slow.GracefulShutdown {
		t.Errorf("graceful shutdown took %v", took)
	}
	if lab.NodeRunning("pve2") {
		t.Fatal("pve2 runs after GracefulShutdown")
	}
	// PushPowerButton turns it on
	expectRF(t, c.reset("PushPowerButton"), http.StatusNoContent, "")
	waitUntil(t, "pve2 to run", func() bool { return lab.NodeRunning("pve2") })

	// GracefulRestart: PowerState stays On, the node goes down and comes back
	waitUntil(t, "the end of the transition", func() bool { return c.reset("GracefulRestart").Status == http.StatusNoContent })
	waitUntil(t, "pve2 to go down", func() bool { return !lab.NodeRunning("pve2") })
	if p := c.power(); p != "On" {
		t.Errorf("PowerState %s during a restart", p)
	}
	waitUntil(t, "pve2 to run", func() bool { return lab.NodeRunning("pve2") })

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
		res := c.do(http.MethodPost, "/redfish/v1/Systems/"+c.bmc.SystemID()+"/Actions/ComputerSystem.Reset", tc.body, nil)
		expectRF(t, res, http.StatusBadRequest, tc.id)
	}
	res := c.reset("Suspend")
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
	c := newRF(t, lab, "pve1").basic()
	if err := lab.StopNode("pve1"); err != nil {
		t.Fatal(err)
	}
	if p := c.power(); p != "Off" {
		t.Fatalf("PowerState %s after StopNode", p)
	}
	if err := lab.StartNode("pve1"); err != nil {
		t.Fatal(err)
	}
	if p := c.power(); p != "On" {
		t.Fatalf("PowerState %s after StartNode", p)
	}
	// a BMC-driven restart is not mistaken for an outage
	expectRF(t, c.reset("ForceRestart"), http.StatusNoContent, "")
	if c.power() != "On" {
		t.Fatal("not On during a restart")
	}
	waitUntil(t, "pve1 to run", func() bool { return lab.NodeRunning("pve1") })
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
