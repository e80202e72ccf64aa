package bmcsim

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/bmcsim/bmctest"
)

// The open resources, authentication, sessions and the protocol details
// every resource shares (Allow, $ queries, media types, HEAD).

func TestOpenResources(t *testing.T) {
	t.Parallel()
	lab := startBMCLab(t, labOptions{Nodes: 1})
	c := newCaller(t, lab, "pve1")
	res := c.Get("/redfish")
	bmctest.Expect(t, res, http.StatusOK, "")
	if res.Body["v1"] != "/redfish/v1/" {
		t.Errorf("/redfish: %s", res.Raw)
	}
	for _, p := range []string{"/redfish/v1", "/redfish/v1/"} {
		res := c.Get(p)
		bmctest.Expect(t, res, http.StatusOK, "")
		if res.Body["@odata.id"] != "/redfish/v1/" || res.Body["RedfishVersion"] != "1.15.0" ||
			res.Header.Get("OData-Version") != "4.0" {
			t.Fatalf("%s: %s", p, res.Raw)
		}
		sessions := res.Body["Links"].(map[string]any)["Sessions"].(map[string]any)["@odata.id"]
		if sessions != "/redfish/v1/SessionService/Sessions" {
			t.Errorf("Links.Sessions = %v", sessions)
		}
	}
	res = c.Get("/redfish/v1/$metadata")
	if res.Status != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/xml") ||
		!strings.Contains(res.Raw, "ServiceRoot") {
		t.Fatalf("$metadata: %d %s", res.Status, res.Raw[:min(len(res.Raw), 200)])
	}
	res = c.Get("/redfish/v1/odata")
	bmctest.Expect(t, res, http.StatusOK, "")
	if !strings.Contains(res.Raw, `"url":"/redfish/v1/Systems"`) {
		t.Errorf("odata: %s", res.Raw)
	}
	// everything else needs credentials
	for _, p := range []string{"/redfish/v1/Systems", "/redfish/v1/SessionService/Sessions", "/redfish/v1/Managers/BMC", "/redfish/v1/nonsense"} {
		res := c.Get(p)
		bmctest.Expect(t, res, http.StatusUnauthorized, "NoValidSession")
		if !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Basic") {
			t.Errorf("%s: WWW-Authenticate %q", p, res.Header.Get("WWW-Authenticate"))
		}
	}
	bmctest.Expect(t, c.Do(http.MethodGet, "/redfish/v1/Systems", nil, map[string]string{"X-Auth-Token": "0123456789abcdef"}),
		http.StatusUnauthorized, "NoValidSession")
}

func TestSessions(t *testing.T) {
	t.Parallel()
	lab := startBMCLab(t, labOptions{Nodes: 1})
	b := lab.BMC("pve1")
	c := newCaller(t, lab, "pve1")
	token, location := c.Login()
	if len(token) < 16 || !strings.HasPrefix(location, "/redfish/v1/SessionService/Sessions/") {
		t.Fatalf("token %q location %q", token, location)
	}
	if b.SessionCount() != 1 {
		t.Fatalf("SessionCount = %d", b.SessionCount())
	}
	res := c.Get(location)
	bmctest.Expect(t, res, http.StatusOK, "")
	if res.Body["UserName"] != "ADMIN" || res.Body["@odata.id"] != location {
		t.Errorf("session: %s", res.Raw)
	}
	res = c.Get("/redfish/v1/SessionService/Sessions")
	if res.Body["Members@odata.count"] != 1.0 {
		t.Errorf("sessions: %s", res.Raw)
	}

	// wrong password, missing properties, unknown property
	anon := c.Anon()
	res = anon.Do(http.MethodPost, "/redfish/v1/SessionService/Sessions", map[string]any{"UserName": "ADMIN", "Password": "wrong"}, nil)
	bmctest.Expect(t, res, http.StatusUnauthorized, "ResourceAtUriUnauthorized")
	if !strings.Contains(res.Raw, "Invalid username or password") {
		t.Errorf("body %s", res.Raw)
	}
	res = anon.Do(http.MethodPost, "/redfish/v1/SessionService/Sessions", map[string]any{}, nil)
	bmctest.Expect(t, res, http.StatusBadRequest, "PropertyMissing")
	if ids := res.MessageIDs(); len(ids) != 2 {
		t.Errorf("messages %v", ids)
	}
	bmctest.Expect(t, anon.Do(http.MethodPost, "/redfish/v1/SessionService/Sessions",
		map[string]any{"UserName": "ADMIN", "Password": "x", "Role": "x"}, nil), http.StatusBadRequest, "PropertyUnknown")
	bmctest.Expect(t, anon.Do(http.MethodPost, "/redfish/v1/SessionService/Sessions", "{", nil), http.StatusBadRequest, "MalformedJSON")

	// four slots: the fifth login is refused with 503, as bmcweb and iDRAC do
	var others []*bmctest.Client
	for range 3 {
		o := newCaller(t, lab, "pve1")
		o.Login()
		others = append(others, o)
	}
	res = anon.Do(http.MethodPost, "/redfish/v1/SessionService/Sessions",
		map[string]any{"UserName": "ADMIN", "Password": lab.BMCPassword()}, nil)
	bmctest.Expect(t, res, http.StatusServiceUnavailable, "SessionLimitExceeded")
	if b.SessionCount() != 4 {
		t.Fatalf("SessionCount = %d", b.SessionCount())
	}
	// basic auth needs no slot
	bmctest.Expect(t, newCaller(t, lab, "pve1").Basic().Get("/redfish/v1/Systems"), http.StatusOK, "")
	bad := newCaller(t, lab, "pve1")
	bad.Headers["Authorization"] = "Basic " + bmctest.BasicAuth("ADMIN", "nope")
	bmctest.Expect(t, bad.Get("/redfish/v1/Systems"), http.StatusUnauthorized, "ResourceAtUriUnauthorized")

	// logging out frees a slot; the token is dead
	bmctest.Expect(t, c.Do(http.MethodDelete, location, nil, nil), http.StatusOK, "")
	bmctest.Expect(t, c.Get("/redfish/v1/Systems"), http.StatusUnauthorized, "NoValidSession")
	bmctest.Expect(t, others[0].Do(http.MethodDelete, location, nil, nil), http.StatusNotFound, "ResourceNotFound")
	if b.SessionCount() != 3 {
		t.Fatalf("SessionCount = %d", b.SessionCount())
	}
	for _, o := range others {
		bmctest.Expect(t, o.Do(http.MethodDelete, sessionLocation(t, b, o), nil, nil), http.StatusOK, "")
	}
	if b.SessionCount() != 0 {
		t.Fatalf("SessionCount = %d", b.SessionCount())
	}
}

