// Package pve is the provider's client for the Proxmox VE API.
//
// It wraps github.com/luthermonson/go-proxmox and owns what that library
// leaves to its callers: every non-2xx answer becomes an *APIError that
// matches the sentinels ErrNotFound, ErrLocked, ErrPermission, ErrTransient
// and ErrAuthentication; idempotent requests are retried on transient
// failures, and any request after a lock timeout (which proves nothing was
// done); authentication happens eagerly in New; tasks (UPIDs) are awaited
// with WaitTask; and all traffic is logged through tflog with secrets
// masked. The same behaviour applies to go-proxmox's typed calls (API) and to
// the raw helpers (Get, Post, Put, Delete), because both go through one
// http.RoundTripper.
//
// Errors returned by go-proxmox's typed calls are wrapped by net/http in a
// *url.Error; errors.Is and errors.As see through it.
package pve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/terraform-plugin-log/tflog"
	proxmox "github.com/luthermonson/go-proxmox"

	"github.com/hcilab/terraform-provider-pve/internal/apiclient"
)

// Defaults for the zero values of Config and RetryPolicy.
const (
	defaultTimeout        = 30 * time.Second
	defaultUserAgent      = "terraform-provider-pve"
	defaultMaxAttempts    = 4
	defaultInitialBackoff = 200 * time.Millisecond
	defaultMaxBackoff     = 3 * time.Second
)

// apiRoot is the path of the JSON API below the endpoint.
const apiRoot = "/api2/json"

// ticketLifetime is how long a PVE ticket is used before it is renewed; PVE
// accepts a ticket for two hours.
const ticketLifetime = time.Hour

// Config holds the connection settings of a Client.
type Config struct {
	// Endpoint is the server's address, e.g. https://pve1:8006, with or
	// without a trailing "/" or "/api2/json".
	Endpoint string
	// APIToken is "user@realm!tokenid=secret". It excludes Username and
	// Password.
	APIToken string
	// Username ("root@pam") and Password log in for a ticket. OTP is the
	// second factor, if the user has one: a TOTP code, or "type:response"
	// (e.g. "recovery:..." or "yubico:...").
	Username, Password, OTP string
	// Insecure skips verification of the server's certificate.
	Insecure bool
	// CACertificate is a PEM bundle of CAs trusted besides the system's.
	CACertificate string
	// TLSFingerprint is the SHA-256 fingerprint of the server's certificate
	// (hex, any case, colons optional). When set it pins the certificate and
	// replaces CA and host name verification; Insecure is then ignored.
	TLSFingerprint string
	// Timeout bounds each HTTP request (each attempt). Default 30 s.
	Timeout time.Duration
	// UserAgent is sent with every request. Default "terraform-provider-pve".
	UserAgent string
	// Retry governs retries of transient failures. The zero value means the
	// defaults.
	Retry RetryPolicy
	// NetworkRun is the run whose network edits this client stages
	// (netreload.go); nil means the process's default run.
	NetworkRun *NetworkRun
}

// RetryPolicy governs retries of transient failures. Zero fields take the
// defaults: 4 attempts, backoff from 200 ms doubling up to 3 s.
// MaxAttempts 1 disables retries.
type RetryPolicy struct {
	MaxAttempts    int
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts == 0 {
		p.MaxAttempts = defaultMaxAttempts
	}
	if p.InitialBackoff == 0 {
		p.InitialBackoff = defaultInitialBackoff
	}
	if p.MaxBackoff == 0 {
		p.MaxBackoff = max(defaultMaxBackoff, p.InitialBackoff)
	}
	return p
}

var tokenPattern = regexp.MustCompile(`^[^\s@!=]+@[^\s@!=]+![^\s@!=]+=\S+$`)

