package pvesim

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/labdata"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/pveschema"
)

// schemaFile returns the path of a schema file: the official one beside
// the repository, else (not under CI) the lab's copy written to a temporary
// file.
func schemaFile(t *testing.T, name string) string {
	t.Helper()
	path, err := labdata.Find("api-schemas/" + name)
	if err == nil {
		return path
	}
	if !errors.Is(err, labdata.ErrNotFound) {
		t.Fatal(err)
	}
	t.Logf("%s is not beside the repository: using the lab's copy", name)
	data, err := labdata.Schema(name)
	if err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestSchemaTree checks that the router's tree builds from each schema
// without parameter name conflicts (pveschema's tests check the parsing).
func TestSchemaTree(t *testing.T) {
	for _, name := range []string{"pve-9.1.3.json", "pve-8.4.2.json"} {
		t.Run(name, func(t *testing.T) {
			s, err := pveschema.LoadFile(schemaFile(t, name))
			if err != nil {
				t.Fatal(err)
			}
			newRouter().attachSchema(s)
		})
	}
}

func TestBuiltinRoutesAreInSchema(t *testing.T) {
	lab := startLab(t, Options{})
	requireSchema(t, lab)
	if extra := lab.routes.handled(); len(extra) > 0 {
		t.Errorf("routes not in the PVE 9.1.3 schema: %v", extra)
	}
}

func TestSchemaFromEnvironment(t *testing.T) {
	path := schemaFile(t, "pve-8.4.2.json")
	t.Setenv("PVE_API_SCHEMA", path)
	lab := startLab(t, Options{})
	if !lab.SchemaLoaded() {
		t.Fatal("schema from PVE_API_SCHEMA not loaded")
	}

	t.Setenv("PVE_API_SCHEMA", filepath.Join(t.TempDir(), "missing.json"))
	if _, err := Start(Options{}); err == nil {
		t.Fatal("Start accepted a PVE_API_SCHEMA that does not exist")
	}
}
