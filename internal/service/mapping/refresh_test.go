package mapping_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/hcilab/terraform-provider-pve/internal/acctest"
	"github.com/hcilab/terraform-provider-pve/internal/pve"
	"github.com/hcilab/terraform-provider-pve/internal/testlab"
)

// A refresh of many mappings reads the kind's index once
// (pve.GetMappingShared), not each mapping: one request for six, counted
// by the lab. A description changed outside Terraform shows in the next
// plan.
func TestAccMappingPCI_refreshSharesList(t *testing.T) {
	lab := acctest.StartLab(t, testlab.Options{})
	const gpu = `{ node = "pve1", path = "0000:01:00.0", id = "10de:2204", subsystem_id = "1458:403b", iommu_group = 2 }`
	config := acctest.ProviderBlock(lab) + `
resource "pve_mapping_pci" "many" {
  count       = 6
  name        = "acc-gpu-${count.index}"
  description = "gpu ${count.index}"
  map         = [` + gpu + `]
}
`
	acctest.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: config},
			// one refresh (a PlanOnly step plans once without and once
			// with refresh)
			{PreConfig: lab.ResetRequests, Config: config, PlanOnly: true},
			{
				PreConfig: func() {
					got := lab.Requests()
					t.Logf("requests of a refresh of 6 PCI mappings: %v", got)
					if got["GET /cluster/mapping/pci"] != 1 || got["GET /cluster/mapping/pci/{id}"] != 0 {
						t.Errorf("a refresh of 6 PCI mappings: %v, want 1 GET /cluster/mapping/pci (the index, shared)", got)
					}
					c := acctest.LabClient(t, lab)
					m, err := c.GetMapping(context.Background(), pve.PCIMapping, "acc-gpu-4")
					if err != nil {
						t.Fatal(err)
					}
					err = c.UpdateMapping(context.Background(), pve.PCIMapping, "acc-gpu-4",
						url.Values{"map": m.Map, "description": {"changed outside"}, "digest": {m.Digest}})
					if err != nil {
						t.Fatal(err)
					}
				},
				Config:             config,
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("pve_mapping_pci.many[4]", plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("pve_mapping_pci.many[4]", tfjsonpath.New("description"), knownvalue.StringExact("gpu 4")),
				},
			},
		},
	})
}
