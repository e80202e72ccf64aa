package pvesim

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/pvesim/pvetest"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/sim"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/sim/simtest"
)

func TestErrorRate(t *testing.T) {
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()
	lab.Faults().SetErrorRate(1)
	res := c.Get("/nodes")
	pvetest.Expect(t, res, 596, "Connection timed out")
	// Logins still work, so that clients can authenticate at all.
	login := newCaller(t, lab).Form(http.MethodPost, "/access/ticket", url.Values{"username": {"root@pam"}, "password": {lab.Password()}})
	pvetest.Expect(t, login, http.StatusOK, "OK")

	lab.Faults().Reset()
	pvetest.Expect(t, c.Get("/nodes"), http.StatusOK, "OK")
}

func TestDropRate(t *testing.T) {
	lab := startLab(t, Options{})
	lab.Faults().SetDropRate(1)
	client := simtest.HTTPClient(t, lab.CACertPEM())
	req, _ := http.NewRequest(http.MethodGet, lab.Endpoint()+"/api2/json/version", nil)
	req.Header.Set("Authorization", "PVEAPIToken="+lab.APIToken())
	resp, err := client.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("got %s, want the connection dropped", resp.Status)
	}
	lab.Faults().SetDropRate(0)
	pvetest.Expect(t, newCaller(t, lab).WithToken().Get("/version"), http.StatusOK, "OK")
}

func TestFailNextRequests(t *testing.T) {
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()
	lab.Faults().FailNextRequests(2, http.StatusServiceUnavailable, "Service Unavailable")
	for range 2 {
		res := c.Get("/version")
		pvetest.Expect(t, res, http.StatusServiceUnavailable, "Service Unavailable")
		if res.Body["message"] != "Service Unavailable" || res.Body["data"] != nil {
			t.Errorf("body %s", res.Raw)
		}
	}
	pvetest.Expect(t, c.Get("/version"), http.StatusOK, "OK")
}

func TestLockContention(t *testing.T) {
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()
	called := 0
	lab.Handle(http.MethodPut, "/nodes/{node}/qemu/{vmid}/config", func(r *Request) (any, error) {
		called++
		if r.PathParams["vmid"] != "100" || r.Params["vmid"] != "100" || r.Template != "/nodes/{node}/qemu/{vmid}/config" {
			t.Errorf("request = %+v", r)
		}
		return nil, nil
	})
	lab.Faults().SetLockContention(1)
	res := c.Form(http.MethodPut, "/nodes/pve1/qemu/100/config", url.Values{"name": {"web"}})
	pvetest.Expect(t, res, http.StatusInternalServerError, "can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout")
	if called != 0 {
		t.Fatal("handler ran despite the lock timeout")
	}
	// Reading takes no lock.
	pvetest.Expect(t, c.Get("/nodes/pve1/status"), http.StatusOK, "OK")

	// A route can name its own lock.
	lab.Handle(http.MethodPut, "/nodes/{node}/dns", func(*Request) (any, error) { return nil, nil },
		WithLockMessage(func(r *Request) string {
			return "can't lock file '/etc/resolv.conf.lock' - got timeout (" + r.PathParams["node"] + ")"
		}))
	res = c.Form(http.MethodPut, "/nodes/pve2/dns", url.Values{"search": {"lab.example"}})
	pvetest.Expect(t, res, http.StatusInternalServerError, "can't lock file '/etc/resolv.conf.lock' - got timeout (pve2)")

	lab.Faults().SetLockContention(0)
	pvetest.Expect(t, c.Form(http.MethodPut, "/nodes/pve1/qemu/100/config", url.Values{"name": {"web"}}), http.StatusOK, "OK")
	if called != 1 {
		t.Fatalf("handler ran %d times", called)
	}
}

func TestLatency(t *testing.T) {
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()
	lab.Faults().SetLatency(40 * time.Millisecond)
	start := time.Now()
	pvetest.Expect(t, c.Get("/version"), http.StatusOK, "OK")
	if elapsed := time.Since(start); elapsed < 40*time.Millisecond {
		t.Errorf("answer after %v, want at least the latency", elapsed)
	}
}

