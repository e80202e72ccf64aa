package redfish

import (
	"net/http"
	"strconv"
	"time"
)

// retryTransport sends a request again when the BMC answers 503 (busy,
// booting) or 429 (too many requests): those answers mean it did not act,
// so any method may be repeated. It waits what Retry-After says (seconds or
// an HTTP date), else a growing pause. Other failures are not retried:
// a POST that reached the BMC may have acted.
type retryTransport struct {
	base http.RoundTripper
	max  int
	// sleep waits; replaced in tests.
	sleep func(d time.Duration, req *http.Request) bool
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	sleep := t.sleep
	if sleep == nil {
		sleep = waitOrCancel
	}
	for attempt := 0; ; attempt++ {
		if attempt > 0 && req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			req.Body = body
		}
		res, err := t.base.RoundTrip(req)
		if err != nil || attempt >= t.max || (res.StatusCode != http.StatusServiceUnavailable && res.StatusCode != http.StatusTooManyRequests) {
			return res, err
		}
		if req.Body != nil && req.GetBody == nil {
			return res, nil // the body cannot be sent again
		}
		wait := retryAfter(res.Header.Get("Retry-After"), time.Now())
		if wait <= 0 {
			wait = time.Duration(attempt+1) * time.Second
		}
		if wait > 30*time.Second {
			wait = 30 * time.Second
		}
		_ = res.Body.Close()
		if !sleep(wait, req) {
			return nil, req.Context().Err()
		}
	}
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return t.Sub(now)
	}
	return 0
}

func waitOrCancel(d time.Duration, req *http.Request) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-req.Context().Done():
		return false
	}
}
