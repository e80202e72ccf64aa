package bmc

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/stmcginnis/gofish/schemas"

	"github.com/hcilab/terraform-provider-pve/internal/framework"
	"github.com/hcilab/terraform-provider-pve/internal/redfish"
)

var _ resource.ResourceWithImportState = (*bootOverrideResource)(nil)

// NewBootOverrideResource returns the pve_bmc_boot_override resource.
func NewBootOverrideResource() resource.Resource {
	return &bootOverrideResource{}
}

type bootOverrideResource struct {
	data *framework.ProviderData
}

type bootOverrideModel struct {
	ID         types.String        `tfsdk:"id"`
	BMC        *framework.BMCModel `tfsdk:"bmc"`
	SystemID   types.String        `tfsdk:"system_id"`
	Target     types.String        `tfsdk:"target"`
	Enabled    types.String        `tfsdk:"enabled"`
	Mode       types.String        `tfsdk:"mode"`
	ResetAfter types.String        `tfsdk:"reset_after"`
}

// Boot sources of Redfish's BootSourceOverrideTarget.
var bootTargets = []string{"None", "Pxe", "Floppy", "Cd", "Usb", "Hdd", "BiosSetup", "Utilities", "Diags", "UefiShell",
	"UefiTarget", "SDCard", "UefiHttp", "RemoteDrive", "UefiBootNext", "Recovery"}

func (r *bootOverrideResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_bmc_boot_override"
}

func (r *bootOverrideResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "A server's boot source override (boot once from the installer CD, say), optionally applied at once " +
			"with a reset. A `Once` override the server has used (the BMC then reports it `Disabled`) is not a diff: " +
			"it did what it was for, and applying it again would boot the installer again. Destroying it disables a " +
			"`Continuous` override. Import with `<BMC endpoint>` or `<BMC endpoint>#<system id>`: the override the BMC " +
			"reports now (one the server has used imports as `Disabled`); `mode` and `reset_after` are not read back.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Description:   "`<BMC endpoint>#<system id>`.",
				Computed:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"bmc":       framework.BMCAttribute(),
			"system_id": systemIDAttribute(),
			"target": schema.StringAttribute{
				Description: "Boot source: `Cd`, `Pxe`, `Hdd`, `Usb`, `UefiHttp`, `BiosSetup`, `UefiShell`, ... Checked " +
					"against what the BMC allows.",
				Required:   true,
				Validators: []validator.String{stringvalidator.OneOf(bootTargets...)},
			},
			"enabled": schema.StringAttribute{
				Description: "`Once` (default: the next boot only), `Continuous` or `Disabled`.",
				Optional:    true,
				Computed:    true,
				Default:     stringdefault.StaticString("Once"),
				Validators:  []validator.String{stringvalidator.OneOf("Once", "Continuous", "Disabled")},
			},
			"mode": schema.StringAttribute{
				Description: "`UEFI` or `Legacy`. Unset: left as the BMC has it.",
				Optional:    true,
				Validators:  []validator.String{stringvalidator.OneOf("UEFI", "Legacy")},
			},
			"reset_after": schema.StringAttribute{
				Description: "Reset the server right after setting the override, with this reset type (e.g. `ForceRestart`, " +
					"or `On` for a server that is off), so that it boots from the target now. Checked against what the " +
					"BMC allows. Unset: the override waits for the next boot.",
				Optional:   true,
				Validators: []validator.String{resetTypeValidator()},
			},
		},
	}
}

func (r *bootOverrideResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = framework.ConfigureData(req.ProviderData, &resp.Diagnostics)
}

func (r *bootOverrideResource) apply(ctx context.Context, m *bootOverrideModel) error {
	return withSystem(ctx, r.data, m.BMC, m.SystemID, func(s *redfish.Session, sys *schemas.ComputerSystem) error {
		m.SystemID = types.StringValue(sys.ID)
		m.ID = types.StringValue(resourceID(m.BMC, sys.ID))
		if err := s.SetBoot(sys, redfish.BootOverride{Target: m.Target.ValueString(), Enabled: m.Enabled.ValueString(),
			Mode: m.Mode.ValueString()}); err != nil {
			return err
		}
		if reset := m.ResetAfter.ValueString(); reset != "" {
			return s.Reset(sys, reset)
		}
		return nil
	})
}

// read follows the BMC, except for a Once override the server used.
func (r *bootOverrideResource) read(ctx context.Context, m *bootOverrideModel) error {
	return withSystem(ctx, r.data, m.BMC, m.SystemID, func(_ *redfish.Session, sys *schemas.ComputerSystem) error {
		m.SystemID = types.StringValue(sys.ID)
		m.ID = types.StringValue(resourceID(m.BMC, sys.ID))
		b := redfish.Boot(sys)
		if m.Enabled.ValueString() == "Once" && b.Enabled == "Disabled" {
			return nil // used: what it was for
		}
		m.Target = types.StringValue(b.Target)
		m.Enabled = types.StringValue(b.Enabled)
		if !m.Mode.IsNull() && b.Mode != "" {
			m.Mode = types.StringValue(b.Mode)
		}
		return nil
	})
}

func (r *bootOverrideResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	save(ctx, req.Plan, &resp.State, nil, r.apply, noRead, "Set Boot Override", &resp.Diagnostics)
}

func (r *bootOverrideResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	save(ctx, req.State, &resp.State, nil, nil, r.read, "Set Boot Override", &resp.Diagnostics)
}

func (r *bootOverrideResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	save(ctx, req.Plan, &resp.State, nil, r.apply, noRead, "Set Boot Override", &resp.Diagnostics)
}

// noRead keeps what was applied: right after a reset the BMC may already
// report a Once override used, or still the old one.
func noRead(context.Context, *bootOverrideModel) error { return nil }

func (r *bootOverrideResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state bootOverrideModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || state.Enabled.ValueString() != "Continuous" {
		return
	}
	err := withSystem(ctx, r.data, state.BMC, state.SystemID, func(s *redfish.Session, sys *schemas.ComputerSystem) error {
		return s.SetBoot(sys, redfish.BootOverride{Enabled: "Disabled"})
	})
	if err != nil {
		addError(&resp.Diagnostics, "Unable to Disable Boot Override", err)
	}
}

// ImportState takes "<BMC endpoint>" or "<BMC endpoint>#<system id>"; the
// BMC's credentials come from the provider's bmc {} block. Read then fills
// the override the BMC reports.
func (r *bootOverrideResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
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
