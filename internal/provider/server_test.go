package provider_test

import (
	"context"
	"runtime"
	"runtime/metrics"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/hcilab/terraform-provider-pve/internal/provider"
)

type bigValueKey struct{}

// liveHeap is the heap a GC finds live.
func liveHeap() uint64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// retained is how much of the contexts of n ValidateResourceConfig
// requests, each carrying 1 MiB, the server keeps after answering them.
func retained(t *testing.T, server tfprotov6.ProviderServer, n int) uint64 {
	t.Helper()
	ctx := context.Background()
	schema, err := server.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	typ := schema.ResourceSchemas["pve_vm"].ValueType()
	cfg, err := tfprotov6.NewDynamicValue(typ, tftypes.NewValue(typ, nil))
	if err != nil {
		t.Fatal(err)
	}
	before := liveHeap()
	for range n {
		reqCtx := context.WithValue(ctx, bigValueKey{}, make([]byte, 1<<20))
		if _, err := server.ValidateResourceConfig(reqCtx, &tfprotov6.ValidateResourceConfigRequest{TypeName: "pve_vm", Config: &cfg}); err != nil {
			t.Fatal(err)
		}
	}
	after := liveHeap()
	runtime.KeepAlive(server)
	if after < before {
		return 0
	}
	return after - before
}

// The framework keeps a cancel function, and with it the request's whole
// context, for every request it served (until StopProvider); the
// provider's server does not let it keep the context itself.
func TestProtocolServerReleasesRequestContexts(t *testing.T) {
	const n = 32
	framework, err := providerserver.NewProtocol6WithError(provider.New("test")())()
	if err != nil {
		t.Fatal(err)
	}
	// The framework's own server keeps them, and this measure sees it;
	// were it fixed upstream, ProtocolServer could go.
	if kept := retained(t, framework, n); kept < n<<20/2 {
		t.Fatalf("the framework's server kept only %d bytes of %d requests' contexts of 1 MiB each: fixed upstream? Then ProtocolServer is not needed", kept, n)
	} else {
		t.Logf("the framework's own server kept %d MiB of %d requests' contexts of 1 MiB", kept>>20, n)
	}
	ours, err := provider.ProtocolServer("test")()
	if err != nil {
		t.Fatal(err)
	}
	if kept := retained(t, ours, n); kept > 4<<20 {
		t.Errorf("ProtocolServer kept %d bytes of %d requests' contexts of 1 MiB each, want them released", kept, n)
	}
}
