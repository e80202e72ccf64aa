// Package pbs is the provider's client for the Proxmox Backup Server 4 API.
//
// It is written by hand (there is no Go client for PBS) in the shape of
// internal/pve: every non-2xx answer becomes an *APIError that matches the
// sentinels ErrNotFound, ErrAuthentication, ErrPermission, ErrTransient,
// ErrConflict and ErrLocked; idempotent requests are retried on transient
// failures; authentication happens eagerly in New; tasks (UPIDs) are
// awaited with WaitTask; and all traffic is logged through tflog with
// secrets masked. It knows nothing about Terraform.
//
// What it follows of PBS (proxmox-backup and proxmox-rs): API tokens go in
// "Authorization: PBSAPIToken=user@realm!tokenid:secret" (a colon before
// the secret, where PVE has '='); a password login gets a ticket, sent as
// the PBSAuthCookie cookie, and a CSRF token for writes, both valid for two
// hours; errors are plain text bodies with the HTTP code of the handler's
// error, 400 when it has none; a config digest comes beside "data" in the
// answer, not in it.
package pbs

import (
	"context"
	"crypto/tls"
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

// ticketLifetime is how long a ticket is used before it is renewed. PBS
// accepts a ticket, and its CSRF token, for two hours (TICKET_LIFETIME in
// proxmox-auth-api) and issues a new one for a valid ticket.
const ticketLifetime = time.Hour

// PBS's names for the credentials on the wire.
const (
	tokenScheme = "PBSAPIToken"   // Authorization: PBSAPIToken=user@realm!tokenid:secret
	authCookie  = "PBSAuthCookie" // the ticket
	csrfHeader  = "CSRFPreventionToken"
)

// Config holds the connection settings of a Client.
type Config struct {
	// Endpoint is the server's address, e.g. https://pbs1:8007, with or
	// without a trailing "/" or "/api2/json". Without a port, the scheme's
	// default port is used (a PBS behind a reverse proxy).
	Endpoint string
	// APIToken is "user@realm!tokenid:secret" (PBS separates the secret
	// with ':'). It excludes Username and Password.
	APIToken string
	// Username ("root@pam") and Password log in for a ticket. Users with a
	// second factor cannot log in this way: use an API token.
	Username, Password string
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
	// Wait tunes the waiting for tasks of WaitTask and of the calls that
	// start one (CreateDatastore, DeleteDatastore). Zero fields take the
	// defaults.
	Wait WaitOptions
	// Transport, if set, replaces the HTTP transport built from the TLS
	// settings (for tests). Requests still get authentication, retries,
	// error mapping and logging; ServerFingerprint still dials with the TLS
	// settings.
	Transport http.RoundTripper
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

// tokenPattern is PBS's Authid with a token name, then ':' and the secret:
// a user name without whitespace, ':' or '/', a realm and token name of
// letters, digits, '.', '_' and '-'.
var tokenPattern = regexp.MustCompile(`^[^\s:/@!]+@[A-Za-z0-9_][A-Za-z0-9._-]*![A-Za-z0-9_][A-Za-z0-9._-]*:\S+$`)

// userPattern is PBS's Userid.
var userPattern = regexp.MustCompile(`^[^\s:/@!]+@[A-Za-z0-9_][A-Za-z0-9._-]*$`)

// CheckAPIToken reports whether s has the form user@realm!tokenid:secret.
// The message never repeats s, which holds the secret.
func CheckAPIToken(s string) error {
	if tokenPattern.MatchString(s) {
		return nil
	}
	if id, _, ok := strings.Cut(s, "="); ok && strings.Contains(id, "!") && !strings.Contains(id, ":") {
		return errors.New("invalid api_token: expected the form user@realm!tokenid:secret (PBS separates the secret with ':', not '=' as PVE does)")
	}
	return errors.New("invalid api_token: expected the form user@realm!tokenid:secret")
}

// CheckEndpoint reports whether s is a usable endpoint URL.
func CheckEndpoint(s string) error {
	_, err := normalizeEndpoint(s)
	return err
}

// CheckFingerprint reports whether s is a SHA-256 fingerprint (64 hex
// digits, any case, colons optional).
func CheckFingerprint(s string) error {
	_, err := apiclient.ParseFingerprint(s)
	return err
}

// CheckUsername reports whether s is a PBS user ID (user@realm).
func CheckUsername(s string) error {
	if !userPattern.MatchString(s) {
		return fmt.Errorf("invalid username %q: expected user@realm, e.g. root@pam", s)
	}
	return nil
}

// CheckCACertificate reports whether s is a PEM bundle of certificates.
func CheckCACertificate(s string) error {
	_, err := apiclient.ParseCertificates(s)
	return err
}

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
	case !userPattern.MatchString(c.Username):
		errs = append(errs, fmt.Errorf("invalid username %q: expected user@realm, e.g. root@pam", c.Username))
	}

	if err := apiclient.CheckTransportSecurity(c.Endpoint, c.Insecure, c.CACertificate); err != nil {
		errs = append(errs, err)
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
	return apiclient.NormalizeEndpoint(raw, apiRoot, "https://pbs.example.com:8007")
}

// Client is a connection to one PBS API endpoint. It is safe for concurrent
// use.
type Client struct {
	http      *http.Client
	endpoint  string // scheme://host:port
	baseURL   string // endpoint + apiRoot
	tlsConfig *tls.Config
	timeout   time.Duration
	wait      WaitOptions  // defaults applied
	lists     *sharedLists // lists shared by the reads of this run (lists.go)
}

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

	base := cfg.Transport
	if base == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = tc
		t.DialContext = (&net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}).DialContext
		t.TLSHandshakeTimeout = timeout
		t.ResponseHeaderTimeout = timeout
		base = t
	}

	c := &Client{
		endpoint:  endpoint,
		baseURL:   endpoint + apiRoot,
		tlsConfig: tc,
		timeout:   timeout,
		wait:      cfg.Wait.withDefaults(),
		lists:     newSharedLists(),
	}
	var auth apiclient.Authenticator
	if cfg.APIToken != "" {
		auth = newTokenAuth(cfg.APIToken)
	} else {
		auth = &ticketAuth{username: cfg.Username, password: cfg.Password, client: c, now: time.Now}
	}
	c.http = &http.Client{
		Transport: newTransport(writeWatch{next: base, lists: c.lists}, endpoint, userAgent, timeout, cfg.Retry, auth),
		// PBS does not redirect API calls; a redirect is a proxy in front
		// of it, and following one would resend credentials elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}

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

// Relogin logs in again with the password the client was made with. A
// client with an API token has nothing to renew.
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

// Endpoint returns the server's address as scheme://host:port.
func (c *Client) Endpoint() string { return c.endpoint }

// Version is the answer of GET /version.
type Version struct {
	Version string `json:"version"` // e.g. "4.0.14"
	Release string `json:"release"` // e.g. "4.0"
	RepoID  string `json:"repoid"`
}

// Version reads the server's version.
func (c *Client) Version(ctx context.Context) (*Version, error) {
	var v Version
	if err := c.Get(ctx, "/version", nil, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// Get reads path (relative to /api2/json, e.g. "/config/datastore") with
// the query parameters, and unmarshals the "data" member of the answer into
// out (unless out is nil).
func (c *Client) Get(ctx context.Context, path string, query url.Values, out any) error {
	_, err := c.do(ctx, http.MethodGet, path, query, out)
	return err
}

// Post sends params form-encoded and unmarshals the "data" member of the
// answer into out (unless out is nil). Calls that start a task answer with
// its UPID, to be awaited with WaitTask.
func (c *Client) Post(ctx context.Context, path string, params url.Values, out any) error {
	_, err := c.do(ctx, http.MethodPost, path, params, out)
	return err
}

// Put is Post with PUT, which PBS uses for updates.
func (c *Client) Put(ctx context.Context, path string, params url.Values, out any) error {
	_, err := c.do(ctx, http.MethodPut, path, params, out)
	return err
}

// Delete deletes path, with parameters in the query string.
func (c *Client) Delete(ctx context.Context, path string, query url.Values, out any) error {
	_, err := c.do(ctx, http.MethodDelete, path, query, out)
	return err
}

// envelope is PBS's answer: the data, and the result attributes beside it
// (a config's "digest", a task log's "total").
type envelope struct {
	Data   json.RawMessage `json:"data"`
	Digest string          `json:"digest"`
	Total  *int            `json:"total"`
}

// do sends a request, unmarshals the answer's data into out (unless out is
// nil) and returns the whole envelope.
func (c *Client) do(ctx context.Context, method, path string, params url.Values, out any) (*envelope, error) {
	var env envelope
	if err := c.send(ctx, method, path, params, &env); err != nil {
		return nil, err
	}
	if out != nil && len(env.Data) > 0 {
		if err := json.Unmarshal(env.Data, out); err != nil {
			return nil, fmt.Errorf("%s %s: decode data: %w", method, path, err)
		}
	}
	return &env, nil
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
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, env); err != nil {
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

// pathEscape escapes one path segment (a datastore name, a job ID, a UPID
// with its '\' escapes).
func pathEscape(s string) string { return url.PathEscape(s) }

// tokenAuth authenticates with an API token.
type tokenAuth struct {
	header string // Authorization header value
	id     string // user@realm!tokenid
	secret string
}

func newTokenAuth(token string) *tokenAuth {
	id, secret, _ := strings.Cut(token, ":")
	return &tokenAuth{header: tokenScheme + "=" + token, id: id, secret: secret}
}

func (a *tokenAuth) Apply(_ context.Context, h http.Header) { h.Set("Authorization", a.header) }
func (a *tokenAuth) Secrets() []string                      { return []string{a.secret} }

// ticketAuth authenticates with a ticket obtained with username and
// password, and renews it with itself before it expires.
type ticketAuth struct {
	username, password string
	client             *Client
	now                func() time.Time

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
	Username string `json:"username"`
	Ticket   string `json:"ticket"`
	CSRF     string `json:"CSRFPreventionToken"`
}

// partial reports whether the ticket only opens a second-factor challenge:
// PBS then signs "PBS:!tfa!<challenge>:..." and sends "invalid" as CSRF
// token.
func (t *ticketAnswer) partial() bool {
	return strings.Contains(t.Ticket, ":!tfa!")
}

// login obtains the first ticket.
func (a *ticketAuth) login(ctx context.Context) error {
	t, err := a.requestTicket(ctx, a.password)
	if err == nil && t.partial() {
		return fmt.Errorf("%w for user %s: the user has two-factor authentication, which this client does not answer: use an API token", ErrAuthentication, a.username)
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

func (a *ticketAuth) requestTicket(ctx context.Context, password string) (*ticketAnswer, error) {
	var t ticketAnswer
	if err := a.client.Post(ctx, "/access/ticket", url.Values{"username": {a.username}, "password": {password}}, &t); err != nil {
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
	h.Set("Cookie", authCookie+"="+s.ticket)
	h.Set(csrfHeader, s.csrf)
}

// renew replaces the ticket old with a fresh one, which PBS issues for the
// ticket itself as password. On failure the old ticket, valid for another
// hour, is kept and renewal is tried again a minute later.
func (a *ticketAuth) renew(ctx context.Context, old *session) *session {
	a.renewing.Lock()
	defer a.renewing.Unlock()
	if cur := a.current.Load(); cur != old {
		return cur // renewed meanwhile
	}
	t, err := a.requestTicket(ctx, old.ticket)
	if err != nil || t.partial() {
		msg := "the answer is a second-factor challenge"
		if err != nil {
			msg = err.Error()
		}
		tflog.Warn(ctx, "could not renew the PBS ticket; keeping the current one", map[string]any{"error": msg})
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
	out := []string{a.password}
	if s := a.current.Load(); s != nil {
		out = append(out, s.ticket, s.csrf)
	}
	return out
}
