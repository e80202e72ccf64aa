package pvesim

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/perl"
)

// What VMs and containers share, as PVE::AbstractConfig and
// PVE::GuestHelpers share it between qemu-server and pve-container: one
// VMID space (PVE.guests, /etc/pve/.vmlist), config files with a pending
// section and a "lock" field, config flocks, workers that take them
// (qemu_ops.go), HA resources, and the shape of their /cluster/resources
// entries.

// guestConfig is the content of a guest's config file: the current values
// and the pending section ("delete" lists pending deletions). Values are
// kept as the file has them.
type guestConfig struct {
	conf    map[string]string
	pending map[string]string
}

func newGuestConfig(conf map[string]string) guestConfig {
	return guestConfig{conf: conf, pending: map[string]string{}}
}

// rawConfigSection is $generate_raw_config of write_vm_config and
// write_pct_config: the description as comment lines, then the keys in
// order. qemu-server writes an empty pending description as "#".
func rawConfigSection(conf map[string]string, pending bool) string {
	var b strings.Builder
	if descr, ok := conf["description"]; ok {
		if lines := perl.Lines(descr); len(lines) > 0 {
			for _, line := range lines {
				b.WriteString("#" + encodeText(line) + "\n")
			}
		} else if pending {
			b.WriteString("#\n")
		}
	}
	for _, k := range slices.Sorted(maps.Keys(conf)) {
		if k == "description" {
			continue
		}
		b.WriteString(k + ": " + conf[k] + "\n")
	}
	return b.String()
}

// pendingDeletes is parse_pending_delete: key → force.
func pendingDeletes(s string) map[string]bool {
	out := map[string]bool{}
	for _, e := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == ' ' }) {
		force := strings.HasPrefix(e, "!")
		out[strings.TrimPrefix(e, "!")] = force
	}
	return out
}

// printPendingDeletes is print_pending_delete.
func printPendingDeletes(m map[string]bool) string {
	keys := []string{}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if m[k] {
			k = "!" + k
		}
		keys = append(keys, k)
	}
	return strings.Join(keys, ",")
}

// addPendingDelete is add_to_pending_delete.
func (g *guestConfig) addPendingDelete(k string, force bool) {
	d := pendingDeletes(g.pending["delete"])
	d[k] = force
	g.pending["delete"] = printPendingDeletes(d)
}

// removePendingDelete is remove_from_pending_delete.
func (g *guestConfig) removePendingDelete(k string) {
	d := pendingDeletes(g.pending["delete"])
	if _, ok := d[k]; !ok {
		return
	}
	delete(d, k)
	if len(d) == 0 {
		delete(g.pending, "delete")
	} else {
		g.pending["delete"] = printPendingDeletes(d)
	}
}

// cleanupPending is cleanup_pending: drop pending values equal to the
// current ones and pending deletes of unset keys.
func (g *guestConfig) cleanupPending() {
	for k, v := range g.pending {
		if k != "delete" {
			if cur, ok := g.conf[k]; ok && cur == v {
				delete(g.pending, k)
			}
		}
	}
	d := pendingDeletes(g.pending["delete"])
	for k := range d {
		if _, ok := g.conf[k]; !ok {
			delete(d, k)
		}
	}
	if len(d) == 0 {
		delete(g.pending, "delete")
	} else {
		g.pending["delete"] = printPendingDeletes(d)
	}
}

// view is load_current_config: the current values with the pending ones
// applied unless current is set.
func (g *guestConfig) view(current bool) map[string]string {
	conf := maps.Clone(g.conf)
	if !current {
		for k, v := range g.pending {
			if k != "delete" {
				conf[k] = v
			}
		}
		for k := range pendingDeletes(g.pending["delete"]) {
			delete(conf, k)
		}
	}
	return conf
}

// clone copies the config (to work on and commit only on success).
func (g *guestConfig) clone() guestConfig {
	return guestConfig{conf: maps.Clone(g.conf), pending: maps.Clone(g.pending)}
}

