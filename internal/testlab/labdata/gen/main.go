// Command gen writes package labdata's files from the official files in
// shared/ beside the repository (see labdata.Find): the parts of the PVE
// and PBS API schemas that the simulators serve and the DMTF Redfish
// mockup's resources that the BMCs serve as they are (see
// testlab.GenerateLabData). Run it with go generate in
// internal/testlab/labdata; the lab's tests check that what is committed is
// what it writes.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/hcilab/terraform-provider-pve/internal/testlab"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/labdata"
)

func main() {
	out := flag.String("out", ".", "the labdata folder to write")
	flag.Parse()
	files, err := testlab.GenerateLabData()
	if err != nil {
		log.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(*out, "redfish", labdata.MockupName)); err != nil {
		log.Fatal(err)
	}
	for name, data := range files {
		path := filepath.Join(*out, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Printf("labdata: %d files written to %s\n", len(files), *out)
}
