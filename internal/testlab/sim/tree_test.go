package sim

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

func TestTreeMatch(t *testing.T) {
	tr := NewTree[string]("test: path")
	tr.Insert("/nodes/{node}/qemu/{vmid}").Methods["GET"] = "vm"
	tr.Insert("/nodes/{node}/qemu/{vmid}/status/current").Methods["GET"] = "status"
	tr.Insert("/nodes/localhost/special").Methods["GET"] = "special"

	n, params := tr.Match(SplitPath("/nodes/pve1/qemu/100"))
	if n == nil || n.Template() != "/nodes/{node}/qemu/{vmid}" || n.Methods["GET"] != "vm" ||
		!maps.Equal(params, map[string]string{"node": "pve1", "vmid": "100"}) {
		t.Fatalf("match = %v %v", n, params)
	}
	// A literal segment wins, without backtracking to the parameter.
	if n, _ := tr.Match(SplitPath("/nodes/localhost/qemu/100")); n != nil {
		t.Errorf("matched %s, want no backtracking", n.Template())
	}
	if n, _ := tr.Match(SplitPath("/nodes/localhost/special")); n == nil || n.Methods["GET"] != "special" {
		t.Errorf("literal not matched")
	}
	if n, params := tr.Match(nil); n != tr.Root() || len(params) != 0 || n.Template() != "" {
		t.Errorf("root = %v %v", n, params)
	}
	if n, _ := tr.Match(SplitPath("/cluster")); n != nil {
		t.Errorf("unknown path matched %s", n.Template())
	}

	nodes, _ := tr.Match([]string{"nodes"})
	if got := nodes.Children(); !slices.Equal(got, []string{"{node}", "localhost"}) {
		t.Errorf("children = %q", got)
	}
	if got := nodes.Literals(); !slices.Equal(got, []string{"localhost"}) {
		t.Errorf("literals = %q", got)
	}
	var walked []string
	tr.Walk(func(n *Node[string]) { walked = append(walked, n.Template()) })
	want := []string{"", "/nodes", "/nodes/{node}", "/nodes/{node}/qemu", "/nodes/{node}/qemu/{vmid}",
		"/nodes/{node}/qemu/{vmid}/status", "/nodes/{node}/qemu/{vmid}/status/current", "/nodes/localhost", "/nodes/localhost/special"}
	if !slices.Equal(walked, want) {
		t.Errorf("walk = %q", walked)
	}
}

func TestTreeParameterConflict(t *testing.T) {
	tr := NewTree[int]("test: path")
	tr.Insert("/access/users/{userid}")
	defer func() {
		msg, _ := recover().(string)
		if !strings.Contains(msg, "test: path /access/users/{id}: parameter {id} conflicts with {userid}") {
			t.Errorf("panic = %q", msg)
		}
	}()
	tr.Insert("/access/users/{id}")
}
