package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/terraform-plugin-log/tflog"
)

const (
	// maxBufferedBody is the largest request body kept in memory so that it
	// can be sent again. Larger bodies (uploads) are streamed, sent once, and
	// not bound by the per-request timeout.
	maxBufferedBody = 1 << 20
	// maxLoggedBody caps the bodies written to the trace log.
	maxLoggedBody = 4 << 10
	// MaxRetryAfter caps how long a Retry-After header can make a client
	// wait.
	MaxRetryAfter = time.Minute
	// redacted replaces secrets in logs; it is also what tflog's masking uses.
	redacted = "***"
)

// Transport is the http.RoundTripper behind every call of a client. For
// every request it adds the credentials, logs with secrets masked, turns
// each non-2xx answer into the client's error, and retries transient
// failures where the client says that is safe.
type Transport struct {
	Base      http.RoundTripper
	Product   string // "PVE", "PBS": in log messages and errors
	Endpoint  string // https://host:port, for messages
	Prefix    string // path of the API root, stripped from paths in messages
	LoginPath string // the ticket request (below Prefix), sent without credentials
	UserAgent string
	Timeout   time.Duration // per attempt
	// MaxAttempts bounds the attempts of one request (at least 1).
	MaxAttempts int
	Auth        Authenticator
	// TokenScheme is the Authorization scheme of API tokens ("PVEAPIToken")
	// and TokenSeparator what separates the token ID from its secret ("=",
	// ":"): the ID stays readable in logs, the secret does not.
	TokenScheme, TokenSeparator string
	// NewError makes the client's error of a non-2xx answer.
	NewError func(method, path string, res *http.Response, body []byte) error
	// Retryable reports whether a request with this method that failed with
	// err may be sent again.
	Retryable func(method string, err error) bool
	// Delay is how long to wait after the failed attempt (1-based); jitter
	// is in [0, 1).
	Delay func(attempt int, err error, jitter float64) time.Duration
}

// Authenticator adds credentials to requests.
type Authenticator interface {
	// Apply sets the authentication headers of a request.
	Apply(ctx context.Context, h http.Header)
	// Secrets lists the values that must never appear in logs.
	Secrets() []string
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	path := strings.TrimPrefix(req.URL.Path, t.Prefix)

	body, streamed, err := takeBody(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: read request body: %w", req.Method, path, err)
	}
	attempts := max(t.MaxAttempts, 1)
	if streamed != nil {
		attempts = 1 // a streamed body cannot be sent twice
	}

	// a request its caller marked as not to be sent twice is retried only
	// where a POST would be: when the failure proves it did nothing
	retryMethod := req.Method
	if noResend(ctx) {
		retryMethod = http.MethodPost
	}
	for attempt := 1; ; attempt++ {
		res, err := t.attempt(ctx, req, path, body, streamed, attempt)
		if err == nil {
			return res, nil
		}
		if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) && t.Retryable(retryMethod, err) && attempt < attempts {
			// Cancelled while a retryable answer came in: the caller stopped
			// waiting, which is what the error must say.
			return nil, fmt.Errorf("%w (after %w)", cerr, err)
		}
		if ctx.Err() != nil || attempt >= attempts || !t.Retryable(retryMethod, err) {
			return nil, err
		}
		delay := t.Delay(attempt, err, rand.Float64())
		if Logs(LevelDebug) {
			tflog.Debug(MaskSecrets(ctx, t.Auth.Secrets()), "retrying "+t.Product+" API request", map[string]any{
				"http_method": req.Method, "http_path": path, "attempt": attempt,
				"delay_ms": delay.Milliseconds(), "error": err.Error(),
			})
		}
		if serr := Sleep(ctx, delay); serr != nil {
			return nil, fmt.Errorf("%w (while retrying %w)", serr, err)
		}
	}
}

