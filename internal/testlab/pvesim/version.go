package pvesim

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/labdata"
)

// pveReleaseInfo is what a lab reports and how it behaves for one PVE
// release (Options.Version).
type pveReleaseInfo struct {
	major      int    // 9 or 8
	version    string // pve-manager version, e.g. "9.1.3"
	release    string // "9.1"
	repoid     string
	kernel     string // running kernel release
	kversion   string // its build string
	qemu       string // QEMU version of pve-qemu-kvm
	schemaFile string // file name in shared/api-schemas
	// haRules: pve-ha-manager 5 (PVE 9) has HA rules, resource failback and
	// rule purging on resource removal, and has migrated HA groups to rules;
	// pve-ha-manager 4 (PVE 8) has HA groups.
	haRules bool
	// poolStatusLastPool: getpool (GET /nodes/{node}/ceph/pool/{name}/status
	// with verbose=1) answers the statistics of the last pool in "ceph df",
	// whatever pool was asked for. pve-manager PVE/API2/Ceph/Pool.pm filters
	// with "next if !defined($d->{name}) && !$d->{name} ne "$pool";", which
	// never skips a pool that has a name (every pool has one). Since
	// 54ba7dd9 (6.4); fixed by b0f4269e in 9.1.12, never on stable-8
	// (8.4.21 still has it).
	poolStatusLastPool bool
}

// defaultPVERelease is the release a lab models unless told otherwise.
const defaultPVERelease = "9.1"

// pveReleases are the releases a lab can model, by Options.Version.
var pveReleases = map[string]*pveReleaseInfo{
	"9.1": {
		major:      9,
		version:    pveVersion,
		release:    pveRelease,
		repoid:     pveRepoID,
		kernel:     pveKernel,
		kversion:   pveKVersion,
		qemu:       qemuVersion,
		schemaFile: schemaFileName,
		haRules:    true,

		poolStatusLastPool: true, // 9.1.3 < 9.1.12
	},
	"8.4": {
		major:      8,
		version:    "8.4.1",
		release:    "8.4",
		repoid:     "2a5fa54a8503f96d",
		kernel:     "6.8.12-10-pve",
		kversion:   "#1 SMP PREEMPT_DYNAMIC PMX 6.8.12-10 (2025-04-18T07:39Z)",
		qemu:       "9.2.0",
		schemaFile: "pve-8.4.2.json",

		poolStatusLastPool: true,
	},
}

// lookupPVERelease returns the release for Options.Version.
func lookupPVERelease(v string) (*pveReleaseInfo, error) {
	if v == "" {
		v = defaultPVERelease
	}
	rel, ok := pveReleases[v]
	if !ok {
		return nil, fmt.Errorf("pvesim: unsupported PVE version %q (the lab models 9.1 and 8.4)", v)
	}
	return rel, nil
}

// Version returns the PVE release the lab models, e.g. "9.1".
func (p *PVE) Version() string { return p.rel.release }

// versionInfo is PVE::pvecfg::version_info: GET /nodes/{node}/version.
func (p *PVE) versionInfo() map[string]any {
	return map[string]any{"version": p.rel.version, "release": p.rel.release, "repoid": p.rel.repoid}
}

// apiVersion serves GET /version: version_info plus the datacenter's
// default console, when datacenter.cfg sets one (PVE::API2's version).
func (p *PVE) apiVersion(*Request) (any, error) {
	res := p.versionInfo()
	p.mu.Lock()
	defer p.mu.Unlock()
	if dc, err := p.datacenterConfigLocked(); err == nil {
		if v, ok := dc["console"]; ok {
			res["console"] = v
		}
	}
	return res, nil
}

// schemaFor returns the schema file to use for a release when the
// environment names one (PVE_API_SCHEMA): that file for the default
// release; for another release the file of that release beside it, when it
// is there.
func schemaFor(env string, rel *pveReleaseInfo) string {
	if rel.schemaFile == schemaFileName || filepath.Base(env) == rel.schemaFile {
		return env
	}
	sibling := filepath.Join(filepath.Dir(env), rel.schemaFile)
	if st, err := os.Stat(sibling); err == nil && !st.IsDir() {
		return sibling
	}
	return env
}

// schemaFileName is the schema of the release the simulator models by default.
const schemaFileName = labdata.PVE91

// dropRoutesOutsideSchema removes the handlers of methods the schema does
// not have. The handlers are written for the default release; a lab of
// another release answers those methods like that release does, as unknown
// ("Method '...' not implemented").
func (p *PVE) dropRoutesOutsideSchema() {
	if p.schema == nil || p.rel.schemaFile == schemaFileName {
		return
	}
	rt := p.routes
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.tree.Walk(func(n *pathNode) {
		for m, e := range n.Methods {
			if e.schema == nil {
				delete(n.Methods, m)
			}
		}
	})
}