// Validate checks the settings without contacting the server. Its messages
// name the settings as the provider calls them.
func (c Config) Validate() error {
	var errs []error
	if _, err := normalizeEndpoint(c.Endpoint); err != nil {
		errs = append(errs, err)
	}

	hasToken := c.APIToken != ""
	hasLogin := c.Username != "" || c.Password != ""
	switch {
	case hasToken && hasLogin:
		errs = append(errs, errors.New("api_token conflicts with username and password: set only one way to authenticate"))
	case hasToken:
		if err := CheckAPIToken(c.APIToken); err != nil {
			errs = append(errs, err)
		}
	case !hasLogin:
		errs = append(errs, errors.New("no credentials: set api_token, or username and password"))
	case c.Username == "":
		errs = append(errs, errors.New("username must be set with password"))
	case c.Password == "":
		errs = append(errs, errors.New("password must be set with username"))
	case !strings.Contains(c.Username, "@"):
		errs = append(errs, fmt.Errorf("invalid username %q: expected user@realm, e.g. root@pam", c.Username))
	}
	if err := apiclient.CheckTransportSecurity(c.Endpoint, c.Insecure, c.CACertificate); err != nil {
		errs = append(errs, err)
	}
	if c.OTP != "" && hasToken {
		errs = append(errs, errors.New("otp applies only to username and password"))
	}

	if c.TLSFingerprint != "" {
		if _, err := apiclient.ParseFingerprint(c.TLSFingerprint); err != nil {
			errs = append(errs, err)
		}
	}
	if c.CACertificate != "" {
		if _, err := apiclient.ParseCertificates(c.CACertificate); err != nil {
			errs = append(errs, err)
		}
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("invalid timeout %s: must not be negative", c.Timeout))
	}
	r := c.Retry
	if r.MaxAttempts < 0 || r.InitialBackoff < 0 || r.MaxBackoff < 0 {
		errs = append(errs, errors.New("invalid retry policy: values must not be negative"))
	} else if r.InitialBackoff > 0 && r.MaxBackoff > 0 && r.InitialBackoff > r.MaxBackoff {
		errs = append(errs, fmt.Errorf("invalid retry policy: initial backoff %s exceeds maximum backoff %s", r.InitialBackoff, r.MaxBackoff))
	}
	return errors.Join(errs...)
}

// normalizeEndpoint checks an endpoint and returns it as scheme://host[:port].
func normalizeEndpoint(raw string) (string, error) {
	return apiclient.NormalizeEndpoint(raw, apiRoot, "https://pve.example.com:8006")
}

// Client is a connection to one PVE API endpoint. It is safe for concurrent
// use.
type Client struct {
	api      *proxmox.Client
	http     *http.Client
	endpoint string // scheme://host:port
	run      *NetworkRun
	baseURL  string // endpoint + apiRoot

	versionMu sync.Mutex
	version   *Version // the server's, once read (cachedVersion)

	lists *sharedLists // lists shared by the reads of this run (guest_lists.go)
}

// idleConnTimeout drops idle connections before pveproxy closes them (5 s).
const idleConnTimeout = 3 * time.Second

