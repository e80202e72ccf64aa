package pvesim

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// startLab starts a lab for one test and closes it afterwards.
func startLab(t *testing.T, opts Options) *PVE {
	t.Helper()
	if opts.Logf == nil {
		opts.Logf = t.Logf
	}
	lab, err := Start(opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := lab.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return lab
}

// requireSchema fails tests whose behaviour needs parameter checks when the
// lab runs without them.
func requireSchema(t *testing.T, lab *PVE) {
	t.Helper()
	if !lab.SchemaLoaded() {
		t.Fatal("the lab checks no parameters: started with SchemaPath \"-\"?")
	}
}

// httpClient returns a client that trusts only the lab's certificate.
func httpClient(t *testing.T, lab *PVE) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(lab.CACertPEM())) {
		t.Fatal("lab certificate does not parse")
	}
	return &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
	}
}

// apiResult is an answer of the lab.
type apiResult struct {
	Status int
	Reason string
	Header http.Header
	Raw    string
	Body   map[string]any
}

// errorsMap returns the "errors" member of the body.
func (r apiResult) errorsMap() map[string]any {
	m, _ := r.Body["errors"].(map[string]any)
	return m
}

// caller sends API requests with some credentials.
type caller struct {
	t       *testing.T
	lab     *PVE
	client  *http.Client
	headers map[string]string
	node    string // the node whose endpoint it calls; "" is pve1's (Endpoint)
}

func newCaller(t *testing.T, lab *PVE) *caller {
	return &caller{t: t, lab: lab, client: httpClient(t, lab), headers: map[string]string{}}
}

// onNode returns a caller with the same credentials that calls node's endpoint.
func (c *caller) onNode(node string) *caller {
	cp := *c
	cp.headers = maps.Clone(c.headers)
	cp.node = node
	return &cp
}

// endpoint is the base URL the caller calls.
func (c *caller) endpoint() string {
	if c.node == "" {
		return c.lab.Endpoint()
	}
	return c.lab.NodeEndpoint(c.node)
}

// withToken authenticates with the lab's API token.
func (c *caller) withToken() *caller {
	c.headers["Authorization"] = "PVEAPIToken=" + c.lab.APIToken()
	return c
}

// withTicket logs in and authenticates with ticket and CSRF token.
func (c *caller) withTicket() *caller {
	res := c.form(http.MethodPost, "/access/ticket", url.Values{"username": {c.lab.Username()}, "password": {c.lab.Password()}})
	if res.Status != http.StatusOK {
		c.t.Fatalf("login: %d %s", res.Status, res.Raw)
	}
	data := res.Body["data"].(map[string]any)
	c.headers["Cookie"] = "PVEAuthCookie=" + url.QueryEscape(data["ticket"].(string))
	c.headers["CSRFPreventionToken"] = data["CSRFPreventionToken"].(string)
	return c
}

// form sends params form-encoded (POST/PUT) or in the query string.
func (c *caller) form(method, path string, params url.Values) apiResult {
	c.t.Helper()
	target := c.endpoint() + "/api2/json" + path
	var body io.Reader
	if method == http.MethodPost || method == http.MethodPut {
		body = strings.NewReader(params.Encode())
	} else if len(params) > 0 {
		target += "?" + params.Encode()
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return c.do(req)
}

// json sends a JSON body.
func (c *caller) json(method, path string, v any) apiResult {
	c.t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	req, err := http.NewRequest(method, c.endpoint()+"/api2/json"+path, strings.NewReader(string(raw)))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	return c.do(req)
}

func (c *caller) get(path string) apiResult { return c.form(http.MethodGet, path, nil) }

func (c *caller) do(req *http.Request) apiResult {
	c.t.Helper()
	for k, v := range c.headers {
		req.Header.Set(k, v)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	res := apiResult{
		Status: resp.StatusCode,
		Reason: strings.TrimPrefix(resp.Status, strconv.Itoa(resp.StatusCode)+" "),
		Header: resp.Header,
		Raw:    string(raw),
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &res.Body); err != nil {
			c.t.Fatalf("%s %s: body is not JSON: %v: %s", req.Method, req.URL, err, raw)
		}
	}
	return res
}

// expect checks status and status line of an answer.
func expect(t *testing.T, res apiResult, status int, reason string) {
	t.Helper()
	if res.Status != status || res.Reason != reason {
		t.Fatalf("got %d %q, want %d %q; body %s", res.Status, res.Reason, status, reason, res.Raw)
	}
}

// expectParamError checks a 400 answer with one parameter message.
func expectParamError(t *testing.T, res apiResult, param, msg string) {
	t.Helper()
	expect(t, res, http.StatusBadRequest, "Parameter verification failed.")
	if got := res.errorsMap()[param]; got != msg {
		t.Fatalf("errors[%s] = %q, want %q; body %s", param, got, msg, res.Raw)
	}
	if res.Body["data"] != nil {
		t.Fatalf("data = %v, want null", res.Body["data"])
	}
}
