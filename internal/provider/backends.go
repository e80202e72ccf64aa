package provider

import (
	"context"
	"errors"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/hcilab/terraform-provider-pve/internal/ceph"
	"github.com/hcilab/terraform-provider-pve/internal/framework"
	"github.com/hcilab/terraform-provider-pve/internal/pbs"
)

// sibling is the attribute name of the same block.
func sibling(name string) path.Expression { return path.MatchRelative().AtParent().AtName(name) }

// The pbs, ceph and bmc blocks: each backend's settings, with their
// environment fallbacks.

type pbsModel struct {
	Endpoint       types.String `tfsdk:"endpoint"`
	APIToken       types.String `tfsdk:"api_token"`
	Username       types.String `tfsdk:"username"`
	Password       types.String `tfsdk:"password"`
	Insecure       types.Bool   `tfsdk:"insecure"`
	CACertificate  types.String `tfsdk:"ca_certificate"`
	TLSFingerprint types.String `tfsdk:"tls_fingerprint"`
}

func pbsBlock() schema.Block {
	return schema.SingleNestedBlock{
		Description: "Proxmox Backup Server connection, used by the `pve_pbs_*` types.",
		Attributes: map[string]schema.Attribute{
			"endpoint": schema.StringAttribute{
				Description: "URL of the PBS API, e.g. `https://pbs.example.com:8007`. An `http://` endpoint needs " +
					"`insecure = true`. Environment: `PBS_ENDPOINT`.",
				Optional:   true,
				Validators: []validator.String{framework.StringCheck("must be an absolute http(s) URL", pbs.CheckEndpoint)},
			},
			"api_token": schema.StringAttribute{
				Description: "PBS API token as `user@realm!tokenid:secret`. Conflicts with `username`. Environment: `PBS_API_TOKEN`.",
				Optional:    true,
				Sensitive:   true,
				Validators: []validator.String{
					framework.StringCheck("must be user@realm!tokenid:secret", pbs.CheckAPIToken),
					stringvalidator.ConflictsWith(sibling("username"), sibling("password")),
				},
			},
			"username": schema.StringAttribute{
				Description: "PBS user with realm, e.g. `root@pam`, for ticket authentication (with `password`). Environment: `PBS_USERNAME`.",
				Optional:    true,
				Validators: []validator.String{
					framework.StringCheck("must be user@realm", pbs.CheckUsername),
					stringvalidator.AlsoRequires(sibling("password")),
				},
			},
			"password": schema.StringAttribute{
				Description: "Password of `username`. Environment: `PBS_PASSWORD`.",
				Optional:    true,
				Sensitive:   true,
				Validators:  []validator.String{stringvalidator.AlsoRequires(sibling("username"))},
			},
			"insecure": schema.BoolAttribute{
				Description: "Skip TLS certificate verification, and accept an `http://` endpoint. Setting it together " +
					"with `ca_certificate` is an error. Environment: `PBS_INSECURE`.",
				Optional: true,
			},
			"ca_certificate": schema.StringAttribute{
				Description: "PEM bundle of the CA(s) that signed the PBS certificate. Environment: `PBS_CA_CERTIFICATE`.",
				Optional:    true,
				Validators:  []validator.String{framework.StringCheck("must be a PEM bundle of certificates", pbs.CheckCACertificate)},
			},
			"tls_fingerprint": schema.StringAttribute{
				Description: "SHA-256 fingerprint of the PBS server certificate. Environment: `PBS_TLS_FINGERPRINT`.",
				Optional:    true,
				Validators:  []validator.String{framework.StringCheck("must be a SHA-256 fingerprint", pbs.CheckFingerprint)},
			},
		},
	}
}

type cephModel struct {
	MonHost     types.String `tfsdk:"mon_host"`
	User        types.String `tfsdk:"user"`
	Key         types.String `tfsdk:"key"`
	KeyringFile types.String `tfsdk:"keyring_file"`
	ConfigFile  types.String `tfsdk:"config_file"`
}

func cephBlock() schema.Block {
	return schema.SingleNestedBlock{
		Description: "Direct Ceph (librados) connection, used by the `pve_ceph_*` types in the `ceph` build. " +
			"Without it, pools are managed through the PVE API.",
		Attributes: map[string]schema.Attribute{
			"mon_host": schema.StringAttribute{
				Description: "Monitor addresses, as in ceph.conf's `mon_host`. Environment: `CEPH_MON_HOST`.",
				Optional:    true,
			},
			"user": schema.StringAttribute{
				Description: "Ceph client name without the `client.` prefix, e.g. `admin`. Environment: `CEPH_USER`.",
				Optional:    true,
			},
			"key": schema.StringAttribute{
				Description: "The client's secret key. Conflicts with `keyring_file`. Environment: `CEPH_KEY`.",
				Optional:    true,
				Sensitive:   true,
			},
			"keyring_file": schema.StringAttribute{
				Description: "Path of a keyring file holding the client's key. Environment: `CEPH_KEYRING_FILE`.",
				Optional:    true,
			},
			"config_file": schema.StringAttribute{
				Description: "Path of a ceph.conf to read. Environment: `CEPH_CONFIG_FILE`.",
				Optional:    true,
			},
		},
	}
}

type bmcModel struct {
	Username      types.String `tfsdk:"username"`
	Password      types.String `tfsdk:"password"`
	Insecure      types.Bool   `tfsdk:"insecure"`
	CACertificate types.String `tfsdk:"ca_certificate"`
}

