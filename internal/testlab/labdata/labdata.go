// Package labdata holds the third-party data the simulated servers need to
// behave like the real ones, so that a clone of the repository with nothing
// beside it runs the lab:
//
//   - pve-9.1.3.json, pve-8.4.2.json: the part of Proxmox VE's official API
//     schema (pve-docs, api-viewer/apidata.js; AGPL-3.0-or-later, Proxmox
//     Server Solutions GmbH) that the PVE simulator needs: the path tree, the
//     methods with their flags, and the parameter schemas of the methods it
//     serves (see Subset).
//   - pbs-4.x.json: the same for Proxmox Backup Server 4.x (its apidoc;
//     AGPL-3.0-or-later, Proxmox Server Solutions GmbH).
//   - redfish/public-rackmount1: DMTF's public rack-mount Redfish mockup
//     (BSD 3-Clause, redfish/LICENSE.md), the tree the BMCs answer from.
//
// The files are generated (go generate) from the official schemas and the
// mockup in shared/ beside the repository (see Find): the lab's tests
// regenerate them and fail when they differ. When the official files are
// found, the lab validates every request against them instead; under CI
// (CI=true) their absence is an error.
package labdata

//go:generate go run ./gen

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Names of the schema files, as in shared/api-schemas.
const (
	PVE91 = "pve-9.1.3.json"
	PVE84 = "pve-8.4.2.json"
	PBS4  = "pbs-4.x.json"
)

// MockupName is the Redfish mockup's folder, as in shared/redfish-mockups.
const MockupName = "public-rackmount1"

//go:embed pve-9.1.3.json pve-8.4.2.json pbs-4.x.json redfish
var files embed.FS

// Files returns the generated files, by their path in the package's folder.
func Files() fs.FS { return files }

// Schema returns the lab's copy of a schema file (PVE91, PVE84 or PBS4).
func Schema(name string) ([]byte, error) {
	b, err := files.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("labdata: no schema %q", name)
	}
	return b, nil
}

// RedfishMockup returns the lab's copy of the DMTF mockup, rooted at its
// folder (index.json is the service root).
func RedfishMockup() fs.FS {
	sub, err := fs.Sub(files, "redfish/"+MockupName)
	if err != nil {
		panic(err) // embedded at build time
	}
	return sub
}

// ErrNotFound is returned by Find when the official file is not beside the
// repository.
var ErrNotFound = errors.New("not found")

// Find returns the path of an official file of shared/ ("api-schemas/" +
// PVE91, "redfish-mockups/" + MockupName): walking up from the working
// directory it looks at every level for ../shared/<rel> and shared/<rel>.
// When there is none it returns ErrNotFound or, under CI (the environment
// variable CI is "true"), an error that says why CI needs it.
func Find(rel string) (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	start := dir
	for {
		for _, c := range []string{
			filepath.Join(dir, "..", "shared", filepath.FromSlash(rel)),
			filepath.Join(dir, "shared", filepath.FromSlash(rel)),
		} {
			if _, err := os.Stat(c); err == nil {
				return c, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	if Required() {
		return "", fmt.Errorf("CI=true, but shared/%s is not beside the repository (looked from %s up): CI checks the lab against the official files, so shared/ must be beside the checkout", rel, start)
	}
	return "", ErrNotFound
}

// Required reports whether the official files must be found: under CI.
func Required() bool { return os.Getenv("CI") == "true" }
