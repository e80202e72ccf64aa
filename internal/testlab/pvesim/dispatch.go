package pvesim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/perl"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/pveschema"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/sim"
)

// The request pipeline, in the order pveproxy (PVE::APIServer::AnyEvent and
// PVE::HTTPServer) goes through it:
//
//  1. request line and headers: unknown methods, transfer encodings;
//  2. /api2/<format>/<path>: anything else is "no such file"/"no such uri";
//  3. authentication (401, held back like pveproxy holds it back);
//  4. body: only for POST/PUT, at most 64 KiB, form or JSON;
//  5. the REST handler: find the method (501), merge path parameters
//     (duplicates are 400), API token permission (403), proxy to the node
//     named in the path (500 for unknown nodes), parameter verification
//     (400), then the method itself.

const maxPostSize = 64 * 1024 // pveproxy's $limit_max_post

const jsonContentType = "application/json;charset=UTF-8"

var apiPathRE = regexp.MustCompile(`^/api2/+([a-z][a-z0-9]+)(/.*)?$`)

// plainError is an answer pveproxy gives before an API handler runs: the
// message is the status line and, since libpve-http-server-perl 5.2, also
// the body.
func plainError(status int, msg string) *sim.Response {
	first, _, _ := strings.Cut(msg, "\n")
	return &sim.Response{Status: status, Reason: first, CType: "text/plain;charset=UTF-8", Body: []byte(first)}
}

// serveRequest answers one HTTP request that reached node local.
func (p *PVE) serveRequest(req *http.Request, local string) *sim.Response {
	if d := p.faults.RequestLatency(); d > 0 {
		time.Sleep(d)
	}
	if p.faults.Drop() {
		return &sim.Response{Drop: true}
	}
	switch req.Method {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete:
	default:
		return plainError(http.StatusNotImplemented, fmt.Sprintf("method '%s' not available", req.Method))
	}
	if len(req.TransferEncoding) > 0 {
		if strings.EqualFold(req.TransferEncoding[0], "chunked") {
			return plainError(http.StatusNotImplemented, "chunked transfer encoding not supported")
		}
		return plainError(http.StatusNotImplemented, fmt.Sprintf("Unknown transfer encoding '%s'", req.TransferEncoding[0]))
	}
	path := req.URL.Path
	if !strings.HasPrefix(path, "/api2") {
		return plainError(http.StatusNotImplemented, fmt.Sprintf("no such file '%s'", path))
	}
	m := apiPathRE.FindStringSubmatch(path)
	if m == nil {
		return plainError(http.StatusNotImplemented, "no such uri")
	}
	format, rel := m[1], m[2]
	if rel == "" {
		rel = "/"
	}

	node, pathParams := p.routes.match(rel)
	p.lab.stats.Inc(req.Method + " " + requestKey(node, rel))

	auth, aerr := p.authenticate(req, rel)
	if aerr != nil {
		resp := plainError(aerr.Status, aerr.Message)
		resp.Delay = p.faults.AuthFailureDelay()
		return resp
	}

	if req.ContentLength != 0 && req.Method != http.MethodPost && req.Method != http.MethodPut {
		return plainError(http.StatusNotImplemented, fmt.Sprintf("Unexpected content for method '%s'", req.Method))
	}
	upload := isUploadCall(req.Method, rel)
	if req.ContentLength > maxPostSize && !upload {
		return plainError(http.StatusNotImplemented, "for data too large")
	}
	if format != "json" {
		p.logOnce("format:"+format, "pvesim: API format %q requested; the lab serves only json", format)
		return plainError(http.StatusNotImplemented, fmt.Sprintf("no formatter for uri %s, %s", rel, format))
	}
	var params map[string]any
	var upl *uploadedFile
	var perr *sim.Response
	if upload && req.ContentLength != 0 {
		params, upl, perr = readUpload(req) // storage_upload.go
	} else {
		params, perr = p.requestParams(req)
	}
	if perr != nil {
		return perr
	}

	if rel != "/access/ticket" {
		if status, reason, ok := p.faults.RequestFailure(); ok {
			if status >= 590 { // a proxy failure: no JSON from a handler
				return plainError(status, reason)
			}
			return p.render(&APIError{Status: status, Message: reason})
		}
	}

	r := &Request{
		Context:    req.Context(),
		Method:     req.Method,
		Path:       rel,
		PathParams: pathParams,
		Params:     params,
		User:       auth.user,
		LocalNode:  local,
		Upload:     upl,
	}
	if strings.Contains(auth.user, "!") {
		r.TokenID = auth.user
	}
	data, err := p.restHandle(r, node, auth)
	if rel != "/access/ticket" && p.faults.AnswerLost(req.Method, rel) {
		return &sim.Response{Drop: true} // carried out, answer lost
	}
	var pe *proxyError
	if errors.As(err, &pe) {
		return plainError(pe.status, pe.reason)
	}
	if err != nil {
		data = err
	}
	resp := p.render(data)
	if resp.Status == http.StatusUnauthorized {
		resp.Delay = p.faults.AuthFailureDelay() // pveproxy holds back every 401
	}
	return resp
}

