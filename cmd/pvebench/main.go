// Command pvebench measures what the provider costs for many guests, the
// way users run it: the real Terraform CLI (OpenTofu) with the built
// provider installed from a filesystem mirror (as examples/demo/run.sh
// does), against `pvelab -latency 20ms` with its request counter
// (-stats-addr).
//
//	go run ./cmd/pvebench -tofu PATH -provider PATH -pvelab PATH [-counts 100,1000] [-kinds vm,container] [-latency 20ms] [-jitter 0] [-plans 3] [-pprof DIR]
//
// For each kind and count it applies that many guests, plans (a refresh of
// all of them, -plans times, the median reported), plans with
// -refresh=false, and destroys them; for each step it prints the wall
// time, the API requests the lab answered (in all and per guest), the CPU
// of the provider processes (user + system, from their rusage), the CPU of
// the CLI itself, and the provider's peak RSS. With -keep the work
// directory keeps each step's requests per route (<step>.requests.json).
//
// The provider's CPU and RSS come from a wrapper: the file the CLI runs as
// the provider is this program, which runs the real provider with the same
// standard input and output (the plugin handshake passes straight through),
// waits for it, and appends the provider's rusage to a file
// (PVEBENCH_PROVIDER, PVEBENCH_RUSAGE).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/profiling"
	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

