package pbs

import (
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hcilab/terraform-provider-pve/internal/apiclient"
)

// Sentinel errors. Every error this package returns for a failed API call
// matches at most a few of these with errors.Is; callers never need to look
// at message text.
var (
	// ErrNotFound: the object does not exist. PBS answers 404 ("datastore
	// 'x' does not exist.", "job 'x' does not exist.") or, where a handler
	// looks the object up in its section config, 400 "no such datastore
	// 'x'" (also "no such prune 'x'" for a prune job). A 404 for an API path PBS does not know ("Path '...' not
	// found.") is not ErrNotFound: the server is too old for the call, the
	// object may well exist.
	ErrNotFound = errors.New("not found")
	// ErrAuthentication: the credentials were rejected (HTTP 401).
	ErrAuthentication = errors.New("authentication failed")
	// ErrPermission: the credentials lack a privilege (HTTP 403 "permission
	// check failed", or 400 "missing permissions '...' on '/...'").
	ErrPermission = errors.New("permission denied")
	// ErrTransient: a failure that may pass on its own (HTTP 502, 503, 504,
	// a dropped connection, or proxmox-backup-proxy failing to reach the
	// privileged proxmox-backup-api daemon while it restarts). The
	// transport has already retried idempotent requests before returning it.
	ErrTransient = apiclient.ErrTransient
	// ErrConflict: the write collides with the current state: the config
	// digest sent with it is stale ("detected modified configuration - file
	// changed by other user? Try again."), or the object already exists.
	ErrConflict = errors.New("conflict")
	// ErrLocked: PBS could not take a config lock within its 10 s timeout
	// ("Unable to acquire lock ..."). Nothing was changed; the transport
	// has already sent the request again (any method) before returning it.
	ErrLocked = errors.New("locked")
	// ErrUnreachable: no connection could be made to the endpoint (the
	// request was never sent).
	ErrUnreachable = apiclient.ErrUnreachable
)

// APIError is a non-2xx answer from the PBS API. PBS (proxmox-rest-server)
// puts its message as plain text in the body, under a JSON content type, and
// the standard reason phrase in the status line. Errors without an HTTP code
// of their own are 400. Parameter errors are the same text, "parameter
// verification failed - 'name': message" or a "- 'name': message" line per
// parameter; they are also parsed into Errors.
type APIError struct {
	Method     string            // HTTP method
	Path       string            // API path without the /api2/json prefix, e.g. /config/datastore/store1
	StatusCode int               // HTTP status code
	Message    string            // PBS's message: the body text
	Errors     map[string]string // per-parameter messages of a parameter error

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
		return b.String()
	}
	b.WriteString(" parameter verification failed: ")
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
	case ErrAuthentication:
		return e.StatusCode == http.StatusUnauthorized
	case ErrPermission:
		return e.permission()
	case ErrTransient:
		return e.transient()
	case ErrConflict:
		return e.StatusCode != http.StatusUnauthorized && conflictMessage(e.text())
	case ErrLocked:
		return e.StatusCode != http.StatusUnauthorized && lockedMessage(e.text())
	}
	return false
}

// text is the message and the parameter errors, lower-cased, for matching.
func (e *APIError) text() string {
	s := strings.ToLower(e.Message)
	for k, v := range e.Errors {
		s += "\n" + strings.ToLower(k) + ": " + strings.ToLower(v)
	}
	return s
}

var (
	// "no such datastore 'x'", "no such prune 'x'": SectionConfigData::lookup.
	noSuchObject = regexp.MustCompile(`(?:^|[\s:-])no such [a-z][a-z0-9_-]* '`)
	// "datastore 'x' does not exist.", "job 'x' does not exist.".
	doesNotExist = regexp.MustCompile(`'[^']*' does not exist`)
	// "Path '/api2/json/x' not found.": the router has no such API path.
	unknownPath = regexp.MustCompile(`^path '[^']*' not found\.?$`)
)

func (e *APIError) notFound() bool {
	msg := e.text()
	switch e.StatusCode {
	case http.StatusNotFound:
		return !unknownPath.MatchString(strings.TrimSpace(strings.ToLower(e.Message)))
	case http.StatusBadRequest, http.StatusInternalServerError:
		// PBS 4 answers "'x' does not exist" with 404; before, a DELETE
		// answered it with 400. Elsewhere the phrase may well be about
		// something else than the object (a path, a user).
		return noSuchObject.MatchString(msg) || (e.Method == http.MethodDelete && doesNotExist.MatchString(msg))
	}
	return false
}

func (e *APIError) permission() bool {
	if e.StatusCode == http.StatusForbidden {
		return true
	}
	if e.StatusCode == http.StatusUnauthorized {
		// A failed login answers 401 "permission check failed.": that is
		// ErrAuthentication.
		return false
	}
	msg := e.text()
	return strings.Contains(msg, "missing permissions '") || strings.Contains(msg, "permission check failed")
}

// transient reports whether the same request may succeed if sent again.
func (e *APIError) transient() bool {
	switch e.StatusCode {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	case http.StatusBadRequest, http.StatusInternalServerError:
		return e.unprocessed()
	}
	return false
}

