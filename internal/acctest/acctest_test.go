package acctest

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hcilab/terraform-provider-pve/internal/privileges"
)

func TestMain(m *testing.M) {
	os.Exit(Run(m))
}

// The acceptance tests must run through the OpenTofu release the project
// pins, not whatever terraform happens to be on the PATH.
func TestAccCLI_isPinnedOpenTofu(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance tests run with TF_ACC=1 (make test)")
	}
	out, err := exec.Command(os.Getenv("TF_ACC_TERRAFORM_PATH"), "version", "-json").Output()
	if err != nil {
		t.Fatalf("running %s: %v", os.Getenv("TF_ACC_TERRAFORM_PATH"), err)
	}
	var v struct {
		Version string `json:"terraform_version"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("reading the version: %v: %s", err, out)
	}
	if "v"+v.Version != TofuVersion {
		t.Fatalf("TF_ACC_TERRAFORM_PATH is version %s, want OpenTofu %s", v.Version, TofuVersion)
	}
}

// A TF_CLI_CONFIG_FILE that names a missing file is replaced by an empty
// file (OpenTofu would print a warning that breaks the version check of
// terraform-plugin-testing); one that exists is left alone.
func TestPrepareCLI_configFile(t *testing.T) {
	t.Setenv("TF_ACC_TERRAFORM_PATH", "/bin/true")
	missing := filepath.Join(t.TempDir(), "missing.tfrc")
	t.Setenv("TF_CLI_CONFIG_FILE", missing)
	cleanup, err := prepareCLI()
	if err != nil {
		t.Fatal(err)
	}
	got := os.Getenv("TF_CLI_CONFIG_FILE")
	if got == missing {
		t.Fatal("the missing CLI configuration file was kept")
	}
	if st, err := os.Stat(got); err != nil || st.Size() != 0 {
		t.Fatalf("want an empty file at %s, got %v, %v", got, st, err)
	}
	cleanup()
	if _, err := os.Stat(got); !os.IsNotExist(err) {
		t.Fatalf("the empty CLI configuration was not removed: %v", err)
	}

	existing := filepath.Join(t.TempDir(), "existing.tfrc")
	if err := os.WriteFile(existing, []byte("# mine\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TF_CLI_CONFIG_FILE", existing)
	if _, err := prepareCLI(); err != nil {
		t.Fatal(err)
	}
	if os.Getenv("TF_CLI_CONFIG_FILE") != existing {
		t.Fatal("an existing CLI configuration file was replaced")
	}
}

// TestUnlistedRoutes: a route the lab served that no type lists fails the
// package's acceptance run, naming the route.
func TestUnlistedRoutes(t *testing.T) {
	if err := unlistedRoutes(privileges.PVE, map[string]int{"GET /version": 1, "GET /nodes": 2}); err != nil {
		t.Fatalf("listed routes: %v", err)
	}
	err := unlistedRoutes(privileges.PVE, map[string]int{"GET /version": 1, "POST /nodes/{node}/qemu/{vmid}/snapshot": 1})
	if err == nil || !strings.Contains(err.Error(), "POST /nodes/{node}/qemu/{vmid}/snapshot") {
		t.Fatalf("unlisted route: got %v", err)
	}
	// a route only the tests call is not the provider's
	if err := unlistedRoutes(privileges.PVE, map[string]int{"POST /nodes/{node}/qemu/{vmid}/template": 1}); err != nil {
		t.Fatalf("test-only route: %v", err)
	}
}
