package ceph_test

import (
	"os"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"

	"github.com/hcilab/terraform-provider-pve/internal/acctest"
)

func TestMain(m *testing.M) {
	os.Exit(acctest.Run(m))
}

// pg_num through the CLI: the default target, an explicit one, and bad
// input as an error naming the argument.
func TestAccPGNumFunction(t *testing.T) {
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: `
output "small" {
  value = provider::pve::pg_num(3, 3, 1)
}
output "ec" {
  value = provider::pve::pg_num(6, 6, 1, 200)
}
`,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownOutputValue("small", knownvalue.Int64Exact(128)),
					statecheck.ExpectKnownOutputValue("ec", knownvalue.Int64Exact(256)),
				},
			},
			{
				Config:      `output "bad" { value = provider::pve::pg_num(0, 3, 1) }`,
				ExpectError: regexp.MustCompile(`(?s)must be at least 1`),
			},
		},
	})
}
