package pbs

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/apiclient"
)

// newTransport is the http.RoundTripper behind every call of the client
// (see apiclient.Transport): it authenticates, logs with secrets masked,
// turns each non-2xx answer into an *APIError, and retries transient
// failures where that is safe.
func newTransport(base http.RoundTripper, endpoint, userAgent string, timeout time.Duration, retry RetryPolicy,
	auth apiclient.Authenticator) *apiclient.Transport {
	retry = retry.withDefaults()
	return &apiclient.Transport{
		Base: base, Product: "PBS", Endpoint: endpoint, Prefix: apiRoot, LoginPath: "/access/ticket",
		UserAgent: userAgent, Timeout: timeout, MaxAttempts: retry.MaxAttempts, Auth: auth,
		TokenScheme: tokenScheme, TokenSeparator: ":",
		NewError: func(method, path string, res *http.Response, body []byte) error {
			return newAPIError(method, path, res, body, time.Now())
		},
		Retryable: retryable,
		Delay:     retry.delay,
	}
}

// delay returns how long to wait after the given failed attempt (1-based):
// exponential backoff with jitter in [d/2, d), or longer if the server asked
// for it with Retry-After.
func (p RetryPolicy) delay(attempt int, err error, jitter float64) time.Duration {
	d := apiclient.Backoff(p.InitialBackoff, p.MaxBackoff, attempt, jitter)
	var ae *APIError
	if errors.As(err, &ae) && ae.retryAfter > d {
		d = min(ae.retryAfter, apiclient.MaxRetryAfter)
	}
	return d
}

// ServerFingerprint connects to the server and returns the SHA-256
// fingerprint of its leaf certificate as PBS displays it (AA:BB:...): the
// value PVE's PBS storage wants as "fingerprint". The connection is checked
// as the client's requests are (CA, pin or insecure).
func (c *Client) ServerFingerprint(ctx context.Context) (string, error) {
	return apiclient.ServerFingerprint(ctx, c.endpoint, c.tlsConfig, c.timeout)
}
