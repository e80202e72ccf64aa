package pvesim

import (
	"net/http"
	"net/url"
	"testing"
)

// Changing a VM's cloud-init password stores a SHA-256 crypt hash as
// qemu-server does (the handler once cut a 42-character string at 43 and
// panicked).
func TestQemuCloudInitPasswordUpdate(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{Nodes: 1})
	c := newCaller(t, lab).WithToken()
	createSimpleVM(t, c, "pve1", 100, url.Values{"ide3": {"local-lvm:cloudinit"}, "cipassword": {"first"}})
	runTask(t, c, http.MethodPost, "/nodes/pve1/qemu/100/config", url.Values{"cipassword": {"second"}})
	cfg := dataMap(t, c.Get("/nodes/pve1/qemu/100/config"))
	if cfg["cipassword"] != "**********" {
		t.Errorf("cipassword in the config = %v, want it masked", cfg["cipassword"])
	}
}
