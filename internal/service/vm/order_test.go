package vm_test

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/hcilab/terraform-provider-pve/internal/acctest"
	"github.com/hcilab/terraform-provider-pve/internal/testlab"
)

// One update that changes a configuration key, the pool, a disk's size and
// the run state goes through framework/guest's one order, the same as
// pve_container's (TestAccContainer_updateOrder): the configuration, the
// pool, the resize, the start. The lab's request log shows the order.
func TestAccVM_updateOrder(t *testing.T) {
	lab := acctest.StartLab(t, testlab.Options{})
	c := acctest.LabClient(t, lab)
	for _, pool := range []string{"blue", "green"} {
		if err := c.Post(context.Background(), "/pools", url.Values{"poolid": {pool}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	config := func(pool string, size int, description string, started bool) string {
		return acctest.ProviderBlock(lab) + fmt.Sprintf(`
resource "pve_vm" "test" {
  node        = "pve1"
  name        = "acc-order"
  description = %q
  pool        = %q
  started     = %t
  disks = {
    scsi0 = { storage = "local-lvm", size = %d }
  }
}
`, description, pool, started, size)
	}
	steps := map[string]string{
		"PUT /nodes/{node}/qemu/{vmid}/config":        "config",
		"POST /nodes/{node}/qemu/{vmid}/config":       "config",
		"PUT /pools":                                  "pool",
		"PUT /nodes/{node}/qemu/{vmid}/resize":        "resize",
		"POST /nodes/{node}/qemu/{vmid}/status/start": "start",
	}
	acctest.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: config("blue", 4, "before", false)},
			{
				PreConfig: lab.ResetRequests,
				Config:    config("green", 6, "after", true),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(vmAddr, tfjsonpath.New("pool"), knownvalue.StringExact("green")),
					statecheck.ExpectKnownValue(vmAddr, tfjsonpath.New("description"), knownvalue.StringExact("after")),
					statecheck.ExpectKnownValue(vmAddr, tfjsonpath.New("disks").AtMapKey("scsi0").AtMapKey("size"), knownvalue.Int64Exact(6)),
					statecheck.ExpectKnownValue(vmAddr, tfjsonpath.New("started"), knownvalue.Bool(true)),
				},
				Check: func(*terraform.State) error {
					return checkOrder(acctest.LabWrites(lab), steps, []string{"config", "pool", "resize", "start"})
				},
			},
		},
	})
}

// checkOrder maps the writes to the steps they are and compares the steps'
// order with want; a write that is none of the steps is an error too.
func checkOrder(writes []string, steps map[string]string, want []string) error {
	var got []string
	for _, w := range writes {
		step, ok := steps[w]
		if !ok {
			return fmt.Errorf("unexpected write %q (writes %v)", w, writes)
		}
		if len(got) == 0 || got[len(got)-1] != step {
			got = append(got, step)
		}
	}
	if !slices.Equal(got, want) {
		return fmt.Errorf("steps %v, want %v (writes %v)", got, want, writes)
	}
	return nil
}
