package redfish

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stmcginnis/gofish/schemas"
)

func TestRetryTransport(t *testing.T) {
	var calls atomic.Int32
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, string(b))
		switch calls.Add(1) {
		case 1:
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(http.StatusServiceUnavailable)
		case 2:
			w.WriteHeader(http.StatusTooManyRequests)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	defer srv.Close()
	var waits []time.Duration
	rt := &retryTransport{base: http.DefaultTransport, max: 5, sleep: func(d time.Duration, _ *http.Request) bool {
		waits = append(waits, d)
		return true
	}}
	req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(`{"ResetType":"On"}`))
	res, err := rt.RoundTrip(req)
	if err != nil || res.StatusCode != http.StatusNoContent {
		t.Fatalf("got %v, %v", res, err)
	}
	if len(waits) != 2 || waits[0] != 2*time.Second || waits[1] != 2*time.Second {
		t.Errorf("waits = %v, want Retry-After's 2s, then the growing default (2s on the second retry)", waits)
	}
	for i, b := range bodies {
		if b != `{"ResetType":"On"}` {
			t.Errorf("attempt %d sent body %q: the body must be sent again", i+1, b)
		}
	}

	// A failure other than 503/429 is not retried.
	calls.Store(0)
	fail := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer fail.Close()
	req, _ = http.NewRequest(http.MethodPost, fail.URL, strings.NewReader(`{}`))
	if res, _ := rt.RoundTrip(req); res.StatusCode != 500 || calls.Load() != 1 {
		t.Errorf("a 500 must not be retried: %d calls", calls.Load())
	}

	// The retries end.
	busy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer busy.Close()
	req, _ = http.NewRequest(http.MethodGet, busy.URL, nil)
	if res, _ := (&retryTransport{base: http.DefaultTransport, max: 2, sleep: rt.sleep}).RoundTrip(req); res.StatusCode != 503 {
		t.Errorf("after the last retry the 503 is returned, got %d", res.StatusCode)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)
	if got := retryAfter("7", now); got != 7*time.Second {
		t.Errorf("seconds: %v", got)
	}
	if got := retryAfter(now.Add(5*time.Second).Format(http.TimeFormat), now); got != 5*time.Second {
		t.Errorf("date: %v", got)
	}
	if got := retryAfter("soon", now); got != 0 {
		t.Errorf("garbage: %v", got)
	}
}

func TestPickSlot(t *testing.T) {
	slots := []*schemas.VirtualMedia{
		{Entity: schemas.Entity{ID: "Floppy1"}, MediaTypes: []schemas.VirtualMediaType{"Floppy", "USBStick"}},
		{Entity: schemas.Entity{ID: "CD1"}, MediaTypes: []schemas.VirtualMediaType{"CD", "DVD"}},
	}
	for image, want := range map[string]string{
		"https://repo/proxmox-ve_9.1-1.iso":   "CD1",
		"http://repo/installer.IMG?token=abc": "Floppy1",
	} {
		got, err := PickSlot(slots, "", image)
		if err != nil || got.ID != want {
			t.Errorf("%s: %v, %v; want %s", image, got, err, want)
		}
	}
	if _, err := PickSlot(slots, "", "https://repo/image.qcow2"); err == nil || !strings.Contains(err.Error(), "set slot") {
		t.Errorf("an image no slot takes: %v", err)
	}
	if got, err := PickSlot(slots, "Floppy1", "x.iso"); err != nil || got.ID != "Floppy1" {
		t.Errorf("a named slot wins: %v, %v", got, err)
	}
	if _, err := PickSlot(slots, "USB9", "x.iso"); err == nil || !strings.Contains(err.Error(), "CD1 (CD, DVD)") {
		t.Errorf("an unknown slot names the slots there are: %v", err)
	}
}

func TestNewChecksConfig(t *testing.T) {
	for _, cfg := range []Config{{Endpoint: "ftp://bmc", Username: "root"}, {Endpoint: "https://bmc"}, {Endpoint: "https://bmc", Username: "u", CACertificate: "not pem"}} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%+v should be refused", cfg)
		}
	}
	c, err := New(Config{Endpoint: "https://10.0.0.1/redfish/v1/", Username: "root"})
	if err != nil || c.Endpoint() != "https://10.0.0.1" {
		t.Errorf("endpoint normalised: %v, %v", c, err)
	}
}
