package pve

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/apiclient"
)

func TestConfigValidate(t *testing.T) {
	const fp = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89"
	ok := Config{Endpoint: "https://pve1.example.com:8006", APIToken: testToken}
	tests := []struct {
		name string
		mod  func(*Config)
		want string // a fragment of the error; "" for valid
	}{
		{"token", func(*Config) {}, ""},
		{"password", func(c *Config) { c.APIToken, c.Username, c.Password = "", "root@pam", "x" }, ""},
		{"password with otp", func(c *Config) { c.APIToken, c.Username, c.Password, c.OTP = "", "root@pam", "x", "123456" }, ""},
		{"trailing slash", func(c *Config) { c.Endpoint = "https://pve1:8006/" }, ""},
		{"api path", func(c *Config) { c.Endpoint = "https://pve1:8006/api2/json/" }, ""},
		{"http with insecure", func(c *Config) { c.Endpoint, c.Insecure = "http://10.0.0.1:8006", true }, ""},
		{"http without insecure", func(c *Config) { c.Endpoint = "http://10.0.0.1:8006" }, "is plain http, which sends the credentials unencrypted"},
		{"insecure with a CA", func(c *Config) { c.Insecure, c.CACertificate = true, "x" }, "ca_certificate would not be used"},
		{"fingerprint lower, no colons", func(c *Config) { c.TLSFingerprint = strings.ToLower(strings.ReplaceAll(fp, ":", "")) }, ""},
		{"fingerprint with colons", func(c *Config) { c.TLSFingerprint = fp }, ""},
		{"empty endpoint", func(c *Config) { c.Endpoint = "" }, `invalid endpoint URL "": expected an absolute http or https URL`},
		{"no scheme", func(c *Config) { c.Endpoint = "pve1:8006" }, `invalid endpoint URL "pve1:8006": expected an absolute http or https URL`},
		{"ftp", func(c *Config) { c.Endpoint = "ftp://pve1" }, `invalid endpoint URL "ftp://pve1"`},
		{"no host", func(c *Config) { c.Endpoint = "https:///api2/json" }, "missing host"},
		{"unparsable", func(c *Config) { c.Endpoint = "https://pve1:80 06" }, `invalid endpoint URL "https://pve1:80 06": invalid port`},
		{"other path", func(c *Config) { c.Endpoint = "https://pve1:8006/pve" }, `unexpected path "/pve"`},
		{"query", func(c *Config) { c.Endpoint = "https://pve1:8006/?x=1" }, "must not contain a query"},
		{"credentials in URL", func(c *Config) { c.Endpoint = "https://root:pw@pve1:8006" }, "must not contain credentials"},
		{"both auth methods", func(c *Config) { c.Username, c.Password = "root@pam", "x" }, "api_token conflicts with username and password"},
		{"no auth", func(c *Config) { c.APIToken = "" }, "no credentials: set api_token, or username and password"},
		{"username only", func(c *Config) { c.APIToken, c.Username = "", "root@pam" }, "password must be set with username"},
		{"password only", func(c *Config) { c.APIToken, c.Password = "", "x" }, "username must be set with password"},
		{"username without realm", func(c *Config) { c.APIToken, c.Username, c.Password = "", "root", "x" }, `invalid username "root": expected user@realm`},
		{"token without secret", func(c *Config) { c.APIToken = "root@pam!terraform" }, "invalid api_token: expected the form user@realm!tokenid=secret"},
		{"token without realm", func(c *Config) { c.APIToken = "root!terraform=abc" }, "invalid api_token"},
		{"token without id", func(c *Config) { c.APIToken = "root@pam=abc" }, "invalid api_token"},
		{"otp with token", func(c *Config) { c.OTP = "123456" }, "otp applies only to username and password"},
		{"short fingerprint", func(c *Config) { c.TLSFingerprint = "AB:CD" }, `invalid tls_fingerprint "AB:CD": expected a SHA-256 fingerprint of 64 hex digits`},
		{"non-hex fingerprint", func(c *Config) { c.TLSFingerprint = strings.Repeat("zz", 32) }, "invalid tls_fingerprint"},
		{"CA not PEM", func(c *Config) { c.CACertificate = "not a certificate" }, "invalid ca_certificate: no PEM"},
		{"CA bad DER", func(c *Config) {
			c.CACertificate = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
		}, "invalid ca_certificate: certificate 1:"},
		{"negative timeout", func(c *Config) { c.Timeout = -time.Second }, "invalid timeout"},
		{"backoffs inverted", func(c *Config) { c.Retry = RetryPolicy{InitialBackoff: time.Second, MaxBackoff: time.Millisecond} }, "initial backoff 1s exceeds maximum backoff 1ms"},
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
			if err != nil && strings.Contains(err.Error(), "abc") {
				t.Errorf("the error reveals the token secret: %v", err)
			}
		})
	}
}

