package network

import (
	"testing"
)

func TestNameChecks(t *testing.T) {
	tests := []struct {
		check func(string) error
		in    string
		ok    bool
	}{
		{checkBridgeName, "vmbr0", true},
		{checkBridgeName, "vmbr9999", true},
		{checkBridgeName, "vmbr", false},
		{checkBridgeName, "br0", false},
		{checkBridgeName, "vmbr10000", false},
		{checkBondName, "bond0", true},
		{checkBondName, "bond-lacp", false},
		{checkVLANName, "bond0.40", true},
		{checkVLANName, "eno1.4094", true},
		{checkVLANName, "vmbr0.1", true},
		{checkVLANName, "vlan40", true},
		{checkVLANName, "eno1.4095", false},
		{checkVLANName, "eno1.0", false},
		{checkVLANName, "vlan", false},
		{checkVLANName, "bond0", false},
		{checkIfaceName, "eno1", true},
		{checkIfaceName, "enp5s0f1", true},
		{checkIfaceName, "e", false},
		{checkIfaceName, "eno 1", false},
	}
	for _, tt := range tests {
		if err := tt.check(tt.in); (err == nil) != tt.ok {
			t.Errorf("check(%q) = %v, want ok=%v", tt.in, err, tt.ok)
		}
	}
}

func TestParseVLANName(t *testing.T) {
	tests := []struct {
		in  string
		raw string
		tag int64
	}{
		{"bond0.40", "bond0", 40},
		{"eno1.100", "eno1", 100},
		{"vlan40", "", 40},
		{"bond0.10.20", "bond0.10", 20}, // QinQ: the outer VLAN is the device
	}
	for _, tt := range tests {
		raw, tag, err := parseVLANName(tt.in)
		if err != nil || raw != tt.raw || tag != tt.tag {
			t.Errorf("parseVLANName(%q) = %q, %d, %v; want %q, %d", tt.in, raw, tag, err, tt.raw, tt.tag)
		}
	}
}

func TestAddressChecks(t *testing.T) {
	tests := []struct {
		check func(string) error
		in    string
		ok    bool
	}{
		{checkCIDR4, "192.168.1.10/24", true},
		{checkCIDR4, "192.168.1.10", false},
		{checkCIDR4, "2001:db8::1/64", false},
		{checkCIDR4, "192.168.1.300/24", false},
		{checkCIDR6, "2001:db8::1/64", true},
		{checkCIDR6, "10.0.0.1/8", false},
		{checkIP4, "10.0.0.1", true},
		{checkIP4, "10.0.0.1/8", false},
		{checkIP6, "fe80::1", true},
		{checkVIDs, "10", true},
		{checkVIDs, "100-200", true},
		{checkVIDs, "2-4094", true},
		{checkVIDs, "0", false},
		{checkVIDs, "200-100", false},
		{checkVIDs, "4095", false},
		{checkVIDs, "ten", false},
	}
	for _, tt := range tests {
		if err := tt.check(tt.in); (err == nil) != tt.ok {
			t.Errorf("check(%q) = %v, want ok=%v", tt.in, err, tt.ok)
		}
	}
}

func TestGatewayInCIDR(t *testing.T) {
	if err := checkGatewayInCIDR("192.168.1.1", "192.168.1.10/24"); err != nil {
		t.Error(err)
	}
	if err := checkGatewayInCIDR("192.168.2.1", "192.168.1.10/24"); err == nil {
		t.Error("a gateway outside the network must be an error")
	}
	if err := checkGatewayInCIDR("2001:db8::1", "2001:db8::10/64"); err != nil {
		t.Error(err)
	}
}

func FuzzParseVLANName(f *testing.F) {
	for _, s := range []string{"bond0.40", "vlan40", "eno1.4095", "a.b.c", "vlan"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		raw, tag, err := parseVLANName(s)
		if err == nil && (tag < 1 || tag > 4094 || (raw == "" && !namedVLANRE.MatchString(s))) {
			t.Fatalf("parseVLANName(%q) = %q, %d without error", s, raw, tag)
		}
	})
}
