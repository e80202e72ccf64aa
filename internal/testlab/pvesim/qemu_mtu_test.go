package pvesim

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/pvesim/pvetest"
)

// TestQemuNICMTU: a virtio NIC may not ask for a larger MTU than its
// bridge's (1500 on vmbr0 here), neither at start nor when hot-plugged
// (netMTUErrorLocked, qemu-server's print_netdevice_full).
func TestQemuNICMTU(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{Nodes: 1})
	c := newCaller(t, lab).WithToken()
	createSimpleVM(t, c, "pve1", 100, url.Values{"net0": {"virtio,bridge=vmbr0,mtu=9000"}})
	failTask(t, c, http.MethodPost, "/nodes/pve1/qemu/100/status/start", nil,
		"netdev net0: MTU '9000' is bigger than the bridge MTU '1500' - adjust the MTU for the network device in the VM configuration, while ensuring that the bridge is configured as desired.")

	createSimpleVM(t, c, "pve1", 101, url.Values{"net0": {"virtio,bridge=vmbr0,mtu=1400"}})
	runTask(t, c, http.MethodPost, "/nodes/pve1/qemu/101/status/start", nil)
	res := c.Form(http.MethodPut, "/nodes/pve1/qemu/101/config", url.Values{"net1": {"virtio,bridge=vmbr0,mtu=9000"}})
	if msg, _ := res.ErrorsMap()["net1"].(string); !strings.HasPrefix(msg, "hotplug problem - netdev net1: MTU '9000' is bigger than the bridge MTU '1500'") {
		t.Errorf("hot-plug of a NIC with MTU 9000: %d %s", res.Status, res.Raw)
	}
	pvetest.ExpectParamError(t, c.Form(http.MethodPut, "/nodes/pve1/qemu/101/config", url.Values{"net2": {"virtio,bridge=vmbr0,mtu=500"}}),
		"net2", "hotplug problem - netdev net2: MTU '500' is smaller than the IP minimum MTU '576'\n")
}
