package cluster_test

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/hcilab/terraform-provider-pve/internal/acctest"
)

// A destroy leaves the cluster (PVE cannot dissolve one); applying the same
// configuration again takes it over. Its members are not connected to
// again: since their join they present certificates the cluster's CA
// signed, not the fingerprints the configuration gives for the standalone
// nodes (the soak's second run failed on that: "TLS fingerprint mismatch").
func TestAccCluster_recreateAfterDestroy(t *testing.T) {
	lab := acctest.StandaloneLab(t, 2)
	config := clusterConfig(lab, "pve1", "pve2") // fingerprints of the standalone nodes
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: config},
			{Config: acctest.ProviderBlock(lab)}, // destroyed: the cluster stays
			{Config: config},
		},
	})
}
