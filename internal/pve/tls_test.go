package pve

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/hcilab/terraform-provider-pve/internal/apiclient"
)

func TestTLS(t *testing.T) {
	f := newFakePVE(t, true)
	endpoint := f.srv.URL // https://127.0.0.1:port
	leaf := sha256.Sum256(f.srv.Certificate().Raw)
	hexFP := hex.EncodeToString(leaf[:])
	wrong := sha256.Sum256([]byte("another certificate"))

	tests := []struct {
		name string
		mod  func(*Config)
		want []string // fragments of the error; none for success
	}{
		{"untrusted", func(*Config) {}, []string{
			"the certificate of " + endpoint + " is not trusted: set ca_certificate or tls_fingerprint, or insecure = true",
			"x509: certificate signed by unknown authority",
		}},
		{"CA certificate", func(c *Config) { c.CACertificate = serverCAPEM(f.srv) }, nil},
		{"CA certificate in a bundle", func(c *Config) { c.CACertificate = "# lab CA\n" + serverCAPEM(f.srv) + serverCAPEM(f.srv) }, nil},
		{"fingerprint, lower case", func(c *Config) { c.TLSFingerprint = hexFP }, nil},
		{"fingerprint, PVE's format", func(c *Config) { c.TLSFingerprint = apiclient.FormatFingerprint(leaf) }, nil},
		{"fingerprint overrides insecure", func(c *Config) { c.TLSFingerprint, c.Insecure = apiclient.FormatFingerprint(wrong), true },
			[]string{"TLS fingerprint mismatch"}},
		{"wrong fingerprint", func(c *Config) { c.TLSFingerprint = apiclient.FormatFingerprint(wrong) }, []string{
			"TLS fingerprint mismatch for " + endpoint + ": server presented SHA256 " + apiclient.FormatFingerprint(leaf) +
				", expected " + apiclient.FormatFingerprint(wrong),
		}},
		{"insecure", func(c *Config) { c.Insecure = true }, nil},
		{"host name mismatch", func(c *Config) {
			c.Endpoint = strings.Replace(endpoint, "127.0.0.1", "localhost", 1)
			c.CACertificate = serverCAPEM(f.srv)
		}, []string{"is not valid for the name localhost", "x509: certificate is valid for"}},
		{"host name mismatch, pinned", func(c *Config) {
			c.Endpoint = strings.Replace(endpoint, "127.0.0.1", "localhost", 1)
			c.TLSFingerprint = hexFP
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{Endpoint: endpoint, APIToken: testToken, Retry: fastRetry}
			tt.mod(&cfg)
			c, err := New(context.Background(), cfg)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if _, err := c.Version(context.Background()); err != nil {
					t.Errorf("Version: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("New succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %q, want it to contain %q", err, w)
				}
			}
			if errors.Is(err, ErrTransient) {
				t.Errorf("a certificate failure must not be transient: %v", err)
			}
		})
	}
	// Certificate failures are not retried.
	if n := f.count("GET /version"); n != 2*6 {
		t.Errorf("GET /version reached the server %d times, want twice per successful case (12)", n)
	}
}
