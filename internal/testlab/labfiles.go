package testlab

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/bmcsim"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/labdata"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/pbssim"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/pvesim"
)

// The schemas and the Redfish mockup the simulators act on come with the
// repository (package labdata): the parts of the official files that the
// lab serves, generated from them by go generate. When the official files
// are beside the repository (shared/, see labdata.Find) the lab loads them
// instead, so that every request is checked against the whole official
// schema; under CI their absence is an error.

// servedRoutes returns the "METHOD /template" keys of the routes the PVE
// simulator serves in a lab of release version ("9.1" or "8.4"), and those
// of the PBS simulator. labdata's generator keeps their parameter schemas.
func servedRoutes(version string) (pve, pbs map[string]bool, err error) {
	pve, err = pvesim.ServedRoutes(version)
	if err != nil {
		return nil, nil, err
	}
	pbs, err = pbssim.ServedRoutes()
	return pve, pbs, err
}

// GenerateLabData returns package labdata's generated files, by their path
// in its folder, made from the official files beside the repository
// (labdata.Find): the schemas' parts the simulators serve (labdata.Subset)
// and the Redfish mockup's files the BMCs serve as they are, with its
// licence.
func GenerateLabData() (map[string][]byte, error) {
	files := map[string][]byte{}
	pve91, pbs, err := servedRoutes("9.1")
	if err != nil {
		return nil, err
	}
	pve84, _, err := servedRoutes("8.4")
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
