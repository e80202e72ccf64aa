package guest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/hcilab/terraform-provider-pve/internal/apiclient"
	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

// A start, create, shutdown or destroy whose task ran and failed is tried
// once more.
//
// Start: PVE's HA manager does the same for the guests it manages
// (pve-ha-manager src/PVE/HA/Resources.pm max_restart, default 1, counted
// in src/PVE/HA/LRM.pm handle_service_exitcode): a start can fail for a
// moment (a systemd scope of the last run not yet gone, a storage that was
// being activated), and a start of a stopped guest is safe to repeat.
//
// Create: a qmcreate or vzcreate worker that fails removes what it made
// (qemu-server src/PVE/API2/Qemu.pm create_vm: the disks it allocated,
// then the config file; pve-container src/PVE/API2/LXC.pm likewise), and
// the VM ID stays this provider's (pve.Client reserves it), so the create
// is sent again once, but only when the guest is really gone.
//
// Shutdown and destroy: what the user asked for is the guest gone; a
// second try is what the next apply would do, sooner.
//
// A second failure is the error, naming the first. A failure that proves
// nothing ran (a lock timeout) is waited out by pve.Client already.

// retryPause is the wait before the second try.
var retryPause = 2 * time.Second

// failedTask reports whether err is the failure of a task that ran to its
// end: not a timeout, not an interrupt, not a refused request.
func failedTask(err error) bool {
	var te *pve.TaskError
	return err != nil && errors.As(err, &te)
}

// start starts the guest, once more when its start task failed; a start
// that succeeded at the second try is a warning that names the first
// failure.
func start(ctx context.Context, c Client, kind pve.GuestKind, node string, vmid int, diags *diag.Diagnostics) error {
	_, err := c.GuestAction(ctx, kind, node, vmid, "start", nil)
	if !failedTask(err) {
		return err
	}
	// A start task that failed after all may have left the guest running
	// (a hook script that failed after the start): nothing to repeat.
	if st, serr := c.GuestCurrentStatus(ctx, kind, node, vmid); serr != nil || st.Status != "stopped" {
		return err
	}
	tflog.Warn(ctx, "guest start failed; trying once more", map[string]any{"vmid": vmid, "node": node, "error": err.Error()})
	if serr := apiclient.Sleep(ctx, retryPause); serr != nil {
		return err
	}
	if _, err2 := c.GuestAction(ctx, kind, node, vmid, "start", nil); err2 != nil {
		return fmt.Errorf("%w (a second try failed as well: %w)", err, err2)
	}
	diags.AddWarning(kind.Title()+" Started at the Second Try",
		fmt.Sprintf("%s %d on %s did not start at the first try, and did at the second: %s", kind.Noun(), vmid, node, err))
	return nil
}

// create creates the guest, once more when its create task failed and PVE
// removed what it had made.
func create(ctx context.Context, c Client, kind pve.GuestKind, node string, vmid int, params url.Values, diags *diag.Diagnostics) (*pve.TaskResult, error) {
	res, err := c.CreateGuest(ctx, kind, node, params)
	if !failedTask(err) {
		return res, err
	}
	if _, ferr := c.FindGuest(ctx, vmid); !errors.Is(ferr, pve.ErrNotFound) {
		return res, err // still there, or unknown: not sent again
	}
	tflog.Warn(ctx, "guest create failed and PVE removed the guest; trying once more", map[string]any{"vmid": vmid, "node": node, "error": err.Error()})
	if serr := apiclient.Sleep(ctx, retryPause); serr != nil {
		return res, err
	}
	res2, err2 := c.CreateGuest(ctx, kind, node, params)
	if err2 != nil {
		return res2, fmt.Errorf("%w (a first try failed as well: %w)", err2, err)
	}
	diags.AddWarning(kind.Title()+" Created at the Second Try",
		fmt.Sprintf("creating %s %d on %s failed at the first try (PVE removed what it had made), and succeeded at the second: %s", kind.Noun(), vmid, node, err))
	return res2, nil
}

// shutdown shuts the guest down (p: PVE's shutdown parameters), once more
// when its shutdown task failed and the guest still runs.
func shutdown(ctx context.Context, c Client, kind pve.GuestKind, node string, vmid int, p url.Values) error {
	_, err := c.GuestAction(ctx, kind, node, vmid, "shutdown", p)
	if !failedTask(err) {
		return err
	}
	if st, serr := c.GuestCurrentStatus(ctx, kind, node, vmid); serr != nil || st.Status != "running" {
		return err
	}
	tflog.Warn(ctx, "guest shutdown failed; trying once more", map[string]any{"vmid": vmid, "node": node, "error": err.Error()})
	if serr := apiclient.Sleep(ctx, retryPause); serr != nil {
		return err
	}
	if _, err2 := c.GuestAction(ctx, kind, node, vmid, "shutdown", p); err2 != nil {
		return fmt.Errorf("%w (a second try failed as well: %w)", err, err2)
	}
	return nil
}

// destroy deletes the guest, once more when its destroy task failed and
// the guest is still there (qemu-server's destroy_vm and pve-container's
// destroy_lxc remove the disks first and the configuration last, so a
// second destroy takes what the first left).
func destroy(ctx context.Context, c Client, kind pve.GuestKind, node string, vmid int, unreferenced bool) error {
	_, err := c.DeleteGuest(ctx, kind, node, vmid, unreferenced)
	if !failedTask(err) {
		return err
	}
	if _, ferr := c.FindGuest(ctx, vmid); ferr != nil {
		// Gone. A destroy sent again after its answer was lost (DELETE is
		// idempotent, so the transport resends it) runs a second worker that
		// finds no configuration: the first one's success. Any other
		// failure of a destroy that removed the guest (the configuration
		// goes last) says what was left.
		var te *pve.TaskError
		if errors.Is(ferr, pve.ErrNotFound) && errors.As(err, &te) && strings.Contains(te.ExitStatus, "does not exist") {
			return nil
		}
		return err
	}
	tflog.Warn(ctx, "guest destroy failed; trying once more", map[string]any{"vmid": vmid, "node": node, "error": err.Error()})
	if serr := apiclient.Sleep(ctx, retryPause); serr != nil {
		return err
	}
	if _, err2 := c.DeleteGuest(ctx, kind, node, vmid, unreferenced); err2 != nil && !errors.Is(err2, pve.ErrNotFound) {
		return fmt.Errorf("%w (a second try failed as well: %w)", err, err2)
	}
	return nil
}
