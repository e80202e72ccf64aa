// Package acctest supports the acceptance tests: provider factories, the
// lab the tests run against, and the Terraform CLI they run through.
//
// Acceptance tests run when TF_ACC is set. When PVE_ENDPOINT is set they run
// against that PVE ("acceptance tests against your own lab"); otherwise Run
// starts the simulated lab of internal/testlab on loopback and points the
// provider's environment at it.
//
// Tests run through Test or ParallelTest (not resource.Test), with
// ProtoV6ProviderFactories. The provider then runs in the test process,
// unless PVE_ACC_OUT_OF_PROCESS=1 (EnvOutOfProcess): every such test then
// runs against the provider binary, built once per test binary and
// installed by `init` from a filesystem mirror, which the CLI starts and
// stops as it does for users. TestOutOfProcess always does that: for tests
// of what the provider does when the CLI stops it.
package acctest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"

	"github.com/hcilab/terraform-provider-pve/internal/privileges"
	"github.com/hcilab/terraform-provider-pve/internal/provider"
	"github.com/hcilab/terraform-provider-pve/internal/pve"
	"github.com/hcilab/terraform-provider-pve/internal/testlab"
)

// TofuVersion is the OpenTofu release the acceptance tests run through.
const TofuVersion = "v1.12.6"

// ProtoV6ProviderFactories serve the provider in-process to the CLI:
// terraform-plugin-testing calls the factory once for every CLI command it
// runs, and each call makes a new provider instance, as the CLI starts a new
// provider process for every command.
//
// A real provider process brings the network edits of its run live when the
// CLI stops it (main.go: pve.FlushNetworkReloads). In-process nothing stops:
// so the factory first ends the runs of the commands before it, which have
// ended (the tests of a package run one at a time). The edits of an apply
// therefore go live before the next command (a plan, or the state read
// before a step's checks), where a real provider has reloaded them at its
// exit; the tests in internal/service/network that exercise the exit path
// itself run the provider out of process (TestOutOfProcess).
//
// Test, ParallelTest and TestOutOfProcess replace these factories with the
// built provider when the test runs out of process; a test that passes them
// to resource.Test itself fails under EnvOutOfProcess rather than run
// in-process unnoticed.
var ProtoV6ProviderFactories = map[string]func() (tfprotov6.ProviderServer, error){
	providerName: func() (tfprotov6.ProviderServer, error) {
		if OutOfProcess() {
			return nil, fmt.Errorf("%s is set but this test serves the provider in-process: run it through acctest.Test or acctest.ParallelTest, not resource.Test", EnvOutOfProcess)
		}
		ctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
		defer cancel()
		pve.FlushNetworkReloads(ctx)
		return provider.ProtocolServer("acctest")()
	},
}

// flushTimeout bounds the reloads of a finished command that the next one
// waits for.
const flushTimeout = 5 * time.Minute

var lab *testlab.Lab

// Lab returns the simulated lab the tests run against, or nil when they run
// against a real PVE given by PVE_ENDPOINT.
func Lab() *testlab.Lab {
	return lab
}

// Run prepares the environment of a package's acceptance tests, runs them
// and stops the lab; call it from TestMain: os.Exit(acctest.Run(m)).
func Run(m *testing.M) int {
	if os.Getenv("TF_ACC") == "" {
		return m.Run()
	}
	if err := checkOutOfProcessSwitch(); err != nil {
		fmt.Fprintln(os.Stderr, "acctest:", err)
		return 1
	}
	defer cleanupOutOfProcess()
	cleanup, err := prepareCLI()
	if err != nil {
		fmt.Fprintln(os.Stderr, "acctest:", err)
		return 1
	}
	defer cleanup()
	if os.Getenv("PVE_ENDPOINT") == "" {
		lab, err = testlab.Start(testlab.Options{
			// PVE's HA rounds are 10 s; 2 s keeps the HA tests short while a
			// start through HA still takes several seconds
			HARound: 2 * time.Second,
			Logf:    func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) },
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "acctest: starting the lab:", err)
			return 1
		}
		defer lab.Close()
		validation := "requests checked against the official API schema"
		if !lab.SchemaLoaded() {
			validation = "NO schema validation: the official API schema was not found"
		}
		fmt.Fprintf(os.Stderr, "acctest: simulated PVE lab at %s (%s)\n", lab.Endpoint(), validation)
		// The provider reads these, exactly as a person's shell would set them.
		for k, v := range map[string]string{
			"PVE_ENDPOINT":        lab.Endpoint(),
			"PVE_API_TOKEN":       lab.APIToken(),
			"PVE_TLS_FINGERPRINT": lab.Fingerprint(),
		} {
			os.Setenv(k, v)
		}
	}
	code := m.Run()
	if code == 0 && lab != nil {
		// Every route the provider called is in the privilege table.
		if err := unlistedRoutes(privileges.PVE, lab.Requests()); err != nil {
			fmt.Fprintln(os.Stderr, "acctest:", err)
			return 1
		}
	}
	return code
}

// prepareCLI points terraform-plugin-testing at the OpenTofu binary that
// `make tools` builds, and works around a CLI configuration file that does
// not exist (OpenTofu warns about it on stderr, and that warning breaks the
// version check of terraform-plugin-testing).
func prepareCLI() (cleanup func(), err error) {
	cleanup = func() {}
	if os.Getenv("TF_ACC_TERRAFORM_PATH") == "" {
		tofu := DefaultTofuPath()
		if _, err := os.Stat(tofu); err != nil {
			return cleanup, fmt.Errorf("no Terraform CLI: set TF_ACC_TERRAFORM_PATH or run `make tools` to build OpenTofu %s at %s", TofuVersion, tofu)
		}
		os.Setenv("TF_ACC_TERRAFORM_PATH", tofu)
	}
	if os.Getenv("TF_ACC_PROVIDER_NAMESPACE") == "" {
		os.Setenv("TF_ACC_PROVIDER_NAMESPACE", "hcilab")
	}
	if cfg := os.Getenv("TF_CLI_CONFIG_FILE"); cfg != "" {
		if _, err := os.Stat(cfg); err != nil {
			empty, err := emptyCLIConfig()
			if err != nil {
				return cleanup, err
			}
			os.Setenv("TF_CLI_CONFIG_FILE", empty)
			cleanup = func() { os.Remove(empty) }
		}
	}
	return cleanup, nil
}

// DefaultTofuPath is where `make tools` caches the OpenTofu binary.
func DefaultTofuPath() string {
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	return filepath.Join(cache, "terraform-provider-pve", "opentofu-"+TofuVersion, "tofu")
}

func emptyCLIConfig() (string, error) {
	f, err := os.CreateTemp("", "pve-acctest-*.tfrc")
	if err != nil {
		return "", fmt.Errorf("creating an empty CLI configuration: %w", err)
	}
	return f.Name(), f.Close()
}

// PreCheck fails the test when the acceptance environment is incomplete.
func PreCheck(t *testing.T) {
	t.Helper()
	if os.Getenv("PVE_ENDPOINT") == "" {
		t.Fatal("PVE_ENDPOINT is not set: run acceptance tests through a TestMain that calls acctest.Run")
	}
}
