package pve

import (
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/apiclient"
)

// Sentinel errors. Every error this package returns for a failed API call
// matches at most a few of these with errors.Is; callers never need to look
// at message text.
var (
	// ErrNotFound: the object does not exist (HTTP 404, or PVE's 500 "...
	// does not exist", "no such ...", "not found", "unable to find").
	ErrNotFound = errors.New("not found")
	// ErrLocked: the object is locked ("can't lock file ... got timeout",
	// "VM is locked (backup)"). Callers retry these themselves, usually with
	// the config digest, because only they know whether a retry is safe.
	ErrLocked = errors.New("locked")
	// ErrPermission: the credentials lack a privilege (HTTP 403,
	// "Permission check failed").
	ErrPermission = errors.New("permission denied")
	// ErrTransient: a failure that may pass on its own (HTTP 502, 503, 504,
	// the proxy errors 595/596/597, a dropped connection). The transport has
	// already retried idempotent requests before returning it.
	ErrTransient = apiclient.ErrTransient
	// ErrAuthentication: the credentials were rejected (HTTP 401).
	ErrAuthentication = errors.New("authentication failed")
	// ErrUnreachable: no connection could be made to the endpoint (the
	// request was never sent). The provider tries such an endpoint again
	// later, since it may be a node that is still being installed.
	ErrUnreachable = apiclient.ErrUnreachable
	// ErrNoQuorum: the cluster has lost quorum ("cluster not ready - no
	// quorum?"): its configuration is read-only until enough nodes are
	// back.
	ErrNoQuorum = errors.New("the cluster has no quorum")
)

// APIError is a non-2xx answer from the PVE API. PVE puts its message in the
// reason phrase of the status line and, for parameter errors, a map from
// parameter name to message in the body.
type APIError struct {
	Method     string            // HTTP method
	Path       string            // API path without the /api2/json prefix, e.g. /nodes/pve1/status
	StatusCode int               // HTTP status code
	Message    string            // PVE's message: the reason phrase of the status line
	Errors     map[string]string // per-parameter messages of a 400 answer

	retryAfter time.Duration // from a Retry-After header, zero if absent
}

// Error renders the error as `METHOD /path: CODE message`.
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString(e.Method)
	b.WriteByte(' ')
	b.WriteString(e.Path)
	b.WriteString(": ")
	b.WriteString(strconv.Itoa(e.StatusCode))
	if len(e.Errors) == 0 {
		if e.Message != "" {
			b.WriteByte(' ')
			b.WriteString(e.Message)
		}
		if e.noQuorum() {
			b.WriteString(" (the cluster has lost quorum: too few of its nodes are online, so PVE refuses changes " +
				"until enough of them are back; pve_cluster_status shows which are offline)")
		}
		return b.String()
	}
	// Our own rendering of "Parameter verification failed." and its map.
	msg := strings.TrimSuffix(e.Message, ".")
	if msg == "" {
		msg = "parameter verification failed"
	}
	b.WriteByte(' ')
	b.WriteString(lowerFirst(msg))
	b.WriteString(": ")
	keys := make([]string, 0, len(e.Errors))
	for k := range e.Errors {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(k)
		b.WriteString(": ")
		b.WriteString(e.Errors[k])
	}
	return b.String()
}

// Is maps the error onto the package's sentinels.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.notFound()
	case ErrLocked:
		return e.StatusCode >= 500 && containsAny(strings.ToLower(e.Message), lockPhrases)
	case ErrPermission:
		return e.StatusCode == http.StatusForbidden ||
			strings.Contains(strings.ToLower(e.Message), "permission check failed")
	case ErrAuthentication:
		return e.StatusCode == http.StatusUnauthorized
	case ErrTransient:
		return e.transient()
	case ErrNoQuorum:
		return e.noQuorum()
	}
	return false
}

func (e *APIError) noQuorum() bool {
	return e.StatusCode >= 500 && strings.Contains(strings.ToLower(e.Message), "no quorum")
}

// Proxy errors of pveproxy, AnyEvent::HTTP's pseudo status codes for the
// request it proxies to another node or to pvedaemon: 595 for failures to
// connect, 596 for failures while sending the request or reading the
// answer's header (its 30 s timeout among them), 597 for failures while
// reading the answer's body.
const (
	statusProxyConnect = 595
	statusProxyRead    = 596
	statusProxyBody    = 597
)

// idParams are the parameters that name the object a call is about, where
// a "does not exist" means the object is missing rather than bad input.
var idParams = map[string]bool{"iface": true, "upid": true, "vmid": true, "storage": true, "id": true}

