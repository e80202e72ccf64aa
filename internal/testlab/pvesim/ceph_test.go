package pvesim

import (
	"os"
	"sync"
	"testing"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/cephlab"
)

// The tests that need Ceph share one cluster per run of the package
// (labCeph), started the first time one asks for it and closed by
// TestMain. Tests that change how the cluster is set up start their own.

var sharedCeph struct {
	once sync.Once
	c    *cephlab.Cluster
	err  error
}

// labCeph returns the package's shared Ceph cluster, starting it on first
// use. The test fails when Ceph cannot be had (cephlab.Require).
func labCeph(t *testing.T) *cephlab.Cluster {
	t.Helper()
	cephlab.Require(t)
	sharedCeph.once.Do(func() {
		sharedCeph.c, sharedCeph.err = cephlab.Start(cephlab.Options{})
	})
	if sharedCeph.err != nil {
		t.Fatalf("cephlab.Start: %v", sharedCeph.err)
	}
	return sharedCeph.c
}

func TestMain(m *testing.M) {
	code := m.Run()
	if c := sharedCeph.c; c != nil {
		if err := c.Close(); err != nil {
			println("close the shared Ceph:", err.Error())
		}
	}
	os.Exit(code)
}
