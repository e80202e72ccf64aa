package pbs

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/apiclient"
)

func TestConfigValidate(t *testing.T) {
	const fp = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89"
	ok := Config{Endpoint: "https://pbs1.example.com:8007", APIToken: testToken}
	tests := []struct {
		name string
		mod  func(*Config)
		want string // a fragment of the error; "" for valid
	}{
		{"token", func(*Config) {}, ""},
		{"token of a realm user", func(c *Config) { c.APIToken = "backup@pbs!tf-1.x:" + testTokenSecret }, ""},
		{"password", func(c *Config) { c.APIToken, c.Username, c.Password = "", "root@pam", "x" }, ""},
		{"trailing slash", func(c *Config) { c.Endpoint = "https://pbs1:8007/" }, ""},
		{"api path", func(c *Config) { c.Endpoint = "https://pbs1:8007/api2/json/" }, ""},
		{"api path without slash", func(c *Config) { c.Endpoint = "https://pbs1:8007/api2/json" }, ""},
		{"no port", func(c *Config) { c.Endpoint = "https://backup.example.com" }, ""},
		{"fingerprint lower, no colons", func(c *Config) { c.TLSFingerprint = strings.ToLower(strings.ReplaceAll(fp, ":", "")) }, ""},
		{"fingerprint with colons", func(c *Config) { c.TLSFingerprint = fp }, ""},
		{"empty endpoint", func(c *Config) { c.Endpoint = "" }, `invalid endpoint URL "": expected an absolute http or https URL such as https://pbs.example.com:8007`},
		{"no scheme", func(c *Config) { c.Endpoint = "pbs1:8007" }, `invalid endpoint URL "pbs1:8007"`},
		{"no host", func(c *Config) { c.Endpoint = "https:///api2/json" }, "missing host"},
		{"other path", func(c *Config) { c.Endpoint = "https://pbs1:8007/pbs" }, `unexpected path "/pbs"`},
		{"query", func(c *Config) { c.Endpoint = "https://pbs1:8007/?x=1" }, "must not contain a query"},
		{"credentials in URL", func(c *Config) { c.Endpoint = "https://root:pw@pbs1:8007" }, "must not contain credentials"},
		{"both auth methods", func(c *Config) { c.Username, c.Password = "root@pam", "x" }, "api_token conflicts with username and password"},
		{"no auth", func(c *Config) { c.APIToken = "" }, "no credentials: set api_token, or username and password"},
		{"username only", func(c *Config) { c.APIToken, c.Username = "", "root@pam" }, "password must be set with username"},
		{"password only", func(c *Config) { c.APIToken, c.Password = "", "x" }, "username must be set with password"},
		{"username without realm", func(c *Config) { c.APIToken, c.Username, c.Password = "", "root", "x" }, `invalid username "root": expected user@realm`},
		{"token in PVE's form", func(c *Config) { c.APIToken = testTokenID + "=" + testTokenSecret },
			"invalid api_token: expected the form user@realm!tokenid:secret (PBS separates the secret with ':', not '=' as PVE does)"},
		{"token without secret", func(c *Config) { c.APIToken = testTokenID }, "invalid api_token: expected the form user@realm!tokenid:secret"},
		{"token without realm", func(c *Config) { c.APIToken = "root!terraform:abc" }, "invalid api_token"},
		{"token without token name", func(c *Config) { c.APIToken = "root@pam:abc" }, "invalid api_token"},
		{"short fingerprint", func(c *Config) { c.TLSFingerprint = "AB:CD" }, `invalid tls_fingerprint "AB:CD": expected a SHA-256 fingerprint of 64 hex digits`},
		{"non-hex fingerprint", func(c *Config) { c.TLSFingerprint = strings.Repeat("zz", 32) }, "invalid tls_fingerprint"},
		{"CA not PEM", func(c *Config) { c.CACertificate = "not a certificate" }, "invalid ca_certificate: no PEM"},
		{"negative timeout", func(c *Config) { c.Timeout = -time.Second }, "invalid timeout"},
		{"backoffs inverted", func(c *Config) { c.Retry = RetryPolicy{InitialBackoff: time.Second, MaxBackoff: time.Millisecond} },
			"initial backoff 1s exceeds maximum backoff 1ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.mod(&cfg)
			err := cfg.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.want != "" && err == nil:
				t.Errorf("Validate() = nil, want %q", tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Errorf("Validate() = %q, want it to contain %q", err, tt.want)
			}
			if err != nil && (strings.Contains(err.Error(), testTokenSecret) || strings.Contains(err.Error(), "abc")) {
				t.Errorf("the error reveals the token secret: %v", err)
			}
			if err != nil && err.Error() != strings.ToLower(err.Error()[:1])+err.Error()[1:] {
				t.Errorf("the error does not start in lower case: %v", err)
			}
		})
	}
}