func main() {
	if real := os.Getenv("PVEBENCH_PROVIDER"); real != "" {
		os.Exit(wrap(real, os.Getenv("PVEBENCH_RUSAGE")))
	}
	var o options
	var counts, kinds string
	flag.StringVar(&o.tofu, "tofu", "", "the OpenTofu binary")
	flag.StringVar(&o.provider, "provider", "", "the built provider binary (terraform-provider-pve)")
	flag.StringVar(&o.pvelab, "pvelab", "", "the built pvelab binary")
	flag.StringVar(&counts, "counts", "100,1000", "guest counts to measure, comma separated")
	flag.StringVar(&kinds, "kinds", "vm,container", "guest kinds to measure: vm, container")
	flag.DurationVar(&o.latency, "latency", 20*time.Millisecond, "pvelab -latency")
	flag.DurationVar(&o.jitter, "jitter", 0, "pvelab -jitter")
	flag.IntVar(&o.plans, "plans", 3, "plans (refreshes) per count; the median is reported")
	flag.IntVar(&o.parallelism, "parallelism", 10, "the CLI's -parallelism (10 is its default)")
	flag.BoolVar(&o.keep, "keep", false, "keep the work directories")
	flag.StringVar(&o.pprof, "pprof", "", "write the provider's CPU and heap profiles of each step to DIR/<kind>-<guests>-<step>/ (internal/profiling)")
	flag.Parse()
	if o.tofu == "" || o.provider == "" || o.pvelab == "" {
		log.Fatal("pvebench: -tofu, -provider and -pvelab are required")
	}
	if o.pprof != "" {
		var err error
		if o.pprof, err = filepath.Abs(o.pprof); err != nil {
			log.Fatal(err)
		}
	}
	for _, s := range strings.Split(counts, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			log.Fatalf("pvebench: bad count %q", s)
		}
		o.counts = append(o.counts, n)
	}
	for _, k := range strings.Split(kinds, ",") {
		switch k = strings.TrimSpace(k); k {
		case "vm", "container":
			o.kinds = append(o.kinds, k)
		default:
			log.Fatalf("pvebench: unknown kind %q", k)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Printf("pvebench: %s, pvelab -latency %s -jitter %s, -parallelism %d, GOMAXPROCS %d\n",
		firstLine(o.tofu), o.latency, o.jitter, o.parallelism, runtime.GOMAXPROCS(0))
	if d, err := providerStart(o.provider, 5); err != nil {
		log.Printf("pvebench: provider start: %v", err)
	} else {
		fmt.Printf("provider start (exec to plugin handshake), median of 5: %.1f ms\n", float64(d.Microseconds())/1000)
	}
	fmt.Printf("%-9s %6s %-15s %9s %9s %8s %11s %11s %9s %9s\n",
		"kind", "guests", "step", "wall s", "requests", "req/guest", "prov CPU s", "CPU ms/guest", "CLI CPU s", "peak RSS")
	failed := false
	for _, kind := range o.kinds {
		for _, n := range o.counts {
			if err := o.measure(ctx, kind, n); err != nil {
				log.Printf("pvebench: %s x %d: %v", kind, n, err)
				failed = true
			}
		}
	}
	if failed {
		os.Exit(1)
	}
}

type options struct {
	tofu, provider, pvelab string
	counts                 []int
	kinds                  []string
	latency, jitter        time.Duration
	plans, parallelism     int
	keep                   bool
	pprof                  string
}

// result is what one step cost.
type result struct {
	wall       time.Duration
	requests   int
	provCPU    time.Duration
	cliCPU     time.Duration
	peakRSSKiB int64
}

// measure runs apply, plans, a plan without refresh and destroy of n guests
// of kind against a fresh lab.
func (o options) measure(ctx context.Context, kind string, n int) error {
	work, err := os.MkdirTemp("", "pvebench-")
	if err != nil {
		return err
	}
	if !o.keep {
		defer os.RemoveAll(work)
	} else {
		log.Printf("pvebench: work directory %s", work)
	}
	env, stopLab, err := o.startLab(ctx, work)
	if err != nil {
		return err
	}
	defer stopLab()
	if kind == "container" {
		if err := downloadTemplates(ctx, env); err != nil {
			return err
		}
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	provider, err := filepath.Abs(o.provider)
	if err != nil {
		return err
	}
	platform := runtime.GOOS + "_" + runtime.GOARCH
	plugins := filepath.Join(work, "plugins", "registry.opentofu.org", "hcilab", "pve", "0.1.0", platform)
	if err := os.MkdirAll(plugins, 0o755); err != nil {
		return err
	}
	if err := copyFile(self, filepath.Join(plugins, "terraform-provider-pve_v0.1.0")); err != nil {
		return err
	}
	dir := filepath.Join(work, "config")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(config(kind, n)), 0o644); err != nil {
		return err
	}
	tfrc := filepath.Join(work, "tfrc")
	if err := os.WriteFile(tfrc, nil, 0o644); err != nil {
		return err
	}
	rusage := filepath.Join(work, "rusage.jsonl")
	cliEnv := append(os.Environ(), env...)
	cliEnv = append(cliEnv, "TF_CLI_CONFIG_FILE="+tfrc, "TF_IN_AUTOMATION=1",
		"PVEBENCH_PROVIDER="+provider, "PVEBENCH_RUSAGE="+rusage)
	statsURL := lookup(env, "PVE_LAB_STATS_URL")

	step := func(name string, args ...string) (result, error) {
		if err := os.Remove(rusage); err != nil && !errors.Is(err, os.ErrNotExist) {
			return result{}, err
		}
		if err := resetRequests(statsURL); err != nil {
			return result{}, err
		}
		cmd := exec.CommandContext(ctx, o.tofu, args...)
		cmd.Dir, cmd.Env = dir, cliEnv
		if o.pprof != "" {
			pdir := filepath.Join(o.pprof, fmt.Sprintf("%s-%d-%s", kind, n, name))
			if err := os.MkdirAll(pdir, 0o755); err != nil {
				return result{}, err
			}
			cmd.Env = append(slices.Clip(cliEnv), profiling.EnvDir+"="+pdir)
		}
		out, err := os.Create(filepath.Join(work, name+".log"))
		if err != nil {
			return result{}, err
		}
		defer out.Close()
		cmd.Stdout, cmd.Stderr = out, out
		start := time.Now()
		err = cmd.Run()
		r := result{wall: time.Since(start)}
		if err != nil {
			tail, _ := os.ReadFile(out.Name())
			return r, fmt.Errorf("tofu %s: %w\n%s", strings.Join(args, " "), err, lastLines(string(tail), 30))
		}
		if r.requests, err = countRequests(statsURL, filepath.Join(work, name+".requests.json")); err != nil {
			return r, err
		}
		procs, err := readRusage(rusage)
		if err != nil {
			return r, err
		}
		for _, p := range procs {
			r.provCPU += time.Duration(p.CPUNanos)
			r.peakRSSKiB = max(r.peakRSSKiB, p.MaxRSSKiB)
		}
		if st := cmd.ProcessState; st != nil {
			// the CLI's rusage includes the providers it waited for
			r.cliCPU = st.UserTime() + st.SystemTime() - r.provCPU
		}
		return r, nil
	}
	print := func(name string, r result) {
		fmt.Printf("%-9s %6d %-15s %9.2f %9d %9.3f %11.2f %11.2f %9.2f %6.1f MB\n", kind, n, name, r.wall.Seconds(), r.requests,
			float64(r.requests)/float64(n), r.provCPU.Seconds(), float64(r.provCPU.Milliseconds())/float64(n), r.cliCPU.Seconds(),
			float64(r.peakRSSKiB)/1024)
	}
	par := fmt.Sprintf("-parallelism=%d", o.parallelism)
	if _, err := step("init", "init", "-input=false", "-no-color", "-plugin-dir="+filepath.Join(work, "plugins")); err != nil {
		return err
	}
	r, err := step("apply", "apply", "-auto-approve", "-input=false", "-no-color", par)
	if err != nil {
		return err
	}
	print("apply (create)", r)
	var plans []result
	for i := range o.plans {
		r, err := step(fmt.Sprintf("plan%d", i), "plan", "-detailed-exitcode", "-input=false", "-no-color", par)
		if err != nil {
			return fmt.Errorf("the plan after apply is not empty or failed: %w", err)
		}
		plans = append(plans, r)
	}
	slices.SortFunc(plans, func(a, b result) int { return int(a.wall - b.wall) })
	print(fmt.Sprintf("plan (median/%d)", len(plans)), plans[len(plans)/2])
	if r, err = step("plan-norefresh", "plan", "-refresh=false", "-detailed-exitcode", "-input=false", "-no-color", par); err != nil {
		return err
	}
	print("plan -refresh=0", r)
	if r, err = step("destroy", "destroy", "-auto-approve", "-input=false", "-no-color", par); err != nil {
		return err
	}
	print("destroy", r)
	return nil
}

// config is the configuration of n guests of kind, spread over the lab's
// three nodes.
func config(kind string, n int) string {
	head := `terraform {
  required_providers {
    pve = { source = "hcilab/pve" }
  }
}

provider "pve" {}

locals {
  nodes = ["pve1", "pve2", "pve3"]
}
`
	if kind == "vm" {
		return head + fmt.Sprintf(`
resource "pve_vm" "bench" {
  count   = %d
  node    = local.nodes[count.index %% 3]
  name    = "bench-${count.index}"
  memory  = { size = 512 }
  started = false
}
`, n)
	}
	return head + fmt.Sprintf(`
resource "pve_container" "bench" {
  count      = %d
  node       = local.nodes[count.index %% 3]
  hostname   = "bench-${count.index}"
  ostemplate = "local:vztmpl/%s"
  memory     = 256
  started    = false
  rootfs     = { storage = "local-lvm", size = 1 }
}
`, n, templateName)
}

const templateName = "debian-12-standard_12.7-1_amd64.tar.zst"

// startLab starts pvelab (three clustered nodes) with latency and its
// request counter, and returns its export lines as KEY=value.
func (o options) startLab(ctx context.Context, work string) ([]string, func(), error) {
	envFile := filepath.Join(work, "lab.env")
	logFile, err := os.Create(filepath.Join(work, "lab.log"))
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.CommandContext(ctx, o.pvelab, "-nodes", "3", "-latency", o.latency.String(), "-jitter", o.jitter.String(),
		"-stats-addr", "127.0.0.1:0", "-env-file", envFile)
	cmd.Stdout, cmd.Stderr = io.Discard, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, nil, err
	}
	stop := func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
		logFile.Close()
	}
	for range 600 {
		if data, err := os.ReadFile(envFile); err == nil && len(data) > 0 {
			var env []string
			for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
				k, v, _ := strings.Cut(strings.TrimPrefix(line, "export "), "=")
				env = append(env, k+"="+strings.Trim(v, "'"))
			}
			return env, stop, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	stop()
	return nil, nil, fmt.Errorf("pvelab did not start (see %s)", logFile.Name())
}

