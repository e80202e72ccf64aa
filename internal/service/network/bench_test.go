package network

import (
	"context"
	"net/url"
	"testing"

	"github.com/hcilab/terraform-provider-pve/internal/pve"
	"github.com/hcilab/terraform-provider-pve/internal/testlab"
)

// BenchmarkBondAndBridge measures what one node's bond + bridge change
// costs against the lab: staging both, settling the node (one reload), and
// removing both again. It reports API requests and reloads per operation.
func BenchmarkBondAndBridge(b *testing.B) {
	lab, err := testlab.Start(testlab.Options{Nodes: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer lab.Close()
	ctx := context.Background()
	c, err := pve.New(ctx, pve.Config{Endpoint: lab.Endpoint(), APIToken: lab.APIToken(), TLSFingerprint: lab.Fingerprint()})
	if err != nil {
		b.Fatal(err)
	}
	const node = "pve1"
	edit := func(iface string, f func(context.Context) error) {
		if err := c.EditNetwork(ctx, node, iface, iface+" edited", f); err != nil {
			b.Fatal(err)
		}
	}
	lab.ResetRequests()
	b.ReportAllocs()
	for b.Loop() {
		edit("bond0", func(ctx context.Context) error {
			return c.CreateNetworkInterface(ctx, node, "bond0", url.Values{"type": {"bond"}, "slaves": {"eno2 eno3"}, "bond_mode": {"802.3ad"}, "mtu": {"9000"}})
		})
		edit("vmbr1", func(ctx context.Context) error {
			return c.CreateNetworkInterface(ctx, node, "vmbr1", url.Values{"type": {"bridge"}, "bridge_ports": {"bond0"}, "mtu": {"9000"}})
		})
		if err := c.SettleNetwork(ctx, node); err != nil {
			b.Fatal(err)
		}
		edit("vmbr1", func(ctx context.Context) error { return c.DeleteNetworkInterface(ctx, node, "vmbr1") })
		edit("bond0", func(ctx context.Context) error { return c.DeleteNetworkInterface(ctx, node, "bond0") })
		if err := c.SettleNetwork(ctx, node); err != nil {
			b.Fatal(err)
		}
	}
	total := 0
	for _, n := range lab.Requests() {
		total += n
	}
	b.ReportMetric(float64(total)/float64(b.N), "requests/op")
	b.ReportMetric(float64(lab.Requests()["PUT /nodes/{node}/network"])/float64(b.N), "reloads/op")
}
