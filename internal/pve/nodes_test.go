package pve

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"testing"
)

// nodeStatusPVE8 is GET /nodes/pve1/status of PVE 8.3, abridged.
const nodeStatusPVE8 = `{"data":{"uptime":1209600,"idle":0,"wait":0.00112,"cpu":0.0312,
"loadavg":["0.21","0.30","0.28"],
"cpuinfo":{"model":"AMD EPYC 7313P 16-Core Processor","cpus":32,"sockets":1,"cores":16,"mhz":"3000.000","hvm":"1","user_hz":100,"flags":"fpu vme"},
"memory":{"total":134850445312,"used":40532422656,"free":94318022656,"available":92000000000},
"swap":{"total":8589930496,"used":0,"free":8589930496},
"rootfs":{"total":100861726720,"used":9663676416,"free":91198050304,"avail":86018088960},
"ksm":{"shared":0},
"kversion":"Linux 6.8.12-4-pve #1 SMP PREEMPT_DYNAMIC PMX 6.8.12-4 (2024-11-06T15:04Z) x86_64",
"current-kernel":{"sysname":"Linux","release":"6.8.12-4-pve","version":"#1 SMP PREEMPT_DYNAMIC PMX 6.8.12-4 (2024-11-06T15:04Z)","machine":"x86_64"},
"boot-info":{"mode":"efi","secureboot":0},
"pveversion":"pve-manager/8.3.0/c1689ccb1065a83b"}}`

// nodeStatusPVE7 lacks current-kernel and boot-info, and has a numeric mhz.
const nodeStatusPVE7 = `{"data":{"uptime":60,"cpu":0.5,"loadavg":["1.00","0.50","0.25"],
"cpuinfo":{"model":"Intel(R) Xeon(R) CPU E5-2620 v4 @ 2.10GHz","cpus":16,"sockets":2,"cores":8,"mhz":2100},
"memory":{"total":100,"used":60,"free":40},"swap":{"total":0,"used":0,"free":0},"rootfs":{"total":10,"used":5,"free":5,"avail":5},
"kversion":"Linux 5.15.131-2-pve #1 SMP PVE 5.15.131-3 (2023-12-01T13:42Z)","pveversion":"pve-manager/7.4-17/513c62be"}}`

func TestNodeStatus(t *testing.T) {
	f := newFakePVE(t, false)
	for node, body := range map[string]string{"pve1": nodeStatusPVE8, "old": nodeStatusPVE7} {
		f.handle("GET /nodes/"+node+"/status", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json;charset=UTF-8")
			_, _ = fmt.Fprint(w, body)
		})
	}
	f.handle("GET /nodes/pve9/status", func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusInternalServerError, "no such cluster node 'pve9'", nil)
	})
	c := newTestClient(t, f, nil)
	ctx := context.Background()

	got, err := c.NodeStatus(ctx, "pve1")
	if err != nil {
		t.Fatal(err)
	}
	want := &NodeStatus{
		CPUModel: "AMD EPYC 7313P 16-Core Processor", CPUs: 32, Sockets: 1, Cores: 16, MHz: "3000.000", CPU: 0.0312,
		MemoryTotal: 134850445312, MemoryUsed: 40532422656, MemoryFree: 94318022656,
		SwapTotal: 8589930496, RootFSTotal: 100861726720, RootFSUsed: 9663676416,
		KernelVersion: "6.8.12-4-pve", PVEVersion: "pve-manager/8.3.0/c1689ccb1065a83b", Uptime: 1209600,
		LoadAvg: []string{"0.21", "0.30", "0.28"}, BootMode: "efi",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("NodeStatus(pve1) =\n%+v\nwant\n%+v", got, want)
	}

	old, err := c.NodeStatus(ctx, "old")
	if err != nil {
		t.Fatal(err)
	}
	if old.MHz != "2100" || old.KernelVersion != "Linux 5.15.131-2-pve #1 SMP PVE 5.15.131-3 (2023-12-01T13:42Z)" || old.BootMode != "" {
		t.Errorf("NodeStatus(old) = %+v", old)
	}

	_, err = c.NodeStatus(ctx, "pve9")
	if !errors.Is(err, ErrNotFound) || err.Error() != "GET /nodes/pve9/status: 500 no such cluster node 'pve9'" {
		t.Errorf("NodeStatus(pve9) = %v, want ErrNotFound", err)
	}
}

