package provider

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
)

// ProtocolServer is the provider's protocol 6 server: the framework's,
// except that the framework keeps nothing of a request once it has
// answered it.
//
// The framework (terraform-plugin-framework v1.19, internal/proto6server's
// registerContext) derives a cancellable context from every request's
// context and keeps its cancel function until StopProvider, which the CLI
// sends only to interrupt. Each kept function holds the request's whole
// context: the loggers terraform-plugin-go and -log put in it (some
// kilobytes per request) and the gRPC stream's. A plan of 1,000 VMs makes
// about 4,000 requests, and the provider's live heap grew by about 50 MB
// over it (profiling: the live heap at exit, after a GC, was 41 MB, nearly
// all of it those contexts); every GC marks all of it again.
//
// Here each per-resource request reaches the framework through a context
// that hands on the request's values, deadline and cancellation while the
// request runs and lets go of them when it returns: what the framework
// keeps is then a few hundred bytes per request. The other requests (a few
// per run) are passed on as they are.
func ProtocolServer(version string) func() (tfprotov6.ProviderServer, error) {
	return func() (tfprotov6.ProviderServer, error) {
		inner, err := providerserver.NewProtocol6WithError(New(version)())()
		if err != nil {
			return nil, err
		}
		full, ok := inner.(fullServer)
		if !ok {
			return inner, nil // a framework that serves less: as it is
		}
		return releasingServer{full}, nil
	}
}

// fullServer is everything the framework's server serves; tf6server asks
// for the optional parts by type assertion, so the wrapper keeps them all.
type fullServer interface {
	tfprotov6.ProviderServer
	//lint:ignore SA1019 deprecated for a future version; tf6server v0.31 still asks for them
	tfprotov6.ProviderServerWithListResource
	//lint:ignore SA1019 as above
	tfprotov6.ProviderServerWithActions
	//lint:ignore SA1019 as above
	tfprotov6.ProviderServerWithStateStores
}

// releasingServer passes the per-resource requests on through a
// requestContext released when they return.
type releasingServer struct{ fullServer }

// serve runs call with a context that lets go of ctx when call returns.
func serve[Req, Resp any](ctx context.Context, req Req, call func(context.Context, Req) (Resp, error)) (Resp, error) {
	rc := newRequestContext(ctx)
	defer rc.release()
	return call(rc, req)
}

func (s releasingServer) ValidateResourceConfig(ctx context.Context, req *tfprotov6.ValidateResourceConfigRequest) (*tfprotov6.ValidateResourceConfigResponse, error) {
	return serve(ctx, req, s.fullServer.ValidateResourceConfig)
}

func (s releasingServer) UpgradeResourceState(ctx context.Context, req *tfprotov6.UpgradeResourceStateRequest) (*tfprotov6.UpgradeResourceStateResponse, error) {
	return serve(ctx, req, s.fullServer.UpgradeResourceState)
}

func (s releasingServer) UpgradeResourceIdentity(ctx context.Context, req *tfprotov6.UpgradeResourceIdentityRequest) (*tfprotov6.UpgradeResourceIdentityResponse, error) {
	return serve(ctx, req, s.fullServer.UpgradeResourceIdentity)
}

func (s releasingServer) ReadResource(ctx context.Context, req *tfprotov6.ReadResourceRequest) (*tfprotov6.ReadResourceResponse, error) {
	return serve(ctx, req, s.fullServer.ReadResource)
}

func (s releasingServer) PlanResourceChange(ctx context.Context, req *tfprotov6.PlanResourceChangeRequest) (*tfprotov6.PlanResourceChangeResponse, error) {
	return serve(ctx, req, s.fullServer.PlanResourceChange)
}

func (s releasingServer) ApplyResourceChange(ctx context.Context, req *tfprotov6.ApplyResourceChangeRequest) (*tfprotov6.ApplyResourceChangeResponse, error) {
	return serve(ctx, req, s.fullServer.ApplyResourceChange)
}

func (s releasingServer) ImportResourceState(ctx context.Context, req *tfprotov6.ImportResourceStateRequest) (*tfprotov6.ImportResourceStateResponse, error) {
	return serve(ctx, req, s.fullServer.ImportResourceState)
}

func (s releasingServer) MoveResourceState(ctx context.Context, req *tfprotov6.MoveResourceStateRequest) (*tfprotov6.MoveResourceStateResponse, error) {
	return serve(ctx, req, s.fullServer.MoveResourceState)
}

func (s releasingServer) ValidateDataResourceConfig(ctx context.Context, req *tfprotov6.ValidateDataResourceConfigRequest) (*tfprotov6.ValidateDataResourceConfigResponse, error) {
	return serve(ctx, req, s.fullServer.ValidateDataResourceConfig)
}

func (s releasingServer) ReadDataSource(ctx context.Context, req *tfprotov6.ReadDataSourceRequest) (*tfprotov6.ReadDataSourceResponse, error) {
	return serve(ctx, req, s.fullServer.ReadDataSource)
}

func (s releasingServer) CallFunction(ctx context.Context, req *tfprotov6.CallFunctionRequest) (*tfprotov6.CallFunctionResponse, error) {
	return serve(ctx, req, s.fullServer.CallFunction)
}

// requestContext is a request's context until release, and afterwards a
// context that is done and holds nothing. Work a request left running
// (a shared list still being read for other requests, which detaches
// from the request's cancellation) then logs nothing more under the
// request's loggers.
type requestContext struct {
	p atomic.Pointer[context.Context]
}

func newRequestContext(ctx context.Context) *requestContext {
	rc := &requestContext{}
	rc.p.Store(&ctx)
	return rc
}

func (rc *requestContext) release() { rc.p.Store(nil) }

// closedDone is the Done of a released context.
var closedDone = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

func (rc *requestContext) Deadline() (time.Time, bool) {
	if p := rc.p.Load(); p != nil {
		return (*p).Deadline()
	}
	return time.Time{}, false
}

func (rc *requestContext) Done() <-chan struct{} {
	if p := rc.p.Load(); p != nil {
		return (*p).Done()
	}
	return closedDone
}

func (rc *requestContext) Err() error {
	if p := rc.p.Load(); p != nil {
		return (*p).Err()
	}
	return context.Canceled
}

func (rc *requestContext) Value(key any) any {
	if p := rc.p.Load(); p != nil {
		return (*p).Value(key)
	}
	return nil
}