// requestKey is the counter key of a request path: its template, or the
// literal path when no route matches.
func requestKey(n *pathNode, rel string) string {
	switch {
	case n == nil:
		return rel
	case n.Template() == "":
		return "/"
	default:
		return n.Template()
	}
}

// requestParams collects the parameters of a request like pveproxy's
// extract_params: the body of POST/PUT (form or JSON), overridden by the
// query string; "_dc" (a cache buster) is dropped.
func (p *PVE) requestParams(req *http.Request) (map[string]any, *sim.Response) {
	params := map[string]any{}
	if req.Method == http.MethodPost || req.Method == http.MethodPut {
		ct := ""
		if h := req.Header.Get("Content-Type"); h != "" {
			ct, _, _ = mime.ParseMediaType(h)
			if ct == "" {
				ct, _, _ = strings.Cut(h, ";")
			}
		}
		body, err := io.ReadAll(io.LimitReader(req.Body, maxPostSize+1))
		if err != nil {
			return nil, plainError(http.StatusInternalServerError, "unable to read request body: "+err.Error())
		}
		if len(body) > maxPostSize {
			return nil, plainError(http.StatusNotImplemented, "for data too large")
		}
		if len(body) > 0 && ct != "" && ct != "application/x-www-form-urlencoded" && ct != "application/json" {
			return nil, plainError(506, fmt.Sprintf("upload 'Content-Type '%s' not implemented", req.Header.Get("Content-Type")))
		}
		if ct == "application/json" {
			obj, err := decodeJSONBody(body)
			if err != nil {
				return nil, plainError(http.StatusInternalServerError, err.Error())
			}
			params = obj
		} else {
			params = decodeURLEncoded(string(body))
		}
	}
	for k, v := range queryParams(req.URL) {
		params[k] = v
	}
	delete(params, "_dc")
	return params, nil
}

// restHandle is PVE::HTTPServer::rest_handler followed by
// PVE::RESTHandler::handle for one call.
func (p *PVE) restHandle(r *Request, n *pathNode, auth *authInfo) (any, error) {
	notImplemented := &APIError{Status: http.StatusNotImplemented, Message: fmt.Sprintf("Method '%s %s' not implemented", r.Method, r.Path)}
	if n == nil {
		return nil, notImplemented
	}
	e := p.routes.endpointFor(n, r.Method)
	if e == nil {
		return nil, notImplemented
	}
	if e.handler == nil {
		p.logOnce("nohandler:"+r.Method+n.Template(), "pvesim: %s %s is in the PVE schema but the lab does not implement it", r.Method, n.Template())
		return nil, notImplemented
	}
	r.Template = requestKey(n, r.Path)

	for _, k := range slices.Sorted(maps.Keys(r.Params)) {
		if uv, ok := r.PathParams[k]; ok {
			if v, _ := perl.Scalar(r.Params[k]); v != uv {
				return nil, ParamError(map[string]string{k: "duplicate parameter (already defined in URI) with conflicting values!"})
			}
		}
	}
	for k, v := range r.PathParams {
		r.Params[k] = v
	}

	if auth.apiToken != "" && e.schema != nil && !e.schema.AllowToken {
		return nil, &APIError{Status: http.StatusForbidden, Message: fmt.Sprintf("Permission check failed (URI '%s' not available with API token, need proper ticket.\n)\n", r.Path)}
	}

	origin := r.LocalNode
	if node, ok := p.proxyTarget(e, n, r); ok {
		switch m := p.clusterInfo().member(node); {
		case m != nil && p.lab.cfsDownNode(node):
			// pveproxy forwards the call; the node, joining with its
			// pmxcfs restarting, refuses its credentials (cfsDownMessage)
			return nil, &APIError{Status: http.StatusUnauthorized, Message: cfsDownMessage}
		case m == nil:
			return nil, Errorf(http.StatusInternalServerError, "hostname lookup '%s' failed - failed to get address info for: %s: Name or service not known", node, node)
		case !m.online:
			// a node of the node list that is off: pveproxy cannot reach its
			// address and answers with AnyEvent::HTTP's 595 and the errno
			return nil, &proxyError{status: 595, reason: "No route to host"}
		default:
			r.LocalNode = node
		}
	}

	if e.schema != nil {
		pveschema.NormalizeArrays(e.schema, r.Params)
		if errs := pveschema.ValidateParams(e.schema, r.Params); errs != nil {
			return nil, ParamError(errs)
		}
	}

	if r.Method != http.MethodGet && !e.noQuorum && !p.quorate() {
		return nil, Errorf(http.StatusInternalServerError, "%s", noQuorumMessage(r, e))
	}

	if r.Method != http.MethodGet && !e.noLock && p.faults.LockTimeout() {
		msg := lockTimeoutMessage(r)
		if e.lockMessage != nil {
			msg = e.lockMessage(r)
		}
		return nil, Errorf(http.StatusInternalServerError, "%s", msg)
	}
	return p.dispatchHandler(e, r, r.LocalNode != origin)
}

