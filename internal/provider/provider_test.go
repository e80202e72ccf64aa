package provider_test

import (
	"context"
	"net"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/hcilab/terraform-provider-pve/internal/acctest"
	"github.com/hcilab/terraform-provider-pve/internal/provider"
	"github.com/hcilab/terraform-provider-pve/internal/testlab"
)

func TestMain(m *testing.M) {
	os.Exit(acctest.Run(m))
}

// protoServer serves the provider in-process, as the CLI would talk to it.
type protoServer struct {
	t      *testing.T
	server tfprotov6.ProviderServer
	schema *tfprotov6.GetProviderSchemaResponse
}

func newProtoServer(t *testing.T) *protoServer {
	t.Helper()
	server, err := providerserver.NewProtocol6WithError(provider.New("test")())()
	if err != nil {
		t.Fatal(err)
	}
	schema, err := server.GetProviderSchema(context.Background(), &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(schema.Diagnostics) > 0 {
		t.Fatalf("schema diagnostics: %v", schema.Diagnostics)
	}
	return &protoServer{t: t, server: server, schema: schema}
}

// value builds a configuration of the given schema: the named attributes
// set to strings or bools, every other attribute and block null.
func (p *protoServer) value(s *tfprotov6.Schema, set map[string]any) *tfprotov6.DynamicValue {
	p.t.Helper()
	typ := s.ValueType().(tftypes.Object)
	vals := map[string]tftypes.Value{}
	for name, at := range typ.AttributeTypes {
		v, ok := set[name]
		if !ok {
			vals[name] = tftypes.NewValue(at, nil)
			continue
		}
		vals[name] = tftypes.NewValue(at, v)
	}
	for name := range set {
		if _, ok := typ.AttributeTypes[name]; !ok {
			p.t.Fatalf("no attribute %q in the schema", name)
		}
	}
	dv, err := tfprotov6.NewDynamicValue(typ, tftypes.NewValue(typ, vals))
	if err != nil {
		p.t.Fatal(err)
	}
	return &dv
}

// configureAndRead validates and configures the provider with cfg, then
// reads the pve_version data source, and returns every diagnostic of the
// three steps: what a user would see for this configuration.
func (p *protoServer) configureAndRead(cfg map[string]any) []*tfprotov6.Diagnostic {
	p.t.Helper()
	ctx := context.Background()
	config := p.value(p.schema.Provider, cfg)
	var diags []*tfprotov6.Diagnostic
	v, err := p.server.ValidateProviderConfig(ctx, &tfprotov6.ValidateProviderConfigRequest{Config: config})
	if err != nil {
		p.t.Fatal(err)
	}
	diags = append(diags, v.Diagnostics...)
	if hasError(diags) {
		return diags
	}
	c, err := p.server.ConfigureProvider(ctx, &tfprotov6.ConfigureProviderRequest{Config: config, TerraformVersion: "1.12.6"})
	if err != nil {
		p.t.Fatal(err)
	}
	diags = append(diags, c.Diagnostics...)
	if hasError(diags) {
		return diags
	}
	r, err := p.server.ReadDataSource(ctx, &tfprotov6.ReadDataSourceRequest{
		TypeName: "pve_version",
		Config:   p.value(p.schema.DataSourceSchemas["pve_version"], nil),
	})
	if err != nil {
		p.t.Fatal(err)
	}
	return append(diags, r.Diagnostics...)
}

func hasError(diags []*tfprotov6.Diagnostic) bool {
	for _, d := range diags {
		if d.Severity == tfprotov6.DiagnosticSeverityError {
			return true
		}
	}
	return false
}

// clearEnv keeps the developer's or CI's PVE_* variables out of a test.
func clearEnv(t *testing.T) {
	for _, k := range []string{"PVE_ENDPOINT", "PVE_API_TOKEN", "PVE_USERNAME", "PVE_PASSWORD", "PVE_OTP",
		"PVE_INSECURE", "PVE_CA_CERTIFICATE", "PVE_TLS_FINGERPRINT", "PVE_TIMEOUT"} {
		t.Setenv(k, "")
	}
}

func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestProvider_connectionDiagnostics(t *testing.T) {
	clearEnv(t)
	lab, err := testlab.Start(testlab.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer lab.Close()
	unreachable := closedPort(t)
	wrongPin := strings.Repeat("AB:", 31) + "AB"

	tests := []struct {
		name    string
		config  map[string]any
		summary string         // empty: no diagnostic at all
		detail  *regexp.Regexp // what the one diagnostic must say
	}{
		{
			name:   "token",
			config: map[string]any{"endpoint": lab.Endpoint(), "api_token": lab.APIToken(), "tls_fingerprint": lab.Fingerprint()},
		},
		{
			name: "password",
			config: map[string]any{"endpoint": lab.Endpoint(), "username": lab.Username(), "password": lab.Password(),
				"ca_certificate": lab.CACertPEM()},
		},
		{
			name:    "wrong token secret",
			config:  map[string]any{"endpoint": lab.Endpoint(), "api_token": "root@pam!lab=00000000-0000-0000-0000-000000000000", "tls_fingerprint": lab.Fingerprint()},
			summary: "Unable to Connect to PVE",
			detail:  regexp.MustCompile(`(?i)authentication failed`),
		},
		{
			name:    "wrong password",
			config:  map[string]any{"endpoint": lab.Endpoint(), "username": "root@pam", "password": "wrong", "tls_fingerprint": lab.Fingerprint()},
			summary: "Unable to Connect to PVE",
			detail:  regexp.MustCompile(`(?i)authentication failed.*root@pam`),
		},
		{
			name:    "unreachable endpoint",
			config:  map[string]any{"endpoint": "https://" + unreachable, "api_token": lab.APIToken()},
			summary: "Unable to Read PVE Version",
			detail:  regexp.MustCompile(regexp.QuoteMeta(unreachable)),
		},
		{
			name:    "wrong TLS fingerprint",
			config:  map[string]any{"endpoint": lab.Endpoint(), "api_token": lab.APIToken(), "tls_fingerprint": wrongPin},
			summary: "Unable to Connect to PVE",
			detail:  regexp.MustCompile(`(?i)fingerprint mismatch.*` + regexp.QuoteMeta(lab.Fingerprint())),
		},
		{
			name:    "untrusted certificate",
			config:  map[string]any{"endpoint": lab.Endpoint(), "api_token": lab.APIToken()},
			summary: "Unable to Connect to PVE",
			detail:  regexp.MustCompile(`(?i)not trusted.*(ca_certificate|tls_fingerprint)`),
		},
		{
			name:    "invalid endpoint URL",
			config:  map[string]any{"endpoint": "pve1.example.com:8006", "api_token": lab.APIToken()},
			summary: "Invalid Attribute Value",
			detail:  regexp.MustCompile(`(?i)endpoint`),
		},
		{
			name:    "no endpoint",
			config:  map[string]any{},
			summary: "PVE Backend Not Configured",
			detail:  regexp.MustCompile(`PVE_ENDPOINT`),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			diags := newProtoServer(t).configureAndRead(tt.config)
			if tt.summary == "" {
				if len(diags) != 0 {
					t.Fatalf("want no diagnostics, got %s", describe(diags))
				}
				return
			}
			if len(diags) != 1 {
				t.Fatalf("want exactly one diagnostic, got %s", describe(diags))
			}
			d := diags[0]
			if d.Severity != tfprotov6.DiagnosticSeverityError || d.Summary != tt.summary || !tt.detail.MatchString(d.Detail) {
				t.Fatalf("want error %q matching %s, got %s", tt.summary, tt.detail, describe(diags))
			}
			for _, secret := range []string{lab.Password(), strings.SplitN(lab.APIToken(), "=", 2)[1]} {
				if strings.Contains(d.Summary+d.Detail, secret) {
					t.Fatalf("the diagnostic shows a secret: %s", describe(diags))
				}
			}
		})
	}
}

func describe(diags []*tfprotov6.Diagnostic) string {
	var b strings.Builder
	b.WriteString("[")
	for _, d := range diags {
		b.WriteString("\n  " + d.Severity.String() + ": " + d.Summary + ": " + d.Detail)
	}
	b.WriteString("\n]")
	return b.String()
}

// TestProvider_descriptions keeps the generated docs useful: every attribute
// of the provider and of every type has a description.
func TestProvider_descriptions(t *testing.T) {
	p := newProtoServer(t)
	check := func(owner string, b *tfprotov6.SchemaBlock) {
		var walk func(prefix string, b *tfprotov6.SchemaBlock)
		walk = func(prefix string, b *tfprotov6.SchemaBlock) {
			for _, a := range b.Attributes {
				if strings.TrimSpace(a.Description) == "" {
					t.Errorf("%s: attribute %s%s has no description", owner, prefix, a.Name)
				}
				if a.NestedType != nil {
					walk(prefix+a.Name+".", &tfprotov6.SchemaBlock{Attributes: a.NestedType.Attributes})
				}
			}
			for _, nb := range b.BlockTypes {
				if strings.TrimSpace(nb.Block.Description) == "" {
					t.Errorf("%s: block %s%s has no description", owner, prefix, nb.TypeName)
				}
				walk(prefix+nb.TypeName+".", nb.Block)
			}
		}
		walk("", b)
	}
	check("provider", p.schema.Provider.Block)
	for name, s := range p.schema.DataSourceSchemas {
		check(name, s.Block)
	}
	for name, s := range p.schema.ResourceSchemas {
		check(name, s.Block)
	}
}

// Where the environment holds both a token and a username and password (the
// lab prints both), the token is used; a username in the configuration wins
// over a token in the environment.
func TestProvider_authPrecedence(t *testing.T) {
	clearEnv(t)
	lab, err := testlab.Start(testlab.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer lab.Close()
	t.Setenv("PVE_ENDPOINT", lab.Endpoint())
	t.Setenv("PVE_TLS_FINGERPRINT", lab.Fingerprint())
	t.Setenv("PVE_API_TOKEN", lab.APIToken())
	t.Setenv("PVE_USERNAME", lab.Username())
	t.Setenv("PVE_PASSWORD", "wrong")

	if diags := newProtoServer(t).configureAndRead(nil); len(diags) != 0 {
		t.Fatalf("token and password in the environment: want the token used, got %s", describe(diags))
	}
	diags := newProtoServer(t).configureAndRead(map[string]any{"username": lab.Username(), "password": "wrong"})
	if len(diags) != 1 || !strings.Contains(diags[0].Detail, "authentication failed for user "+lab.Username()) {
		t.Fatalf("username in the configuration: want it used (and rejected), got %s", describe(diags))
	}
}
