// Package apiclient is the HTTP plumbing the provider's Proxmox API clients
// share (internal/pve, over go-proxmox, and the hand-written internal/pbs):
// TLS with CA bundles or pinned fingerprints, endpoint checks, and one
// http.RoundTripper that authenticates, logs with secrets masked, maps
// failures and retries what is safe to retry. What differs between the
// products (their error bodies, sentinels, credentials, retry policy) is
// given to it by the clients. It knows nothing about Terraform.
package apiclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// Sentinels the clients re-export (pve.ErrTransient, pbs.ErrUnreachable, ...).
var (
	// ErrTransient: a failure that may pass on its own.
	ErrTransient = errors.New("transient failure")
	// ErrUnreachable: no connection could be made (the request was never
	// sent).
	ErrUnreachable = errors.New("unreachable")
)

// NetError is a request that failed below HTTP: no connection, no answer in
// time, a dropped connection.
type NetError struct {
	Msg       string // what failed, naming the request or the address
	Err       error
	Transient bool // another attempt may succeed
	Unsent    bool // the request never reached the server, so any method may be re-sent
}

func (e *NetError) Error() string { return e.Msg + ": " + e.Err.Error() }
func (e *NetError) Unwrap() error { return e.Err }

// Is matches ErrTransient and ErrUnreachable.
func (e *NetError) Is(target error) bool {
	return (target == ErrTransient && e.Transient) || (target == ErrUnreachable && e.Unsent)
}

type noResendKey struct{}

// WithoutResend marks the requests made with ctx as not to be sent again
// after a failure that leaves open whether the server carried them out (a
// proxy timeout, no answer in time), even when their method is idempotent:
// PUTs whose second attempt would collide with a first one that may still
// be running (PVE's config digest). They are retried only when the
// failure proves they did nothing, as POSTs are; the caller finds out what
// happened and decides.
func WithoutResend(ctx context.Context) context.Context {
	return context.WithValue(ctx, noResendKey{}, true)
}

func noResend(ctx context.Context) bool {
	v, _ := ctx.Value(noResendKey{}).(bool)
	return v
}

// Idempotent reports whether a request with this method may be sent twice
// (PUTs replace values; a repeated DELETE answers that the object is gone).
func Idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// NormalizeEndpoint checks a server address and returns it as
// scheme://host:port. A trailing "/" or apiRoot ("/api2/json") is allowed;
// example is shown in the errors ("https://pve.example.com:8006").
func NormalizeEndpoint(raw, apiRoot, example string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	raw = RedactURL(raw) // errors never echo credentials
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", fmt.Errorf("invalid endpoint URL %q: %w", raw, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("invalid endpoint URL %q: expected an absolute http or https URL such as %s", raw, example)
	case u.Host == "" || u.Hostname() == "":
		return "", fmt.Errorf("invalid endpoint URL %q: missing host", raw)
	case u.User != nil:
		return "", fmt.Errorf("invalid endpoint URL %q: must not contain credentials (give them in their own settings)", raw)
	case u.RawQuery != "" || u.Fragment != "":
		return "", fmt.Errorf("invalid endpoint URL %q: must not contain a query or fragment", raw)
	}
	if p := strings.TrimSuffix(u.Path, "/"); p != "" && p != apiRoot {
		return "", fmt.Errorf("invalid endpoint URL %q: unexpected path %q, give the server's address such as %s", raw, u.Path, example)
	}
	return u.Scheme + "://" + u.Host, nil
}

// userinfoRE matches the user information of a URL ("scheme://user:pw@").
var userinfoRE = regexp.MustCompile(`^(\s*[A-Za-z][A-Za-z0-9+.-]*://)[^/?#]*@`)

// RedactURL returns raw with any user information replaced, for messages:
// it works on strings that do not parse as URLs too.
func RedactURL(raw string) string {
	return userinfoRE.ReplaceAllString(raw, "${1}REDACTED@")
}

// CheckTransportSecurity refuses settings that send credentials in the
// clear without saying so, or that contradict each other: an http://
// endpoint needs insecure, and insecure (no verification) with a CA to
// verify against makes no sense.
func CheckTransportSecurity(endpoint string, insecure bool, caCertificate string) error {
	var errs []error
	if u, err := url.Parse(strings.TrimSpace(endpoint)); err == nil && u.Scheme == "http" && !insecure {
		errs = append(errs, fmt.Errorf("endpoint %s is plain http, which sends the credentials unencrypted: use https, "+
			"or set insecure = true to accept that", RedactURL(endpoint)))
	}
	if insecure && caCertificate != "" {
		errs = append(errs, errors.New("insecure = true turns certificate verification off, so ca_certificate would not be used: set one of them"))
	}
	return errors.Join(errs...)
}
