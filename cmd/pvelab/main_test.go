package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/bmcsim"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/cephlab"
)

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestRunWritesEnvAndStops(t *testing.T) {
	envFile := filepath.Join(t.TempDir(), "lab.env")
	ctx, cancel := context.WithCancel(context.Background())
	var stdout syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, config{nodes: 2, addr: "127.0.0.1:0", schema: "-", envFile: envFile}, &stdout, log.New(io.Discard, "", 0))
	}()

	var content []byte
	for range 500 {
		if b, err := os.ReadFile(envFile); err == nil {
			content = b
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if content == nil {
		cancel()
		t.Fatalf("env file not written: %v", <-done)
	}
	if st, err := os.Stat(envFile); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("env file mode = %v, %v; want 0600", st.Mode().Perm(), err)
	}
	lines := strings.Split(strings.TrimSpace(string(content)), "\n")
	if len(lines) != 5+2*2+2+2+1 || !strings.HasPrefix(lines[0], "export PVE_ENDPOINT=https://127.0.0.1:") {
		t.Errorf("env file = %q", content)
	}
	// pve1's lines repeat PVE_ENDPOINT and PVE_TLS_FINGERPRINT; pve2 has its own port
	endpoint := strings.TrimPrefix(lines[0], "export PVE_ENDPOINT=")
	if len(lines) == 14 {
		if lines[5] != "export PVE_ENDPOINT_PVE1="+endpoint || strings.TrimPrefix(lines[6], "export PVE_TLS_FINGERPRINT_PVE1=") != strings.TrimPrefix(lines[2], "export PVE_TLS_FINGERPRINT=") {
			t.Errorf("pve1 lines %q, %q", lines[5], lines[6])
		}
		if !strings.HasPrefix(lines[7], "export PVE_ENDPOINT_PVE2=https://127.0.0.1:") || lines[7] == "export PVE_ENDPOINT_PVE2="+endpoint ||
			!strings.HasPrefix(lines[8], "export PVE_TLS_FINGERPRINT_PVE2=") {
			t.Errorf("pve2 lines %q, %q", lines[7], lines[8])
		}
		// then the BMCs: credentials and one endpoint per node, none a node's
		if lines[9] != "export BMC_USERNAME=ADMIN" || !strings.HasPrefix(lines[10], "export BMC_PASSWORD=") ||
			!strings.HasPrefix(lines[11], "export BMC_ENDPOINT_PVE1=https://127.0.0.1:") ||
			!strings.HasPrefix(lines[12], "export BMC_ENDPOINT_PVE2=https://127.0.0.1:") ||
			strings.TrimPrefix(lines[11], "export BMC_ENDPOINT_PVE1=") == endpoint {
			t.Errorf("BMC lines %q", lines[9:13])
		}
		// then the download server
		if !strings.HasPrefix(lines[13], "export PVE_LAB_FILES_URL=http://127.0.0.1:") {
			t.Errorf("download server line %q", lines[13])
		}
	}
	if stdout.String() != string(content) {
		t.Errorf("stdout %q differs from env file %q", stdout.String(), content)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	if _, err := os.Stat(envFile); !os.IsNotExist(err) {
		t.Errorf("env file left behind: %v", err)
	}
}

// With -standalone every node is a PVE host of its own.
func TestRunStandalone(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, config{nodes: 2, standalone: true, addr: "127.0.0.1:0", schema: "-", bmc: "manager"}, &stdout, log.New(io.Discard, "", 0))
	}()
	env := map[string]string{}
	for range 500 {
		if strings.Count(stdout.String(), "\n") == 13 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		k, v, _ := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		env[k] = strings.Trim(v, "'")
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // a test of the lab's answers
	req, err := http.NewRequest(http.MethodGet, env["PVE_ENDPOINT_PVE2"]+"/api2/json/cluster/status", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "PVEAPIToken="+env["PVE_API_TOKEN"])
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Data []map[string]any }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if len(body.Data) != 1 || body.Data[0]["name"] != "pve2" || body.Data[0]["type"] != "node" {
		t.Errorf("pve2's /cluster/status = %v", body.Data)
	}
	// pve2's BMC answers with the BMC credentials
	req, err = http.NewRequest(http.MethodGet, env["BMC_ENDPOINT_PVE2"]+"/redfish/v1/Systems", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(env["BMC_USERNAME"], env["BMC_PASSWORD"])
	bmcResp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer bmcResp.Body.Close()
	var systems struct {
		Count int `json:"Members@odata.count"`
	}
	if err := json.NewDecoder(bmcResp.Body).Decode(&systems); err != nil || bmcResp.StatusCode != http.StatusOK || systems.Count != 1 {
		t.Errorf("pve2's BMC: %s, %d systems, %v", bmcResp.Status, systems.Count, err)
	}
	// -bmc manager: the virtual media are under the manager
	req, _ = http.NewRequest(http.MethodGet, env["BMC_ENDPOINT_PVE2"]+"/redfish/v1/Managers/BMC/VirtualMedia", nil)
	req.SetBasicAuth(env["BMC_USERNAME"], env["BMC_PASSWORD"])
	if mediaResp, err := client.Do(req); err != nil || mediaResp.StatusCode != http.StatusOK {
		t.Errorf("virtual media under the manager: %v %v", mediaResp, err)
	} else {
		mediaResp.Body.Close()
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}

// -standalone and -pve-version together: standalone hosts of PVE 8.4.
func TestRunStandalonePVE8(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, config{nodes: 2, standalone: true, version: "8.4", addr: "127.0.0.1:0", schema: "-"}, &stdout, log.New(io.Discard, "", 0))
	}()
	for range 500 {
		if strings.Count(stdout.String(), "\n") == 13 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	env := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		k, v, _ := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		env[k] = strings.Trim(v, "'")
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // a test of the lab's answers
	get := func(path string, v any) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, env["PVE_ENDPOINT_PVE2"]+"/api2/json"+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "PVEAPIToken="+env["PVE_API_TOKEN"])
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatal(err)
		}
	}
	var status struct{ Data []map[string]any }
	get("/cluster/status", &status)
	if len(status.Data) != 1 || status.Data[0]["name"] != "pve2" || status.Data[0]["type"] != "node" {
		t.Errorf("pve2's /cluster/status = %v", status.Data)
	}
	var version struct{ Data map[string]any }
	get("/version", &version)
	if version.Data["version"] != "8.4.1" || version.Data["release"] != "8.4" {
		t.Errorf("pve2's /version = %v", version.Data)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}

