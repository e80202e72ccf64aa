// Package pvetest is a client of the PVE API for tests: package pvesim's
// own and those of the lab as a whole. It takes plain values (endpoints,
// CA, credentials), not pvesim's types, so that pvesim's tests can use it.
package pvetest

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/sim/simtest"
)

// Config says whom a Caller calls and with which credentials.
type Config struct {
	Endpoint     string                   // base URL of the API (pve1's)
	NodeEndpoint func(node string) string // base URL of a node's API, for OnNode
	CACertPEM    string                   // the CA the client trusts
	Username     string                   // for WithTicket
	Password     string                   // for WithTicket
	APIToken     string                   // user@realm!tokenid=secret, for WithToken
}

// Result is an answer of the API.
type Result struct {
	Status int
	Reason string
	Header http.Header
	Raw    string
	Body   map[string]any
}

// ErrorsMap returns the "errors" member of the body.
func (r Result) ErrorsMap() map[string]any {
	m, _ := r.Body["errors"].(map[string]any)
	return m
}

// Caller sends API requests with some credentials.
type Caller struct {
	Config
	T       testing.TB
	HTTP    *http.Client
	Headers map[string]string // sent with every request
	Node    string            // the node whose endpoint it calls (OnNode); "" is Endpoint
}

// New returns a Caller without credentials.
func New(t testing.TB, conf Config) *Caller {
	t.Helper()
	return &Caller{Config: conf, T: t, HTTP: simtest.HTTPClient(t, conf.CACertPEM), Headers: map[string]string{}}
}

// OnNode returns a caller with the same credentials that calls node's endpoint.
func (c *Caller) OnNode(node string) *Caller {
	cp := *c
	cp.Headers = maps.Clone(c.Headers)
	cp.Node = node
	return &cp
}

// endpoint is the base URL the caller calls.
func (c *Caller) endpoint() string {
	if c.Node == "" {
		return c.Endpoint
	}
	return c.NodeEndpoint(c.Node)
}

// WithToken authenticates with the API token.
func (c *Caller) WithToken() *Caller {
	c.Headers["Authorization"] = "PVEAPIToken=" + c.APIToken
	return c
}

// WithTicket logs in and authenticates with ticket and CSRF token.
func (c *Caller) WithTicket() *Caller {
	res := c.Form(http.MethodPost, "/access/ticket", url.Values{"username": {c.Username}, "password": {c.Password}})
	if res.Status != http.StatusOK {
		c.T.Fatalf("login: %d %s", res.Status, res.Raw)
	}
	data := res.Body["data"].(map[string]any)
	c.Headers["Cookie"] = "PVEAuthCookie=" + url.QueryEscape(data["ticket"].(string))
	c.Headers["CSRFPreventionToken"] = data["CSRFPreventionToken"].(string)
	return c
}

// Form sends params form-encoded (POST/PUT) or in the query string.
func (c *Caller) Form(method, path string, params url.Values) Result {
	c.T.Helper()
	target := c.endpoint() + "/api2/json" + path
	var body io.Reader
	if method == http.MethodPost || method == http.MethodPut {
		body = strings.NewReader(params.Encode())
	} else if len(params) > 0 {
		target += "?" + params.Encode()
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		c.T.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return c.Do(req)
}

// JSON sends a JSON body.
func (c *Caller) JSON(method, path string, v any) Result {
	c.T.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		c.T.Fatal(err)
	}
	req, err := http.NewRequest(method, c.endpoint()+"/api2/json"+path, strings.NewReader(string(raw)))
	if err != nil {
		c.T.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	return c.Do(req)
}

// Get sends a GET without parameters.
func (c *Caller) Get(path string) Result { return c.Form(http.MethodGet, path, nil) }

// Do sends req with the caller's headers and reads the answer.
func (c *Caller) Do(req *http.Request) Result {
	c.T.Helper()
	for k, v := range c.Headers {
		req.Header.Set(k, v)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		c.T.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		c.T.Fatal(err)
	}
	res := Result{
		Status: resp.StatusCode,
		Reason: strings.TrimPrefix(resp.Status, strconv.Itoa(resp.StatusCode)+" "),
		Header: resp.Header,
		Raw:    string(raw),
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &res.Body); err != nil {
			c.T.Fatalf("%s %s: body is not JSON: %v: %s", req.Method, req.URL, err, raw)
		}
	}
	return res
}

// Expect checks status and status line of an answer.
func Expect(t testing.TB, res Result, status int, reason string) {
	t.Helper()
	if res.Status != status || res.Reason != reason {
		t.Fatalf("got %d %q, want %d %q; body %s", res.Status, res.Reason, status, reason, res.Raw)
	}
}

// ExpectParamError checks a 400 answer with one parameter message.
func ExpectParamError(t testing.TB, res Result, param, msg string) {
	t.Helper()
	Expect(t, res, http.StatusBadRequest, "Parameter verification failed.")
	if got := res.ErrorsMap()[param]; got != msg {
		t.Fatalf("errors[%s] = %q, want %q; body %s", param, got, msg, res.Raw)
	}
	if res.Body["data"] != nil {
		t.Fatalf("data = %v, want null", res.Body["data"])
	}
}

// DataList returns the list an answer's data holds.
func DataList(t testing.TB, res Result) []map[string]any {
	t.Helper()
	Expect(t, res, http.StatusOK, "OK")
	var out []map[string]any
	for _, e := range res.Body["data"].([]any) {
		out = append(out, e.(map[string]any))
	}
	return out
}

// Upload sends a file as a browser's upload form does (POST
// /nodes/{node}/storage/{storage}/upload, multipart/form-data): fields
// first (content, checksum-algorithm, checksum), then the file in the
// field "filename".
func (c *Caller) Upload(node, storage string, fields url.Values, filename string, data []byte) Result {
	c.T.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, k := range []string{"content", "checksum-algorithm", "checksum"} {
		if v := fields.Get(k); v != "" {
			if err := mw.WriteField(k, v); err != nil {
				c.T.Fatal(err)
			}
		}
	}
	fw, err := mw.CreateFormFile("filename", filename)
	if err != nil {
		c.T.Fatal(err)
	}
	_, _ = fw.Write(data)
	if err := mw.Close(); err != nil {
		c.T.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, c.endpoint()+"/api2/json/nodes/"+node+"/storage/"+storage+"/upload", &body)
	if err != nil {
		c.T.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return c.Do(req)
}
