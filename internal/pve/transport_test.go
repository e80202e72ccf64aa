package pve

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-log/tflog"
	"github.com/hashicorp/terraform-plugin-log/tflogtest"

	"github.com/hcilab/terraform-provider-pve/internal/apiclient"
)

// failFirst answers the first n requests with fail, then with ok.
func failFirst(n int32, fail, ok http.HandlerFunc) http.HandlerFunc {
	var calls atomic.Int32
	return func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= n {
			fail(w, r)
			return
		}
		ok(w, r)
	}
}

func status(code int, reason string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) { writeError(w, code, reason, nil) }
}

func data(v any) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) { writeData(w, v) }
}

func TestRetries(t *testing.T) {
	const upid = "UPID:pve1:000A1B2C:0012D687:6745A3F1:qmstart:100:root@pam:"
	tests := []struct {
		name     string
		method   string
		handler  http.HandlerFunc
		wantSent int   // requests that reached the server
		wantErr  error // nil: success
	}{
		{"GET retried on 503 until it succeeds", http.MethodGet,
			failFirst(2, status(503, "Service Unavailable"), data("ok")), 3, nil},
		{"GET retried on 502, 504, 595, 596", http.MethodGet,
			failFirst(4, func(w http.ResponseWriter, r *http.Request) {
				codes := map[int]string{502: "Bad Gateway", 504: "Gateway Timeout", 595: "Connection refused", 596: "Connection timed out"}
				for c, m := range codes {
					writeError(w, c, m, nil)
					delete(codes, c)
					return
				}
			}, data("ok")), 4, ErrTransient},
		{"GET gives up after MaxAttempts", http.MethodGet,
			status(503, "Service Unavailable"), 4, ErrTransient},
		{"GET retried on a 500 from a failed proxy connection", http.MethodGet,
			failFirst(1, status(500, "proxy handler failed: Connection refused"), data("ok")), 2, nil},
		{"GET retried on a dropped connection", http.MethodGet,
			failFirst(1, func(w http.ResponseWriter, _ *http.Request) { dropConnection(w) }, data("ok")), 2, nil},
		{"PUT retried on 503", http.MethodPut,
			failFirst(1, status(503, "Service Unavailable"), data(nil)), 2, nil},
		{"DELETE retried on 503", http.MethodDelete,
			failFirst(1, status(503, "Service Unavailable"), data(upid)), 2, nil},
		{"POST not retried on 503", http.MethodPost,
			status(503, "Service Unavailable"), 1, ErrTransient},
		{"POST not retried on a transient 500", http.MethodPost,
			status(500, "proxy handler failed: Connection timed out"), 1, ErrTransient},
		{"POST not retried on a dropped connection", http.MethodPost,
			func(w http.ResponseWriter, _ *http.Request) { dropConnection(w) }, 1, ErrTransient},
		{"POST retried when no worker started", http.MethodPost,
			failFirst(1, status(500, "got no worker upid - start worker failed"), data(upid)), 2, nil},
		{"POST retried when pveproxy could not connect", http.MethodPost,
			failFirst(1, status(595, "Connection refused"), data(upid)), 2, nil},
		{"GET not retried on 400", http.MethodGet,
			status(400, "Parameter verification failed."), 1, nil},
		{"GET not retried on 403", http.MethodGet,
			status(403, "Permission check failed (/, Sys.Audit)"), 1, ErrPermission},
		{"GET not retried on 404", http.MethodGet,
			status(404, "Not Found"), 1, ErrNotFound},
		{"PUT retried after a file lock timeout", http.MethodPut,
			failFirst(1, status(500, "can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout"), data(nil)), 2, nil},
		{"POST retried after a cluster lock timeout", http.MethodPost,
			failFirst(2, status(500, "create ha rule failed: cfs-lock 'domain-ha' error: got lock request timeout"), data(nil)), 3, nil},
		{"DELETE retried after a file lock timeout", http.MethodDelete,
			failFirst(1, status(500, "can't lock file '/var/lock/pve-manager/pve-storage-local' - got timeout"), data(nil)), 2, nil},
		{"a lock timeout given up after MaxAttempts", http.MethodPost,
			status(500, "can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout"), 4, ErrLocked},
		{"PUT not retried on a guest locked by a backup", http.MethodPut,
			status(500, "VM is locked (backup)"), 1, ErrLocked},
		{"GET not retried on a plain 500", http.MethodGet,
			status(500, "VM 100 not running"), 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakePVE(t, false)
			f.handle(tt.method+" /cluster/thing", tt.handler)
			c := newTestClient(t, f, nil)
			var out any
			err := c.do(context.Background(), tt.method, "/cluster/thing", url.Values{"a": {"1"}}, &out)
			if got := f.count(tt.method + " /cluster/thing"); got != tt.wantSent {
				t.Errorf("sent %d times, want %d", got, tt.wantSent)
			}
			succeeds := tt.wantSent > 1 && tt.wantErr == nil
			switch {
			case succeeds && err != nil:
				t.Errorf("err = %v, want success", err)
			case !succeeds && err == nil:
				t.Error("no error")
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Errorf("errors.Is(%v, %v) = false", err, tt.wantErr)
			}
		})
	}
}

