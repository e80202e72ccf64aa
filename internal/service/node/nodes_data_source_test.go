package node_test

import (
	"errors"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/hcilab/terraform-provider-pve/internal/acctest"
)

func positive(v int64) error {
	if v <= 0 {
		return errors.New("want a positive value")
	}
	return nil
}

func TestAccNodes_basic(t *testing.T) {
	// Against a real lab the names are not known in advance.
	var names knownvalue.Check = knownvalue.NotNull()
	if acctest.Lab() != nil {
		names = knownvalue.ListExact([]knownvalue.Check{
			knownvalue.StringExact("pve1"), knownvalue.StringExact("pve2"), knownvalue.StringExact("pve3"),
		})
	}
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: `data "pve_nodes" "all" {}`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.pve_nodes.all", tfjsonpath.New("names"), names),
				statecheck.ExpectKnownValue("data.pve_nodes.all", tfjsonpath.New("nodes").AtSliceIndex(0),
					knownvalue.ObjectPartial(map[string]knownvalue.Check{
						"online":       knownvalue.Bool(true),
						"status":       knownvalue.StringExact("online"),
						"cpu_count":    knownvalue.Int64Func(positive),
						"memory_total": knownvalue.Int64Func(positive),
						"uptime":       knownvalue.Int64Func(positive),
						"ssl_fingerprint": knownvalue.StringRegexp(
							regexp.MustCompile(`^([0-9A-F]{2}:){31}[0-9A-F]{2}$`)),
					})),
			},
		}},
	})
}
