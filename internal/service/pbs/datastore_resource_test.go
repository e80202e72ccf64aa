package pbs_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/hcilab/terraform-provider-pve/internal/acctest"
	"github.com/hcilab/terraform-provider-pve/internal/pbs"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/pbssim"
)

// client is a PBS client of s, for checks the provider's state cannot
// make: what PBS itself holds.
func client(t *testing.T, s *pbssim.Server) *pbs.Client {
	t.Helper()
	c, err := pbs.New(context.Background(), pbs.Config{Endpoint: s.URL(), APIToken: s.APIToken(), CACertificate: s.CACertPEM()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// checkDatastoreGone checks PBS no longer has the datastore, and whether
// its data is still on disk.
func checkDatastoreGone(t *testing.T, s *pbssim.Server, name, dir string, dataKept bool) resource.TestCheckFunc {
	return func(*terraform.State) error {
		if _, _, err := client(t, s).Datastore(context.Background(), name); !errors.Is(err, pbs.ErrNotFound) {
			return fmt.Errorf("datastore %s after destroy: %v", name, err)
		}
		if got := s.DatastoreDataExists(dir); got != dataKept {
			return fmt.Errorf("datastore data at %s exists: %v, want %v", dir, got, dataKept)
		}
		return nil
	}
}

const datastoreV1 = `
resource "pve_pbs_datastore" "test" {
  name        = "backups"
  path        = "/mnt/datastore/backups"
  comment     = "nightly backups"
  gc_schedule = "daily"
  verify_new  = true

  notify {
    gc     = "error"
    verify = "always"
  }

  tuning {
    chunk_order = "none"
    sync_level  = "file"
  }
}
`

const datastoreV2 = `
resource "pve_pbs_datastore" "test" {
  name              = "backups"
  path              = "/mnt/datastore/backups"
  comment           = "weekly"
  gc_schedule       = "sat 03:00"
  notification_mode = "legacy-sendmail"

  maintenance {
    type    = "read-only"
    message = "disk swap"
  }
}
`

// Created (waiting for PBS's create task), imported, changed in place
// (comment, schedule, maintenance mode in; tuning, notify, verify_new
// out), destroyed with its data kept on disk.
func TestAccPBSDatastore_basic(t *testing.T) {
	s := acctest.StartPBS(t, nil)
	provider := acctest.PBSProviderBlock(nil, s)
	const name = "pve_pbs_datastore.test"
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkDatastoreGone(t, s, "backups", "/mnt/datastore/backups", true),
		Steps: []resource.TestStep{
			{
				Config: provider + datastoreV1,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(name, tfjsonpath.New("id"), knownvalue.StringExact("backups")),
					statecheck.ExpectKnownValue(name, tfjsonpath.New("fingerprint"), knownvalue.StringExact(s.Fingerprint())),
					statecheck.ExpectKnownValue(name, tfjsonpath.New("tuning").AtMapKey("chunk_order"), knownvalue.StringExact("none")),
					statecheck.ExpectKnownValue(name, tfjsonpath.New("notify").AtMapKey("verify"), knownvalue.StringExact("always")),
				},
				Check: func(*terraform.State) error {
					d, _, err := client(t, s).Datastore(context.Background(), "backups")
					if err != nil {
						return err
					}
					if d.Tuning != "chunk-order=none,sync-level=file" || d.Notify != "gc=error,verify=always" || d.GCSchedule != "daily" {
						return fmt.Errorf("PBS holds tuning %q, notify %q, gc-schedule %q", d.Tuning, d.Notify, d.GCSchedule)
					}
					if !s.DatastoreDataExists("/mnt/datastore/backups") {
						return fmt.Errorf("PBS made no chunk store")
					}
					return nil
				},
			},
			{ResourceName: name, ImportState: true, ImportStateId: "backups", ImportStateVerify: true},
			{
				Config: provider + datastoreV2,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(name, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(name, tfjsonpath.New("maintenance").AtMapKey("type"), knownvalue.StringExact("read-only")),
					statecheck.ExpectKnownValue(name, tfjsonpath.New("tuning"), knownvalue.Null()),
					statecheck.ExpectKnownValue(name, tfjsonpath.New("verify_new"), knownvalue.Null()),
				},
				Check: func(*terraform.State) error {
					d, _, err := client(t, s).Datastore(context.Background(), "backups")
					if err != nil {
						return err
					}
					if d.Tuning != "" || d.Notify != "" || d.VerifyNew != nil || d.MaintenanceMode == "" {
						return fmt.Errorf("PBS holds tuning %q, notify %q, verify-new %v, maintenance %q", d.Tuning, d.Notify, d.VerifyNew, d.MaintenanceMode)
					}
					return nil
				},
			},
			{ResourceName: name, ImportState: true, ImportStateId: "backups", ImportStateVerify: true},
		},
	})
}

