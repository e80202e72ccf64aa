package network_test

import (
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/hcilab/terraform-provider-pve/internal/acctest"
)

func TestAccNetworkVLAN_basic(t *testing.T) {
	const dotted, named = "pve_network_vlan.dotted", "pve_network_vlan.named"
	config := func(comment string) string {
		return lines(
			`resource "pve_network_vlan" "dotted" {`,
			`  node      = "pve1"`,
			`  name      = "eno4.40"`,
			`  cidr      = "10.40.0.11/24"`,
			`  autostart = true`,
			comment,
			`}`,
			`resource "pve_network_vlan" "named" {`,
			`  node            = "pve1"`,
			`  name            = "vlan50"`,
			`  vlan_raw_device = "eno4"`,
			`  autostart       = true`,
			`}`)
	}
	acctest.TestOutOfProcess(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkDestroyed(t, "pve_network_vlan"),
		Steps: []resource.TestStep{
			{
				Config: config(""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(dotted, tfjsonpath.New("vlan_raw_device"), knownvalue.StringExact("eno4")),
					statecheck.ExpectKnownValue(dotted, tfjsonpath.New("tag"), knownvalue.Int64Exact(40)),
					statecheck.ExpectKnownValue(named, tfjsonpath.New("tag"), knownvalue.Int64Exact(50)),
				},
			},
			{
				// Settled by the refresh: both are up, nothing is left to do.
				Config: config(""),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(dotted, tfjsonpath.New("active"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(named, tfjsonpath.New("active"), knownvalue.Bool(true)),
				},
			},
			{ResourceName: dotted, ImportState: true, ImportStateId: "pve1:eno4.40", ImportStateVerify: true},
			{ResourceName: named, ImportState: true, ImportStateId: "pve1:vlan50", ImportStateVerify: true},
			{
				Config: config(`comment = "ceph public"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(dotted, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(dotted, tfjsonpath.New("comment"), knownvalue.StringExact("ceph public")),
				},
			},
		},
	})
}

func TestAccNetworkVLAN_badInput(t *testing.T) {
	tests := []struct {
		name, body string
		want       *regexp.Regexp
	}{
		{"vlanN without raw device", `name = "vlan60"`, regexp.MustCompile(`(?s)Missing VLAN Raw Device.*vlan_raw_device`)},
		{"tag differs from name", `name = "eno4.60"` + "\n" + `tag = 61`, regexp.MustCompile(`(?s)VLAN Tag Differs From Its Name`)},
		{"bad name", `name = "eno4"`, regexp.MustCompile(`(?s)Invalid Attribute Value.*VLAN interface name`)},
		{"tag out of range", `name = "eno4.5000"`, regexp.MustCompile(`(?s)outside 1\.\.4094`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acctest.ExpectPlanError(t, "resource \"pve_network_vlan\" \"test\" {\nnode = \"pve1\"\n"+tt.body+"\n}\n", tt.want)
		})
	}
}

func TestAccNetworkVLAN_disappears(t *testing.T) {
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkDestroyed(t, "pve_network_vlan"),
		Steps: []resource.TestStep{{
			Config: lines(
				`resource "pve_network_vlan" "test" {`,
				`  node      = "pve3"`,
				`  name      = "eno2.70"`,
				`  autostart = true`,
				`}`),
			Check:              deleteOutOfBand(t, "pve3", "eno2.70"),
			ExpectNonEmptyPlan: true,
		}},
	})
}
