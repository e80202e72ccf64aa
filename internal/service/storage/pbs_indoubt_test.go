package storage_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/hcilab/terraform-provider-pve/internal/acctest"
	"github.com/hcilab/terraform-provider-pve/internal/pbs"
	"github.com/hcilab/terraform-provider-pve/internal/testlab"
)

// A storage create whose answer was lost after PVE made the storage (the
// connection reset after the request went out) is settled by looking for
// the storage, not failed and not sent again, which PVE would refuse
// ("already defined") at every later apply. With a key PVE generates
// (autogen), the key was only in the lost answer: the storage just made is
// deleted and created again, so that the state holds the key.
func TestAccStoragePBS_createAnswerLost(t *testing.T) {
	for _, tt := range []struct {
		name             string
		key              string
		posts, deletes   int
		generatedKeyNull bool
	}{
		{"plain", "", 1, 0, true},
		{"autogen", `encryption_key = "autogen"` + "\n  allow_encryption_key_loss = true", 2, 1, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			lab := acctest.StartLab(t, testlab.Options{})
			s := acctest.StartPBS(t, lab)
			c := pbsClient(t, s)
			count := func(key string) int {
				n := 0
				for _, w := range acctest.LabWrites(lab) {
					if w == key {
						n++
					}
				}
				return n
			}
			var generated knownvalue.Check = knownvalue.NotNull()
			if tt.generatedKeyNull {
				generated = knownvalue.Null()
			}
			acctest.Test(t, resource.TestCase{
				PreCheck:                 func() { acctest.PreCheck(t) },
				ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
				CheckDestroy:             checkStorageGone(t, lab, "pbs-lost"),
				Steps: []resource.TestStep{{
					PreConfig: func() {
						if err := c.CreateDatastore(context.Background(), pbs.DatastoreCreate{Datastore: pbs.Datastore{Name: "lost", Path: "/mnt/datastore/lost"}}); err != nil {
							t.Fatal(err)
						}
						lab.ResetRequests()
						lab.Faults().LoseNextAnswers(1, http.MethodPost, "/storage")
					},
					Config: acctest.PBSProviderBlock(lab, s) + fmt.Sprintf(`
resource "pve_storage_pbs" "test" {
  storage_id  = "pbs-lost"
  server      = %q
  port        = %d
  datastore   = "lost"
  username    = %q
  password    = %q
  fingerprint = %q
  %s
}
`, s.Host(), s.Port(), s.Username(), s.Password(), s.Fingerprint(), tt.key),
					ConfigStateChecks: []statecheck.StateCheck{
						statecheck.ExpectKnownValue("pve_storage_pbs.test", tfjsonpath.New("generated_encryption_key"), generated),
					},
					Check: func(*terraform.State) error {
						posts, deletes := count("POST /storage"), count("DELETE /storage/{storage}")
						if posts != tt.posts || deletes != tt.deletes {
							return fmt.Errorf("%d creates and %d deletes, want %d and %d: %q", posts, deletes, tt.posts, tt.deletes, acctest.LabWrites(lab))
						}
						return nil
					},
				}},
			})
		})
	}
}