// callHandler runs a handler; a panic becomes a 500 answer, as a die in a
// PVE handler does, instead of taking the lab down.
func (p *PVE) callHandler(h HandlerFunc, r *Request) (data any, err error) {
	defer func() {
		if v := recover(); v != nil {
			p.logf("pvesim: handler for %s %s panicked: %v", r.Method, r.Template, v)
			data, err = nil, Errorf(http.StatusInternalServerError, "internal error: %v", v)
		}
	}()
	return h(r)
}

// proxyTarget returns the node a call is proxied to: the "proxyto"
// parameter of the method, or, without a schema, the {node} of the path.
func (p *PVE) proxyTarget(e *endpoint, n *pathNode, r *Request) (string, bool) {
	if e.schema != nil {
		if e.schema.Proxyto == "" {
			return "", false
		}
		v, ok := r.String(e.schema.Proxyto)
		return v, ok
	}
	node, ok := r.PathParams["node"]
	return node, ok && n.Template() != "/nodes/{node}"
}

var (
	qemuPathRE = regexp.MustCompile(`^/nodes/[^/]+/qemu/(\d+)`)
	lxcPathRE  = regexp.MustCompile(`^/nodes/[^/]+/lxc/(\d+)`)
)

// lockTimeoutMessage is the error of a config lock timeout for the object a
// call modifies: guest configs and the node's network configuration have
// flock files; cluster-wide configuration in /etc/pve is locked through
// pmxcfs.
func lockTimeoutMessage(r *Request) string {
	if m := qemuPathRE.FindStringSubmatch(r.Path); m != nil {
		return fmt.Sprintf("can't lock file '/var/lock/qemu-server/lock-%s.conf' - got timeout", m[1])
	}
	if m := lxcPathRE.FindStringSubmatch(r.Path); m != nil {
		return fmt.Sprintf("can't lock file '/run/lock/lxc/pve-config-%s.lock' - got timeout", m[1])
	}
	switch {
	case strings.HasPrefix(r.Template, "/nodes/{node}/network"):
		return "can't lock file '/etc/network/.pve-interfaces.lock' - got timeout"
	case strings.HasPrefix(r.Template, "/storage"):
		return "cfs-lock 'file-storage_cfg' error: got lock request timeout"
	case strings.HasPrefix(r.Template, "/access"), strings.HasPrefix(r.Template, "/pools"):
		return "cfs-lock 'file-user_cfg' error: got lock request timeout"
	case strings.HasPrefix(r.Template, "/nodes/{node}"):
		node, _ := r.String("node")
		return fmt.Sprintf("can't lock file '/var/lock/pve-manager/pve-node-%s.lck' - got timeout", node)
	}
	return "cfs-lock 'file-datacenter_cfg' error: got lock request timeout"
}

// proxyError is a failure of pveproxy to reach the node a call is
// proxied to: no JSON, the reason in the status line.
type proxyError struct {
	status int
	reason string
}

func (e *proxyError) Error() string { return fmt.Sprintf("%d %s", e.status, e.reason) }

// noQuorumMessage is the error of a modifying call on a node without
// quorum, when /etc/pve is read-only: calls that lock a cluster-wide file
// (cfs_lock_file and friends) cannot get the lock and fail with "no
// quorum!" in the lock error; the others fail PVE::Cluster::check_cfs_quorum
// (guest creation, start, ...).
func noQuorumMessage(r *Request, e *endpoint) string {
	msg := lockTimeoutMessage(r)
	if e.lockMessage != nil {
		msg = e.lockMessage(r)
	}
	const timeout = "error: got lock request timeout"
	if strings.Contains(msg, "cfs-lock '") && strings.HasSuffix(msg, timeout) {
		return strings.TrimSuffix(msg, timeout) + "error: no quorum!"
	}
	return "cluster not ready - no quorum?"
}

// render turns a handler result or error into the JSON answer of PVE's
// json formatter: {"data": ...} plus "total" and "changes" for listings; for errors
// "data" is null and "message" (and "errors") carry the failure.
func (p *PVE) render(v any) *sim.Response {
	body := map[string]any{"data": nil}
	status, reason := http.StatusOK, "OK"
	var apiErr *APIError
	switch x := v.(type) {
	case *APIError:
		apiErr = x
	case error:
		if !errors.As(x, &apiErr) {
			apiErr = Errorf(http.StatusInternalServerError, "%s", x.Error())
		}
	case Listing:
		body["data"] = x.Data
		if x.Total != 0 {
			body["total"] = x.Total
		}
		if x.Changes != "" {
			body["changes"] = x.Changes
		}
	default:
		body["data"] = x
	}
	if apiErr != nil {
		status, reason = apiErr.Status, apiErr.Message
		body["message"] = apiErr.Message
		if len(apiErr.Errors) > 0 {
			body["errors"] = apiErr.Errors
		}
	}
	raw, err := json.Marshal(body)
	if err != nil {
		p.logf("pvesim: encode response: %v", err)
		return plainError(http.StatusInternalServerError, "unable to encode response")
	}
	return &sim.Response{Status: status, Reason: reason, CType: jsonContentType, Body: raw}
}
