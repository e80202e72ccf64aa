package privileges

import (
	"testing"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/labdata"
)

// TestRoutesExist: every listed route is in the API schema of every
// supported release (the lab's committed copies keep the whole path tree
// and every method), so a typo or a route a release lacks is caught without
// ../shared. A route PVE 8.4 lacks is reported unless it is one of the
// routes only 9.x has (HA rules, added in PVE 9.0).
func TestRoutesExist(t *testing.T) {
	only9 := map[string]bool{}
	for _, r := range haRoutes("rules") {
		only9[r.Key()] = true
	}
	schemas := map[string]*Schema{}
	for _, name := range []string{labdata.PVE91, labdata.PVE84, labdata.PBS4} {
		data, err := labdata.Schema(name)
		if err != nil {
			t.Fatal(err)
		}
		if schemas[name], err = ParseSchema(data); err != nil {
			t.Fatal(err)
		}
	}
	check := func(what string, b Backend, r Route) {
		if b == PBS {
			if !schemas[labdata.PBS4].Has(r) {
				t.Errorf("%s: %s is not in the PBS 4 schema", what, r.Key())
			}
			return
		}
		if !schemas[labdata.PVE91].Has(r) {
			t.Errorf("%s: %s is not in the PVE 9.1 schema", what, r.Key())
		}
		if !schemas[labdata.PVE84].Has(r) && !only9[r.Key()] {
			t.Errorf("%s: %s is not in the PVE 8.4 schema", what, r.Key())
		}
	}
	for b, rs := range Connect {
		for _, r := range rs {
			check("connect", b, r)
		}
	}
	for _, ty := range Types {
		if len(ty.Routes) == 0 {
			t.Errorf("%s (%s) lists no routes", ty.Name, ty.Kind)
		}
		for _, r := range ty.Routes {
			check(ty.Name, ty.Backend, r)
		}
	}
}

func TestUnlisted(t *testing.T) {
	got := Unlisted(PVE, map[string]int{"GET /version": 3, "GET /nodes/{node}/qemu/{vmid}/config": 1, "POST /nodes/{node}/qemu/{vmid}/snapshot": 1})
	if len(got) != 1 || got[0] != "POST /nodes/{node}/qemu/{vmid}/snapshot" {
		t.Fatalf("Unlisted = %q, want the snapshot route only", got)
	}
}
