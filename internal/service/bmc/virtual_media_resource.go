package bmc

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/stmcginnis/gofish/schemas"

	"github.com/hcilab/terraform-provider-pve/internal/framework"
	"github.com/hcilab/terraform-provider-pve/internal/redfish"
)

var _ resource.ResourceWithImportState = (*virtualMediaResource)(nil)

// NewVirtualMediaResource returns the pve_bmc_virtual_media resource.
func NewVirtualMediaResource() resource.Resource {
	return &virtualMediaResource{}
}

type virtualMediaResource struct {
	data *framework.ProviderData
}

type virtualMediaModel struct {
	ID               types.String        `tfsdk:"id"`
	BMC              *framework.BMCModel `tfsdk:"bmc"`
	SystemID         types.String        `tfsdk:"system_id"`
	Image            types.String        `tfsdk:"image"`
	Slot             types.String        `tfsdk:"slot"`
	WriteProtected   types.Bool          `tfsdk:"write_protected"`
	TransferProtocol types.String        `tfsdk:"transfer_protocol"`
	ImageUsername    types.String        `tfsdk:"image_username"` // write-only: from the configuration (withImageCredentials)
	ImagePassword    types.String        `tfsdk:"image_password"` // write-only
	CredentialsVer   types.Int64         `tfsdk:"image_credentials_version"`
	Inserted         types.Bool          `tfsdk:"inserted"`
	SlotID           types.String        `tfsdk:"slot_id"`
	Timeouts         timeouts.Value      `tfsdk:"timeouts"`
}

var imageURLRE = regexp.MustCompile(`^(https?|nfs|cifs|smb)://\S+$`)

func (r *virtualMediaResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_bmc_virtual_media"
}

func (r *virtualMediaResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	keep := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	resp.Schema = schema.Schema{
		Description: "An image (the PVE installer ISO, say) inserted into one of a server's virtual media slots through " +
			"its BMC: inserted on create, ejected on destroy, ejected and inserted again on change. An image ejected " +
			"out of band shows as a diff. Works whether the BMC keeps virtual media under the system or under its " +
			"manager, with the InsertMedia action or by PATCH where the BMC has no action. Import with " +
			"`<BMC endpoint>#<system id>#<slot>` (the `id`; leave the system id empty, `<BMC endpoint>##<slot>`, for " +
			"the BMC's only system): the image the slot holds; `write_protected`, `transfer_protocol` and the image " +
			"credentials are not read back.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Description:   "`<BMC endpoint>#<system id>#<slot>`.",
				Computed:      true,
				PlanModifiers: keep,
			},
			"bmc":       framework.BMCAttribute(),
			"system_id": systemIDAttribute(),
			"image": schema.StringAttribute{
				Description: "URL of the image: `http(s)://`, `nfs://` or `cifs://`.",
				Required:    true,
				Validators:  []validator.String{stringvalidator.RegexMatches(imageURLRE, "must be an http, https, nfs or cifs URL")},
			},
			"slot": schema.StringAttribute{
				Description: "ID of the slot (e.g. `CD1`). Unset: the first slot whose media types fit the image: CD/DVD " +
					"for an `.iso`, USB stick or removable disk for an `.img`.",
				Optional:      true,
				Computed:      true,
				PlanModifiers: keep,
			},
			"write_protected": schema.BoolAttribute{
				Description: "Insert the image write-protected. Unset: the BMC's default (only what is set is sent).",
				Optional:    true,
			},
			"transfer_protocol": schema.StringAttribute{
				Description: "Transfer protocol: `HTTP`, `HTTPS`, `NFS`, `CIFS`, ... Unset: the BMC works it out from the URL.",
				Optional:    true,
				Validators:  []validator.String{stringvalidator.OneOf("HTTP", "HTTPS", "NFS", "CIFS", "FTP", "SFTP", "TFTP", "SCP", "OEM")},
			},
			"image_username": schema.StringAttribute{
				Description: "User for the image server. Write-only (Terraform or OpenTofu 1.11 or later): sent with each " +
					"insert, never stored in the state.",
				Optional: true, Sensitive: true, WriteOnly: true,
			},
			"image_password": schema.StringAttribute{
				Description: "Password for the image server. Write-only: sent with each insert, never stored in the state.",
				Optional:    true, Sensitive: true, WriteOnly: true,
			},
			"image_credentials_version": schema.Int64Attribute{
				Description: "Change it to insert the image again with the current `image_username` and `image_password` " +
					"(write-only values cause no change by themselves).",
				Optional: true,
			},
			"inserted": schema.BoolAttribute{
				Description: "Whether the BMC reports the image inserted.",
				Computed:    true,
			},
			"slot_id": schema.StringAttribute{
				Description:   "The slot the image is in.",
				Computed:      true,
				PlanModifiers: keep,
			},
			"timeouts": framework.Timeouts(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}, "Defaults: 5m each."),
		},
	}
}

