package node_test

import (
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/hcilab/terraform-provider-pve/internal/acctest"
)

func TestAccVersion_basic(t *testing.T) {
	// Against a real lab only the shape of the version is known.
	var release, version knownvalue.Check = knownvalue.StringRegexp(regexp.MustCompile(`^\d+\.\d+$`)),
		knownvalue.StringRegexp(regexp.MustCompile(`^\d+\.\d+[.-]\d+`))
	if acctest.Lab() != nil {
		release, version = knownvalue.StringExact("9.1"), knownvalue.StringExact("9.1.3")
	}
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: `data "pve_version" "this" {}`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.pve_version.this", tfjsonpath.New("release"), release),
				statecheck.ExpectKnownValue("data.pve_version.this", tfjsonpath.New("version"), version),
				statecheck.ExpectKnownValue("data.pve_version.this", tfjsonpath.New("repo_id"),
					knownvalue.StringRegexp(regexp.MustCompile(`^[0-9a-f]{8,}$`))),
			},
		}},
	})
}
