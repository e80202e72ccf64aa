// Command gen writes the privilege table (privileges.TemplatePath) from the
// official API schemas in shared/api-schemas beside the repository (see
// labdata.Find) and the route lists of package privileges. Run it with
// go generate ./internal/privileges; TestTable checks that what is committed
// is what it writes.
package main

import (
	"flag"
	"log"
	"os"

	"github.com/hcilab/terraform-provider-pve/internal/privileges"
)

func main() {
	out := flag.String("out", "../../"+privileges.TemplatePath, "the file to write")
	flag.Parse()
	s, err := privileges.LoadOfficial()
	if err != nil {
		log.Fatal(err)
	}
	text, err := privileges.Render(s)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*out, []byte(text), 0o644); err != nil {
		log.Fatal(err)
	}
}
