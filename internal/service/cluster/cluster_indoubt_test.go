package cluster_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/hcilab/terraform-provider-pve/internal/acctest"
)

// A join whose answer was lost after the joining node started it (the
// connection reset after the request went out): the provider finds the
// clusterjoin task and follows it, rather than failing or joining again.
func TestAccCluster_joinAnswerLost(t *testing.T) {
	lab := acctest.StandaloneLab(t, 2)
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				PreConfig: func() {
					lab.ResetRequests()
					lab.Faults().LoseNextAnswers(1, http.MethodPost, "/cluster/config/join")
				},
				Config: clusterConfig(lab, "pve1", "pve2"),
				Check: func(*terraform.State) error {
					n := 0
					for _, w := range acctest.LabWrites(lab) {
						if strings.HasSuffix(w, "/cluster/config/join") {
							n++
						}
					}
					if n != 1 {
						return fmt.Errorf("%d join requests, want 1: %q", n, acctest.LabWrites(lab))
					}
					return nil
				},
			},
		},
	})
}

// A cluster create whose answer was lost after the node started it: the
// node's cluster status shows the cluster, and the create is not failed
// nor sent again (which PVE would refuse: the node is in a cluster).
func TestAccCluster_createAnswerLost(t *testing.T) {
	lab := acctest.StandaloneLab(t, 2)
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				PreConfig: func() {
					lab.ResetRequests()
					lab.Faults().LoseNextAnswers(1, http.MethodPost, "/cluster/config")
				},
				Config: clusterConfig(lab, "pve1", "pve2"),
				Check: func(*terraform.State) error {
					n := 0
					for _, w := range acctest.LabWrites(lab) {
						if w == "POST /cluster/config" {
							n++
						}
					}
					if n != 1 {
						return fmt.Errorf("%d cluster creates, want 1: %q", n, acctest.LabWrites(lab))
					}
					return nil
				},
			},
		},
	})
}
