package testlab

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/bmcsim"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/labdata"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/pbssim"
)

// The schemas and the Redfish mockup the simulators act on come with the
// repository (package labdata): the parts of the official files that the
// lab serves, generated from them by go generate. When the official files
// are beside the repository (shared/, see labdata.Find) the lab loads them
// instead, so that every request is checked against the whole official
// schema; under CI their absence is an error.

// ServedRoutes returns the "METHOD /template" keys of the routes the PVE
// simulator serves in a lab of release version ("9.1" or "8.4"), and those
// of the PBS simulator. labdata's generator keeps their parameter schemas.
func ServedRoutes(version string) (pve, pbs map[string]bool, err error) {
	p, err := StartPVE(PVEOptions{Nodes: 1, Version: version, SchemaPath: "-", RedfishMockup: "-"})
	if err != nil {
		return nil, nil, err
	}
	pve = map[string]bool{}
	for _, r := range p.routes.served() {
		pve[r] = true
	}
	if err := p.Close(); err != nil {
		return nil, nil, err
	}
	pbs, err = pbssim.ServedRoutes()
	return pve, pbs, err
}

// served returns "METHOD /template" for every route with a handler.
func (rt *router) served() []string {
	rt.mu.RLock()
	defer rt.mu.RUnlock()
	var out []string
	rt.tree.Walk(func(n *pathNode) {
		for m, e := range n.Methods {
			if e.handler != nil {
				out = append(out, m+" "+templateOrRoot(n.Template()))
			}
		}
	})
	slices.Sort(out)
	return out
}

// templateOrRoot names the root of the tree "/", as the schemas do.
func templateOrRoot(t string) string {
	if t == "" {
		return "/"
	}
	return t
}

// GenerateLabData returns package labdata's generated files, by their path
// in its folder, made from the official files beside the repository
// (labdata.Find): the schemas' parts the simulators serve (labdata.Subset)
// and the Redfish mockup's files the BMCs serve as they are, with its
// licence.
func GenerateLabData() (map[string][]byte, error) {
	files := map[string][]byte{}
	pve91, pbs, err := ServedRoutes("9.1")
	if err != nil {
		return nil, err
	}
	pve84, _, err := ServedRoutes("8.4")
	if err != nil {
		return nil, err
	}
	for name, served := range map[string]map[string]bool{labdata.PVE91: pve91, labdata.PVE84: pve84, labdata.PBS4: pbs} {
		path, err := labdata.Find("api-schemas/" + name)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		official, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		if files[name], err = labdata.Subset(official, served); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	dir, err := labdata.Find("redfish-mockups/" + labdata.MockupName)
	if err != nil {
		return nil, err
	}
	licence, err := os.ReadFile(filepath.Join(dir, "..", "LICENSE.md"))
	if err != nil {
		return nil, err
	}
	files["redfish/LICENSE.md"] = licence
	err = fs.WalkDir(os.DirFS(dir), ".", func(rel string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !bmcsim.MockupFile(rel) {
			return err
		}
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
		files["redfish/"+labdata.MockupName+"/"+rel] = b
		return err
	})
	if err != nil {
		return nil, err
	}
	return files, nil
}