func TestValidateReportsAllProblems(t *testing.T) {
	err := Config{Endpoint: "pbs1", TLSFingerprint: "x"}.Validate()
	for _, want := range []string{"endpoint", "no credentials", "tls_fingerprint"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to mention %s", err, want)
		}
	}
}

// TestTokenHeader checks the exact header PBS expects: "PBSAPIToken=",
// then the token ID, ':' and the secret.
func TestTokenHeader(t *testing.T) {
	f := newFakePBS(t, false)
	var got []string
	f.handle("GET /nodes", func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get("Authorization"), r.Header.Get("Cookie"), r.Header.Get(csrfHeader))
		writeData(w, []any{})
	})
	c := newTestClient(t, f, nil)
	if err := c.Get(context.Background(), "/nodes", nil, nil); err != nil {
		t.Fatal(err)
	}
	want := []string{"PBSAPIToken=root@pam!terraform:" + testTokenSecret, "", ""}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("headers = %q, want %q", got, want)
	}
	// New checks the token at once, with GET /version.
	if n := f.count("GET /version"); n != 1 {
		t.Errorf("GET /version sent %d times during New, want 1", n)
	}
}

func TestNewAuthentication(t *testing.T) {
	f := newFakePBS(t, false)
	var mu sync.Mutex
	var seen []string
	record := func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" cookie="+r.Header.Get("Cookie")+" csrf="+r.Header.Get(csrfHeader))
		mu.Unlock()
		writeData(w, nil)
	}
	f.handle("GET /config/datastore", record)
	f.handle("PUT /config/datastore/store1", record)
	ctx := context.Background()

	t.Run("password logs in at once", func(t *testing.T) {
		c, err := New(ctx, Config{Endpoint: f.srv.URL, Insecure: f.srv.TLS == nil, Username: testUser, Password: testPassword, Retry: fastRetry})
		if err != nil {
			t.Fatal(err)
		}
		if n := f.count("POST /access/ticket"); n != 1 {
			t.Fatalf("POST /access/ticket sent %d times during New, want 1", n)
		}
		// The ticket goes with every request, the CSRF token with them too
		// (PBS checks it on all but GET).
		if err := c.Get(ctx, "/config/datastore", nil, nil); err != nil {
			t.Error(err)
		}
		if err := c.Put(ctx, "/config/datastore/store1", url.Values{"comment": {"x"}}, nil); err != nil {
			t.Error(err)
		}
		want := []string{
			"GET cookie=PBSAuthCookie=" + testTicket + " csrf=" + testCSRF,
			"PUT cookie=PBSAuthCookie=" + testTicket + " csrf=" + testCSRF,
		}
		if strings.Join(seen, "\n") != strings.Join(want, "\n") {
			t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
		}
	})

	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"wrong password", Config{Username: testUser, Password: "wrong"},
			"authentication failed for user root@pam: POST /access/ticket: 401 permission check failed."},
		{"unknown user", Config{Username: "bob@pbs", Password: testPassword},
			"authentication failed for user bob@pbs: POST /access/ticket: 401 permission check failed."},
		{"bad token", Config{APIToken: testTokenID + ":00000000-0000-0000-0000-000000000000"},
			"authentication failed for API token root@pam!terraform: GET /version: 401 authentication failed - invalid credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Endpoint, tt.cfg.Retry, tt.cfg.Insecure = f.srv.URL, fastRetry, true
			_, err := New(ctx, tt.cfg)
			if !errors.Is(err, ErrAuthentication) || errors.Is(err, ErrPermission) {
				t.Fatalf("err = %v, want ErrAuthentication and not ErrPermission", err)
			}
			if err.Error() != tt.want {
				t.Errorf("err = %q, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "00000000-0000") {
				t.Errorf("the error reveals the token secret: %v", err)
			}
		})
	}
}