func TestValidateReportsAllProblems(t *testing.T) {
	err := Config{Endpoint: "pve1", TLSFingerprint: "x"}.Validate()
	for _, want := range []string{"endpoint", "no credentials", "tls_fingerprint"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to mention %s", err, want)
		}
	}
}

func TestNewAuthentication(t *testing.T) {
	f := newFakePVE(t, false)
	f.handle("GET /nodes", data([]any{}))
	f.handle("POST /nodes/pve1/qemu", data("UPID:pve1:000A1B2C:0012D687:6745A3F1:qmcreate:100:root@pam:"))
	ctx := context.Background()

	t.Run("password logs in at once", func(t *testing.T) {
		c, err := New(ctx, Config{Endpoint: f.srv.URL, Insecure: f.srv.TLS == nil, Username: testUser, Password: testPassword, Retry: fastRetry})
		if err != nil {
			t.Fatal(err)
		}
		if n := f.count("POST /access/ticket"); n != 1 {
			t.Fatalf("POST /access/ticket sent %d times during New, want 1", n)
		}
		// The ticket and CSRF token go with GETs and writes, raw and typed.
		if err := c.Get(ctx, "/nodes", nil, nil); err != nil {
			t.Error(err)
		}
		if _, err := c.API().Nodes(ctx); err != nil {
			t.Error(err)
		}
		if err := c.Post(ctx, "/nodes/pve1/qemu", url.Values{"vmid": {"100"}}, nil); err != nil {
			t.Error(err)
		}
	})

	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"wrong password", Config{Username: testUser, Password: "wrong"},
			"authentication failed for user root@pam: POST /access/ticket: 401 authentication failure"},
		{"unknown user", Config{Username: "bob@pve", Password: testPassword},
			"authentication failed for user bob@pve: POST /access/ticket: 401 authentication failure"},
		{"bad token", Config{APIToken: testTokenID + "=00000000-0000-0000-0000-000000000000"},
			"authentication failed for API token root@pam!terraform: GET /version: 401 invalid token value!"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Endpoint, tt.cfg.Retry, tt.cfg.Insecure = f.srv.URL, fastRetry, true
			_, err := New(ctx, tt.cfg)
			if !errors.Is(err, ErrAuthentication) {
				t.Fatalf("err = %v, want ErrAuthentication", err)
			}
			if err.Error() != tt.want {
				t.Errorf("err = %q, want %q", err, tt.want)
			}
		})
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
		want := "cannot reach PVE at " + endpoint + ": dial tcp " + l.Addr().String() + ": connect: connection refused"
		if err == nil || err.Error() != want {
			t.Errorf("err = %v, want %q", err, want)
		}
		if !errors.Is(err, ErrTransient) || errors.Is(err, ErrAuthentication) {
			t.Errorf("err = %v: want ErrTransient and not ErrAuthentication", err)
		}
	}
}

func TestNewTwoFactor(t *testing.T) {
	const partial = "PVE:!tfa!%7B%22totp%22%3Atrue%7D:6745A3F1::cGFydGlhbA=="
	f := newFakePVE(t, false)
	var forms []url.Values
	f.handle("POST /access/ticket", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		forms = append(forms, r.PostForm)
		switch {
		case r.PostForm.Get("tfa-challenge") == partial && r.PostForm.Get("password") == "totp:123456":
			writeData(w, map[string]any{"username": testUser, "ticket": testTicket, "CSRFPreventionToken": testCSRF})
		case r.PostForm.Get("password") == testPassword && r.PostForm.Get("tfa-challenge") == "":
			writeData(w, map[string]any{"username": testUser, "ticket": partial, "CSRFPreventionToken": "x", "NeedTFA": 1})
		default:
			writeError(w, http.StatusUnauthorized, "authentication failure", nil)
		}
	})
	cfg := Config{Endpoint: f.srv.URL, Insecure: f.srv.TLS == nil, Username: testUser, Password: testPassword, OTP: "123456", Retry: fastRetry}
	c, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(forms) != 2 || forms[1].Get("username") != testUser {
		t.Errorf("logins = %v", forms)
	}
	if _, err := c.Version(context.Background()); err != nil {
		t.Error(err)
	}

	cfg.OTP = ""
	_, err = New(context.Background(), cfg)
	if !errors.Is(err, ErrAuthentication) || err.Error() != "authentication failed for user root@pam: two-factor authentication is required: set otp" {
		t.Errorf("without otp: %v", err)
	}
	cfg.OTP = "654321"
	if _, err = New(context.Background(), cfg); !errors.Is(err, ErrAuthentication) {
		t.Errorf("wrong otp: %v", err)
	}
}

