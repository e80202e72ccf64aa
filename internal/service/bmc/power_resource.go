package bmc

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/stmcginnis/gofish/schemas"

	"github.com/hcilab/terraform-provider-pve/internal/framework"
	"github.com/hcilab/terraform-provider-pve/internal/redfish"
)

var _ resource.ResourceWithImportState = (*powerResource)(nil)

// NewPowerResource returns the pve_bmc_power resource.
func NewPowerResource() resource.Resource {
	return &powerResource{}
}

type powerResource struct {
	data *framework.ProviderData
}

type powerModel struct {
	ID              types.String        `tfsdk:"id"`
	BMC             *framework.BMCModel `tfsdk:"bmc"`
	SystemID        types.String        `tfsdk:"system_id"`
	State           types.String        `tfsdk:"state"`
	OnMethod        types.String        `tfsdk:"on_method"`
	OffMethod       types.String        `tfsdk:"off_method"`
	GracefulTimeout types.String        `tfsdk:"graceful_timeout"`
	OffOnDestroy    types.Bool          `tfsdk:"off_on_destroy"`
	PowerState      types.String        `tfsdk:"power_state"`
	Timeouts        timeouts.Value      `tfsdk:"timeouts"`
}

const (
	defaultPowerTimeout = 15 * time.Minute
	defaultMediaTimeout = 5 * time.Minute
)

func (r *powerResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_bmc_power"
}

func (r *powerResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "A server's power, declared: `state = \"On\"` or `\"Off\"`, reached through the BMC and waited for. " +
			"A server switched on or off out of band shows as a diff. Destroying leaves the server as it is unless " +
			"`off_on_destroy = true`. Import with `<BMC endpoint>` or `<BMC endpoint>#<system id>`.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Description:   "`<BMC endpoint>#<system id>`.",
				Computed:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"bmc":       framework.BMCAttribute(),
			"system_id": systemIDAttribute(),
			"state": schema.StringAttribute{
				Description: "`On` or `Off`.",
				Required:    true,
				Validators:  []validator.String{stringvalidator.OneOf("On", "Off")},
			},
			"on_method": schema.StringAttribute{
				Description: "Reset type that powers the server on: `On` (default), `ForceOn` or `PushPowerButton`. " +
					"Checked against what the BMC allows.",
				Optional:   true,
				Validators: []validator.String{stringvalidator.OneOf("On", "ForceOn", "PushPowerButton")},
			},
			"off_method": schema.StringAttribute{
				Description: "How to power off: `GracefulShutdown` (default: ask the OS, then `ForceOff` after " +
					"`graceful_timeout`) or `ForceOff` (cut the power at once).",
				Optional:   true,
				Validators: []validator.String{stringvalidator.OneOf("GracefulShutdown", "ForceOff")},
			},
			"graceful_timeout": schema.StringAttribute{
				Description: "How long a graceful shutdown may take before the power is cut, e.g. `5m` (default).",
				Optional:    true,
				Validators:  []validator.String{framework.StringCheck("must be a duration such as 5m or 90s", checkDuration)},
			},
			"off_on_destroy": schema.BoolAttribute{
				Description: "Power the server off when this resource is destroyed. Default false: it stays as it is.",
				Optional:    true,
			},
			"power_state": schema.StringAttribute{
				Description: "The power state the BMC reports (`On`, `Off`, `PoweringOn`, `PoweringOff`).",
				Computed:    true,
			},
			"timeouts": framework.Timeouts(ctx, timeouts.Opts{Create: true, Update: true, Delete: true},
				"Defaults: 15m each (a graceful shutdown and a POST can take long)."),
		},
	}
}

func checkDuration(s string) error {
	if _, err := time.ParseDuration(s); err != nil {
		return fmt.Errorf("invalid duration %q", s)
	}
	return nil
}

func (r *powerResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = framework.ConfigureData(req.ProviderData, &resp.Diagnostics)
}

