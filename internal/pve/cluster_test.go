package pve

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

func TestClusterResources(t *testing.T) {
	f := newFakePVE(t, false)
	var queries []string
	f.handle("GET /cluster/resources", func(w http.ResponseWriter, r *http.Request) {
		queries = append(queries, r.URL.RawQuery)
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		_, _ = w.Write([]byte(`{"data":[
{"id":"qemu/100","type":"qemu","vmid":100,"name":"web","node":"pve1","status":"running","template":0,"pool":"prod","tags":"a;b",
 "cpu":0.015,"maxcpu":4,"mem":2147483648,"maxmem":4294967296,"disk":0,"maxdisk":34359738368,"uptime":86400,"netin":1,"netout":2,"diskread":3,"diskwrite":4},
{"id":"storage/pve1/local","type":"storage","storage":"local","node":"pve1","status":"available","content":"iso,vztmpl,backup",
 "plugintype":"dir","shared":0,"disk":9663676416,"maxdisk":100861726720}]}`))
	})
	c := newTestClient(t, f, nil)
	ctx := context.Background()

	rs, err := c.ClusterResources(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	want := []ClusterResource{
		{ID: "qemu/100", Type: "qemu", VMID: 100, Name: "web", Node: "pve1", Status: "running", Pool: "prod",
			CPU: 0.015, MaxCPU: 4, Mem: 2147483648, MaxMem: 4294967296, MaxDisk: 34359738368, Uptime: 86400, Tags: "a;b"},
		{ID: "storage/pve1/local", Type: "storage", Storage: "local", Node: "pve1", Status: "available",
			Disk: 9663676416, MaxDisk: 100861726720},
	}
	if !reflect.DeepEqual(rs, want) {
		t.Errorf("ClusterResources() =\n%+v\nwant\n%+v", rs, want)
	}
	if _, err := c.ClusterResources(ctx, "vm"); err != nil {
		t.Fatal(err)
	}
	if strings.Join(queries, "|") != "|type=vm" {
		t.Errorf("queries = %q", queries)
	}
}

func TestNextID(t *testing.T) {
	for _, tt := range []struct {
		answer string
		want   int
		err    string
	}{
		{`{"data":"100"}`, 100, ""},
		{`{"data":123}`, 123, ""},
		{`{"data":"abc"}`, 0, `GET /cluster/nextid: unexpected answer "abc"`},
		{`{"data":true}`, 0, "GET /cluster/nextid: decode data"},
	} {
		f := newFakePVE(t, false)
		f.handle("GET /cluster/nextid", func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte(tt.answer))
		})
		c := newTestClient(t, f, nil)
		id, err := c.NextID(context.Background())
		if tt.err != "" {
			if err == nil || !strings.HasPrefix(err.Error(), tt.err) {
				t.Errorf("NextID() with %s = %v, want error %q", tt.answer, err, tt.err)
			}
			continue
		}
		if err != nil || id != tt.want {
			t.Errorf("NextID() with %s = %d, %v; want %d", tt.answer, id, err, tt.want)
		}
	}

	// A VMID taken meanwhile is PVE's 400, not a number.
	f := newFakePVE(t, false)
	f.handle("GET /cluster/nextid", func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusBadRequest, "Parameter verification failed.", map[string]string{"vmid": "VM 100 already exists"})
	})
	c := newTestClient(t, f, nil)
	var ae *APIError
	if _, err := c.NextID(context.Background()); !errors.As(err, &ae) || ae.Errors["vmid"] != "VM 100 already exists" {
		t.Errorf("NextID() = %v", err)
	}
}
