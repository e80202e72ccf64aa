//go:build ceph

package ceph

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ceph/go-ceph/rados"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/cephlab"
)

// startCeph starts the lab's real Ceph cluster and connects to it through
// librados, as the provider's ceph build does.
func startCeph(t *testing.T) (*cephlab.Cluster, *Client) {
	t.Helper()
	cephlab.Require(t)
	lab, err := cephlab.Start(cephlab.Options{Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lab.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := Connect(ctx, Config{MonHost: lab.MonHost(), Key: lab.AdminKey()})
	if err != nil {
		t.Fatal(err)
	}
	c := NewClient(conn)
	t.Cleanup(c.Close)
	return lab, c
}

// A pool's life on a real cluster: created (not adopted when it exists),
// changed (size before min_size, application, quota), refused deletion
// while the monitors forbid it and while it holds data, then deleted.
func TestPoolsOnRealCeph(t *testing.T) {
	lab, c := startCeph(t)
	ctx := context.Background()
	if err := c.CreatePool(ctx, PoolSpec{Name: "acc", PGNum: 8, AutoscaleMode: "off"}); err != nil {
		t.Fatal(err)
	}
	if err := c.CreatePool(ctx, PoolSpec{Name: "acc", PGNum: 8}); !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), "import") {
		t.Errorf("creating an existing pool: %v, want ErrExists with an import hint", err)
	}
	for _, kv := range [][2]string{{"size", "2"}, {"min_size", "1"}} {
		if err := c.SetPool(ctx, "acc", kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.EnableApplication(ctx, "acc", "rbd"); err != nil {
		t.Fatal(err)
	}
	if err := c.SetQuota(ctx, "acc", "max_objects", 1000); err != nil {
		t.Fatal(err)
	}
	p, err := c.Pool(ctx, "acc")
	if err != nil {
		t.Fatal(err)
	}
	if p.Size != 2 || p.MinSize != 1 || p.PGNum != 8 || p.AutoscaleMode != "off" || p.QuotaMaxObjects != 1000 || p.Applications["rbd"] == nil || p.Erasure() {
		t.Errorf("pool = %+v", p)
	}
	if _, err := c.Pool(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a missing pool: %v", err)
	}

	// The monitors refuse deletion until mon_allow_pool_delete is set.
	if err := c.DeletePool(ctx, "acc", false); !errors.Is(err, ErrPoolDeleteDisabled) {
		t.Fatalf("delete with mon_allow_pool_delete off: %v", err)
	}
	if err := lab.SetAllowPoolDelete(true); err != nil {
		t.Fatal(err)
	}

	// An object in it: refused unless forced.
	conn, err := rados.NewConn()
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"mon_host": lab.MonHost(), "key": lab.AdminKey()} {
		if err := conn.SetConfigOption(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := conn.Connect(); err != nil {
		t.Fatal(err)
	}
	defer conn.Shutdown()
	io, err := conn.OpenIOContext("acc")
	if err != nil {
		t.Fatal(err)
	}
	if err := io.WriteFull("hello", []byte("world")); err != nil {
		t.Fatal(err)
	}
	io.Destroy()
	deadline := time.Now().Add(20 * time.Second)
	for {
		n, err := c.PoolObjects(ctx, "acc")
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			out, _ := lab.Command("df")
			t.Fatalf("the object never showed in df: %s", out)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if err := c.DeletePool(ctx, "acc", false); err == nil || !strings.Contains(err.Error(), "force_destroy") {
		t.Fatalf("delete of a pool with data: %v", err)
	}
	if err := c.DeletePool(ctx, "acc", true); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Pool(ctx, "acc"); !errors.Is(err, ErrNotFound) {
		t.Errorf("after delete: %v", err)
	}
}

// A dead monitor fails in seconds, not five minutes.
func TestConnectTimeout(t *testing.T) {
	cephlab.Require(t)
	start := time.Now()
	_, err := Connect(context.Background(), Config{MonHost: "127.0.0.1:1", Key: "AQAAAAAAAAAAABAAAAAAAAAAAAAAAAAAAAAAAA==", Timeout: 2 * time.Second})
	if err == nil {
		t.Fatal("connected to nothing")
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("a dead monitor took %s to fail", d)
	}
}