// TestCSRFRequired shows the fake enforces what PBS enforces: a write with
// the ticket but without the CSRF token is refused.
func TestCSRFRequired(t *testing.T) {
	f := newFakePBS(t, false)
	f.handle("PUT /config/datastore/store1", data(nil))
	req, _ := http.NewRequest(http.MethodPut, f.srv.URL+apiRoot+"/config/datastore/store1", nil)
	req.Header.Set("Cookie", authCookie+"="+testTicket)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("status %d, want 401", res.StatusCode)
	}
}

func TestNewTwoFactorUser(t *testing.T) {
	f := newFakePBS(t, false)
	f.handle("POST /access/ticket", data(map[string]any{
		"username": testUser, "CSRFPreventionToken": "invalid",
		"ticket": `PBS:!tfa!{"challenge":"x","totp":true}:6745A3F1::cGFydGlhbA`,
	}))
	_, err := New(context.Background(), Config{Endpoint: f.srv.URL, Insecure: f.srv.TLS == nil, Username: testUser, Password: testPassword, Retry: fastRetry})
	want := "authentication failed for user root@pam: the user has two-factor authentication, which this client does not answer: use an API token"
	if !errors.Is(err, ErrAuthentication) || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
}

func TestNewUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	endpoint := "https://" + l.Addr().String()
	_ = l.Close()

	for _, cfg := range []Config{
		{Endpoint: endpoint, APIToken: testToken, Retry: fastRetry},
		{Endpoint: endpoint, Username: testUser, Password: testPassword, Retry: fastRetry},
	} {
		_, err := New(context.Background(), cfg)
		want := "cannot reach PBS at " + endpoint + ": dial tcp " + l.Addr().String() + ": connect: connection refused"
		if err == nil || err.Error() != want {
			t.Errorf("err = %v, want %q", err, want)
		}
		if !errors.Is(err, ErrTransient) || !errors.Is(err, ErrUnreachable) || errors.Is(err, ErrAuthentication) {
			t.Errorf("err = %v: want ErrTransient and ErrUnreachable, not ErrAuthentication", err)
		}
	}
}