// downloadTemplates puts the container template on every node's local
// storage (local storages start empty), outside the measured steps.
func downloadTemplates(ctx context.Context, env []string) error {
	c, err := pve.New(ctx, pve.Config{Endpoint: lookup(env, "PVE_ENDPOINT"), APIToken: lookup(env, "PVE_API_TOKEN"),
		TLSFingerprint: lookup(env, "PVE_TLS_FINGERPRINT")})
	if err != nil {
		return err
	}
	for _, node := range []string{"pve1", "pve2", "pve3"} {
		upid, err := c.StartDownload(ctx, node, "local", pve.Download{URL: lookup(env, "PVE_LAB_FILES_URL") + "/images/system/" + templateName,
			Content: "vztmpl", Filename: templateName})
		if err != nil {
			return err
		}
		if _, err := c.WaitTask(ctx, upid, pve.WaitOptions{}); err != nil {
			return err
		}
	}
	return nil
}

func lookup(env []string, key string) string {
	for _, kv := range env {
		if k, v, _ := strings.Cut(kv, "="); k == key {
			return v
		}
	}
	return ""
}

func resetRequests(statsURL string) error {
	res, err := http.Post(statsURL+"/requests/reset", "", nil)
	if err != nil {
		return err
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("resetting the request counter: %s", res.Status)
	}
	return nil
}

