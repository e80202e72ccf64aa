package testlab

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// schemaFile returns the path of a shared schema file, or skips the test.
func schemaFile(t *testing.T, name string) string {
	t.Helper()
	found, err := findSchema()
	if err != nil {
		t.Skipf("PVE API schemas not found (%v): put shared/api-schemas beside the repository or set PVE_API_SCHEMA", err)
	}
	path := filepath.Join(filepath.Dir(found), name)
	if _, err := os.Stat(path); err != nil {
		t.Skipf("schema %s not available: %v", name, err)
	}
	return path
}

func TestLoadSchemas(t *testing.T) {
	for name, want := range map[string]int{"pve-9.1.3.json": 649, "pve-8.4.2.json": 605} {
		t.Run(name, func(t *testing.T) {
			s, err := loadSchemaFile(schemaFile(t, name))
			if err != nil {
				t.Fatal(err)
			}
			if len(s.methods) != want {
				t.Errorf("%d methods, want %d", len(s.methods), want)
			}
			if len(s.badPatterns) > 0 {
				t.Errorf("patterns that do not translate to Go: %q", s.badPatterns)
			}
			for _, m := range s.methods {
				if strings.Contains(m.path, "{node}") && m.params != nil && m.params.Properties["node"] == nil {
					t.Errorf("%s %s: node parameter not in schema", m.method, m.path)
				}
			}
			// The tree must build without parameter name conflicts.
			newRouter().attachSchema(s)
		})
	}
}

func TestBuiltinRoutesAreInSchema(t *testing.T) {
	lab := startLab(t, PVEOptions{})
	requireSchema(t, lab)
	if extra := lab.routes.handled(); len(extra) > 0 {
		t.Errorf("routes not in the PVE 9.1.3 schema: %v", extra)
	}
}

func TestSchemaFromEnvironment(t *testing.T) {
	path := schemaFile(t, "pve-8.4.2.json")
	t.Setenv("PVE_API_SCHEMA", path)
	lab := startLab(t, PVEOptions{})
	if !lab.SchemaLoaded() {
		t.Fatal("schema from PVE_API_SCHEMA not loaded")
	}

	t.Setenv("PVE_API_SCHEMA", filepath.Join(t.TempDir(), "missing.json"))
	if _, err := StartPVE(PVEOptions{}); err == nil {
		t.Fatal("StartPVE accepted a PVE_API_SCHEMA that does not exist")
	}
}

func TestWithoutSchema(t *testing.T) {
	t.Setenv("PVE_API_SCHEMA", "")
	t.Chdir(t.TempDir())
	var mu sync.Mutex
	var logs []string
	lab := startLab(t, PVEOptions{Logf: func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		logs = append(logs, format)
	}})
	if lab.SchemaLoaded() {
		t.Fatal("schema loaded from an empty directory")
	}
	mu.Lock()
	if len(logs) != 1 || !strings.Contains(logs[0], "not found") {
		t.Errorf("logs = %q, want one message about the missing schema", logs)
	}
	mu.Unlock()

	c := newCaller(t, lab).withTicket()
	expect(t, c.get("/nodes/pve1/status"), http.StatusOK, "OK")
	expect(t, c.get("/nodes/nope/status"), http.StatusInternalServerError, "hostname lookup 'nope' failed - failed to get address info for: nope: Name or service not known")
	expect(t, c.get("/cluster/nextid"), http.StatusOK, "OK")
	expect(t, c.get("/nope"), http.StatusNotImplemented, "Method 'GET /nope' not implemented")

	disabled := startLab(t, PVEOptions{SchemaPath: "-"})
	if disabled.SchemaLoaded() {
		t.Error(`SchemaPath "-" loaded a schema`)
	}
}
