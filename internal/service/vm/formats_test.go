package vm

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/hcilab/terraform-provider-pve/internal/testlab"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/pvesim/pvetest"
)

func validateString(v validator.String, s string) bool {
	resp := &validator.StringResponse{}
	v.ValidateString(context.Background(), validator.StringRequest{Path: path.Root("x"), ConfigValue: types.StringValue(s)}, resp)
	return !resp.Diagnostics.HasError()
}

func TestCPUTypeValidator(t *testing.T) {
	for s, want := range map[string]bool{
		"host": true, "kvm64": true, "x86-64-v2-AES": true, "EPYC-Rome": true, "custom-fast": true,
		"foo": false, "Host": false, "custom-": false, "": false, "x86-64-v5": false,
	} {
		if got := validateString(cpuTypeValidator{}, s); got != want {
			t.Errorf("cpu type %q: valid %v, want %v", s, got, want)
		}
	}
}

func TestIPConfigValidator(t *testing.T) {
	for _, tt := range []struct {
		v    ipConfigValidator
		s    string
		want bool
	}{
		{ipConfigValidator{}, "dhcp", true},
		{ipConfigValidator{}, "manual", true},
		{ipConfigValidator{}, "10.0.0.5/24", true},
		{ipConfigValidator{}, "10.0.0.5", false},
		{ipConfigValidator{}, "10.0.0.5/7", false},
		{ipConfigValidator{}, "10.0.0.5/33", false},
		{ipConfigValidator{}, "auto", false},
		{ipConfigValidator{}, "fd00::5/64", false},
		{ipConfigValidator{v6: true}, "auto", true},
		{ipConfigValidator{v6: true}, "fd00::5/64", true},
		{ipConfigValidator{v6: true}, "fd00::5/129", false},
		{ipConfigValidator{v6: true}, "10.0.0.5/24", false},
		{ipConfigValidator{gateway: true}, "10.0.0.1", true},
		{ipConfigValidator{gateway: true}, "10.0.0.1/24", false},
		{ipConfigValidator{gateway: true}, "fd00::1", false},
		{ipConfigValidator{v6: true, gateway: true}, "fd00::1", true},
	} {
		if got := validateString(tt.v, tt.s); got != tt.want {
			t.Errorf("%+v %q: valid %v, want %v", tt.v, tt.s, got, tt.want)
		}
	}
}

// TestCPUModelsKnownToPVE: every CPU type the provider accepts, the
// simulated PVE 9.1 (which checks cpu as qemu-server does) accepts too.
func TestCPUModelsKnownToPVE(t *testing.T) {
	lab, err := testlab.Start(testlab.Options{Nodes: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer lab.Close()
	c := pvetest.New(t, pvetest.Config{Endpoint: lab.Endpoint(), CACertPEM: lab.CACertPEM(), APIToken: lab.APIToken()}).WithToken()
	if res := c.Form(http.MethodPost, "/nodes/pve1/qemu", url.Values{"vmid": {"100"}}); res.Status != http.StatusOK {
		t.Fatalf("create: %s", res.Raw)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		res := c.Get("/nodes/pve1/qemu/100/config")
		if data, _ := res.Body["data"].(map[string]any); res.Status == http.StatusOK && data["lock"] == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the VM is still being created")
		}
	}
	for _, m := range append(cpuModels, "custom-fast") {
		res := c.Form(http.MethodPut, "/nodes/pve1/qemu/100/config", url.Values{"cpu": {m}})
		switch {
		case m == "custom-fast" && res.Status != http.StatusBadRequest:
			t.Errorf("cpu=%s: %d, want 400 (the lab has no custom models)", m, res.Status)
		case m != "custom-fast" && res.Status != http.StatusOK:
			t.Errorf("cpu=%s: %d %s", m, res.Status, res.Raw)
		}
	}
}
