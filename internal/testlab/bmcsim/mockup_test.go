package bmcsim

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/bmcsim/bmctest"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/labdata"
)

// The mockup: its resources as the BMCs serve them, and every link
// resolving.

// TestLabDataMockup checks the lab's copy of the Redfish mockup (package
// labdata; TestLabData in package testlab checks that it is up to date).
func TestLabDataMockup(t *testing.T) {
	m, err := LoadMockup(labdata.RedfishMockup(), labdata.MockupName)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.docs["/redfish/v1/Systems/"+mockupSystemID+"/Bios"]; !ok {
		t.Error("the lab's copy of the Redfish mockup has no BIOS resource")
	}
}

func TestMockupResources(t *testing.T) {
	t.Parallel()
	lab := startBMCLab(t, labOptions{Nodes: 1})
	if lab.mockup == nil {
		t.Fatal("the BMCs serve no mockup")
	}
	b := lab.BMC("pve1")
	c := newCaller(t, lab, "pve1").Basic()
	sys := c.Get("/redfish/v1/Systems/" + b.SystemID()).Body
	bios := sys["Bios"].(map[string]any)["@odata.id"].(string)
	res := c.Get(bios)
	bmctest.Expect(t, res, http.StatusOK, "")
	if res.Body["@odata.id"] != "/redfish/v1/Systems/"+b.SystemID()+"/Bios" || res.Header.Get("ETag") == "" {
		t.Errorf("Bios %s", res.Raw)
	}
	res = c.Get("/redfish/v1/Registries/Base.1.5.0")
	bmctest.Expect(t, res, http.StatusOK, "")
	reg := c.Get("/redfish/v1/Registries/Base.1.5.0.json")
	if reg.Body["RegistryPrefix"] != "Base" || reg.Body["RegistryVersion"] != "1.5.0" {
		t.Errorf("registry %s", reg.Raw[:min(200, len(reg.Raw))])
	}
	// the registry's texts are the BMC's
	msgs := reg.Body["Messages"].(map[string]any)
	for key, m := range baseMessages {
		rm, ok := msgs[key].(map[string]any)
		if !ok || rm["Message"] != m.text || rm["Severity"] != m.severity || rm["Resolution"] != m.resolution {
			t.Errorf("message %s differs from the registry: %v", key, rm)
		}
	}
	bmctest.Expect(t, c.Get("/redfish/v1/Chassis/1U/Sensors"), http.StatusOK, "")
	bmctest.Expect(t, c.Do(http.MethodPatch, bios, map[string]any{"Attributes": map[string]any{}}, nil), http.StatusMethodNotAllowed, "")
	// the mockup's virtual media are not served: the BMC models its own
	if strings.Contains(c.Get("/redfish/v1/Systems/"+b.SystemID()+"/VirtualMedia/CD1").Raw, "freeImages") {
		t.Error("the mockup's CD1 is served")
	}
}

// crawl follows every @odata.id from the service root and reports the
// links that do not answer 200.
func crawl(t *testing.T, b *BMC, c *bmctest.Client) (visited int, broken []string, types map[string]bool) {
	t.Helper()
	types = map[string]bool{}
	seen := map[string]bool{}
	queue := []string{"/redfish/v1/"}
	var walk func(v any, from string)
	walk = func(v any, from string) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if k == "@odata.id" {
					if s, ok := e.(string); ok {
						s, _, _ = strings.Cut(s, "#")
						if !seen[s] && strings.HasPrefix(s, "/redfish/v1") { // not the mockup's PDU elsewhere
							seen[s] = true
							queue = append(queue, s)
						}
					}
					continue
				}
				walk(e, from)
			}
		case []any:
			for _, e := range x {
				walk(e, from)
			}
		}
	}
	for len(queue) > 0 && visited < 1000 {
		p := queue[0]
		queue = queue[1:]
		res := c.Get(p)
		visited++
		if res.Status != http.StatusOK {
			broken = append(broken, fmt.Sprintf("%s: %d", p, res.Status))
			continue
		}
		if typ, ok := res.Body["@odata.type"].(string); ok && modelled(mockupKey(b, strings.TrimSuffix(p, "/"))) {
			types[typ] = true // the types of what the BMC models (the mockup's $metadata lacks some of its own)
		}
		walk(res.Body, p)
	}
	return visited, broken, types
}

func TestEveryLinkResolves(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		mockup  string
		variant Variant
	}{
		{"mockup", "", Variant{}},
		{"mockup, media under the manager", "", Variant{VirtualMediaUnderManager: true, PatchVirtualMedia: true}},
		{"without the mockup", "-", Variant{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lab := startBMCLab(t, labOptions{Nodes: 1, RedfishMockup: tc.mockup, BMC: tc.variant})
			c := newCaller(t, lab, "pve1").Basic()
			visited, broken, types := crawl(t, lab.BMC("pve1"), c)
			if len(broken) > 0 {
				t.Errorf("%d of %d links broken:\n%s", len(broken), visited, strings.Join(broken, "\n"))
			}
			// $metadata declares every type the BMC models
			metadata := c.Get("/redfish/v1/$metadata").Raw
			for typ := range types {
				ns := strings.TrimPrefix(typ, "#")
				ns = ns[:strings.LastIndex(ns, ".")]
				if !strings.Contains(metadata, `Namespace="`+ns+`"`) {
					t.Errorf("$metadata lacks %s (%s)", ns, typ)
				}
			}
			if visited < 20 || len(types) < 15 {
				t.Errorf("only %d resources, %d types", visited, len(types))
			}
		})
	}
}
