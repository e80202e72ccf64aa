package cluster

import (
	"strings"
	"testing"

	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

func TestWarnings(t *testing.T) {
	for _, tt := range []struct {
		name           string
		st             pve.ClusterStatus
		nodes, offline int
		qdevice        bool
		want           []string
	}{
		{"standalone", pve.ClusterStatus{Quorate: true}, 1, 0, false, nil},
		{"three healthy", pve.ClusterStatus{Name: "c", Quorate: true}, 3, 0, false, nil},
		{"two nodes", pve.ClusterStatus{Name: "c", Quorate: true}, 2, 0, false, []string{"only 2 nodes", "even number of nodes (2)"}},
		{"two with qdevice", pve.ClusterStatus{Name: "c", Quorate: true}, 2, 0, true, []string{"only 2 nodes"}},
		{"four, one off", pve.ClusterStatus{Name: "c", Quorate: true}, 4, 1, false, []string{"even number of nodes (4)", "1 of 4 nodes are offline"}},
		{"no quorum", pve.ClusterStatus{Name: "c"}, 3, 2, false, []string{"2 of 3 nodes are offline", "no quorum"}},
	} {
		got := warnings(&tt.st, tt.nodes, tt.offline, tt.qdevice)
		if len(got) != len(tt.want) {
			t.Errorf("%s: %q, want %d warnings", tt.name, got, len(tt.want))
			continue
		}
		for i, w := range tt.want {
			if !strings.Contains(got[i], w) {
				t.Errorf("%s: warning %d = %q, want it to mention %q", tt.name, i, got[i], w)
			}
		}
	}
}

func TestLinkAndEndpointHelpers(t *testing.T) {
	if got := linkAddress("address=10.0.0.1,priority=10"); got != "10.0.0.1" {
		t.Errorf("linkAddress = %q", got)
	}
	if got := linkAddress("10.0.0.2"); got != "10.0.0.2" {
		t.Errorf("linkAddress = %q", got)
	}
	if got := hostPort("fd00::2", "8006"); got != "[fd00::2]:8006" {
		t.Errorf("hostPort = %q", got)
	}
	if !clusterNameRE.MatchString("homelab-1") || clusterNameRE.MatchString("a-name-that-is-too-long") || clusterNameRE.MatchString("-x") {
		t.Error("cluster names are 1 to 15 letters, digits and '-'")
	}
}