// destroy_data = true deletes the contents too; keep_job_configs = false
// takes the datastore's prune jobs with it.
func TestAccPBSDatastore_destroyData(t *testing.T) {
	s := acctest.StartPBS(t, nil)
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy: resource.ComposeTestCheckFunc(checkDatastoreGone(t, s, "scratch", "/mnt/datastore/scratch", false),
			func(*terraform.State) error {
				if _, _, err := client(t, s).PruneJob(context.Background(), "scratch-made-outside"); !errors.Is(err, pbs.ErrNotFound) {
					return fmt.Errorf("the datastore's prune job after destroy: %v", err)
				}
				return nil
			}),
		Steps: []resource.TestStep{{
			Config: acctest.PBSProviderBlock(nil, s) + `
resource "pve_pbs_datastore" "test" {
  name             = "scratch"
  path             = "/mnt/datastore/scratch"
  destroy_data     = true
  keep_job_configs = false
}
`,
			Check: func(*terraform.State) error {
				one := int64(1)
				return client(t, s).CreatePruneJob(context.Background(), pbs.PruneJob{ID: "scratch-made-outside", Store: "scratch",
					Schedule: "daily", KeepOptions: pbs.KeepOptions{KeepLast: &one}})
			},
		}},
	})
}

// A datastore deleted behind Terraform's back is planned again; one that
// exists already is not adopted.
func TestAccPBSDatastore_disappearsAndExists(t *testing.T) {
	s := acctest.StartPBS(t, nil)
	config := acctest.PBSProviderBlock(nil, s) + `
resource "pve_pbs_datastore" "test" {
  name = "gone"
  path = "/mnt/datastore/gone"
}
`
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: config,
				Check: func(*terraform.State) error {
					return client(t, s).DeleteDatastore(context.Background(), "gone", pbs.DeleteDatastoreOptions{})
				},
				ExpectNonEmptyPlan: true,
			},
			{
				PreConfig: func() {
					if err := client(t, s).CreateDatastore(context.Background(), pbs.DatastoreCreate{
						Datastore: pbs.Datastore{Name: "taken", Path: "/mnt/datastore/taken"}}); err != nil {
						t.Fatal(err)
					}
				},
				Config: config + `
resource "pve_pbs_datastore" "taken" {
  name = "taken"
  path = "/mnt/datastore/taken"
}
`,
				ExpectError: regexp.MustCompile(`(?s)datastore taken exists already: import it`),
			},
		},
	})
}

