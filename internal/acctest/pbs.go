package acctest

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hcilab/terraform-provider-pve/internal/privileges"
	"github.com/hcilab/terraform-provider-pve/internal/testlab"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/pbssim"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/sim"
)

// StartPBS starts, for one test, a simulated Proxmox Backup Server whose
// certificate the PVE lab's CA signs (lab may be nil: a CA of its own),
// closed when the test ends.
func StartPBS(t *testing.T, lab *testlab.Lab) *pbssim.Server {
	t.Helper()
	var ca *sim.CA
	if lab != nil {
		ca = lab.CA()
	}
	s, err := pbssim.Start(pbssim.Options{CA: ca, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	checkRoutesAtCleanup(t, privileges.PBS, s.Requests)
	return s
}

// PBSProviderBlock is a provider "pve" block with a pbs {} block for s,
// logging in with s's API token and trusting its CA; with lab set, it
// talks to lab's pve1 too.
func PBSProviderBlock(lab *testlab.Lab, s *pbssim.Server) string {
	pveSettings := ""
	if lab != nil {
		pveSettings = fmt.Sprintf(`
  endpoint        = %q
  api_token       = %q
  tls_fingerprint = %q
`, lab.Endpoint(), lab.APIToken(), lab.Fingerprint())
	}
	return fmt.Sprintf(`
provider "pve" {%s
  pbs {
    endpoint       = %q
    api_token      = %q
    ca_certificate = %q
  }
}
`, pveSettings, s.URL(), s.APIToken(), s.CACertPEM())
}

// ExpectPBSPlanError is ExpectPlanError for a configuration that talks to
// the simulated PBS s too: the refused plan sends no write to either.
func ExpectPBSPlanError(t *testing.T, s *pbssim.Server, config string, want *regexp.Regexp) {
	t.Helper()
	before := pbsWrites(s)
	ExpectPlanError(t, config, want)
	if n := pbsWrites(s) - before; n != 0 {
		t.Errorf("the refused plan sent %d writes to PBS, want none", n)
	}
}

func pbsWrites(s *pbssim.Server) int {
	n := 0
	for key, count := range s.Requests() {
		if !strings.HasPrefix(key, "GET ") {
			n += count
		}
	}
	return n
}
