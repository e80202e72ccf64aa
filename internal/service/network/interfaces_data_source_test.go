package network_test

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/hcilab/terraform-provider-pve/internal/acctest"
)

func TestAccNetworkInterfaces_basic(t *testing.T) {
	nic := func(name string) knownvalue.Check {
		return knownvalue.ObjectPartial(map[string]knownvalue.Check{
			"name":   knownvalue.StringExact(name),
			"type":   knownvalue.StringExact("eth"),
			"exists": knownvalue.Bool(true),
		})
	}
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: lines(
				`data "pve_network_interfaces" "nics" {`,
				`  node = "pve2"`,
				`  type = "eth"`,
				`}`),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.pve_network_interfaces.nics", tfjsonpath.New("interfaces"),
					knownvalue.ListPartial(map[int]knownvalue.Check{0: nic("eno1"), 3: nic("eno4")})),
			},
		}},
	})
}
