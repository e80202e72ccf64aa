package bmcsim

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// --- serving -------------------------------------------------------------

// request is a request being served.
type request struct {
	r       *http.Request
	method  string
	path    string // without a trailing slash
	body    []byte
	now     time.Time
	user    string
	session *session
	ops     []hostOp // node operations the request calls for
	allowed []string // the methods of the resource, for the Allow header
}

// response is an answer.
type response struct {
	status int
	body   map[string]any // JSON resource; gets an ETag when etag is set
	raw    []byte         // or raw bytes
	ctype  string         // of raw
	header http.Header
	etag   bool
}

func jsonResponse(status int, body map[string]any) *response {
	return &response{status: status, body: body, etag: status == http.StatusOK || status == http.StatusCreated}
}

func noContent() *response { return &response{status: http.StatusNoContent} }

// openPaths can be read without credentials (DSP0266, and POST of a
// session to log in).
var openPaths = map[string]bool{
	"/redfish": true, "/redfish/v1": true, "/redfish/v1/$metadata": true, "/redfish/v1/odata": true,
}

// ServeHTTP serves the Redfish API.
func (b *BMC) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := &request{r: r, method: r.Method, now: time.Now()}
	if q.method == http.MethodHead {
		q.method = http.MethodGet
	}
	q.path = strings.TrimRight(r.URL.Path, "/")
	if q.path == "" {
		q.path = "/"
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	q.body = body

	b.mu.Lock()
	ops := b.settleLocked(q.now)
	resp, rerr := b.serveLocked(q)
	ops = append(ops, q.ops...)
	b.unlockAndRun(ops)

	if rerr != nil {
		resp = &response{status: rerr.status, body: rerr.body(), header: rerr.header}
	} else if len(q.allowed) > 0 && q.method == http.MethodGet {
		if resp.header == nil {
			resp.header = http.Header{}
		}
		resp.header.Set("Allow", strings.Join(q.allowed, ", "))
	}
	b.write(w, r, resp)
}

// serveLocked answers q. The caller holds mu.
func (b *BMC) serveLocked(q *request) (*response, *apiError) {
	if !strings.HasPrefix(q.path+"/", "/redfish/") {
		return nil, newError(http.StatusNotFound, msg("ResourceMissingAtURI", q.path))
	}
	open := openPaths[q.path] && q.method == http.MethodGet
	login := q.path == "/redfish/v1/SessionService/Sessions" && q.method == http.MethodPost
	if until := b.power.busyUntil; q.now.Before(until) && !open {
		secs := strconv.Itoa(int(math.Ceil(until.Sub(q.now).Seconds())))
		e := newError(http.StatusServiceUnavailable, msg("ServiceTemporarilyUnavailable", secs))
		e.header = http.Header{"Retry-After": {secs}}
		b.busyAnswers++
		return nil, e
	}
	if !open && !login {
		if err := b.authenticateLocked(q); err != nil {
			return nil, err
		}
	}
	for k := range q.r.URL.Query() {
		if strings.HasPrefix(k, "$") {
			return nil, newError(http.StatusNotImplemented, msg("QueryNotSupported"))
		}
	}
	if q.method == http.MethodPost || q.method == http.MethodPatch || q.method == http.MethodPut {
		ct := q.r.Header.Get("Content-Type")
		if ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") && len(q.body) > 0 {
			return nil, newError(http.StatusUnsupportedMediaType, msg("UnrecognizedRequestBody"))
		}
	}
	return b.routeLocked(q)
}

// authenticateLocked checks q's session token or basic credentials.
func (b *BMC) authenticateLocked(q *request) *apiError {
	if token := q.r.Header.Get("X-Auth-Token"); token != "" {
		for t, s := range b.sessions {
			if subtle.ConstantTimeCompare([]byte(t), []byte(token)) == 1 {
				s.lastUsed = q.now
				q.user, q.session = s.user, s
				return nil
			}
		}
		return errNoSession()
	}
	if user, pass, ok := q.r.BasicAuth(); ok {
		if !b.credentialsOK(user, pass) {
			e := newError(http.StatusUnauthorized, msg("ResourceAtUriUnauthorized", q.path, "Invalid username or password"))
			e.header = http.Header{"WWW-Authenticate": {`Basic realm="Redfish"`}}
			return e
		}
		q.user = user
		return nil
	}
	return errNoSession()
}