func TestTicketRenewal(t *testing.T) {
	f := newFakePVE(t, false)
	f.handle("GET /nodes", data([]any{}))
	c, err := New(context.Background(), Config{Endpoint: f.srv.URL, Insecure: f.srv.TLS == nil, Username: testUser, Password: testPassword, Retry: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	auth := c.http.Transport.(*apiclient.Transport).Auth.(*ticketAuth)
	now := time.Now()
	auth.now = func() time.Time { return now }

	// PVE issues a new ticket for the old one; from then on only it works.
	const renewed = "PVE:root@pam:6745B201::cmVuZXdlZC10aWNrZXQtc2lnbmF0dXJl"
	f.handle("POST /access/ticket", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		if r.PostForm.Get("password") != testTicket {
			writeError(w, http.StatusUnauthorized, "authentication failure", nil)
			return
		}
		f.mu.Lock()
		f.ticket = renewed
		f.mu.Unlock()
		writeData(w, map[string]any{"username": testUser, "ticket": renewed, "CSRFPreventionToken": testCSRF})
	})

	if err := c.Get(context.Background(), "/nodes", nil, nil); err != nil {
		t.Fatal(err)
	}
	if n := f.count("POST /access/ticket"); n != 1 {
		t.Fatalf("logins before expiry: %d, want 1", n)
	}
	now = now.Add(ticketLifetime)
	if err := c.Get(context.Background(), "/nodes", nil, nil); err != nil {
		t.Fatal(err)
	}
	if n := f.count("POST /access/ticket"); n != 2 {
		t.Errorf("logins after expiry: %d, want 2", n)
	}
	if got := auth.current.Load().ticket; got != renewed {
		t.Errorf("ticket = %q, want the renewed one", got)
	}
}

func TestRawHelpers(t *testing.T) {
	f := newFakePVE(t, false)
	var got []string
	record := func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, r.ContentLength)
		_, _ = r.Body.Read(b)
		got = append(got, r.Method+" "+r.URL.RawQuery+" "+r.Header.Get("Content-Type")+" "+string(b))
		writeData(w, map[string]any{"digest": "abc", "n": 1})
	}
	f.handle("GET /nodes/pve1/network", record)
	f.handle("POST /nodes/pve1/network", record)
	f.handle("PUT /nodes/pve1/network", record)
	f.handle("DELETE /nodes/pve1/network/vmbr1", record)
	// The endpoint may carry a trailing /api2/json.
	c := newTestClient(t, f, func(cfg *Config) { cfg.Endpoint = f.srv.URL + "/api2/json/" })
	if c.Endpoint() != f.srv.URL {
		t.Errorf("Endpoint() = %q, want %q", c.Endpoint(), f.srv.URL)
	}
	ctx := context.Background()
	var out struct {
		Digest string `json:"digest"`
		N      int    `json:"n"`
	}
	p := url.Values{"type": {"bridge"}, "iface": {"vmbr1"}}
	for _, err := range []error{
		c.Get(ctx, "/nodes/pve1/network", url.Values{"type": {"bridge"}}, &out),
		c.Post(ctx, "/nodes/pve1/network", p, &out),
		c.Put(ctx, "/nodes/pve1/network", nil, nil),
		c.Delete(ctx, "/nodes/pve1/network/vmbr1", url.Values{"force": {"1"}}, nil),
	} {
		if err != nil {
			t.Error(err)
		}
	}
	want := []string{
		"GET type=bridge  ",
		"POST  application/x-www-form-urlencoded iface=vmbr1&type=bridge",
		"PUT   ",
		"DELETE force=1  ",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if out.Digest != "abc" || out.N != 1 {
		t.Errorf("out = %+v", out)
	}
	if err := c.Get(ctx, "nodes", nil, nil); err == nil || !strings.Contains(err.Error(), "path must start with /") {
		t.Errorf("relative path: %v", err)
	}
}
