package pvesim

import (
	"slices"
	"strings"
	"sync"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/pveschema"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/sim"
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
	schema      *pveschema.Method
	handler     HandlerFunc
	lockMessage func(r *Request) string
	noLock      bool
	noQuorum    bool
}

// pathNode is a node of the path tree shared by the schema and the handlers.
type pathNode = sim.Node[*endpoint]

// router maps method and path to endpoints.
type router struct {
	mu   sync.RWMutex
	tree *sim.Tree[*endpoint]
}

func newRouter() *router { return &router{tree: sim.NewTree[*endpoint]("pvesim: path")} }

// insert returns the node for template, creating the missing nodes.
func (rt *router) insert(template string) *pathNode { return rt.tree.Insert(template) }

// attachSchema adds every method of the schema to the tree.
func (rt *router) attachSchema(s *pveschema.Schema) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	for _, m := range s.Methods {
		n := rt.insert(m.Path)
		e := n.Methods[m.Method]
		if e == nil {
			e = &endpoint{}
			n.Methods[m.Method] = e
		}
		e.schema = m
	}
	for _, dir := range s.Dirs {
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
	e := n.Methods[method]
	if e == nil {
		e = &endpoint{}
		n.Methods[method] = e
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
	return rt.tree.Match(contentFragment(sim.SplitPath(path)))
}

// contentFragment joins what follows /nodes/{node}/storage/{storage}/content/
// into one segment: pve-storage's Status.pm mounts PVE::API2::Storage::Content
// there with an empty fragmentDelimiter (RESTHandler::map_path_to_methods): a
// volume ID with slashes ("local:iso/x.iso") is one {volume}.
func contentFragment(segs []string) []string {
	if len(segs) > 6 && segs[0] == "nodes" && segs[2] == "storage" && segs[4] == "content" {
		return append(segs[:5:5], strings.Join(segs[5:], "/"))
	}
	return segs
}

// endpointFor returns the endpoint for method on n (nil if none).
func (rt *router) endpointFor(n *pathNode, method string) *endpoint {
	rt.mu.RLock()
	defer rt.mu.RUnlock()
	return n.Methods[method]
}

// childNames returns the directory entries below the node at template.
func (rt *router) childNames(template string) []string {
	n, _ := rt.match(template)
	if n == nil {
		return nil
	}
	rt.mu.RLock()
	defer rt.mu.RUnlock()
	return n.Children()
}

// checkRoutesAgainstSchema logs handlers that the schema does not know.
func (p *PVE) checkRoutesAgainstSchema() {
	if p.schema == nil {
		return
	}
	for _, r := range p.routes.handled() {
		p.logOnce("route:"+r, "pvesim: route %s is not in the PVE schema", r)
	}
}

// handled returns "METHOD /template" for handlers without schema.
func (rt *router) handled() []string {
	rt.mu.RLock()
	defer rt.mu.RUnlock()
	var out []string
	rt.tree.Walk(func(n *pathNode) {
		for m, e := range n.Methods {
			if e.handler != nil && e.schema == nil && n.Template() != "" {
				out = append(out, m+" "+n.Template())
			}
		}
	})
	return out
}

// ServedRoutes returns the "METHOD /template" keys of the routes the
// simulator serves in a lab of release version ("9.1" or "8.4"). Package
// labdata's generator keeps their parameter schemas.
func ServedRoutes(version string) (map[string]bool, error) {
	p, err := Start(Options{Nodes: 1, Version: version, SchemaPath: "-"})
	if err != nil {
		return nil, err
	}
	served := map[string]bool{}
	for _, r := range p.routes.served() {
		served[r] = true
	}
	if err := p.Close(); err != nil {
		return nil, err
	}
	return served, nil
}

// served returns "METHOD /template" for every route with a handler.
func (rt *router) served() []string {
	rt.mu.RLock()
	defer rt.mu.RUnlock()
	var out []string
	rt.tree.Walk(func(n *pathNode) {
		for m, e := range n.Methods {
			if e.handler != nil {
				out = append(out, m+" "+templateOrRoot(n.Template()))
			}
		}
	})
	slices.Sort(out)
	return out
}

// templateOrRoot names the root of the tree "/", as the schemas do.
func templateOrRoot(t string) string {
	if t == "" {
		return "/"
	}
	return t
}
