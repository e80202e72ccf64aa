package testlab

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/machine"
)

// Tests of the simulated BMCs through plain HTTP: the details a client
// sees on the wire.

// fastTiming keeps power transitions short in tests.
var fastTiming = BMCTiming{
	PowerOn:          150 * time.Millisecond,
	ForceOff:         100 * time.Millisecond,
	GracefulShutdown: 400 * time.Millisecond,
	Boot:             200 * time.Millisecond,
	Media:            200 * time.Millisecond,
}

// rfCaller sends requests to one BMC.
type rfCaller struct {
	t       *testing.T
	lab     *PVE
	bmc     *BMC
	client  *http.Client
	headers map[string]string
}

func newRF(t *testing.T, lab *PVE, node string) *rfCaller {
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

// login opens a session and authenticates with its token.
func (c *rfCaller) login() (token, location string) {
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
func (c *rfCaller) anon() *rfCaller {
	cp := *c
	cp.headers = map[string]string{}
	return &cp
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
func startBMCLab(t *testing.T, opts PVEOptions) *PVE {
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
	lab := startBMCLab(t, PVEOptions{})
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

func TestBMCOpenResources(t *testing.T) {
	t.Parallel()
	lab := startBMCLab(t, PVEOptions{Nodes: 1})
	c := newRF(t, lab, "pve1")
	res := c.get("/redfish")
	expectRF(t, res, http.StatusOK, "")
	if res.Body["v1"] != "/redfish/v1/" {
		t.Errorf("/redfish: %s", res.Raw)
	}
	for _, p := range []string{"/redfish/v1", "/redfish/v1/"} {
		res := c.get(p)
		expectRF(t, res, http.StatusOK, "")
		if res.Body["@odata.id"] != "/redfish/v1/" || res.Body["RedfishVersion"] != "1.15.0" ||
			res.Header.Get("OData-Version") != "4.0" {
			t.Fatalf("%s: %s", p, res.Raw)
		}
		sessions := res.Body["Links"].(map[string]any)["Sessions"].(map[string]any)["@odata.id"]
		if sessions != "/redfish/v1/SessionService/Sessions" {
			t.Errorf("Links.Sessions = %v", sessions)
		}
	}
	res = c.get("/redfish/v1/$metadata")
	if res.Status != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/xml") ||
		!strings.Contains(res.Raw, "ServiceRoot") {
		t.Fatalf("$metadata: %d %s", res.Status, res.Raw[:min(len(res.Raw), 200)])
	}
	res = c.get("/redfish/v1/odata")
	expectRF(t, res, http.StatusOK, "")
	if !strings.Contains(res.Raw, `"url":"/redfish/v1/Systems"`) {
		t.Errorf("odata: %s", res.Raw)
	}
	// everything else needs credentials
	for _, p := range []string{"/redfish/v1/Systems", "/redfish/v1/SessionService/Sessions", "/redfish/v1/Managers/BMC", "/redfish/v1/nonsense"} {
		res := c.get(p)
		expectRF(t, res, http.StatusUnauthorized, "NoValidSession")
		if !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Basic") {
			t.Errorf("%s: WWW-Authenticate %q", p, res.Header.Get("WWW-Authenticate"))
		}
	}
	expectRF(t, c.do(http.MethodGet, "/redfish/v1/Systems", nil, map[string]string{"X-Auth-Token": "0123456789abcdef"}),
		http.StatusUnauthorized, "NoValidSession")
}

func TestBMCSessions(t *testing.T) {
	t.Parallel()
	lab := startBMCLab(t, PVEOptions{Nodes: 1})
	b := lab.BMC("pve1")
	c := newRF(t, lab, "pve1")
	token, location := c.login()
	if len(token) < 16 || !strings.HasPrefix(location, "/redfish/v1/SessionService/Sessions/") {
		t.Fatalf("token %q location %q", token, location)
	}
	if b.SessionCount() != 1 {
		t.Fatalf("SessionCount = %d", b.SessionCount())
	}
	res := c.get(location)
	expectRF(t, res, http.StatusOK, "")
	if res.Body["UserName"] != "ADMIN" || res.Body["@odata.id"] != location {
		t.Errorf("session: %s", res.Raw)
	}
	res = c.get("/redfish/v1/SessionService/Sessions")
	if res.Body["Members@odata.count"] != 1.0 {
		t.Errorf("sessions: %s", res.Raw)
	}

	// wrong password, missing properties, unknown property
	anon := c.anon()
	res = anon.do(http.MethodPost, "/redfish/v1/SessionService/Sessions", map[string]any{"UserName": "ADMIN", "Password": "wrong"}, nil)
	expectRF(t, res, http.StatusUnauthorized, "ResourceAtUriUnauthorized")
	if !strings.Contains(res.Raw, "Invalid username or password") {
		t.Errorf("body %s", res.Raw)
	}
	res = anon.do(http.MethodPost, "/redfish/v1/SessionService/Sessions", map[string]any{}, nil)
	expectRF(t, res, http.StatusBadRequest, "PropertyMissing")
	if ids := res.messageIDs(); len(ids) != 2 {
		t.Errorf("messages %v", ids)
	}
	expectRF(t, anon.do(http.MethodPost, "/redfish/v1/SessionService/Sessions",
		map[string]any{"UserName": "ADMIN", "Password": "x", "Role": "x"}, nil), http.StatusBadRequest, "PropertyUnknown")
	expectRF(t, anon.do(http.MethodPost, "/redfish/v1/SessionService/Sessions", "{", nil), http.StatusBadRequest, "MalformedJSON")

	// four slots: the fifth login is refused with 503, as bmcweb and iDRAC do
	var others []*rfCaller
	for range 3 {
		o := newRF(t, lab, "pve1")
		o.login()
		others = append(others, o)
	}
	res = anon.do(http.MethodPost, "/redfish/v1/SessionService/Sessions",
		map[string]any{"UserName": "ADMIN", "Password": lab.BMCPassword()}, nil)
	expectRF(t, res, http.StatusServiceUnavailable, "SessionLimitExceeded")
	if b.SessionCount() != 4 {
		t.Fatalf("SessionCount = %d", b.SessionCount())
	}
	// basic auth needs no slot
	expectRF(t, newRF(t, lab, "pve1").basic().get("/redfish/v1/Systems"), http.StatusOK, "")
	bad := newRF(t, lab, "pve1")
	bad.headers["Authorization"] = "Basic " + basicAuth("ADMIN", "nope")
	expectRF(t, bad.get("/redfish/v1/Systems"), http.StatusUnauthorized, "ResourceAtUriUnauthorized")

	// logging out frees a slot; the token is dead
	expectRF(t, c.do(http.MethodDelete, location, nil, nil), http.StatusOK, "")
	expectRF(t, c.get("/redfish/v1/Systems"), http.StatusUnauthorized, "NoValidSession")
	expectRF(t, others[0].do(http.MethodDelete, location, nil, nil), http.StatusNotFound, "ResourceNotFound")
	if b.SessionCount() != 3 {
		t.Fatalf("SessionCount = %d", b.SessionCount())
	}
	for _, o := range others {
		expectRF(t, o.do(http.MethodDelete, o.sessionLocation(), nil, nil), http.StatusOK, "")
	}
	if b.SessionCount() != 0 {
		t.Fatalf("SessionCount = %d", b.SessionCount())
	}
}

// sessionLocation finds the caller's session by its token.
func (c *rfCaller) sessionLocation() string {
	c.t.Helper()
	c.bmc.mu.Lock()
	defer c.bmc.mu.Unlock()
	if s, ok := c.bmc.sessions[c.headers["X-Auth-Token"]]; ok {
		return sessionURI(s.id)
	}
	c.t.Fatal("no session")
	return ""
}

func TestBMCSessionTimeout(t *testing.T) {
	t.Parallel()
	lab := startBMCLab(t, PVEOptions{Nodes: 1})
	c := newRF(t, lab, "pve1")
	c.login()
	res := c.get("/redfish/v1/SessionService")
	if res.Body["SessionTimeout"] != 1800.0 {
		t.Fatalf("SessionService: %s", res.Raw)
	}
	expectRF(t, c.do(http.MethodPatch, "/redfish/v1/SessionService", map[string]any{"SessionTimeout": 10}, nil),
		http.StatusBadRequest, "PropertyValueNotInList")
	expectRF(t, c.do(http.MethodPatch, "/redfish/v1/SessionService", map[string]any{"SessionTimeout": "60"}, nil),
		http.StatusBadRequest, "PropertyValueTypeError")
	expectRF(t, c.do(http.MethodPatch, "/redfish/v1/SessionService", map[string]any{"ServiceEnabled": false}, nil),
		http.StatusBadRequest, "PropertyNotWritable")
	res = c.do(http.MethodPatch, "/redfish/v1/SessionService", map[string]any{"SessionTimeout": 60}, nil)
	expectRF(t, res, http.StatusOK, "")
	if res.Body["SessionTimeout"] != 60.0 {
		t.Fatalf("SessionService: %s", res.Raw)
	}
	// an idle session expires (shortened here: the minimum is 30 seconds)
	b := lab.BMC("pve1")
	b.mu.Lock()
	b.sessionTimeout = 50 * time.Millisecond
	b.mu.Unlock()
	time.Sleep(80 * time.Millisecond)
	expectRF(t, c.get("/redfish/v1/Systems"), http.StatusUnauthorized, "NoValidSession")
	if b.SessionCount() != 0 {
		t.Errorf("SessionCount = %d", b.SessionCount())
	}
}

func TestBMCSystemInventory(t *testing.T) {
	t.Parallel()
	lab := startBMCLab(t, PVEOptions{Nodes: 3})
	ids := map[string]bool{}
	for _, n := range lab.NodeNames() {
		b := lab.BMC(n)
		c := newRF(t, lab, n).basic()
		res := c.get("/redfish/v1/Systems")
		members := res.Body["Members"].([]any)
		if len(members) != 1 || members[0].(map[string]any)["@odata.id"] != "/redfish/v1/Systems/"+b.SystemID() {
			t.Fatalf("%s: systems %s", n, res.Raw)
		}
		if ids[b.SystemID()] {
			t.Fatalf("system ID %s twice", b.SystemID())
		}
		ids[b.SystemID()] = true
		sys := c.get("/redfish/v1/Systems/" + b.SystemID())
		expectRF(t, sys, http.StatusOK, "")
		s := sys.Body
		if s["Id"] != b.SystemID() || s["SerialNumber"] != b.SerialNumber() || s["Manufacturer"] != "Supermicro" ||
			s["HostName"] != n || s["PowerState"] != "On" || s["BiosVersion"] == "" {
			t.Errorf("%s: system %s", n, sys.Raw)
		}
		ps := s["ProcessorSummary"].(map[string]any)
		ms := s["MemorySummary"].(map[string]any)
		if ps["Count"] != 1.0 || ps["CoreCount"] != 8.0 || ps["LogicalProcessorCount"] != 16.0 || ps["Model"] != machine.CPUModel ||
			ms["TotalSystemMemoryGiB"] != 64.0 || s["Status"].(map[string]any)["Health"] != "OK" {
			t.Errorf("%s: summaries %v %v", n, ps, ms)
		}
		reset := s["Actions"].(map[string]any)["#ComputerSystem.Reset"].(map[string]any)
		if reset["target"] != "/redfish/v1/Systems/"+b.SystemID()+"/Actions/ComputerSystem.Reset" ||
			len(reset["ResetType@Redfish.AllowableValues"].([]any)) < 6 {
			t.Errorf("reset action %v", reset)
		}
		// ETag header and @odata.etag agree; If-None-Match answers 304
		etag := sys.Header.Get("ETag")
		if etag == "" || s["@odata.etag"] != etag {
			t.Errorf("ETag %q, @odata.etag %v", etag, s["@odata.etag"])
		}
		if res := c.do(http.MethodGet, "/redfish/v1/Systems/"+b.SystemID(), nil, map[string]string{"If-None-Match": etag}); res.Status != http.StatusNotModified {
			t.Errorf("If-None-Match: %d", res.Status)
		}
		// the NICs eno1 .. eno4, with their MAC addresses (and maybe the
		// mockup's host interface to the BMC)
		nics := c.get("/redfish/v1/Systems/" + b.SystemID() + "/EthernetInterfaces")
		var macs []string
		for _, m := range nics.Body["Members"].([]any) {
			nic := c.get(m.(map[string]any)["@odata.id"].(string))
			expectRF(t, nic, http.StatusOK, "")
			if nic.Body["Id"] != "ToManager" {
				macs = append(macs, nic.Body["MACAddress"].(string))
			}
		}
		if !slices.Equal(macs, b.MACAddresses()) || len(macs) != 4 || !strings.HasPrefix(macs[0], "3C:EC:EF:") {
			t.Errorf("%s: MACs %v, want %v", n, macs, b.MACAddresses())
		}
		cpu := c.get("/redfish/v1/Systems/" + b.SystemID() + "/Processors/CPU1")
		if cpu.Body["TotalCores"] != 8.0 || cpu.Body["TotalThreads"] != 16.0 {
			t.Errorf("CPU1 %s", cpu.Raw)
		}
		mem := c.get("/redfish/v1/Systems/" + b.SystemID() + "/Memory")
		if mem.Body["Members@odata.count"] != 4.0 {
			t.Errorf("memory %s", mem.Raw)
		}
		expectRF(t, c.get("/redfish/v1/Systems/"+b.SystemID()+"/Processors/CPU2"), http.StatusNotFound, "ResourceNotFound")
		mgr := c.get("/redfish/v1/Managers/BMC")
		if mgr.Body["FirmwareVersion"] == "" || mgr.Body["ManagerType"] != "BMC" || mgr.Body["Status"].(map[string]any)["Health"] != "OK" {
			t.Errorf("manager %s", mgr.Raw)
		}
		nic := c.get("/redfish/v1/Managers/BMC/EthernetInterfaces/eth0")
		if nic.Body["HostName"] != n+"-bmc" {
			t.Errorf("BMC NIC %s", nic.Raw)
		}
		ch := c.get("/redfish/v1/Chassis/1U")
		if ch.Body["PowerState"] != "On" || ch.Body["Manufacturer"] != "Supermicro" {
			t.Errorf("chassis %s", ch.Raw)
		}
		expectRF(t, c.get("/redfish/v1/Systems/437XR1138R2"), http.StatusNotFound, "ResourceNotFound")
	}
	// the BMCs of pve3 run older firmware
	fw := func(n string) any {
		return newRF(t, lab, n).basic().get("/redfish/v1/Managers/BMC").Body["FirmwareVersion"]
	}
	if fw("pve1") == fw("pve3") {
		t.Errorf("pve1 and pve3 run the same BMC firmware %v", fw("pve1"))
	}
}

func TestBMCProtocolDetails(t *testing.T) {
	t.Parallel()
	lab := startBMCLab(t, PVEOptions{Nodes: 1})
	b := lab.BMC("pve1")
	c := newRF(t, lab, "pve1").basic()
	sys := "/redfish/v1/Systems/" + b.SystemID()
	expectRF(t, c.get("/redfish/v1/Systems?$expand=."), http.StatusNotImplemented, "QueryNotSupported")
	res := c.do(http.MethodPost, sys, map[string]any{}, nil)
	expectRF(t, res, http.StatusMethodNotAllowed, "GeneralError")
	if allow := res.Header.Get("Allow"); !strings.Contains(allow, "PATCH") || strings.Contains(allow, "POST") {
		t.Errorf("Allow %q", allow)
	}
	if allow := c.get(sys).Header.Get("Allow"); !strings.Contains(allow, "GET") || !strings.Contains(allow, "PATCH") {
		t.Errorf("Allow on GET %q", allow)
	}
	expectRF(t, c.get("/redfish/v1/NoSuchThing"), http.StatusNotFound, "ResourceMissingAtURI")
	expectRF(t, c.do(http.MethodPatch, sys, "Boot=1", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}),
		http.StatusUnsupportedMediaType, "UnrecognizedRequestBody")
	expectRF(t, c.do(http.MethodPatch, sys, map[string]any{"PowerState": "Off"}, nil), http.StatusBadRequest, "PropertyNotWritable")
	expectRF(t, c.do(http.MethodPatch, sys, map[string]any{"Colour": "red"}, nil), http.StatusBadRequest, "PropertyUnknown")
	// HEAD works where GET does
	req, _ := http.NewRequest(http.MethodHead, b.Endpoint()+sys, nil)
	req.SetBasicAuth(lab.BMCUsername(), lab.BMCPassword())
	resp, err := c.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("ETag") == "" {
		t.Errorf("HEAD: %s", resp.Status)
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
	lab := startBMCLab(t, PVEOptions{Nodes: 3})
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
	lab := startBMCLab(t, PVEOptions{Nodes: 2})
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

func TestBMCBootOverride(t *testing.T) {
	t.Parallel()
	lab := startBMCLab(t, PVEOptions{Nodes: 1})
	b := lab.BMC("pve1")
	c := newRF(t, lab, "pve1").basic()
	sys := "/redfish/v1/Systems/" + b.SystemID()
	boot := c.get(sys).Body["Boot"].(map[string]any)
	if boot["BootSourceOverrideEnabled"] != "Disabled" || boot["BootSourceOverrideTarget"] != "None" ||
		!slices.Contains(boot["BootSourceOverrideTarget@Redfish.AllowableValues"].([]any), any("Cd")) {
		t.Fatalf("Boot %v", boot)
	}
	for _, tc := range []struct {
		boot map[string]any
		id   string
	}{
		{map[string]any{"BootSourceOverrideTarget": "Floppy"}, "PropertyValueNotInList"},
		{map[string]any{"BootSourceOverrideEnabled": "Twice"}, "PropertyValueNotInList"},
		{map[string]any{"BootSourceOverrideMode": "BIOS"}, "PropertyValueNotInList"},
		{map[string]any{"BootSourceOverrideTarget": 3}, "PropertyValueTypeError"},
		{map[string]any{"BootNext": "Boot0001"}, "PropertyUnknown"},
	} {
		expectRF(t, c.do(http.MethodPatch, sys, map[string]any{"Boot": tc.boot}, nil), http.StatusBadRequest, tc.id)
	}
	// If-Match: a stale ETag is refused, the current one accepted
	etag := c.get(sys).Header.Get("ETag")
	res := c.do(http.MethodPatch, sys, map[string]any{"Boot": map[string]any{"BootSourceOverrideTarget": "Cd"}},
		map[string]string{"If-Match": `"0000"`})
	if res.Status != http.StatusPreconditionFailed {
		t.Fatalf("stale If-Match: %d %s", res.Status, res.Raw)
	}
	res = c.do(http.MethodPatch, sys, map[string]any{"Boot": map[string]any{
		"BootSourceOverrideTarget": "Cd", "BootSourceOverrideEnabled": "Once", "BootSourceOverrideMode": "UEFI",
		"BootSourceOverrideTarget@Redfish.AllowableValues": []string{"ignored"}}},
		map[string]string{"If-Match": etag})
	expectRF(t, res, http.StatusOK, "")
	if res.Header.Get("ETag") == etag {
		t.Error("ETag unchanged by the PATCH")
	}
	if o := b.BootOverride(); o != (BMCBootOverride{Target: "Cd", Enabled: "Once", Mode: "UEFI"}) {
		t.Fatalf("override %+v", o)
	}
	// with an image in the CD drive, the next boot boots it, once
	expectRF(t, c.do(http.MethodPost, sys+"/VirtualMedia/CD1/Actions/VirtualMedia.InsertMedia",
		map[string]any{"Image": "http://images.lab/pve.iso"}, nil), http.StatusNoContent, "")
	expectRF(t, c.reset("ForceRestart"), http.StatusNoContent, "")
	if o := b.BootOverride(); o.Enabled != "Disabled" || o.Target != "None" {
		t.Errorf("after the boot: %+v", o)
	}
	if lb := b.LastBoot(); lb.Target != "Cd" || lb.Image != "http://images.lab/pve.iso" || lb.Mode != "UEFI" {
		t.Errorf("last boot %+v", lb)
	}
	waitUntil(t, "pve1 to run", func() bool { return lab.NodeRunning("pve1") })
	// Continuous stays; the target None turns the override off
	expectRF(t, c.do(http.MethodPatch, sys, map[string]any{"Boot": map[string]any{
		"BootSourceOverrideTarget": "Pxe", "BootSourceOverrideEnabled": "Continuous"}}, nil), http.StatusOK, "")
	expectRF(t, c.reset("ForceRestart"), http.StatusNoContent, "")
	if o := b.BootOverride(); o.Enabled != "Continuous" || o.Target != "Pxe" || b.LastBoot().Target != "Pxe" {
		t.Errorf("continuous: %+v %+v", o, b.LastBoot())
	}
	expectRF(t, c.do(http.MethodPatch, sys, map[string]any{"Boot": map[string]any{"BootSourceOverrideTarget": "None"}}, nil),
		http.StatusOK, "")
	if o := b.BootOverride(); o.Enabled != "Disabled" {
		t.Errorf("target None: %+v", o)
	}
	waitUntil(t, "pve1 to run", func() bool { return lab.NodeRunning("pve1") })
}

func TestBMCVirtualMediaActions(t *testing.T) {
	t.Parallel()
	lab := startBMCLab(t, PVEOptions{Nodes: 1})
	b := lab.BMC("pve1")
	c := newRF(t, lab, "pve1").basic()
	sys := "/redfish/v1/Systems/" + b.SystemID()
	// under the system, linked from it, not from the manager
	if l := c.get(sys).Body["VirtualMedia"]; l == nil || l.(map[string]any)["@odata.id"] != sys+"/VirtualMedia" {
		t.Fatalf("system's VirtualMedia link %v", l)
	}
	if l := c.get("/redfish/v1/Managers/BMC").Body["VirtualMedia"]; l != nil {
		t.Fatalf("manager's VirtualMedia link %v", l)
	}
	expectRF(t, c.get("/redfish/v1/Managers/BMC/VirtualMedia"), http.StatusNotFound, "ResourceMissingAtURI")
	coll := c.get(sys + "/VirtualMedia")
	if coll.Body["Members@odata.count"] != 2.0 {
		t.Fatalf("collection %s", coll.Raw)
	}
	cd := c.get(sys + "/VirtualMedia/CD1").Body
	if !slices.Equal(cd["MediaTypes"].([]any), []any{"CD", "DVD"}) || cd["Inserted"] != false || cd["Image"] != nil ||
		cd["ConnectedVia"] != "NotConnected" {
		t.Fatalf("CD1 %v", cd)
	}
	actions := cd["Actions"].(map[string]any)
	insert := actions["#VirtualMedia.InsertMedia"].(map[string]any)["target"].(string)
	eject := actions["#VirtualMedia.EjectMedia"].(map[string]any)["target"].(string)
	floppy := c.get(sys + "/VirtualMedia/Floppy1").Body
	if !slices.Contains(floppy["MediaTypes"].([]any), any("USBStick")) {
		t.Errorf("Floppy1 %v", floppy)
	}

	for _, tc := range []struct {
		body   map[string]any
		status int
		id     string
	}{
		{map[string]any{}, http.StatusBadRequest, "ActionParameterMissing"},
		{map[string]any{"Image": "ftp://images.lab/pve.iso"}, http.StatusBadRequest, "ResourceAtUriInUnknownFormat"},
		{map[string]any{"Image": "images.lab/pve.iso"}, http.StatusBadRequest, "ResourceAtUriInUnknownFormat"},
		{map[string]any{"Image": "http://images.lab/pve.iso", "TransferProtocolType": "HTTPS"}, http.StatusBadRequest, "ActionParameterValueTypeError"},
		{map[string]any{"Image": "http://images.lab/pve.iso", "TransferProtocolType": "TFTP"}, http.StatusBadRequest, "PropertyValueNotInList"},
		{map[string]any{"Image": "http://images.lab/pve.iso", "Inserted": false}, http.StatusBadRequest, "ActionParameterNotSupported"},
		{map[string]any{"Image": "http://images.lab/pve.iso", "WriteProtected": "yes"}, http.StatusBadRequest, "ActionParameterValueTypeError"},
		{map[string]any{"Image": "http://images.lab/pve.iso", "Bogus": 1}, http.StatusBadRequest, "ActionParameterUnknown"},
		{map[string]any{"Image": "http://images.lab/pve.iso", "TransferMethod": "Upload"}, http.StatusBadRequest, "ActionParameterNotSupported"},
	} {
		expectRF(t, c.do(http.MethodPost, insert, tc.body, nil), tc.status, tc.id)
	}
	// ejecting an empty drive fails, as on iDRAC
	expectRF(t, c.do(http.MethodPost, eject, map[string]any{}, nil), http.StatusInternalServerError, "GeneralError")

	res := c.do(http.MethodPost, insert, map[string]any{"Image": "https://images.lab/isos/pve-9.1.iso", "Inserted": true,
		"WriteProtected": true, "TransferProtocolType": "HTTPS", "UserName": "u", "Password": "p"}, nil)
	expectRF(t, res, http.StatusNoContent, "")
	cd = c.get(sys + "/VirtualMedia/CD1").Body
	if cd["Inserted"] != true || cd["Image"] != "https://images.lab/isos/pve-9.1.iso" || cd["ImageName"] != "pve-9.1.iso" ||
		cd["ConnectedVia"] != "URI" || cd["TransferProtocolType"] != "HTTPS" || cd["Password"] != nil || cd["UserName"] != "u" {
		t.Fatalf("CD1 after insert %v", cd)
	}
	// a drive that holds media refuses another, as iDRAC does
	res = c.do(http.MethodPost, insert, map[string]any{"Image": "http://images.lab/other.iso"}, nil)
	expectRF(t, res, http.StatusInternalServerError, "ResourceInUse")
	if v := b.VirtualMedia(); v[0].Image != "https://images.lab/isos/pve-9.1.iso" || !v[0].Inserted || v[0].TransferProtocolType != "HTTPS" {
		t.Errorf("state %+v", v[0])
	}
	// PATCH is not how this BMC inserts media
	res = c.do(http.MethodPatch, sys+"/VirtualMedia/CD1", map[string]any{"Inserted": false}, nil)
	expectRF(t, res, http.StatusMethodNotAllowed, "")

	expectRF(t, c.do(http.MethodPost, eject, nil, nil), http.StatusNoContent, "")
	if v := b.VirtualMedia(); v[0].Inserted || v[0].Image != "" {
		t.Errorf("after eject %+v", v[0])
	}
	// NFS and CIFS shares; the protocol can come from TransferProtocolType
	floppyInsert := sys + "/VirtualMedia/Floppy1/Actions/VirtualMedia.InsertMedia"
	expectRF(t, c.do(http.MethodPost, floppyInsert, map[string]any{"Image": "//fileserver/share/seed.img", "TransferProtocolType": "CIFS"}, nil),
		http.StatusNoContent, "")
	if v := b.VirtualMedia(); v[1].Image != "smb://fileserver/share/seed.img" || v[1].TransferProtocolType != "CIFS" {
		t.Errorf("Floppy1 %+v", v[1])
	}
	expectRF(t, c.do(http.MethodPost, insert, map[string]any{"Image": "nfs://fileserver/export/pve.iso", "MediaType": "DVD"}, nil),
		http.StatusNoContent, "")
	if v := b.VirtualMedia(); v[0].TransferProtocolType != "NFS" {
		t.Errorf("CD1 %+v", v[0])
	}
}

func TestBMCVirtualMediaUnderManager(t *testing.T) {
	t.Parallel()
	lab := startBMCLab(t, PVEOptions{Nodes: 2, BMC: BMCVariant{VirtualMediaUnderManager: true}})
	b := lab.BMC("pve2")
	c := newRF(t, lab, "pve2").basic()
	sys := "/redfish/v1/Systems/" + b.SystemID()
	if l := c.get(sys).Body["VirtualMedia"]; l != nil {
		t.Fatalf("system's VirtualMedia link %v", l)
	}
	mgr := c.get("/redfish/v1/Managers/BMC").Body
	if mgr["VirtualMedia"].(map[string]any)["@odata.id"] != "/redfish/v1/Managers/BMC/VirtualMedia" {
		t.Fatalf("manager %v", mgr["VirtualMedia"])
	}
	expectRF(t, c.get(sys+"/VirtualMedia"), http.StatusNotFound, "ResourceMissingAtURI")
	expectRF(t, c.do(http.MethodPost, "/redfish/v1/Managers/BMC/VirtualMedia/CD1/Actions/VirtualMedia.InsertMedia",
		map[string]any{"Image": "http://images.lab/pve.iso"}, nil), http.StatusNoContent, "")
	cd := c.get("/redfish/v1/Managers/BMC/VirtualMedia/CD1").Body
	if cd["@odata.id"] != "/redfish/v1/Managers/BMC/VirtualMedia/CD1" || cd["Inserted"] != true {
		t.Fatalf("CD1 %v", cd)
	}
	// switching back moves the slots, with their media
	b.SetVariant(BMCVariant{})
	if cd := c.get(sys + "/VirtualMedia/CD1").Body; cd["Inserted"] != true {
		t.Fatalf("CD1 under the system %v", cd)
	}
}

func TestBMCVirtualMediaPatch(t *testing.T) {
	t.Parallel()
	lab := startBMCLab(t, PVEOptions{Nodes: 1})
	b := lab.BMC("pve1")
	b.SetVariant(BMCVariant{PatchVirtualMedia: true, VirtualMediaUnderManager: true})
	c := newRF(t, lab, "pve1").basic()
	slot := "/redfish/v1/Managers/BMC/VirtualMedia/CD1"
	cd := c.get(slot)
	if cd.Body["Actions"] != nil {
		t.Fatalf("actions listed: %s", cd.Raw)
	}
	expectRF(t, c.do(http.MethodPost, slot+"/Actions/VirtualMedia.InsertMedia", map[string]any{"Image": "http://x/y.iso"}, nil),
		http.StatusNotFound, "")
	expectRF(t, c.do(http.MethodPatch, slot, map[string]any{"Inserted": true}, nil), http.StatusBadRequest, "PropertyMissing")
	expectRF(t, c.do(http.MethodPatch, slot, map[string]any{"MediaTypes": []string{"CD"}}, nil), http.StatusBadRequest, "PropertyNotWritable")
	expectRF(t, c.do(http.MethodPatch, slot, map[string]any{"Image": "tftp://x/y.iso"}, nil), http.StatusBadRequest, "ResourceAtUriInUnknownFormat")
	res := c.do(http.MethodPatch, slot, map[string]any{"Image": "http://images.lab/pve.iso", "Inserted": true, "WriteProtected": false},
		map[string]string{"If-Match": cd.Header.Get("ETag")})
	expectRF(t, res, http.StatusOK, "")
	if res.Body["Inserted"] != true || res.Body["Image"] != "http://images.lab/pve.iso" || res.Body["WriteProtected"] != false {
		t.Fatalf("after PATCH %s", res.Raw)
	}
	expectRF(t, c.do(http.MethodPatch, slot, map[string]any{"Image": "http://images.lab/other.iso"}, nil), http.StatusBadRequest, "ResourceInUse")
	expectRF(t, c.do(http.MethodPatch, slot, map[string]any{"Inserted": false}, map[string]string{"If-Match": cd.Header.Get("ETag")}),
		http.StatusPreconditionFailed, "GeneralError")
	res = c.do(http.MethodPatch, slot, map[string]any{"Inserted": false, "WriteProtected": false}, nil)
	expectRF(t, res, http.StatusOK, "")
	if res.Body["Inserted"] != false || res.Body["Image"] != nil {
		t.Fatalf("after eject %s", res.Raw)
	}
	// ejecting again is harmless; Image null ejects too
	expectRF(t, c.do(http.MethodPatch, slot, map[string]any{"Image": nil}, nil), http.StatusOK, "")
}

func TestBMCTaskActions(t *testing.T) {
	t.Parallel()
	lab := startBMCLab(t, PVEOptions{Nodes: 1, BMC: BMCVariant{TaskActions: true}})
	b := lab.BMC("pve1")
	slowMedia := fastTiming
	slowMedia.Media = time.Second // the checks during the media task have time
	b.SetTiming(slowMedia)
	c := newRF(t, lab, "pve1").basic()
	res := c.reset("ForceOff")
	expectRF(t, res, http.StatusAccepted, "")
	monitor := res.Header.Get("Location")
	if !strings.HasPrefix(monitor, "/redfish/v1/TaskService/TaskMonitors/") || res.Header.Get("Retry-After") == "" ||
		res.Body["TaskState"] != "Running" {
		t.Fatalf("202: %v %s", res.Header, res.Raw)
	}
	taskURI := res.Body["@odata.id"].(string)
	res = c.get(monitor)
	if res.Status != http.StatusAccepted && res.Status != http.StatusOK {
		t.Fatalf("monitor %d %s", res.Status, res.Raw)
	}
	waitUntil(t, "the task to complete", func() bool { return c.get(monitor).Status == http.StatusOK })
	res = c.get(monitor)
	if res.Body["TaskState"] != "Completed" || res.Body["TaskStatus"] != "OK" || res.Body["PercentComplete"] != 100.0 {
		t.Fatalf("completed: %s", res.Raw)
	}
	if b.PowerState() != "Off" {
		t.Errorf("PowerState %s after the task", b.PowerState())
	}
	task := c.get(taskURI)
	if task.Body["TaskState"] != "Completed" || task.Body["TaskMonitor"] != monitor {
		t.Errorf("task %s", task.Raw)
	}
	if c.get("/redfish/v1/TaskService/Tasks").Body["Members@odata.count"] != 1.0 {
		t.Error("task not listed")
	}
	// media: inserted when the task ends
	res = c.do(http.MethodPost, "/redfish/v1/Systems/"+b.SystemID()+"/VirtualMedia/CD1/Actions/VirtualMedia.InsertMedia",
		map[string]any{"Image": "http://images.lab/pve.iso"}, nil)
	expectRF(t, res, http.StatusAccepted, "")
	if b.VirtualMedia()[0].Inserted {
		t.Error("inserted before the task ended")
	}
	mon := res.Header.Get("Location")
	// the slot is busy until the task ends
	expectRF(t, c.do(http.MethodPost, "/redfish/v1/Systems/"+b.SystemID()+"/VirtualMedia/CD1/Actions/VirtualMedia.EjectMedia",
		map[string]any{}, nil), http.StatusConflict, "ResourceInUse")
	waitUntil(t, "the media task", func() bool { return c.get(mon).Status == http.StatusOK })
	if !b.VirtualMedia()[0].Inserted {
		t.Error("not inserted after the task")
	}
	// validation still answers at once
	expectRF(t, c.do(http.MethodPost, "/redfish/v1/Systems/"+b.SystemID()+"/VirtualMedia/CD1/Actions/VirtualMedia.InsertMedia",
		map[string]any{}, nil), http.StatusBadRequest, "ActionParameterMissing")
	expectRF(t, c.get("/redfish/v1/TaskService/TaskMonitors/999"), http.StatusNotFound, "ResourceNotFound")
}

func TestBMCBusyAfterPowerOn(t *testing.T) {
	t.Parallel()
	lab := startBMCLab(t, PVEOptions{Nodes: 1, BMC: BMCVariant{BusyAfterPowerOn: 1500 * time.Millisecond}})
	c := newRF(t, lab, "pve1").basic()
	expectRF(t, c.reset("ForceOff"), http.StatusNoContent, "")
	waitUntil(t, "Off", func() bool { return c.power() == "Off" })
	expectRF(t, c.reset("On"), http.StatusNoContent, "")
	// once the host is on, the BMC is busy for a while
	var busy rfResult
	waitUntil(t, "503", func() bool {
		busy = c.get("/redfish/v1/Systems")
		return busy.Status == http.StatusServiceUnavailable
	})
	expectRF(t, busy, http.StatusServiceUnavailable, "ServiceTemporarilyUnavailable")
	if ra := busy.Header.Get("Retry-After"); ra != "1" && ra != "2" {
		t.Errorf("Retry-After %q", ra)
	}
	expectRF(t, c.get("/redfish/v1/"), http.StatusOK, "")
	expectRF(t, c.anon().do(http.MethodPost, "/redfish/v1/SessionService/Sessions",
		map[string]any{"UserName": "ADMIN", "Password": lab.BMCPassword()}, nil), http.StatusServiceUnavailable, "ServiceTemporarilyUnavailable")
	waitUntil(t, "the BMC to answer", func() bool { return c.get("/redfish/v1/Systems").Status == http.StatusOK })
}

func TestBMCMockupResources(t *testing.T) {
	t.Parallel()
	lab := startBMCLab(t, PVEOptions{Nodes: 1})
	if lab.lab.mockup == nil {
		t.Fatal("the BMCs serve no mockup")
	}
	b := lab.BMC("pve1")
	c := newRF(t, lab, "pve1").basic()
	sys := c.get("/redfish/v1/Systems/" + b.SystemID()).Body
	bios := sys["Bios"].(map[string]any)["@odata.id"].(string)
	res := c.get(bios)
	expectRF(t, res, http.StatusOK, "")
	if res.Body["@odata.id"] != "/redfish/v1/Systems/"+b.SystemID()+"/Bios" || res.Header.Get("ETag") == "" {
		t.Errorf("Bios %s", res.Raw)
	}
	res = c.get("/redfish/v1/Registries/Base.1.5.0")
	expectRF(t, res, http.StatusOK, "")
	reg := c.get("/redfish/v1/Registries/Base.1.5.0.json")
	if reg.Body["RegistryPrefix"] != "Base" || reg.Body["RegistryVersion"] != "1.5.0" {
		t.Errorf("registry %s", reg.Raw[:min(200, len(reg.Raw))])
	}
	// the registry's texts are the BMC's
	msgs := reg.Body["Messages"].(map[string]any)
	for key, m := range baseMessages {
		rm, ok := msgs[key].(map[string]any)
		if !ok || rm["Message"] != m.text || rm["Severity"] != m.severity || rm["Resolution"] != m.resolution {
			t.Errorf("message %s differs from the registry: %v", key, rm)
		}
	}
	expectRF(t, c.get("/redfish/v1/Chassis/1U/Sensors"), http.StatusOK, "")
	expectRF(t, c.do(http.MethodPatch, bios, map[string]any{"Attributes": map[string]any{}}, nil), http.StatusMethodNotAllowed, "")
	// the mockup's virtual media are not served: the BMC models its own
	if strings.Contains(c.get("/redfish/v1/Systems/"+b.SystemID()+"/VirtualMedia/CD1").Raw, "freeImages") {
		t.Error("the mockup's CD1 is served")
	}
}

func TestBMCEnvLines(t *testing.T) {
	t.Parallel()
	lab := startBMCLab(t, PVEOptions{Nodes: 2})
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

// crawl follows every @odata.id from the service root and reports the
// links that do not answer 200.
func crawl(t *testing.T, c *rfCaller) (visited int, broken []string, types map[string]bool) {
	t.Helper()
	types = map[string]bool{}
	seen := map[string]bool{}
	queue := []string{"/redfish/v1/"}
	var walk func(v any, from string)
	walk = func(v any, from string) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if k == "@odata.id" {
					if s, ok := e.(string); ok {
						s, _, _ = strings.Cut(s, "#")
						if !seen[s] && strings.HasPrefix(s, "/redfish/v1") { // not the mockup's PDU elsewhere
							seen[s] = true
							queue = append(queue, s)
						}
					}
					continue
				}
				walk(e, from)
			}
		case []any:
			for _, e := range x {
				walk(e, from)
			}
		}
	}
	for len(queue) > 0 && visited < 1000 {
		p := queue[0]
		queue = queue[1:]
		res := c.get(p)
		visited++
		if res.Status != http.StatusOK {
			broken = append(broken, fmt.Sprintf("%s: %d", p, res.Status))
			continue
		}
		if typ, ok := res.Body["@odata.type"].(string); ok && rfModelled(mockupKey(c.bmc, strings.TrimSuffix(p, "/"))) {
			types[typ] = true // the types of what the BMC models (the mockup's $metadata lacks some of its own)
		}
		walk(res.Body, p)
	}
	return visited, broken, types
}

func TestBMCEveryLinkResolves(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		mockup  string
		variant BMCVariant
	}{
		{"mockup", "", BMCVariant{}},
		{"mockup, media under the manager", "", BMCVariant{VirtualMediaUnderManager: true, PatchVirtualMedia: true}},
		{"without the mockup", "-", BMCVariant{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lab := startBMCLab(t, PVEOptions{Nodes: 1, RedfishMockup: tc.mockup, BMC: tc.variant})
			c := newRF(t, lab, "pve1").basic()
			visited, broken, types := crawl(t, c)
			if len(broken) > 0 {
				t.Errorf("%d of %d links broken:\n%s", len(broken), visited, strings.Join(broken, "\n"))
			}
			// $metadata declares every type the BMC models
			metadata := c.get("/redfish/v1/$metadata").Raw
			for typ := range types {
				ns := strings.TrimPrefix(typ, "#")
				ns = ns[:strings.LastIndex(ns, ".")]
				if !strings.Contains(metadata, `Namespace="`+ns+`"`) {
					t.Errorf("$metadata lacks %s (%s)", ns, typ)
				}
			}
			if visited < 20 || len(types) < 15 {
				t.Errorf("only %d resources, %d types", visited, len(types))
			}
		})
	}
}