func TestTicketRenewal(t *testing.T) {
	f := newFakePBS(t, false)
	f.handle("GET /config/datastore", data([]any{}))
	c, err := New(context.Background(), Config{Endpoint: f.srv.URL, Insecure: f.srv.TLS == nil, Username: testUser, Password: testPassword, Retry: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	auth := c.http.Transport.(*apiclient.Transport).Auth.(*ticketAuth)
	now := time.Now()
	auth.now = func() time.Time { return now }

	// PBS issues a new ticket for a valid one; from then on only it works.
	const renewed = "PBS:root@pam:6745B201::cmVuZXdlZC10aWNrZXQtc2lnbmF0dXJl"
	f.handle("POST /access/ticket", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		if r.PostForm.Get("username") != testUser || r.PostForm.Get("password") != testTicket {
			writeError(w, http.StatusUnauthorized, "permission check failed.")
			return
		}
		f.mu.Lock()
		f.ticket = renewed
		f.mu.Unlock()
		writeData(w, map[string]any{"username": testUser, "ticket": renewed, "CSRFPreventionToken": testCSRF})
	})

	if err := c.Get(context.Background(), "/config/datastore", nil, nil); err != nil {
		t.Fatal(err)
	}
	if n := f.count("POST /access/ticket"); n != 1 {
		t.Fatalf("logins before expiry: %d, want 1", n)
	}
	now = now.Add(ticketLifetime)
	if err := c.Get(context.Background(), "/config/datastore", nil, nil); err != nil {
		t.Fatal(err)
	}
	if n := f.count("POST /access/ticket"); n != 2 {
		t.Errorf("logins after expiry: %d, want 2", n)
	}
	if got := auth.current.Load().ticket; got != renewed {
		t.Errorf("ticket = %q, want the renewed one", got)
	}

	// A failed renewal keeps the old ticket and tries again a minute later.
	f.handle("POST /access/ticket", status(http.StatusServiceUnavailable, "Service Unavailable"))
	now = now.Add(ticketLifetime)
	if err := c.Get(context.Background(), "/config/datastore", nil, nil); err != nil {
		t.Fatal(err)
	}
	if got := auth.current.Load(); got.ticket != renewed || !got.renewAt.Equal(now.Add(time.Minute)) {
		t.Errorf("after a failed renewal: %+v", got)
	}
	if err := c.Relogin(context.Background()); err == nil {
		t.Error("Relogin succeeded against a failing login")
	}
}

func TestRawHelpers(t *testing.T) {
	f := newFakePBS(t, false)
	var got []string
	record := func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		got = append(got, r.Method+" "+r.URL.RawQuery+" "+r.Header.Get("Content-Type")+" "+r.PostForm.Encode())
		writeData(w, map[string]any{"n": 1}, "digest", "abc")
	}
	digest := strings.Repeat("0f", 32)
	f.handle("GET /nodes/pbs1/tasks", record)
	f.handle("POST /config/prune", record)
	f.handle("PUT /config/prune/job1", record)
	f.handle("DELETE /config/prune/job1", record)
	// The endpoint may carry a trailing /api2/json.
	c := newTestClient(t, f, func(cfg *Config) { cfg.Endpoint = f.srv.URL + "/api2/json/" })
	if c.Endpoint() != f.srv.URL {
		t.Errorf("Endpoint() = %q, want %q", c.Endpoint(), f.srv.URL)
	}
	ctx := context.Background()
	var out struct {
		N int `json:"n"`
	}
	for _, err := range []error{
		c.Get(ctx, "/nodes/pbs1/tasks", url.Values{"limit": {"5"}}, &out),
		c.Post(ctx, "/config/prune", url.Values{"id": {"job1"}, "store": {"store1"}, "schedule": {"daily"}}, &out),
		c.Put(ctx, "/config/prune/job1", url.Values{"delete": {"comment", "keep-last"}}, nil),
		c.Delete(ctx, "/config/prune/job1", url.Values{"digest": {digest}}, nil),
	} {
		if err != nil {
			t.Error(err)
		}
	}
	want := []string{
		"GET limit=5  ",
		"POST  application/x-www-form-urlencoded id=job1&schedule=daily&store=store1",
		"PUT  application/x-www-form-urlencoded delete=comment&delete=keep-last",
		"DELETE digest=" + digest + "  ",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if out.N != 1 {
		t.Errorf("out = %+v", out)
	}
	if err := c.Get(ctx, "config/prune", nil, nil); err == nil || !strings.Contains(err.Error(), "path must start with /") {
		t.Errorf("relative path: %v", err)
	}
	v, err := c.Version(ctx)
	if err != nil || v.Version != "4.0.14" || v.Release != "4.0" {
		t.Errorf("Version() = %+v, %v", v, err)
	}
}

// http:// sends credentials in the clear: only with insecure; insecure with
// a CA to trust is a contradiction; endpoint errors never echo credentials.
func TestTransportSecurityChecks(t *testing.T) {
	if err := (Config{Endpoint: "http://pbs1:8007", APIToken: testToken}).Validate(); err == nil || !strings.Contains(err.Error(), "insecure") {
		t.Errorf("http without insecure: %v, want an error naming insecure", err)
	}
	if err := (Config{Endpoint: "http://pbs1:8007", APIToken: testToken, Insecure: true}).Validate(); err != nil {
		t.Errorf("http with insecure: %v", err)
	}
	if err := (Config{Endpoint: "https://pbs1:8007", APIToken: testToken, Insecure: true, CACertificate: "x"}).Validate(); err == nil ||
		!strings.Contains(err.Error(), "ca_certificate") {
		t.Errorf("insecure with a CA: %v, want an error", err)
	}
	if err := (Config{Endpoint: "https://u:s3cret@pbs1:8007", APIToken: testToken}).Validate(); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("credentials in the endpoint: %v, want an error without them", err)
	}
}
