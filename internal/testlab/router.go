package testlab

import (
	"fmt"
	"maps"
	"strings"
	"sync"
)

// HandlerFunc serves one API method. It runs only on input that passed the
// generic checks (authentication and, with a schema, parameter validation).
// It returns the value for the "data" member of the response, or an error:
// an *APIError chooses status, message and per-parameter errors; any other
// error is answered like an uncaught die in PVE, with status 500.
type HandlerFunc func(r *Request) (any, error)

// RouteOption configures a route registered with Handle.
type RouteOption func(*endpoint)

// WithLockMessage sets the error a lock-contention fault reports for this
// route, e.g. "can't lock file '/etc/resolv.conf.lock' - got timeout".
// By default it is derived from the path (see lockTimeoutMessage).
func WithLockMessage(msg func(r *Request) string) RouteOption {
	return func(e *endpoint) { e.lockMessage = msg }
}

// WithoutQuorum marks a modifying route as one that works without quorum
// because it writes no file in /etc/pve (e.g. the node's network
// configuration), or that checks quorum itself.
func WithoutQuorum() RouteOption {
	return func(e *endpoint) { e.noQuorum = true }
}

// WithoutConfigLock marks a modifying route as one that takes no config
// lock, so that lock-contention faults never hit it.
func WithoutConfigLock() RouteOption {
	return func(e *endpoint) { e.noLock = true }
}

// endpoint is one method on one path: its schema (if the schema knows it)
// and its handler (if the lab implements it).
type endpoint struct {
	schema      *methodSchema
	handler     HandlerFunc
	lockMessage func(r *Request) string
	noLock      bool
	noQuorum    bool
}

// pathNode is a node of the path tree shared by the schema and the handlers.
type pathNode struct {
	template  string // e.g. "/nodes/{node}/status"
	literal   map[string]*pathNode
	param     *pathNode
	paramName string
	children  []string // child segment names in schema order (directory indexes)
	methods   map[string]*endpoint
}

func newPathNode(template string) *pathNode {
	return &pathNode{template: template, literal: map[string]*pathNode{}, methods: map[string]*endpoint{}}
}

// router maps method and path to endpoints.
type router struct {
	mu   sync.RWMutex
	root *pathNode
}

func newRouter() *router { return &router{root: newPathNode("")} }

// insert returns the node for template, creating the missing nodes.
func (rt *router) insert(template string) *pathNode {
	n := rt.root
	for _, seg := range splitPath(template) {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			name := seg[1 : len(seg)-1]
			if n.param == nil {
				n.param = newPathNode(n.template + "/" + seg)
				n.paramName = name
				n.children = append(n.children, seg)
			} else if n.paramName != name {
				panic(fmt.Sprintf("testlab: path %s: parameter {%s} conflicts with {%s}", template, name, n.paramName))
			}
			n = n.param
			continue
		}
		child, ok := n.literal[seg]
		if !ok {
			child = newPathNode(n.template + "/" + seg)
			n.literal[seg] = child
			n.children = append(n.children, seg)
		}
		n = child
	}
	return n
}

// attachSchema adds every method of the schema to the tree.
func (rt *router) attachSchema(s *apiSchema) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	for _, m := range s.methods {
		n := rt.insert(m.path)
		e := n.methods[m.method]
		if e == nil {
			e = &endpoint{}
			n.methods[m.method] = e
		}
		e.schema = m
	}
	for _, dir := range s.dirs {
		rt.insert(dir)
	}
}

// Handle registers h for method and path template (e.g. "GET",
// "/nodes/{node}/network"). Path parameters are the {name} segments; they
// reach the handler in Request.PathParams and, like in PVE, among the
// parameters. Registering a path twice replaces the handler. A route
// belongs to this state: in a lab of standalone nodes, to this node.
func (p *PVE) Handle(method, template string, h HandlerFunc, opts ...RouteOption) {
	rt := p.routes
	rt.mu.Lock()
	defer rt.mu.Unlock()
	n := rt.insert(template)
	e := n.methods[method]
	if e == nil {
		e = &endpoint{}
		n.methods[method] = e
	}
	e.handler, e.lockMessage, e.noLock, e.noQuorum = h, nil, false, false
	for _, o := range opts {
		o(e)
	}
}

// match finds the node for a request path. Like PVE's find_handler it
// prefers a literal segment over a parameter and does not backtrack.
func (rt *router) match(path string) (*pathNode, map[string]string) {
	rt.mu.RLock()
	defer rt.mu.RUnlock()
	n := rt.root
	params := map[string]string{}
	for _, seg := range splitPath(path) {
		if child, ok := n.literal[seg]; ok {
			n = child
			continue
		}
		if n.param == nil {
			return nil, nil
		}
		params[n.paramName] = seg
		n = n.param
	}
	return n, params
}

// endpointFor returns the endpoint for method on n (nil if none).
func (rt *router) endpointFor(n *pathNode, method string) *endpoint {
	rt.mu.RLock()
	defer rt.mu.RUnlock()
	return n.methods[method]
}

// childNames returns the directory entries below the node at template.
func (rt *router) childNames(template string) []string {
	n, _ := rt.match(template)
	if n == nil {
		return nil
	}
	rt.mu.RLock()
	defer rt.mu.RUnlock()
	return append([]string(nil), n.children...)
}

// checkRoutesAgainstSchema logs handlers that the schema does not know.
func (p *PVE) checkRoutesAgainstSchema() {
	if p.schema == nil {
		return
	}
	for _, r := range p.routes.handled() {
		p.logOnce("route:"+r, "testlab: route %s is not in the PVE schema", r)
	}
}

// handled returns "METHOD /template" for handlers without schema.
func (rt *router) handled() []string {
	rt.mu.RLock()
	defer rt.mu.RUnlock()
	var out []string
	var walk func(n *pathNode)
	walk = func(n *pathNode) {
		for m, e := range n.methods {
			if e.handler != nil && e.schema == nil && n.template != "" {
				out = append(out, m+" "+n.template)
			}
		}
		for _, c := range n.literal {
			walk(c)
		}
		if n.param != nil {
			walk(n.param)
		}
	}
	walk(rt.root)
	return out
}

// splitPath splits a path into its non-empty segments.
func splitPath(p string) []string {
	var segs []string
	for _, s := range strings.Split(p, "/") {
		if s != "" {
			segs = append(segs, s)
		}
	}
	return segs
}

// requestStats counts requests per "METHOD /template".
type requestStats struct {
	mu     sync.Mutex
	counts map[string]int
}

func (s *requestStats) inc(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.counts == nil {
		s.counts = map[string]int{}
	}
	s.counts[key]++
}

func (s *requestStats) snapshot() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.counts))
	maps.Copy(out, s.counts)
	return out
}

func (s *requestStats) reset() {
	s.mu.Lock()
	s.counts = nil
	s.mu.Unlock()
}
