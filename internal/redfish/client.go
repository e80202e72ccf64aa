// Package redfish is the provider's Redfish client: a thin layer over
// gofish (github.com/stmcginnis/gofish) that opens one session per
// operation and always logs it out (BMCs have few session slots), falls
// back to basic authentication, retries 503 and 429 answers after their
// Retry-After, verifies TLS unless told not to, and maps errors to
// sentinels. It knows nothing about Terraform.
package redfish

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/stmcginnis/gofish"
	"github.com/stmcginnis/gofish/schemas"
)

// Sentinel errors.
var (
	// ErrAuthentication: the BMC rejected the credentials.
	ErrAuthentication = errors.New("authentication failed")
	// ErrNotFound: the resource does not exist.
	ErrNotFound = errors.New("not found")
	// ErrUnreachable: no connection could be made.
	ErrUnreachable = errors.New("unreachable")
	// ErrTLS: the BMC's certificate is not trusted.
	ErrTLS = errors.New("untrusted certificate")
)

// Config is how to reach and log in to one BMC.
type Config struct {
	// Endpoint is the BMC's base URL, e.g. https://10.0.0.101.
	Endpoint string
	Username string
	Password string
	// Insecure skips the verification of the BMC's certificate.
	Insecure bool
	// CACertificate is a PEM bundle trusted besides the system's CAs.
	CACertificate string
	// Timeout bounds each HTTP request. Default 60 s (BMCs are slow).
	Timeout time.Duration
	// MaxRetries bounds the retries of 503/429 answers. Default 5.
	MaxRetries int
}

// Client talks to one BMC.
type Client struct {
	cfg  Config
	http *http.Client
}

// New checks cfg and prepares a client; it does not connect.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.Endpoint)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("invalid BMC endpoint %q: want https://host[:port]", cfg.Endpoint)
	}
	cfg.Endpoint = strings.TrimRight(u.Scheme+"://"+u.Host, "/")
	if cfg.Username == "" {
		return nil, errors.New("no BMC username")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 60 * time.Second
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = 5
	}
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.Insecure} //nolint:gosec // the user's explicit choice
	if cfg.CACertificate != "" {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM([]byte(cfg.CACertificate)) {
			return nil, errors.New("the BMC CA certificate holds no PEM certificate")
		}
		tlsConf.RootCAs = pool
	}
	base := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 15 * time.Second}).DialContext,
		TLSClientConfig:     tlsConf,
		TLSHandshakeTimeout: 15 * time.Second,
		DisableKeepAlives:   true, // one operation, one session: nothing to keep
	}
	return &Client{cfg: cfg, http: &http.Client{Timeout: cfg.Timeout, Transport: &retryTransport{base: base, max: cfg.MaxRetries}}}, nil
}

// Endpoint is the BMC's base URL.
func (c *Client) Endpoint() string { return c.cfg.Endpoint }

// Session is one logged-in conversation with the BMC.
type Session struct {
	api *gofish.APIClient
	ctx context.Context
	// Basic is true when the BMC offered no session and basic
	// authentication is used instead.
	Basic bool
}

// Do runs fn in a session opened for it and always logged out afterwards,
// also when fn fails or ctx is cancelled. A BMC that offers no sessions is
// talked to with basic authentication.
func (c *Client) Do(ctx context.Context, fn func(s *Session) error) error {
	conf := gofish.ClientConfig{
		Endpoint:          c.cfg.Endpoint,
		Username:          c.cfg.Username,
		Password:          c.cfg.Password,
		HTTPClient:        c.http,
		NoModifyTransport: true,
	}
	api, err := gofish.ConnectContext(ctx, conf)
	basic := false
	if err != nil && noSessions(err) {
		conf.BasicAuth = true
		api, err = gofish.ConnectContext(ctx, conf)
		basic = true
	}
	if err != nil {
		return c.wrap("connecting", err)
	}
	if basic {
		// Basic authentication is checked by the first request that needs
		// it (the service root needs none): check the credentials now, so
		// that a wrong password is ErrAuthentication, not a failed listing.
		res, err := api.Get("/redfish/v1/Systems")
		if err != nil {
			return c.wrap("logging in with basic authentication", err)
		}
		res.Body.Close()
	}
	defer api.Logout()
	if err := fn(&Session{api: api, ctx: ctx, Basic: basic}); err != nil {
		return c.wrap("", err)
	}
	return nil
}

// noSessions reports whether session login failed because the BMC has no
// session service (as opposed to wrong credentials).
func noSessions(err error) bool {
	var re *schemas.Error
	if errors.As(err, &re) {
		switch re.HTTPReturnedStatusCode {
		case http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusNotImplemented:
			return true
		}
	}
	return false
}

// wrap names the BMC and maps gofish's and net/http's errors to sentinels.
func (c *Client) wrap(what string, err error) error {
	prefix := "BMC " + c.cfg.Endpoint
	if what != "" {
		prefix += ": " + what
	}
	var re *schemas.Error
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	switch {
	case errors.As(err, &re) && re.HTTPReturnedStatusCode == http.StatusUnauthorized:
		return fmt.Errorf("%s: %w: the BMC rejected the user name or password (%s)", prefix, ErrAuthentication, redfishMessage(re))
	case errors.As(err, &re) && re.HTTPReturnedStatusCode == http.StatusNotFound:
		return fmt.Errorf("%s: %w: %s", prefix, ErrNotFound, redfishMessage(re))
	case errors.As(err, &re):
		return fmt.Errorf("%s: HTTP %d: %s", prefix, re.HTTPReturnedStatusCode, redfishMessage(re))
	case errors.As(err, &certErr), errors.As(err, &unknownAuth), errors.As(err, &hostErr):
		return fmt.Errorf("%s: %w: %v (set ca_certificate to the CA that signed it, or insecure = true to skip the check)", prefix, ErrTLS, err)
	case isUnreachable(err):
		return fmt.Errorf("%s: %w: %v", prefix, ErrUnreachable, err)
	}
	return fmt.Errorf("%s: %w", prefix, err)
}

// redfishMessage is the most useful text of a Redfish error.
func redfishMessage(e *schemas.Error) string {
	var parts []string
	if e.Message != "" {
		parts = append(parts, e.Message)
	}
	for _, info := range e.ExtendedInfos {
		if info.Message != "" && info.Message != e.Message {
			parts = append(parts, info.Message)
		}
	}
	if len(parts) == 0 {
		return strings.TrimSpace(e.Error())
	}
	return strings.Join(parts, "; ")
}

func isUnreachable(err error) bool {
	var op *net.OpError
	var dns *net.DNSError
	return errors.As(err, &op) && op.Op == "dial" || errors.As(err, &dns)
}