// TestRetryTypedCall shows that go-proxmox's typed calls get the retries.
func TestRetryTypedCall(t *testing.T) {
	f := newFakePVE(t, false)
	f.handle("GET /nodes", failFirst(2, status(503, "Service Unavailable"),
		data([]map[string]any{{"node": "pve1", "status": "online"}})))
	c := newTestClient(t, f, nil)
	nodes, err := c.API().Nodes(context.Background())
	if err != nil || len(nodes) != 1 || nodes[0].Node != "pve1" {
		t.Fatalf("Nodes() = %v, %v", nodes, err)
	}
	if n := f.count("GET /nodes"); n != 3 {
		t.Errorf("sent %d times, want 3", n)
	}
}

func TestRetryResendsBody(t *testing.T) {
	f := newFakePVE(t, false)
	var bodies []string
	f.handle("PUT /nodes/pve1/qemu/100/config", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, r.Header.Get("Content-Type")+" "+string(b))
		if len(bodies) == 1 {
			writeError(w, 503, "Service Unavailable", nil)
			return
		}
		writeData(w, nil)
	})
	c := newTestClient(t, f, nil)
	params := url.Values{"cores": {"4"}, "description": {"web & db"}}
	if err := c.Put(context.Background(), "/nodes/pve1/qemu/100/config", params, nil); err != nil {
		t.Fatal(err)
	}
	want := "application/x-www-form-urlencoded " + params.Encode()
	if len(bodies) != 2 || bodies[0] != want || bodies[1] != want {
		t.Errorf("bodies = %q, want twice %q", bodies, want)
	}
}

// TestRetryDialRefused sends a POST whose first connection is refused: the
// request never left, so even a POST is sent again.
func TestRetryDialRefused(t *testing.T) {
	f := newFakePVE(t, false)
	f.handle("POST /nodes/pve1/qemu/100/status/start", data("UPID:pve1:000A1B2C:0012D687:6745A3F1:qmstart:100:root@pam:"))
	c := newTestClient(t, f, nil)

	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusedAddr := closed.Addr().String()
	_ = closed.Close()

	var dials atomic.Int32
	base := c.http.Transport.(*apiclient.Transport).Base.(writeWatch).next.(*http.Transport)
	base.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if dials.Add(1) == 1 {
			addr = refusedAddr // a real "connection refused"
		}
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	base.CloseIdleConnections() // New's connection would be reused otherwise
	var upid string
	if err := c.Post(context.Background(), "/nodes/pve1/qemu/100/status/start", nil, &upid); err != nil {
		t.Fatal(err)
	}
	if dials.Load() != 2 || f.count("POST /nodes/pve1/qemu/100/status/start") != 1 || upid == "" {
		t.Errorf("dials %d, requests %d, upid %q", dials.Load(), f.count("POST /nodes/pve1/qemu/100/status/start"), upid)
	}
}

