// Package provider wires the pve provider together: its schema, its
// configuration of the backend clients, and the registry of its types.
package provider

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/function"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/hcilab/terraform-provider-pve/internal/framework"
	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

var (
	_ provider.Provider              = (*pveProvider)(nil)
	_ provider.ProviderWithFunctions = (*pveProvider)(nil)
)

// New returns a constructor for the provider at the given version.
func New(version string) func() provider.Provider {
	return func() provider.Provider {
		return &pveProvider{version: version, run: pve.NewNetworkRun()}
	}
}

type pveProvider struct {
	version string
	// run scopes the network edits of this provider instance: one CLI
	// command (see pve.NetworkRun).
	run *pve.NetworkRun
}

type providerModel struct {
	Endpoint       types.String `tfsdk:"endpoint"`
	APIToken       types.String `tfsdk:"api_token"`
	Username       types.String `tfsdk:"username"`
	Password       types.String `tfsdk:"password"`
	OTP            types.String `tfsdk:"otp"`
	Insecure       types.Bool   `tfsdk:"insecure"`
	CACertificate  types.String `tfsdk:"ca_certificate"`
	TLSFingerprint types.String `tfsdk:"tls_fingerprint"`
	Timeout        types.String `tfsdk:"timeout"`
	PBS            *pbsModel    `tfsdk:"pbs"`
	Ceph           *cephModel   `tfsdk:"ceph"`
	BMC            *bmcModel    `tfsdk:"bmc"`
}

func (p *pveProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "pve"
	resp.Version = p.version
}

func (p *pveProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "Builds a hyper-converged Proxmox data centre: BMCs over Redfish, PVE nodes and their network, " +
			"the cluster, guests, PCI mappings, Ceph and Proxmox Backup Server. Every backend is optional and is " +
			"checked only when a type that needs it is used.",
		Attributes: map[string]schema.Attribute{
			"endpoint": schema.StringAttribute{
				Description: "URL of the PVE API, e.g. `https://pve1.example.com:8006` (a trailing `/api2/json` is accepted). " +
					"Credentials never go in the URL, and redirects are never followed. An `http://` endpoint sends the " +
					"credentials unencrypted and needs `insecure = true`. Environment: `PVE_ENDPOINT`.",
				Optional:   true,
				Validators: []validator.String{framework.StringCheck("must be an absolute http(s) URL", pve.CheckEndpoint)},
			},
			"api_token": schema.StringAttribute{
				Description: "PVE API token as `user@realm!tokenid=secret`. Conflicts with `username`. Environment: `PVE_API_TOKEN`.",
				Optional:    true,
				Sensitive:   true,
				Validators: []validator.String{
					framework.StringCheck("must be user@realm!tokenid=secret", pve.CheckAPIToken),
					stringvalidator.ConflictsWith(path.MatchRoot("username"), path.MatchRoot("password")),
				},
			},
			"username": schema.StringAttribute{
				Description: "PVE user with realm, e.g. `root@pam`, for ticket authentication (with `password`). " +
					"Environment: `PVE_USERNAME`.",
				Optional:   true,
				Validators: []validator.String{stringvalidator.AlsoRequires(path.MatchRoot("password"))},
			},
			"password": schema.StringAttribute{
				Description: "Password of `username`. Environment: `PVE_PASSWORD`.",
				Optional:    true,
				Sensitive:   true,
				Validators:  []validator.String{stringvalidator.AlsoRequires(path.MatchRoot("username"))},
			},
			"otp": schema.StringAttribute{
				Description: "One-time password (TOTP) for a user with two-factor authentication. Environment: `PVE_OTP`.",
				Optional:    true,
				Sensitive:   true,
			},
			"insecure": schema.BoolAttribute{
				Description: "Skip TLS certificate verification, and accept an `http://` endpoint. Verification is on by " +
					"default; prefer `ca_certificate` or `tls_fingerprint`. Setting it together with `ca_certificate` is an " +
					"error. Environment: `PVE_INSECURE`.",
				Optional: true,
			},
			"ca_certificate": schema.StringAttribute{
				Description: "PEM bundle of the CA(s) that signed the PVE certificate. Environment: `PVE_CA_CERTIFICATE`.",
				Optional:    true,
			},
			"tls_fingerprint": schema.StringAttribute{
				Description: "SHA-256 fingerprint of the PVE server certificate, as PVE shows it (`AB:CD:...`; colons and case " +
					"are optional). When set, the certificate is pinned to it. Environment: `PVE_TLS_FINGERPRINT`.",
				Optional:   true,
				Validators: []validator.String{framework.StringCheck("must be a SHA-256 fingerprint", pve.CheckFingerprint)},
			},
			"timeout": schema.StringAttribute{
				Description: "Timeout of one HTTP request to PVE as a Go duration (`30s`, `2m`); the default is `30s`. " +
					"Long operations wait on their task instead and follow the `timeouts` of each resource. " +
					"Environment: `PVE_TIMEOUT`.",
				Optional:   true,
				Validators: []validator.String{framework.StringCheck("must be a positive duration", checkDuration)},
			},
		},
		Blocks: map[string]schema.Block{
			"pbs":  pbsBlock(),
			"ceph": cephBlock(),
			"bmc":  bmcBlock(),
		},
	}
}

