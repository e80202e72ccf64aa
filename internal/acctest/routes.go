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
	missing := privileges.Unlisted(b, served)
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("the %s lab served routes that internal/privileges/routes.go does not list for any type, so the privilege table "+
		"(docs/guides/privileges.md) does not show them: %s; add them to the types that call them and run go generate ./internal/privileges and make docs",
		b, strings.Join(missing, ", "))
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
