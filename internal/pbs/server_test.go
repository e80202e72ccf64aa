package pbs

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// Credentials the fake server accepts. The values look like real ones so
// that redaction is tested on realistic strings.
const (
	testTokenID     = "root@pam!terraform"
	testTokenSecret = "5f1c3a7e-0b2d-4c8e-9f61-2a7b3c4d5e6f"
	testToken       = testTokenID + ":" + testTokenSecret
	testUser        = "root@pam"
	testPassword    = "Corr3ct-Horse-Battery"
	testTicket      = "PBS:root@pam:6745A3F1::bm90LWEtcmVhbC1zaWduYXR1cmUrYnV0L2xvbmc="
	testCSRF        = "6745A3F1:Q1NSRnByZXZlbnRpb250b2tlbnZhbHVl"
)

// fakePBS imitates proxmox-backup-proxy for one test at the HTTP level:
// routes below /api2/json, credentials checked as proxmox-auth-api checks
// them, and errors answered as proxmox-rest-server answers them: the
// message as a plain-text body under a JSON content type, the standard
// reason phrase, 400 for errors without a code of their own.
type fakePBS struct {
	t   testing.TB
	mux *http.ServeMux
	srv *httptest.Server

	mu       sync.Mutex
	routes   map[string]http.HandlerFunc
	requests []string // "METHOD /path" below /api2/json, in order
	ticket   string   // the ticket currently accepted
	tasks    map[string]*fakeTask
}

// newFakePBS starts a fake PBS; with useTLS it speaks HTTPS with
// httptest's self-signed certificate (valid for 127.0.0.1 and example.com).
func newFakePBS(t testing.TB, useTLS bool) *fakePBS {
	t.Helper()
	f := &fakePBS{t: t, mux: http.NewServeMux(), routes: map[string]http.HandlerFunc{}, ticket: testTicket}
	f.handle("GET /version", data(map[string]string{"version": "4.0.14", "release": "4.0", "repoid": "8d5bd5ad1b9b7a1e"}))
	f.handle("POST /access/ticket", f.login)
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	// Failed handshakes are what some tests are about; keep them off stderr.
	f.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if useTLS {
		f.srv.StartTLS()
	} else {
		f.srv.Start()
	}
	t.Cleanup(f.srv.Close)
	return f
}

// handle routes pattern ("METHOD /path" below /api2/json) to h, replacing
// an earlier handler of the same pattern.
func (f *fakePBS) handle(pattern string, h http.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, known := f.routes[pattern]
	f.routes[pattern] = h
	if known {
		return
	}
	method, path, _ := strings.Cut(pattern, " ")
	f.mux.HandleFunc(method+" "+apiRoot+path, func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		h := f.routes[pattern]
		f.mu.Unlock()
		h(w, r)
	})
}

func (f *fakePBS) serve(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, apiRoot)
	f.mu.Lock()
	f.requests = append(f.requests, r.Method+" "+path)
	ticket := f.ticket
	f.mu.Unlock()

	// POST /access/ticket has Permission::World: no authentication.
	if !(r.Method == http.MethodPost && path == "/access/ticket") {
		if msg := checkAuth(r, ticket); msg != "" {
			// The router's auth failure leaves handle_request as an error:
			// ApiService::call answers it without a content type.
			w.Header()["Content-Type"] = nil
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, "authentication failed - "+msg)
			return
		}
	}
	if msg := checkSchema(f.t, r); msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	if _, pattern := f.mux.Handler(r); pattern == "" {
		writeError(w, http.StatusNotFound, fmt.Sprintf("Path '%s' not found.", r.URL.Path))
		return
	}
	f.mux.ServeHTTP(w, r)
}

