package acctest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hcilab/terraform-provider-pve/internal/privileges"
)

// unlistedRoutes reports the routes a simulated server served that the
// privilege table's route lists (internal/privileges) do not name: the
// provider called an API route whose privileges docs/guides/privileges.md
// does not show. served is the server's request log ("METHOD /template").
func unlistedRoutes(b privileges.Backend, served map[string]int) error {
	var missing []string
	for _, k := range privileges.Unlisted(b, served) {
		if !testRoutes[k] {
			missing = append(missing, k)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("the %s lab served routes that internal/privileges/routes.go does not list for any type, so the privilege table "+
		"(docs/guides/privileges.md) does not show them: %s; add them to the types that call them and run go generate ./internal/privileges and make docs",
		b, strings.Join(missing, ", "))
}

// testRoutes are routes the tests call themselves, to set up what a test
// needs out of band, and the provider never calls: the lab's request log does
// not tell who sent a request. Keep it to such set-up calls.
var testRoutes = map[string]bool{
	"POST /nodes/{node}/qemu/{vmid}/template": true, // vm: a template to clone from (vm_resource_test.go)
	"POST /nodes/{node}/lxc/{vmid}/template":  true, // lxc: likewise (container_resource_test.go)
}

// checkRoutesAtCleanup fails t when the server served unlisted routes by
// the end of the test.
func checkRoutesAtCleanup(t *testing.T, b privileges.Backend, served func() map[string]int) {
	t.Helper()
	t.Cleanup(func() {
		if t.Failed() {
			return
		}
		if err := unlistedRoutes(b, served()); err != nil {
			t.Error(err)
		}
	})
}