// pendingArray is PVE::GuestHelpers::config_with_pending_array: every key
// with its current value, its pending value and whether it is to be
// deleted (2: forced). conf includes the digest.
func pendingArray(conf, pending map[string]string, typed func(k, v string) any) []map[string]any {
	dels := pendingDeletes(pending["delete"])
	out := []map[string]any{}
	for _, k := range slices.Sorted(maps.Keys(conf)) {
		item := map[string]any{"key": k, "value": typed(k, conf[k])}
		if v, ok := pending[k]; ok {
			item["pending"] = typed(k, v)
		}
		if force, ok := dels[k]; ok {
			item["delete"] = 1
			if force {
				item["delete"] = 2
			}
		}
		out = append(out, item)
	}
	for _, k := range slices.Sorted(maps.Keys(pending)) {
		if _, ok := conf[k]; k == "delete" || ok {
			continue
		}
		out = append(out, map[string]any{"key": k, "pending": typed(k, pending[k])})
	}
	for _, k := range slices.Sorted(maps.Keys(dels)) {
		_, inConf := conf[k]
		_, inPending := pending[k]
		if inConf || inPending {
			continue
		}
		item := map[string]any{"key": k, "delete": 1}
		if dels[k] {
			item["delete"] = 2
		}
		out = append(out, item)
	}
	return out
}

// guestResource is a guest's entry in /cluster/resources
// (PVE::API2Tools::extract_vm_stats and the resources API): ID, kind and
// node from the VM list; status, name, template flag, uptime and usage
// from what its node's pvestatd last broadcast (stats; nil before the
// first: status "unknown", nothing else); lock and tags from its
// configuration (s, its vmstatus now); hastate from the HA manager.
func guestResource(kind string, vmid int, node string, s map[string]any, stats rrdGuest, haState string) map[string]any {
	e := map[string]any{
		"id":     fmt.Sprintf("%s/%d", kind, vmid),
		"type":   kind,
		"vmid":   vmid,
		"node":   node,
		"status": "unknown",
	}
	for k, v := range stats {
		e[k] = v
	}
	for _, k := range []string{"tags", "lock"} {
		if v, ok := s[k]; ok {
			e[k] = v
		}
	}
	if haState != "" {
		e["hastate"] = haState
	}
	return e
}

// haSID is the HA resource ID of a guest ("vm:100", "ct:100").
func haSID(kind string, vmid int) string {
	if kind == "lxc" {
		return fmt.Sprintf("ct:%d", vmid)
	}
	return fmt.Sprintf("vm:%d", vmid)
}

// haStatusLocked is PVE::HA::Config::get_service_status for the status
// API: managed (configured and not ignored), the group and the state the
// HA manager has for it.
func (p *PVE) haStatusLocked(kind string, vmid int) map[string]any {
	sid := haSID(kind, vmid)
	s := p.haConfigLocked(p.haResourcesFile()).get(sid)
	if s == nil || s.opts["state"] == "ignored" {
		return map[string]any{"managed": 0}
	}
	var group, state any
	if g, ok := s.opts["group"]; ok {
		group = g
	}
	if st := p.haServiceStateLocked(sid); st != "" {
		state = st
	}
	return map[string]any{"managed": 1, "group": group, "state": state}
}

// haResourceState is the "hastate" of a guest's resource entry: the state
// of the HA manager, else the requested state ("" without resource).
func (p *PVE) haResourceState(kind string, vmid int) string {
	sid := haSID(kind, vmid)
	if st := p.haServiceStateLocked(sid); st != "" {
		return st
	}
	if s := p.haConfigLocked(p.haResourcesFile()).get(sid); s != nil {
		return s.opts["state"]
	}
	return ""
}

// lockFile is the path of a guest's config flock: qemu-server's
// /var/lock/qemu-server/lock-<vmid>.conf, pve-container's
// /run/lock/lxc/pve-config-<vmid>.lock (PVE::LXC::Config::config_file_lock).
func lockFile(vmid int, ct bool) string {
	if ct {
		return fmt.Sprintf("/run/lock/lxc/pve-config-%d.lock", vmid)
	}
	return fmt.Sprintf("/var/lock/qemu-server/lock-%d.conf", vmid)
}

// guestCPU is a small, slowly varying CPU load of a running guest, in
// [0.01, 0.03).
func guestCPU(now time.Time, vmid int) float64 {
	return math.Round((0.01+0.02*math.Abs(math.Sin(float64(now.Unix())/53+float64(vmid))))*1e6) / 1e6
}
