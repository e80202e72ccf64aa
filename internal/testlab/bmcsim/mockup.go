package bmcsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/labdata"
)

// The BMCs' resource tree is the DMTF public rack-mount mockup
// (public-rackmount1: one index.json per resource, in short form, without
// the redfish/v1 folders). The resources the BMCs model (service root,
// systems, managers, chassis, sessions, accounts, virtual media, tasks and
// the system's NICs, processors and memory) are built per BMC, in the
// mockup's shape, with the node's values; every other resource of the
// mockup (BIOS attributes, sensors, log services, registries, $metadata,
// ...) is served as the mockup has it, with the mockup's system ID replaced
// by the node's. Without the mockup the BMCs serve only the resources they
// model, and link only to those.

// Where the mockup's system is, and which IDs it uses.
const (
	mockupSystemID = "437XR1138R2"
	managerID      = "BMC" // the mockup's manager, kept
	chassisID      = "1U"  // the mockup's chassis, kept
)

// Mockup is the static part of the tree, shared by the BMCs of a lab
// (LoadMockup, OpenMockup).
type Mockup struct {
	dir  string
	docs map[string][]byte // by URI ("/redfish/v1/Systems/437XR1138R2/Bios"), the mockup's bytes
}

// modelled reports whether the BMCs build the resource at uri (with the
// mockup's IDs) themselves: the mockup's copy is never served.
func modelled(uri string) bool {
	sys := "/redfish/v1/Systems/" + mockupSystemID
	mgr := "/redfish/v1/Managers/" + managerID
	switch uri {
	case "/redfish/v1", "/redfish/v1/odata", "/redfish/v1/Systems", sys, "/redfish/v1/Managers", mgr,
		"/redfish/v1/Chassis", "/redfish/v1/Chassis/" + chassisID,
		"/redfish/v1/AccountService", "/redfish/v1/AccountService/Accounts":
		return true
	}
	// the Redfish host interface, between the BMC and the host, stays the mockup's
	if uri == sys+"/EthernetInterfaces/ToManager" || uri == mgr+"/EthernetInterfaces/ToHost" {
		return false
	}
	for _, prefix := range []string{
		sys + "/VirtualMedia", sys + "/EthernetInterfaces", sys + "/Processors", sys + "/Memory",
		mgr + "/VirtualMedia", mgr + "/EthernetInterfaces",
		"/redfish/v1/SessionService", "/redfish/v1/TaskService", "/redfish/v1/AccountService/Accounts/",
	} {
		if uri == prefix || strings.HasPrefix(uri, prefix+"/") {
			return true
		}
	}
	return false
}

// LoadMockup reads the DMTF mockup in fsys (rooted at the mockup's
// folder); name says where it is, in errors.
func LoadMockup(fsys fs.FS, name string) (*Mockup, error) {
	m := &Mockup{dir: name, docs: map[string][]byte{}}
	err := fs.WalkDir(fsys, ".", func(rel string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		uri, ok := mockupURI(rel)
		if !ok || modelled(uri) {
			return nil
		}
		b, err := fs.ReadFile(fsys, rel)
		if err != nil {
			return err
		}
		if strings.HasSuffix(rel, ".json") && !json.Valid(b) {
			return fmt.Errorf("%s/%s: not JSON", name, rel)
		}
		m.docs[uri] = b
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("bmcsim: load Redfish mockup: %w", err)
	}
	if len(m.docs) == 0 {
		return nil, fmt.Errorf("bmcsim: load Redfish mockup: no resources in %s", name)
	}
	return m, nil
}

// mockupURI returns the URI of the mockup's file at rel (a path inside the
// mockup's folder), false for files that are no resource.
func mockupURI(rel string) (string, bool) {
	switch {
	case rel == "index.json":
		return "/redfish/v1", true
	case strings.HasSuffix(rel, "/index.json"):
		return "/redfish/v1/" + strings.TrimSuffix(rel, "/index.json"), true
	case rel == "$metadata/index.xml":
		return "/redfish/v1/$metadata", true
	case strings.HasPrefix(rel, "Registries/") && strings.HasSuffix(rel, ".json"):
		return "/redfish/v1/" + rel, true // the registry files themselves
	}
	return "", false // explorer_config.json and the like
}

// MockupFile reports whether the lab keeps the mockup's file at rel (a
// path inside the mockup's folder): the files LoadMockup reads, less the
// resources the BMCs build themselves. labdata's generator keeps these.
func MockupFile(rel string) bool {
	uri, ok := mockupURI(rel)
	return ok && !modelled(uri)
}

// OpenMockup loads the mockup the BMCs of a lab serve: the folder path,
// none for "-" (nil), or for "" the folder REDFISH_MOCKUP names, else the
// lab's copy (package labdata).
func OpenMockup(path string) (*Mockup, error) {
	if path == "" {
		path = os.Getenv("REDFISH_MOCKUP")
	}
	switch path {
	case "-":
		return nil, nil
	case "":
		return LoadMockup(labdata.RedfishMockup(), "labdata:"+labdata.MockupName)
	default:
		return LoadMockup(os.DirFS(path), path)
	}
}

// doc returns the mockup's resource at uri as BMC b serves it: with the
// mockup's system ID replaced by b's. uri is what the client asked for.
func (m *Mockup) doc(b *BMC, uri string) ([]byte, bool) {
	if m == nil || strings.Contains(uri, mockupSystemID) && b.id.systemID != mockupSystemID {
		return nil, false
	}
	key := strings.Replace(uri, "/Systems/"+b.id.systemID, "/Systems/"+mockupSystemID, 1)
	raw, ok := m.docs[key]
	if !ok {
		return nil, false
	}
	return bytes.ReplaceAll(raw, []byte(mockupSystemID), []byte(b.id.systemID)), true
}

// mockupKey is the mockup's URI of what a client asks b for at uri.
func mockupKey(b *BMC, uri string) string {
	return strings.Replace(uri, "/Systems/"+b.id.systemID, "/Systems/"+mockupSystemID, 1)
}

// pruneLinks drops from a mockup document the links to resources the BMC
// models but does not have (the mockup's second processor, its CD's
// certificates, ...), with their @odata.count, so that every link a BMC
// serves resolves.
func pruneLinks(b *BMC, v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = pruneLinks(b, e)
			if arr, ok := x[k].([]any); ok {
				if _, counted := x[k+"@odata.count"]; counted {
					x[k+"@odata.count"] = len(arr)
				}
			}
		}
		return x
	case []any:
		out := x[:0]
		for _, e := range x {
			if l, ok := e.(map[string]any); ok && len(l) == 1 {
				if uri, ok := l["@odata.id"].(string); ok && b.danglingLocked(uri) {
					continue
				}
			}
			out = append(out, pruneLinks(b, e))
		}
		return out
	}
	return v
}

// has reports whether b serves the mockup's resource at uri.
func (m *Mockup) has(b *BMC, uri string) bool {
	_, ok := m.doc(b, uri)
	return ok
}