// countRequests reads the lab's request counter and keeps its answer (the
// count per route) in the file keep, for -keep.
func countRequests(statsURL, keep string) (int, error) {
	res, err := http.Get(statsURL + "/requests")
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, err
	}
	if err := os.WriteFile(keep, body, 0o644); err != nil {
		return 0, err
	}
	var out map[string]struct {
		Total int `json:"total"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return 0, err
	}
	total := 0
	for _, s := range out {
		total += s.Total
	}
	return total, nil
}

// procUsage is what one provider process used (one line of the rusage
// file).
type procUsage struct {
	CPUNanos  int64 `json:"cpu_ns"`
	MaxRSSKiB int64 `json:"maxrss_kib"`
	WallNanos int64 `json:"wall_ns"`
}

func readRusage(path string) ([]procUsage, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []procUsage
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var u procUsage
		if err := json.Unmarshal(sc.Bytes(), &u); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, sc.Err()
}

// wrap runs the real provider in place of this process and records its
// rusage.
func wrap(real, rusageFile string) int {
	cmd := exec.Command(real, os.Args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "pvebench wrapper:", err)
		return 1
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		for s := range sigs {
			_ = cmd.Process.Signal(s)
		}
	}()
	err := cmd.Wait()
	st := cmd.ProcessState
	if rusageFile != "" && st != nil {
		u := procUsage{CPUNanos: int64(st.UserTime() + st.SystemTime()), WallNanos: int64(time.Since(start))}
		if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
			u.MaxRSSKiB = ru.Maxrss // KiB on Linux
		}
		line, _ := json.Marshal(u)
		if f, ferr := os.OpenFile(rusageFile, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); ferr == nil {
			_, _ = f.Write(append(line, '\n'))
			f.Close()
		}
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode()
	}
	if err != nil {
		return 1
	}
	return 0
}

// providerStart is the median time from starting the provider as the CLI
// does (the plugin protocol's magic cookie) to its handshake line on
// standard output, when it serves; the provider is stopped again.
func providerStart(bin string, n int) (time.Duration, error) {
	var times []time.Duration
	for range n {
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(), "TF_PLUGIN_MAGIC_COOKIE=d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2",
			"PLUGIN_PROTOCOL_VERSIONS=6")
		out, err := cmd.StdoutPipe()
		if err != nil {
			return 0, err
		}
		start := time.Now()
		if err := cmd.Start(); err != nil {
			return 0, err
		}
		line, err := bufio.NewReader(out).ReadString('\n')
		d := time.Since(start)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if err != nil || !strings.Contains(line, "|") {
			return 0, fmt.Errorf("no handshake (%q): %v", line, err)
		}
		times = append(times, d)
	}
	slices.Sort(times)
	return times[len(times)/2], nil
}

func copyFile(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, data, 0o755)
}

func firstLine(bin string) string {
	cmd := exec.Command(bin, "version")
	cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE=/dev/null")
	out, _ := cmd.CombinedOutput()
	if len(out) == 0 {
		return bin
	}
	line, _, _ := strings.Cut(string(out), "\n")
	return line
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
