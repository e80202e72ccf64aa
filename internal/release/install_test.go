package release

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/hcilab/terraform-provider-pve/internal/acctest"
	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

// TestAccMakeInstall_bothCLIs runs `make install` with HOME in a fresh
// folder, then, with nothing but that HOME (no CLI configuration file, no
// dev_overrides, no -plugin-dir), OpenTofu and Terraform each init and apply
// a configuration with source = "hcilab/pve" against the lab, and destroy
// it. Each CLI must install the build from the folder make install wrote
// (~/.terraform.d/plugins, under its own registry's hostname) and run it.
func TestAccMakeInstall_bothCLIs(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance tests run with TF_ACC=1 (make test)")
	}
	acctest.PreCheck(t)
	root := moduleRoot(t)
	home := t.TempDir()
	env := installEnv(t, home)

	version := strings.TrimSpace(string(run(t, root, env, "make", "-s", "version")))
	run(t, root, env, "make", "install")

	clis := findCLIs()
	for _, kind := range []string{"OpenTofu", "Terraform"} {
		t.Run(kind, func(t *testing.T) {
			cli, ok := clis[kind]
			if !ok {
				t.Skipf("no %s binary (TF_ACC_TERRAFORM_PATH, the PATH, or make tools' OpenTofu)", kind)
			}
			host := map[string]string{"OpenTofu": "registry.opentofu.org", "Terraform": "registry.terraform.io"}[kind]
			// The implied mirror: nothing else tells the CLI where the provider is.
			bin := filepath.Join(home, ".terraform.d", "plugins", host, "hcilab", "pve", version, platform(), "terraform-provider-pve_v"+version)
			if _, err := os.Stat(bin); err != nil {
				t.Fatalf("make install left no provider where %s looks: %v", kind, err)
			}
			pool := "install-" + strings.ToLower(kind)
			dir := t.TempDir()
			config := fmt.Sprintf(`terraform {
  required_providers {
    pve = {
      source  = "hcilab/pve"
      version = %q
    }
  }
}

provider "pve" {}

resource "pve_pool" "test" {
  pool_id = %q
  comment = "installed by make install"
}
`, version, pool)
			if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(config), 0o644); err != nil {
				t.Fatal(err)
			}
			out := run(t, dir, env, cli, "init", "-input=false", "-no-color")
			if !strings.Contains(string(out), version) {
				t.Fatalf("%s init did not install version %s:\n%s", kind, version, out)
			}
			var v struct {
				Providers map[string]string `json:"provider_selections"`
			}
			if out := run(t, dir, env, cli, "version", "-json"); json.Unmarshal(out, &v) != nil || v.Providers[host+"/hcilab/pve"] != version {
				t.Fatalf("%s selected %s, want %s/hcilab/pve %s", kind, out, host, version)
			}
			client := acctest.PVEClient(t)
			t.Cleanup(func() {
				// Whatever happened, leave no pool behind for the other tests.
				cmd := exec.Command(cli, "destroy", "-auto-approve", "-input=false", "-no-color")
				cmd.Dir, cmd.Env = dir, env
				_, _ = cmd.CombinedOutput()
			})
			run(t, dir, env, cli, "apply", "-auto-approve", "-input=false", "-no-color")
			if _, err := client.GetPool(context.Background(), pool); err != nil {
				t.Fatalf("after %s apply: %v", kind, err)
			}
			run(t, dir, env, cli, "destroy", "-auto-approve", "-input=false", "-no-color")
			if _, err := client.GetPool(context.Background(), pool); !errors.Is(err, pve.ErrNotFound) {
				t.Fatalf("after %s destroy, pool %s: %v (want not found)", kind, pool, err)
			}
		})
	}
}

// installEnv is this process's environment for a user whose home is home:
// no CLI configuration file, plugin cache or data folder of the machine's.
// Go keeps its caches and settings (a build in a new HOME would otherwise
// start from an empty build cache).
func installEnv(t *testing.T, home string) []string {
	t.Helper()
	goenv := map[string]string{}
	out, err := exec.Command("go", "env", "-json", "GOCACHE", "GOMODCACHE", "GOPATH", "GOENV").Output()
	if err != nil {
		t.Fatalf("go env: %v", err)
	}
	if err := json.Unmarshal(out, &goenv); err != nil {
		t.Fatalf("go env: %v", err)
	}
	drop := map[string]bool{"HOME": true, "TF_CLI_CONFIG_FILE": true, "TERRAFORM_CONFIG": true, "TF_PLUGIN_CACHE_DIR": true,
		"TF_DATA_DIR": true, "XDG_DATA_HOME": true, "XDG_CONFIG_HOME": true, "VERSION": true, "PLUGIN_DIR": true}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !drop[k] && goenv[k] == "" {
			env = append(env, kv)
		}
	}
	env = append(env, "HOME="+home, "CHECKPOINT_DISABLE=1")
	for k, v := range goenv {
		env = append(env, k+"="+v)
	}
	return env
}

// findCLIs finds an OpenTofu and a Terraform binary, by what `version` says
// they are: TF_ACC_TERRAFORM_PATH, make tools' OpenTofu, then the PATH.
func findCLIs() map[string]string {
	candidates := []string{os.Getenv("TF_ACC_TERRAFORM_PATH"), acctest.DefaultTofuPath()}
	for _, name := range []string{"terraform", "tofu"} {
		if p, err := exec.LookPath(name); err == nil {
			candidates = append(candidates, p)
		}
	}
	found := map[string]string{}
	for _, c := range candidates {
		if c == "" {
			continue
		}
		cmd := exec.Command(c, "version")
		cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE=", "CHECKPOINT_DISABLE=1")
		out, err := cmd.Output()
		if err != nil {
			continue
		}
		for _, kind := range []string{"OpenTofu", "Terraform"} {
			if _, seen := found[kind]; !seen && strings.HasPrefix(string(out), kind+" v") {
				found[kind] = c
			}
		}
	}
	return found
}

func run(t *testing.T, dir string, env []string, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

// moduleRoot is the folder of the provider's go.mod (GNUmakefile beside it).
func moduleRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

// platform is this machine's OS_ARCH, as the CLIs name it.
func platform() string { return runtime.GOOS + "_" + runtime.GOARCH }
