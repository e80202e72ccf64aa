// Command gen writes the privilege table (privileges.TemplatePath) and the
// pveum commands of the getting started guide (privileges.RoleScriptPath) from the
// official API schemas in shared/api-schemas beside the repository (see
// labdata.Find) and the route lists of package privileges. Run it with
// go generate ./internal/privileges; TestTable checks that what is committed
// is what it writes.
package main

import (
	"flag"
	"log"
	"os"
	"path/filepath"

	"github.com/hcilab/terraform-provider-pve/internal/privileges"
)

func main() {
	root := flag.String("root", "../..", "the repository's root")
	flag.Parse()
	out := filepath.Join(*root, filepath.FromSlash(privileges.TemplatePath))
	s, err := privileges.LoadOfficial()
	if err != nil {
		log.Fatal(err)
	}
	text, err := privileges.Render(s)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(out, []byte(text), 0o644); err != nil {
		log.Fatal(err)
	}
	script, err := privileges.RoleScript(s)
	if err != nil {
		log.Fatal(err)
	}
	path := filepath.Join(*root, filepath.FromSlash(privileges.RoleScriptPath))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
		log.Fatal(err)
	}
}
