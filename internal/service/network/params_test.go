package network

import (
	"context"
	"net/url"
	"reflect"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

func strList(items ...string) types.List {
	l, _ := types.ListValueFrom(context.Background(), types.StringType, items)
	return l
}

// An update sends what the plan sets and clears what it no longer sets.
func TestBridgeParamsUpdate(t *testing.T) {
	prior := &bridgeModel{
		ifaceModel: ifaceModel{Node: types.StringValue("pve1"), Name: types.StringValue("vmbr1"),
			MTU: types.Int64Value(9000), CIDR: types.StringValue("10.0.0.1/24"), Comment: types.StringValue("old"),
			Gateway: types.StringNull(), CIDR6: types.StringNull(), Gateway6: types.StringNull(), Autostart: types.BoolValue(true)},
		Ports: strList("eno4"), VLANAware: types.BoolValue(true), VIDs: strList("10", "20"),
	}
	plan := &bridgeModel{
		ifaceModel: ifaceModel{Node: types.StringValue("pve1"), Name: types.StringValue("vmbr1"),
			MTU: types.Int64Null(), CIDR: types.StringValue("10.0.0.1/24"), Comment: types.StringNull(),
			Gateway: types.StringNull(), CIDR6: types.StringNull(), Gateway6: types.StringNull(), Autostart: types.BoolValue(true)},
		Ports: types.ListNull(types.StringType), VLANAware: types.BoolValue(true), VIDs: strList("10", "20", "100-200"),
	}
	var diags diag.Diagnostics
	p := url.Values{"type": {"bridge"}}
	plan.common().params(p, prior.common())
	plan.params(context.Background(), p, prior, &diags)
	joinDeletes(p)
	if diags.HasError() {
		t.Fatal(diags)
	}
	want := url.Values{
		"type":              {"bridge"},
		"cidr":              {"10.0.0.1/24"},
		"autostart":         {"1"},
		"bridge_vlan_aware": {"1"},
		"bridge_vids":       {"10 20 100-200"},
		"delete":            {"mtu,comments,bridge_ports"},
	}
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("params =\n%v\nwant\n%v", p, want)
	}
}

func TestBondFromAPI(t *testing.T) {
	m := &bondModel{Slaves: types.ListNull(types.StringType)}
	m.fromAPI(&pve.NetworkInterface{Iface: "bond0", Type: "bond", Slaves: "eno2 eno3", BondMode: "802.3ad",
		BondXmitHashPolicy: "layer3+4", BondMiimon: 100, Options: []string{"bond-lacp-rate 1", "bond-updelay 200"}})
	if !reflect.DeepEqual(m.Slaves, strList("eno2", "eno3")) || m.Mode.ValueString() != "802.3ad" ||
		m.XmitHashPolicy.ValueString() != "layer3+4" || m.Miimon.ValueInt64() != 100 ||
		m.LACPRate.ValueString() != "fast" || m.Updelay.ValueInt64() != 200 || !m.Downdelay.IsNull() || !m.Primary.IsNull() {
		t.Fatalf("bond model = %+v", m)
	}
}

// A bond that leaves a hashing mode drops its leftover policy.
func TestBondParamsLeavingLACP(t *testing.T) {
	prior := &bondModel{Slaves: strList("eno2", "eno3"), Mode: types.StringValue("802.3ad"), XmitHashPolicy: types.StringValue("layer3+4"), Primary: types.StringNull()}
	plan := &bondModel{Slaves: strList("eno2", "eno3"), Mode: types.StringValue("active-backup"), XmitHashPolicy: types.StringUnknown(), Primary: types.StringValue("eno2")}
	var diags diag.Diagnostics
	p := url.Values{}
	plan.params(context.Background(), p, prior, &diags)
	if p.Get("bond_mode") != "active-backup" || p.Get("bond-primary") != "eno2" || p.Get("delete") != "bond_xmit_hash_policy" || p.Has("bond_xmit_hash_policy") {
		t.Fatalf("params = %v", p)
	}
}

func TestVLANFromAPI(t *testing.T) {
	m := &vlanModel{}
	m.fromAPI(&pve.NetworkInterface{Iface: "bond0.40", Type: "vlan"})
	if m.VLANRawDevice.ValueString() != "bond0" || m.Tag.ValueInt64() != 40 {
		t.Fatalf("dotted name: %+v", m)
	}
	m.fromAPI(&pve.NetworkInterface{Iface: "vlan50", Type: "vlan", VLANRawDevice: "eno4"})
	if m.VLANRawDevice.ValueString() != "eno4" || m.Tag.ValueInt64() != 50 {
		t.Fatalf("vlanN name: %+v", m)
	}
}

func TestMTUWarnings(t *testing.T) {
	cfg := &pve.NetworkConfig{Interfaces: []pve.NetworkInterface{
		{Iface: "eno2", Type: "eth", MTU: 9000},
		{Iface: "eno3", Type: "eth"},
		{Iface: "bond0", Type: "bond", Slaves: "eno2 eno3", MTU: 9000},
		{Iface: "vmbr1", Type: "bridge", BridgePorts: "bond0"},
		{Iface: "vmbr2", Type: "bridge", BridgePorts: "bond0", MTU: 9000},
	}}
	tests := []struct {
		iface string
		warns int
	}{
		{"bond0", 1}, // slaves at 9000 and 1500
		{"vmbr1", 1}, // 1500 bridge on a 9000 bond
		{"vmbr2", 0},
	}
	for _, tt := range tests {
		var diags diag.Diagnostics
		mtuWarnings(cfg, cfg.Interface(tt.iface), &diags)
		if diags.WarningsCount() != tt.warns || diags.HasError() {
			t.Errorf("%s: %d warnings (%v), want %d", tt.iface, diags.WarningsCount(), diags, tt.warns)
		}
	}
}
