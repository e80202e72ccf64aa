package network

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"

	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/hcilab/terraform-provider-pve/internal/framework"
	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

var (
	_ resource.ResourceWithImportState    = (*ifaceResource[bondModel, *bondModel])(nil)
	_ resource.ResourceWithValidateConfig = (*ifaceResource[bondModel, *bondModel])(nil)
	_ resource.ResourceWithModifyPlan     = (*ifaceResource[bondModel, *bondModel])(nil)
)

// Bond modes and transmit hash policies PVE's API accepts for Linux bonds.
const (
	modeBalanceRR    = "balance-rr"
	modeActiveBackup = "active-backup"
	modeBalanceXOR   = "balance-xor"
	modeBroadcast    = "broadcast"
	modeLACP         = "802.3ad"
	modeBalanceTLB   = "balance-tlb"
	modeBalanceALB   = "balance-alb"

	hashLayer2  = "layer2"
	hashLayer23 = "layer2+3"
	hashLayer34 = "layer3+4"
)

var (
	bondModes    = []string{modeBalanceRR, modeActiveBackup, modeBalanceXOR, modeBroadcast, modeLACP, modeBalanceTLB, modeBalanceALB}
	hashPolicies = []string{hashLayer2, hashLayer23, hashLayer34}
	// Modes that hash traffic onto slaves.
	hashingModes = []string{modeLACP, modeBalanceXOR}
)

// NewBondResource returns the pve_network_bond resource.
func NewBondResource() resource.Resource {
	attrs := ifaceAttributes("bond", "Bond name, `bondN`.", checkBondName)
	readOnly := func(desc string) schema.Int64Attribute {
		return schema.Int64Attribute{Description: desc, Computed: true}
	}
	maps.Copy(attrs, map[string]schema.Attribute{
		"slaves": schema.ListAttribute{
			Description: "NICs bonded together, e.g. `[\"eno2\", \"eno3\"]`. A NIC can be a slave of one bond only, " +
				"and not at the same time a bridge port.",
			ElementType: types.StringType,
			Required:    true,
			Validators: []validator.List{
				listvalidator.SizeAtLeast(1),
				listvalidator.UniqueValues(),
				listvalidator.ValueStringsAre(framework.StringCheck("must be an interface name", checkIfaceName)),
			},
		},
		"mode": schema.StringAttribute{
			Description: "Bonding mode: " + quoted(bondModes) + ". `802.3ad` is LACP and needs matching switch ports.",
			Required:    true,
			Validators:  []validator.String{stringvalidator.OneOf(bondModes...)},
		},
		"xmit_hash_policy": schema.StringAttribute{
			Description: "Transmit hash policy, only with `802.3ad` and `balance-xor`: " + quoted(hashPolicies) +
				" (the policies PVE's API accepts). Unset: as PVE sets it.",
			Optional:   true,
			Computed:   true,
			Validators: []validator.String{stringvalidator.OneOf(hashPolicies...)},
		},
		"primary": schema.StringAttribute{
			Description: "Preferred slave of an `active-backup` bond; must be one of `slaves`.",
			Optional:    true,
			Validators:  []validator.String{framework.StringCheck("must be an interface name", checkIfaceName)},
		},
		"miimon": readOnly("MII link monitoring interval in milliseconds, as the node has it. PVE writes 100 for " +
			"every bond and its API cannot change it."),
		"lacp_rate": schema.StringAttribute{
			Description: "LACP rate (`slow` or `fast`) when the node's configuration sets `bond-lacp-rate` by hand; " +
				"PVE's API cannot set it, so it is read-only here (null when not set: the kernel's `slow`).",
			Computed: true,
		},
		"updelay": readOnly("`bond-updelay` in milliseconds when the node's configuration sets it by hand; read-only, " +
			"PVE's API cannot set it."),
		"downdelay": readOnly("`bond-downdelay` in milliseconds when the node's configuration sets it by hand; " +
			"read-only, PVE's API cannot set it."),
	})
	return &ifaceResource[bondModel, *bondModel]{kind: kind{
		typeSuffix: "network_bond",
		title:      "Linux Bond",
		pveType:    "bond",
		description: "A Linux bond on a PVE node (`bondN`): LACP (`802.3ad`) or another mode over several NICs, " +
			"typically the port of a bridge. " + stagingDescription + " Import with `<node>:<name>`, e.g. `pve1:bond0`.",
		attributes: attrs,
	}}
}

