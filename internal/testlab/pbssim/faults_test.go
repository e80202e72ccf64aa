package pbssim

import (
	"net/http"
	"testing"
)

// A transient failure the error rate injects is PBS's own, not pveproxy's
// 596: proxmox-backup-proxy failing to reach proxmox-backup-api answers
// 400 with hyper's connect error.
func TestErrorRateAnswersAsPBS(t *testing.T) {
	s := startServer(t, Options{SchemaPath: "-"})
	s.Faults().SetErrorRate(1)
	c := newClient(t, s).withToken()
	c.call(http.MethodGet, "/version", nil).expect(t, http.StatusBadRequest, proxyConnectError)
	c.call(http.MethodPost, "/config/datastore", nil).expect(t, http.StatusBadRequest, proxyConnectError)
	s.Faults().SetErrorRate(0)
	if res := c.call(http.MethodGet, "/version", nil); res.Status != http.StatusOK {
		t.Errorf("without faults: %d %s", res.Status, res.Raw)
	}
}