func TestConcurrentRequests(t *testing.T) {
	lab := startLab(t, Options{})
	lab.Faults().SetErrorRate(0.2)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := simtest.HTTPClient(t, lab.CACertPEM())
			node := fmt.Sprintf("pve%d", w%3+1)
			for i := range 15 {
				upid := lab.StartTask(node, "qmstart", fmt.Sprint(100+i), "root@pam", time.Millisecond, []string{"start"})
				for _, path := range []string{"/nodes/" + node + "/status", "/nodes/" + node + "/tasks", "/nodes/" + node + "/tasks/" + url.PathEscape(upid) + "/status"} {
					req, _ := http.NewRequest(http.MethodGet, lab.Endpoint()+"/api2/json"+path, nil)
					req.Header.Set("Authorization", "PVEAPIToken="+lab.APIToken())
					resp, err := client.Do(req)
					if err != nil {
						t.Errorf("%s: %v", path, err)
						continue
					}
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK && resp.StatusCode != sim.TransientStatus {
						t.Errorf("%s: %s", path, resp.Status)
					}
				}
				if i%5 == 0 {
					lab.Faults().SetLatency(time.Duration(i) * time.Microsecond)
				}
			}
		}()
	}
	wg.Wait()
	total := 0
	for _, n := range lab.Requests() {
		total += n
	}
	if total != 8*15*3 {
		t.Errorf("counted %d requests, want %d", total, 8*15*3)
	}
}

func TestRequestCounters(t *testing.T) {
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()
	for range 3 {
		c.Get("/nodes/pve1/status")
	}
	c.Get("/nodes/pve2/status")
	c.Get("/version")
	c.Get("/no/such/path")
	got := lab.Requests()
	want := map[string]int{"GET /nodes/{node}/status": 4, "GET /version": 1, "GET /no/such/path": 1}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("Requests()[%q] = %d, want %d (all: %v)", k, got[k], v, got)
		}
	}
	lab.ResetRequests()
	if n := len(lab.Requests()); n != 0 {
		t.Errorf("after reset: %v", lab.Requests())
	}
}

func TestHandleRegistry(t *testing.T) {
	lab := startLab(t, Options{})
	requireSchema(t, lab)
	c := newCaller(t, lab).WithToken()
	calls := 0
	lab.Handle(http.MethodGet, "/nodes/{node}/network", func(r *Request) (any, error) {
		calls++
		typ, _ := r.String("type")
		return []map[string]any{{"iface": "vmbr0", "type": "bridge", "node": r.PathParams["node"], "filter": typ}}, nil
	})
	res := c.Form(http.MethodGet, "/nodes/pve3/network", url.Values{"type": {"bridge"}})
	pvetest.Expect(t, res, http.StatusOK, "OK")
	if entry := res.Body["data"].([]any)[0].(map[string]any); entry["node"] != "pve3" || entry["filter"] != "bridge" {
		t.Errorf("answer %s", res.Raw)
	}
	// Invalid input never reaches the handler.
	pvetest.ExpectParamError(t, c.Form(http.MethodGet, "/nodes/pve3/network", url.Values{"type": {"wifi"}}), "type",
		"value 'wifi' does not have a value in the enumeration 'bridge, bond, eth, alias, vlan, fabric, OVSBridge, OVSBond, OVSPort, OVSIntPort, vnet, any_bridge, any_local_bridge, include_sdn'")
	if calls != 1 {
		t.Errorf("handler ran %d times, want 1", calls)
	}
}

// A lost answer comes after the request was carried out: the connection
// is reset, and what the request made is there.
func TestLoseNextAnswers(t *testing.T) {
	lab := startLab(t, Options{})
	lab.Faults().LoseNextAnswers(1, http.MethodPost, "/pools")
	client := simtest.HTTPClient(t, lab.CACertPEM())
	req, _ := http.NewRequest(http.MethodPost, lab.Endpoint()+"/api2/json/pools", strings.NewReader("poolid=lost"))
	req.Header.Set("Authorization", "PVEAPIToken="+lab.APIToken())
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := client.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("got %s, want the connection reset", resp.Status)
	}
	c := newCaller(t, lab).WithToken()
	pvetest.Expect(t, c.Get("/pools/lost"), http.StatusOK, "OK")
	// only the next one
	pvetest.Expect(t, c.Form(http.MethodPost, "/pools", url.Values{"poolid": {"kept"}}), http.StatusOK, "OK")
}