func TestParseBMCVariant(t *testing.T) {
	v, err := parseBMCVariant("manager, patch,tasks,busy=1500ms,sessions=8")
	if err != nil || !v.VirtualMediaUnderManager || !v.PatchVirtualMedia || !v.TaskActions ||
		v.BusyAfterPowerOn != 1500*time.Millisecond || v.MaxSessions != 8 {
		t.Errorf("variant %+v, %v", v, err)
	}
	if v, err := parseBMCVariant(""); err != nil || v != (bmcsim.Variant{}) {
		t.Errorf("empty: %+v, %v", v, err)
	}
	for _, bad := range []string{"idrac", "busy=soon", "sessions=many"} {
		if _, err := parseBMCVariant(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if err := run(context.Background(), config{nodes: 1, schema: "-", bmc: "nonsense"}, io.Discard, log.New(io.Discard, "", 0)); err == nil {
		t.Error("run accepted -bmc nonsense")
	}
}

// -ca-file writes the lab CA, which verifies the nodes and the BMCs.
func TestRunWritesCAFile(t *testing.T) {
	dir := t.TempDir()
	envFile, caFile := filepath.Join(dir, "lab.env"), filepath.Join(dir, "ca.pem")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, config{nodes: 1, addr: "127.0.0.1:0", schema: "-", envFile: envFile, caFile: caFile}, io.Discard, log.New(io.Discard, "", 0))
	}()
	var pem []byte
	for range 500 {
		if _, err := os.Stat(envFile); err == nil {
			pem, _ = os.ReadFile(caFile)
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.HasPrefix(string(pem), "-----BEGIN CERTIFICATE-----") {
		t.Errorf("CA file = %q", pem)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(caFile); !os.IsNotExist(err) {
		t.Errorf("CA file left behind: %v", err)
	}
}

// With -ceph the nodes' Ceph API runs on a real cluster, whose address
// and key are exported too.
func TestRunCeph(t *testing.T) {
	cephlab.Require(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, config{nodes: 1, ceph: true, addr: "127.0.0.1:0", schema: "-"}, &stdout, log.New(io.Discard, "", 0))
	}()
	env := map[string]string{}
	for range 3000 {
		if strings.Contains(stdout.String(), "CEPH_KEY=") {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("run: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		k, v, _ := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		env[k] = strings.Trim(v, "'")
	}
	if !strings.HasPrefix(env["CEPH_MON_HOST"], "[v2:127.0.0.1:") || env["CEPH_USER"] != "admin" || !strings.HasPrefix(env["CEPH_KEY"], "AQ") {
		t.Errorf("Ceph lines in %q", stdout.String())
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // a test of the lab's answers
	req, err := http.NewRequest(http.MethodGet, env["PVE_ENDPOINT"]+"/api2/json/nodes/pve1/ceph/rules", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "PVEAPIToken="+env["PVE_API_TOKEN"])
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Data []map[string]any }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if len(body.Data) != 1 || body.Data[0]["name"] != "replicated_rule" {
		t.Errorf("/nodes/pve1/ceph/rules = %v", body.Data)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}

// With -pbs a simulated PBS runs beside the nodes, with a certificate of
// the same CA, and its connection settings are exported.
func TestRunPBS(t *testing.T) {
	dir := t.TempDir()
	envFile, caFile := filepath.Join(dir, "lab.env"), filepath.Join(dir, "ca.pem")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, config{nodes: 1, pbs: true, addr: "127.0.0.1:0", schema: "-", envFile: envFile, caFile: caFile}, io.Discard, log.New(io.Discard, "", 0))
	}()
	var content []byte
	for range 500 {
		if b, err := os.ReadFile(envFile); err == nil {
			content = b
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	env := map[string]string{}
	var names []string
	for _, line := range strings.Split(strings.TrimSpace(string(content)), "\n") {
		k, v, _ := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		env[k] = strings.Trim(v, "'")
		names = append(names, k)
	}
	if tail := strings.Join(names[len(names)-5:], " "); tail != "PBS_ENDPOINT PBS_USERNAME PBS_PASSWORD PBS_TLS_FINGERPRINT PBS_API_TOKEN" {
		t.Fatalf("last lines %s in %q", tail, content)
	}
	if !strings.HasPrefix(env["PBS_ENDPOINT"], "https://127.0.0.1:") || env["PBS_ENDPOINT"] == env["PVE_ENDPOINT"] || env["PBS_USERNAME"] != "root@pam" {
		t.Errorf("PBS lines %v", env)
	}
	// the PBS trusts the lab CA's clients and logs in with the exported password
	ca, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.PostForm(env["PBS_ENDPOINT"]+"/api2/json/access/ticket", url.Values{"username": {env["PBS_USERNAME"]}, "password": {env["PBS_PASSWORD"]}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.TLS == nil || len(resp.TLS.PeerCertificates) == 0 {
		t.Fatalf("login: %s", resp.Status)
	}
	sum := sha256.Sum256(resp.TLS.PeerCertificates[0].Raw)
	if fp := strings.ToUpper(strings.Join(hexPairs(sum[:]), ":")); fp != env["PBS_TLS_FINGERPRINT"] {
		t.Errorf("PBS_TLS_FINGERPRINT %s, the server shows %s", env["PBS_TLS_FINGERPRINT"], fp)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func hexPairs(b []byte) []string {
	out := make([]string, len(b))
	for i, c := range b {
		out[i] = hex.EncodeToString([]byte{c})
	}
	return out
}

// The fault flags reach the servers: with -error-rate 1 every call is
// answered 596, as pveproxy answers when its worker does not.
func TestRunFaultFlags(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, config{nodes: 1, addr: "127.0.0.1:0", schema: "-", faults: faultFlags{errorRate: 1, latency: time.Millisecond}},
			&stdout, log.New(io.Discard, "", 0))
	}()
	env := map[string]string{}
	for range 500 {
		if strings.Contains(stdout.String(), "PVE_LAB_FILES_URL") {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		k, v, _ := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		env[k] = strings.Trim(v, "'")
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // a test of the lab's answers
	req, err := http.NewRequest(http.MethodGet, env["PVE_ENDPOINT"]+"/api2/json/version", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "PVEAPIToken="+env["PVE_API_TOKEN"])
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 596 {
		t.Errorf("GET /version with -error-rate 1: %s, want 596", resp.Status)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