func TestRetryStopsOnCancel(t *testing.T) {
	f := newFakePVE(t, false)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.handle("GET /nodes", func(w http.ResponseWriter, _ *http.Request) {
		cancel() // Ctrl-C while the answer is on its way
		writeError(w, 503, "Service Unavailable", nil)
	})
	c := newTestClient(t, f, func(cfg *Config) {
		cfg.Retry = RetryPolicy{InitialBackoff: time.Hour, MaxBackoff: time.Hour}
	})
	done := make(chan error, 1)
	go func() { done <- c.Get(ctx, "/nodes", nil, nil) }()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
		if n := f.count("GET /nodes"); n != 1 {
			t.Errorf("sent %d times, want 1", n)
		}
	case <-time.After(20 * time.Second): // a hang detector, not a timing assertion
		t.Fatal("the retry backoff ignored the cancelled context")
	}
}

// TestTimeoutPerAttempt: an attempt that gets no answer within Timeout is
// abandoned, and a GET is sent again.
func TestTimeoutPerAttempt(t *testing.T) {
	f := newFakePVE(t, false)
	f.handle("GET /nodes", failFirst(1, func(_ http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // hang until the client gives up
	}, data([]any{})))
	c := newTestClient(t, f, func(cfg *Config) { cfg.Timeout = 200 * time.Millisecond })
	if err := c.Get(context.Background(), "/nodes", nil, nil); err != nil {
		t.Fatal(err)
	}
	if n := f.count("GET /nodes"); n != 2 {
		t.Errorf("sent %d times, want 2", n)
	}
}

func TestRetryDelay(t *testing.T) {
	p := RetryPolicy{}.withDefaults()
	if p.MaxAttempts != 4 || p.InitialBackoff != 200*time.Millisecond || p.MaxBackoff != 3*time.Second {
		t.Fatalf("defaults = %+v", p)
	}
	tests := []struct {
		attempt  int
		jitter   float64
		err      error
		min, max time.Duration
	}{
		{1, 0, nil, 100 * time.Millisecond, 100 * time.Millisecond},
		{1, 0.999, nil, 100 * time.Millisecond, 200 * time.Millisecond},
		{2, 0, nil, 200 * time.Millisecond, 200 * time.Millisecond},
		{3, 0.999, nil, 400 * time.Millisecond, 800 * time.Millisecond},
		{10, 0.999, nil, 1500 * time.Millisecond, 3 * time.Second},
		{1, 0, &APIError{StatusCode: 503, retryAfter: 2 * time.Second}, 2 * time.Second, 2 * time.Second},
		{1, 0, &APIError{StatusCode: 503, retryAfter: time.Hour}, apiclient.MaxRetryAfter, apiclient.MaxRetryAfter},
	}
	for _, tt := range tests {
		if d := p.delay(tt.attempt, tt.err, tt.jitter); d < tt.min || d > tt.max {
			t.Errorf("delay(%d, %v, %v) = %s, want in [%s, %s]", tt.attempt, tt.err, tt.jitter, d, tt.min, tt.max)
		}
	}
}

