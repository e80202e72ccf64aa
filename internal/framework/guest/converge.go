package guest

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

// A Step is one step of Converge.
type Step string

// The steps of Converge.
const (
	StepConfig   Step = "config"    // one digest-guarded configuration change (network settled first)
	StepPool     Step = "pool"      // join, leave or change the pool
	StepResize   Step = "resize"    // grow volumes
	StepMigrate  Step = "migrate"   // move to the planned node
	StepRunState Step = "run state" // start or shut down
	StepPending  Step = "pending"   // reboot for, or warn about, changes waiting for the next start
)

// ConvergeOrder is the one order in which Converge takes its steps, for
// VMs and containers alike; the package doc says why.
var ConvergeOrder = []Step{StepConfig, StepPool, StepResize, StepMigrate, StepRunState, StepPending}

// Resize grows one volume to Size (PVE's size, "12G").
type Resize struct {
	Disk, Size string
}

// ConfigChange is the configuration part of a change, computed by the
// resource against the guest's current configuration.
type ConfigChange struct {
	// Params are the configuration keys and devices that change, with
	// "delete" values for what goes (joined as PVE wants them when sent).
	Params url.Values
	// Resizes are the volumes that grow.
	Resizes []Resize
}

// Change is what a resource computed to bring an existing guest from its
// prior state to its plan.
type Change struct {
	Kind pve.GuestKind
	VMID int
	// Config computes the configuration change against the guest's
	// current configuration (its values are the base of devices edited in
	// place).
	Config func(current *pve.GuestConfig) (ConfigChange, error)
	// Pool and PriorPool are the planned and the prior pool ("" for none).
	Pool, PriorPool string
	// Node and PriorNode are the planned and the prior node.
	Node, PriorNode types.String
	// Started is the planned run state.
	Started bool
	// RebootOnChange reboots a running guest when changes wait for its
	// next start (else a warning names them).
	RebootOnChange bool
	// Action names the operation in errors: "Create" or "Update".
	Action string
}

// Converge runs the change ch in ConvergeOrder and reports whether HA
// manages the guest (then HA owns node and run state: a changed node is a
// migration through HA, and the run state is left to HA). Errors go to
// diags, and stop the change.
func Converge(ctx context.Context, c Client, ch Change, diags *diag.Diagnostics) (haManaged bool) {
	kind, vmid := ch.Kind, ch.VMID
	fail := func(format string, args ...any) {
		diags.AddError("Unable to "+ch.Action+" "+kind.Title(), fmt.Sprintf("%s %d: ", kind.Noun(), vmid)+fmt.Sprintf(format, args...))
	}
	guest, err := c.FindGuest(ctx, vmid)
	if err != nil {
		fail("%s", err)
		return false
	}
	if haManaged, err = c.GuestHAManaged(ctx, kind, vmid); err != nil {
		fail("%s", err)
		return false
	}
	node := guest.Node
	current, err := c.GuestConfig(ctx, kind, node, vmid, false)
	if err != nil {
		fail("%s", err)
		return haManaged
	}
	change, err := ch.Config(current)
	if err != nil {
		fail("%s", err)
		return haManaged
	}
	if diags.HasError() {
		return haManaged
	}
	if change.Params == nil {
		change.Params = url.Values{}
	}
	change.Params.Set("digest", current.Digest)
	running := guest.Status == "running"
	for _, step := range ConvergeOrder {
		var err error
		switch step {
		case StepConfig:
			err = applyConfig(ctx, c, kind, node, vmid, change.Params, diags)
		case StepPool:
			if ch.Pool != ch.PriorPool {
				err = c.SetGuestPool(ctx, vmid, ch.PriorPool, ch.Pool)
			}
		case StepResize:
			for _, rz := range change.Resizes {
				if err = c.ResizeGuestDisk(ctx, kind, node, vmid, rz.Disk, rz.Size); err != nil {
					err = fmt.Errorf("growing %s to %s: %w", rz.Disk, rz.Size, err)
					break
				}
			}
		case StepMigrate:
			node, err = migrate(ctx, c, kind, node, vmid, ch, haManaged, running)
		case StepRunState:
			if haManaged {
				running, err = isRunning(ctx, c, kind, node, vmid)
			} else {
				running, err = setRunState(ctx, c, kind, node, vmid, ch.Started, diags)
			}
		case StepPending:
			if running {
				pending(ctx, c, kind, node, vmid, ch.RebootOnChange, diags)
			}
		}
		if err != nil {
			fail("%s", err)
			return haManaged
		}
	}
	return haManaged
}

