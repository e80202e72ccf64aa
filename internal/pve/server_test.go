package pve

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
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
	testToken       = testTokenID + "=" + testTokenSecret
	testUser        = "root@pam"
	testPassword    = "Corr3ct-Horse-Battery"
	testTicket      = "PVE:root@pam:6745A3F1::bm90LWEtcmVhbC1zaWduYXR1cmUtYnV0LWxvbmctZW5vdWdo"
	testCSRF        = "6745A3F1:Q1NSRnByZXZlbnRpb250b2tlbnZhbHVl"
)

// fakePVE imitates pveproxy for one test: routes below /api2/json, checks
// credentials as PVE does, and answers errors as PVE does, with the message
// in the status line's reason phrase and {"data":null} as the body.
type fakePVE struct {
	t   testing.TB
	mux *http.ServeMux
	srv *httptest.Server

	mu       sync.Mutex
	routes   map[string]http.HandlerFunc
	requests []string // "METHOD /path" below /api2/json, in order
	ticket   string   // the ticket currently accepted
}

// newFakePVE starts a fake PVE; with useTLS it speaks HTTPS with
// httptest's self-signed certificate (valid for 127.0.0.1 and example.com).
func newFakePVE(t testing.TB, useTLS bool) *fakePVE {
	t.Helper()
	f := &fakePVE{t: t, mux: http.NewServeMux(), routes: map[string]http.HandlerFunc{}, ticket: testTicket}
	f.handle("GET /version", func(w http.ResponseWriter, _ *http.Request) {
		writeData(w, map[string]string{"version": "8.3.0", "release": "8.3", "repoid": "c1689ccb1065a83b"})
	})
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
func (f *fakePVE) handle(pattern string, h http.HandlerFunc) {
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

func (f *fakePVE) serve(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, apiRoot)
	f.mu.Lock()
	f.requests = append(f.requests, r.Method+" "+path)
	ticket := f.ticket
	f.mu.Unlock()

	if !(r.Method == http.MethodPost && path == "/access/ticket") {
		auth := r.Header.Get("Authorization")
		cookie, _ := r.Cookie("PVEAuthCookie")
		switch {
		case strings.HasPrefix(auth, "PVEAPIToken="):
			if auth != "PVEAPIToken="+testToken {
				writeError(w, http.StatusUnauthorized, "invalid token value!", nil)
				return
			}
		case cookie != nil && cookie.Value == ticket:
			if r.Method != http.MethodGet && r.Header.Get("CSRFPreventionToken") != testCSRF {
				writeError(w, http.StatusUnauthorized, "Permission denied - invalid csrf token", nil)
				return
			}
		default:
			writeError(w, http.StatusUnauthorized, "No ticket", nil)
			return
		}
	}
	if _, pattern := f.mux.Handler(r); pattern == "" {
		writeError(w, http.StatusNotImplemented, fmt.Sprintf("Method '%s %s' not implemented", r.Method, path), nil)
		return
	}
	f.mux.ServeHTTP(w, r)
}

// login answers POST /access/ticket for testUser with testPassword, or with
// the current ticket as password (renewal).
func (f *fakePVE) login(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, "Parameter verification failed.", map[string]string{"password": err.Error()})
		return
	}
	f.mu.Lock()
	current := f.ticket
	f.mu.Unlock()
	if r.PostForm.Get("username") != testUser ||
		(r.PostForm.Get("password") != testPassword && r.PostForm.Get("password") != current) {
		writeError(w, http.StatusUnauthorized, "authentication failure", nil)
		return
	}
	writeData(w, map[string]any{
		"username":            testUser,
		"ticket":              current,
		"CSRFPreventionToken": testCSRF,
		"cap":                 map[string]any{"nodes": map[string]int{"Sys.Audit": 1}},
	})
}

// count reports how many requests were "METHOD /path".
func (f *fakePVE) count(request string) int {
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
func (f *fakePVE) log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}

// fastRetry keeps retry tests quick: the real schedule in miniature.
var fastRetry = RetryPolicy{MaxAttempts: 4, InitialBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond}

// newTestClient connects to f with the API token, or as modified by mod.
func newTestClient(t *testing.T, f *fakePVE, mod func(*Config)) *Client {
	t.Helper()
	cfg := Config{Endpoint: f.srv.URL, Insecure: f.srv.TLS == nil, APIToken: testToken, Retry: fastRetry}
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

// writeData answers 200 with PVE's envelope.
func writeData(w http.ResponseWriter, data any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	_ = json.NewEncoder(w).Encode(map[string]any{"data": data})
}

// writeError answers as pveproxy does: the message as the reason phrase,
// {"data":null} as the body, and the parameter errors beside it. net/http
// always writes its own reason phrase, so the connection is hijacked.
func writeError(w http.ResponseWriter, code int, reason string, errs map[string]string) {
	env := map[string]any{"data": nil}
	if errs != nil {
		env["errors"] = errs
	}
	body, _ := json.Marshal(env)
	writeRaw(w, code, reason, string(body))
}

// writeRaw writes a whole HTTP/1.1 answer with any status line.
func writeRaw(w http.ResponseWriter, code int, reason, body string) {
	conn, buf, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(err)
	}
	defer func() { _ = conn.Close() }()
	fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\n", code, reason)
	fmt.Fprintf(buf, "Cache-Control: max-age=0\r\nPragma: no-cache\r\nServer: pve-api-daemon/3.0\r\n")
	fmt.Fprintf(buf, "Content-Type: application/json;charset=UTF-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
	_ = buf.Flush()
}

// dropConnection closes the connection without answering, as a crashing
// or restarting pveproxy does.
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
