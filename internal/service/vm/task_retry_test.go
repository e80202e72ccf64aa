package vm_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/hcilab/terraform-provider-pve/internal/acctest"
	"github.com/hcilab/terraform-provider-pve/internal/pve"
	"github.com/hcilab/terraform-provider-pve/internal/testlab"
)

// retryConfig is a VM to create and start on the lab's pve1.
func retryConfig(lab *testlab.Lab) string {
	return acctest.ProviderBlock(lab) + `
resource "pve_vm" "test" {
  node    = "pve1"
  vmid    = 4242
  name    = "acc-retry"
  started = true
  disks = {
    scsi0 = { storage = "local-lvm", size = 4 }
  }
}
`
}

// countWrites checks that the lab got want writes of key.
func countWrites(lab *testlab.Lab, key string, want int) resource.TestCheckFunc {
	return func(*terraform.State) error {
		n := 0
		for _, w := range acctest.LabWrites(lab) {
			if w == key {
				n++
			}
		}
		if n != want {
			return fmt.Errorf("%d × %s, want %d (writes %q)", n, key, want, acctest.LabWrites(lab))
		}
		return nil
	}
}

// A create whose qmcreate task failed (PVE removed what it made) is sent
// once more, and a start whose qmstart task failed is tried once more,
// within the one apply: the VM is created and running, not tainted.
func TestAccVM_failedTaskTriedAgain(t *testing.T) {
	for _, typ := range []string{"qmcreate", "qmstart"} {
		t.Run(typ, func(t *testing.T) {
			lab := acctest.StartLab(t, testlab.Options{Nodes: 1})
			acctest.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
				Steps: []resource.TestStep{
					{
						PreConfig: func() { lab.Faults().FailNextTasksOf(typ, 1, "injected failure of "+typ) },
						Config:    retryConfig(lab),
						ConfigStateChecks: []statecheck.StateCheck{
							statecheck.ExpectKnownValue(vmAddr, tfjsonpath.New("started"), knownvalue.Bool(true)),
						},
						Check: resource.ComposeTestCheckFunc(
							countWrites(lab, "POST /nodes/{node}/qemu", map[string]int{"qmcreate": 2, "qmstart": 1}[typ]),
							countWrites(lab, "POST /nodes/{node}/qemu/{vmid}/status/start", map[string]int{"qmcreate": 1, "qmstart": 2}[typ]),
						),
					},
				},
			})
		})
	}
}

// A start that fails twice is an error that names both failures; the VM
// stays (created, so tainted) for the next apply to replace.
func TestAccVM_startFailsTwice(t *testing.T) {
	lab := acctest.StartLab(t, testlab.Options{Nodes: 1})
	acctest.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				PreConfig:   func() { lab.Faults().FailNextTasksOf("qmstart", 2, "start failed: injected") },
				Config:      retryConfig(lab),
				ExpectError: regexp.MustCompile(`(?s)did not start:.*start failed: injected.*a second try failed as well:.*start failed: injected`),
			},
			{
				Config: retryConfig(lab),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(vmAddr, tfjsonpath.New("started"), knownvalue.Bool(true)),
				},
			},
		},
	})
}

// A destroy whose shutdown or qmdestroy task failed is tried once more
// while the VM still runs or exists: the VM is gone after one apply.
func TestAccVM_failedDestroyTriedAgain(t *testing.T) {
	for typ, key := range map[string]string{
		"qmshutdown": "POST /nodes/{node}/qemu/{vmid}/status/shutdown",
		"qmdestroy":  "DELETE /nodes/{node}/qemu/{vmid}",
	} {
		t.Run(typ, func(t *testing.T) {
			lab := acctest.StartLab(t, testlab.Options{Nodes: 1})
			acctest.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
				Steps: []resource.TestStep{
					{Config: retryConfig(lab)},
					{
						PreConfig: func() {
							lab.ResetRequests()
							lab.Faults().FailNextTasksOf(typ, 1, "injected failure of "+typ)
						},
						Config: acctest.ProviderBlock(lab),
						Check: resource.ComposeTestCheckFunc(
							countWrites(lab, key, 2),
							func(*terraform.State) error {
								if _, err := acctest.LabClient(t, lab).FindGuest(context.Background(), 4242); !errors.Is(err, pve.ErrNotFound) {
									return fmt.Errorf("VM 4242 after the destroy: %v", err)
								}
								return nil
							},
						),
					},
				},
			})
		})
	}
}

// A destroy whose answer was lost after PVE started it is sent again (a
// DELETE is idempotent); the second worker finds no configuration, which
// is the first one's success, not an error.
func TestAccVM_destroyAnswerLost(t *testing.T) {
	// Slow workers: the second worker waits for the first one's lock and
	// runs after it, as on a real node where a destroy takes seconds.
	lab := acctest.StartLab(t, testlab.Options{Nodes: 1, TaskSpeed: 0.05})
	acctest.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: retryConfig(lab)},
			{
				PreConfig: func() {
					lab.ResetRequests()
					lab.Faults().LoseNextAnswers(1, http.MethodDelete, "/qemu/4242")
				},
				Config: acctest.ProviderBlock(lab),
				Check: func(*terraform.State) error {
					if _, err := acctest.LabClient(t, lab).FindGuest(context.Background(), 4242); !errors.Is(err, pve.ErrNotFound) {
						return fmt.Errorf("VM 4242 after the destroy: %v", err)
					}
					return nil
				},
			},
		},
	})
}