// checkAuth is proxmox-auth-api's http_check_auth: a PBSAuthCookie ticket
// (percent-decoded) with a CSRF token on every method but GET, or an
// "Authorization: PBSAPIToken=user@realm!tokenid:secret" header. It
// returns the reason of a failure, "" for success.
func checkAuth(r *http.Request, ticket string) string {
	for _, c := range r.Cookies() {
		if c.Name != authCookie {
			continue
		}
		v, err := url.PathUnescape(c.Value)
		if err != nil || v != ticket {
			return "invalid ticket - expired or invalid signature"
		}
		if r.Method != http.MethodGet {
			switch csrf := r.Header.Get(csrfHeader); {
			case csrf == "":
				return "missing CSRF prevention token"
			case csrf != testCSRF:
				return "invalid csrf token - invalid signature."
			}
		}
		return ""
	}
	auth := r.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(auth, tokenScheme+"=")
	if !ok {
		rest, ok = strings.CutPrefix(auth, tokenScheme+" ")
	}
	if !ok {
		return "no authentication credentials provided."
	}
	id, secret, ok := strings.Cut(rest, ":")
	if !ok {
		return "failed to split API token header"
	}
	if id != testTokenID || secret != testTokenSecret {
		return "invalid credentials"
	}
	return ""
}

// login answers POST /access/ticket for testUser with testPassword, or with
// the current ticket as password (renewal). A failure is 401 "permission
// check failed." (handle_ticket_creation).
func (f *fakePBS) login(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	f.mu.Lock()
	current := f.ticket
	f.mu.Unlock()
	if r.PostForm.Get("username") != testUser ||
		(r.PostForm.Get("password") != testPassword && r.PostForm.Get("password") != current) {
		writeError(w, http.StatusUnauthorized, "permission check failed.")
		return
	}
	writeData(w, map[string]any{
		"username":            testUser,
		"ticket":              current,
		"CSRFPreventionToken": testCSRF,
	})
}

// count reports how many requests were "METHOD /path".
func (f *fakePBS) count(request string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.requests {
		if r == request {
			n++
		}
	}
	return n
}

// log returns the requests so far.
func (f *fakePBS) log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}

// fastRetry keeps retry tests quick: the real schedule in miniature.
var fastRetry = RetryPolicy{MaxAttempts: 4, InitialBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond}

// fastWait keeps task tests quick.
var fastWait = WaitOptions{FirstPoll: time.Millisecond, MaxPoll: 2 * time.Millisecond}

// newTestClient connects to f with the API token, or as modified by mod.
func newTestClient(t *testing.T, f *fakePBS, mod func(*Config)) *Client {
	t.Helper()
	cfg := Config{Endpoint: f.srv.URL, Insecure: f.srv.TLS == nil, APIToken: testToken, Retry: fastRetry, Wait: fastWait}
	if f.srv.TLS != nil {
		cfg.CACertificate = serverCAPEM(f.srv)
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// writeData answers 200 with PBS's envelope: {"data": ...} and the result
// attributes (a config's "digest") beside it.
func writeData(w http.ResponseWriter, v any, attrs ...any) {
	env := map[string]any{"data": v}
	for i := 0; i+1 < len(attrs); i += 2 {
		env[attrs[i].(string)] = attrs[i+1]
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	_ = json.NewEncoder(w).Encode(env)
}

// writeError answers as proxmox-rest-server's JSON formatter does: the
// message as the body, under a JSON content type.
func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, msg)
}

func data(v any, attrs ...any) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) { writeData(w, v, attrs...) }
}

func status(code int, msg string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) { writeError(w, code, msg) }
}

// dropConnection closes the connection without answering, as a crashing
// or restarting proxmox-backup-proxy does.
func dropConnection(w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(err)
	}
	_ = conn.Close()
}

// serverCAPEM returns the test server's self-signed certificate as PEM.
func serverCAPEM(srv *httptest.Server) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))
}

// form reads a request's parameters: the form body of POST and PUT, the
// query of GET and DELETE.
func form(r *http.Request) url.Values {
	if r.Method == http.MethodPost || r.Method == http.MethodPut {
		_ = r.ParseForm()
		return r.PostForm
	}
	return r.URL.Query()
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// checkSchema checks the request's parameters against the official schema,
// if it is present, as PBS checks them before calling a handler. The body
// is left for the handler to read.
func checkSchema(t testing.TB, r *http.Request) string {
	schema, err := loadSchema()
	if err != nil {
		t.Fatalf("loading the API schema: %v", err)
	}
	if schema == nil {
		return ""
	}
	params := r.URL.Query()
	if r.Method == http.MethodPost || r.Method == http.MethodPut {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		params, _ = url.ParseQuery(string(body))
	}
	return schema.check(r, params)
}
