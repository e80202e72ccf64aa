// Package framework holds the Terraform helpers shared by every service
// package: the data the provider hands to its types, environment fallbacks
// and diagnostics helpers.
package framework

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework/diag"

	"github.com/hcilab/terraform-provider-pve/internal/ceph"
	"github.com/hcilab/terraform-provider-pve/internal/pbs"
	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

// ProviderData is what the provider's Configure hands to every resource and
// data source. Each backend is optional: a type asks for the backend it needs
// and gets a clear error when that backend is not configured.
type ProviderData struct {
	PVE *Backend[*pve.Client]
	// PVEConfig is the PVE backend's settings, from which clients of single
	// nodes are made (NodeClient); nil when PVE is not configured.
	PVEConfig *pve.Config
	// BMC holds the defaults of every BMC block.
	BMC BMCDefaults
	// Ceph is the librados connection of the provider's ceph {} block
	// (missing when the block is not set).
	Ceph *Backend[*ceph.Client]
	// PBS is the Proxmox Backup Server of the provider's pbs {} block
	// (missing when it has no endpoint).
	PBS *Backend[*pbs.Client]
}

// PBSClient returns the connected PBS client, or adds an error with the
// given summary (saying which settings are missing).
func (d *ProviderData) PBSClient(ctx context.Context, summary string, diags *diag.Diagnostics) *pbs.Client {
	if d == nil || d.PBS == nil {
		diags.AddError(summary, "the provider is not configured")
		return nil
	}
	c, err := d.PBS.Client(ctx)
	if err != nil {
		diags.AddError(summary, err.Error())
		return nil
	}
	return c
}

// CephClient returns the connected librados client, or adds an error with
// the given summary (saying which settings or which build are missing).
func (d *ProviderData) CephClient(ctx context.Context, summary string, diags *diag.Diagnostics) *ceph.Client {
	if d == nil || d.Ceph == nil {
		diags.AddError(summary, "the provider is not configured")
		return nil
	}
	c, err := d.Ceph.Client(ctx)
	if err != nil {
		diags.AddError(summary, err.Error())
		return nil
	}
	return c
}

// Backend is one lazily connected backend client. The provider connects it
// eagerly in Configure when its settings are present, so that bad
// credentials fail there; a backend that could not be reached then (a node
// that a BMC resource has yet to install, say) is connected again on first
// use, while definitive failures (credentials, TLS, bad settings) are kept.
type Backend[C any] struct {
	name    string
	missing string
	connect func(ctx context.Context) (C, error)
	// retry reports whether a connection error is worth trying again later.
	retry func(error) bool

	mu     sync.Mutex
	client C
	err    error
	ok     bool
}

// NewBackend returns a backend that connects with connect. name is used in
// messages ("PVE"); retry says which connection errors are not final.
func NewBackend[C any](name string, connect func(ctx context.Context) (C, error), retry func(error) bool) *Backend[C] {
	return &Backend[C]{name: name, connect: connect, retry: retry}
}

// MissingBackend returns a backend that is not configured; why names the
// settings that would configure it.
func MissingBackend[C any](name, why string) *Backend[C] {
	return &Backend[C]{name: name, missing: why}
}

// Check returns an error naming the missing settings when the backend is
// not configured.
func (b *Backend[C]) Check() error {
	if b == nil {
		return errors.New("the provider is not configured")
	}
	if b.missing != "" {
		return fmt.Errorf("the %s backend is not configured: %s", b.name, b.missing)
	}
	return nil
}

// Client returns the connected client, connecting first when needed.
func (b *Backend[C]) Client(ctx context.Context) (C, error) {
	var zero C
	if err := b.Check(); err != nil {
		return zero, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ok {
		return b.client, nil
	}
	if b.err != nil {
		return zero, b.err
	}
	c, err := b.connect(ctx)
	if err != nil {
		if b.retry == nil || !b.retry(err) {
			b.err = err
		}
		return zero, err
	}
	b.client, b.ok = c, true
	return c, nil
}

// ConfigureData extracts the provider's data in a type's Configure. It
// returns nil without error while the provider is not yet configured (the
// framework calls Configure early, with nil data).
func ConfigureData(providerData any, diags *diag.Diagnostics) *ProviderData {
	if providerData == nil {
		return nil
	}
	data, ok := providerData.(*ProviderData)
	if !ok {
		diags.AddError("Unexpected Provider Data",
			fmt.Sprintf("expected *framework.ProviderData, got %T; this is a bug in the provider, please report it", providerData))
		return nil
	}
	return data
}

// RequirePVE reports, in a type's Configure, a clear error when the PVE
// backend the type needs is not configured.
func (d *ProviderData) RequirePVE(diags *diag.Diagnostics) {
	if d == nil {
		return
	}
	if err := d.PVE.Check(); err != nil {
		diags.AddError("PVE Backend Not Configured", err.Error())
	}
}

// PVEClient returns the connected PVE client for a type's CRUD method, or
// adds an error with the given summary ("Unable to Read PVE Node") and
// returns nil.
func (d *ProviderData) PVEClient(ctx context.Context, summary string, diags *diag.Diagnostics) *pve.Client {
	if d == nil {
		diags.AddError(summary, "the provider is not configured")
		return nil
	}
	c, err := d.PVE.Client(ctx)
	if err != nil {
		diags.AddError(summary, err.Error())
		return nil
	}
	return c
}

// NodeClient connects to one node's own API as root@pam with a password:
// what creating and joining a cluster need (PVE takes those only from
// root@pam, on the node that changes). TLS follows the provider's settings;
// a fingerprint, when given, pins this node's certificate instead.
func (d *ProviderData) NodeClient(ctx context.Context, endpoint, fingerprint, password string) (*pve.Client, error) {
	if d == nil || d.PVEConfig == nil {
		return nil, errors.New("the PVE backend is not configured")
	}
	cfg := *d.PVEConfig
	cfg.Endpoint = endpoint
	cfg.APIToken, cfg.OTP = "", ""
	cfg.Username, cfg.Password = "root@pam", password
	if fingerprint != "" {
		cfg.TLSFingerprint = fingerprint
	}
	return pve.New(ctx, cfg)
}
