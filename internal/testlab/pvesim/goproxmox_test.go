package pvesim

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/sim/simtest"
	proxmox "github.com/luthermonson/go-proxmox"
)

// These tests use go-proxmox, an independent client of the PVE API, to
// show that the lab serves other clients unchanged.

func goProxmoxClients(t *testing.T, lab *PVE) map[string]*proxmox.Client {
	base := lab.Endpoint() + "/api2/json"
	tokenID, secret, _ := strings.Cut(lab.APIToken(), "=")
	return map[string]*proxmox.Client{
		"credentials": proxmox.NewClient(base, proxmox.WithHTTPClient(simtest.HTTPClient(t, lab.CACertPEM())),
			proxmox.WithCredentials(&proxmox.Credentials{Username: lab.Username(), Password: lab.Password()})),
		"token": proxmox.NewClient(base, proxmox.WithHTTPClient(simtest.HTTPClient(t, lab.CACertPEM())), proxmox.WithAPIToken(tokenID, secret)),
	}
}

func TestGoProxmox(t *testing.T) {
	lab := startLab(t, Options{})
	for name, client := range goProxmoxClients(t, lab) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			v, err := client.Version(ctx)
			if err != nil || v.Version != "9.1.3" || v.Release != "9.1" || len(v.RepoID) != 8 {
				t.Fatalf("Version = %+v, %v", v, err)
			}

			nodes, err := client.Nodes(ctx)
			if err != nil || len(nodes) != 3 {
				t.Fatalf("Nodes = %v, %v", nodes, err)
			}
			if n := nodes[0]; n.Node != "pve1" || n.Status != "online" || n.MaxCPU != 16 || n.SSLFingerprint != lab.Fingerprint() {
				t.Errorf("node = %+v", n)
			}

			node, err := client.Node(ctx, "pve2")
			if err != nil {
				t.Fatalf("Node: %v", err)
			}
			if !strings.HasPrefix(node.PVEVersion, "pve-manager/9.1.3/") || node.CPUInfo.CPUs != 16 ||
				node.Memory.Total == 0 || node.RootFS.Total == 0 || len(node.LoadAvg) != 3 || node.Uptime == 0 {
				t.Errorf("node status = %+v", node)
			}

			cluster, err := client.Cluster(ctx)
			if err != nil {
				t.Fatalf("Cluster: %v", err)
			}
			if cluster.Name != "pvelab" || cluster.Quorate != 1 || len(cluster.Nodes) != 3 {
				t.Errorf("cluster = %+v", cluster)
			}
			resources, err := cluster.Resources(ctx, "node")
			if err != nil || len(resources) != 3 || resources[0].Type != "node" {
				t.Errorf("Resources = %v, %v", resources, err)
			}
			id, err := cluster.NextID(ctx)
			if err != nil || id != 100 {
				t.Errorf("NextID = %d, %v", id, err)
			}
		})
	}
}

func TestGoProxmoxNextIDAndTasks(t *testing.T) {
	lab := startLab(t, Options{})
	lab.mu.Lock()
	lab.guests[100] = guestRef{node: "pve1", kind: "qemu"}
	lab.mu.Unlock()
	client := goProxmoxClients(t, lab)["credentials"]
	ctx := context.Background()

	cluster, err := client.Cluster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if free, err := cluster.CheckID(ctx, 100); err != nil || free {
		t.Errorf("CheckID(100) = %v, %v; want taken", free, err)
	}
	if free, err := cluster.CheckID(ctx, 101); err != nil || !free {
		t.Errorf("CheckID(101) = %v, %v; want free", free, err)
	}
	if id, err := cluster.NextID(ctx); err != nil || id != 101 {
		t.Errorf("NextID = %d, %v", id, err)
	}

	upid := lab.StartTask("pve1", "qmcreate", "101", "root@pam", 100*time.Millisecond, []string{"creating VM 101"})
	task := proxmox.NewTask(proxmox.UPID(upid), client)
	if err := task.Wait(ctx, 20*time.Millisecond, 5*time.Second); err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if !task.IsSuccessful || task.ExitStatus != "OK" || task.Type != "qmcreate" || task.ID != "101" {
		t.Errorf("task = %+v", task)
	}
	log, err := task.Log(ctx, 0, 50)
	if err != nil || log[0] != "creating VM 101" || log[1] != "TASK OK" {
		t.Errorf("Log = %v, %v", log, err)
	}

	lab.Faults().FailNextTasks(1, "unable to create VM 102 - no space left on device")
	failed := proxmox.NewTask(proxmox.UPID(lab.StartTask("pve1", "qmcreate", "102", "root@pam", 0, nil)), client)
	if err := failed.Wait(ctx, 20*time.Millisecond, 5*time.Second); err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if !failed.IsFailed || failed.ExitStatus != "unable to create VM 102 - no space left on device" {
		t.Errorf("failed task = %+v", failed)
	}
}