func (r *virtualMediaResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = framework.ConfigureData(req.ProviderData, &resp.Diagnostics)
}

// insert ejects whatever the slot holds and inserts m's image.
func (r *virtualMediaResource) insert(ctx context.Context, m *virtualMediaModel) error {
	return withSystem(ctx, r.data, m.BMC, m.SystemID, func(s *redfish.Session, sys *schemas.ComputerSystem) error {
		m.SystemID = types.StringValue(sys.ID)
		slots, err := s.MediaSlots(sys)
		if err != nil {
			return err
		}
		slot, err := redfish.PickSlot(slots, m.Slot.ValueString(), m.Image.ValueString())
		if err != nil {
			return err
		}
		m.Slot = types.StringValue(slot.ID)
		if redfish.Inserted(slot) {
			if err := s.EjectMedia(slot); err != nil {
				return err
			}
			if slot, err = s.Refresh(slot); err != nil {
				return err
			}
		}
		in := redfish.Insert{Image: m.Image.ValueString(), TransferProtocol: m.TransferProtocol.ValueString()}
		if !m.WriteProtected.IsNull() {
			wp := m.WriteProtected.ValueBool()
			in.WriteProtected = &wp
		}
		if !m.ImageUsername.IsNull() {
			u := m.ImageUsername.ValueString()
			in.UserName = &u
		}
		if !m.ImagePassword.IsNull() {
			p := m.ImagePassword.ValueString()
			in.Password = &p
		}
		return s.InsertMedia(slot, in)
	})
}

// read sets what the slot holds: image follows it, so that an image
// ejected or swapped out of band shows as a diff.
func (r *virtualMediaResource) read(ctx context.Context, m *virtualMediaModel) error {
	return withSystem(ctx, r.data, m.BMC, m.SystemID, func(s *redfish.Session, sys *schemas.ComputerSystem) error {
		m.SystemID = types.StringValue(sys.ID)
		slots, err := s.MediaSlots(sys)
		if err != nil {
			return err
		}
		slot, err := redfish.PickSlot(slots, m.Slot.ValueString(), m.Image.ValueString())
		if err != nil {
			return err
		}
		inserted := redfish.Inserted(slot)
		m.Slot = types.StringValue(slot.ID)
		m.SlotID = types.StringValue(slot.ID)
		m.ID = types.StringValue(resourceID(m.BMC, sys.ID) + "#" + slot.ID)
		m.Inserted = types.BoolValue(inserted)
		if !inserted {
			m.Image = types.StringValue("")
		} else {
			m.Image = types.StringValue(slot.Image)
		}
		if !m.WriteProtected.IsNull() && slot.WriteProtected != nil {
			m.WriteProtected = types.BoolValue(*slot.WriteProtected)
		}
		return nil
	})
}