// Bad input is refused at plan time.
func TestAccPBSDatastore_badInput(t *testing.T) {
	for _, tt := range []struct {
		config string
		want   *regexp.Regexp
	}{
		{`resource "pve_pbs_datastore" "t" {
  name = "ab"
  path = "/mnt/ab"
}`, regexp.MustCompile(`(?s)string length must be between 3 and 32`)},
		{`resource "pve_pbs_datastore" "t" {
  name = "abc"
  path = "relative"
}`, regexp.MustCompile(`must be an absolute path`)},
		{`resource "pve_pbs_datastore" "t" {
  name = "abc"
  path = "/mnt/abc"
  maintenance {
    message = "no type"
  }
}`, regexp.MustCompile(`(?s)Missing Maintenance Type`)},
		{`resource "pve_pbs_datastore" "t" {
  name = "abc"
  path = "/mnt/abc"
  maintenance {
    type    = "offline"
    message = "a, b"
  }
}`, regexp.MustCompile(`must not hold commas`)},
		{`resource "pve_pbs_datastore" "t" {
  name    = "abc"
  path    = "/mnt/abc"
  comment = "trailing "
}`, regexp.MustCompile(`without leading or trailing blanks`)},
		{`resource "pve_pbs_datastore" "t" {
  name = "abc"
  path = "/mnt/abc"
  notify {}
}`, regexp.MustCompile(`Empty Notify Block`)},
	} {
		acctest.ExpectPlanError(t, tt.config, tt.want)
	}
	// A garbage-collection schedule PBS would refuse, against a PBS that
	// would otherwise take the datastore.
	s := acctest.StartPBS(t, nil)
	acctest.ExpectPBSPlanError(t, s, acctest.PBSProviderBlock(nil, s)+`
resource "pve_pbs_datastore" "t" {
  name        = "abc"
  path        = "/mnt/datastore/abc"
  gc_schedule = "sat 3am"
}
`, regexp.MustCompile(`(?s)gc_schedule = "sat 3am".*unable to parse calendar event at 'am' - Nom\(Eof\)`))
}

// A create task that fails: its error text comes through, not an exit
// code.
func TestAccPBSDatastore_createTaskFails(t *testing.T) {
	s := acctest.StartPBS(t, nil)
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: acctest.PBSProviderBlock(nil, s) + `
resource "pve_pbs_datastore" "outer" {
  name = "outer"
  path = "/mnt/datastore/outer"
}

resource "pve_pbs_datastore" "inner" {
  name = "inner"
  path = "${pve_pbs_datastore.outer.path}/inner"
}
`,
			ExpectError: regexp.MustCompile(`(?s)Unable to Create PBS Datastore.*TASK ERROR.*nested datastores not allowed`),
		}},
	})
}

// The pbs {} block with a username and password (a ticket, and the CSRF
// token on writes) and the server's certificate pinned by fingerprint
// instead of a CA.
func TestAccPBSDatastore_passwordAndFingerprint(t *testing.T) {
	s := acctest.StartPBS(t, nil)
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkDatastoreGone(t, s, "viaticket", "/mnt/datastore/viaticket", true),
		Steps: []resource.TestStep{{
			Config: fmt.Sprintf(`
provider "pve" {
  pbs {
    endpoint        = %q
    username        = %q
    password        = %q
    tls_fingerprint = %q
  }
}

resource "pve_pbs_datastore" "test" {
  name    = "viaticket"
  path    = "/mnt/datastore/viaticket"
  comment = "made with a ticket"
}
`, s.URL(), s.Username(), s.Password(), s.Fingerprint()),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("pve_pbs_datastore.test", tfjsonpath.New("comment"), knownvalue.StringExact("made with a ticket")),
			},
		}},
	})
}

// The create timeout bounds the wait for PBS's worker (50 ms in the lab).
func TestAccPBSDatastore_createTimeout(t *testing.T) {
	s := acctest.StartPBS(t, nil)
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: acctest.PBSProviderBlock(nil, s) + `
resource "pve_pbs_datastore" "test" {
  name = "slow"
  path = "/mnt/datastore/slow"
  timeouts = {
    create = "20ms"
  }
}
`,
			ExpectError: regexp.MustCompile(`(?s)Unable to Create PBS Datastore.*deadline exceeded`),
		}},
	})
}
