package pve

import (
	"reflect"
	"testing"
)

func TestSizeGiB(t *testing.T) {
	for in, want := range map[string]int64{"32G": 32, "512M": 1, "1T": 1024, "4M": 1, "1.5G": 2, "34359738368": 32} {
		if got, err := SizeGiB(in); err != nil || got != want {
			t.Errorf("SizeGiB(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "G", "-1G", "lots"} {
		if _, err := SizeGiB(bad); err == nil {
			t.Errorf("SizeGiB(%q): want an error", bad)
		}
	}
}

func TestSplitTags(t *testing.T) {
	for in, want := range map[string][]string{"b;a": {"a", "b"}, "a,b c": {"a", "b", "c"}, "": {}} {
		if got := SplitTags(in); !reflect.DeepEqual(got, want) {
			t.Errorf("SplitTags(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestGuestFilter(t *testing.T) {
	yes := true
	rs := []ClusterResource{
		{Type: "qemu", VMID: 100, Node: "pve1", Name: "web1", Tags: "prod;web"},
		{Type: "qemu", VMID: 9000, Node: "pve1", Name: "tmpl", Template: 1},
		{Type: "lxc", VMID: 200, Node: "pve2", Name: "dns1", Tags: "prod"},
		{Type: "node", Node: "pve1"},
	}
	tests := []struct {
		f    GuestFilter
		want []int
	}{
		{GuestFilter{}, []int{100, 9000, 200}},
		{GuestFilter{Kind: QEMU}, []int{100, 9000}},
		{GuestFilter{Kind: LXC, Tag: "prod"}, []int{200}},
		{GuestFilter{Node: "pve1", Template: &yes}, []int{9000}},
		{GuestFilter{Name: func(s string) bool { return s == "web1" }}, []int{100}},
	}
	for i, tt := range tests {
		var got []int
		for _, r := range rs {
			if tt.f.Match(r) {
				got = append(got, r.VMID)
			}
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("filter %d: %v, want %v", i, got, tt.want)
		}
	}
}
