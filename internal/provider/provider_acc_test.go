package provider_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/hcilab/terraform-provider-pve/internal/acctest"
)

// Through the real CLI: what a user sees for wrong credentials.
func TestAccProvider_wrongToken(t *testing.T) {
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: `
provider "pve" {
  api_token = "root@pam!acctest=00000000-0000-0000-0000-000000000000"
}

data "pve_version" "this" {}
`,
			ExpectError: regexp.MustCompile(`Unable to Connect to PVE[\s\S]*authentication failed`),
		}},
	})
}

func TestAccProvider_invalidEndpoint(t *testing.T) {
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: `
provider "pve" {
  endpoint = "ftp://pve1.example.com"
}

data "pve_version" "this" {}
`,
			ExpectError: regexp.MustCompile(`Invalid Attribute Value[\s\S]*endpoint`),
		}},
	})
}

// TF_LOG=trace output of a whole plan and apply, with ticket authentication
// (password, ticket and CSRF token all travel), must not contain a secret.
func TestAccProvider_traceLogHasNoSecrets(t *testing.T) {
	lab := acctest.Lab()
	if lab == nil {
		t.Skip("needs the simulated lab's credentials")
	}
	logFile := filepath.Join(t.TempDir(), "trace.log")
	t.Setenv("TF_LOG", "TRACE")
	t.Setenv("TF_ACC_LOG_PATH", logFile)
	t.Setenv("PVE_API_TOKEN", "")
	t.Setenv("PVE_USERNAME", lab.Username())
	t.Setenv("PVE_PASSWORD", lab.Password())

	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: `
data "pve_nodes" "all" {}
`,
		}},
	})

	raw, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	log := string(raw)
	// The log must hold the provider's request log, or this test proves nothing.
	if !strings.Contains(log, "/access/ticket") || !strings.Contains(log, "/nodes") {
		t.Fatalf("the trace log does not show the provider's requests (%d bytes)", len(raw))
	}
	secrets := map[string]string{
		"password":         lab.Password(),
		"API token secret": strings.SplitN(lab.APIToken(), "=", 2)[1],
		"ticket":           "PVE:" + lab.Username() + ":",
		"PVEAuthCookie":    "PVEAuthCookie=PVE",
	}
	for what, s := range secrets {
		if strings.Contains(log, s) {
			t.Errorf("the trace log contains the %s", what)
		}
	}
}

// The pbs {} block is checked by its schema (also by `validate`, which does
// not configure the provider), and each error points at the attribute's
// own line, not the block; nothing is sent to PVE.
func TestAccProvider_pbsBlockChecked(t *testing.T) {
	for _, tt := range []struct{ settings, want string }{
		{`endpoint = "ftp://pbs.example.com"`, `(?s)endpoint = "ftp://pbs.example.com".*expected an absolute http or\s+https URL`},
		{"endpoint = \"https://pbs.example.com:8007\"\n    api_token = \"root@pam!tf=00000000-0000-0000-0000-000000000000\"",
			`(?s)api_token = .*separates\s+the\s+secret\s+with\s+':',\s+not\s+'='`},
		{"endpoint = \"https://pbs.example.com:8007\"\n    username = \"root@pam\"", `(?s)username = "root@pam".*Attribute\s+"pbs.password"\s+must\s+be\s+specified`},
		{"endpoint = \"https://pbs.example.com:8007\"\n    username = \"root\"\n    password = \"x\"", `(?s)username = "root".*expected\s+user@realm`},
		{"endpoint = \"https://pbs.example.com:8007\"\n    tls_fingerprint = \"AB:CD\"", `(?s)tls_fingerprint = "AB:CD".*`},
		{"endpoint = \"https://pbs.example.com:8007\"\n    ca_certificate = \"not a certificate\"", `(?s)ca_certificate = "not a certificate".*`},
	} {
		t.Run("", func(t *testing.T) { pbsBlockError(t, tt.settings, tt.want) })
	}
}

func pbsBlockError(t *testing.T, settings, want string) {
	acctest.ExpectPlanError(t, `
provider "pve" {
  pbs {
    `+settings+`
  }
}

data "pve_version" "this" {}
`, regexp.MustCompile(want))
}
