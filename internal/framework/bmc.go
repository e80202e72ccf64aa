package framework

import (
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	dsschema "github.com/hashicorp/terraform-plugin-framework/datasource/schema"

	"github.com/hcilab/terraform-provider-pve/internal/redfish"
)

// BMCDefaults are the provider's bmc {} settings (with their BMC_*
// environment variables): what every BMC block falls back to.
type BMCDefaults struct {
	Username, Password, CACertificate string
	Insecure                          bool
}

// BMCModel is the bmc block of every pve_bmc_* type.
type BMCModel struct {
	Endpoint      types.String `tfsdk:"endpoint"`
	Username      types.String `tfsdk:"username"`
	Password      types.String `tfsdk:"password"`
	Insecure      types.Bool   `tfsdk:"insecure"`
	CACertificate types.String `tfsdk:"ca_certificate"`
}

const bmcBlockDescription = "The server's BMC (Redfish). Credentials and TLS settings left unset come from the provider's `bmc {}` block."

func bmcAttributes() (endpoint, username, password, insecure, ca string) {
	return "BMC address, e.g. `https://10.0.0.101`.",
		"BMC user. Unset: the provider's `bmc.username` (`BMC_USERNAME`).",
		"BMC password. Unset: the provider's `bmc.password` (`BMC_PASSWORD`). Set here it is kept in the state (sensitive), " +
			"not write-only: refreshing and destroying need it, and Terraform sends no configuration then. To keep it out of " +
			"the state, set it only in the provider's `bmc` block or `BMC_PASSWORD`.",
		"Skip verifying the BMC's certificate (really: no verification at all). Unset: the provider's `bmc.insecure`.",
		"PEM bundle of the CA that signed the BMC's certificate. Unset: the provider's `bmc.ca_certificate`."
}

// BMCAttribute is the bmc block of a resource.
func BMCAttribute() schema.SingleNestedAttribute {
	e, u, p, i, c := bmcAttributes()
	return schema.SingleNestedAttribute{
		Description: bmcBlockDescription,
		Required:    true,
		Attributes: map[string]schema.Attribute{
			"endpoint":       schema.StringAttribute{Description: e, Required: true},
			"username":       schema.StringAttribute{Description: u, Optional: true},
			"password":       schema.StringAttribute{Description: p, Optional: true, Sensitive: true},
			"insecure":       schema.BoolAttribute{Description: i, Optional: true},
			"ca_certificate": schema.StringAttribute{Description: c, Optional: true},
		},
	}
}

// BMCDataSourceAttribute is the bmc block of a data source.
func BMCDataSourceAttribute() dsschema.SingleNestedAttribute {
	e, u, p, i, c := bmcAttributes()
	return dsschema.SingleNestedAttribute{
		Description: bmcBlockDescription,
		Required:    true,
		Attributes: map[string]dsschema.Attribute{
			"endpoint":       dsschema.StringAttribute{Description: e, Required: true},
			"username":       dsschema.StringAttribute{Description: u, Optional: true},
			"password":       dsschema.StringAttribute{Description: p, Optional: true, Sensitive: true},
			"insecure":       dsschema.BoolAttribute{Description: i, Optional: true},
			"ca_certificate": dsschema.StringAttribute{Description: c, Optional: true},
		},
	}
}

// BMCClient makes the Redfish client of a bmc block, filling what it
// leaves unset from the provider's defaults.
func (d *ProviderData) BMCClient(m *BMCModel) (*redfish.Client, error) {
	if m == nil {
		return nil, fmt.Errorf("no bmc block")
	}
	var def BMCDefaults
	if d != nil {
		def = d.BMC
	}
	cfg := redfish.Config{
		Endpoint:      m.Endpoint.ValueString(),
		Username:      def.Username,
		Password:      def.Password,
		Insecure:      def.Insecure,
		CACertificate: def.CACertificate,
	}
	if !m.Username.IsNull() && !m.Username.IsUnknown() {
		cfg.Username = m.Username.ValueString()
	}
	if !m.Password.IsNull() && !m.Password.IsUnknown() {
		cfg.Password = m.Password.ValueString()
	}
	if !m.Insecure.IsNull() && !m.Insecure.IsUnknown() {
		cfg.Insecure = m.Insecure.ValueBool()
	}
	if !m.CACertificate.IsNull() && !m.CACertificate.IsUnknown() {
		cfg.CACertificate = m.CACertificate.ValueString()
	}
	if cfg.Username == "" {
		return nil, fmt.Errorf("BMC %s: no user name: set bmc.username here or in the provider's bmc block (or BMC_USERNAME)", cfg.Endpoint)
	}
	return redfish.New(cfg)
}
