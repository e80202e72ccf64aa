package bmcsim

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/machine"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/sim"
)

// Tests of the simulated BMCs through plain HTTP (caller): the details a
// client sees on the wire; gofish_test.go uses an independent client. The
// BMCs run on machines of their own (testLab), without PVE.

// fastTiming keeps power transitions short in tests.
var fastTiming = Timing{
	PowerOn:          150 * time.Millisecond,
	ForceOff:         100 * time.Millisecond,
	GracefulShutdown: 400 * time.Millisecond,
	Boot:             200 * time.Millisecond,
	Media:            200 * time.Millisecond,
}

// caller sends requests to one BMC.
type caller struct {
	t       *testing.T
	lab     *testLab
	bmc     *BMC
	client  *http.Client
	headers map[string]string
}

func newCaller(t *testing.T, lab *testLab, node string) *caller {
	t.Helper()
	b := lab.BMC(node)
	if b == nil {
		t.Fatalf("no BMC for %s", node)
	}
	return &caller{t: t, lab: lab, bmc: b, client: httpClient(t, lab), headers: map[string]string{}}
}

// basic authenticates with basic auth.
func (c *caller) basic() *caller {
	c.headers["Authorization"] = "Basic " + basicAuth(c.lab.BMCUsername(), c.lab.BMCPassword())
	return c
}

func basicAuth(user, pass string) string {
	req, _ := http.NewRequest(http.MethodGet, "https://x", nil)
	req.SetBasicAuth(user, pass)
	return strings.TrimPrefix(req.Header.Get("Authorization"), "Basic ")
}

// login opens a session and authenticates with its token.
func (c *caller) login() (token, location string) {
	c.t.Helper()
	res := c.anon().do(http.MethodPost, "/redfish/v1/SessionService/Sessions",
		map[string]any{"UserName": c.lab.BMCUsername(), "Password": c.lab.BMCPassword()}, nil)
	if res.Status != http.StatusCreated {
		c.t.Fatalf("login: %d %s", res.Status, res.Raw)
	}
	token, location = res.Header.Get("X-Auth-Token"), res.Header.Get("Location")
	c.headers["X-Auth-Token"] = token
	return token, location
}

// anon returns a caller without credentials.
func (c *caller) anon() *caller {
	cp := *c
	cp.headers = map[string]string{}
	return &cp
}

// result is an answer of a BMC.
type result struct {
	Status int
	Header http.Header
	Raw    string
	Body   map[string]any
}

// messageIDs returns the MessageIds of an error body.
func (r result) messageIDs() []string {
	var ids []string
	e, _ := r.Body["error"].(map[string]any)
	infos, _ := e["@Message.ExtendedInfo"].([]any)
	for _, i := range infos {
		ids = append(ids, i.(map[string]any)["MessageId"].(string))
	}
	return ids
}

func (c *caller) get(path string) result { return c.do(http.MethodGet, path, nil, nil) }

// do sends a request; body is JSON encoded unless it is a string.
func (c *caller) do(method, path string, body any, headers map[string]string) result {
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
	res := result{Status: resp.StatusCode, Header: resp.Header, Raw: string(raw)}
	if len(raw) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &res.Body); err != nil {
			c.t.Fatalf("%s %s: body is not JSON: %v: %s", method, path, err, raw)
		}
	}
	return res
}

// expect checks an answer's status and, for errors, its first MessageId.
func expect(t *testing.T, res result, status int, messageID string) {
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
func startBMCLab(t *testing.T, opts labOptions) *testLab {
	t.Helper()
	lab := startLab(t, opts)
	for _, n := range lab.NodeNames() {
		lab.BMC(n).SetTiming(fastTiming)
	}
	return lab
}

// testLab is a few machines, each with its BMC and a host that only keeps
// its power: what the BMCs of the lab see of it (package testlab wires
// them to PVE nodes).
type testLab struct {
	ca       *sim.CA
	password string
	mockup   *Mockup
	names    []string
	bmcs     map[string]*BMC
	hosts    map[string]*testHost
}

// labOptions say what startBMCLab starts.
type labOptions struct {
	Nodes         int     // machines (0: 3)
	BMC           Variant // the BMCs' vendor behaviour
	RedfishMockup string  // the mockup, as OpenMockup takes it
}

// testHost is a machine's power as its host keeps it.
type testHost struct {
	m  *machine.Machine
	mu sync.Mutex
	up bool
}

func (h *testHost) PowerOn() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.up {
		h.up = true
		h.m.SetBoot(time.Now())
	}
	return nil
}

func (h *testHost) PowerOff() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.up = false
	return nil
}

func (h *testHost) Running() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.up
}

// startLab starts the BMCs of opts.Nodes machines on 127.0.0.1, closed
// when t ends.
func startLab(t *testing.T, opts labOptions) *testLab {
	t.Helper()
	if opts.Nodes == 0 {
		opts.Nodes = 3
	}
	ca, err := sim.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	mockup, err := OpenMockup(opts.RedfishMockup)
	if err != nil {
		t.Fatal(err)
	}
	lab := &testLab{ca: ca, password: sim.RandomHex(10), mockup: mockup, bmcs: map[string]*BMC{}, hosts: map[string]*testHost{}}
	now := time.Now()
	for i := 1; i <= opts.Nodes; i++ {
		m := machine.New(i, now)
		h := &testHost{m: m, up: true}
		b, err := New(Config{Machine: m, Host: h, CA: ca, Password: lab.password, Mockup: mockup, Variant: opts.BMC, Logf: t.Logf})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Listen("127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := b.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		lab.names = append(lab.names, m.Name)
		lab.bmcs[m.Name], lab.hosts[m.Name] = b, h
	}
	return lab
}

// BMC returns the BMC of a machine (nil for an unknown one).
func (l *testLab) BMC(node string) *BMC { return l.bmcs[node] }

// BMCEndpoint returns the base URL of a machine's BMC.
func (l *testLab) BMCEndpoint(node string) string { return l.bmcs[node].Endpoint() }

// BMCUsername returns the BMCs' administrator.
func (l *testLab) BMCUsername() string { return DefaultUser }

// BMCPassword returns the administrator's password.
func (l *testLab) BMCPassword() string { return l.password }

// NodeNames returns the machines' names.
func (l *testLab) NodeNames() []string { return l.names }

// NodeRunning reports whether a machine's host is powered on.
func (l *testLab) NodeRunning(node string) bool { return l.hosts[node].Running() }

// httpClient returns a client trusting the lab's CA.
func httpClient(t *testing.T, lab *testLab) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(lab.ca.CertPEM) {
		t.Fatal("lab certificate does not parse")
	}
	return &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
	}
}

// sessionLocation finds the caller's session by its token.
func (c *caller) sessionLocation() string {
	c.t.Helper()
	c.bmc.mu.Lock()
	defer c.bmc.mu.Unlock()
	if s, ok := c.bmc.sessions[c.headers["X-Auth-Token"]]; ok {
		return sessionURI(s.id)
	}
	c.t.Fatal("no session")
	return ""
}

// power returns the PowerState the BMC answers.
func (c *caller) power() string {
	c.t.Helper()
	return c.get("/redfish/v1/Systems/" + c.bmc.SystemID()).Body["PowerState"].(string)
}

func (c *caller) reset(resetType string) result {
	c.t.Helper()
	return c.do(http.MethodPost, "/redfish/v1/Systems/"+c.bmc.SystemID()+"/Actions/ComputerSystem.Reset",
		map[string]any{"ResetType": resetType}, nil)
}