type bondModel struct {
	ifaceModel
	Slaves         types.List   `tfsdk:"slaves"`
	Mode           types.String `tfsdk:"mode"`
	XmitHashPolicy types.String `tfsdk:"xmit_hash_policy"`
	Primary        types.String `tfsdk:"primary"`
	Miimon         types.Int64  `tfsdk:"miimon"`
	LACPRate       types.String `tfsdk:"lacp_rate"`
	Updelay        types.Int64  `tfsdk:"updelay"`
	Downdelay      types.Int64  `tfsdk:"downdelay"`
}

func (m *bondModel) common() *ifaceModel { return &m.ifaceModel }

func (m *bondModel) params(ctx context.Context, p url.Values, prior model, diags *diag.Diagnostics) {
	p.Set("slaves", listText(ctx, m.Slaves, diags))
	p.Set("bond_mode", m.Mode.ValueString())
	var before *bondModel
	if prior != nil {
		before = prior.(*bondModel)
	}
	if !m.XmitHashPolicy.IsNull() && !m.XmitHashPolicy.IsUnknown() {
		p.Set("bond_xmit_hash_policy", m.XmitHashPolicy.ValueString())
	} else if before != nil && !before.XmitHashPolicy.IsNull() && !slices.Contains(hashingModes, m.Mode.ValueString()) {
		// A policy left over from a hashing mode would stay in the file.
		p.Add("delete", "bond_xmit_hash_policy")
	}
	if !m.Primary.IsNull() {
		p.Set("bond-primary", m.Primary.ValueString())
	} else if before != nil && !before.Primary.IsNull() {
		p.Add("delete", "bond-primary")
	}
}

func (m *bondModel) fromAPI(n *pve.NetworkInterface) {
	m.Slaves = listFromAPI(pve.SplitList(n.Slaves), m.Slaves)
	m.Mode = optString(n.BondMode)
	m.XmitHashPolicy = optString(n.BondXmitHashPolicy)
	m.Primary = optString(n.BondPrimary)
	m.Miimon = optInt(n.BondMiimon)
	m.LACPRate = types.StringNull()
	if v, ok := n.Option("bond-lacp-rate"); ok {
		m.LACPRate = types.StringValue(lacpRateName(v))
	}
	m.Updelay = optionInt(n, "bond-updelay")
	m.Downdelay = optionInt(n, "bond-downdelay")
}

// lacpRateName names the rate as ifupdown2 accepts it (1/fast, 0/slow).
func lacpRateName(v string) string {
	switch v {
	case "1", "fast":
		return "fast"
	case "0", "slow":
		return "slow"
	}
	return v
}

func optionInt(n *pve.NetworkInterface, key string) types.Int64 {
	v, ok := n.Option(key)
	if !ok {
		return types.Int64Null()
	}
	i, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return types.Int64Null()
	}
	return types.Int64Value(i)
}

func (m *bondModel) validate(diags *diag.Diagnostics) {
	if m.Mode.IsUnknown() {
		return
	}
	mode := m.Mode.ValueString()
	if !m.XmitHashPolicy.IsNull() && !m.XmitHashPolicy.IsUnknown() && !slices.Contains(hashingModes, mode) {
		diags.AddAttributeError(path.Root("xmit_hash_policy"), "Transmit Hash Policy Needs a Hashing Mode",
			fmt.Sprintf("xmit_hash_policy applies only to the modes 802.3ad and balance-xor, not to %s", mode))
	}
	if !m.Primary.IsNull() && !m.Primary.IsUnknown() {
		if mode != modeActiveBackup {
			diags.AddAttributeError(path.Root("primary"), "Primary Slave Needs Active-Backup",
				fmt.Sprintf("primary applies only to the mode active-backup, not to %s", mode))
		} else if !m.Slaves.IsUnknown() {
			var slaves []string
			for _, e := range m.Slaves.Elements() {
				if s, ok := e.(types.String); ok {
					slaves = append(slaves, s.ValueString())
				}
			}
			if !slices.Contains(slaves, m.Primary.ValueString()) {
				diags.AddAttributeError(path.Root("primary"), "Primary Is Not a Slave",
					fmt.Sprintf("primary %s is not one of the bond's slaves %v", m.Primary.ValueString(), slaves))
			}
		}
	}
}

func quoted(items []string) string {
	out := ""
	for i, s := range items {
		if i > 0 {
			out += ", "
		}
		out += "`" + s + "`"
	}
	return out
}
