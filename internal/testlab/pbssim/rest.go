package pbssim

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/sim"
)

// The request pipeline of proxmox-rest-server (rest.rs, formatter.rs) as
// proxmox-backup-proxy runs it:
//
//  1. the path is normalised; a component starting with "." is refused;
//     path and query together may be 3072 bytes;
//  2. /api2/<format>/...: "json" or "extjs"; anything outside /api2 is
//     a static file (the lab has none);
//  3. the method is looked up in the router;
//  4. authentication, unless the method is open to the world: 401
//     "authentication failed - <why>", with no Content-Type;
//  5. no method: 404 "Path '<path>' not found.";
//  6. parameters: form body, query and path (parse_parameter_strings) or a
//     JSON body (verify_json); errors are a ParameterError, 400;
//  7. the handler; its error becomes the body text, with status 400 unless
//     it is an HttpError.
//
// The json formatter answers {"data": ...} plus the result attributes
// (e.g. "digest", "total") on success and the bare error message as body
// on failure, with Content-Type application/json either way.

// handlerFunc serves one PBS API method.
type handlerFunc func(r *request) (any, error)

// request is a call as a handler sees it.
type request struct {
	Method   string
	Path     string // below /api2/json
	Template string
	Params   map[string]any // typed: string, int64, float64, bool, []any
	AuthID   string         // "root@pam" or "root@pam!token"
	// attrs are result attributes added next to "data" (rpcenv[...]).
	attrs map[string]any
	// header is the raw request, for handlers that need it (the ticket call).
	header http.Header
}

func (r *request) str(name string) (string, bool) {
	v, ok := r.Params[name].(string)
	return v, ok
}

// boolean returns a boolean parameter (also from a string, for a
// simulator running without schema).
func (r *request) boolean(name string, def bool) bool {
	switch v := r.Params[name].(type) {
	case bool:
		return v
	case string:
		if b, err := parseBoolean(v); err == nil {
			return b
		}
	}
	return def
}

// integer returns an integer parameter (also from a string, for a
// simulator running without schema).
func (r *request) integer(name string) (int64, bool) {
	switch v := r.Params[name].(type) {
	case int64:
		return v, true
	case string:
		if n, err := parseRustInt(v); err == nil {
			return n, true
		}
	}
	return 0, false
}

// httpError is proxmox-router's HttpError: an answer with a status.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func httpErr(status int, format string, args ...any) error {
	return &httpError{status: status, msg: fmt.Sprintf(format, args...)}
}

// rawResponse is an answer a handler writes itself (ApiHandler::AsyncHttp).
type rawResponse struct {
	ctype   string
	body    []byte
	headers [][2]string
}

// --- router ---------------------------------------------------------------

type endpoint struct {
	schema  *apiMethod
	handler handlerFunc
	world   bool
}

type routeNode = sim.Node[*endpoint]

// router is proxmox-router's Router tree: literal subdirectories before
// the match_all parameter, no backtracking.
type router struct {
	tree *sim.Tree[*endpoint]
}

func newRouter(schema *apiSchema) *router {
	rt := &router{tree: sim.NewTree[*endpoint]("pbssim: PBS path")}
	if schema != nil {
		for _, dir := range schema.dirs {
			rt.insert(dir)
		}
		for path, methods := range schema.methods {
			n := rt.insert(path)
			for m, ms := range methods {
				n.Methods[m] = &endpoint{schema: ms, world: ms.world}
			}
		}
	}
	return rt
}

func (rt *router) insert(template string) *routeNode { return rt.tree.Insert(template) }

// handle registers a handler; world marks methods without authentication
// (used when no schema says so).
func (rt *router) handle(method, template string, h handlerFunc, world bool) {
	n := rt.insert(template)
	e := n.Methods[method]
	if e == nil {
		e = &endpoint{world: world}
		n.Methods[method] = e
	}
	e.handler = h
	if e.schema == nil {
		e.world = world
	}
}

func (rt *router) match(comps []string) (*routeNode, map[string]string) {
	return rt.tree.Match(comps)
}

// served returns "METHOD /template" for every route with a handler, the
// root named "/" as the schemas do.
func (rt *router) served() []string {
	var out []string
	rt.tree.Walk(func(n *routeNode) {
		for m, e := range n.Methods {
			if e.handler != nil {
				t := n.Template()
				if t == "" {
					t = "/"
				}
				out = append(out, m+" "+t)
			}
		}
	})
	slices.Sort(out)
	return out
}

