package bmc

import "testing"

func TestParseImportID(t *testing.T) {
	for id, want := range map[string][2]string{
		"https://10.0.0.101":                              {"https://10.0.0.101", ""},
		"https://10.0.0.101/":                             {"https://10.0.0.101", ""},
		"https://bmc1.example.com:8443#System.Embedded.1": {"https://bmc1.example.com:8443", "System.Embedded.1"},
	} {
		ep, sys, err := parseImportID(id)
		if err != nil || ep != want[0] || sys != want[1] {
			t.Errorf("parseImportID(%q) = %q, %q, %v; want %q, %q", id, ep, sys, err, want[0], want[1])
		}
	}
	for _, id := range []string{"10.0.0.101", "https://a#b#c", "ftp://x"} {
		if _, _, err := parseImportID(id); err == nil {
			t.Errorf("parseImportID(%q) should fail", id)
		}
	}
}

func TestNormalPower(t *testing.T) {
	for in, want := range map[string]string{"On": "On", "PoweringOn": "On", "Off": "Off", "PoweringOff": "Off", "Paused": "On"} {
		if got := normalPower(in); got != want {
			t.Errorf("normalPower(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestParseMediaImportID(t *testing.T) {
	for id, want := range map[string][3]string{
		"https://10.0.0.101#1#CD1":                                      {"https://10.0.0.101", "1", "CD1"},
		"https://10.0.0.101/##CD1":                                      {"https://10.0.0.101", "", "CD1"},
		"https://bmc1.example.com:8443#System.Embedded.1#RemovableDisk": {"https://bmc1.example.com:8443", "System.Embedded.1", "RemovableDisk"},
	} {
		ep, sys, slot, err := parseMediaImportID(id)
		if err != nil || ep != want[0] || sys != want[1] || slot != want[2] {
			t.Errorf("parseMediaImportID(%q) = %q, %q, %q, %v; want %q", id, ep, sys, slot, err, want)
		}
	}
	for _, id := range []string{"https://10.0.0.101", "https://10.0.0.101#1", "https://10.0.0.101#1#", "10.0.0.101#1#CD1", "https://a#b#c#d"} {
		if _, _, _, err := parseMediaImportID(id); err == nil {
			t.Errorf("parseMediaImportID(%q) should fail", id)
		}
	}
}