var (
	// "hostname lookup 'x' failed" is how pveproxy answers for a node name
	// that is not in the cluster's node list: it falls back to DNS to find
	// the node to proxy to, and that fails.
	notFoundPhrases  = []string{"does not exist", "no such ", "not found", "unable to find", "hostname lookup '"}
	lockPhrases      = []string{"can't lock file", "is locked", "lock request timeout"}
	transientPhrases = []string{"got no worker upid", "connection refused", "connection timed out", "connection reset by peer"}
)

func (e *APIError) notFound() bool {
	if e.StatusCode == http.StatusNotFound {
		return true
	}
	// Some handlers report a missing object as a parameter error on the
	// parameter that names it: {"iface": "interface does not exist"},
	// {"upid": "no such task"}.
	if e.StatusCode == http.StatusBadRequest && len(e.Errors) == 1 {
		for k, msg := range e.Errors {
			if idParams[k] && containsAny(strings.ToLower(msg), notFoundPhrases) {
				return true
			}
		}
	}
	return (e.StatusCode == http.StatusInternalServerError || e.StatusCode == statusProxyConnect) &&
		containsAny(strings.ToLower(e.Message), notFoundPhrases)
}

// transient reports whether the same request may succeed if sent again.
func (e *APIError) transient() bool {
	switch e.StatusCode {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout,
		statusProxyConnect, statusProxyRead, statusProxyBody:
		return !e.notFound()
	case http.StatusInternalServerError:
		return containsAny(strings.ToLower(e.Message), transientPhrases)
	}
	return false
}

// unprocessed reports whether the error proves PVE carried nothing out, so
// that even a POST may be sent again: the worker never started, or pveproxy
// could not connect to the node it proxies to.
func (e *APIError) unprocessed() bool {
	msg := strings.ToLower(e.Message)
	return strings.Contains(msg, "got no worker upid") ||
		(e.StatusCode == statusProxyConnect && strings.Contains(msg, "connection refused"))
}

// lockTimeout reports whether the call gave up waiting for a lock before it
// changed anything: a file lock ("can't lock file '...' - got timeout",
// pve-common PVE/Tools.pm lock_file_full, 10 s for a guest's config) or a
// cluster-wide one ("cfs-lock 'domain-ha' error: got lock request timeout",
// pve-cluster PVE/Cluster.pm cfs_lock, which the HA, storage.cfg, mapping
// and user.cfg writers take). Both die before the locked code runs, so any
// method may be sent again. A guest lock written into its configuration
// ("VM is locked (backup)") is no timeout: it lasts as long as the backup.
func (e *APIError) lockTimeout() bool {
	msg := strings.ToLower(e.Message)
	return e.StatusCode >= 500 && (strings.Contains(msg, "can't lock file") && strings.Contains(msg, "got timeout") ||
		strings.Contains(msg, "got lock request timeout"))
}

// retryable reports whether a request with this method that failed with err
// may be sent again. Idempotent methods are retried on any transient
// failure, POST only when the failure proves nothing was carried out; any
// method after a lock timeout.
func retryable(method string, err error) bool {
	var ne *apiclient.NetError
	if errors.As(err, &ne) {
		return ne.Transient && (ne.Unsent || apiclient.Idempotent(method))
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.lockTimeout() || ae.transient() && (apiclient.Idempotent(method) || ae.unprocessed())
	}
	return false
}

func containsAny(s string, phrases []string) bool {
	for _, p := range phrases {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}

func lowerFirst(s string) string {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return s
	}
	return string(s[0]+'a'-'A') + s[1:]
}

// newAPIError builds the error for a non-2xx answer whose body has been read.
func newAPIError(method, path string, res *http.Response, body []byte, now time.Time) *APIError {
	e := &APIError{
		Method:     method,
		Path:       path,
		StatusCode: res.StatusCode,
		Message:    strings.TrimSpace(strings.TrimPrefix(res.Status, strconv.Itoa(res.StatusCode))),
		retryAfter: parseRetryAfter(res.Header.Get("Retry-After"), now),
	}
	var env struct {
		Errors  map[string]json.RawMessage `json:"errors"`
		Message string                     `json:"message"`
	}
	if json.Unmarshal(body, &env) == nil {
		if env.Message != "" && (e.Message == "" || e.Message == http.StatusText(res.StatusCode)) {
			e.Message = strings.TrimSpace(env.Message)
		}
		if len(env.Errors) > 0 {
			e.Errors = make(map[string]string, len(env.Errors))
			for k, raw := range env.Errors {
				var s string
				if json.Unmarshal(raw, &s) != nil {
					s = string(raw)
				}
				e.Errors[k] = strings.TrimSpace(s)
			}
		}
	}
	if e.Message == "" {
		e.Message = http.StatusText(res.StatusCode)
	}
	return e
}

// parseRetryAfter reads a Retry-After header: delay seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil {
		return max(time.Duration(secs)*time.Second, 0)
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0)
	}
	return 0
}