func TestSessionTimeout(t *testing.T) {
	t.Parallel()
	lab := startBMCLab(t, labOptions{Nodes: 1})
	c := newCaller(t, lab, "pve1")
	c.Login()
	res := c.Get("/redfish/v1/SessionService")
	if res.Body["SessionTimeout"] != 1800.0 {
		t.Fatalf("SessionService: %s", res.Raw)
	}
	bmctest.Expect(t, c.Do(http.MethodPatch, "/redfish/v1/SessionService", map[string]any{"SessionTimeout": 10}, nil),
		http.StatusBadRequest, "PropertyValueNotInList")
	bmctest.Expect(t, c.Do(http.MethodPatch, "/redfish/v1/SessionService", map[string]any{"SessionTimeout": "60"}, nil),
		http.StatusBadRequest, "PropertyValueTypeError")
	bmctest.Expect(t, c.Do(http.MethodPatch, "/redfish/v1/SessionService", map[string]any{"ServiceEnabled": false}, nil),
		http.StatusBadRequest, "PropertyNotWritable")
	res = c.Do(http.MethodPatch, "/redfish/v1/SessionService", map[string]any{"SessionTimeout": 60}, nil)
	bmctest.Expect(t, res, http.StatusOK, "")
	if res.Body["SessionTimeout"] != 60.0 {
		t.Fatalf("SessionService: %s", res.Raw)
	}
	// an idle session expires (shortened here: the minimum is 30 seconds)
	b := lab.BMC("pve1")
	b.mu.Lock()
	b.sessionTimeout = 50 * time.Millisecond
	b.mu.Unlock()
	time.Sleep(80 * time.Millisecond)
	bmctest.Expect(t, c.Get("/redfish/v1/Systems"), http.StatusUnauthorized, "NoValidSession")
	if b.SessionCount() != 0 {
		t.Errorf("SessionCount = %d", b.SessionCount())
	}
}

func TestProtocolDetails(t *testing.T) {
	t.Parallel()
	lab := startBMCLab(t, labOptions{Nodes: 1})
	b := lab.BMC("pve1")
	c := newCaller(t, lab, "pve1").Basic()
	sys := "/redfish/v1/Systems/" + b.SystemID()
	bmctest.Expect(t, c.Get("/redfish/v1/Systems?$expand=."), http.StatusNotImplemented, "QueryNotSupported")
	res := c.Do(http.MethodPost, sys, map[string]any{}, nil)
	bmctest.Expect(t, res, http.StatusMethodNotAllowed, "GeneralError")
	if allow := res.Header.Get("Allow"); !strings.Contains(allow, "PATCH") || strings.Contains(allow, "POST") {
		t.Errorf("Allow %q", allow)
	}
	if allow := c.Get(sys).Header.Get("Allow"); !strings.Contains(allow, "GET") || !strings.Contains(allow, "PATCH") {
		t.Errorf("Allow on GET %q", allow)
	}
	bmctest.Expect(t, c.Get("/redfish/v1/NoSuchThing"), http.StatusNotFound, "ResourceMissingAtURI")
	bmctest.Expect(t, c.Do(http.MethodPatch, sys, "Boot=1", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}),
		http.StatusUnsupportedMediaType, "UnrecognizedRequestBody")
	bmctest.Expect(t, c.Do(http.MethodPatch, sys, map[string]any{"PowerState": "Off"}, nil), http.StatusBadRequest, "PropertyNotWritable")
	bmctest.Expect(t, c.Do(http.MethodPatch, sys, map[string]any{"Colour": "red"}, nil), http.StatusBadRequest, "PropertyUnknown")
	// HEAD works where GET does
	req, _ := http.NewRequest(http.MethodHead, b.Endpoint()+sys, nil)
	req.SetBasicAuth(lab.BMCUsername(), lab.BMCPassword())
	resp, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("ETag") == "" {
		t.Errorf("HEAD: %s", resp.Status)
	}
}
