package testlab

import (
	"bytes"
	"errors"
	"io/fs"
	"net/http"
	"strings"
	"testing"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/labdata"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/pbssim"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/pveschema"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/pvesim/pvetest"
)

// TestWithoutShared starts labs where no official schema is beside the
// repository: they check requests against the lab's copy, except under CI,
// where Start fails and says why.
func TestWithoutShared(t *testing.T) {
	t.Setenv("PVE_API_SCHEMA", "")
	t.Setenv("CI", "")
	t.Chdir(t.TempDir())
	lab := startLab(t, Options{})
	if !lab.SchemaLoaded() {
		t.Fatal("the lab's copy of the schema was not loaded")
	}
	c := newCaller(t, lab).WithTicket()
	pvetest.Expect(t, c.Get("/nodes/pve1/status"), http.StatusOK, "OK")
	pvetest.Expect(t, c.Get("/cluster/nextid?vmid=abc"), http.StatusBadRequest, "Parameter verification failed.")
	pvetest.Expect(t, c.Get("/nope"), http.StatusNotImplemented, "Method 'GET /nope' not implemented")

	t.Setenv("CI", "true")
	if _, err := Start(Options{}); err == nil || !strings.Contains(err.Error(), "shared/api-schemas/pve-9.1.3.json is not beside the repository") {
		t.Errorf("Start under CI without shared/: %v, want an error that names the missing schema", err)
	}
	if _, err := pbssim.Start(pbssim.Options{}); err == nil || !strings.Contains(err.Error(), "shared/api-schemas/pbs-4.x.json is not beside the repository") {
		t.Errorf("pbssim.Start under CI without shared/: %v, want an error that names the missing schema", err)
	}
	t.Setenv("CI", "")

	disabled := startLab(t, Options{SchemaPath: "-"})
	if disabled.SchemaLoaded() {
		t.Error(`SchemaPath "-" loaded a schema`)
	}
	c = newCaller(t, disabled).WithTicket()
	pvetest.Expect(t, c.Get("/nodes/pve1/status"), http.StatusOK, "OK")
	pvetest.Expect(t, c.Get("/nodes/nope/status"), http.StatusInternalServerError, "hostname lookup 'nope' failed - failed to get address info for: nope: Name or service not known")
}

// TestLabData checks package labdata's files: with the official files
// beside the repository, that they are what go generate makes of them
// today; without, that the lab's copy holds the parameters of every route
// the simulators serve.
func TestLabData(t *testing.T) {
	want, err := GenerateLabData()
	if errors.Is(err, labdata.ErrNotFound) {
		t.Logf("official files not beside the repository (%v): checking the lab's copy alone", err)
		checkLabDataCovers(t)
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]byte{}
	err = fs.WalkDir(labdata.Files(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		got[path], err = fs.ReadFile(labdata.Files(), path)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, w := range want {
		if g, ok := got[name]; !ok {
			t.Errorf("labdata lacks %s: run go generate in internal/testlab/labdata", name)
		} else if !bytes.Equal(g, w) {
			t.Errorf("labdata/%s differs from what go generate makes of the official file: run go generate in internal/testlab/labdata", name)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("labdata/%s is no longer generated: run go generate in internal/testlab/labdata", name)
		}
	}
	checkLabDataCovers(t)
}

// checkLabDataCovers checks that the lab's copies of the schemas have the
// parameters of every route the simulators serve.
func checkLabDataCovers(t *testing.T) {
	t.Helper()
	pve, _, err := servedRoutes("9.1")
	if err != nil {
		t.Fatal(err)
	}
	src := labdata.Source{Embedded: labdata.PVE91}
	s, err := pveschema.Load(src.Key(), src.Read)
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, m := range s.Methods {
		if m.Params != nil {
			have[m.Method+" "+m.Path] = true
		}
	}
	for r := range pve {
		if !have[r] && r != "GET /" { // the schema's tree has no root node
			t.Errorf("the lab's copy of %s has no parameters for %s", labdata.PVE91, r)
		}
	}
	// the lab's copy of the PBS schema: pbssim's TestLabDataCovers; of the
	// Redfish mockup: bmcsim's TestLabDataMockup
}
