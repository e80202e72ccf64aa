package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestRunStatsCounter checks -stats-addr: the counter counts the requests
// PVE answered, by route, and a reset sets them to zero.
func TestRunStatsCounter(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, config{nodes: 1, addr: "127.0.0.1:0", schema: "-", statsAddr: "127.0.0.1:0"}, &stdout, log.New(io.Discard, "", 0))
	}()
	for range 500 {
		if strings.Contains(stdout.String(), "PVE_LAB_STATS_URL") {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	env := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		k, v, _ := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		env[k] = strings.Trim(v, "'")
	}
	stats := env["PVE_LAB_STATS_URL"]
	if !strings.HasPrefix(stats, "http://127.0.0.1:") {
		t.Fatalf("PVE_LAB_STATS_URL = %q (output %q)", stats, stdout.String())
	}
	counts := func() map[string]requestCounts {
		t.Helper()
		res, err := http.Get(stats + "/requests")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out map[string]requestCounts
		if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	reset := func() {
		t.Helper()
		res, err := http.Post(stats+"/requests/reset", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("reset: %s", res.Status)
		}
	}
	reset()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // a test of the lab's answers
	for _, p := range []string{"/version", "/version", "/nodes/pve1/qemu"} {
		req, err := http.NewRequest(http.MethodGet, env["PVE_ENDPOINT"]+"/api2/json"+p, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "PVEAPIToken="+env["PVE_API_TOKEN"])
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	got := counts()["pve"]
	if got.Total != 3 || got.Requests["GET /version"] != 2 || got.Requests["GET /nodes/{node}/qemu"] != 1 {
		t.Errorf("counts = %+v, want 3 in all: 2 GET /version, 1 GET /nodes/{node}/qemu", got)
	}
	reset()
	if got := counts()["pve"]; got.Total != 0 {
		t.Errorf("after reset: %+v", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