// converge powers the server as m says and waits for it.
func (r *powerResource) converge(ctx context.Context, m *powerModel) error {
	return withSystem(ctx, r.data, m.BMC, m.SystemID, func(s *redfish.Session, sys *schemas.ComputerSystem) error {
		m.SystemID = types.StringValue(sys.ID)
		want := m.State.ValueString()
		if normalPower(string(sys.PowerState)) == want && string(sys.PowerState) == want {
			return nil
		}
		if want == "On" {
			if normalPower(string(sys.PowerState)) != "On" {
				method := "On"
				if !m.OnMethod.IsNull() {
					method = m.OnMethod.ValueString()
				}
				if err := s.Reset(sys, method); err != nil {
					return err
				}
			}
			_, err := s.WaitPower(ctx, sys.ID, "On")
			return err
		}
		if normalPower(string(sys.PowerState)) != "Off" {
			if m.OffMethod.ValueString() == "ForceOff" {
				if err := s.Reset(sys, "ForceOff"); err != nil {
					return err
				}
			} else {
				if err := s.Reset(sys, "GracefulShutdown"); err != nil {
					return err
				}
				grace := 5 * time.Minute
				if !m.GracefulTimeout.IsNull() {
					grace, _ = time.ParseDuration(m.GracefulTimeout.ValueString())
				}
				gctx, cancel := context.WithTimeout(ctx, grace)
				_, err := s.WaitPower(gctx, sys.ID, "Off")
				cancel()
				if err == nil {
					return nil
				}
				if ctx.Err() != nil {
					return err
				}
				// The OS did not shut down in time: cut the power.
				sys, err = s.System(sys.ID)
				if err != nil {
					return err
				}
				if err := s.Reset(sys, "ForceOff"); err != nil {
					return fmt.Errorf("the graceful shutdown did not finish within %s, and forcing it off failed: %w", grace, err)
				}
			}
		}
		_, err := s.WaitPower(ctx, sys.ID, "Off")
		return err
	})
}

// read sets the power state the BMC reports; state follows it, so that a
// server switched out of band shows as a diff.
func (r *powerResource) read(ctx context.Context, m *powerModel) error {
	return withSystem(ctx, r.data, m.BMC, m.SystemID, func(_ *redfish.Session, sys *schemas.ComputerSystem) error {
		m.SystemID = types.StringValue(sys.ID)
		m.ID = types.StringValue(resourceID(m.BMC, sys.ID))
		m.PowerState = types.StringValue(string(sys.PowerState))
		m.State = types.StringValue(normalPower(string(sys.PowerState)))
		return nil
	})
}

func (r *powerResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	save(ctx, req.Plan, &resp.State, func(m *powerModel) time.Duration {
		t, _ := m.Timeouts.Create(ctx, defaultPowerTimeout)
		return t
	}, r.converge, r.read, "Set Server Power", &resp.Diagnostics)
}

func (r *powerResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	save(ctx, req.State, &resp.State, nil, nil, r.read, "Set Server Power", &resp.Diagnostics)
}

func (r *powerResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	save(ctx, req.Plan, &resp.State, func(m *powerModel) time.Duration {
		t, _ := m.Timeouts.Update(ctx, defaultPowerTimeout)
		return t
	}, r.converge, r.read, "Set Server Power", &resp.Diagnostics)
}

func (r *powerResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state powerModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !state.OffOnDestroy.ValueBool() {
		return
	}
	timeout, d := state.Timeouts.Delete(ctx, defaultPowerTimeout)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	state.State = types.StringValue("Off")
	if err := r.converge(ctx, &state); err != nil {
		addError(&resp.Diagnostics, "Unable to Power Off Server", err)
	}
}

func (r *powerResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	endpoint, system, err := parseImportID(req.ID)
	if err != nil {
		resp.Diagnostics.AddError("Invalid Import ID", err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("bmc").AtName("endpoint"), endpoint)...)
	if system != "" {
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("system_id"), system)...)
	}
}
