package acctest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hcilab/terraform-provider-pve/internal/privileges"
	"github.com/hcilab/terraform-provider-pve/internal/testlab"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/cephlab"
)

// StartLab starts a lab of its own for one test (a PVE 8 lab, say), closed
// when the test ends. Configure the provider for it with ProviderBlock.
func StartLab(t *testing.T, opts testlab.Options) *testlab.Lab {
	t.Helper()
	lab, err := testlab.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lab.Close() })
	checkRoutesAtCleanup(t, privileges.PVE, lab.Requests)
	return lab
}

// StandaloneLab starts, for one test, a lab of n standalone PVE nodes, each
// with its own API endpoint and certificate: what a cluster is made from.
func StandaloneLab(t *testing.T, n int) *testlab.Lab {
	t.Helper()
	return StartLab(t, testlab.Options{Nodes: n, Standalone: true})
}

// ProviderBlock is a provider "pve" block for lab, talking to pve1 with the
// lab's API token. Everything is set in the block, so that the environment
// (which names the package's shared lab) does not apply.
func ProviderBlock(lab *testlab.Lab) string {
	return fmt.Sprintf(`
provider "pve" {
  endpoint        = %q
  api_token       = %q
  tls_fingerprint = %q
}
`, lab.Endpoint(), lab.APIToken(), lab.Fingerprint())
}

// NodesBlock is the nodes map of a pve_cluster for the named nodes of lab:
// each node's own endpoint and certificate fingerprint.
func NodesBlock(lab *testlab.Lab, names ...string) string {
	var b strings.Builder
	b.WriteString("{\n")
	for _, n := range names {
		fmt.Fprintf(&b, "    %s = { endpoint = %q, tls_fingerprint = %q }\n", n, lab.NodeEndpoint(n), lab.NodeFingerprint(n))
	}
	b.WriteString("  }")
	return b.String()
}

// CephProviderBlock is ProviderBlock with a ceph {} block for the lab's
// real Ceph cluster: the pve_ceph_* types then go through librados (in the
// ceph build).
func CephProviderBlock(lab *testlab.Lab, c *cephlab.Cluster) string {
	return fmt.Sprintf(`
provider "pve" {
  endpoint        = %q
  api_token       = %q
  tls_fingerprint = %q
  ceph {
    mon_host = %q
    key      = %q
  }
}
`, lab.Endpoint(), lab.APIToken(), lab.Fingerprint(), c.MonHost(), c.AdminKey())
}
