package pve

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/hcilab/terraform-provider-pve/internal/apiclient"
)

func TestChecks(t *testing.T) {
	fp := "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89"
	tests := []struct {
		check func(string) error
		in    string
		ok    bool
	}{
		{CheckEndpoint, "https://pve1.example.com:8006", true},
		{CheckEndpoint, "https://10.0.0.1:8006/api2/json", true},
		{CheckEndpoint, "pve1.example.com:8006", false},
		{CheckEndpoint, "ftp://pve1", false},
		{CheckAPIToken, "root@pam!tf=aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", true},
		{CheckAPIToken, "root@pam:tf=secret", false},
		{CheckAPIToken, "root!tf=secret", false},
		{CheckFingerprint, fp, true},
		{CheckFingerprint, "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789", true},
		{CheckFingerprint, "AB:CD", false},
		{CheckNodeName, "pve1", true},
		{CheckNodeName, "node-a", true},
		{CheckNodeName, "-pve", false},
		{CheckNodeName, "not a node!", false},
		{CheckNodeName, "pve.example.com", false},
	}
	for _, tt := range tests {
		err := tt.check(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("check(%q) = %v, want ok=%v", tt.in, err, tt.ok)
		}
	}
}

func TestCheckAPITokenHidesSecret(t *testing.T) {
	err := CheckAPIToken("root@pam:tf=topsecret")
	if err == nil || strings.Contains(err.Error(), "topsecret") {
		t.Fatalf("want an error without the secret, got %v", err)
	}
}

func TestIsUnreachable(t *testing.T) {
	if !IsUnreachable(&apiclient.NetError{Msg: "cannot reach PVE", Err: errors.New("refused"), Unsent: true}) {
		t.Error("a request that was never sent is unreachable")
	}
	if IsUnreachable(fmt.Errorf("login: %w", ErrAuthentication)) {
		t.Error("rejected credentials are not unreachable")
	}
}

func TestCheckTagAndDNSName(t *testing.T) {
	for _, ok := range []string{"web", "Prod_1", "a-b+c.d", "_x", "9"} {
		if err := CheckTag(ok); err != nil {
			t.Errorf("CheckTag(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "-x", "+x", ".x", "a b", "a/b", "a;b", "ä"} {
		if CheckTag(bad) == nil {
			t.Errorf("CheckTag(%q) accepted", bad)
		}
	}
	for _, ok := range []string{"web", "web-1", "web.example.com", "a", "1.2", "A-b.C"} {
		if err := CheckDNSName(ok); err != nil {
			t.Errorf("CheckDNSName(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "-web", "web-", "web..x", ".web", "web.", "web_1", "a b"} {
		if CheckDNSName(bad) == nil {
			t.Errorf("CheckDNSName(%q) accepted", bad)
		}
	}
}

func TestCheckCorosyncLink(t *testing.T) {
	for _, ok := range []string{"10.0.0.2", "address=10.0.0.2", "10.0.0.2,priority=10", "fd00::2", "pve2-ring0.example.com"} {
		if err := CheckCorosyncLink(ok); err != nil {
			t.Errorf("CheckCorosyncLink(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "10.0.0.2,priority=256", "10.0.0.2,prio=1", "not_a_host", "10.0.0.2/24", "priority=1"} {
		if CheckCorosyncLink(bad) == nil {
			t.Errorf("CheckCorosyncLink(%q) accepted", bad)
		}
	}
}

func TestCheckPBSNames(t *testing.T) {
	for _, ok := range []string{"backups", "ds_1", "a.b-c"} {
		if err := CheckPBSDatastore(ok); err != nil {
			t.Errorf("CheckPBSDatastore(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"ab", "-ds", "a/b", strings.Repeat("x", 33)} {
		if CheckPBSDatastore(bad) == nil {
			t.Errorf("CheckPBSDatastore(%q) accepted", bad)
		}
	}
	for _, ok := range []string{"a", "a/b", "pve/cluster_1/x.y"} {
		if err := CheckPBSNamespace(ok); err != nil {
			t.Errorf("CheckPBSNamespace(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a//b", "/a", "a/", ".x", "1/2/3/4/5/6/7/8"} {
		if CheckPBSNamespace(bad) == nil {
			t.Errorf("CheckPBSNamespace(%q) accepted", bad)
		}
	}
	if CheckServer("10.0.0.5") != nil || CheckServer("pbs.example.com") != nil || CheckServer("pbs example") == nil {
		t.Error("CheckServer")
	}
}
