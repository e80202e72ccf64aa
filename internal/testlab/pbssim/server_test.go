package pbssim

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/sim"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/sim/simtest"
)

// startServer starts a PBS for one test and closes it afterwards.
func startServer(t *testing.T, opts Options) *Server {
	t.Helper()
	if opts.Logf == nil {
		opts.Logf = t.Logf
	}
	return simtest.Start(t, func() (*Server, error) { return Start(opts) })
}

func requireSchema(t *testing.T, s *Server) {
	t.Helper()
	if !s.SchemaLoaded() {
		t.Fatal("the PBS checks no parameters: started with SchemaPath \"-\"?")
	}
}

// result is an answer of the PBS.
type result struct {
	Status int
	Header http.Header
	Raw    string
	Body   map[string]any // nil when the body is not a JSON object
}

func (r result) data() any { return r.Body["data"] }

func (r result) dataMap(t *testing.T) map[string]any {
	t.Helper()
	m, ok := r.data().(map[string]any)
	if !ok {
		t.Fatalf("data is %T, not an object: %d %s", r.data(), r.Status, r.Raw)
	}
	return m
}

func (r result) dataList(t *testing.T) []any {
	t.Helper()
	l, ok := r.data().([]any)
	if !ok {
		t.Fatalf("data is %T, not a list: %d %s", r.data(), r.Status, r.Raw)
	}
	return l
}

// testClient calls a PBS with plain net/http, trusting only its CA.
type testClient struct {
	t       *testing.T
	s       *Server
	client  *http.Client
	headers map[string]string
}

func newClient(t *testing.T, s *Server) *testClient {
	return &testClient{t: t, s: s, headers: map[string]string{}, client: simtest.HTTPClient(t, s.CACertPEM())}
}

func (c *testClient) withToken() *testClient {
	c.headers["Authorization"] = "PBSAPIToken=" + c.s.APIToken()
	return c
}

func (c *testClient) withTicket() *testClient {
	c.t.Helper()
	res := c.call(http.MethodPost, "/access/ticket", url.Values{"username": {"root@pam"}, "password": {c.s.Password()}})
	if res.Status != http.StatusOK {
		c.t.Fatalf("login: %d %s", res.Status, res.Raw)
	}
	d := res.dataMap(c.t)
	c.headers["Cookie"] = "PBSAuthCookie=" + url.QueryEscape(d["ticket"].(string))
	c.headers["CSRFPreventionToken"] = d["CSRFPreventionToken"].(string)
	return c
}

