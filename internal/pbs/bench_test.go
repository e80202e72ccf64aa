package pbs

import (
	"context"
	"fmt"
	"testing"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/pbssim"
)

// benchPBS starts the lab's PBS and a token client for it.
func benchPBS(b *testing.B) (*pbssim.Server, *Client) {
	b.Helper()
	s, err := pbssim.Start(pbssim.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	c, err := New(context.Background(), Config{Endpoint: s.URL(), APIToken: s.APIToken(), CACertificate: s.CACertPEM()})
	if err != nil {
		b.Fatal(err)
	}
	return s, c
}

func requests(s *pbssim.Server) int {
	n := 0
	for _, v := range s.Requests() {
		n += v
	}
	return n
}

// BenchmarkDatastoreLifecycle measures a datastore's create (waiting for
// PBS's worker, 50 ms in the lab), update with its digest and delete
// (another worker): the requests it takes, task polls included.
func BenchmarkDatastoreLifecycle(b *testing.B) {
	s, c := benchPBS(b)
	ctx := context.Background()
	s.ResetRequests()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		name := fmt.Sprintf("bench%d", i)
		i++
		if err := c.CreateDatastore(ctx, DatastoreCreate{Datastore: Datastore{Name: name, Path: "/mnt/" + name}}); err != nil {
			b.Fatal(err)
		}
		_, digest, err := c.Datastore(ctx, name)
		if err != nil {
			b.Fatal(err)
		}
		comment := "x"
		if err := c.UpdateDatastore(ctx, name, DatastoreUpdate{Comment: &comment, Digest: digest}); err != nil {
			b.Fatal(err)
		}
		if err := c.DeleteDatastore(ctx, name, DeleteDatastoreOptions{DestroyData: true}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(requests(s))/float64(i), "requests/op")
}

// BenchmarkDatastoreRead measures what a refresh of pve_pbs_datastore
// costs: the config read and the server's fingerprint (a TLS handshake of
// its own).
func BenchmarkDatastoreRead(b *testing.B) {
	s, c := benchPBS(b)
	ctx := context.Background()
	if err := c.CreateDatastore(ctx, DatastoreCreate{Datastore: Datastore{Name: "bench", Path: "/mnt/bench"}}); err != nil {
		b.Fatal(err)
	}
	s.ResetRequests()
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n++
		if _, _, err := c.Datastore(ctx, "bench"); err != nil {
			b.Fatal(err)
		}
		if _, err := c.ServerFingerprint(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(requests(s))/float64(n), "requests/op")
}
