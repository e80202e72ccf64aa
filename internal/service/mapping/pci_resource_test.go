package mapping_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/hcilab/terraform-provider-pve/internal/acctest"
	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

func TestMain(m *testing.M) {
	os.Exit(acctest.Run(m))
}

const pciAddr = "pve_mapping_pci.gpu"

func checkMappingsDestroyed(t *testing.T) func(*terraform.State) error {
	return func(s *terraform.State) error {
		for _, rs := range s.RootModule().Resources {
			kind := map[string]pve.MappingKind{"pve_mapping_pci": pve.PCIMapping, "pve_mapping_usb": pve.USBMapping}[rs.Type]
			if kind == "" {
				continue
			}
			_, err := acctest.PVEClient(t).GetMapping(context.Background(), kind, rs.Primary.ID)
			if err == nil {
				return fmt.Errorf("%s mapping %s still exists", kind, rs.Primary.ID)
			}
			if !errors.Is(err, pve.ErrNotFound) {
				return err
			}
		}
		return nil
	}
}

// gpuMapping builds the mapping from the data source: the GPU (whole
// device, with its audio function) on each listed node.
func gpuMapping(nodes []string, description string, liveMigration bool) string {
	var b strings.Builder
	for _, n := range nodes {
		fmt.Fprintf(&b, `
data "pve_node_pci_devices" "%[1]s" {
  node      = %[1]q
  class     = "0300"
  vendor_id = "10de"
}
`, n)
	}
	refs := make([]string, len(nodes))
	for i, n := range nodes {
		refs[i] = "data.pve_node_pci_devices." + n
	}
	fmt.Fprintf(&b, `
resource "pve_mapping_pci" "gpu" {
  name           = "gpu"
  description    = %q
  live_migration = %t
  map = [for d in [%s] : {
    node         = d.node
    path         = trimsuffix(d.devices[0].path, ".0")
    id           = d.devices[0].id
    subsystem_id = d.devices[0].subsystem_id
    iommu_group  = d.devices[0].iommu_group
    description  = d.devices[0].device_name
  }]
}
`, description, liveMigration, strings.Join(refs, ", "))
	return b.String()
}

// The GPU on two nodes, found through the data source; imported; changed in
// place (a description, a switch turned off again is cleared, not dropped);
// destroyed.
func TestAccMappingPCI_basic(t *testing.T) {
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkMappingsDestroyed(t),
		Steps: []resource.TestStep{
			{
				Config: gpuMapping([]string{"pve1", "pve2"}, "RTX 3090", true),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(pciAddr, tfjsonpath.New("id"), knownvalue.StringExact("gpu")),
					statecheck.ExpectKnownValue(pciAddr, tfjsonpath.New("live_migration"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(pciAddr, tfjsonpath.New("mediated_devices"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue(pciAddr, tfjsonpath.New("map"), knownvalue.SetExact([]knownvalue.Check{
						gpuEntry("pve1"), gpuEntry("pve2"),
					})),
				},
			},
			{ResourceName: pciAddr, ImportState: true, ImportStateId: "gpu", ImportStateVerify: true},
			{
				Config: gpuMapping([]string{"pve1", "pve2"}, "RTX 3090 (24 GB)", false),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(pciAddr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(pciAddr, tfjsonpath.New("description"), knownvalue.StringExact("RTX 3090 (24 GB)")),
					statecheck.ExpectKnownValue(pciAddr, tfjsonpath.New("live_migration"), knownvalue.Bool(false)),
				},
				Check: func(*terraform.State) error {
					m, err := acctest.PVEClient(t).GetMapping(context.Background(), pve.PCIMapping, "gpu")
					if err != nil {
						return err
					}
					if _, set := m.Flags["live-migration-capable"]; set {
						return fmt.Errorf("live-migration-capable is still set (%v): a false switch is cleared with delete", m.Flags)
					}
					return nil
				},
			},
			{
				// Deleted out of band: planned again.
				PreConfig: func() {
					if err := acctest.PVEClient(t).DeleteMapping(context.Background(), pve.PCIMapping, "gpu"); err != nil {
						t.Fatal(err)
					}
				},
				Config:             gpuMapping([]string{"pve1", "pve2"}, "RTX 3090 (24 GB)", false),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
		},
	})
}

func gpuEntry(node string) knownvalue.Check {
	return knownvalue.ObjectExact(map[string]knownvalue.Check{
		"node":         knownvalue.StringExact(node),
		"path":         knownvalue.StringExact("0000:01:00"),
		"id":           knownvalue.StringExact("10de:2204"),
		"subsystem_id": knownvalue.StringExact("1458:403b"),
		"iommu_group":  knownvalue.Int64Exact(2),
		"description":  knownvalue.StringExact("GA102 [GeForce RTX 3090]"),
	})
}

// An entry for a node that has no such device is applied (the node may be
// one this apply installs), as is an entry that maps only the GPU's first
// function while its audio function shares the IOMMU group; both give
// warnings (checked by TestCheckNodesWarns: the testing framework does not
// show an apply's warnings).
func TestAccMappingPCI_hardwareMismatchApplies(t *testing.T) {
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkMappingsDestroyed(t),
		Steps: []resource.TestStep{{
			Config: `
resource "pve_mapping_pci" "gpu" {
  name = "gpu-partial"
  map = [
    { node = "pve1", path = "0000:01:00.0", id = "10de:2204", subsystem_id = "1458:403b", iommu_group = 2 },
    { node = "pve3", path = "0000:01:00.0", id = "10de:2204", subsystem_id = "1458:403b", iommu_group = 2 },
  ]
}
`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("pve_mapping_pci.gpu", tfjsonpath.New("map"), knownvalue.SetSizeExact(2)),
			},
		}},
	})
}

// Bad paths and IDs and a node mapped twice fail at plan time, naming what
// is wrong.
func TestAccMappingPCI_badInput(t *testing.T) {
	tests := []struct {
		name, entries string
		want          *regexp.Regexp
	}{
		{"vendor:device as path", `{ node = "pve1", path = "10de:2204", id = "10de:2204" }`, regexp.MustCompile(`(?s)must be a PCI address`)},
		{"path without domain", `{ node = "pve1", path = "01:00.0", id = "10de:2204" }`, regexp.MustCompile(`(?s)must be a PCI address`)},
		{"decimal-looking id", `{ node = "pve1", path = "0000:01:00", id = "4318:8708x" }`, regexp.MustCompile(`(?s)must be vendor:device in hex`)},
		{"bad subsystem id", `{ node = "pve1", path = "0000:01:00", id = "10de:2204", subsystem_id = "1458" }`, regexp.MustCompile(`(?s)must be vendor:device in hex`)},
		{"node twice", `{ node = "pve1", path = "0000:01:00", id = "10de:2204" },
    { node = "pve1", path = "0000:02:00", id = "10de:2204" }`, regexp.MustCompile(`(?s)Node Mapped Twice.*node pve1 has more than one entry`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acctest.ExpectPlanError(t, `
resource "pve_mapping_pci" "gpu" {
  name = "gpu"
  map = [
    `+tt.entries+`
  ]
}
`, tt.want)
		})
	}
}