// call sends params form-encoded (POST, PUT) or in the query string.
func (c *testClient) call(method, path string, params url.Values) result {
	c.t.Helper()
	u := c.s.URL() + "/api2/json" + path
	var body io.Reader
	if method == http.MethodPost || method == http.MethodPut {
		body = strings.NewReader(params.Encode())
	} else if len(params) > 0 {
		u += "?" + params.Encode()
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return c.do(req)
}

// callJSON sends params as a JSON body.
func (c *testClient) callJSON(method, path string, params map[string]any) result {
	c.t.Helper()
	raw, _ := json.Marshal(params)
	req, err := http.NewRequest(method, c.s.URL()+"/api2/json"+path, strings.NewReader(string(raw)))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	return c.do(req)
}

func (c *testClient) do(req *http.Request) result {
	c.t.Helper()
	for k, v := range c.headers {
		req.Header.Set(k, v)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	res := result{Status: resp.StatusCode, Header: resp.Header, Raw: string(raw)}
	_ = json.Unmarshal(raw, &res.Body)
	return res
}

// expect fails unless the answer has status and its body is text.
func (r result) expect(t *testing.T, status int, text string) {
	t.Helper()
	if r.Status != status || r.Raw != text {
		t.Errorf("got %d %q, want %d %q", r.Status, r.Raw, status, text)
	}
}

// waitTask polls a task until it stops and returns its exit status.
func (c *testClient) waitTask(upid string) string {
	c.t.Helper()
	for range 500 {
		res := c.call(http.MethodGet, "/nodes/localhost/tasks/"+url.PathEscape(upid)+"/status", nil)
		if res.Status != http.StatusOK {
			c.t.Fatalf("task status: %d %s", res.Status, res.Raw)
		}
		st := res.dataMap(c.t)
		if st["status"] == "stopped" {
			return st["exitstatus"].(string)
		}
		time.Sleep(5 * time.Millisecond)
	}
	c.t.Fatalf("task %s did not stop", upid)
	return ""
}

// upid returns the UPID a call answered with.
func (r result) upid(t *testing.T) string {
	t.Helper()
	u, ok := r.data().(string)
	if !ok || !strings.HasPrefix(u, "UPID:") {
		t.Fatalf("no UPID: %d %s", r.Status, r.Raw)
	}
	return u
}

func TestAuthentication(t *testing.T) {
	s := startServer(t, Options{})
	anon := newClient(t, s)
	anon.call(http.MethodGet, "/version", nil).expect(t, 401, "authentication failed - no authentication credentials provided.")
	if res := anon.call(http.MethodGet, "/version", nil); res.Header.Get("Content-Type") != "" {
		t.Errorf("401 with Content-Type %q", res.Header.Get("Content-Type"))
	}

	// wrong password: the same answer for every failure
	anon.call(http.MethodPost, "/access/ticket", url.Values{"username": {"root@pam"}, "password": {"nope"}}).
		expect(t, 401, "permission check failed.")
	anon.call(http.MethodPost, "/access/ticket", url.Values{"username": {"admin@pbs"}, "password": {s.Password()}}).
		expect(t, 401, "permission check failed.")

	// a ticket: GET works without CSRF token, a POST needs it
	tc := newClient(t, s).withTicket()
	v := tc.call(http.MethodGet, "/version", nil)
	if v.Status != 200 || v.dataMap(t)["version"] != serverVersion {
		t.Errorf("version: %d %s", v.Status, v.Raw)
	}
	if !strings.HasPrefix(strings.TrimPrefix(tc.headers["Cookie"], "PBSAuthCookie="), "PBS%3Aroot%40pam%3A") {
		t.Errorf("ticket cookie %q", tc.headers["Cookie"])
	}
	csrf := tc.headers["CSRFPreventionToken"]
	delete(tc.headers, "CSRFPreventionToken")
	tc.call(http.MethodPost, "/config/prune", url.Values{"id": {"job1"}, "store": {"ds1"}, "schedule": {"daily"}}).
		expect(t, 401, "authentication failed - missing CSRF prevention token")
	tc.headers["CSRFPreventionToken"] = csrf[:9] + "AAAA" + csrf[13:]
	tc.call(http.MethodPost, "/config/prune", url.Values{"id": {"job1"}, "store": {"ds1"}, "schedule": {"daily"}}).
		expect(t, 401, "authentication failed - invalid csrf token - invalid signature.")
	tc.headers["CSRFPreventionToken"] = csrf
	tc.call(http.MethodPost, "/config/prune", url.Values{"id": {"job1"}, "store": {"ds1"}, "schedule": {"daily"}}).
		expect(t, 200, `{"data":null}`)

	// a broken ticket
	bad := newClient(t, s)
	bad.headers["Cookie"] = "PBSAuthCookie=" + url.QueryEscape("PBS:root@pam:00000001::AAAA")
	bad.call(http.MethodGet, "/version", nil).expect(t, 401, "authentication failed - invalid ticket - expired")

	// API tokens need no CSRF token
	tok := newClient(t, s).withToken()
	tok.call(http.MethodGet, "/config/prune/job1", nil)
	tok.call(http.MethodDelete, "/config/prune/job1", nil).expect(t, 200, `{"data":null}`)
	wrong := newClient(t, s)
	wrong.headers["Authorization"] = "PBSAPIToken=root@pam!lab:0000"
	wrong.call(http.MethodGet, "/version", nil).expect(t, 401, "authentication failed - invalid credentials")
	wrong.headers["Authorization"] = "PBSAPIToken=root@pam!nope:0000"
	wrong.call(http.MethodGet, "/version", nil).expect(t, 401, "authentication failed - user account or token disabled or expired.")

	// a token made from Go, and one through the API
	secret, err := s.AddToken("root@pam", "ci")
	if err != nil {
		t.Fatal(err)
	}
	ci := newClient(t, s)
	ci.headers["Authorization"] = "PBSAPIToken root@pam!ci:" + secret
	if res := ci.call(http.MethodGet, "/config/datastore", nil); res.Status != 200 {
		t.Errorf("token from AddToken: %d %s", res.Status, res.Raw)
	}
	res := tc.call(http.MethodPost, "/access/users/root@pam/token/api", url.Values{"comment": {"made by the API"}})
	if res.Status != 200 || res.dataMap(t)["tokenid"] != "root@pam!api" {
		t.Fatalf("generate token: %d %s", res.Status, res.Raw)
	}
	api := newClient(t, s)
	api.headers["Authorization"] = "PBSAPIToken=root@pam!api:" + res.dataMap(t)["value"].(string)
	if r := api.call(http.MethodGet, "/admin/datastore", nil); r.Status != 200 {
		t.Errorf("token from the API: %d %s", r.Status, r.Raw)
	}
	tc.call(http.MethodPost, "/access/users/root@pam/token/api", nil).expect(t, 400, "token 'api' for user 'root@pam' already exists.")
	if l := tc.call(http.MethodGet, "/access/users/root@pam/token", nil).dataList(t); len(l) != 3 {
		t.Errorf("tokens: %v", l)
	}
	tc.call(http.MethodDelete, "/access/users/root@pam/token/api", nil).expect(t, 200, `{"data":null}`)
	api.call(http.MethodGet, "/version", nil).expect(t, 401, "authentication failed - user account or token disabled or expired.")
}

func TestFingerprint(t *testing.T) {
	s := startServer(t, Options{})
	conn, err := tls.Dial("tcp", strings.TrimPrefix(s.URL(), "https://"), &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // reading the certificate is the test
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	der := conn.ConnectionState().PeerCertificates[0].Raw
	sum := sha256.Sum256(der)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	if fp := strings.Join(parts, ":"); fp != s.Fingerprint() {
		t.Errorf("Fingerprint() = %s, the server shows %s", s.Fingerprint(), fp)
	}
	c := newClient(t, s).withToken()
	info := c.call(http.MethodGet, "/nodes/localhost/certificates/info", nil).dataList(t)
	if info[0].(map[string]any)["fingerprint"] != s.Fingerprint() {
		t.Errorf("certificates/info: %v", info)
	}
	// one CA for a PVE lab and its PBS (testlab's TestPBSLabCA starts both)
	ca, err := sim.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	s2 := startServer(t, Options{CA: ca, SchemaPath: "-"})
	if s2.CACertPEM() != string(ca.CertPEM) {
		t.Error("the PBS does not use the given CA")
	}
}

func TestSchemaRejects(t *testing.T) {
	s := startServer(t, Options{})
	requireSchema(t, s)
	c := newClient(t, s).withToken()
	c.call(http.MethodGet, "/config/datastore", url.Values{"bogus": {"1"}}).
		expect(t, 400, "parameter verification errors\n\nparameter 'bogus': schema does not allow additional properties.\n")
	c.call(http.MethodPost, "/config/datastore", url.Values{"name": {"x"}, "path": {"/x"}}).
		expect(t, 400, "parameter verification errors\n\nparameter 'name': value must be at least 3 characters long\n")
	c.call(http.MethodPost, "/config/datastore", url.Values{"name": {"ds1"}}).
		expect(t, 400, "parameter verification errors\n\nparameter 'path': parameter is missing and it is not optional.\n")
	c.call(http.MethodPost, "/config/datastore", url.Values{"name": {"ds1"}, "path": {"/x"}, "gc-schedule": {"foo"}}).
		expect(t, 400, "parameter verification errors\n\nparameter 'gc-schedule': unable to parse calendar event at 'foo' - Context(\"weekday\")\n")
	c.call(http.MethodPost, "/config/datastore", url.Values{"name": {"ds1"}, "path": {"/x"}, "tuning": {"sync-level=fast"}}).
		expect(t, 400, "parameter verification errors\n\nparameter 'tuning': parameter verification errors\n\nparameter 'sync-level': value 'fast' is not defined in the enumeration.\n\n")
	c.callJSON(http.MethodPost, "/config/datastore", map[string]any{"name": "ds1", "path": "/x", "verify-new": 1, "extra": true}).
		expect(t, 400, "parameter verification errors\n\nparameter 'extra': schema does not allow additional properties.\nparameter 'verify-new': Expected boolean value.\n")
	c.call(http.MethodGet, "/nope", nil).expect(t, 404, "Path '/api2/json/nope' not found.")
}

func TestDatastoreLifecycle(t *testing.T) {
	s := startServer(t, Options{})
	c := newClient(t, s).withTicket()

	up := c.call(http.MethodPost, "/config/datastore", url.Values{"name": {"ds1"}, "path": {"/mnt/ds1"}, "comment": {"first"},
		"gc-schedule": {"daily"}, "prune-schedule": {"hourly"}, "keep-daily": {"7"}}).upid(t)
	if !strings.Contains(up, ":create-datastore:ds1:root@pam:") || !strings.HasPrefix(up, "UPID:pbs:") {
		t.Errorf("UPID %s", up)
	}
	// the worker runs: the datastore is not configured before it ends
	c.call(http.MethodGet, "/config/datastore/ds1", nil).expect(t, 400, "no such datastore 'ds1'")
	if st := c.waitTask(up); st != "OK" {
		t.Fatalf("create task: %s", st)
	}
	log := c.call(http.MethodGet, "/nodes/localhost/tasks/"+url.PathEscape(up)+"/log", url.Values{"limit": {"0"}}).dataList(t)
	last := log[len(log)-1].(map[string]any)["t"].(string)
	if !strings.HasSuffix(last, ": TASK OK") || !strings.Contains(log[0].(map[string]any)["t"].(string), ": Chunkstore create: 1%") {
		t.Errorf("task log %v ... %s", log[0], last)
	}
	if !s.DatastoreDataExists("/mnt/ds1") {
		t.Error("no chunk store after create")
	}

	get := c.call(http.MethodGet, "/config/datastore/ds1", nil)
	cfg := get.dataMap(t)
	digest, _ := get.Body["digest"].(string)
	if cfg["comment"] != "first" || cfg["gc-schedule"] != "daily" || cfg["path"] != "/mnt/ds1" || cfg["keep-daily"] != nil || len(digest) != 64 {
		t.Errorf("datastore %v, digest %q", cfg, digest)
	}
	// the prune settings became a prune job
	jobs := c.call(http.MethodGet, "/config/prune", nil).dataList(t)
	if len(jobs) != 1 || jobs[0].(map[string]any)["store"] != "ds1" || jobs[0].(map[string]any)["keep-daily"] != float64(7) ||
		!strings.HasPrefix(jobs[0].(map[string]any)["id"].(string), "default-ds1-") {
		t.Errorf("prune jobs %v", jobs)
	}

	// duplicates
	c.call(http.MethodPost, "/config/datastore", url.Values{"name": {"ds1"}, "path": {"/mnt/other"}}).
		expect(t, 400, "parameter verification errors\n\nparameter 'name': datastore 'ds1' already exists.\n")
	dup := c.call(http.MethodPost, "/config/datastore", url.Values{"name": {"ds2"}, "path": {"/mnt/ds1"}}).upid(t)
	if st := c.waitTask(dup); st != "unknown" { // the multi-line error leaves a last log line without time
		t.Errorf("nested path task: %s", st)
	}
	c.call(http.MethodPost, "/config/datastore", url.Values{"name": {"ds3"}, "path": {"relative"}}).
		expect(t, 400, "parameter verification errors\n\nparameter 'path': expected an absolute path, 'relative' is not\n")

	// update with digest, delete, normalisation
	c.call(http.MethodPut, "/config/datastore/ds1", url.Values{"comment": {"x"}, "digest": {strings.Repeat("0", 64)}}).
		expect(t, 400, "detected modified configuration - file changed by other user? Try again.")
	c.call(http.MethodPut, "/config/datastore/ds1", url.Values{"comment": {"  second  "}, "digest": {digest},
		"maintenance-mode": {"type=read-only,message=backup window"}, "delete": {"gc-schedule"}}).expect(t, 200, `{"data":null}`)
	cfg = c.call(http.MethodGet, "/config/datastore/ds1", nil).dataMap(t)
	if cfg["comment"] != "second" || cfg["gc-schedule"] != nil || cfg["maintenance-mode"] != "read-only,message=backup window" {
		t.Errorf("after update %v", cfg)
	}
	c.call(http.MethodPut, "/config/datastore/ds1", url.Values{"keep-last": {"3"}}).
		expect(t, 400, "parameter verification errors\n\nparameter 'keep-last': datastore prune settings have been replaced by prune jobs\n")

	// remove, keeping the data and jobs by default... the jobs go
	del := c.call(http.MethodDelete, "/config/datastore/ds1", nil).upid(t)
	if cfg := c.call(http.MethodGet, "/config/datastore/ds1", nil).dataMap(t); cfg["maintenance-mode"] != "delete" {
		t.Errorf("during delete %v", cfg)
	}
	if st := c.waitTask(del); st != "OK" {
		t.Fatalf("delete task: %s", st)
	}
	c.call(http.MethodGet, "/config/datastore/ds1", nil).expect(t, 400, "no such datastore 'ds1'")
	if !s.DatastoreDataExists("/mnt/ds1") {
		t.Error("data removed without destroy-data")
	}
	if jobs := c.call(http.MethodGet, "/config/prune", nil).dataList(t); len(jobs) != 0 {
		t.Errorf("jobs left %v", jobs)
	}
	c.call(http.MethodDelete, "/config/datastore/ds1", nil).expect(t, 404, "datastore 'ds1' does not exist.")

	// re-create on the kept data, then destroy it
	again := c.call(http.MethodPost, "/config/datastore", url.Values{"name": {"ds1"}, "path": {"/mnt/ds1"}}).upid(t)
	if st := c.waitTask(again); st != "unable to create chunk store 'ds1' subdir \"/mnt/ds1/.chunks\" - EEXIST: File exists" {
		t.Errorf("create on kept data: %s", st)
	}
	reuse := c.call(http.MethodPost, "/config/datastore", url.Values{"name": {"ds1"}, "path": {"/mnt/ds1"}, "reuse-datastore": {"1"}}).upid(t)
	if st := c.waitTask(reuse); st != "OK" {
		t.Fatalf("reuse: %s", st)
	}
	destroy := c.call(http.MethodDelete, "/config/datastore/ds1", url.Values{"destroy-data": {"1"}}).upid(t)
	if st := c.waitTask(destroy); st != "OK" {
		t.Fatalf("destroy: %s", st)
	}
	if s.DatastoreDataExists("/mnt/ds1") {
		t.Error("data kept with destroy-data")
	}
	tasks := c.call(http.MethodGet, "/nodes/localhost/tasks", nil)
	if l := tasks.dataList(t); len(l) != 6 || tasks.Body["total"] != float64(6) {
		t.Errorf("tasks %d, total %v", len(l), tasks.Body["total"])
	}
}

func TestPruneJobs(t *testing.T) {
	s := startServer(t, Options{})
	c := newClient(t, s).withToken()
	c.call(http.MethodPost, "/config/prune", url.Values{"id": {"weekly"}, "store": {"ds1"}, "schedule": {"sat 02:00"},
		"keep-last": {"3"}, "ns": {"a/b"}, "max-depth": {"1"}, "disable": {"0"}}).expect(t, 200, `{"data":null}`)
	c.call(http.MethodPost, "/config/prune", url.Values{"id": {"weekly"}, "store": {"ds1"}, "schedule": {"daily"}}).
		expect(t, 400, "parameter verification errors\n\nparameter 'id': job 'weekly' already exists.\n")
	get := c.call(http.MethodGet, "/config/prune/weekly", nil)
	job := get.dataMap(t)
	if job["schedule"] != "sat 02:00" || job["keep-last"] != float64(3) || job["disable"] != nil || job["ns"] != "a/b" {
		t.Errorf("job %v", job)
	}
	c.call(http.MethodPut, "/config/prune/weekly", url.Values{"digest": {get.Body["digest"].(string)}, "delete": {"ns", "keep-last"},
		"keep-weekly": {"4"}, "disable": {"1"}}).expect(t, 200, `{"data":null}`)
	job = c.call(http.MethodGet, "/config/prune/weekly", nil).dataMap(t)
	if job["ns"] != nil || job["keep-last"] != nil || job["keep-weekly"] != float64(4) || job["disable"] != true {
		t.Errorf("updated job %v", job)
	}
	c.call(http.MethodPut, "/config/prune/weekly", url.Values{"digest": {get.Body["digest"].(string)}}).
		expect(t, 400, "detected modified configuration - file changed by other user? Try again.")
	c.call(http.MethodGet, "/config/prune/nope", nil).expect(t, 400, "no such prune 'nope'")
	c.call(http.MethodDelete, "/config/prune/weekly", nil).expect(t, 200, `{"data":null}`)
	c.call(http.MethodDelete, "/config/prune/weekly", nil).expect(t, 400, "no such prune 'weekly'")
}

func TestNamespaces(t *testing.T) {
	s := startServer(t, Options{})
	c := newClient(t, s).withToken()
	c.waitTask(c.call(http.MethodPost, "/config/datastore", url.Values{"name": {"ds1"}, "path": {"/mnt/ds1"}}).upid(t))
	ns := "/admin/datastore/ds1/namespace"
	c.call(http.MethodPost, ns, url.Values{"name": {"a"}}).expect(t, 200, `{"data":"a"}`)
	c.call(http.MethodPost, ns, url.Values{"name": {"a"}}).expect(t, 200, `{"data":"a"}`) // exists: fine
	c.call(http.MethodPost, ns, url.Values{"name": {"b"}, "parent": {"a"}}).expect(t, 200, `{"data":"a/b"}`)
	c.call(http.MethodPost, ns, url.Values{"name": {"c"}, "parent": {"x"}}).
		expect(t, 400, "cannot create new namespace, parent x doesn't already exists")
	deep := "a/b"
	for _, n := range []string{"c", "d", "e", "f", "g"} {
		c.call(http.MethodPost, ns, url.Values{"name": {n}, "parent": {deep}}).expect(t, 200, `{"data":"`+deep+"/"+n+`"}`)
		deep += "/" + n
	}
	c.call(http.MethodPost, ns, url.Values{"name": {"h"}, "parent": {deep}}).expect(t, 400, "namespace too deep, 7 >= max 7")
	l := c.call(http.MethodGet, ns, url.Values{"max-depth": {"1"}}).dataList(t)
	if len(l) != 2 || l[0].(map[string]any)["ns"] != "" || l[1].(map[string]any)["ns"] != "a" {
		t.Errorf("namespaces %v", l)
	}
	c.call(http.MethodDelete, ns, url.Values{"ns": {""}}).expect(t, 400, "Cannot create/delete root namespace!")
	c.call(http.MethodDelete, ns, url.Values{"ns": {"a/b"}}).expect(t, 200, `{"data":null}`)
	if l := c.call(http.MethodGet, ns, nil).dataList(t); len(l) != 2 {
		t.Errorf("after delete %v", l)
	}
	c.call(http.MethodGet, "/admin/datastore/nope/namespace", nil).expect(t, 400, "no such datastore 'nope'")
}

func TestTaskFailureFault(t *testing.T) {
	s := startServer(t, Options{})
	c := newClient(t, s).withToken()
	s.Faults().FailNextTasks(1, "disk on fire")
	up := c.call(http.MethodPost, "/config/datastore", url.Values{"name": {"ds1"}, "path": {"/mnt/ds1"}}).upid(t)
	if st := c.waitTask(up); st != "disk on fire" {
		t.Errorf("exit status %q", st)
	}
	if s.DatastoreDataExists("/mnt/ds1") {
		t.Error("a failed create left data")
	}
	failed := c.call(http.MethodGet, "/nodes/localhost/tasks", url.Values{"errors": {"1"}}).dataList(t)
	if len(failed) != 1 || failed[0].(map[string]any)["status"] != "disk on fire" {
		t.Errorf("failed tasks %v", failed)
	}
}