// write sends resp.
func (b *BMC) write(w http.ResponseWriter, r *http.Request, resp *response) {
	h := w.Header()
	for k, v := range resp.header {
		h[k] = v
	}
	h.Set("OData-Version", "4.0")
	h.Set("Cache-Control", "no-cache")
	var payload []byte
	switch {
	case resp.body != nil:
		if resp.etag {
			tag := etagOf(resp.body)
			resp.body["@odata.etag"] = tag
			h.Set("ETag", tag)
			if inm := r.Header.Get("If-None-Match"); inm != "" && r.Method == http.MethodGet && etagMatches(inm, tag) {
				w.WriteHeader(http.StatusNotModified)
				return
			}
		}
		payload = marshalJSON(resp.body)
		h.Set("Content-Type", "application/json; charset=utf-8")
	case resp.raw != nil:
		payload = resp.raw
		h.Set("Content-Type", resp.ctype)
		if resp.etag {
			sum := sha256.Sum256(payload)
			tag := `"` + strings.ToUpper(hex.EncodeToString(sum[:8])) + `"`
			h.Set("ETag", tag)
			if inm := r.Header.Get("If-None-Match"); inm != "" && r.Method == http.MethodGet && etagMatches(inm, tag) {
				w.WriteHeader(http.StatusNotModified)
				return
			}
		}
	}
	if payload != nil {
		h.Set("Content-Length", strconv.Itoa(len(payload)))
	}
	w.WriteHeader(resp.status)
	if r.Method != http.MethodHead && payload != nil {
		_, _ = w.Write(payload)
	}
}

// marshalJSON encodes v without escaping HTML characters.
func marshalJSON(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic("bmcsim: encode Redfish resource: " + err.Error())
	}
	return bytes.TrimRight(buf.Bytes(), "\n")
}

// etagOf is the ETag of a resource: a hash of its representation (without
// its @odata.etag), as bmcweb computes it.
func etagOf(body map[string]any) string {
	delete(body, "@odata.etag")
	sum := sha256.Sum256(marshalJSON(body))
	return `"` + strings.ToUpper(hex.EncodeToString(sum[:8])) + `"`
}

// etagMatches reports whether an If-Match or If-None-Match header lists tag.
func etagMatches(header, tag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || t == tag || strings.TrimPrefix(t, "W/") == tag {
			return true
		}
	}
	return false
}

// checkIfMatch answers 412 when q has an If-Match that does not match the
// current representation of a resource.
func checkIfMatch(q *request, current map[string]any) *apiError {
	im := q.r.Header.Get("If-Match")
	if im == "" || etagMatches(im, etagOf(current)) {
		return nil
	}
	return errGeneral(http.StatusPreconditionFailed,
		"The ETag supplied in If-Match does not match the current ETag of the resource. Read the resource again and resubmit the request with its current ETag.")
}

// --- request bodies --------------------------------------------------------

// parseObject parses a JSON object body. Annotations (keys with "@") are
// dropped, as DSP0266 lets services ignore them.
func parseObject(body []byte) (map[string]json.RawMessage, *apiError) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil || obj == nil {
		return nil, errMalformedJSON()
	}
	for k := range obj {
		if strings.Contains(k, "@") {
			delete(obj, k)
		}
	}
	return obj, nil
}

// rawText is a JSON value as messages quote it.
func rawText(v json.RawMessage) string { return string(bytes.TrimSpace(v)) }

func asString(v json.RawMessage) (string, bool) {
	var s string
	return s, json.Unmarshal(v, &s) == nil
}

func asBool(v json.RawMessage) (bool, bool) {
	var x bool
	return x, json.Unmarshal(v, &x) == nil
}

func isNull(v json.RawMessage) bool { return rawText(v) == "null" }

// sortedKeys returns the keys of m in order, so that errors are stable.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// formatTime formats t as Redfish date-times are (ISO 8601 with offset).
func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05+00:00") }
