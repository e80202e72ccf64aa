package pool_test

import (
	"net/http"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/hcilab/terraform-provider-pve/internal/acctest"
	"github.com/hcilab/terraform-provider-pve/internal/testlab"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/pvesim"
)

// A pool whose create went through but whose read-back failed (in the soak
// a GET lost to connection resets) is an error with the pool in the state
// (tainted), not "Provider returned invalid result object after apply" with
// an unknown id. Here the create answers OK without making the pool, so
// that the read-back fails; the destroy then finds it gone.
func TestAccPool_readBackFails(t *testing.T) {
	lab := acctest.StartLab(t, testlab.Options{Nodes: 1})
	lab.PVE.Handle(http.MethodPost, "/pools", func(*pvesim.Request) (any, error) { return nil, nil })
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: acctest.ProviderBlock(lab) + `
resource "pve_pool" "test" {
  pool_id = "lost"
}
`,
			// the only error: no "invalid result object" before it
			ExpectError: regexp.MustCompile(`exit status 1\s+Error: Unable to Create Pool[\s\S]*reading pool lost`),
		}},
	})
}
