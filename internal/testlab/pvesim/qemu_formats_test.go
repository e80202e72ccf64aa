package pvesim

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/pvesim/pvetest"
)

// TestQemuNamedFormats: the cpu and ipconfig[n] options are checked as
// qemu-server checks them (qemu_formats.go), not accepted unchecked.
func TestQemuNamedFormats(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{Nodes: 1})
	requireSchema(t, lab)
	c := newCaller(t, lab).WithToken()
	create := func(key, value string) pvetest.Result {
		return c.Form(http.MethodPost, "/nodes/pve1/qemu", url.Values{"vmid": {"100"}, key: {value}})
	}
	for _, tt := range []struct{ key, value, want string }{
		{"cpu", "foo", "invalid format - Built-in cputype 'foo' is not defined (missing 'custom-' prefix?)\n"},
		{"cpu", "custom-fast", "invalid format - Custom cputype 'fast' not found\n"},
		{"cpu", "flags=+aes", "invalid format - CPU is missing cputype\n"},
		{"cpu", "kvm64,flags=+avx", "invalid format - VM-specific CPU flags must be a subset of: " + strings.Join(cpuSupportedFlags, ", ") + "\n"},
		{"cpu", "host,reported-model=EPYC", "invalid format - Property 'reported-model' not allowed in VM-specific CPU config.\n"},
		{"cpu", "host,phys-bits=72", "invalid format - format error\n"},
		{"cpu", "host,speed=fast", "invalid format - invalid key in comma-separated list property: speed\n"},
	} {
		res := create(tt.key, tt.value)
		if res.Status != http.StatusBadRequest || !strings.HasPrefix(fmt.Sprint(res.ErrorsMap()[tt.key]), tt.want) {
			t.Errorf("%s=%s: %d %v, want 400 with %s: %q", tt.key, tt.value, res.Status, res.ErrorsMap(), tt.key, tt.want)
		}
	}
	for _, v := range []string{"ip=10.0.0.5", "gw=10.0.0.1", "ip=dhcp,gw=nope"} {
		if res := create("ipconfig0", v); res.Status != http.StatusBadRequest || !strings.HasPrefix(fmt.Sprint(res.ErrorsMap()["ipconfig0"]), "invalid format - ") {
			t.Errorf("ipconfig0=%s: %d %v, want 400", v, res.Status, res.ErrorsMap())
		}
	}
	for key, v := range map[string]string{"cpu": "x86-64-v2-AES,flags=+aes;-pcid,phys-bits=host,hidden=1", "ipconfig0": "ip=10.0.0.5/24,gw=10.0.0.1,ip6=auto"} {
		res := c.Form(http.MethodPost, "/nodes/pve1/qemu", url.Values{"vmid": {"101"}, key: {v}})
		if res.Status != http.StatusOK {
			t.Errorf("%s=%s: %d %s, want accepted", key, v, res.Status, res.Raw)
		}
		c.Form(http.MethodDelete, "/nodes/pve1/qemu/101", nil)
		waitFor(t, func() bool { return c.Get("/nodes/pve1/qemu/101/status/current").Status != http.StatusOK })
	}
}