// applyConfig sends a configuration change built on a digest (the
// repeated "delete" values joined as PVE wants them), when it changes
// anything. Bridges staged on the node are brought up first: hot-plugged
// NICs need them.
func applyConfig(ctx context.Context, c Client, kind pve.GuestKind, node string, vmid int, p url.Values, diags *diag.Diagnostics) error {
	if dels := p["delete"]; len(dels) > 0 {
		p.Set("delete", strings.Join(dels, ","))
	}
	if len(p) <= 1 && p.Has("digest") || len(p) == 0 {
		return nil
	}
	settleParams(ctx, c, node, p, diags)
	if _, err := c.UpdateGuestConfig(ctx, kind, node, vmid, p); err != nil {
		return fmt.Errorf("changing the configuration: %w", err)
	}
	return nil
}

// migrate moves the guest from node to the planned node and returns the
// node it is on afterwards. An HA-managed guest that HA placed elsewhere
// (a failover, an HA migration) is not moved back; one whose planned node
// changed is migrated through HA.
func migrate(ctx context.Context, c Client, kind pve.GuestKind, node string, vmid int, ch Change, haManaged, running bool) (string, error) {
	switch target := ch.Node.ValueString(); {
	case target == node || target == "":
		return node, nil
	case haManaged && ch.Node.Equal(ch.PriorNode):
		return node, nil
	case haManaged:
		if err := MigrateThroughHA(ctx, c, kind, node, vmid, target, running); err != nil {
			return node, fmt.Errorf("migrating from %s to %s through HA: %w", node, target, err)
		}
		return target, nil
	default:
		if _, err := c.MigrateGuest(ctx, kind, node, vmid, target, running); err != nil {
			return node, fmt.Errorf("migrating from %s to %s: %w", node, target, err)
		}
		return target, nil
	}
}

// setRunState starts or shuts down the guest as started says and reports
// whether it was left running as it was (the case in which changes may
// wait for its next start).
func setRunState(ctx context.Context, c Client, kind pve.GuestKind, node string, vmid int, started bool, diags *diag.Diagnostics) (stillRunning bool, err error) {
	running, err := isRunning(ctx, c, kind, node, vmid)
	if err != nil {
		return false, err
	}
	switch {
	case started && !running:
		// Only when this run staged network edits on the node is the
		// guest's configuration read, for the bridges it starts on.
		if c.StagedThisRun(node) {
			if cfg, err := c.GuestConfig(ctx, kind, node, vmid, false); err == nil {
				SettleNetwork(ctx, c, node, pve.GuestBridges(cfg.Values), diags)
			}
		}
		if err := start(ctx, c, kind, node, vmid, diags); err != nil {
			return false, fmt.Errorf("starting: %w", err)
		}
		return false, nil
	case !started && running:
		if _, err := c.GuestAction(ctx, kind, node, vmid, "shutdown", url.Values{"forceStop": {"1"}, "timeout": {"120"}}); err != nil {
			return false, fmt.Errorf("shutting down: %w", err)
		}
		return false, nil
	}
	return running, nil
}

// pending deals with the changes of a running guest that wait for its next
// start: a reboot with reboot, else a warning that names them. Not being
// able to list them is a warning too: the change itself was made.
func pending(ctx context.Context, c Client, kind pve.GuestKind, node string, vmid int, reboot bool, diags *diag.Diagnostics) {
	keys, err := pendingKeys(ctx, c, kind, node, vmid)
	if err != nil {
		diags.AddWarning("Unable to Read Pending Changes", fmt.Sprintf("%s %d: %s", kind.Noun(), vmid, err))
		return
	}
	if len(keys) == 0 {
		return
	}
	if reboot {
		if _, err := c.GuestAction(ctx, kind, node, vmid, "reboot", nil); err != nil {
			diags.AddError("Unable to Reboot "+kind.Title(), err.Error())
		}
		return
	}
	title, detail := "Container Needs a Restart", ""
	if kind == pve.QEMU {
		title, detail = "VM Needs a Reboot", " Set reboot_on_change = true to reboot it on such changes."
	}
	diags.AddWarning(title, fmt.Sprintf("%s %d runs with its old %s; the change takes effect at its next start.%s",
		kind.Noun(), vmid, strings.Join(keys, ", "), detail))
}

// pendingKeys lists the configuration keys of a running guest that wait
// for its next start, sorted.
func pendingKeys(ctx context.Context, c Client, kind pve.GuestKind, node string, vmid int) ([]string, error) {
	items, err := c.GuestPending(ctx, kind, node, vmid)
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, item := range items {
		if item.Pending != nil || item.Delete != 0 {
			keys = append(keys, item.Key)
		}
	}
	slices.Sort(keys)
	return keys, nil
}
