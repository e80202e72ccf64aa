package pvesim

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/perl"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/sim/simtest"
	proxmox "github.com/luthermonson/go-proxmox"
)

// go-proxmox forms a cluster of standalone nodes through their own
// endpoints, as against real nodes.
func TestGoProxmoxClusterConfig(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{Standalone: true})
	requireSchema(t, lab)
	ctx := context.Background()
	tokenID, secret, _ := strings.Cut(lab.APIToken(), "=")
	clusterOf := func(node string) *proxmox.Cluster {
		t.Helper()
		client := proxmox.NewClient(lab.NodeEndpoint(node)+"/api2/json", proxmox.WithHTTPClient(simtest.HTTPClient(t, lab.CACertPEM())), proxmox.WithAPIToken(tokenID, secret))
		cl, err := client.Cluster(ctx)
		if err != nil {
			t.Fatalf("%s: Cluster: %v", node, err)
		}
		return cl
	}
	clientOf := func(node string) *proxmox.Client {
		return proxmox.NewClient(lab.NodeEndpoint(node)+"/api2/json", proxmox.WithHTTPClient(simtest.HTTPClient(t, lab.CACertPEM())), proxmox.WithAPIToken(tokenID, secret))
	}
	wait := func(upid string, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		node := strings.Split(upid, ":")[1] // the node the task runs on
		task := proxmox.NewTask(proxmox.UPID(upid), clientOf(node))
		// A joining node authenticates nobody while it restarts its
		// cluster stack at the end of the join (Setup::finish_join), so a
		// client waiting for a join task tries again after a 401 for a while.
		deadline := time.Now().Add(10 * time.Second)
		for {
			err := task.Wait(ctx, 20*time.Millisecond, 5*time.Second)
			if err == nil {
				break
			}
			if !strings.Contains(upid, ":clusterjoin:") || !strings.Contains(err.Error(), "not authorized") || time.Now().After(deadline) {
				t.Fatalf("Wait: %v", err)
			}
			time.Sleep(200 * time.Millisecond)
		}
		if !task.IsSuccessful {
			t.Fatalf("task %s failed: %s", upid, task.ExitStatus)
		}
	}

	pve1 := clusterOf("pve1")
	if pve1.Name != "" || len(pve1.Nodes) != 1 || pve1.Nodes[0].Local != 1 {
		t.Errorf("standalone pve1 = %+v", pve1)
	}
	if v, err := pve1.JoinAPIVersion(ctx); err != nil || v != 1 {
		t.Errorf("JoinAPIVersion = %d, %v", v, err)
	}
	// PVE answers 424 "node is not in a cluster, ..."; go-proxmox v0.8.0 only
	// treats 400, 500 and 501 as errors, so it sees an empty answer
	if info, err := pve1.JoinInfo(ctx, ""); err != nil || info.PreferredNode != "" || len(info.NodeList) != 0 {
		t.Errorf("JoinInfo of a standalone node: %+v, %v", info, err)
	}

	wait(pve1.CreateCluster(ctx, &proxmox.ClusterCreateOptions{ClusterName: "gp", TokenCoefficient: 150}))
	for _, node := range []string{"pve2", "pve3"} {
		wait(clusterOf(node).JoinCluster(ctx, &proxmox.ClusterJoinOptions{
			Hostname: "pve1", Password: lab.Password(), Fingerprint: lab.NodeFingerprint("pve1"),
		}))
	}

	pve3 := clusterOf("pve3")
	if pve3.Name != "gp" || pve3.Version != 3 || pve3.Quorate != 1 || len(pve3.Nodes) != 3 {
		t.Errorf("cluster = %+v", pve3)
	}
	for _, n := range pve3.Nodes {
		if n.Online != 1 || n.Local != perl.BoolInt(n.Name == "pve3") {
			t.Errorf("node %+v", n)
		}
	}
	nodes, err := pve3.ConfigNodes(ctx)
	if err != nil || len(nodes) != 3 || nodes[0].Node != "pve1" {
		t.Errorf("ConfigNodes = %v, %v", nodes, err)
	}
	totem, err := pve3.Totem(ctx)
	if err != nil || totem["cluster_name"] != "gp" || totem["config_version"] != "3" || totem["token_coefficient"] != "150" {
		t.Errorf("Totem = %v, %v", totem, err)
	}
	if qd, err := pve3.QDevice(ctx); err != nil || len(qd) != 0 {
		t.Errorf("QDevice = %v, %v", qd, err)
	}
	// go-proxmox v0.8.0 types nodeid and quorum_votes as integers; PVE sends
	// them as strings (they come from parsing corosync.conf), so the lab does too
	if _, err := pve3.JoinInfo(ctx, "pve1"); err == nil || !strings.Contains(err.Error(), "cannot unmarshal string") {
		t.Errorf("JoinInfo: %v", err)
	}

	if err := lab.StopNode("pve3"); err != nil {
		t.Fatal(err)
	}
	if err := clusterOf("pve1").DeleteConfigNode(ctx, "pve3"); err != nil {
		t.Fatalf("DeleteConfigNode: %v", err)
	}
	if cl := clusterOf("pve2"); cl.Version != 4 || len(cl.Nodes) != 2 || cl.Quorate != 1 {
		t.Errorf("cluster = %+v", cl)
	}
	if err := clusterOf("pve2").DeleteConfigNode(ctx, "pve2"); err == nil || !strings.Contains(err.Error(), "Cannot delete myself from cluster!") {
		t.Errorf("DeleteConfigNode(self): %v", err)
	}
}
