// Command release-check checks a release built by GoReleaser against the
// Terraform and OpenTofu registries' rules (internal/release): the registry
// files in -dist, and the librados (ceph) build in -ceph when given.
//
//	go run ./cmd/release-check -version 0.1.0 -dist dist -ceph dist-ceph
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/hcilab/terraform-provider-pve/internal/release"
)

func main() {
	version := flag.String("version", "", "the release's version, without a leading v")
	dist := flag.String("dist", "dist", "GoReleaser's output folder")
	ceph := flag.String("ceph", "", "the ceph build's folder (scripts/release-ceph.sh); empty skips it")
	unsigned := flag.Bool("unsigned", false, "do not require the checksum files' signatures")
	manifest := flag.String("manifest", "terraform-registry-manifest.json", "the file uploaded as the manifest when -dist has none")
	flag.Parse()
	if *version == "" {
		fmt.Fprintln(os.Stderr, "release-check: -version is required")
		os.Exit(2)
	}
	opts := release.Options{Signed: !*unsigned, Manifest: *manifest}
	failed := false
	if err := release.CheckRegistry(*dist, *version, opts); err != nil {
		fmt.Fprintf(os.Stderr, "release-check: %s:\n%v\n", *dist, err)
		failed = true
	} else {
		fmt.Printf("release-check: %s: %s and %s list only platform archives and the manifest; names, manifest and binaries' version %s are as the registries want\n",
			*dist, release.SumsName(*version), release.SumsName(*version)+".sig", *version)
	}
	if *ceph != "" {
		if err := release.CheckCeph(*ceph, *version, opts); err != nil {
			fmt.Fprintf(os.Stderr, "release-check: %s:\n%v\n", *ceph, err)
			failed = true
		} else {
			fmt.Printf("release-check: %s: the ceph build's archives are in %s of their own (cgo, ceph tag, version %s)\n",
				*ceph, release.CephSumsName(*version), *version)
		}
	}
	if failed {
		os.Exit(1)
	}
}
