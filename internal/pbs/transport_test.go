package pbs

import (
	"bytes"
	"context"
	"errors"
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

const testUPID = "UPID:pbs1:000007C4:00009A2B:00000003:6745A3F1:create-datastore:store1:root@pam:"

func TestRetries(t *testing.T) {
	refused := status(400, "error trying to connect: tcp connect error: Connection refused (os error 111)")
	tests := []struct {
		name     string
		method   string
		handler  http.HandlerFunc
		wantSent int   // requests that reached the server
		wantErr  error // nil: success
	}{
		{"GET retried on 503 until it succeeds", http.MethodGet,
			failFirst(2, status(503, "Service Unavailable"), data("ok")), 3, nil},
		{"GET retried on 502 and 504", http.MethodGet,
			failFirst(1, status(502, ""), failFirst(1, status(504, ""), data("ok"))), 3, nil},
		{"GET gives up after MaxAttempts", http.MethodGet,
			status(503, "Service Unavailable"), 4, ErrTransient},
		{"GET retried on a dropped connection", http.MethodGet,
			failFirst(1, func(w http.ResponseWriter, _ *http.Request) { dropConnection(w) }, data("ok")), 2, nil},
		{"GET retried when the proxy could not reach the API daemon", http.MethodGet,
			failFirst(1, refused, data("ok")), 2, nil},
		{"PUT retried on 503", http.MethodPut,
			failFirst(1, status(503, "Service Unavailable"), data(nil)), 2, nil},
		{"DELETE retried on 503", http.MethodDelete,
			failFirst(1, status(503, "Service Unavailable"), data(testUPID)), 2, nil},
		{"POST not retried on 503", http.MethodPost,
			status(503, "Service Unavailable"), 1, ErrTransient},
		{"POST not retried on a dropped connection", http.MethodPost,
			func(w http.ResponseWriter, _ *http.Request) { dropConnection(w) }, 1, ErrTransient},
		{"POST retried when the proxy could not reach the API daemon", http.MethodPost,
			failFirst(1, refused, data(testUPID)), 2, nil},
		{"GET not retried on 400", http.MethodGet,
			status(400, "parameter verification failed - 'store': value does not match the regex pattern"), 1, nil},
		{"GET not retried on 403", http.MethodGet,
			status(403, "permission check failed"), 1, ErrPermission},
		{"GET not retried on 404", http.MethodGet,
			status(404, "datastore 'x' does not exist."), 1, ErrNotFound},
		{"PUT retried after a lock timeout", http.MethodPut,
			failFirst(1, status(400, `Unable to acquire lock "/etc/proxmox-backup/.datastore.lck" - Interrupted system call (os error 4)`), data(nil)), 2, nil},
		{"POST retried after a lock timeout", http.MethodPost,
			failFirst(1, status(400, `Unable to acquire lock "/etc/proxmox-backup/.datastore.lck" - Interrupted system call (os error 4)`), data(testUPID)), 2, nil},
		{"a lock timeout given up after MaxAttempts", http.MethodPut,
			status(400, `Unable to acquire lock "/etc/proxmox-backup/.datastore.lck" - Interrupted system call (os error 4)`), 4, ErrLocked},
		{"PUT not retried on a stale digest", http.MethodPut,
			status(400, "detected modified configuration - file changed by other user? Try again."), 1, ErrConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakePBS(t, false)
			f.handle(tt.method+" /thing", tt.handler)
			c := newTestClient(t, f, nil)
			var out any
			_, err := c.do(context.Background(), tt.method, "/thing", url.Values{"a": {"1"}}, &out)
			if got := f.count(tt.method + " /thing"); got != tt.wantSent {
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

func TestRetryResendsBody(t *testing.T) {
	f := newFakePBS(t, false)
	var bodies []string
	f.handle("PUT /config/datastore/store1", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, r.Header.Get("Content-Type")+" "+string(b))
		if len(bodies) == 1 {
			writeError(w, 503, "Service Unavailable")
			return
		}
		writeData(w, nil)
	})
	c := newTestClient(t, f, nil)
	params := url.Values{"comment": {"web & db"}, "delete": {"tuning", "notify"}}
	if err := c.Put(context.Background(), "/config/datastore/store1", params, nil); err != nil {
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
	f := newFakePBS(t, false)
	f.handle("POST /config/datastore", data(testUPID))
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
	if err := c.Post(context.Background(), "/config/datastore", url.Values{"name": {"store1"}, "path": {"/mnt/store1"}}, &upid); err != nil {
		t.Fatal(err)
	}
	if dials.Load() != 2 || f.count("POST /config/datastore") != 1 || upid != testUPID {
		t.Errorf("dials %d, requests %d, upid %q", dials.Load(), f.count("POST /config/datastore"), upid)
	}
}

func TestRetryStopsOnCancel(t *testing.T) {
	f := newFakePBS(t, false)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.handle("GET /config/datastore", func(w http.ResponseWriter, _ *http.Request) {
		cancel() // Ctrl-C while the answer is on its way
		writeError(w, 503, "Service Unavailable")
	})
	c := newTestClient(t, f, func(cfg *Config) {
		cfg.Retry = RetryPolicy{InitialBackoff: time.Hour, MaxBackoff: time.Hour}
	})
	done := make(chan error, 1)
	go func() { done <- c.Get(ctx, "/config/datastore", nil, nil) }()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
		if n := f.count("GET /config/datastore"); n != 1 {
			t.Errorf("sent %d times, want 1", n)
		}
	case <-time.After(20 * time.Second): // a hang detector, not a timing assertion
		t.Fatal("the retry backoff ignored the cancelled context")
	}
}

// TestTimeoutPerAttempt: an attempt that gets no answer within Timeout is
// abandoned, and a GET is sent again.
func TestTimeoutPerAttempt(t *testing.T) {
	f := newFakePBS(t, false)
	f.handle("GET /config/datastore", failFirst(1, func(_ http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // hang until the client gives up
	}, data([]any{})))
	c := newTestClient(t, f, func(cfg *Config) { cfg.Timeout = 200 * time.Millisecond })
	if err := c.Get(context.Background(), "/config/datastore", nil, nil); err != nil {
		t.Fatal(err)
	}
	if n := f.count("GET /config/datastore"); n != 2 {
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
	f := newFakePBS(t, false)
	// /redaction is not a PBS path, so the schema does not restrict its
	// parameters.
	f.handle("POST /redaction", data(nil))
	f.handle("POST /access/users", data(nil))
	f.handle("GET /redaction", data([]map[string]any{{"name": "store1", "path": "/mnt/store1"}}))

	var buf bytes.Buffer
	ctx := tflogtest.RootLogger(context.Background(), &buf)

	const userPassword = "N3w-User-Passw0rd"
	const s3Secret = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"
	const encKey = "ZW5jcnlwdGlvbi1rZXktbWF0ZXJpYWw"
	c, err := New(ctx, Config{Endpoint: f.srv.URL, Insecure: f.srv.TLS == nil, Username: testUser, Password: testPassword, Retry: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Get(ctx, "/redaction", url.Values{"ticket": {testTicket}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Post(ctx, "/access/users", url.Values{"userid": {"alice@pbs"}, "password": {userPassword}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Post(ctx, "/redaction", url.Values{"id": {"s3"}, "access-key": {"AKIAEXAMPLE"}, "secret-key": {s3Secret}, "key": {encKey}}, nil); err != nil {
		t.Fatal(err)
	}
	// A known secret is masked wherever it appears, whatever the field.
	if err := c.Post(ctx, "/access/users", url.Values{"userid": {"bob@pbs"}, "comment": {"was " + testPassword}}, nil); err != nil {
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
		for k, v := range e {
			if s, ok := v.(string); ok {
				out += "\n" + k + "=" + s
			}
		}
	}
	for _, secret := range []string{testPassword, testTicket, testCSRF, testTokenSecret, userPassword, s3Secret, encKey, "AKIAEXAMPLE", "PBSAuthCookie=PBS"} {
		if strings.Contains(out, secret) {
			t.Errorf("log contains secret %q", secret)
		}
	}
	for _, want := range []string{
		`"http_path":"/access/ticket"`, `"http_status":200`, `"http_method":"POST"`,
		"password=***", `"ticket":"***"`, `"CSRFPreventionToken":"***"`, "PBSAuthCookie=***", "Csrfpreventiontoken: ***",
		"PBSAPIToken=" + testTokenID + ":***", "userid=alice%40pbs", "ticket=***", "secret-key=***", "key=***",
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
