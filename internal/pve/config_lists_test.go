package pve

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab"
)

const gpuMap = "node=pve1,path=0000:01:00.0,id=10de:2204,subsystem-id=1458:403b,iommugroup=2"

// configLab is a three-node lab with n of each shared-list type: pools,
// HA resources (of n VMs) and rules, PCI mappings, and bridges on pve1.
func configLab(t *testing.T, n int) (*testlab.Lab, *Client) {
	t.Helper()
	lab, c := listLab(t, n)
	ctx := context.Background()
	for i := range n {
		steps := []func() error{
			func() error { return c.CreatePool(ctx, fmt.Sprintf("pool%d", i), fmt.Sprintf("pool %d", i)) },
			func() error {
				return c.CreateHA(ctx, "resources", url.Values{"sid": {fmt.Sprintf("vm:%d", 100+i)}, "state": {"stopped"}})
			},
			func() error {
				return c.CreateHA(ctx, "rules", url.Values{"rule": {fmt.Sprintf("rule%d", i)}, "type": {"node-affinity"},
					"resources": {fmt.Sprintf("vm:%d", 100+i)}, "nodes": {"pve1"}, "comment": {fmt.Sprintf("rule %d", i)}})
			},
			func() error {
				return c.CreateMapping(ctx, PCIMapping, fmt.Sprintf("gpu%d", i), url.Values{"map": {gpuMap}, "description": {fmt.Sprintf("gpu %d", i)}})
			},
			func() error {
				return c.CreateNetworkInterface(ctx, "pve1", fmt.Sprintf("vmbr%d", i+1), url.Values{"type": {"bridge"}, "comments": {fmt.Sprintf("bridge %d", i)}})
			},
		}
		for _, step := range steps {
			if err := step(); err != nil {
				t.Fatal(err)
			}
		}
	}
	return lab, c
}

// configRead is what a refresh of one object of each type reads.
type configRead struct {
	pool     *Pool
	ha, rule HAObject
	mapping  *Mapping
	iface    *NetworkInterface
}

// readConfigs reads the n objects of each type at once through the shared
// finders, as a refresh does.
func readConfigs(t *testing.T, c *Client, n int) []configRead {
	t.Helper()
	ctx := context.Background()
	out := make([]configRead, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		t.Error(err)
	}
	for i := range n {
		wg.Add(6)
		go func() {
			defer wg.Done()
			if v, err := c.MajorVersion(ctx); err != nil || v != 9 {
				fail(fmt.Errorf("major version %d, %v; want 9", v, err))
			}
		}()
		go func() {
			defer wg.Done()
			p, err := c.GetPoolShared(ctx, fmt.Sprintf("pool%d", i))
			if err != nil {
				fail(err)
			}
			out[i].pool = p
		}()
		go func() {
			defer wg.Done()
			o, err := c.GetHAShared(ctx, "resources", fmt.Sprintf("vm:%d", 100+i))
			if err != nil {
				fail(err)
			}
			out[i].ha = o
		}()
		go func() {
			defer wg.Done()
			o, err := c.GetHAShared(ctx, "rules", fmt.Sprintf("rule%d", i))
			if err != nil {
				fail(err)
			}
			out[i].rule = o
		}()
		go func() {
			defer wg.Done()
			m, err := c.GetMappingShared(ctx, PCIMapping, fmt.Sprintf("gpu%d", i))
			if err != nil {
				fail(err)
			}
			out[i].mapping = m
		}()
		go func() {
			defer wg.Done()
			cfg, err := c.NetworkConfigShared(ctx, "pve1")
			if err != nil {
				fail(err)
				return
			}
			out[i].iface = cfg.Interface(fmt.Sprintf("vmbr%d", i+1))
		}()
	}
	wg.Wait()
	return out
}

