package cluster_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/hcilab/terraform-provider-pve/internal/acctest"
)

// clusterOptions reads /cluster/options of the shared lab.
func clusterOptions(t *testing.T) map[string]json.RawMessage {
	t.Helper()
	var raw map[string]json.RawMessage
	if err := acctest.PVEClient(t).Get(context.Background(), "/cluster/options", nil, &raw); err != nil {
		t.Fatal(err)
	}
	return raw
}

func checkOption(t *testing.T, key, want string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		got := string(clusterOptions(t)[key])
		if got != want {
			return fmt.Errorf("option %s = %s, want %s", key, got, want)
		}
		return nil
	}
}

// Options set, imported, changed (one removed: reset), and reset when
// destroyed; the next-id range is what new VM IDs come from.
func TestAccClusterOptions_basic(t *testing.T) {
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			raw := clusterOptions(t)
			for _, k := range []string{"keyboard", "migration", "next-id", "ha", "max_workers"} {
				if _, set := raw[k]; set {
					return fmt.Errorf("option %s is still set after destroy: %s", k, raw[k])
				}
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: `
resource "pve_cluster_options" "test" {
  keyboard    = "de"
  max_workers = 3
  migration   = { type = "insecure", network = "10.10.0.0/24" }
  ha          = { shutdown_policy = "migrate" }
  next_id     = { lower = 5000, upper = 6000 }
}
`,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("pve_cluster_options.test", tfjsonpath.New("id"), knownvalue.StringExact("cluster")),
					statecheck.ExpectKnownValue("pve_cluster_options.test", tfjsonpath.New("migration").AtMapKey("network"), knownvalue.StringExact("10.10.0.0/24")),
				},
				Check: resource.ComposeTestCheckFunc(
					checkOption(t, "keyboard", `"de"`),
					func(*terraform.State) error {
						id, err := acctest.PVEClient(t).NextID(context.Background())
						if err != nil {
							return err
						}
						if id < 5000 || id >= 6000 {
							return fmt.Errorf("next free VM ID %d is outside next_id 5000..5999", id)
						}
						return nil
					},
				),
			},
			{ResourceName: "pve_cluster_options.test", ImportState: true, ImportStateId: "cluster", ImportStateVerify: true},
			{
				Config: `
resource "pve_cluster_options" "test" {
  keyboard    = "en-us"
  max_workers = 3
  ha          = { shutdown_policy = "migrate" }
  next_id     = { lower = 5000, upper = 6000 }
}
`,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("pve_cluster_options.test", tfjsonpath.New("migration"), knownvalue.Null()),
				},
				Check: resource.ComposeTestCheckFunc(checkOption(t, "keyboard", `"en-us"`), checkOption(t, "migration", ``)),
			},
		},
	})
}
