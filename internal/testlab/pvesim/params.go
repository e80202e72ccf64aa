package pvesim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/perl"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/sim"
)

// Request is an API call as a handler sees it.
type Request struct {
	Context    context.Context
	Method     string
	Path       string            // path below /api2/json, e.g. "/nodes/pve1/status"
	Template   string            // matched template, e.g. "/nodes/{node}/status"
	PathParams map[string]string // values of the {name} segments
	// Params holds all parameters (query, body and path) as PVE sees them:
	// strings from forms and query strings; string, json.Number, bool,
	// []any or map[string]any from JSON bodies; array parameters as []any.
	Params map[string]any
	User   string // authenticated user, e.g. "root@pam"
	// TokenID is the API token ("root@pam!lab") when the call used one.
	TokenID string
	// LocalNode is the node the handler runs on: the node whose endpoint
	// received the call or, for a call proxied to the node in its path, that
	// node.
	LocalNode string
	// Upload is the file of a multipart upload (POST .../upload), which
	// pveproxy writes to the temporary file named in Params["tmpfilename"].
	Upload *uploadedFile
}

// String returns a parameter as PVE's Perl code sees it: numbers in their
// shortest form, JSON booleans as "1" or "0".
func (r *Request) String(name string) (string, bool) {
	v := r.Params[name]
	if v == nil {
		return "", false
	}
	s, ok := perl.Scalar(v)
	return s, ok
}

// Int returns an integer parameter, or def when it is not set.
func (r *Request) Int(name string, def int64) (int64, error) {
	s, ok := r.String(name)
	if !ok {
		return def, nil
	}
	n, err := strconv.ParseInt(strings.TrimPrefix(s, "+"), 10, 64)
	if err != nil {
		return 0, ParamError(map[string]string{name: fmt.Sprintf("type check ('integer') failed - got '%s'", s)})
	}
	return n, nil
}

// Bool returns a boolean parameter, or def when it is not set.
func (r *Request) Bool(name string, def bool) bool {
	s, ok := r.String(name)
	if !ok {
		return def
	}
	return s == "1"
}

// APIError is an error answer of the API: the HTTP status, the message
// (which also becomes the status line) and, for parameter errors, the
// per-parameter messages.
type APIError struct {
	Status  int
	Message string
	Errors  map[string]string
}

func (e *APIError) Error() string {
	msg := strings.TrimSuffix(e.Message, "\n")
	for _, k := range slices.Sorted(maps.Keys(e.Errors)) {
		msg += "; " + k + ": " + strings.TrimSuffix(e.Errors[k], "\n")
	}
	return fmt.Sprintf("%d %s", e.Status, msg)
}

// Errorf returns an *APIError like PVE's die with a message: PVE messages
// end with a newline, which Errorf adds when missing.
func Errorf(status int, format string, args ...any) *APIError {
	msg := fmt.Sprintf(format, args...)
	if !strings.HasSuffix(msg, "\n") {
		msg += "\n"
	}
	return &APIError{Status: status, Message: msg}
}

// ParamError returns the error PVE's raise_param_exc produces: HTTP 400
// "Parameter verification failed." with per-parameter messages.
func ParamError(errs map[string]string) *APIError {
	return &APIError{Status: 400, Message: "Parameter verification failed.\n", Errors: errs}
}

// Listing is returned by handlers whose answer carries result attributes
// next to "data": PVE's formatter (prepare_response_data) adds "total"
// (task lists, task logs) and "changes" (the pending network changes)
// when they are set and not empty or zero.
type Listing struct {
	Data    any
	Total   int
	Changes string
}

// decodeURLEncoded decodes a query string or form body like pveproxy's
// decode_urlencoded: pairs separated by '&' or ';', '+' as space, repeated
// keys joined with NUL, a key without '=' has no value.
func decodeURLEncoded(data string) map[string]any {
	res := map[string]any{}
	for _, kv := range strings.FieldsFunc(data, func(r rune) bool { return r == '&' || r == ';' }) {
		k, v, hasValue := strings.Cut(kv, "=")
		k = sim.UnescapeForm(k)
		if !hasValue {
			res[k] = nil
			continue
		}
		v = sim.UnescapeForm(v)
		if old, ok := res[k].(string); ok {
			v = old + "\x00" + v
		}
		res[k] = v
	}
	return res
}

// decodeJSONBody decodes a JSON request body into parameters. Like
// pveproxy's decode_json it fails on anything but a JSON object.
func decodeJSONBody(body []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		if len(bytes.TrimSpace(body)) == 0 {
			return nil, fmt.Errorf("malformed JSON string, neither tag, array, object, number, string or atom, at character offset 0 (before \"(end of string)\")")
		}
		return nil, fmt.Errorf("malformed JSON string: %v", err)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("Not a HASH reference")
	}
	return obj, nil
}

// queryParams decodes the query string of u.
func queryParams(u *url.URL) map[string]any { return decodeURLEncoded(u.RawQuery) }
