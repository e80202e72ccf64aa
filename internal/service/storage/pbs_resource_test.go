package storage_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/hcilab/terraform-provider-pve/internal/acctest"
	"github.com/hcilab/terraform-provider-pve/internal/pbs"
	"github.com/hcilab/terraform-provider-pve/internal/pve"
	"github.com/hcilab/terraform-provider-pve/internal/testlab"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/pbssim"
)

// storageConfig is a PBS datastore and its registration in PVE; fingerprint
// is an HCL expression.
func storageConfig(s *pbssim.Server, fingerprint, extra string) string {
	return fmt.Sprintf(`
resource "pve_pbs_datastore" "store" {
  name = "backups"
  path = "/mnt/datastore/backups"
}

resource "pve_pbs_namespace" "cluster" {
  store = pve_pbs_datastore.store.name
  name  = "pvelab"
}

resource "pve_storage_pbs" "test" {
  storage_id  = "pbs-backups"
  server      = %q
  port        = %d
  datastore   = pve_pbs_datastore.store.name
  namespace   = pve_pbs_namespace.cluster.name
  username    = %q
  password    = %q
  fingerprint = %s
  %s
}
`, s.Host(), s.Port(), s.Username(), s.Password(), fingerprint, extra)
}

func checkStorageGone(t *testing.T, lab *testlab.Lab, id string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		c := acctest.LabClient(t, lab)
		if _, err := c.Storage(context.Background(), id); !errors.Is(err, pve.ErrNotFound) {
			return fmt.Errorf("storage %s after destroy: %v", id, err)
		}
		return nil
	}
}

// The datastore registered in PVE with the fingerprint taken from the PBS
// resource and an encryption key PVE generates (returned once): created,
// imported, changed in place (nodes, retention, disabled), replaced when the
// datastore changes (keeping its generated key), and removed only with
// allow_encryption_key_loss.
func TestAccStoragePBS_basic(t *testing.T) {
	lab := acctest.StartLab(t, testlab.Options{})
	s := acctest.StartPBS(t, lab)
	provider := acctest.PBSProviderBlock(lab, s)
	const name = "pve_storage_pbs.test"
	var firstKey string
	keyFile := func() string {
		k, _ := lab.PrivFile("/etc/pve/priv/storage/pbs-backups.enc")
		return strings.TrimSpace(k)
	}
	other := func(extra string) string {
		return provider + `
resource "pve_pbs_datastore" "other" {
  name = "other"
  path = "/mnt/datastore/other"
}
` + strings.NewReplacer("datastore   = pve_pbs_datastore.store.name", "datastore   = pve_pbs_datastore.other.name",
			"namespace   = pve_pbs_namespace.cluster.name", "").Replace(storageConfig(s, "pve_pbs_datastore.store.fingerprint", extra))
	}
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkStorageGone(t, lab, "pbs-backups"),
		Steps: []resource.TestStep{
			{
				Config: provider + storageConfig(s, "pve_pbs_datastore.store.fingerprint", `encryption_key = "autogen"
  prune_backups {
    keep_last  = 3
    keep_daily = 7
  }`),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(name, tfjsonpath.New("fingerprint"), knownvalue.StringExact(s.Fingerprint())),
					statecheck.ExpectKnownValue(name, tfjsonpath.New("generated_encryption_key"), knownvalue.StringRegexp(regexp.MustCompile(`"kdf"|"key"`))),
					statecheck.ExpectKnownValue(name, tfjsonpath.New("encryption_key_fingerprint"), knownvalue.StringRegexp(regexp.MustCompile(`^([0-9a-f]{2}:){31}[0-9a-f]{2}$`))),
					statecheck.ExpectKnownValue(name, tfjsonpath.New("password"), knownvalue.Null()),
					statecheck.ExpectKnownValue(name, tfjsonpath.New("encryption_key"), knownvalue.Null()),
					statecheck.ExpectKnownValue(name, tfjsonpath.New("content"), knownvalue.SetExact([]knownvalue.Check{knownvalue.StringExact("backup")})),
					statecheck.ExpectKnownValue(name, tfjsonpath.New("prune_backups").AtMapKey("keep_daily"), knownvalue.Int64Exact(7)),
				},
				Check: func(st *terraform.State) error {
					firstKey = st.RootModule().Resources[name].Primary.Attributes["generated_encryption_key"]
					if keyFile() != strings.TrimSpace(firstKey) {
						return fmt.Errorf("the key file on the nodes is not the generated key")
					}
					return nil
				},
			},
			{ResourceName: name, ImportState: true, ImportStateId: "pbs-backups", ImportStateVerify: true,
				ImportStateVerifyIgnore: []string{"generated_encryption_key"}},
			{
				Config: provider + storageConfig(s, "pve_pbs_datastore.store.fingerprint", `encryption_key = "autogen"
  nodes   = ["pve1", "pve2"]
  disable = true
  prune_backups {
    keep_all = true
  }`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(name, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(name, tfjsonpath.New("nodes"), knownvalue.SetSizeExact(2)),
					statecheck.ExpectKnownValue(name, tfjsonpath.New("prune_backups").AtMapKey("keep_all"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(name, tfjsonpath.New("prune_backups").AtMapKey("keep_last"), knownvalue.Null()),
				},
			},
			{
				// A new key would lose the generated one: refused.
				Config: provider + storageConfig(s, "pve_pbs_datastore.store.fingerprint", `encryption_key = "autogen"
  encryption_key_version = 2`),
				ExpectError: regexp.MustCompile(`(?s)Changing the Key Loses the Generated One.*allow_encryption_key_loss`),
			},
			{
				// Destroying it would lose the key: refused without the opt-in.
				Config:      provider + "\n" + `resource "pve_pbs_datastore" "other" {` + "\n  name = \"other\"\n  path = \"/mnt/datastore/other\"\n}\n",
				ExpectError: regexp.MustCompile(`(?s)Destroying the Storage Loses Its Encryption Key.*allow_encryption_key_loss`),
			},
			{
				// So is a replacement.
				Config:      other(`encryption_key = "autogen"`),
				ExpectError: regexp.MustCompile(`(?s)Replacing the Storage Risks Its Encryption Key.*allow_encryption_key_loss`),
			},
			{
				Config: provider + storageConfig(s, "pve_pbs_datastore.store.fingerprint", `encryption_key = "autogen"
  allow_encryption_key_loss = true`),
			},
			{
				// Replaced for another datastore with the opt-in: the new
				// storage gets the generated key back, not a new one.
				Config: other(`encryption_key = "autogen"
  allow_encryption_key_loss = true`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(name, plancheck.ResourceActionReplace),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(name, tfjsonpath.New("datastore"), knownvalue.StringExact("other")),
				},
				Check: func(st *terraform.State) error {
					if got := st.RootModule().Resources[name].Primary.Attributes["generated_encryption_key"]; got != firstKey {
						return fmt.Errorf("generated_encryption_key changed in the replacement")
					}
					if keyFile() != strings.TrimSpace(firstKey) {
						return fmt.Errorf("the replacement's key file on the nodes is not the first generated key")
					}
					return nil
				},
			},
		},
	})
}

