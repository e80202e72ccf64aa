package ceph_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/hcilab/terraform-provider-pve/internal/acctest"
)

// A pool create through PVE whose answer was lost after PVE started it (the
// connection reset after the request went out): the provider finds the
// cephcreatepool worker and waits for it, rather than failing, which left
// the pool behind and every later apply refused ("already exists").
func TestAccCephPool_createAnswerLost(t *testing.T) {
	lab, c := cephLab(t, true)
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkPoolGone(c, "acc-rbd"),
		Steps: []resource.TestStep{{
			PreConfig: func() {
				lab.ResetRequests()
				lab.Faults().LoseNextAnswers(1, http.MethodPost, "/ceph/pool")
			},
			Config: poolConfig(acctest.ProviderBlock(lab), "size = 2\n min_size = 1\n pg_num = 8"),
			Check: func(*terraform.State) error {
				n := 0
				for _, w := range acctest.LabWrites(lab) {
					if w == "POST /nodes/{node}/ceph/pool" {
						n++
					}
				}
				if n != 1 {
					return fmt.Errorf("%d pool creates, want 1: %q", n, acctest.LabWrites(lab))
				}
				return nil
			},
		}},
	})
}
