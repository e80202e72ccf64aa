package apiclient

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-log/tflogtest"
)

// A large body is shown up to the cap, still redacted: secret fields and
// known secrets before the cut are masked, including one that straddles it.
func TestLogBodyCap(t *testing.T) {
	const secret = "S3CR3T-VALUE-0123456789"
	var b strings.Builder
	b.WriteString(`{"data":[`)
	for i := range 2000 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":"qemu/%d","name":"guest-%d","password":"pw%d","note":"%s"}`, i, i, i, secret)
	}
	b.WriteString(`]}`)
	body := []byte(b.String())
	got := logBody{contentType: "application/json", data: body, secrets: []string{secret}}.String()
	suffix := fmt.Sprintf("... (%d bytes in all)", len(body))
	if !strings.HasSuffix(got, suffix) {
		t.Fatalf("no truncation note %q at the end of %q", suffix, got[max(0, len(got)-80):])
	}
	shown := strings.TrimSuffix(got, suffix)
	if len(shown) > maxLoggedBody {
		t.Errorf("shown %d bytes, want at most %d", len(shown), maxLoggedBody)
	}
	if len(shown) < maxLoggedBody-64 {
		t.Errorf("shown only %d bytes of a %d byte body", len(shown), len(body))
	}
	if strings.Contains(got, "pw1") || strings.Contains(got, secret[:8]) {
		t.Errorf("a secret is in the log: %q", got)
	}
	if !strings.HasPrefix(got, `{"data":[{"id":"qemu/0","name":"guest-0","password":"***","note":"***"},`) {
		t.Errorf("got %q...", got[:120])
	}
	// a secret straddling the cut: the part before the cut must not show
	for shift := range len(secret) + 2 {
		text := strings.Repeat("x", maxLoggedBody-shift) + secret + strings.Repeat("y", 100)
		got := logBody{contentType: "text/plain", data: []byte(text), secrets: []string{secret}}.String()
		if strings.Contains(got, secret[:4]) {
			t.Fatalf("shift %d: part of the secret shows: ...%q", shift, got[maxLoggedBody-40:])
		}
	}
}

func TestLogLevels(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, tt := range []struct {
		env  map[string]string
		want LogLevel
	}{
		{map[string]string{}, LevelOff},
		{map[string]string{"TF_LOG": "debug"}, LevelDebug},
		{map[string]string{"TF_LOG": "json"}, LevelTrace},
		{map[string]string{"TF_LOG": "bogus"}, LevelTrace},
		{map[string]string{"TF_LOG": "trace", "TF_LOG_PROVIDER": "warn"}, LevelWarn},
		{map[string]string{"TF_LOG_PROVIDER": "INFO"}, LevelInfo},
	} {
		if got := CLILogLevel(env(tt.env)); got != tt.want {
			t.Errorf("CLILogLevel(%v) = %s, want %s", tt.env, got, tt.want)
		}
	}
	defer SetLogLevel(LevelTrace)
	SetLogLevel(LevelDebug)
	if Logs(LevelTrace) || !Logs(LevelDebug) || !Logs(LevelError) || Logs(LevelOff) {
		t.Error("at DEBUG: want debug and above only")
	}
}

// Started by a CLI that shows no logs, the SDK's loggers and the clients
// build nothing; a level the user set for one of them is kept.
func TestAlignPluginLogLevels(t *testing.T) {
	defer SetLogLevel(LevelTrace)
	for _, v := range append(PluginLogVars, "TF_LOG", "TF_LOG_PROVIDER", "TF_LOG_PROVIDER_PVE") {
		t.Setenv(v, "")
	}
	t.Setenv("TF_LOG_SDK_PROTO", "ERROR")
	if got := AlignPluginLogLevels("TF_LOG_PROVIDER_PVE"); got != LevelOff {
		t.Errorf("provider level %s, want OFF", got)
	}
	for v, want := range map[string]string{"TF_LOG_SDK": "OFF", "TF_LOG_SDK_FRAMEWORK": "OFF", "TF_LOG_SDK_PROTO": "ERROR", "TF_LOG_PROVIDER_PVE": "OFF"} {
		if got := os.Getenv(v); got != want {
			t.Errorf("%s = %q, want %q", v, got, want)
		}
	}
	if Logs(LevelError) {
		t.Error("the clients still log")
	}

	for _, v := range append(PluginLogVars, "TF_LOG_PROVIDER_PVE") {
		t.Setenv(v, "")
	}
	t.Setenv("TF_LOG", "DEBUG")
	if got := AlignPluginLogLevels("TF_LOG_PROVIDER_PVE"); got != LevelDebug || os.Getenv("TF_LOG_SDK_FRAMEWORK") != "DEBUG" {
		t.Errorf("TF_LOG=DEBUG: provider level %s, TF_LOG_SDK_FRAMEWORK %q", got, os.Getenv("TF_LOG_SDK_FRAMEWORK"))
	}
	if Logs(LevelTrace) || !Logs(LevelDebug) {
		t.Error("at TF_LOG=DEBUG the clients must log debug but not trace")
	}
}

type noAuth struct{}

func (noAuth) Apply(context.Context, http.Header) {}
func (noAuth) Secrets() []string                  { return []string{"hunter2"} }

// The transport writes its debug and trace lines only at their levels.
func TestTransportLogsOnlyEnabledLevels(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"data":{"password":"hunter2","n":1}}`))
	}))
	defer srv.Close()
	tr := &Transport{Base: http.DefaultTransport, Product: "PVE", Endpoint: srv.URL, Timeout: 5 * time.Second, MaxAttempts: 1, Auth: noAuth{},
		NewError:  func(method, path string, res *http.Response, body []byte) error { return fmt.Errorf("%s", res.Status) },
		Retryable: func(string, error) bool { return false }, Delay: func(int, error, float64) time.Duration { return 0 }}
	client := &http.Client{Transport: tr}
	defer SetLogLevel(LevelTrace)
	for _, tt := range []struct {
		level       LogLevel
		debug, body bool
	}{{LevelOff, false, false}, {LevelInfo, false, false}, {LevelDebug, true, false}, {LevelTrace, true, true}} {
		SetLogLevel(tt.level)
		var out bytes.Buffer
		ctx := tflogtest.RootLogger(context.Background(), &out)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/x", nil)
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		log := out.String()
		if got := strings.Contains(log, "PVE API response"); got != tt.debug {
			t.Errorf("%s: debug line written %v, want %v:\n%s", tt.level, got, tt.debug, log)
		}
		if got := strings.Contains(log, "http_response_body"); got != tt.body {
			t.Errorf("%s: body written %v, want %v:\n%s", tt.level, got, tt.body, log)
		}
		if strings.Contains(log, "hunter2") {
			t.Errorf("%s: the secret is in the log:\n%s", tt.level, log)
		}
	}
}
