package acctest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
)

// Out of process: the provider binary as users run it.
//
// In-process (the default), the test binary serves the provider itself and
// the CLI reattaches to it (ProtoV6ProviderFactories). The provider then
// never stops when a CLI command ends (the factory ends the previous
// command's run when the next command starts), so what main.go does when
// the CLI stops the provider (the end-of-run network reload,
// pve.FlushNetworkReloads) never runs.
//
// Out of process, the test binary builds the provider once (go build of the
// module root, with the test binary's build tags and version
// ProviderVersion), lays it out as a filesystem mirror, and points
// TF_CLI_CONFIG_FILE at a CLI configuration whose provider_installation
// block installs the provider from that mirror. `init` then installs it as it
// would from the registry, and every CLI command starts and stops its own
// provider process. The lab still runs in the test binary; the provider
// process finds it through the same environment (PVE_ENDPOINT, ...).

// EnvOutOfProcess is the environment switch that runs every acceptance test
// that goes through Test or ParallelTest against the built provider binary
// (any value strconv.ParseBool takes as true: PVE_ACC_OUT_OF_PROCESS=1).
const EnvOutOfProcess = "PVE_ACC_OUT_OF_PROCESS"

// ProviderVersion is the version the out-of-process provider is built with
// (-X main.version) and installed as. A release version: the CLI never picks
// a pre-release it is not asked for by an exact constraint.
const ProviderVersion = "0.0.1"

// OutOfProcess reports whether EnvOutOfProcess asks for the built provider.
func OutOfProcess() bool {
	on, _ := strconv.ParseBool(os.Getenv(EnvOutOfProcess))
	return on
}

// checkOutOfProcessSwitch refuses a value of EnvOutOfProcess that is not a
// boolean (PVE_ACC_OUT_OF_PROCESS=yes would otherwise run in-process
// silently).
func checkOutOfProcessSwitch() error {
	v := os.Getenv(EnvOutOfProcess)
	if v == "" {
		return nil
	}
	if _, err := strconv.ParseBool(v); err != nil {
		return fmt.Errorf("%s=%q: want 1 or 0 (true or false)", EnvOutOfProcess, v)
	}
	return nil
}

// Test runs resource.Test, with the provider out of process when
// EnvOutOfProcess is set. Acceptance tests call it instead of resource.Test.
func Test(t *testing.T, tc resource.TestCase) {
	t.Helper()
	if OutOfProcess() {
		tc = outOfProcess(t, tc)
	}
	resource.Test(t, tc)
}

// ParallelTest is Test for tests that may run in parallel (resource.ParallelTest).
func ParallelTest(t *testing.T, tc resource.TestCase) {
	t.Helper()
	if OutOfProcess() {
		tc = outOfProcess(t, tc)
	}
	resource.ParallelTest(t, tc)
}

// TestOutOfProcess runs resource.Test with the provider out of process
// whatever EnvOutOfProcess says: for tests of what happens when the CLI
// stops the provider (the end-of-run network reload).
func TestOutOfProcess(t *testing.T, tc resource.TestCase) {
	t.Helper()
	resource.Test(t, outOfProcess(t, tc))
}

// outOfProcess returns tc with the in-process pve provider, on the test
// case or on its steps, replaced by the built binary. Without TF_ACC it
// changes nothing (resource.Test skips the test) and builds nothing.
func outOfProcess(t *testing.T, tc resource.TestCase) resource.TestCase {
	t.Helper()
	if os.Getenv(resource.EnvTfAcc) == "" {
		return tc
	}
	if err := buildProvider(); err != nil {
		t.Fatalf("acctest: out of process: %v", err)
	}
	tc.ProtoV6ProviderFactories, tc.ExternalProviders = swapProvider(tc.ProtoV6ProviderFactories, tc.ExternalProviders)
	steps := make([]resource.TestStep, len(tc.Steps))
	for i, s := range tc.Steps {
		s.ProtoV6ProviderFactories, s.ExternalProviders = swapProvider(s.ProtoV6ProviderFactories, s.ExternalProviders)
		steps[i] = s
	}
	tc.Steps = steps
	return tc
}

// swapProvider moves the pve entry of factories to an external provider:
// the built binary, at the address the in-process provider has.
func swapProvider[F any](factories map[string]F, external map[string]resource.ExternalProvider) (map[string]F, map[string]resource.ExternalProvider) {
	if _, ok := factories[providerName]; !ok {
		return factories, external
	}
	rest := map[string]F{}
	for k, v := range factories {
		if k != providerName {
			rest[k] = v
		}
	}
	if len(rest) == 0 {
		rest = nil
	}
	ext := map[string]resource.ExternalProvider{}
	for k, v := range external {
		ext[k] = v
	}
	ext[providerName] = resource.ExternalProvider{Source: ProviderSource(), VersionConstraint: ProviderVersion}
	return rest, ext
}