// New validates cfg, builds the client and authenticates at once: with a
// token it reads /version, with a username it logs in for a ticket. Failures
// say what went wrong in provider terms: rejected credentials (matching
// ErrAuthentication), an unreachable endpoint, or an untrusted certificate.
func New(ctx context.Context, cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	endpoint, err := normalizeEndpoint(cfg.Endpoint)
	if err != nil {
		return nil, err
	}
	tc, err := apiclient.NewTLSConfig(endpoint, apiclient.TLSOptions{Insecure: cfg.Insecure, CACertificate: cfg.CACertificate, Fingerprint: cfg.TLSFingerprint})
	if err != nil {
		return nil, err
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = defaultTimeout
	}
	userAgent := cfg.UserAgent
	if userAgent == "" {
		userAgent = defaultUserAgent
	}

	base := http.DefaultTransport.(*http.Transport).Clone()
	base.TLSClientConfig = tc
	base.DialContext = (&net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}).DialContext
	base.TLSHandshakeTimeout = timeout
	base.ResponseHeaderTimeout = timeout
	// pveproxy closes a connection that is idle for 5 s: one kept longer
	// may be closed just as a request goes out on it, which fails a POST
	// (net/http retries only replayable requests).
	base.IdleConnTimeout = idleConnTimeout

	c := &Client{endpoint: endpoint, baseURL: endpoint + apiRoot, run: cfg.NetworkRun, lists: newSharedLists()}
	var auth apiclient.Authenticator
	if cfg.APIToken != "" {
		auth = newTokenAuth(cfg.APIToken)
	} else {
		auth = &ticketAuth{username: cfg.Username, password: cfg.Password, otp: cfg.OTP, client: c, now: time.Now}
	}
	c.http = &http.Client{Transport: newTransport(writeWatch{next: base, lists: c.lists}, endpoint, userAgent, timeout, cfg.Retry, auth)}
	// go-proxmox gets no credentials: the transport authenticates every
	// request, and go-proxmox's own logger (which prints bodies) is muted.
	c.api = proxmox.NewClient(c.baseURL, proxmox.WithHTTPClient(c.http), proxmox.WithLogger(quietLogger{}))

	switch a := auth.(type) {
	case *tokenAuth:
		if _, err := c.Version(ctx); err != nil {
			if errors.Is(err, ErrAuthentication) {
				return nil, fmt.Errorf("authentication failed for API token %s: %w", a.id, err)
			}
			return nil, err
		}
	case *ticketAuth:
		if err := a.login(ctx); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Relogin logs in again with the password the client was made with (a
// ticket that PVE no longer accepts, after the node joined a cluster and
// took its authentication key, say). A client with an API token has
// nothing to renew.
func (c *Client) Relogin(ctx context.Context) error {
	t, ok := c.http.Transport.(*apiclient.Transport)
	if !ok {
		return nil
	}
	if a, ok := t.Auth.(*ticketAuth); ok {
		return a.login(ctx)
	}
	return nil
}

// API returns the underlying go-proxmox client for typed calls. Its requests
// get the same authentication, error mapping, retries and logging as the
// raw helpers. Its TermWebSocket and VNCWebSocket are not usable: go-proxmox
// requires an *http.Transport there and would panic on this client's.
func (c *Client) API() *proxmox.Client { return c.api }

// Endpoint returns the server's address as scheme://host:port.
func (c *Client) Endpoint() string { return c.endpoint }

// Get reads path (relative to /api2/json, e.g. "/nodes") with the query
// parameters, and unmarshals the "data" member of the answer into out
// (unless out is nil).
func (c *Client) Get(ctx context.Context, path string, query url.Values, out any) error {
	return c.do(ctx, http.MethodGet, path, query, out)
}

// Post sends params form-encoded, PVE's native encoding, and unmarshals the
// "data" member of the answer into out (unless out is nil). Calls that start
// a task answer with its UPID, to be awaited with WaitTask.
func (c *Client) Post(ctx context.Context, path string, params url.Values, out any) error {
	return c.do(ctx, http.MethodPost, path, params, out)
}

// Put is Post with PUT, which PVE uses for updates.
func (c *Client) Put(ctx context.Context, path string, params url.Values, out any) error {
	return c.do(ctx, http.MethodPut, path, params, out)
}

// Delete deletes path, with parameters in the query string as PVE expects.
func (c *Client) Delete(ctx context.Context, path string, query url.Values, out any) error {
	return c.do(ctx, http.MethodDelete, path, query, out)
}

func (c *Client) do(ctx context.Context, method, path string, params url.Values, out any) error {
	if out == nil {
		return c.send(ctx, method, path, params, nil)
	}
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if err := c.send(ctx, method, path, params, &env); err != nil {
		return err
	}
	if len(env.Data) == 0 {
		return nil
	}
	if err := json.Unmarshal(env.Data, out); err != nil {
		return fmt.Errorf("%s %s: decode data: %w", method, path, err)
	}
	return nil
}

// send performs a request and decodes the whole answer, envelope and all,
// into env unless it is nil.
func (c *Client) send(ctx context.Context, method, path string, params url.Values, env any) error {
	if !strings.HasPrefix(path, "/") {
		return fmt.Errorf("%s %s: path must start with /", method, path)
	}
	target := c.baseURL + path
	var body io.Reader
	if len(params) > 0 {
		if method == http.MethodPost || method == http.MethodPut {
			body = strings.NewReader(params.Encode())
		} else {
			target += "?" + params.Encode()
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := c.http.Do(req)
	if err != nil {
		return unwrapURLError(err)
	}
	defer func() { _ = res.Body.Close() }()
	if env == nil {
		return nil
	}
	if err := json.NewDecoder(res.Body).Decode(env); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

// unwrapURLError drops the *url.Error that net/http wraps around transport
// errors: the transport's errors already name the request.
func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

// tokenAuth authenticates with an API token.
type tokenAuth struct {
	header string // Authorization header value
	id     string // user@realm!tokenid
	secret string
}

func newTokenAuth(token string) *tokenAuth {
	id, secret, _ := strings.Cut(token, "=")
	return &tokenAuth{header: "PVEAPIToken=" + token, id: id, secret: secret}
}

func (a *tokenAuth) Apply(_ context.Context, h http.Header) { h.Set("Authorization", a.header) }
func (a *tokenAuth) Secrets() []string                      { return []string{a.secret} }

// ticketAuth authenticates with a ticket obtained with username and
// password, and renews it with itself before it expires.
type ticketAuth struct {
	username, password, otp string
	client                  *Client
	now                     func() time.Time

	renewing sync.Mutex              // serialises renewals
	current  atomic.Pointer[session] // nil until logged in
}

// session is a ticket and its CSRF token.
type session struct {
	ticket, csrf string
	renewAt      time.Time
}

// ticketAnswer is the data of POST /access/ticket.
type ticketAnswer struct {
	Ticket  string          `json:"ticket"`
	CSRF    string          `json:"CSRFPreventionToken"`
	NeedTFA json.RawMessage `json:"NeedTFA"` // 1 when the ticket awaits a second factor
}

func (t *ticketAnswer) needTFA() bool {
	switch string(t.NeedTFA) {
	case "", "0", "null", "false", `""`, `"0"`:
		return false
	}
	return true
}

// login obtains the first ticket, answering a second-factor challenge with
// the OTP if PVE asks for one.
func (a *ticketAuth) login(ctx context.Context) error {
	t, err := a.requestTicket(ctx, url.Values{"username": {a.username}, "password": {a.password}})
	if err == nil && t.needTFA() {
		if a.otp == "" {
			return fmt.Errorf("%w for user %s: two-factor authentication is required: set otp", ErrAuthentication, a.username)
		}
		response := a.otp
		if !strings.Contains(response, ":") {
			response = "totp:" + response
		}
		t, err = a.requestTicket(ctx, url.Values{"username": {a.username}, "tfa-challenge": {t.Ticket}, "password": {response}})
	}
	if err != nil {
		if errors.Is(err, ErrAuthentication) {
			return fmt.Errorf("authentication failed for user %s: %w", a.username, err)
		}
		return err
	}
	a.current.Store(&session{ticket: t.Ticket, csrf: t.CSRF, renewAt: a.now().Add(ticketLifetime)})
	return nil
}

func (a *ticketAuth) requestTicket(ctx context.Context, form url.Values) (*ticketAnswer, error) {
	var t ticketAnswer
	if err := a.client.Post(ctx, "/access/ticket", form, &t); err != nil {
		return nil, err
	}
	if t.Ticket == "" {
		return nil, errors.New("POST /access/ticket: the answer holds no ticket")
	}
	return &t, nil
}

func (a *ticketAuth) Apply(ctx context.Context, h http.Header) {
	s := a.current.Load()
	if s == nil {
		return
	}
	if !a.now().Before(s.renewAt) {
		s = a.renew(ctx, s)
	}
	h.Set("Cookie", "PVEAuthCookie="+s.ticket)
	h.Set("CSRFPreventionToken", s.csrf)
}

// renew replaces the ticket old with a fresh one, which PVE issues for the
// ticket itself as password. On failure the old ticket, still valid for
// another hour, is kept and renewal is tried again a minute later.
func (a *ticketAuth) renew(ctx context.Context, old *session) *session {
	a.renewing.Lock()
	defer a.renewing.Unlock()
	if cur := a.current.Load(); cur != old {
		return cur // renewed meanwhile
	}
	t, err := a.requestTicket(ctx, url.Values{"username": {a.username}, "password": {old.ticket}})
	if err != nil {
		tflog.Warn(ctx, "could not renew the PVE ticket; keeping the current one", map[string]any{"error": err.Error()})
		next := *old
		next.renewAt = a.now().Add(time.Minute)
		a.current.Store(&next)
		return &next
	}
	s := &session{ticket: t.Ticket, csrf: t.CSRF, renewAt: a.now().Add(ticketLifetime)}
	a.current.Store(s)
	return s
}

func (a *ticketAuth) Secrets() []string {
	out := []string{a.password, a.otp}
	if s := a.current.Load(); s != nil {
		out = append(out, s.ticket, s.csrf)
	}
	return out
}

// quietLogger discards go-proxmox's own logging, which prints request and
// response bodies; the transport logs through tflog instead.
type quietLogger struct{}

func (quietLogger) Debugf(string, ...any) {}
func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Warnf(string, ...any)  {}
