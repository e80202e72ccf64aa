package release

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hcilab/terraform-provider-pve/internal/acctest"
	"github.com/hcilab/terraform-provider-pve/internal/testlab"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/cephlab"
)

// ownMirrorCLIConfig is README.md's provider_installation block for a
// mirror of your own ("Use a local build").
func ownMirrorCLIConfig(path string) string {
	return fmt.Sprintf(`provider_installation {
  filesystem_mirror {
    path    = %q
    include = ["registry.terraform.io/hcilab/pve", "registry.opentofu.org/hcilab/pve"]
  }
  direct {
    exclude = ["registry.terraform.io/hcilab/pve", "registry.opentofu.org/hcilab/pve"]
  }
}
`, path)
}

// TestAccMakeInstallCeph_ownMirror runs `make install-ceph` into a mirror of
// its own (PLUGIN_DIR) and has OpenTofu and Terraform install the ceph build
// from it through README's provider_installation block, then create and
// destroy a CRUSH rule on the lab's real Ceph cluster: only the ceph build
// can (the default build refuses pve_ceph_crush_rule at plan time).
func TestAccMakeInstallCeph_ownMirror(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance tests run with TF_ACC=1 (make test)")
	}
	cephlab.Require(t)
	c, err := cephlab.Start(cephlab.Options{AllowPoolDelete: true, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	lab := acctest.StartLab(t, testlab.Options{Ceph: c})

	root := moduleRoot(t)
	home := t.TempDir()
	mirror := t.TempDir()
	env := installEnv(t, home)
	version := strings.TrimSpace(string(run(t, root, env, "make", "-s", "version")))
	run(t, root, env, "make", "install-ceph", "PLUGIN_DIR="+mirror)
	tfrc := filepath.Join(home, "mirror.tfrc")
	if err := os.WriteFile(tfrc, []byte(ownMirrorCLIConfig(mirror)), 0o644); err != nil {
		t.Fatal(err)
	}
	env = append(env, "TF_CLI_CONFIG_FILE="+tfrc)

	clis := findCLIs()
	for _, kind := range []string{"OpenTofu", "Terraform"} {
		t.Run(kind, func(t *testing.T) {
			cli, ok := clis[kind]
			if !ok {
				t.Skipf("no %s binary (TF_ACC_TERRAFORM_PATH, the PATH, or make tools' OpenTofu)", kind)
			}
			host := map[string]string{"OpenTofu": "registry.opentofu.org", "Terraform": "registry.terraform.io"}[kind]
			dir := t.TempDir()
			config := fmt.Sprintf(`terraform {
  required_providers {
    pve = {
      source  = "hcilab/pve"
      version = %q
    }
  }
}
%s
resource "pve_ceph_crush_rule" "test" {
  name           = "install-%s"
  failure_domain = "host"
  device_class   = "ssd"
}
`, version, acctest.CephProviderBlock(lab, c), strings.ToLower(kind))
			if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(config), 0o644); err != nil {
				t.Fatal(err)
			}
			run(t, dir, env, cli, "init", "-input=false", "-no-color")
			var v struct {
				Providers map[string]string `json:"provider_selections"`
			}
			if out := run(t, dir, env, cli, "version", "-json"); json.Unmarshal(out, &v) != nil || v.Providers[host+"/hcilab/pve"] != version {
				t.Fatalf("%s selected %s, want %s/hcilab/pve %s", kind, out, host, version)
			}
			out := run(t, dir, env, cli, "apply", "-auto-approve", "-input=false", "-no-color")
			if !strings.Contains(string(out), "pve_ceph_crush_rule.test: Creation complete") {
				t.Fatalf("%s apply created no CRUSH rule:\n%s", kind, out)
			}
			run(t, dir, env, cli, "destroy", "-auto-approve", "-input=false", "-no-color")
		})
	}
}