// providerName is the provider's local name in the tests' configurations.
const providerName = "pve"

// ProviderSource is the source address the acceptance tests' configurations
// get for the pve provider, in-process and out of process alike: what
// terraform-plugin-testing writes into required_providers for a provider
// factory (registry.terraform.io unless TF_ACC_PROVIDER_HOST, namespace
// TF_ACC_PROVIDER_NAMESPACE, which Run sets to hcilab). A configuration
// with a terraform block of its own gets no required_providers from the
// harness; it must name this source itself (without one, "pve" means
// hashicorp/pve, which neither mode serves).
func ProviderSource() string {
	host, namespace := "registry.terraform.io", "hashicorp"
	if v := os.Getenv(resource.EnvTfAccProviderHost); v != "" {
		host = strings.TrimSuffix(v, "/")
	}
	if v := os.Getenv(resource.EnvTfAccProviderNamespace); v != "" {
		namespace = strings.TrimSuffix(v, "/")
	}
	return host + "/" + namespace + "/" + providerName
}

// The built provider, its mirror and CLI configuration: made once per test
// binary, removed when Run ends.
var (
	buildOnce sync.Once
	buildErr  error
	buildDir  string
)

// buildProvider builds the provider into a filesystem mirror and points
// TF_CLI_CONFIG_FILE at a CLI configuration that installs it from there,
// once per test binary.
func buildProvider() error {
	buildOnce.Do(func() { buildDir, buildErr = buildMirror() })
	if buildErr == nil {
		// Set on every call (it is cheap): a test that changed the variable
		// for itself gets the harness's configuration back.
		os.Setenv("TF_CLI_CONFIG_FILE", filepath.Join(buildDir, "cli.tfrc"))
	}
	return buildErr
}

func buildMirror() (dir string, err error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	dir, err = os.MkdirTemp("", "pve-acctest-provider-*")
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	source := ProviderSource()
	platform := runtime.GOOS + "_" + runtime.GOARCH
	// The unpacked layout of a filesystem mirror:
	// HOSTNAME/NAMESPACE/TYPE/VERSION/TARGET/terraform-provider-TYPE_vVERSION.
	pkg := filepath.Join(dir, "mirror", filepath.FromSlash(source), ProviderVersion, platform)
	if err := os.MkdirAll(pkg, 0o755); err != nil {
		return "", err
	}
	bin := filepath.Join(pkg, "terraform-provider-"+providerName+"_v"+ProviderVersion)
	args := []string{"build", "-o", bin, "-ldflags", "-X main.version=" + ProviderVersion}
	if tags := testBuildTags(); tags != "" {
		args = append(args, "-tags", tags)
	}
	cmd := exec.Command("go", append(args, ".")...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the provider (go %s in %s): %v\n%s", strings.Join(args, " "), root, err, out)
	}
	if err := os.WriteFile(filepath.Join(dir, "cli.tfrc"), []byte(cliConfig(filepath.Join(dir, "mirror"), source)), 0o644); err != nil {
		return "", err
	}
	// A plugin cache could hand the CLI an older build of the same version.
	os.Unsetenv("TF_PLUGIN_CACHE_DIR")
	return dir, nil
}

// cliConfig is a CLI configuration that installs source from the
// filesystem mirror at mirror and every other provider as usual. The CLI's
// own configuration file is replaced: the mirror is all the tests need.
func cliConfig(mirror, source string) string {
	return fmt.Sprintf(`# Written by internal/acctest for out-of-process acceptance tests.
provider_installation {
  filesystem_mirror {
    path    = %q
    include = [%q]
  }
  direct {
    exclude = [%q]
  }
}
`, mirror, source, source)
}

// testBuildTags are the build tags of the running test binary (the ceph
// build's tests get the ceph build of the provider).
func testBuildTags() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	for _, s := range bi.Settings {
		if s.Key == "-tags" {
			return s.Value
		}
	}
	return ""
}

// moduleRoot is the folder of the provider's go.mod, found from the test's
// working directory (its package folder).
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("the tests do not run inside the provider's module")
	}
	return filepath.Dir(gomod), nil
}

// cleanupOutOfProcess removes the built provider; Run calls it at the end.
func cleanupOutOfProcess() {
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
}
