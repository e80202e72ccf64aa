package privileges

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/labdata"
)

// TestTable: the committed table is what the official schemas and the route
// lists give (go generate ./internal/privileges writes it). Without
// ../shared/api-schemas the committed table stands (outside CI; under CI
// their absence is an error, as for the lab's data).
func TestTable(t *testing.T) {
	s, err := LoadOfficial()
	if errors.Is(err, labdata.ErrNotFound) {
		t.Skip("../shared/api-schemas is not beside the repository: the committed privilege table is not checked")
	}
	if err != nil {
		t.Fatal(err)
	}
	table, err := Render(s)
	if err != nil {
		t.Fatal(err)
	}
	script, err := RoleScript(s)
	if err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{TemplatePath: table, RoleScriptPath: script} {
		compareFile(t, file, want)
	}
}

// compareFile fails t when the committed file differs from want.
func compareFile(t *testing.T, file, want string) {
	t.Helper()
	got, err := os.ReadFile(filepath.Join("..", "..", filepath.FromSlash(file)))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(want, "\n")
		for i := 0; i < len(gl) || i < len(wl); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Errorf("%s is out of date (run go generate ./internal/privileges and make docs); first difference at line %d:\ncommitted: %s\ngenerated: %s", file, i+1, g, w)
				return
			}
		}
	}
}

func TestPermission(t *testing.T) {
	schema := `[{"path": "/a", "info": {
	  "GET": {"permissions": {"check": ["perm", "/vms/{vmid}", ["VM.Config.Disk", "VM.Config.CPU"], "any", 1]}},
	  "PUT": {"permissions": {"check": ["and", ["perm", "/", ["Sys.Modify"]], ["or", ["perm", "/", ["Sys.Audit"]], ["perm", "/pool/{pool}", ["Pool.Audit"]]]]}},
	  "POST": {"permissions": {"user": "all", "description": "You need 'VM.Allocate' on /vms/{vmid} and 'Datastore.AllocateSpace'."}},
	  "DELETE": {"permissions": {"check": {"partial": true, "path": ["datastore", "{store}"], "privs": ["Datastore.Modify"]}}}
	}}, {"path": "/b", "info": {
	  "GET": {"permissions": {"or": [{"check": {"partial": false, "path": ["access", "users"], "privs": ["Permissions.Modify"]}}, {"userParam": "userid"}]}},
	  "POST": {"permissions": {"user": "all", "description": "Requires on /datastore/{store} DATASTORE_MODIFY"}},
	  "PUT": {"permissions": {"user": "world"}},
	  "DELETE": {}
	}}]`
	s, err := ParseSchema([]byte(schema))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		route        Route
		text         string
		privs, named string
	}{
		{get("/a"), "`VM.Config.Disk` or `VM.Config.CPU` on `/vms/{vmid}`", "VM.Config.CPU VM.Config.Disk", ""},
		{put("/a"), "(`Sys.Modify` on `/` and (`Sys.Audit` on `/` or `Pool.Audit` on `/pool/{pool}`))", "Pool.Audit Sys.Audit Sys.Modify", ""},
		{post("/a"), "You need 'VM.Allocate' on /vms/{vmid} and 'Datastore.AllocateSpace'.", "", "Datastore.AllocateSpace VM.Allocate"},
		{del("/a"), "`Datastore.Modify` on `/datastore/{store}` (or below)", "Datastore.Modify", ""},
		{get("/b"), "(`Permissions.Modify` on `/access/users` or the user named by `userid`)", "Permissions.Modify", ""},
		{post("/b"), "Requires on /datastore/{store} DATASTORE_MODIFY", "", "Datastore.Modify"},
		{put("/b"), "none (open to anyone)", "", ""},
		{del("/b"), "root@pam only (the schema lists no permission)", "", ""},
	} {
		p, ok := s.Permission(tc.route)
		if !ok {
			t.Fatalf("%s: not found", tc.route.Key())
		}
		if p.Text != tc.text || strings.Join(p.Privs, " ") != tc.privs || strings.Join(p.Named, " ") != tc.named {
			t.Errorf("%s: got %q %q %q, want %q %q %q", tc.route.Key(), p.Text, p.Privs, p.Named, tc.text, tc.privs, tc.named)
		}
	}
	if _, ok := s.Permission(get("/c")); ok {
		t.Error("a route the schema lacks was found")
	}
}
