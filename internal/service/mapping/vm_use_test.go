package mapping_test

import (
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/hcilab/terraform-provider-pve/internal/acctest"
)

const gpuVM = `
resource "pve_vm" "gpu" {
  node    = "pve1"
  name    = "acc-gpu"
  machine = "q35"
  hostpci = {
    hostpci0 = { mapping = "gpu", pcie = true }
  }
}
`

// A VM uses the mapping and runs; the mapping cannot be deleted while the
// VM uses it (the error names the VM); with the VM gone, it can.
func TestAccMappingPCI_usedByVM(t *testing.T) {
	withMapping := gpuMapping([]string{"pve1", "pve2"}, "RTX 3090", false) +
		`
resource "pve_vm" "gpu" {
  node    = "pve1"
  name    = "acc-gpu"
  machine = "q35"
  hostpci = {
    hostpci0 = { mapping = pve_mapping_pci.gpu.name, pcie = true }
  }
}
`
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkMappingsDestroyed(t),
		Steps: []resource.TestStep{
			{
				Config: withMapping,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("pve_vm.gpu", tfjsonpath.New("started"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue("pve_vm.gpu", tfjsonpath.New("hostpci").AtMapKey("hostpci0").AtMapKey("mapping"), knownvalue.StringExact("gpu")),
					statecheck.ExpectKnownValue("pve_vm.gpu", tfjsonpath.New("hostpci").AtMapKey("hostpci0").AtMapKey("rombar"), knownvalue.Bool(true)),
				},
			},
			{
				// The mapping leaves the configuration while the VM keeps
				// using it by name.
				Config:      gpuVM,
				ExpectError: regexp.MustCompile(`(?s)pci mapping gpu is in use by VM \d+ \(hostpci0\) on pve1`),
			},
			{Config: withMapping},
		},
	})
}
