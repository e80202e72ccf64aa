// Package bmc holds the BMC (Redfish) types: pve_bmc_power,
// pve_bmc_virtual_media, pve_bmc_boot_override and the pve_bmc_system data
// source. They power servers on and off, mount the installer and boot it
// once: the bare-metal step before PVE exists.
package bmc

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
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

// Resources returns the resources of the bmc service.
func Resources() []func() resource.Resource {
	return []func() resource.Resource{NewPowerResource, NewVirtualMediaResource, NewBootOverrideResource}
}

// DataSources returns the data sources of the bmc service.
func DataSources() []func() datasource.DataSource {
	return []func() datasource.DataSource{NewSystemDataSource}
}

// systemIDAttribute is the system a resource acts on.
func systemIDAttribute() schema.StringAttribute {
	return schema.StringAttribute{
		Description: "ID of the computer system (`/redfish/v1/Systems/<id>`). Unset: the BMC's only system (an error " +
			"when it manages several). Changing it replaces the resource.",
		Optional: true,
		Computed: true,
		PlanModifiers: []planmodifier.String{
			stringplanmodifier.UseStateForUnknown(),
			stringplanmodifier.RequiresReplaceIfConfigured(),
		},
	}
}

// Reset types of ComputerSystem.Reset.
var resetTypes = []string{"On", "ForceOn", "ForceOff", "GracefulShutdown", "GracefulRestart", "ForceRestart", "Nmi",
	"PushPowerButton", "PowerCycle", "Suspend", "Pause", "Resume"}

func resetTypeValidator() validator.String { return stringvalidator.OneOf(resetTypes...) }

// session runs fn in one BMC session of the block m (logged out after).
func session(ctx context.Context, data *framework.ProviderData, m *framework.BMCModel, fn func(s *redfish.Session) error) error {
	c, err := data.BMCClient(m)
	if err != nil {
		return err
	}
	return c.Do(ctx, fn)
}

// withSystem runs fn with the system id names (or the only one).
func withSystem(ctx context.Context, data *framework.ProviderData, m *framework.BMCModel, id types.String, fn func(s *redfish.Session, sys *schemas.ComputerSystem) error) error {
	return session(ctx, data, m, func(s *redfish.Session) error {
		sys, err := s.System(id.ValueString())
		if err != nil {
			return err
		}
		return fn(s, sys)
	})
}

// addError adds err under summary.
func addError(diags *diag.Diagnostics, summary string, err error) {
	diags.AddError(summary, err.Error())
}

// resourceID is a BMC resource's ID: the BMC endpoint and the system.
func resourceID(m *framework.BMCModel, system string) string {
	return strings.TrimRight(m.Endpoint.ValueString(), "/") + "#" + system
}

// importIDRE is "<endpoint>" or "<endpoint>#<system id>".
var importIDRE = regexp.MustCompile(`^(https?://[^#\s]+?)/?(#([^#\s]+))?$`)

// parseImportID splits an import ID.
func parseImportID(id string) (endpoint, system string, err error) {
	m := importIDRE.FindStringSubmatch(id)
	if m == nil {
		return "", "", fmt.Errorf("expected <BMC endpoint> or <BMC endpoint>#<system id>, e.g. https://10.0.0.101#1, got %q", id)
	}
	return m[1], m[3], nil
}

// normalPower folds the transitional power states into the state they
// lead to: what "state" compares with.
func normalPower(s string) string {
	switch s {
	case "On", "PoweringOn", "Paused":
		return "On"
	case "Off", "PoweringOff":
		return "Off"
	}
	return s
}

// The CRUD shape the BMC resources share: apply the plan through the BMC,
// read back what the BMC reports, save it.

type getter interface {
	Get(ctx context.Context, target any) diag.Diagnostics
}

type setter interface {
	Set(ctx context.Context, val any) diag.Diagnostics
}

// save applies the model src holds (with a deadline when timeout is not
// zero), reads it back and sets it into dst.
func save[M any](ctx context.Context, src getter, dst setter, timeout func(*M) time.Duration,
	apply, read func(context.Context, *M) error, summary string, diags *diag.Diagnostics) {
	var m M
	diags.Append(src.Get(ctx, &m)...)
	if diags.HasError() {
		return
	}
	if timeout != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout(&m))
		defer cancel()
	}
	if apply != nil {
		if err := apply(ctx, &m); err != nil {
			addError(diags, "Unable to "+summary, err)
			return
		}
	}
	if err := read(ctx, &m); err != nil {
		addError(diags, "Unable to Read "+strings.TrimPrefix(strings.TrimPrefix(summary, "Set "), "Insert "), err)
		return
	}
	diags.Append(dst.Set(ctx, m)...)
}