// Write-only secrets are sent again only when their version changes.
func TestAccStoragePBS_passwordVersion(t *testing.T) {
	lab := acctest.StartLab(t, testlab.Options{})
	s := acctest.StartPBS(t, lab)
	provider := acctest.PBSProviderBlock(lab, s)
	const name = "pve_storage_pbs.test"
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkStorageGone(t, lab, "pbs-backups"),
		Steps: []resource.TestStep{
			{
				Config: provider + storageConfig(s, "pve_pbs_datastore.store.fingerprint", ""),
				Check: func(*terraform.State) error {
					if pw, ok := lab.PrivFile("/etc/pve/priv/storage/pbs-backups.pw"); !ok || strings.TrimSpace(pw) != s.Password() {
						return fmt.Errorf("the password file holds %q, want the PBS password", pw)
					}
					// Someone overwrites it: only a new version sends it again.
					lab.SetPrivFile("/etc/pve/priv/storage/pbs-backups.pw", "stale\n")
					return nil
				},
			},
			{
				Config:   provider + storageConfig(s, "pve_pbs_datastore.store.fingerprint", ""),
				PlanOnly: true,
			},
			{
				Config: provider + storageConfig(s, "pve_pbs_datastore.store.fingerprint", "password_version = 2"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(name, plancheck.ResourceActionUpdate),
				}},
				Check: func(*terraform.State) error {
					if pw, _ := lab.PrivFile("/etc/pve/priv/storage/pbs-backups.pw"); strings.TrimSpace(pw) != s.Password() {
						return fmt.Errorf("after password_version changed the password file holds %q, want the PBS password", pw)
					}
					return nil
				},
			},
		},
	})
}

// A fingerprint that is not the PBS server's: PVE refuses the storage, and
// the error says where the right one is.
func TestAccStoragePBS_wrongFingerprint(t *testing.T) {
	lab := acctest.StartLab(t, testlab.Options{})
	s := acctest.StartPBS(t, lab)
	wrong := strings.Repeat("AB:", 31) + "AB"
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkStorageGone(t, lab, "pbs-backups"),
		Steps: []resource.TestStep{{
			Config:      acctest.PBSProviderBlock(lab, s) + storageConfig(s, fmt.Sprintf("%q", wrong), ""),
			ExpectError: regexp.MustCompile(`(?s)Unable to Create PBS Storage.*fingerprint.*pve_pbs_datastore.<name>.fingerprint`),
		}},
	})
}

