package pbssim

import (
	"strings"
	"testing"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/labdata"
)

// TestLabDataCovers checks that the lab's copy of the PBS schema (package
// labdata) has the parameters of every route the simulator serves
// (testlab's TestLabData checks that the copy is what go generate makes).
func TestLabDataCovers(t *testing.T) {
	served, err := ServedRoutes()
	if err != nil {
		t.Fatal(err)
	}
	ps, err := loadAPISchema(labdata.Source{Embedded: labdata.PBS4})
	if err != nil {
		t.Fatal(err)
	}
	for r := range served {
		method, path, _ := strings.Cut(r, " ")
		if m := ps.methods[path][method]; (m == nil || m.params == nil) && path != "/" {
			t.Errorf("the lab's copy of %s has no parameters for %s", labdata.PBS4, r)
		}
	}
}
