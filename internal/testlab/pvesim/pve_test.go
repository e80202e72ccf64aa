package pvesim

import (
	"bufio"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/pvesim/pvetest"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/sim/simtest"
)

func TestEnvLinesEvaluate(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh to evaluate the lines with")
	}
	lab := startLab(t, Options{})
	script := strings.Join(lab.EnvLines(), "\n") +
		"\nprintf '%s|%s|%s|%s|%s' \"$PVE_ENDPOINT\" \"$PVE_API_TOKEN\" \"$PVE_TLS_FINGERPRINT\" \"$PVE_USERNAME\" \"$PVE_PASSWORD\""
	out, err := exec.Command(sh, "-c", script).Output()
	if err != nil {
		t.Fatalf("sh: %v", err)
	}
	want := strings.Join([]string{lab.Endpoint(), lab.APIToken(), lab.Fingerprint(), lab.Username(), lab.Password()}, "|")
	if string(out) != want {
		t.Fatalf("evaluated %q, want %q", out, want)
	}
	if !strings.HasPrefix(lab.APIToken(), "root@pam!lab=") || !strings.HasPrefix(lab.Endpoint(), "https://127.0.0.1:") {
		t.Errorf("token %q endpoint %q", lab.APIToken(), lab.Endpoint())
	}
}

func TestCertificateAndFingerprint(t *testing.T) {
	lab := startLab(t, Options{})
	for _, host := range []string{"127.0.0.1", "localhost"} {
		client := simtest.HTTPClient(t, lab.CACertPEM())
		url := strings.Replace(lab.Endpoint(), "127.0.0.1", host, 1) + "/api2/json/version"
		resp, err := client.Get(url)
		if err != nil {
			t.Fatalf("%s: %v", host, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: %s", host, resp.Status)
		}
	}

	// A client pinning the fingerprint, as the provider can, sees that certificate.
	conn, err := tls.Dial("tcp", strings.TrimPrefix(lab.Endpoint(), "https://"), &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // the test checks the fingerprint itself
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	sum := sha256.Sum256(conn.ConnectionState().PeerCertificates[0].Raw)
	var parts []string
	for _, b := range sum {
		parts = append(parts, fmt.Sprintf("%02X", b))
	}
	if got := strings.Join(parts, ":"); got != lab.Fingerprint() {
		t.Errorf("served certificate %s, Fingerprint() %s", got, lab.Fingerprint())
	}
}

func TestStartOptions(t *testing.T) {
	if _, err := Start(Options{Nodes: -1}); err == nil {
		t.Error("negative node count accepted")
	}
	if _, err := Start(Options{Addr: "256.0.0.1:0"}); err == nil {
		t.Error("bad address accepted")
	}
	lab := startLab(t, Options{Nodes: 5, Addr: "localhost:0"})
	res := newCaller(t, lab).WithToken().Get("/nodes")
	if n := len(res.Body["data"].([]any)); n != 5 {
		t.Errorf("%d nodes, want 5", n)
	}
}

func TestKeepAliveAndGzip(t *testing.T) {
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()
	// /nodes/{node}/status is larger than 1 KiB and arrives compressed; Go's
	// client decompresses it transparently.
	for range 3 {
		res := c.Get("/nodes/pve1/status")
		pvetest.Expect(t, res, http.StatusOK, "OK")
		if res.Body["data"].(map[string]any)["pveversion"] != "pve-manager/9.1.3/"+pveRepoID {
			t.Fatalf("status %s", res.Raw)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, lab.Endpoint()+"/api2/json/nodes/pve1/status", nil)
	req.Header.Set("Authorization", "PVEAPIToken="+lab.APIToken())
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Errorf("Content-Encoding = %q", resp.Header.Get("Content-Encoding"))
	}
}

// TestIdleConnectionClosed: pveproxy closes a connection that sends nothing
// for 5 s, between requests too (pveproxyTimeout).
func TestIdleConnectionClosed(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{Nodes: 1})
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(lab.CACertPEM()))
	conn, err := tls.Dial("tcp", strings.TrimPrefix(lab.Endpoint(), "https://"), &tls.Config{RootCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("GET /api2/json/version HTTP/1.1\r\nHost: pve1\r\nAuthorization: PVEAPIToken=" + lab.APIToken() + "\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("first request: %v, %v", resp, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	start := time.Now()
	_ = conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
		t.Fatalf("idle connection: read %v, want EOF (closed by the server)", err)
	}
	if idle := time.Since(start); idle < 4500*time.Millisecond {
		t.Errorf("the server closed the idle connection after %s, want 5s", idle)
	}
}
