package pbs_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/hcilab/terraform-provider-pve/internal/acctest"
)

// A datastore create whose answer was lost after PBS started it (the
// connection reset after the request went out): the provider finds the
// create-datastore worker and waits for it, rather than failing, which
// would leave the datastore behind, or sending the create again.
func TestAccPBSDatastore_createAnswerLost(t *testing.T) {
	s := acctest.StartPBS(t, nil)
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkDatastoreGone(t, s, "backups", "/mnt/datastore/backups", true),
		Steps: []resource.TestStep{{
			PreConfig: func() {
				s.ResetRequests()
				s.Faults().LoseNextAnswers(1, http.MethodPost, "/config/datastore")
			},
			Config: acctest.PBSProviderBlock(nil, s) + datastoreV1,
			Check: func(*terraform.State) error {
				if n := s.Requests()["POST /config/datastore"]; n != 1 {
					return fmt.Errorf("%d datastore creates, want 1", n)
				}
				if !s.DatastoreDataExists("/mnt/datastore/backups") {
					return fmt.Errorf("PBS made no chunk store")
				}
				return nil
			},
		}},
	})
}