// attempt sends the request once and reads the whole answer.
func (t *Transport) attempt(ctx context.Context, orig *http.Request, path string, body []byte, streamed io.ReadCloser, n int) (*http.Response, error) {
	actx := ctx
	if streamed == nil {
		var cancel context.CancelFunc
		actx, cancel = context.WithTimeout(ctx, t.Timeout)
		defer cancel()
	}
	req := orig.Clone(actx)
	switch {
	case streamed != nil:
		req.Body = streamed
	case body != nil:
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		req.ContentLength = int64(len(body))
	}
	req.Header.Set("User-Agent", t.UserAgent)
	if !(req.Method == http.MethodPost && path == t.LoginPath) {
		t.Auth.Apply(ctx, req.Header)
	}

	// Log lines are built only when their level is enabled (Logs): a
	// refresh of many guests would otherwise spend much of its CPU on lines
	// nobody reads.
	debug, trace := Logs(LevelDebug), Logs(LevelTrace)
	var secrets []string
	lctx := ctx
	if debug {
		secrets = t.Auth.Secrets()
		lctx = MaskSecrets(ctx, secrets)
		tflog.Debug(lctx, t.Product+" API request", map[string]any{
			"http_method": req.Method, "http_path": path, "attempt": n,
		})
	}
	if trace {
		details := map[string]any{
			"http_method": req.Method, "http_path": path, "http_request_headers": logHeaders{h: req.Header, scheme: t.TokenScheme, sep: t.TokenSeparator},
		}
		if req.URL.RawQuery != "" {
			details["http_query"] = redactQuery(req.URL.RawQuery)
		}
		if body != nil || streamed != nil {
			details["http_request_body"] = logBody{contentType: req.Header.Get("Content-Type"), data: body, streamed: streamed != nil, secrets: secrets}
		}
		tflog.Trace(lctx, t.Product+" API request details", details)
	}

	start := time.Now()
	res, err := t.Base.RoundTrip(req)
	if err != nil {
		err = t.failure(ctx, actx, req.Method, path, err)
		if debug {
			tflog.Debug(lctx, t.Product+" API request failed", map[string]any{
				"http_method": req.Method, "http_path": path, "duration_ms": time.Since(start).Milliseconds(), "error": err.Error(),
			})
		}
		return nil, err
	}
	data, err := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if err != nil {
		err = t.failure(ctx, actx, req.Method, path, err)
		if debug {
			tflog.Debug(lctx, t.Product+" API response unreadable", map[string]any{
				"http_method": req.Method, "http_path": path, "http_status": res.StatusCode, "error": err.Error(),
			})
		}
		return nil, err
	}
	if debug {
		tflog.Debug(lctx, t.Product+" API response", map[string]any{
			"http_method": req.Method, "http_path": path, "http_status": res.StatusCode,
			"duration_ms": time.Since(start).Milliseconds(),
		})
	}
	if trace {
		tflog.Trace(lctx, t.Product+" API response body", map[string]any{
			"http_method": req.Method, "http_path": path, "http_status": res.StatusCode,
			"http_response_body": logBody{contentType: res.Header.Get("Content-Type"), data: data, secrets: secrets},
		})
	}

	if res.StatusCode >= 300 && res.StatusCode <= 399 {
		// Never followed: the next hop would get the credentials.
		return nil, fmt.Errorf("%s %s: %s: the server redirects to %s; the provider does not follow redirects, which "+
			"would send the credentials there: give the endpoint the API answers on itself",
			orig.Method, path, res.Status, RedactURL(res.Header.Get("Location")))
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return nil, t.NewError(orig.Method, path, res, data)
	}
	res.Body = io.NopCloser(bytes.NewReader(data))
	res.ContentLength = int64(len(data))
	res.Request = orig
	return res, nil
}

// failure turns an error of the underlying transport into one that says
// what failed, and whether it is worth another attempt.
func (t *Transport) failure(ctx, actx context.Context, method, path string, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("%s %s: %w", method, path, cerr)
	}
	if actx.Err() != nil {
		return &NetError{Msg: fmt.Sprintf("%s %s: no answer within %s", method, path, t.Timeout), Err: err, Transient: true}
	}
	if terr := DescribeTLSError(t.Endpoint, err); terr != nil {
		return terr
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		var dns *net.DNSError
		permanent := errors.As(err, &dns) && dns.IsNotFound
		return &NetError{Msg: "cannot reach " + t.Product + " at " + t.Endpoint, Err: err, Transient: !permanent, Unsent: true}
	}
	return &NetError{Msg: method + " " + path, Err: err, Transient: transientNetError(err)}
}

