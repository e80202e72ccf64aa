// Package bmctest is a Redfish client for tests of the simulated BMCs:
// package bmcsim's own and those of the lab as a whole. It takes plain
// values (endpoint, CA, credentials), not bmcsim's types, so that bmcsim's
// tests can use it.
package bmctest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/sim/simtest"
)

// Config says which BMC a Client calls and with which credentials.
type Config struct {
	Endpoint  string // the BMC's base URL
	CACertPEM string // the CA the client trusts
	Username  string // for Basic and Login
	Password  string // for Basic and Login
	SystemID  string // the ComputerSystem's Id, for Power and Reset
}

// Client sends requests to one BMC.
type Client struct {
	Config
	T       testing.TB
	HTTP    *http.Client
	Headers map[string]string // sent with every request
}

// New returns a client without credentials.
func New(t testing.TB, conf Config) *Client {
	t.Helper()
	return &Client{Config: conf, T: t, HTTP: simtest.HTTPClient(t, conf.CACertPEM), Headers: map[string]string{}}
}

// Basic authenticates with basic auth.
func (c *Client) Basic() *Client {
	c.Headers["Authorization"] = "Basic " + BasicAuth(c.Username, c.Password)
	return c
}

// BasicAuth returns the credentials of a basic Authorization header.
func BasicAuth(user, pass string) string {
	req, _ := http.NewRequest(http.MethodGet, "https://x", nil)
	req.SetBasicAuth(user, pass)
	return strings.TrimPrefix(req.Header.Get("Authorization"), "Basic ")
}

// Login opens a session and authenticates with its token.
func (c *Client) Login() (token, location string) {
	c.T.Helper()
	res := c.Anon().Do(http.MethodPost, "/redfish/v1/SessionService/Sessions",
		map[string]any{"UserName": c.Username, "Password": c.Password}, nil)
	if res.Status != http.StatusCreated {
		c.T.Fatalf("login: %d %s", res.Status, res.Raw)
	}
	token, location = res.Header.Get("X-Auth-Token"), res.Header.Get("Location")
	c.Headers["X-Auth-Token"] = token
	return token, location
}

// Anon returns a client without credentials.
func (c *Client) Anon() *Client {
	cp := *c
	cp.Headers = map[string]string{}
	return &cp
}

// Result is an answer of a BMC.
type Result struct {
	Status int
	Header http.Header
	Raw    string
	Body   map[string]any
}

// MessageIDs returns the MessageIds of an error body.
func (r Result) MessageIDs() []string {
	var ids []string
	e, _ := r.Body["error"].(map[string]any)
	infos, _ := e["@Message.ExtendedInfo"].([]any)
	for _, i := range infos {
		ids = append(ids, i.(map[string]any)["MessageId"].(string))
	}
	return ids
}

// Get sends a GET.
func (c *Client) Get(path string) Result { return c.Do(http.MethodGet, path, nil, nil) }

// Do sends a request; body is JSON encoded unless it is a string.
func (c *Client) Do(method, path string, body any, headers map[string]string) Result {
	c.T.Helper()
	var r io.Reader
	switch v := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(v)
	default:
		raw, err := json.Marshal(v)
		if err != nil {
			c.T.Fatal(err)
		}
		r = strings.NewReader(string(raw))
	}
	req, err := http.NewRequest(method, c.Endpoint+path, r)
	if err != nil {
		c.T.Fatal(err)
	}
	if r != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range c.Headers {
		req.Header.Set(k, v)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		c.T.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		c.T.Fatal(err)
	}
	res := Result{Status: resp.StatusCode, Header: resp.Header, Raw: string(raw)}
	if len(raw) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &res.Body); err != nil {
			c.T.Fatalf("%s %s: body is not JSON: %v: %s", method, path, err, raw)
		}
	}
	return res
}

// Power returns the PowerState the BMC answers.
func (c *Client) Power() string {
	c.T.Helper()
	return c.Get("/redfish/v1/Systems/" + c.SystemID).Body["PowerState"].(string)
}

// Reset posts ComputerSystem.Reset with resetType.
func (c *Client) Reset(resetType string) Result {
	c.T.Helper()
	return c.Do(http.MethodPost, "/redfish/v1/Systems/"+c.SystemID+"/Actions/ComputerSystem.Reset",
		map[string]any{"ResetType": resetType}, nil)
}

// Expect checks an answer's status and, for errors, its first MessageId.
func Expect(t testing.TB, res Result, status int, messageID string) {
	t.Helper()
	if res.Status != status {
		t.Fatalf("got %d, want %d; body %s", res.Status, status, res.Raw)
	}
	if messageID == "" {
		return
	}
	ids := res.MessageIDs()
	if len(ids) == 0 || ids[0] != "Base.1.5."+messageID {
		t.Fatalf("messages %v, want Base.1.5.%s; body %s", ids, messageID, res.Raw)
	}
	e := res.Body["error"].(map[string]any)
	if len(ids) == 1 && e["code"] != ids[0] {
		t.Fatalf("code %v, want %s", e["code"], ids[0])
	}
}
