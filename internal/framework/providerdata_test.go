package framework

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"

	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

var errTryLater = errors.New("try later")

func TestBackendConnectsOnceAndCaches(t *testing.T) {
	calls := 0
	b := NewBackend("PVE", func(context.Context) (string, error) {
		calls++
		return "client", nil
	}, nil)
	for range 3 {
		c, err := b.Client(context.Background())
		if err != nil || c != "client" {
			t.Fatalf("Client() = %q, %v", c, err)
		}
	}
	if calls != 1 {
		t.Fatalf("connected %d times, want once", calls)
	}
}

func TestBackendRetriesOnlyWhatMayPass(t *testing.T) {
	var results []error
	calls := 0
	connect := func(context.Context) (string, error) {
		err := results[calls]
		calls++
		if err != nil {
			return "", err
		}
		return "client", nil
	}
	mayPass := func(err error) bool { return errors.Is(err, errTryLater) }

	// Unreachable first: connected again on the next use.
	results = []error{errTryLater, nil}
	b := NewBackend("PVE", connect, mayPass)
	if _, err := b.Client(context.Background()); !errors.Is(err, errTryLater) {
		t.Fatalf("first use: %v", err)
	}
	if c, err := b.Client(context.Background()); err != nil || c != "client" {
		t.Fatalf("second use: %q, %v", c, err)
	}

	// A definitive failure is kept: no second login with bad credentials.
	calls = 0
	final := errors.New("authentication failed")
	results = []error{final, nil}
	b = NewBackend("PVE", connect, mayPass)
	for range 2 {
		if _, err := b.Client(context.Background()); err != final {
			t.Fatalf("want the first failure kept, got %v", err)
		}
	}
	if calls != 1 {
		t.Fatalf("connected %d times after a definitive failure, want once", calls)
	}
}

func TestMissingBackend(t *testing.T) {
	b := MissingBackend[string]("PVE", "set endpoint")
	if _, err := b.Client(context.Background()); err == nil || !strings.Contains(err.Error(), "set endpoint") {
		t.Fatalf("Client() error = %v", err)
	}
	var diags diag.Diagnostics
	(&ProviderData{PVE: nil}).RequirePVE(&diags)
	if !diags.HasError() {
		t.Fatal("a provider without a PVE backend must fail RequirePVE")
	}
	diags = nil
	(*ProviderData)(nil).RequirePVE(&diags)
	if diags.HasError() {
		t.Fatal("before the provider is configured RequirePVE must not fail")
	}
}

func TestConfigureData(t *testing.T) {
	var diags diag.Diagnostics
	if ConfigureData(nil, &diags) != nil || diags.HasError() {
		t.Fatal("nil provider data must give nil without error")
	}
	if ConfigureData("wrong", &diags) != nil || !diags.HasError() {
		t.Fatal("provider data of the wrong type must be an error")
	}
}

func TestPVEClientReportsWhyNot(t *testing.T) {
	var diags diag.Diagnostics
	d := &ProviderData{PVE: MissingBackend[*pve.Client]("PVE", "set endpoint")}
	if c := d.PVEClient(context.Background(), "Unable to Read X", &diags); c != nil {
		t.Fatal("want no client")
	}
	if diags.ErrorsCount() != 1 || diags[0].Summary() != "Unable to Read X" || !strings.Contains(diags[0].Detail(), "set endpoint") {
		t.Fatalf("diagnostics = %v", diags)
	}
}
