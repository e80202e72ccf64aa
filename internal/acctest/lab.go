package acctest

import (
	"fmt"
	"testing"

	"github.com/hcilab/terraform-provider-pve/internal/testlab"
)

// StartLab starts a lab of its own for one test (a PVE 8 lab, say), closed
// when the test ends. Configure the provider for it with ProviderBlock.
func StartLab(t *testing.T, opts testlab.PVEOptions) *testlab.PVE {
	t.Helper()
	lab, err := testlab.StartPVE(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lab.Close() })
	return lab
}

// ProviderBlock is a provider "pve" block for lab, talking to pve1 with the
// lab's API token. Everything is set in the block, so that the environment
// (which names the package's shared lab) does not apply.
func ProviderBlock(lab *testlab.PVE) string {
	return fmt.Sprintf(`
provider "pve" {
  endpoint        = %q
  api_token       = %q
  tls_fingerprint = %q
}
`, lab.Endpoint(), lab.APIToken(), lab.Fingerprint())
}