func bmcBlock() schema.Block {
	return schema.SingleNestedBlock{
		Description: "Defaults for every BMC (Redfish) the `pve_bmc_*` types talk to, so a rack of servers needs only " +
			"their endpoints.",
		Attributes: map[string]schema.Attribute{
			"username": schema.StringAttribute{
				Description: "Default BMC user. Environment: `BMC_USERNAME`.",
				Optional:    true,
			},
			"password": schema.StringAttribute{
				Description: "Default BMC password. Environment: `BMC_PASSWORD`.",
				Optional:    true,
				Sensitive:   true,
			},
			"insecure": schema.BoolAttribute{
				Description: "Skip TLS verification of BMC certificates by default (many BMCs ship self-signed ones). " +
					"Environment: `BMC_INSECURE`.",
				Optional: true,
			},
			"ca_certificate": schema.StringAttribute{
				Description: "PEM bundle of the CA(s) that signed the BMC certificates. Environment: `BMC_CA_CERTIFICATE`.",
				Optional:    true,
			},
		},
	}
}

// bmcDefaults are the provider's BMC defaults: the bmc block, else the
// BMC_* environment.
func bmcDefaults(m *bmcModel) framework.BMCDefaults {
	if m == nil {
		m = &bmcModel{Username: types.StringNull(), Password: types.StringNull(), Insecure: types.BoolNull(), CACertificate: types.StringNull()}
	}
	return framework.BMCDefaults{
		Username:      framework.StringOrEnv(m.Username, "BMC_USERNAME"),
		Password:      framework.StringOrEnv(m.Password, "BMC_PASSWORD"),
		Insecure:      framework.BoolOrEnv(m.Insecure, "BMC_INSECURE"),
		CACertificate: framework.StringOrEnv(m.CACertificate, "BMC_CA_CERTIFICATE"),
	}
}

// cephBackend is the librados connection of the ceph {} block (or the
// CEPH_* environment): connected on first use.
// pbsBackend builds the PBS backend from the pbs {} block and the PBS_*
// variables; it connects (and logs in) on first use.
func pbsBackend(m *pbsModel, diags *diag.Diagnostics) *framework.Backend[*pbs.Client] {
	if m == nil {
		m = &pbsModel{Endpoint: types.StringNull(), APIToken: types.StringNull(), Username: types.StringNull(),
			Password: types.StringNull(), Insecure: types.BoolNull(), CACertificate: types.StringNull(), TLSFingerprint: types.StringNull()}
	}
	for _, v := range []types.String{m.Endpoint, m.APIToken, m.Username, m.Password, m.CACertificate, m.TLSFingerprint} {
		if v.IsUnknown() {
			return framework.NewBackend("PBS", func(context.Context) (*pbs.Client, error) {
				return nil, errors.New("the PBS settings of the provider depend on values that are not known yet")
			}, func(error) bool { return true })
		}
	}
	cfg := pbs.Config{
		Endpoint:       framework.StringOrEnv(m.Endpoint, "PBS_ENDPOINT"),
		APIToken:       framework.StringOrEnv(m.APIToken, "PBS_API_TOKEN"),
		Username:       framework.StringOrEnv(m.Username, "PBS_USERNAME"),
		Password:       framework.StringOrEnv(m.Password, "PBS_PASSWORD"),
		Insecure:       framework.BoolOrEnv(m.Insecure, "PBS_INSECURE"),
		CACertificate:  framework.StringOrEnv(m.CACertificate, "PBS_CA_CERTIFICATE"),
		TLSFingerprint: framework.StringOrEnv(m.TLSFingerprint, "PBS_TLS_FINGERPRINT"),
		UserAgent:      "terraform-provider-pve",
	}
	if cfg.Endpoint == "" {
		return framework.MissingBackend[*pbs.Client]("PBS", `set endpoint in the provider's pbs {} block, or PBS_ENDPOINT`)
	}
	// One way to authenticate: the configuration wins over the
	// environment, and where both come from the environment, the token.
	if !m.Username.IsNull() && m.APIToken.IsNull() {
		cfg.APIToken = ""
	} else if cfg.APIToken != "" {
		cfg.Username, cfg.Password = "", ""
	}
	if err := cfg.Validate(); err != nil {
		diags.AddAttributeError(path.Root("pbs"), "Invalid PBS Provider Configuration", err.Error())
		return framework.MissingBackend[*pbs.Client]("PBS", "its settings are invalid")
	}
	return framework.NewBackend("PBS", func(ctx context.Context) (*pbs.Client, error) {
		return pbs.New(ctx, cfg)
	}, func(err error) bool { return errors.Is(err, pbs.ErrUnreachable) || errors.Is(err, pbs.ErrTransient) })
}

func cephBackend(m *cephModel) *framework.Backend[*ceph.Client] {
	if m == nil {
		m = &cephModel{MonHost: types.StringNull(), User: types.StringNull(), Key: types.StringNull(),
			KeyringFile: types.StringNull(), ConfigFile: types.StringNull()}
	}
	cfg := ceph.Config{
		MonHost:     framework.StringOrEnv(m.MonHost, "CEPH_MON_HOST"),
		User:        framework.StringOrEnv(m.User, "CEPH_USER"),
		Key:         framework.StringOrEnv(m.Key, "CEPH_KEY"),
		KeyringFile: framework.StringOrEnv(m.KeyringFile, "CEPH_KEYRING_FILE"),
		ConfigFile:  framework.StringOrEnv(m.ConfigFile, "CEPH_CONFIG_FILE"),
	}
	if cfg.MonHost == "" && cfg.ConfigFile == "" {
		return framework.MissingBackend[*ceph.Client]("Ceph", `set mon_host (or config_file) in the provider's ceph {} block, or CEPH_MON_HOST`)
	}
	return framework.NewBackend("Ceph", func(ctx context.Context) (*ceph.Client, error) {
		conn, err := ceph.Connect(ctx, cfg)
		if err != nil {
			return nil, err
		}
		return ceph.NewClient(conn), nil
	}, func(error) bool { return false })
}
