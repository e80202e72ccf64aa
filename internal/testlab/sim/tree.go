package sim

import (
	"fmt"
	"strings"
)

// Tree is the path tree an API router is built on: PVE's (PVE::RESTHandler)
// and proxmox-router's (Router) alike. A template is a path whose segments
// are literals or one {name} parameter, e.g. "/nodes/{node}/status". A node
// has any number of literal children and at most one parameter child; two
// templates may not name the parameter below the same node differently.
// Matching prefers a literal segment over the parameter and does not
// backtrack. E is what the router keeps per HTTP method.
//
// A Tree is not safe for concurrent use; a router that changes it while
// serving guards it.
type Tree[E any] struct {
	name string
	root *Node[E]
}

// Node is a node of a Tree: one template and its methods.
type Node[E any] struct {
	template  string // e.g. "/nodes/{node}/status"; "" for the root
	literal   map[string]*Node[E]
	param     *Node[E]
	paramName string
	children  []string // child segment names in insertion order ("{name}" for the parameter)
	// Methods maps an HTTP method to its endpoint.
	Methods map[string]E
}

func newNode[E any](template string) *Node[E] {
	return &Node[E]{template: template, literal: map[string]*Node[E]{}, Methods: map[string]E{}}
}

// NewTree returns an empty tree. name starts the message of the panic
// about conflicting parameter names (e.g. "pvesim: path").
func NewTree[E any](name string) *Tree[E] {
	return &Tree[E]{name: name, root: newNode[E]("")}
}

// Root returns the root node (template "").
func (t *Tree[E]) Root() *Node[E] { return t.root }

// Insert returns the node for template, creating the missing nodes. It
// panics when a parameter's name conflicts with the one already there.
func (t *Tree[E]) Insert(template string) *Node[E] {
	n := t.root
	for _, seg := range SplitPath(template) {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			name := seg[1 : len(seg)-1]
			if n.param == nil {
				n.param = newNode[E](n.template + "/" + seg)
				n.paramName = name
				n.children = append(n.children, seg)
			} else if n.paramName != name {
				panic(fmt.Sprintf("%s %s: parameter {%s} conflicts with {%s}", t.name, template, name, n.paramName))
			}
			n = n.param
			continue
		}
		child, ok := n.literal[seg]
		if !ok {
			child = newNode[E](n.template + "/" + seg)
			n.literal[seg] = child
			n.children = append(n.children, seg)
		}
		n = child
	}
	return n
}

// Match finds the node for a path given as its segments, and the values of
// its parameters. A literal segment wins over the parameter, without
// backtracking: a path that leaves the tree there matches nothing (nil).
func (t *Tree[E]) Match(segs []string) (*Node[E], map[string]string) {
	n := t.root
	params := map[string]string{}
	for _, seg := range segs {
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

// Walk calls f for every node, parents before their children, children in
// insertion order.
func (t *Tree[E]) Walk(f func(*Node[E])) {
	var walk func(n *Node[E])
	walk = func(n *Node[E]) {
		f(n)
		for _, seg := range n.children {
			if c, ok := n.literal[seg]; ok {
				walk(c)
			} else {
				walk(n.param)
			}
		}
	}
	walk(t.root)
}

// Template returns the node's path template ("" for the root).
func (n *Node[E]) Template() string { return n.template }

// Children returns the child segment names in insertion order, the
// parameter as "{name}".
func (n *Node[E]) Children() []string { return append([]string(nil), n.children...) }

// Literals returns the literal child segment names in insertion order.
func (n *Node[E]) Literals() []string {
	var out []string
	for _, seg := range n.children {
		if _, ok := n.literal[seg]; ok {
			out = append(out, seg)
		}
	}
	return out
}