// transientNetError reports whether a connection failure may pass.
func transientNetError(err error) bool {
	for _, target := range []error{
		syscall.ECONNRESET, syscall.ECONNREFUSED, syscall.ECONNABORTED, syscall.EPIPE,
		io.EOF, io.ErrUnexpectedEOF,
	} {
		if errors.Is(err, target) {
			return true
		}
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// MaskSecrets returns ctx with tflog masking of the secrets in messages and
// string fields.
func MaskSecrets(ctx context.Context, secrets []string) context.Context {
	var nonEmpty []string // an empty string would mask everything
	for _, s := range secrets {
		if s != "" {
			nonEmpty = append(nonEmpty, s)
		}
	}
	if len(nonEmpty) == 0 {
		return ctx
	}
	return tflog.MaskLogStrings(ctx, nonEmpty...)
}

// takeBody empties the request's body: small bodies are returned as bytes
// to be sent with every attempt; large or unsized ones (a ContentLength of 0
// with a body means unknown) are returned as a stream that can be sent only
// once. RoundTrip must close the body in all cases, which this does for
// buffered bodies; streams are closed by the transport that sends them.
func takeBody(req *http.Request) (buf []byte, stream io.ReadCloser, err error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil, nil
	}
	if req.ContentLength <= 0 || req.ContentLength > maxBufferedBody {
		return nil, req.Body, nil
	}
	defer func() { _ = req.Body.Close() }()
	buf, err = io.ReadAll(req.Body)
	return buf, nil, err
}

// Backoff is the wait after the given failed attempt (1-based):
// exponential from initial up to most, with jitter in [d/2, d).
func Backoff(initial, most time.Duration, attempt int, jitter float64) time.Duration {
	d := initial
	for i := 1; i < attempt && d < most; i++ {
		d *= 2
	}
	d = min(d, most)
	return d/2 + time.Duration(jitter*float64(d/2))
}

// Sleep waits for d or until ctx is done.
func Sleep(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// SensitiveKey reports whether a parameter or JSON field holds a secret:
// passwords, tickets, token secrets, the CSRF token, one-time codes, and
// keys (encryption keys, S3 access and secret keys, private keys).
func SensitiveKey(k string) bool {
	k = strings.ToLower(k)
	switch k {
	case "otp", "tfa-challenge", "key", "keyfile", "master-key", "recovery":
		return true
	}
	for _, s := range []string{"password", "passwd", "secret", "ticket", "token", "private", "hmac", "-key", "_key", "key-"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

// redactQuery renders a query string with secret parameters masked.
func redactQuery(raw string) string {
	if raw == "" {
		return ""
	}
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return redacted
	}
	return redactValues(vals)
}

// redactValues renders form values as k=v&... with secret values masked.
func redactValues(vals url.Values) string {
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		for _, v := range vals[k] {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(url.QueryEscape(k))
			b.WriteByte('=')
			if SensitiveKey(k) {
				b.WriteString(redacted)
			} else {
				b.WriteString(url.QueryEscape(v))
			}
		}
	}
	return b.String()
}

// logHeaders renders request headers for the trace log with credentials
// masked. It is rendered only if the entry is written.
type logHeaders struct {
	h           http.Header
	scheme, sep string // of API tokens: TokenScheme, TokenSeparator
}

func (l logHeaders) String() string {
	h := l.h
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		for _, v := range h[k] {
			switch http.CanonicalHeaderKey(k) {
			case "Authorization":
				// Keep the token ID, which helps debugging; drop the secret.
				if rest, ok := strings.CutPrefix(v, l.scheme+"="); ok && l.scheme != "" {
					id, _, _ := strings.Cut(rest, l.sep)
					v = l.scheme + "=" + id + l.sep + redacted
				} else {
					v = redacted
				}
			case "Cookie":
				v = redactCookies(v)
			case "Csrfpreventiontoken":
				v = redacted
			}
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// MarshalJSON renders the headers as a JSON string for JSON loggers.
func (l logHeaders) MarshalJSON() ([]byte, error) { return json.Marshal(l.String()) }

func redactCookies(v string) string {
	parts := strings.Split(v, ";")
	for i, p := range parts {
		name, _, _ := strings.Cut(strings.TrimSpace(p), "=")
		parts[i] = name + "=" + redacted
	}
	return strings.Join(parts, "; ")
}