// Concurrent reads of many pools, HA resources, HA rules, mappings and
// interfaces of a node, and of the PVE version, share one request per list, and read what reading
// each on its own reads.
func TestConfigLists_concurrentReadsShareOneRequest(t *testing.T) {
	const n = 8
	lab, c := configLab(t, n)
	lab.Faults().SetLatency(30 * time.Millisecond) // the reads overlap
	lab.ResetRequests()
	got := readConfigs(t, c, n)
	reqs := lab.Requests()
	want := map[string]int{
		"GET /pools":                1,
		"GET /cluster/ha/resources": 1,
		"GET /cluster/ha/rules":     1,
		"GET /cluster/mapping/pci":  1,
		"GET /nodes/{node}/network": 1,
		"GET /version":              1,
	}
	if !reflect.DeepEqual(reqs, want) {
		t.Errorf("requests for %d of each: %v, want %v", n, reqs, want)
	}

	ctx := context.Background()
	other := labClient(t, lab)
	cfg, err := other.NetworkConfig(ctx, "pve1", "")
	if err != nil {
		t.Fatal(err)
	}
	for i, g := range got {
		p, err := other.GetPool(ctx, fmt.Sprintf("pool%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if g.pool == nil || g.pool.ID != p.ID || g.pool.Comment != p.Comment || g.pool.Comment != fmt.Sprintf("pool %d", i) {
			t.Errorf("pool%d: shared %+v, alone %+v", i, g.pool, p)
		}
		for kind, sh := range map[string]HAObject{fmt.Sprintf("resources/vm:%d", 100+i): g.ha, fmt.Sprintf("rules/rule%d", i): g.rule} {
			k, id, _ := cutSlash(kind)
			alone, err := other.GetHA(ctx, k, id)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(sh, alone) {
				t.Errorf("HA %s: shared %v, alone %v", kind, sh, alone)
			}
		}
		m, err := other.GetMapping(ctx, PCIMapping, fmt.Sprintf("gpu%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(g.mapping, m) {
			t.Errorf("gpu%d: shared %+v, alone %+v", i, g.mapping, m)
		}
		if iface := cfg.Interface(fmt.Sprintf("vmbr%d", i+1)); iface == nil || !reflect.DeepEqual(g.iface, iface) {
			t.Errorf("vmbr%d: shared %+v, alone %+v", i+1, g.iface, iface)
		}
	}
}

func cutSlash(s string) (string, string, bool) {
	for i := range s {
		if s[i] == '/' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// Changes made by others (outside Terraform) show in the next run (a new
// client, as every plan starts the provider anew) and, in the same run,
// once the lists expire; the run's own writes show at once.
func TestConfigLists_drift(t *testing.T) {
	const n = 2
	lab, c := configLab(t, n)
	ctx := context.Background()
	readConfigs(t, c, n)
	other := labClient(t, lab)
	if err := other.SetPoolComment(ctx, "pool0", "changed"); err != nil {
		t.Fatal(err)
	}
	if err := other.UpdateHA(ctx, "rules", "rule0", url.Values{"type": {"node-affinity"}, "comment": {"changed"}}); err != nil {
		t.Fatal(err)
	}
	if err := other.UpdateHA(ctx, "resources", "vm:100", url.Values{"state": {"disabled"}}); err != nil {
		t.Fatal(err)
	}
	if err := other.UpdateMapping(ctx, PCIMapping, "gpu0", url.Values{"map": {gpuMap}, "description": {"changed"}}); err != nil {
		t.Fatal(err)
	}
	if err := other.UpdateNetworkInterface(ctx, "pve1", "vmbr1", url.Values{"type": {"bridge"}, "comments": {"changed"}}); err != nil {
		t.Fatal(err)
	}
	check := func(what string, r configRead) {
		t.Helper()
		if r.pool.Comment != "changed" || r.rule["comment"] != "changed" || r.ha["state"] != "disabled" ||
			r.mapping.Description != "changed" || r.iface.Comment() != "changed" {
			t.Errorf("%s: pool %+v, rule %v, HA resource %v, mapping %+v, interface comment %q; want every change seen",
				what, r.pool, r.rule, r.ha, r.mapping, r.iface.Comment())
		}
	}
	check("the next run", readConfigs(t, labClient(t, lab), n)[0])

	defer func(d time.Duration) { sharedListTTL = d }(sharedListTTL)
	sharedListTTL = 50 * time.Millisecond
	readConfigs(t, c, n)
	time.Sleep(100 * time.Millisecond)
	check("the same run, after the lists expired", readConfigs(t, c, n)[0])

	// the run's own write: the next read sees it without waiting
	sharedListTTL = time.Hour
	readConfigs(t, c, n)
	if err := c.SetPoolComment(ctx, "pool1", "mine"); err != nil {
		t.Fatal(err)
	}
	if p, err := c.GetPoolShared(ctx, "pool1"); err != nil || p.Comment != "mine" {
		t.Errorf("after the run's own write: %+v, %v", p, err)
	}
}

// An object no list shows is read on its own: gone is ErrNotFound, and an
// HA resource named by VMID alone is found.
func TestConfigLists_notListed(t *testing.T) {
	lab, c := configLab(t, 1)
	ctx := context.Background()
	for what, err := range map[string]error{
		"pool":    second(c.GetPoolShared(ctx, "nope")),
		"HA rule": second(c.GetHAShared(ctx, "rules", "nope")),
		"mapping": second(c.GetMappingShared(ctx, PCIMapping, "nope")),
	} {
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("%s that does not exist: %v, want ErrNotFound", what, err)
		}
	}
	lab.ResetRequests()
	o, err := c.GetHAShared(ctx, "resources", "100")
	if err != nil || o["sid"] != "vm:100" {
		t.Errorf("HA resource 100: %v, %v", o, err)
	}
	if r := lab.Requests(); r["GET /cluster/ha/resources/{sid}"] != 1 {
		t.Errorf("want it read on its own: %v", r)
	}
}

func second[T any](_ T, err error) error { return err }
