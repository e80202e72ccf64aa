package network_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/hcilab/terraform-provider-pve/internal/acctest"
	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

func TestMain(m *testing.M) {
	os.Exit(acctest.Run(m))
}

// checkDestroyed is a CheckDestroy: every interface of the given resource
// type in the state is gone from its node's configuration.
func checkDestroyed(t *testing.T, resourceType string) func(*terraform.State) error {
	return func(s *terraform.State) error {
		c := acctest.PVEClient(t)
		for _, rs := range s.RootModule().Resources {
			if rs.Type != resourceType {
				continue
			}
			node, name := rs.Primary.Attributes["node"], rs.Primary.Attributes["name"]
			cfg, err := c.NetworkConfig(context.Background(), node, "")
			if err != nil {
				return err
			}
			if cfg.Interface(name) != nil {
				return fmt.Errorf("%s %s is still configured on node %s", resourceType, name, node)
			}
		}
		return nil
	}
}

// deleteOutOfBand removes an interface and reloads the node, as someone in
// the web UI would.
func deleteOutOfBand(t *testing.T, node, name string) func(*terraform.State) error {
	return func(*terraform.State) error {
		c := acctest.PVEClient(t)
		ctx := context.Background()
		if err := c.SettleNetwork(ctx, node); err != nil {
			return err
		}
		if err := c.DeleteNetworkInterface(ctx, node, name); err != nil {
			return err
		}
		_, err := c.ReloadNetwork(ctx, node)
		return err
	}
}

// stillConfigured checks that an interface is still on its node.
func stillConfigured(t *testing.T, node, name string) func(*terraform.State) error {
	return func(*terraform.State) error {
		cfg, err := acctest.PVEClient(t).NetworkConfig(context.Background(), node, "")
		if err != nil {
			return err
		}
		if cfg.Interface(name) == nil {
			return fmt.Errorf("%s is gone from node %s", name, node)
		}
		return nil
	}
}

// settleAll ends the runs of earlier steps and tests (in-process, a run
// ends when the next command starts), so that their reloads are not
// counted as this test's. It reaches the provider's runs only in-process
// (the provider then shares this process's pve package); out of process,
// each provider process ended its run when the CLI stopped it.
func settleAll(t *testing.T) {
	t.Helper()
	pve.FlushNetworkReloads(context.Background())
}

// reloads counts the network reloads a node has run.
func reloads(t *testing.T, node string) int {
	t.Helper()
	tasks, err := acctest.PVEClient(t).NodeTasks(context.Background(), node, "srvreload")
	if err != nil {
		t.Fatal(err)
	}
	return len(tasks)
}

func lines(s ...string) string { return strings.Join(s, "\n") + "\n" }