// A storage removed behind Terraform's back is planned again.
func TestAccStoragePBS_disappears(t *testing.T) {
	lab := acctest.StartLab(t, testlab.Options{})
	s := acctest.StartPBS(t, lab)
	config := acctest.PBSProviderBlock(lab, s) + storageConfig(s, "pve_pbs_datastore.store.fingerprint", "")
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: config,
				Check: func(*terraform.State) error {
					return acctest.LabClient(t, lab).DeleteStorage(context.Background(), "pbs-backups")
				},
				ExpectNonEmptyPlan: true,
			},
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("pve_storage_pbs.test", plancheck.ResourceActionCreate),
				}},
			},
		},
	})
}

// Bad input is refused at plan time.
func TestAccStoragePBS_badInput(t *testing.T) {
	base := `
resource "pve_storage_pbs" "t" {
  storage_id = "pbs"
  server     = "pbs.example.com"
  datastore  = "backups"
  username   = "root@pam"
  password   = "secret"
  %s
}
`
	for _, tt := range []struct {
		extra string
		want  *regexp.Regexp
	}{
		{`prune_backups {}`, regexp.MustCompile(`Empty Retention`)},
		{"prune_backups {\n    keep_all  = true\n    keep_last = 2\n  }", regexp.MustCompile(`Conflicting Retention`)},
		{`nodes = []`, regexp.MustCompile(`set must contain at least 1`)},
		{`fingerprint = "AB:CD"`, regexp.MustCompile(`must be a SHA-256 fingerprint`)},
		{`namespace = "a//b"`, regexp.MustCompile(`"" is not a valid component`)},
		{`namespace = "1/2/3/4/5/6/7/8"`, regexp.MustCompile(`8 levels deep`)},
	} {
		acctest.ExpectPlanError(t, fmt.Sprintf(base, tt.extra), tt.want)
	}
	acctest.ExpectPlanError(t, strings.Replace(fmt.Sprintf(base, ""), `"root@pam"`, `"root"`, 1),
		regexp.MustCompile(`must be user@realm`))
	acctest.ExpectPlanError(t, strings.Replace(fmt.Sprintf(base, ""), `"pbs.example.com"`, `"pbs example"`, 1),
		regexp.MustCompile(`neither an IP address nor a DNS name`))
	acctest.ExpectPlanError(t, strings.Replace(fmt.Sprintf(base, ""), `"backups"`, `"b/x"`, 1),
		regexp.MustCompile(`not a PBS datastore name`))
}

// PVE checks a new PBS storage by listing the server's datastores; when that
// fails for a moment (PBS's proxy answering 400 "error trying to connect",
// a reset), PVE undoes the storage and answers 500 "create storage failed:
// ... error fetching datastores". The create is sent again, and succeeds.
func TestAccStoragePBS_serverBusyAtCreate(t *testing.T) {
	lab := acctest.StartLab(t, testlab.Options{})
	s := acctest.StartPBS(t, lab)
	c := pbsClient(t, s)
	ctx := context.Background()
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkStorageGone(t, lab, "pbs-direct"),
		Steps: []resource.TestStep{{
			PreConfig: func() {
				if err := c.CreateDatastore(ctx, pbs.DatastoreCreate{Datastore: pbs.Datastore{Name: "direct", Path: "/mnt/datastore/direct"}}); err != nil {
					t.Fatal(err)
				}
				// The provider sends nothing to PBS in this configuration:
				// the failure meets PVE's own check of the server.
				s.Faults().FailNextRequests(1, 400, "error trying to connect")
			},
			Config: acctest.PBSProviderBlock(lab, s) + fmt.Sprintf(`
resource "pve_storage_pbs" "test" {
  storage_id  = "pbs-direct"
  server      = %q
  port        = %d
  datastore   = "direct"
  username    = %q
  password    = %q
  fingerprint = %q
}
`, s.Host(), s.Port(), s.Username(), s.Password(), s.Fingerprint()),
			Check: func(*terraform.State) error {
				if n := s.Requests()["GET /admin/datastore"]; n < 2 {
					return fmt.Errorf("PBS saw %d datastore listings, want PVE's failed check and the one of the create sent again", n)
				}
				return nil
			},
		}},
	})
}

// pbsClient is a PBS client of s, for setting up what the test needs behind
// the provider's back.
func pbsClient(t *testing.T, s *pbssim.Server) *pbs.Client {
	t.Helper()
	c, err := pbs.New(context.Background(), pbs.Config{Endpoint: s.URL(), APIToken: s.APIToken(), CACertificate: s.CACertPEM()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
