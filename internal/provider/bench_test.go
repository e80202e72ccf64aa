package provider_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/hcilab/terraform-provider-pve/internal/provider"
	"github.com/hcilab/terraform-provider-pve/internal/pve"
	"github.com/hcilab/terraform-provider-pve/internal/testlab"
)

// The cost of one guest in a refresh and a plan, through the provider's
// protocol server as the CLI calls it (no CLI, no gRPC): CPU, allocations
// and API requests per operation, against the lab (no added latency).
// cmd/pvebench measures whole runs of the real CLI.

// benchServer is a configured provider server with VM 100 in the lab.
type benchServer struct {
	lab    *testlab.Lab
	server tfprotov6.ProviderServer
	state  *tfprotov6.DynamicValue // VM 100, as read
}

func newBenchServer(b *testing.B) *benchServer {
	b.Helper()
	lab, err := testlab.Start(testlab.Options{TaskSpeed: 20})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = lab.Close() })
	ctx := context.Background()
	c, err := pve.New(ctx, pve.Config{Endpoint: lab.Endpoint(), APIToken: lab.APIToken(), TLSFingerprint: lab.Fingerprint()})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := c.CreateGuest(ctx, pve.QEMU, "pve1", url.Values{"vmid": {"100"}, "name": {"bench"}, "memory": {"512"},
		"scsi0": {"local-lvm:4"}, "net0": {"virtio,bridge=vmbr0"}}); err != nil {
		b.Fatal(err)
	}
	for _, k := range []string{"PVE_USERNAME", "PVE_PASSWORD", "PVE_OTP", "PVE_INSECURE", "PVE_CA_CERTIFICATE", "PVE_TIMEOUT"} {
		b.Setenv(k, "")
	}
	b.Setenv("PVE_ENDPOINT", lab.Endpoint())
	b.Setenv("PVE_API_TOKEN", lab.APIToken())
	b.Setenv("PVE_TLS_FINGERPRINT", lab.Fingerprint())
	server, err := providerserver.NewProtocol6WithError(provider.New("bench")())()
	if err != nil {
		b.Fatal(err)
	}
	schema, err := server.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		b.Fatal(err)
	}
	typ := schema.Provider.ValueType().(tftypes.Object)
	nulls := map[string]tftypes.Value{}
	for name, at := range typ.AttributeTypes {
		nulls[name] = tftypes.NewValue(at, nil)
	}
	cfg, err := tfprotov6.NewDynamicValue(typ, tftypes.NewValue(typ, nulls))
	if err != nil {
		b.Fatal(err)
	}
	conf, err := server.ConfigureProvider(ctx, &tfprotov6.ConfigureProviderRequest{Config: &cfg})
	if err != nil || len(conf.Diagnostics) > 0 {
		b.Fatalf("configure: %v %v", err, conf.Diagnostics)
	}
	imp, err := server.ImportResourceState(ctx, &tfprotov6.ImportResourceStateRequest{TypeName: "pve_vm", ID: "100"})
	if err != nil || len(imp.Diagnostics) > 0 || len(imp.ImportedResources) != 1 {
		b.Fatalf("import: %v %v", err, imp.Diagnostics)
	}
	s := &benchServer{lab: lab, server: server, state: imp.ImportedResources[0].State}
	s.state = s.read(b)
	return s
}

func (s *benchServer) read(b *testing.B) *tfprotov6.DynamicValue {
	res, err := s.server.ReadResource(context.Background(), &tfprotov6.ReadResourceRequest{TypeName: "pve_vm", CurrentState: s.state})
	if err != nil || len(res.Diagnostics) > 0 || res.NewState == nil {
		b.Fatalf("read: %v %v", err, res.Diagnostics)
	}
	return res.NewState
}

func (s *benchServer) reportRequests(b *testing.B) {
	total := 0
	for _, n := range s.lab.Requests() {
		total += n
	}
	b.ReportMetric(float64(total)/float64(b.N), "requests/op")
}

// BenchmarkVMRefresh is one pve_vm refresh (ReadResource). Alone, it reads
// the lists a refresh of many VMs shares (guest_lists.go) as well as its
// config, unless the lists are still current.
func BenchmarkVMRefresh(b *testing.B) {
	s := newBenchServer(b)
	s.lab.ResetRequests()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		s.read(b)
	}
	b.StopTimer()
	s.reportRequests(b)
}

// BenchmarkVMPlanNoChange is the plan of a pve_vm whose configuration is
// its state (PlanResourceChange: the framework's plan modifiers and the
// resource's ModifyPlan); it sends no request.
func BenchmarkVMPlanNoChange(b *testing.B) {
	s := newBenchServer(b)
	s.lab.ResetRequests()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		res, err := s.server.PlanResourceChange(context.Background(), &tfprotov6.PlanResourceChangeRequest{
			TypeName: "pve_vm", PriorState: s.state, ProposedNewState: s.state, Config: s.state,
		})
		if err != nil || len(res.Diagnostics) > 0 {
			b.Fatalf("plan: %v %v", err, res.Diagnostics)
		}
	}
	b.StopTimer()
	s.reportRequests(b)
}

// BenchmarkProviderSchema is what the CLI asks a provider first: a new
// provider server and its whole schema (GetProviderSchema).
func BenchmarkProviderSchema(b *testing.B) {
	b.ReportAllocs()
	for range b.N {
		server, err := providerserver.NewProtocol6WithError(provider.New("bench")())()
		if err != nil {
			b.Fatal(err)
		}
		res, err := server.GetProviderSchema(context.Background(), &tfprotov6.GetProviderSchemaRequest{})
		if err != nil || len(res.Diagnostics) > 0 {
			b.Fatalf("schema: %v %v", err, res.Diagnostics)
		}
	}
}