func TestVersionAndNodes(t *testing.T) {
	f := newFakePVE(t, false)
	f.handle("GET /nodes", nodesHandler(3))
	c := newTestClient(t, f, nil)
	ctx := context.Background()

	v, err := c.Version(ctx)
	if err != nil || *v != (Version{Version: "8.3.0", Release: "8.3", RepoID: "c1689ccb1065a83b"}) {
		t.Errorf("Version() = %+v, %v", v, err)
	}

	nodes, err := c.Nodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 3 || nodes[0].Node != "pve1" || nodes[2].Node != "pve3" {
		t.Fatalf("Nodes() = %+v, want pve1..pve3 in order", nodes)
	}
	want := NodeListEntry{
		Node: "pve1", Status: "online", Level: "c", ID: "node/pve1",
		SSLFingerprint: "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89",
		CPU:            0.0123, MaxCPU: 32, Mem: 40532422656, MaxMem: 134850445312, Disk: 9663676416, MaxDisk: 100861726720, Uptime: 1209600,
	}
	if nodes[0] != want {
		t.Errorf("Nodes()[0] =\n%+v\nwant\n%+v", nodes[0], want)
	}
}

// nodesHandler answers GET /nodes for n nodes, listed in reverse order.
func nodesHandler(n int) http.HandlerFunc {
	list := make([]map[string]any, 0, n)
	for i := n; i >= 1; i-- {
		list = append(list, map[string]any{
			"node": fmt.Sprintf("pve%d", i), "status": "online", "type": "node", "id": fmt.Sprintf("node/pve%d", i),
			"level": "c", "cpu": 0.0123, "maxcpu": 32, "mem": 40532422656, "maxmem": 134850445312,
			"disk": 9663676416, "maxdisk": 100861726720, "uptime": 1209600,
			"ssl_fingerprint": "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89",
		})
	}
	return data(list)
}

// BenchmarkGetNodes measures one Nodes call (go-proxmox typed call through
// the transport) against a local server answering for 16 nodes.
func BenchmarkGetNodes(b *testing.B) {
	f := newFakePVE(b, false)
	f.handle("GET /nodes", nodesHandler(16))
	c, err := New(context.Background(), Config{Endpoint: f.srv.URL, Insecure: f.srv.TLS == nil, APIToken: testToken})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Nodes(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRawGet measures a raw Get of the same answer.
func BenchmarkRawGet(b *testing.B) {
	f := newFakePVE(b, false)
	f.handle("GET /nodes", nodesHandler(16))
	c, err := New(context.Background(), Config{Endpoint: f.srv.URL, Insecure: f.srv.TLS == nil, APIToken: testToken})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		var out []NodeListEntry
		if err := c.Get(ctx, "/nodes", nil, &out); err != nil {
			b.Fatal(err)
		}
	}
}

func TestVersionAtLeast(t *testing.T) {
	for _, tt := range []struct {
		version string
		want    bool
	}{
		{"9.1.12", true},
		{"9.1.13", true},
		{"9.2.0", true},
		{"10.0.1", true},
		{"9.1.12-1", true},
		{"9.1.11", false},
		{"9.1.3", false},
		{"9.0.20", false},
		{"8.4.21", false},
		{"9.1", false},
		{"", false},
		{"nine.1.12", false},
	} {
		if got := (&Version{Version: tt.version}).AtLeast(9, 1, 12); got != tt.want {
			t.Errorf("%q.AtLeast(9, 1, 12) = %v, want %v", tt.version, got, tt.want)
		}
	}
}

// The fake answers version 8.3.0, whose pool status reports another
// pool's statistics; the version is read once per client.
func TestCephPoolStatisticsPerPool(t *testing.T) {
	f := newFakePVE(t, false)
	c := newTestClient(t, f, nil)
	ctx := context.Background()
	before := f.count("GET /version")
	for range 3 {
		if perPool, err := c.CephPoolStatisticsPerPool(ctx); err != nil || perPool {
			t.Fatalf("CephPoolStatisticsPerPool() = %v, %v; want false for 8.3.0", perPool, err)
		}
	}
	if n := f.count("GET /version") - before; n != 1 {
		t.Errorf("GET /version sent %d times, want once", n)
	}
}
