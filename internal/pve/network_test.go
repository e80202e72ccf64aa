package pve

import (
	"context"
	"net/http"
	"reflect"
	"testing"
)

// A real PVE 9 answer: numbers as strings where they come from the file,
// booleans as 0/1, the staged diff in "changes".
const networkAnswer = `{"data":[
 {"iface":"eno1","type":"eth","method":"manual","method6":"manual","families":["inet"],"active":1,"exists":1,"priority":3},
 {"iface":"bond0","type":"bond","method":"manual","families":["inet"],"slaves":"eno2 eno3","bond_mode":"802.3ad",
  "bond_xmit_hash_policy":"layer3+4","bond_miimon":"100","mtu":"9000","autostart":1,"options":["bond-lacp-rate 1"],"comments":"ceph\n"},
 {"iface":"vmbr0","type":"bridge","method":"static","address":"192.168.100.11","netmask":"24","gateway":"192.168.100.1",
  "bridge_ports":"bond0","bridge_stp":"off","bridge_fd":"0","bridge_vlan_aware":1,"bridge_vids":"2-4094","active":0,"autostart":1}
],"changes":"--- /etc/network/interfaces\t2026-11-21 05:00:00\n+++ /etc/network/interfaces.new\t2026-11-21 05:01:00\n@@ -5,7 +5,15 @@\n auto lo\n iface lo inet loopback\n \n-iface eno1 inet manual\n+iface eno1 inet manual\n+\n+auto bond0\n+iface bond0 inet manual\n+\tbond-slaves eno2 eno3\n \n auto vmbr0\n iface vmbr0 inet static\n-\tbridge-ports eno1\n+\tbridge-ports bond0\n \tbridge-stp off\n"}`

func TestNetworkConfig(t *testing.T) {
	f := newFakePVE(t, false)
	f.handle("GET /nodes/pve1/network", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("type") != "" && r.URL.Query().Get("type") != "bond" {
			t.Errorf("type filter = %q", r.URL.Query().Get("type"))
		}
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		_, _ = w.Write([]byte(networkAnswer))
	})
	c := newTestClient(t, f, nil)
	cfg, err := c.NetworkConfig(context.Background(), "pve1", "")
	if err != nil {
		t.Fatal(err)
	}
	bond := cfg.Interface("bond0")
	if bond == nil || bond.MTU != 9000 || bond.BondMiimon != 100 || !bool(bond.Autostart) || bond.Comment() != "ceph" {
		t.Fatalf("bond0 = %+v", bond)
	}
	if v, ok := bond.Option("bond-lacp-rate"); !ok || v != "1" {
		t.Fatalf("bond-lacp-rate option = %q, %v", v, ok)
	}
	if got := SplitList(bond.Slaves); !reflect.DeepEqual(got, []string{"eno2", "eno3"}) {
		t.Fatalf("slaves = %v", got)
	}
	br := cfg.Interface("vmbr0")
	if br.IPv4() != "192.168.100.11/24" || !bool(br.BridgeVLANAware) || bool(br.Active) {
		t.Fatalf("vmbr0 = %+v (IPv4 %s)", br, br.IPv4())
	}
	for iface, want := range map[string]bool{"bond0": true, "vmbr0": true, "eno1": true, "eno4": false, "lo": false} {
		if got := cfg.Pending(iface); got != want {
			t.Errorf("Pending(%s) = %v, want %v", iface, got, want)
		}
	}
	if _, err := c.NetworkConfig(context.Background(), "pve1", "bond"); err != nil {
		t.Fatal(err)
	}
}

func TestPendingInterfaces(t *testing.T) {
	tests := []struct {
		diff string
		want map[string]bool
	}{
		{"", map[string]bool{}},
		// A new stanza with its auto line.
		{"@@ -1,2 +1,6 @@\n iface lo inet loopback\n+\n+auto vmbr1\n+iface vmbr1 inet manual\n+\tbridge-ports none\n", map[string]bool{"vmbr1": true}},
		// A changed option inside an unchanged stanza header.
		{"@@ -3,4 +3,4 @@\n iface vmbr0 inet static\n-\tmtu 1500\n+\tmtu 9000\n \tbridge-stp off\n", map[string]bool{"vmbr0": true}},
		// Only context lines: nothing pending.
		{"@@ -3,2 +3,2 @@\n iface vmbr0 inet static\n \tbridge-stp off\n", map[string]bool{}},
		// An auto line for several interfaces.
		{"@@ -1 +1 @@\n-auto eno1 eno2\n+auto eno1\n", map[string]bool{"eno1": true, "eno2": true}},
	}
	for _, tt := range tests {
		if got := pendingInterfaces(tt.diff); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("pendingInterfaces(%q) = %v, want %v", tt.diff, got, tt.want)
		}
	}
}

func TestDeleteNetworkInterfaceGone(t *testing.T) {
	f := newFakePVE(t, false)
	f.handle("DELETE /nodes/pve1/network/{iface}", func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusBadRequest, "Parameter verification failed.", map[string]string{"iface": "interface does not exist"})
	})
	c := newTestClient(t, f, nil)
	if err := c.DeleteNetworkInterface(context.Background(), "pve1", "vmbr9"); err != nil {
		t.Fatalf("deleting an interface that is gone: %v", err)
	}
}

func TestCIDROf(t *testing.T) {
	tests := []struct{ cidr, addr, mask, want string }{
		{"10.0.0.5/24", "10.0.0.5", "24", "10.0.0.5/24"},
		{"", "10.0.0.5", "255.255.255.0", "10.0.0.5/24"},
		{"", "10.0.0.5", "16", "10.0.0.5/16"},
		{"", "", "", ""},
	}
	for _, tt := range tests {
		if got := cidrOf(tt.cidr, tt.addr, tt.mask); got != tt.want {
			t.Errorf("cidrOf(%q, %q, %q) = %q, want %q", tt.cidr, tt.addr, tt.mask, got, tt.want)
		}
	}
}

func FuzzPendingInterfaces(f *testing.F) {
	f.Add("@@ -1 +1 @@\n-auto eno1\n+auto eno1 eno2\n")
	f.Add("+iface vmbr0 inet static\n+\taddress 10.0.0.1/24\n")
	f.Fuzz(func(t *testing.T, diff string) {
		pendingInterfaces(diff)
	})
}
