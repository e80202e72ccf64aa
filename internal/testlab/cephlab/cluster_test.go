package cephlab

import (
	"errors"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// The tests that need Ceph share one cluster per run of the package
// (sharedCluster), started the first time one asks for it and closed by
// TestMain. Tests that change how the cluster is set up start their own.

var shared struct {
	once sync.Once
	c    *Cluster
	err  error
}

// sharedCluster returns the package's shared Ceph cluster, starting it on
// first use. The test fails when Ceph cannot be had (Require).
func sharedCluster(t *testing.T) *Cluster {
	t.Helper()
	Require(t)
	shared.once.Do(func() {
		shared.c, shared.err = Start(Options{})
	})
	if shared.err != nil {
		t.Fatalf("Start: %v", shared.err)
	}
	return shared.c
}

func TestMain(m *testing.M) {
	code := m.Run()
	if c := shared.c; c != nil {
		if err := c.Close(); err != nil {
			println("close the shared Ceph:", err.Error())
		}
	}
	os.Exit(code)
}

func TestCephStartStatusClose(t *testing.T) {
	Require(t)
	c, err := Start(Options{Logf: t.Logf})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Logf("Ceph started in %v", c.StartupTime())

	var st Status
	if err := c.CommandJSON(&st, "-s"); err != nil {
		t.Fatal(err)
	}
	if st.OSDMap.NumOSDs != 3 || st.OSDMap.NumUpOSDs != 3 || st.OSDMap.NumInOSDs != 3 {
		t.Errorf("osdmap = %+v, want 3 OSDs up and in", st.OSDMap)
	}
	if !st.MgrMap.Available {
		t.Error("no active manager")
	}
	if st.Health.Status != "HEALTH_OK" {
		t.Errorf("health = %s %v", st.Health.Status, slices.Sorted(maps.Keys(st.Health.Checks)))
	}
	var fsid struct {
		FSID string `json:"fsid"`
	}
	if err := c.CommandJSON(&fsid, "status"); err != nil || fsid.FSID != c.FSID() {
		t.Errorf("fsid = %q (%v), want %q", fsid.FSID, err, c.FSID())
	}

	// device classes: what the CRUSH rules of PVE users select on
	for class, want := range map[string][]int{"ssd": {0, 1}, "hdd": {2}} {
		var ids []int
		if err := c.CommandJSON(&ids, "osd", "crush", "class", "ls-osd", class); err != nil {
			t.Fatal(err)
		}
		slices.Sort(ids)
		if !slices.Equal(ids, want) {
			t.Errorf("OSDs of class %s = %v, want %v", class, ids, want)
		}
	}
	// one CRUSH host per OSD, like one OSD per PVE node
	var tree struct {
		Nodes []struct {
			ID       int    `json:"id"`
			Name     string `json:"name"`
			Type     string `json:"type"`
			Children []int  `json:"children"`
		} `json:"nodes"`
	}
	if err := c.CommandJSON(&tree, "osd", "tree"); err != nil {
		t.Fatal(err)
	}
	hosts := map[string][]int{}
	for _, n := range tree.Nodes {
		if n.Type == "host" {
			hosts[n.Name] = n.Children
		}
	}
	for i := range 3 {
		if h := c.OSDHost(i); !slices.Equal(hosts[h], []int{i}) {
			t.Errorf("host %s holds %v, want [%d]; hosts %v", h, hosts[h], i, hosts)
		}
	}

	// the admin key and the monitor address are all a client needs
	if c.AdminKey() == "" || c.MonHost() == "" {
		t.Errorf("AdminKey %q, MonHost %q", c.AdminKey(), c.MonHost())
	}
	keyring, err := os.ReadFile(c.KeyringPath())
	if err != nil || !strings.Contains(string(keyring), "[client.admin]\n\tkey = "+c.AdminKey()+"\n") {
		t.Errorf("keyring %s: %q %v", c.KeyringPath(), keyring, err)
	}

	pids := c.PIDs()
	if len(pids) != 5 {
		t.Errorf("daemons = %v, want mon.a, mgr.x, osd.0-2", pids)
	}
	dir := c.Dir()
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for name, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("%s (pid %d) still runs after Close: %v", name, pid, err)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s still exists after Close: %v", dir, err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, _, err := c.MonCommand(map[string]any{"prefix": "status"}); err == nil {
		t.Error("MonCommand works after Close")
	}
}

// TestCephPoolCLI creates and deletes a pool with the ceph CLI, and checks
// that the monitors refuse the deletion while mon_allow_pool_delete is off.
func TestCephPoolCLI(t *testing.T) {
	c := sharedCluster(t)
	const pool = "cli-pool"
	if _, err := c.Command("osd", "pool", "create", pool, "8"); err != nil {
		t.Fatal(err)
	}
	var pools []string
	if err := c.CommandJSON(&pools, "osd", "pool", "ls"); err != nil || !slices.Contains(pools, pool) {
		t.Fatalf("pools = %v (%v), want %s among them", pools, err, pool)
	}
	var size struct {
		Size int `json:"size"`
	}
	if err := c.CommandJSON(&size, "osd", "pool", "get", pool, "size"); err != nil || size.Size != 3 {
		t.Errorf("size = %d (%v), want 3 (osd_pool_default_size)", size.Size, err)
	}

	if err := c.SetAllowPoolDelete(false); err != nil {
		t.Fatal(err)
	}
	_, err := c.Command("osd", "pool", "delete", pool, pool, "--yes-i-really-really-mean-it")
	var ce *CommandError
	if !errors.As(err, &ce) || ce.Code != int(syscall.EPERM) || !strings.Contains(ce.Status, "pool deletion is disabled; you must first set the mon_allow_pool_delete config option to true before you can destroy a pool") {
		t.Fatalf("delete without mon_allow_pool_delete: %v, want EPERM pool deletion is disabled", err)
	}
	// the same through librados, as PVE sends it
	_, outs, err := c.MonCommand(map[string]any{"prefix": "osd pool delete", "pool": pool, "pool2": pool, "yes_i_really_really_mean_it": true, "format": "plain"})
	if !errors.As(err, &ce) || ce.Code != -int(syscall.EPERM) || !strings.Contains(outs, "pool deletion is disabled") {
		t.Fatalf("mon_command osd pool delete: %v (%q), want -EPERM", err, outs)
	}

	if err := c.SetAllowPoolDelete(true); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.SetAllowPoolDelete(false) })
	if _, err := c.Command("osd", "pool", "delete", pool, pool, "--yes-i-really-really-mean-it"); err != nil {
		t.Fatalf("delete with mon_allow_pool_delete: %v", err)
	}
	pools = nil
	if err := c.CommandJSON(&pools, "osd", "pool", "ls"); err != nil || slices.Contains(pools, pool) {
		t.Fatalf("pools after delete = %v (%v)", pools, err)
	}
}
