// Command pve-inventory lists, through their APIs, the objects a homelab
// holds: every PVE node's guests, volumes, storages, network interfaces
// (and pending network changes), and what the node sees cluster-wide
// (pools, mappings, storage.cfg, HA resources and rules, users, jobs, the
// cluster itself); the PBS's datastores, namespaces and jobs; Ceph's pools,
// CRUSH rules and erasure-code profiles; each BMC's power state, boot
// override and inserted virtual media.
//
//	go run ./cmd/pve-inventory > before.txt
//	... apply and destroy ...
//	go run ./cmd/pve-inventory | comm -13 before.txt -   # what was left behind
//
// It prints one sorted line per object ("pve pve1 qemu 100", "pbs datastore
// backups", "ceph pool vm-disks", "bmc pve2 media Cd1 <image>"), so that two
// inventories compare with comm(1). It reads the environment `pvelab` writes
// (and the provider reads): PVE_API_TOKEN and PVE_ENDPOINT_<NODE> with
// PVE_TLS_FINGERPRINT_<NODE> for every node (or PVE_ENDPOINT alone) and
// PVE_CA_CERTIFICATE (a node's certificate changes when it joins a cluster); with
// PBS_ENDPOINT, PBS_API_TOKEN and PBS_TLS_FINGERPRINT the PBS; with
// CEPH_MON_HOST, CEPH_USER and CEPH_KEY Ceph (through the ceph CLI); with
// BMC_ENDPOINT_<NODE>, BMC_USERNAME, BMC_PASSWORD and BMC_CA_CERTIFICATE the
// BMCs. A part whose variables are unset is left out.
//
// It only reads (GET), and it retries what a busy or faulty server answers
// (PVE's 596, 5xx, a BMC's 503, reset connections), so it can take
// inventory of a lab that injects faults.
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"time"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	env := map[string]string{}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	lines, err := inventory(ctx, env)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pve-inventory:", err)
		os.Exit(1)
	}
	for _, l := range lines {
		fmt.Println(l)
	}
}

// inventory collects the lines of every part whose environment is set.
func inventory(ctx context.Context, env map[string]string) ([]string, error) {
	getenv := func(k string) string { return env[k] }
	var out []string
	add := func(fields ...string) { out = append(out, strings.Join(fields, " ")) }
	nodes := pveNodes(env)
	if len(nodes) > 0 {
		token := getenv("PVE_API_TOKEN")
		if token == "" {
			return nil, fmt.Errorf("PVE_API_TOKEN is not set")
		}
		for _, n := range nodes {
			c := newClient(n.endpoint, n.fingerprint, getenv("PVE_CA_CERTIFICATE"), "Authorization", "PVEAPIToken="+token)
			if err := pveNode(ctx, c, n.name, add); err != nil {
				return nil, fmt.Errorf("pve node %s: %w", n.name, err)
			}
		}
	}
	if ep := getenv("PBS_ENDPOINT"); ep != "" {
		c := newClient(ep, getenv("PBS_TLS_FINGERPRINT"), getenv("PBS_CA_CERTIFICATE"), "Authorization", "PBSAPIToken="+getenv("PBS_API_TOKEN"))
		if err := pbs(ctx, c, add); err != nil {
			return nil, fmt.Errorf("pbs: %w", err)
		}
	}
	if mon := getenv("CEPH_MON_HOST"); mon != "" {
		if err := ceph(ctx, mon, getenv("CEPH_USER"), getenv("CEPH_KEY"), add); err != nil {
			return nil, fmt.Errorf("ceph: %w", err)
		}
	}
	for _, b := range bmcs(env) {
		c := newClient(b.endpoint, "", getenv("BMC_CA_CERTIFICATE"), "", "")
		c.user, c.password = getenv("BMC_USERNAME"), getenv("BMC_PASSWORD")
		if err := bmc(ctx, c, b.name, add); err != nil {
			return nil, fmt.Errorf("bmc of %s: %w", b.name, err)
		}
	}
	sort.Strings(out)
	return slices.Compact(out), nil
}

type endpoint struct{ name, endpoint, fingerprint string }

// pveNodes returns the nodes of PVE_ENDPOINT_<NODE>, or PVE_ENDPOINT's node
// (named by the API) alone.
func pveNodes(env map[string]string) []endpoint {
	var out []endpoint
	for k, v := range env {
		if name, ok := strings.CutPrefix(k, "PVE_ENDPOINT_"); ok && v != "" {
			out = append(out, endpoint{strings.ToLower(name), v, env["PVE_TLS_FINGERPRINT_"+name]})
		}
	}
	if len(out) == 0 && env["PVE_ENDPOINT"] != "" {
		out = append(out, endpoint{"", env["PVE_ENDPOINT"], env["PVE_TLS_FINGERPRINT"]})
	}
	slices.SortFunc(out, func(a, b endpoint) int { return strings.Compare(a.name, b.name) })
	return out
}

// bmcs returns the BMCs of BMC_ENDPOINT_<NODE>.
func bmcs(env map[string]string) []endpoint {
	var out []endpoint
	for k, v := range env {
		if name, ok := strings.CutPrefix(k, "BMC_ENDPOINT_"); ok && v != "" {
			out = append(out, endpoint{name: strings.ToLower(name), endpoint: v})
		}
	}
	slices.SortFunc(out, func(a, b endpoint) int { return strings.Compare(a.name, b.name) })
	return out
}

// ceph lists pools, CRUSH rules and erasure-code profiles with the ceph CLI.
func ceph(ctx context.Context, mon, user, key string, add func(...string)) error {
	if user == "" {
		user = "admin"
	}
	for _, q := range []struct{ kind, cmd string }{
		{"pool", "osd pool ls"},
		{"crush-rule", "osd crush rule ls"},
		{"ec-profile", "osd erasure-code-profile ls"},
	} {
		args := append([]string{"-m", mon, "--name", "client." + user, "--key", key, "--connect-timeout", "20"}, strings.Fields(q.cmd)...)
		cmd := exec.CommandContext(ctx, "ceph", args...)
		cmd.Env = append(os.Environ(), "CEPH_CONF=/dev/null")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		b, err := cmd.Output()
		if err != nil {
			return fmt.Errorf("ceph %s: %w: %s", q.cmd, err, strings.TrimSpace(stderr.String()))
		}
		for _, name := range strings.Fields(string(b)) {
			add("ceph", q.kind, name)
		}
	}
	return nil
}