// registerSubdirListings gives every schema directory whose GET is a
// list_subdirs_api_method (no parameters, additional properties allowed)
// its listing, unless a handler is registered.
func (rt *router) registerSubdirListings() {
	rt.tree.Walk(func(n *routeNode) {
		literals := n.Literals()
		if e := n.Methods[http.MethodGet]; e != nil && e.handler == nil && e.schema != nil && e.schema.params != nil &&
			e.schema.params.AdditionalProperties && len(e.schema.params.Properties) == 0 && len(literals) > 0 {
			names := slices.Sorted(slices.Values(literals))
			e.handler = func(*request) (any, error) {
				out := []map[string]any{}
				for _, c := range names {
					out = append(out, map[string]any{"subdir": c})
				}
				return out, nil
			}
		}
	})
}

// --- the pipeline ----------------------------------------------------------

// jsonContentType is proxmox-rest-server's JSON_CONTENT_TYPE.
const jsonContentType = "application/json;charset=UTF-8"

const (
	maxURIQueryLength = 3072
	maxBody           = 64 * 1024
)

// worldMethods lists the methods open to the world when there is no schema.
var worldMethods = map[string]bool{
	"POST /access/ticket": true, "DELETE /access/ticket": true, "GET /ping": true, "GET /access/domains": true,
}

// proxyConnectError is how a PBS fails a call when proxmox-backup-proxy
// cannot hand it to proxmox-backup-api (the daemon restarting, after an
// update say): proxmox-rest-server's proxy_protected_request passes hyper's
// error up, and the formatter answers an error without an HTTP code as 400.
// PBS has no pveproxy, so it never answers 596: a transient failure a
// fault (Faults.SetErrorRate, pvelab -error-rate) injects takes this form.
const proxyConnectError = "error trying to connect: tcp connect error: Connection refused (os error 111)"

// plainError is an error answered outside the formatter (ApiService's
// error path): the message as body, no Content-Type.
func plainError(status int, msg string) *sim.Response {
	return &sim.Response{Status: status, Body: []byte(msg)}
}

// serve answers one request.
func (s *Server) serve(req *http.Request) *sim.Response {
	if d := s.faults.RequestLatency(); d > 0 {
		time.Sleep(d)
	}
	if s.faults.Drop() {
		return &sim.Response{Drop: true}
	}
	var comps []string
	for _, c := range strings.Split(req.URL.Path, "/") {
		if c == "" {
			continue
		}
		if strings.HasPrefix(c, ".") {
			return plainError(http.StatusBadRequest, "Path contains illegal components.")
		}
		comps = append(comps, c)
	}
	fullPath := "/" + strings.Join(comps, "/")
	if len(fullPath)+len(req.URL.RawQuery) > maxURIQueryLength {
		return &sim.Response{Status: http.StatusRequestURITooLong}
	}
	if len(comps) == 0 || comps[0] != "api2" {
		if req.Method != http.MethodGet {
			return plainError(http.StatusBadRequest, "invalid http method for path")
		}
		if len(comps) == 0 { // the GUI's index page
			return &sim.Response{Status: http.StatusOK, CType: "text/html; charset=utf-8", Body: []byte("<!DOCTYPE html>\n<html><head><title>" + s.hostname + " - Proxmox Backup Server</title></head><body></body></html>\n")}
		}
		return plainError(http.StatusNotFound, fmt.Sprintf("no such file: '%s'", strings.Join(comps, "/")))
	}
	if len(comps) == 1 {
		return plainError(http.StatusNotFound, fmt.Sprintf("invalid api path '%s'", fullPath))
	}
	format := comps[1]
	if format != "json" && format != "extjs" {
		return plainError(http.StatusBadRequest, fmt.Sprintf("Unsupported output format '%s'.", format))
	}
	rel := "/" + strings.Join(comps[2:], "/")

	node, uriParams := s.routes.match(comps[2:])
	var ep *endpoint
	if node != nil {
		ep = node.Methods[req.Method]
	}
	key := rel
	if node != nil {
		key = node.Template()
		if key == "" {
			key = "/"
		}
	}
	s.stats.Inc(req.Method + " " + key)

	world := ep != nil && (ep.world || (ep.schema == nil && worldMethods[req.Method+" "+key]))
	authID := ""
	if !world {
		id, err := s.checkAuth(req)
		if err != nil {
			resp := plainError(http.StatusUnauthorized, "authentication failed - "+err.Error())
			resp.Delay = s.faults.AuthFailureDelay()
			return resp
		}
		authID = id
	}
	if ep == nil {
		return s.formatError(format, httpErr(http.StatusNotFound, "Path '%s' not found.", fullPath))
	}
	if !(req.Method == http.MethodPost && key == "/access/ticket") {
		if status, reason, ok := s.faults.RequestFailure(); ok {
			if status == sim.TransientStatus {
				status, reason = http.StatusBadRequest, proxyConnectError
			}
			return s.formatError(format, httpErr(status, "%s", reason))
		}
	}
	if ep.handler == nil {
		s.logf("pbssim: PBS %s %s is in the schema but the simulator does not implement it", req.Method, key)
		return s.formatError(format, httpErr(http.StatusNotImplemented, "%s %s is not implemented by the PBS simulator", req.Method, key))
	}

	params, err := s.requestParams(req, ep, uriParams, key)
	if err != nil {
		return s.formatError(format, err)
	}
	r := &request{Method: req.Method, Path: rel, Template: key, Params: params, AuthID: authID, attrs: map[string]any{}, header: req.Header}
	data, err := s.callHandler(ep.handler, r)
	if !(req.Method == http.MethodPost && key == "/access/ticket") && s.faults.AnswerLost(req.Method, rel) {
		return &sim.Response{Drop: true} // carried out, answer lost
	}
	if err != nil {
		resp := s.formatError(format, err)
		var he *httpError
		if errors.As(err, &he) && he.status == http.StatusUnauthorized {
			resp.Delay = s.faults.AuthFailureDelay()
		}
		return resp
	}
	if raw, ok := data.(*rawResponse); ok {
		return &sim.Response{Status: http.StatusOK, CType: raw.ctype, Body: raw.body, Headers: raw.headers}
	}
	return s.formatData(format, data, r.attrs)
}

