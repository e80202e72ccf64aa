package pveschema

import (
	"errors"
	"strings"
	"testing"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/labdata"
)

// loadSchema loads a schema: the official file beside the repository,
// else (not under CI) the lab's copy.
func loadSchema(t *testing.T, name string) *Schema {
	t.Helper()
	path, err := labdata.Find("api-schemas/" + name)
	if err == nil {
		s, err := LoadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if !errors.Is(err, labdata.ErrNotFound) {
		t.Fatal(err)
	}
	t.Logf("%s is not beside the repository: using the lab's copy", name)
	s, err := Load("labdata:"+name, func() ([]byte, error) { return labdata.Schema(name) })
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestLoadSchemas(t *testing.T) {
	for name, want := range map[string]int{"pve-9.1.3.json": 649, "pve-8.4.2.json": 605} {
		t.Run(name, func(t *testing.T) {
			s := loadSchema(t, name)
			if len(s.Methods) != want {
				t.Errorf("%d methods, want %d", len(s.Methods), want)
			}
			if len(s.BadPatterns) > 0 {
				t.Errorf("patterns that do not translate to Go: %q", s.BadPatterns)
			}
			for _, m := range s.Methods {
				if strings.Contains(m.Path, "{node}") && m.Params != nil && m.Params.Properties["node"] == nil {
					t.Errorf("%s %s: node parameter not in schema", m.Method, m.Path)
				}
			}
		})
	}
}