func checkDuration(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("invalid duration %q: %w", s, err)
	}
	if d <= 0 {
		return fmt.Errorf("duration %q must be positive", s)
	}
	return nil
}

func (p *pveProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var m providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	data := &framework.ProviderData{}
	data.PVE, data.PVEConfig = configurePVE(ctx, m, p.run, &resp.Diagnostics)
	data.BMC = bmcDefaults(m.BMC)
	data.Ceph = cephBackend(m.Ceph)
	data.PBS = pbsBackend(m.PBS, &resp.Diagnostics)
	resp.DataSourceData = data
	resp.ResourceData = data
	resp.EphemeralResourceData = data
}

// configurePVE builds the PVE backend from the configuration and the
// environment, and connects it now so that wrong credentials fail here.
func configurePVE(ctx context.Context, m providerModel, run *pve.NetworkRun, diags *diag.Diagnostics) (*framework.Backend[*pve.Client], *pve.Config) {
	const missing = `set "endpoint" in the provider "pve" block or the PVE_ENDPOINT environment variable`
	for _, v := range []types.String{m.Endpoint, m.APIToken, m.Username, m.Password, m.OTP, m.CACertificate, m.TLSFingerprint, m.Timeout} {
		if v.IsUnknown() {
			return framework.NewBackend("PVE", func(context.Context) (*pve.Client, error) {
				return nil, errors.New("the PVE settings of the provider depend on values that are not known yet")
			}, func(error) bool { return true }), nil
		}
	}
	endpoint := framework.StringOrEnv(m.Endpoint, "PVE_ENDPOINT")
	if endpoint == "" {
		return framework.MissingBackend[*pve.Client]("PVE", missing), nil
	}
	cfg := pve.Config{
		Endpoint:       endpoint,
		APIToken:       framework.StringOrEnv(m.APIToken, "PVE_API_TOKEN"),
		Username:       framework.StringOrEnv(m.Username, "PVE_USERNAME"),
		Password:       framework.StringOrEnv(m.Password, "PVE_PASSWORD"),
		OTP:            framework.StringOrEnv(m.OTP, "PVE_OTP"),
		Insecure:       framework.BoolOrEnv(m.Insecure, "PVE_INSECURE"),
		CACertificate:  framework.StringOrEnv(m.CACertificate, "PVE_CA_CERTIFICATE"),
		TLSFingerprint: framework.StringOrEnv(m.TLSFingerprint, "PVE_TLS_FINGERPRINT"),
		UserAgent:      "terraform-provider-pve",
		NetworkRun:     run,
	}
	// One way to authenticate: the configuration wins over the environment,
	// and where both ways come from the environment, the token wins.
	if !m.Username.IsNull() && m.APIToken.IsNull() {
		cfg.APIToken = ""
	} else if cfg.APIToken != "" {
		cfg.Username, cfg.Password, cfg.OTP = "", "", ""
	}
	if t := framework.StringOrEnv(m.Timeout, "PVE_TIMEOUT"); t != "" {
		if err := checkDuration(t); err != nil {
			diags.AddAttributeError(path.Root("timeout"), "Invalid PVE Timeout", err.Error())
			return framework.MissingBackend[*pve.Client]("PVE", "its settings are invalid"), nil
		}
		cfg.Timeout, _ = time.ParseDuration(t)
	}
	if err := cfg.Validate(); err != nil {
		diags.AddError("Invalid PVE Provider Configuration", err.Error())
		return framework.MissingBackend[*pve.Client]("PVE", "its settings are invalid"), nil
	}
	backend := framework.NewBackend("PVE", func(ctx context.Context) (*pve.Client, error) {
		return pve.New(ctx, cfg)
	}, pve.IsUnreachable)
	if _, err := backend.Client(ctx); err != nil {
		if !pve.IsUnreachable(err) {
			diags.AddError("Unable to Connect to PVE", err.Error())
		} else {
			// Not final: the node may be one this apply installs. The
			// first type that needs PVE connects again and reports it.
			tflog.Info(ctx, "PVE is not reachable yet; connecting again on first use", map[string]any{"error": err.Error()})
		}
	}
	return backend, &cfg
}

func (p *pveProvider) Resources(context.Context) []func() resource.Resource {
	return resources()
}

func (p *pveProvider) DataSources(context.Context) []func() datasource.DataSource {
	return dataSources()
}

func (p *pveProvider) Functions(context.Context) []func() function.Function {
	return functions()
}