func (s *Server) callHandler(h handlerFunc, r *request) (data any, err error) {
	defer func() {
		if v := recover(); v != nil {
			s.logf("pbssim: PBS handler for %s %s panicked: %v", r.Method, r.Template, v)
			data, err = nil, httpErr(http.StatusInternalServerError, "internal error: %v", v)
		}
	}()
	return h(r)
}

// requestParams is get_request_parameters: the body (form or JSON), the
// query string (without "_dc") and the path parameters, checked against
// the method's schema. Without a schema the values stay strings.
func (s *Server) requestParams(req *http.Request, ep *endpoint, uriParams map[string]string, key string) (map[string]any, error) {
	isJSON := false
	if ct := req.Header.Get("Content-Type"); ct != "" {
		switch strings.TrimSpace(strings.Split(ct, ";")[0]) {
		case "application/x-www-form-urlencoded":
		case "application/json":
			isJSON = true
		default:
			return nil, fmt.Errorf("unsupported content type Ok(%q)", ct)
		}
	}
	var body []byte
	if req.Body != nil && !(req.Method == http.MethodGet && key == "/nodes/{node}/tasks/{upid}/log") {
		b, err := io.ReadAll(io.LimitReader(req.Body, maxBody+1))
		if err != nil {
			return nil, httpErr(http.StatusBadRequest, "Problems reading request body: %s", err)
		}
		if len(b) >= maxBody {
			return nil, httpErr(http.StatusBadRequest, "Request body too large")
		}
		if !utf8.Valid(b) {
			return nil, errors.New("Request body not uft8: invalid utf-8 sequence")
		}
		body = b
	}
	uriNames := slices.Sorted(func(yield func(string) bool) {
		for k := range uriParams {
			if !yield(k) {
				return
			}
		}
	})
	var schema *propSchema
	if ep.schema != nil {
		schema = ep.schema.params
	}

	if isJSON {
		params := map[string]any{}
		if len(bytes.TrimSpace(body)) > 0 {
			dec := json.NewDecoder(bytes.NewReader(body))
			dec.UseNumber()
			var v any
			if err := dec.Decode(&v); err != nil {
				return nil, fmt.Errorf("%s", jsonErrorText(err)) // guessed: serde_json's wording differs
			}
			obj, ok := v.(map[string]any)
			if !ok {
				return nil, errors.New("invalid type: expected a JSON object") // guessed
			}
			params = obj
		}
		for _, k := range uriNames {
			if schema != nil {
				if ps := schema.Properties[k]; ps != nil {
					v, err := parseSimpleValue(uriParams[k], ps)
					if err != nil {
						return nil, err
					}
					params[k] = v
				}
				continue
			}
			params[k] = uriParams[k]
		}
		if schema != nil {
			if err := verifyJSON(params, schema); err != nil {
				return nil, err
			}
		}
		normalizeJSON(params)
		return params, nil
	}

	pairs := formPairs(string(body))
	for _, kv := range formPairs(req.URL.RawQuery) {
		if kv.k == "_dc" {
			continue
		}
		pairs = append(pairs, kv)
	}
	for _, k := range uriNames {
		pairs = append(pairs, keyValue{k, uriParams[k]})
	}
	if schema != nil {
		return parseParameterStrings(pairs, schema)
	}
	params := map[string]any{}
	for _, kv := range pairs {
		switch old := params[kv.k].(type) {
		case nil:
			params[kv.k] = kv.v
		case string:
			params[kv.k] = []any{old, kv.v}
		case []any:
			params[kv.k] = append(old, kv.v)
		}
	}
	return params, nil
}

