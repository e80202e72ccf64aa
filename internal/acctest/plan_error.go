package acctest

import (
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
)

// ExpectPlanError runs one plan of config through the CLI and expects it to
// fail with an error matching want: for input that must be refused at plan
// time, before anything is sent. Against the simulated lab it also checks
// that the plan sent no write (no request but GET) to PVE.
func ExpectPlanError(t *testing.T, config string, want *regexp.Regexp) {
	t.Helper()
	var before int
	Test(t, resource.TestCase{
		PreCheck: func() {
			PreCheck(t)
			before = labWrites()
		},
		ProtoV6ProviderFactories: ProtoV6ProviderFactories,
		Steps:                    []resource.TestStep{{Config: config, PlanOnly: true, ExpectError: want}},
	})
	if after := labWrites(); after != before {
		t.Errorf("the refused plan sent %d writes to PVE, want none", after-before)
	}
}

// labWrites counts the lab's PVE requests other than GET so far (0 without
// the simulated lab).
func labWrites() int {
	if lab == nil {
		return 0
	}
	n := 0
	for key, count := range lab.Requests() {
		if !strings.HasPrefix(key, "GET ") {
			n += count
		}
	}
	return n
}
