package vm

import (
	"context"
	"net/url"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

// cloudInitDrive is the slot of the cloud-init drive.
const cloudInitDrive = "ide3"

// cdromDrive is the slot of the CD-ROM drive (cdrom).
const cdromDrive = "ide2"

type cloudInitModel struct {
	Storage      types.String             `tfsdk:"storage"`
	User         types.String             `tfsdk:"user"`
	Password     types.String             `tfsdk:"password"` // write-only: from the configuration (withConfigPassword)
	PasswordVer  types.Int64              `tfsdk:"password_version"`
	SSHKeys      types.List               `tfsdk:"ssh_keys"`
	IPConfig     map[string]ipConfigModel `tfsdk:"ip_config"`
	Nameserver   types.String             `tfsdk:"nameserver"`
	Searchdomain types.String             `tfsdk:"searchdomain"`
}

type ipConfigModel struct {
	IPv4 types.String `tfsdk:"ipv4"`
	GW   types.String `tfsdk:"gw"`
	IPv6 types.String `tfsdk:"ipv6"`
	GW6  types.String `tfsdk:"gw6"`
}

func cloudInitAttribute() schema.Attribute {
	opt := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Description: desc, Optional: true}
	}
	return schema.SingleNestedAttribute{
		Description: "Cloud-init settings; the cloud-init drive is `" + cloudInitDrive + "`. Changes reach a running VM " +
			"at its next boot.",
		Optional: true,
		Attributes: map[string]schema.Attribute{
			"storage": schema.StringAttribute{Description: "Storage of the cloud-init drive, e.g. `local-lvm`.", Required: true},
			"user":    opt("Default user."),
			"password": schema.StringAttribute{
				Description: "Password of the default user. Write-only (Terraform or OpenTofu 1.11 or later): never stored " +
					"in the state; sent when the cloud-init settings are created and when `password_version` changes. PVE " +
					"keeps only a hash.",
				Optional:  true,
				Sensitive: true,
				WriteOnly: true,
			},
			"password_version": schema.Int64Attribute{
				Description: "Change it (e.g. increment it) to send `password` again, or, with `password` unset, to remove it.",
				Optional:    true,
			},
			"ssh_keys": schema.ListAttribute{
				Description: "SSH public keys of the default user.",
				ElementType: types.StringType,
				Optional:    true,
			},
			"ip_config": schema.MapNestedAttribute{
				Description: "Addresses by NIC slot (`net0`..): `ipv4` is `dhcp` or an address with prefix length.",
				Optional:    true,
				Validators:  []validator.Map{slotKeys{netFamilies}},
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"ipv4": checked(opt("`dhcp` or an IPv4 address with prefix length."), ipConfigValidator{}),
					"gw":   checked(opt("IPv4 gateway (needs `ipv4`)."), ipConfigValidator{gateway: true}, alsoNeeds("ipv4")),
					"ipv6": checked(opt("`dhcp`, `auto` or an IPv6 address with prefix length."), ipConfigValidator{v6: true}),
					"gw6":  checked(opt("IPv6 gateway (needs `ipv6`)."), ipConfigValidator{v6: true, gateway: true}, alsoNeeds("ipv6")),
				}},
			},
			"nameserver":   opt("DNS servers, space-separated. Unset: the node's."),
			"searchdomain": opt("DNS search domain. Unset: the node's."),
		},
	}
}

// values renders the cloud-init keys of ci (nil: none) by PVE key.
func (ci *cloudInitModel) values(ctx context.Context, diags *diag.Diagnostics) map[string]types.String {
	out := map[string]types.String{}
	if ci == nil {
		return out
	}
	out["ciuser"] = ci.User
	out["nameserver"] = ci.Nameserver
	out["searchdomain"] = ci.Searchdomain
	out["sshkeys"] = types.StringNull()
	if !ci.SSHKeys.IsNull() && !ci.SSHKeys.IsUnknown() {
		var keys []string
		diags.Append(ci.SSHKeys.ElementsAs(ctx, &keys, false)...)
		// PVE wants the keys URL-encoded, spaces as %20 (not "+").
		out["sshkeys"] = types.StringValue(strings.ReplaceAll(url.QueryEscape(strings.Join(keys, "\n")), "+", "%20"))
	}
	for slot, ip := range ci.IPConfig {
		p := pve.PropertyString{}
		for _, kv := range []struct {
			k string
			v types.String
		}{{"ip", ip.IPv4}, {"gw", ip.GW}, {"ip6", ip.IPv6}, {"gw6", ip.GW6}} {
			if !kv.v.IsNull() && !kv.v.IsUnknown() {
				p.Set(kv.k, kv.v.ValueString())
			}
		}
		out["ipconfig"+strings.TrimPrefix(slot, "net")] = types.StringValue(p.Format(""))
	}
	return out
}

