package network

import (
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/types"
)

func TestRemovedAddrs(t *testing.T) {
	side := func(name, cidr, cidr6 string, autostart bool) addrSide {
		s := addrSide{Node: types.StringValue("pve1"), Name: types.StringValue(name), Autostart: types.BoolValue(autostart),
			CIDR: types.StringNull(), CIDR6: types.StringNull()}
		if cidr != "" {
			s.CIDR = types.StringValue(cidr)
		}
		if cidr6 != "" {
			s.CIDR6 = types.StringValue(cidr6)
		}
		return s
	}
	prior := side("vmbr0", "192.168.1.11/24", "2001:db8::11/64", true)
	unknown := side("vmbr0", "", "", true)
	unknown.CIDR = types.StringUnknown()
	for _, tc := range []struct {
		name string
		plan *addrSide
		want string
	}{
		{"destroy", nil, "[192.168.1.11 2001:db8::11]"},
		{"unchanged", ptr(side("vmbr0", "192.168.1.11/24", "2001:db8::11/64", true)), "[]"},
		{"new prefix length, same address", ptr(side("vmbr0", "192.168.1.11/23", "2001:db8::11/64", true)), "[]"},
		{"address changed", ptr(side("vmbr0", "192.168.1.12/24", "2001:db8::11/64", true)), "[192.168.1.11]"},
		{"address removed", ptr(side("vmbr0", "", "2001:db8::11/64", true)), "[192.168.1.11]"},
		{"replaced", ptr(side("vmbr9", "192.168.1.11/24", "2001:db8::11/64", true)), "[192.168.1.11 2001:db8::11]"},
		{"no autostart", ptr(side("vmbr0", "192.168.1.11/24", "2001:db8::11/64", false)), "[192.168.1.11 2001:db8::11]"},
		{"not known yet", &unknown, "[]"},
	} {
		if got := fmt.Sprint(removedAddrs(prior, tc.plan)); got != tc.want {
			t.Errorf("%s: removed %s, want %s", tc.name, got, tc.want)
		}
	}
}

func ptr[T any](v T) *T { return &v }
