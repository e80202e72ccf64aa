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

func TestAccNode_basic(t *testing.T) {
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: `
data "pve_nodes" "all" {}

data "pve_node" "first" {
  name = data.pve_nodes.all.names[0]
}
`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.pve_node.first", tfjsonpath.New("cpu_count"), knownvalue.Int64Func(positive)),
				statecheck.ExpectKnownValue("data.pve_node.first", tfjsonpath.New("cpu_model"), knownvalue.StringRegexp(regexp.MustCompile(`\S`))),
				statecheck.ExpectKnownValue("data.pve_node.first", tfjsonpath.New("memory_total"), knownvalue.Int64Func(positive)),
				statecheck.ExpectKnownValue("data.pve_node.first", tfjsonpath.New("pve_version"),
					knownvalue.StringRegexp(regexp.MustCompile(`^pve-manager/\d+\.\d+\.\d+/`))),
				statecheck.ExpectKnownValue("data.pve_node.first", tfjsonpath.New("kernel_version"), knownvalue.StringRegexp(regexp.MustCompile(`\S`))),
				statecheck.ExpectKnownValue("data.pve_node.first", tfjsonpath.New("load_average"), knownvalue.ListSizeExact(3)),
				statecheck.ExpectKnownValue("data.pve_node.first", tfjsonpath.New("boot_mode"),
					knownvalue.StringRegexp(regexp.MustCompile(`^(efi|legacy-bios)$`))),
			},
		}},
	})
}

func TestAccNode_notFound(t *testing.T) {
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config:      `data "pve_node" "missing" { name = "nosuchnode" }`,
			ExpectError: regexp.MustCompile(`PVE Node Not Found[\s\S]*nosuchnode`),
		}},
	})
}

func TestAccNode_invalidName(t *testing.T) {
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config:      `data "pve_node" "bad" { name = "not a node!" }`,
			ExpectError: regexp.MustCompile(`Invalid Attribute Value`),
		}},
	})
}