func (r *virtualMediaResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	save(ctx, req.Plan, &resp.State, func(m *virtualMediaModel) time.Duration {
		t, _ := m.Timeouts.Create(ctx, defaultMediaTimeout)
		return t
	}, r.insertWith(req.Config), r.read, "Insert Virtual Media", &resp.Diagnostics)
}

// insertWith is insert with the write-only image credentials of config.
func (r *virtualMediaResource) insertWith(config tfsdk.Config) func(context.Context, *virtualMediaModel) error {
	return func(ctx context.Context, m *virtualMediaModel) error {
		var user, password types.String
		if d := config.GetAttribute(ctx, path.Root("image_username"), &user); d.HasError() {
			return fmt.Errorf("reading image_username: %v", d)
		}
		if d := config.GetAttribute(ctx, path.Root("image_password"), &password); d.HasError() {
			return fmt.Errorf("reading image_password: %v", d)
		}
		m.ImageUsername, m.ImagePassword = user, password
		return r.insert(ctx, m)
	}
}

func (r *virtualMediaResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	save(ctx, req.State, &resp.State, nil, nil, r.read, "Insert Virtual Media", &resp.Diagnostics)
}

func (r *virtualMediaResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state virtualMediaModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	// A new slot: empty the old one first.
	if !plan.Slot.IsUnknown() && plan.Slot.ValueString() != state.Slot.ValueString() {
		r.eject(ctx, &state, &resp.Diagnostics)
		if resp.Diagnostics.HasError() {
			return
		}
	}
	save(ctx, req.Plan, &resp.State, func(m *virtualMediaModel) time.Duration {
		t, _ := m.Timeouts.Update(ctx, defaultMediaTimeout)
		return t
	}, r.insertWith(req.Config), r.read, "Insert Virtual Media", &resp.Diagnostics)
}

func (r *virtualMediaResource) eject(ctx context.Context, m *virtualMediaModel, diags interface {
	AddError(string, string)
}) {
	err := withSystem(ctx, r.data, m.BMC, m.SystemID, func(s *redfish.Session, sys *schemas.ComputerSystem) error {
		slots, err := s.MediaSlots(sys)
		if err != nil {
			return err
		}
		slot, err := redfish.PickSlot(slots, m.Slot.ValueString(), m.Image.ValueString())
		if err != nil || !redfish.Inserted(slot) {
			return nil // nothing to eject
		}
		return s.EjectMedia(slot)
	})
	if err != nil {
		diags.AddError("Unable to Eject Virtual Media", err.Error())
	}
}

func (r *virtualMediaResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state virtualMediaModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := state.Timeouts.Delete(ctx, defaultMediaTimeout)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	r.eject(ctx, &state, &resp.Diagnostics)
}

// ImportState takes "<BMC endpoint>#<system id>#<slot>" (the system id may
// be empty: the BMC's only system); the BMC's credentials come from the
// provider's bmc {} block. Read then fills the image the slot holds.
func (r *virtualMediaResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	endpoint, system, slot, err := parseMediaImportID(req.ID)
	if err != nil {
		resp.Diagnostics.AddError("Invalid Import ID", err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("bmc").AtName("endpoint"), endpoint)...)
	if system != "" {
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("system_id"), system)...)
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("slot"), slot)...)
}

// mediaImportIDRE is "<endpoint>#<system id>#<slot>", the system id
// possibly empty.
var mediaImportIDRE = regexp.MustCompile(`^(https?://[^#\s]+?)/?#([^#\s]*)#([^#\s]+)$`)

// parseMediaImportID splits a virtual media import ID.
func parseMediaImportID(id string) (endpoint, system, slot string, err error) {
	m := mediaImportIDRE.FindStringSubmatch(id)
	if m == nil {
		return "", "", "", fmt.Errorf("expected <BMC endpoint>#<system id>#<slot>, e.g. https://10.0.0.101#1#CD1 "+
			"(or https://10.0.0.101##CD1 for the BMC's only system), got %q", id)
	}
	return m[1], m[2], m[3], nil
}