// formPairs is form_urlencoded::parse: pairs separated by '&', '+' as
// space, invalid escapes kept, invalid UTF-8 replaced.
func formPairs(data string) []keyValue {
	var out []keyValue
	for _, part := range strings.Split(data, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		out = append(out, keyValue{sim.UnescapeForm(k), sim.UnescapeForm(v)})
	}
	return out
}

// jsonErrorText renders a JSON syntax error (guessed; serde_json says e.g.
// "expected value at line 1 column 1").
func jsonErrorText(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%s at offset %d", se.Error(), se.Offset)
	}
	return err.Error()
}

// formatData renders a result with the json or extjs formatter.
func (s *Server) formatData(format string, data any, attrs map[string]any) *sim.Response {
	body := map[string]any{"data": data}
	if format == "extjs" {
		body["success"] = true
	}
	for k, v := range attrs {
		body[k] = v
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return plainError(http.StatusInternalServerError, "unable to encode response: "+err.Error())
	}
	return &sim.Response{Status: http.StatusOK, CType: jsonContentType, Body: raw}
}

// formatError renders an error: the json formatter sends the message as
// the body with the HttpError's status or 400; the extjs formatter answers
// 200 with success false.
func (s *Server) formatError(format string, err error) *sim.Response {
	if format == "extjs" {
		msg := err.Error()
		errs := map[string]string{}
		var pe *paramError
		if errors.As(err, &pe) {
			for i, n := range pe.names {
				errs[n] = pe.msgs[i]
			}
			msg = "parameter verification errors"
		}
		raw, _ := json.Marshal(map[string]any{"message": msg, "errors": errs, "success": false})
		return &sim.Response{Status: http.StatusOK, CType: jsonContentType, Body: raw}
	}
	status := http.StatusBadRequest
	var he *httpError
	if errors.As(err, &he) {
		status = he.status
	}
	return &sim.Response{Status: status, CType: jsonContentType, Body: []byte(err.Error())}
}

// writeResponse writes an answer the way hyper does for
// proxmox-rest-server: the canonical reason phrase, lower-case header
// names, a deflate body when the client accepts it.
func writeResponse(w *bufio.Writer, req *http.Request, resp *sim.Response, keep bool) {
	body := resp.Body
	deflated := false
	if len(body) > 0 && acceptsDeflate(req.Header.Get("Accept-Encoding")) && resp.CType != "" {
		var buf bytes.Buffer
		zw := zlib.NewWriter(&buf)
		_, _ = zw.Write(body)
		_ = zw.Close()
		body, deflated = buf.Bytes(), true
	}
	fmt.Fprintf(w, "HTTP/1.1 %d %s\r\n", resp.Status, http.StatusText(resp.Status))
	if resp.CType != "" {
		fmt.Fprintf(w, "content-type: %s\r\n", resp.CType)
	}
	for _, h := range resp.Headers {
		fmt.Fprintf(w, "%s: %s\r\n", h[0], h[1])
	}
	if deflated {
		fmt.Fprintf(w, "content-encoding: deflate\r\n")
	}
	if !keep {
		fmt.Fprintf(w, "connection: close\r\n")
	}
	fmt.Fprintf(w, "content-length: %d\r\ndate: %s\r\n\r\n", len(body), time.Now().UTC().Format(http.TimeFormat))
	_, _ = w.Write(body)
}

// acceptsDeflate is extract_compression_method: only deflate is offered.
func acceptsDeflate(h string) bool {
	for _, enc := range strings.FieldsFunc(h, func(r rune) bool { return r == ',' || r == ' ' }) {
		if enc == "deflate" || strings.HasPrefix(enc, "deflate;q=") {
			return true
		}
	}
	return false
}
