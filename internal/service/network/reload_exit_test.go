package network_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/hcilab/terraform-provider-pve/internal/acctest"
	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

// The last edit of an apply goes live although nothing in the apply reads
// the node afterwards: the provider reloads the node when the CLI stops it
// (main.go, pve.FlushNetworkReloads). The bridge is the apply's only
// resource and its create does not wait for the reload, so once the CLI has
// returned, the node must have run a reload that makes the bridge active
// and leaves no /etc/network/interfaces.new behind. Out of process always:
// in-process the provider is never stopped, and the harness ends a run when
// the next CLI command starts (the `show` before this check), which would
// pass without main.go's flush.
func TestAccNetwork_reloadAtExit(t *testing.T) {
	const node, name = "pve3", "vmbr4"
	var before int
	acctest.TestOutOfProcess(t, resource.TestCase{
		PreCheck: func() {
			acctest.PreCheck(t)
			before = reloads(t, node)
		},
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkDestroyed(t, "pve_network_bridge"),
		Steps: []resource.TestStep{{
			Config: lines(
				`resource "pve_network_bridge" "test" {`,
				`  node      = "`+node+`"`,
				`  name      = "`+name+`"`,
				`  cidr      = "10.44.0.13/24"`,
				`  autostart = true`,
				`}`),
			// Runs right after `apply` returned (and `show` read the state):
			// no refresh has read the node since the create.
			Check: reloadedAfterApply(t, node, name, &before),
		}},
	})
}

// reloadedAfterApply checks that node ran a network reload after *before
// reloads, waits for the newest to end (PVE runs a reload to its end once
// started), and that name is then active with nothing left staged.
func reloadedAfterApply(t *testing.T, node, name string, before *int) func(*terraform.State) error {
	return func(*terraform.State) error {
		c := acctest.PVEClient(t)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		tasks, err := c.NodeTasks(ctx, node, "srvreload")
		if err != nil {
			return err
		}
		if len(tasks) <= *before {
			cfg, err := c.NetworkConfig(ctx, node, "")
			if err != nil {
				return err
			}
			return fmt.Errorf("the apply staged %s on %s and the CLI has returned, but %s ran no network reload (%d before, %d now); staged changes:\n%s",
				name, node, node, *before, len(tasks), cfg.Changes)
		}
		if _, err := c.WaitTask(ctx, tasks[0].UPID, pve.WaitOptions{}); err != nil {
			return fmt.Errorf("the reload of %s: %w", node, err)
		}
		cfg, err := c.NetworkConfig(ctx, node, "")
		if err != nil {
			return err
		}
		if cfg.Changes != "" {
			return fmt.Errorf("%s still has staged network changes (/etc/network/interfaces.new) after its reload:\n%s", node, cfg.Changes)
		}
		switch i := cfg.Interface(name); {
		case i == nil:
			return fmt.Errorf("%s is not in the network configuration of %s", name, node)
		case !bool(i.Active):
			return fmt.Errorf("%s on %s is not active after the reload", name, node)
		}
		return nil
	}
}
