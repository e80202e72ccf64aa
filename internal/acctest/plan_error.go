package acctest

import (
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
)

// ExpectPlanError runs one plan of config through the CLI and expects it to
// fail with an error matching want: for input that must be refused at plan
// time, before anything is sent.
func ExpectPlanError(t *testing.T, config string, want *regexp.Regexp) {
	t.Helper()
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { PreCheck(t) },
		ProtoV6ProviderFactories: ProtoV6ProviderFactories,
		Steps:                    []resource.TestStep{{Config: config, PlanOnly: true, ExpectError: want}},
	})
}
