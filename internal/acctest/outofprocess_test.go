package acctest

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
)

// Out of process, the pve provider factory of a test case or of its steps
// becomes an external provider at the in-process provider's address, pinned
// to the built version; other providers stay as they were.
func TestOutOfProcess_swapsTheProvider(t *testing.T) {
	t.Setenv(resource.EnvTfAccProviderNamespace, "hcilab")
	t.Setenv(resource.EnvTfAccProviderHost, "")
	other := func() (tfprotov6.ProviderServer, error) { return nil, nil }
	factories := map[string]func() (tfprotov6.ProviderServer, error){"pve": ProtoV6ProviderFactories["pve"], "other": other}
	ext := map[string]resource.ExternalProvider{"random": {Source: "hashicorp/random"}}

	gotF, gotE := swapProvider(factories, ext)
	if _, ok := gotF["pve"]; ok || gotF["other"] == nil || len(gotF) != 1 {
		t.Fatalf("factories after the swap: %v", gotF)
	}
	want := resource.ExternalProvider{Source: "registry.terraform.io/hcilab/pve", VersionConstraint: ProviderVersion}
	if gotE["pve"] != want || gotE["random"] != ext["random"] || len(gotE) != 2 {
		t.Fatalf("external providers after the swap: %v", gotE)
	}
	if len(ext) != 1 || factories["pve"] == nil {
		t.Fatal("the swap changed the test's own maps")
	}

	// Only the pve provider: no factories are left at all.
	gotF, gotE = swapProvider(map[string]func() (tfprotov6.ProviderServer, error){"pve": other}, nil)
	if gotF != nil || gotE["pve"] != want {
		t.Fatalf("got %v, %v", gotF, gotE)
	}
	// No pve provider (a step that inherits the test case's): nothing changes.
	gotF, gotE = swapProvider(map[string]func() (tfprotov6.ProviderServer, error){"other": other}, nil)
	if len(gotF) != 1 || gotE != nil {
		t.Fatalf("got %v, %v", gotF, gotE)
	}
}

// Under the switch, a test that hands the in-process factories to
// resource.Test itself fails instead of running in-process unnoticed.
func TestProtoV6ProviderFactories_refusedOutOfProcess(t *testing.T) {
	t.Setenv(EnvOutOfProcess, "1")
	if _, err := ProtoV6ProviderFactories["pve"](); err == nil || !strings.Contains(err.Error(), "acctest.Test") {
		t.Fatalf("want an error naming acctest.Test, got %v", err)
	}
	t.Setenv(EnvOutOfProcess, "0")
	if s, err := ProtoV6ProviderFactories["pve"](); err != nil || s == nil {
		t.Fatalf("in-process: %v, %v", s, err)
	}
}

func TestOutOfProcess_switchValues(t *testing.T) {
	for v, want := range map[string]bool{"": false, "0": false, "false": false, "1": true, "true": true} {
		t.Setenv(EnvOutOfProcess, v)
		if err := checkOutOfProcessSwitch(); err != nil {
			t.Errorf("%q: %v", v, err)
		}
		if OutOfProcess() != want {
			t.Errorf("%q: OutOfProcess() = %v", v, !want)
		}
	}
	t.Setenv(EnvOutOfProcess, "yes")
	if err := checkOutOfProcessSwitch(); err == nil {
		t.Error(`"yes" is not refused`)
	}
}

// The built provider installs from the mirror through the harness's CLI
// configuration, with OpenTofu and (when it is on the PATH) Terraform: init
// selects version ProviderVersion at the tests' address, and the CLI runs
// the binary (its schema has the provider's types).
func TestAccOutOfProcess_mirrorInstalls(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance tests run with TF_ACC=1 (make test)")
	}
	if err := buildProvider(); err != nil {
		t.Fatal(err)
	}
	clis := map[string]string{"OpenTofu": os.Getenv("TF_ACC_TERRAFORM_PATH")}
	if tf, err := exec.LookPath("terraform"); err == nil {
		clis["Terraform"] = tf
	}
	for name, cli := range clis {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			config := "terraform {\n  required_providers {\n    pve = { source = \"" + ProviderSource() + "\" }\n  }\n}\n"
			if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(config), 0o644); err != nil {
				t.Fatal(err)
			}
			run := func(args ...string) []byte {
				cmd := exec.Command(cli, args...)
				cmd.Dir = dir
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
				}
				return out
			}
			run("init", "-input=false", "-no-color")
			var v struct {
				Providers map[string]string `json:"provider_selections"`
			}
			if out := run("version", "-json"); json.Unmarshal(out, &v) != nil || v.Providers[ProviderSource()] != ProviderVersion {
				t.Fatalf("%s selected %v, want %s %s", name, v.Providers, ProviderSource(), ProviderVersion)
			}
			var schema struct {
				Schemas map[string]struct {
					Resources map[string]json.RawMessage `json:"resource_schemas"`
				} `json:"provider_schemas"`
			}
			out := run("providers", "schema", "-json")
			if err := json.Unmarshal(out, &schema); err != nil {
				t.Fatalf("reading the schema: %v", err)
			}
			if _, ok := schema.Schemas[ProviderSource()].Resources["pve_network_bridge"]; !ok {
				t.Fatalf("the schema of %s has no pve_network_bridge", ProviderSource())
			}
		})
	}
}