// cloudInitParams sets the cloud-init keys of m, clearing those that prior
// had and m has not, and adds or removes the drive.
func cloudInitParams(ctx context.Context, m, prior *cloudInitModel, p url.Values, diags *diag.Diagnostics) {
	now, before := m.values(ctx, diags), prior.values(ctx, diags)
	for key, v := range now {
		if !v.IsNull() && !v.IsUnknown() && !v.Equal(before[key]) {
			p.Set(key, v.ValueString())
		}
	}
	for key, v := range before {
		if !v.IsNull() && (now[key].IsNull()) {
			p.Add("delete", key)
		}
	}
	switch {
	case m != nil && prior == nil:
		p.Set(cloudInitDrive, m.Storage.ValueString()+":cloudinit")
	case m == nil && prior != nil:
		p.Add("delete", cloudInitDrive)
	}
	// The password is write-only: sent with new settings, and again only
	// when its version changes.
	if m != nil && (prior == nil || !m.PasswordVer.Equal(prior.PasswordVer)) {
		switch {
		case !m.Password.IsNull() && !m.Password.IsUnknown():
			p.Set("cipassword", m.Password.ValueString())
		case prior != nil:
			p.Add("delete", "cipassword")
		}
	}
}

// withConfigPassword puts the write-only password of the configuration
// into plan (which never holds it).
func withConfigPassword(ctx context.Context, config tfsdk.Config, plan *cloudInitModel, diags *diag.Diagnostics) {
	if plan == nil {
		return
	}
	var pw types.String
	diags.Append(config.GetAttribute(ctx, path.Root("cloud_init").AtName("password"), &pw)...)
	plan.Password = pw
}

// cloudInitFromAPI reads the cloud-init settings; the password is kept
// from prior, since PVE shows it masked.
func cloudInitFromAPI(cfg *pve.GuestConfig, prior *cloudInitModel) (*cloudInitModel, error) {
	drive := cfg.Values[cloudInitDrive]
	if !strings.Contains(drive, "cloudinit") {
		return nil, nil
	}
	p, err := pve.ParsePropertyString(drive, "file")
	if err != nil {
		return nil, err
	}
	storage, _, _ := strings.Cut(p.Value("file"), ":")
	str := func(key string) types.String {
		if v := cfg.Values[key]; v != "" {
			return types.StringValue(v)
		}
		return types.StringNull()
	}
	ci := &cloudInitModel{
		Storage: types.StringValue(storage), User: str("ciuser"), Password: types.StringNull(),
		SSHKeys: types.ListNull(types.StringType), Nameserver: str("nameserver"), Searchdomain: str("searchdomain"),
	}
	if prior != nil {
		ci.PasswordVer = prior.PasswordVer
	} else {
		ci.PasswordVer = types.Int64Null()
	}
	if enc := cfg.Values["sshkeys"]; enc != "" {
		text, err := url.QueryUnescape(enc)
		if err != nil {
			return nil, err
		}
		var keys []string
		for _, k := range strings.Split(text, "\n") {
			if k = strings.TrimSpace(k); k != "" {
				keys = append(keys, k)
			}
		}
		ci.SSHKeys, _ = types.ListValueFrom(context.Background(), types.StringType, keys)
	}
	for key, value := range cfg.Values {
		slot, ok := strings.CutPrefix(key, "ipconfig")
		if !ok {
			continue
		}
		ip, err := pve.ParsePropertyString(value, "")
		if err != nil {
			return nil, err
		}
		opt := func(k string) types.String {
			if v := ip.Value(k); v != "" {
				return types.StringValue(v)
			}
			return types.StringNull()
		}
		if ci.IPConfig == nil {
			ci.IPConfig = map[string]ipConfigModel{}
		}
		ci.IPConfig["net"+slot] = ipConfigModel{IPv4: opt("ip"), GW: opt("gw"), IPv6: opt("ip6"), GW6: opt("gw6")}
	}
	return ci, nil
}