// TestLogRedaction captures the trace log of a password login and of
// requests carrying secrets, and checks that no secret is written.
func TestLogRedaction(t *testing.T) {
	f := newFakePVE(t, false)
	f.handle("POST /access/users", data(nil))
	f.handle("GET /nodes", data([]map[string]any{{"node": "pve1", "status": "online"}}))

	var buf bytes.Buffer
	ctx := tflogtest.RootLogger(context.Background(), &buf)

	const userPassword = "N3w-User-Passw0rd"
	const otp = "123456"
	cfg := Config{Endpoint: f.srv.URL, Insecure: f.srv.TLS == nil, Username: testUser, Password: testPassword, Retry: fastRetry}
	c, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Get(ctx, "/nodes", url.Values{"vncticket": {testTicket}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Post(ctx, "/access/users", url.Values{"userid": {"alice@pve"}, "password": {userPassword}, "otp": {otp}}, nil); err != nil {
		t.Fatal(err)
	}
	// A known secret is masked wherever it appears, whatever the field.
	if err := c.Post(ctx, "/access/users", url.Values{"userid": {"bob@pve"}, "comment": {"was " + testPassword}}, nil); err != nil {
		t.Fatal(err)
	}
	// tflog's masking covers messages and string fields logged with the
	// transport's context.
	tflog.Debug(apiclient.MaskSecrets(ctx, c.http.Transport.(*apiclient.Transport).Auth.Secrets()), "message with "+testTicket, map[string]any{"field": "x" + testCSRF})
	tc := newTestClient(t, f, nil)
	if _, err := tc.Version(ctx); err != nil {
		t.Fatal(err)
	}

	out := buf.String()
	entries, err := tflogtest.MultilineJSONDecode(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		// Re-rendered from the decoded entries, since the JSON escapes some characters.
		out += "\n" + strings.Join(flatten(e), "\n")
	}
	for _, secret := range []string{testPassword, testTicket, testCSRF, testTokenSecret, userPassword, "otp=" + otp, "PVEAuthCookie=PVE"} {
		if strings.Contains(out, secret) {
			t.Errorf("log contains secret %q", secret)
		}
	}
	for _, want := range []string{
		`"http_path":"/access/ticket"`, `"http_status":200`, `"http_method":"POST"`,
		"password=***", `"ticket":"***"`, `"CSRFPreventionToken":"***"`, "PVEAuthCookie=***",
		"PVEAPIToken=" + testTokenID + "=***", "userid=alice%40pve", "vncticket=***",
		"comment=was+***", "message with ***", `"field":"x***"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(out)
	}
}

// flatten renders the string values of a decoded log entry.
func flatten(e map[string]any) []string {
	var out []string
	for k, v := range e {
		if s, ok := v.(string); ok {
			out = append(out, k+"="+s)
		}
	}
	return out
}

// TestStreamedBody: large or unsized bodies (uploads) are streamed, never
// held in memory, and so sent only once.
func TestStreamedBody(t *testing.T) {
	const size = 2 << 20 // more than the transport buffers
	f := newFakePVE(t, false)
	f.handle("POST /nodes/pve1/storage/local/upload", func(w http.ResponseWriter, r *http.Request) {
		file, hdr, err := r.FormFile("filename")
		if err != nil {
			writeError(w, http.StatusBadRequest, "Parameter verification failed.", map[string]string{"filename": err.Error()})
			return
		}
		n, _ := io.Copy(io.Discard, file)
		writeData(w, fmt.Sprintf("%s:%d:%s", hdr.Filename, n, r.FormValue("content")))
	})
	f.handle("PUT /stream", status(503, "Service Unavailable"))
	c := newTestClient(t, f, nil)

	var got string
	err := c.API().UploadReader("/nodes/pve1/storage/local/upload", map[string]string{"content": "iso"},
		"debian.iso", bytes.NewReader(make([]byte, size)), size, &got)
	if err != nil || got != fmt.Sprintf("debian.iso:%d:iso", size) {
		t.Errorf("UploadReader = %q, %v", got, err)
	}

	req, _ := http.NewRequest(http.MethodPut, c.baseURL+"/stream", io.MultiReader(strings.NewReader("unsized")))
	if _, err := c.http.Do(req); !errors.Is(err, ErrTransient) {
		t.Errorf("PUT /stream: %v", err)
	}
	if n := f.count("PUT /stream"); n != 1 {
		t.Errorf("streamed PUT sent %d times, want 1", n)
	}
}