// unprocessed reports whether the error proves PBS carried nothing out, so
// that even a POST may be sent again: proxmox-backup-proxy could not connect
// to proxmox-backup-api (restarting after an update, say), to which it hands
// every protected call. hyper's error reads "error trying to connect: tcp
// connect error: Connection refused (os error 111)"; the proxy answers it
// with 400.
func (e *APIError) unprocessed() bool {
	return strings.Contains(strings.ToLower(e.Message), "error trying to connect")
}

func conflictMessage(msg string) bool {
	return strings.Contains(msg, "detected modified configuration") || strings.Contains(msg, "already exists")
}

func lockedMessage(msg string) bool {
	return strings.Contains(msg, "unable to acquire lock") || strings.Contains(msg, "unable to aquire lock")
}

// retryable reports whether a request with this method that failed with err
// may be sent again. Idempotent methods (GET, PUT, DELETE) are retried on
// any transient failure, POST only when the failure proves nothing was
// carried out. This is internal/pve's policy: PBS's PUTs replace values (and
// carry the digest where it matters), and a repeated DELETE of an object
// the first one removed answers "does not exist", which callers treat as
// gone.
func retryable(method string, err error) bool {
	var ne *apiclient.NetError
	if errors.As(err, &ne) {
		return ne.Transient && (ne.Unsent || apiclient.Idempotent(method))
	}
	var ae *APIError
	if errors.As(err, &ae) {
		// A config lock that timed out (pbs-config open_backup_lockfile,
		// taken first thing by every config writer) proves nothing was done.
		return ae.StatusCode != http.StatusUnauthorized && lockedMessage(ae.text()) ||
			ae.transient() && (apiclient.Idempotent(method) || ae.unprocessed())
	}
	return false
}

// maxMessage caps the message kept from an error body.
const maxMessage = 4 << 10

// paramErrorPrefix starts the text of proxmox-schema's ParameterError.
const paramErrorPrefix = "parameter verification failed"

// newAPIError builds the error for a non-2xx answer whose body has been read.
func newAPIError(method, path string, res *http.Response, body []byte, now time.Time) *APIError {
	e := &APIError{
		Method:     method,
		Path:       path,
		StatusCode: res.StatusCode,
		retryAfter: parseRetryAfter(res.Header.Get("Retry-After"), now),
	}
	e.Message = bodyMessage(res, body)
	if e.Message == "" {
		// The reason phrase: PBS's is the standard one, a proxy's may say more.
		e.Message = strings.TrimSpace(strings.TrimPrefix(res.Status, strconv.Itoa(res.StatusCode)))
	}
	if e.Message == "" {
		e.Message = http.StatusText(res.StatusCode)
	}
	if errs := parseParameterErrors(e.Message); len(errs) > 0 && len(e.Errors) == 0 {
		e.Errors = errs
	}
	return e
}

// bodyMessage extracts the message of an error body: PBS's plain text, the
// "message" (and "errors") of an ExtJS-style JSON body, or nothing for an
// HTML page of a reverse proxy or a body that is not text.
func bodyMessage(res *http.Response, body []byte) string {
	text := strings.TrimSpace(string(body))
	if text == "" || !utf8.ValidString(text) {
		return ""
	}
	if mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type")); mt == "text/html" {
		return ""
	}
	if strings.HasPrefix(text, "{") {
		var env struct {
			Message string                     `json:"message"`
			Errors  map[string]json.RawMessage `json:"errors"`
		}
		if json.Unmarshal(body, &env) == nil {
			msg := strings.TrimSpace(env.Message)
			if len(env.Errors) > 0 {
				keys := make([]string, 0, len(env.Errors))
				for k := range env.Errors {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				var b strings.Builder
				b.WriteString(paramErrorPrefix + ":")
				for _, k := range keys {
					var s string
					if json.Unmarshal(env.Errors[k], &s) != nil {
						s = string(env.Errors[k])
					}
					b.WriteString("\n- '" + k + "': " + strings.TrimSpace(s))
				}
				return b.String()
			}
			return msg
		}
	}
	if len(text) > maxMessage {
		text = strings.ToValidUTF8(text[:maxMessage], "") + "..."
	}
	return text
}

// parseParameterErrors reads proxmox-schema's rendering of a ParameterError:
//
//	parameter verification failed - 'name': message
//	parameter verification failed:
//	- 'name': message
//	- 'other': message
//
// A line that does not start a new "- 'name':" entry continues the one
// before it.
func parseParameterErrors(msg string) map[string]string {
	rest, ok := strings.CutPrefix(msg, paramErrorPrefix)
	if !ok {
		return nil
	}
	out := map[string]string{}
	if single, ok := strings.CutPrefix(rest, " - '"); ok {
		name, text, ok := strings.Cut(single, "': ")
		if !ok {
			return nil
		}
		out[name] = strings.TrimSpace(text)
		return out
	}
	rest, ok = strings.CutPrefix(rest, ":")
	if !ok {
		return nil
	}
	last := ""
	for _, line := range strings.Split(rest, "\n") {
		if entry, ok := strings.CutPrefix(strings.TrimSpace(line), "- '"); ok {
			if name, text, ok := strings.Cut(entry, "': "); ok {
				out[name] = strings.TrimSpace(text)
				last = name
				continue
			}
		}
		if last != "" && strings.TrimSpace(line) != "" {
			out[last] += "\n" + strings.TrimSpace(line)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
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
