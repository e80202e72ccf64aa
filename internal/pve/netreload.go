package pve

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/terraform-plugin-log/tflog"
)

// Network edits on a PVE node are staged in /etc/network/interfaces.new and
// take effect only when the node's network is reloaded (PUT
// /nodes/{node}/network: a "srvreload" worker moves the file into place and
// runs `ifreload -a`). A change that spans several interfaces (a bond, and a
// bridge on top of it) must go live in one reload: reloading after the bond
// alone could move the management address away before the bridge that
// carries it exists. And a staged file left behind is not harmless: PVE's
// pvenetcommit service moves it into place at the next boot (a BMC power
// cycle, an HA fence), so a half-staged change goes live then.
//
// Terraform applies dependent resources one after the other, and a resource
// cannot know whether another edit of the same node will follow in the same
// run. So the run's edits of a node are staged and reloaded together, once:
//
//   - at the end of the run (FlushNetworkReloads, when the CLI stops the
//     provider), for every node with staged edits;
//   - earlier only when something of the same run needs one of those
//     interfaces live: a guest plugged into a bridge the run created or
//     changed (SettleNetwork with its bridges), or a read of the node's
//     interfaces by a process that staged them (SettleNetwork without
//     names). Guests on interfaces the run did not touch never reload it.
//
// A failed edit fails the node for the rest of the run (process): its
// staged edits are reverted at once (DELETE /nodes/{node}/network), later
// edits of the node are refused without being sent, and nothing of the run
// goes live on that node; the errors say which edits were given up. The next
// apply finds the reverted interfaces missing (or not changed) and stages
// them again, together with the fixed one.
//
// Edits on the same node are serialised; different nodes never wait for
// each other.

// NetworkRun is one run of the provider: the scope in which a node's
// staged edits go live together, and in which a failed edit holds the node.
// The provider makes one per provider instance, which Terraform starts for
// one CLI command (a plan, an apply) and stops at its end; every Client the
// instance makes shares it (Config.NetworkRun), so the clients of a node's
// own API (cluster joins) and of the cluster's endpoint agree.
type NetworkRun struct {
	mu    sync.Mutex
	nodes map[string]*nodeReload
}

// runs are the runs of this process, for FlushNetworkReloads.
var runs = struct {
	sync.Mutex
	all []*NetworkRun
}{}

// NewNetworkRun starts a run.
func NewNetworkRun() *NetworkRun {
	r := &NetworkRun{nodes: map[string]*nodeReload{}}
	runs.Lock()
	runs.all = append(runs.all, r)
	runs.Unlock()
	return r
}

// defaultRun is the run of clients whose Config names none.
var defaultRun = NewNetworkRun()

// nodeReload is the reload state of one node.
type nodeReload struct {
	node string
	// lock serialises edits and reloads on the node; a channel so that
	// waiting for it honours contexts.
	lock chan struct{}

	mu     sync.Mutex
	client *Client            // the client of the last edit, used to reload
	edits  []string           // this run's staged edits not yet live ("bond0 created")
	ifaces map[string]bool    // the interfaces those edits touch
	failed *NetworkEditFailed // set by a failed edit, for the rest of the run
	// revertPending: the revert after the failure did not succeed; the
	// flush tries again.
	revertPending bool
	lastErr       error // outcome of the last reload
}

// NetworkEditFailed is the error of an edit refused because an earlier edit
// of the same node failed in this run, and the cause kept by the node.
type NetworkEditFailed struct {
	Node string
	Edit string // the edit that failed, e.g. "vmbr1 created"
	Err  error
}

func (e *NetworkEditFailed) Error() string {
	return fmt.Sprintf("%s on node %s failed earlier in this run (%s), so none of the run's network edits of node %s go live",
		e.Edit, e.Node, e.Err, e.Node)
}

func (e *NetworkEditFailed) Unwrap() error { return e.Err }

func (c *Client) nodeReload(node string) *nodeReload {
	run := c.run
	if run == nil {
		run = defaultRun
	}
	run.mu.Lock()
	defer run.mu.Unlock()
	key := c.endpoint + "|" + node
	r := run.nodes[key]
	if r == nil {
		r = &nodeReload{node: node, lock: make(chan struct{}, 1), ifaces: map[string]bool{}}
		run.nodes[key] = r
	}
	return r
}

func (r *nodeReload) acquire(ctx context.Context) error {
	select {
	case r.lock <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *nodeReload) release() { <-r.lock }

// EditNetwork runs edit, which stages a change of interface iface of node's
// network configuration (what says what, e.g. "bond0 created"), while no
// other edit or reload of that node runs. It does not reload: the node's
// reload comes at the end of the run, or when something needs the
// interface live (SettleNetwork). If an earlier edit of the node failed in
// this run, edit is not run and the error is a *NetworkEditFailed. If edit
// fails, the node's staged edits of this run are reverted and the error
// names them.
func (c *Client) EditNetwork(ctx context.Context, node, iface, what string, edit func(context.Context) error) error {
	r := c.nodeReload(node)
	if err := r.acquire(ctx); err != nil {
		return err
	}
	defer r.release()
	r.mu.Lock()
	failed := r.failed
	r.mu.Unlock()
	if failed != nil {
		return fmt.Errorf("%s was not staged: %w", what, failed)
	}
	if err := edit(ctx); err != nil {
		return r.fail(ctx, c, iface, what, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.client = c
	r.edits = append(r.edits, what)
	r.ifaces[iface] = true
	return nil
}

// fail records the failed edit what (of iface), reverts the run's staged edits of the
// node and returns the edit's error, extended with what was given up. The
// caller holds r.lock.
func (r *nodeReload) fail(ctx context.Context, c *Client, iface, what string, err error) error {
	r.mu.Lock()
	r.failed = &NetworkEditFailed{Node: r.node, Edit: what, Err: err}
	r.ifaces[iface] = true
	given := slices.Clone(r.edits)
	r.edits = nil
	r.mu.Unlock()
	if len(given) == 0 {
		// Nothing of this run is staged: there is nothing to revert, and
		// staged changes of others are not ours to discard.
		return err
	}
	list := strings.Join(given, ", ")
	if rerr := c.RevertNetwork(ctx, r.node); rerr != nil {
		r.mu.Lock()
		r.revertPending = true
		r.mu.Unlock()
		tflog.Warn(ctx, "reverting the staged network changes failed", map[string]any{"node": r.node, "error": rerr.Error()})
		return fmt.Errorf("%w\n\nThe run's other network edits of node %s stay staged and will not be reloaded by this run: %s. "+
			"Reverting them failed (%s); the provider tries again when the run ends. Until they are reverted, a reboot "+
			"of the node applies them (pvenetcommit)", err, r.node, list, rerr)
	}
	return fmt.Errorf("%w\n\nNone of this run's network edits of node %s go live: the node's staged changes were reverted "+
		"(DELETE /nodes/%s/network), giving up: %s. The next apply stages them again", err, r.node, r.node, list)
}

// RevertNetwork discards the node's staged network changes
// (/etc/network/interfaces.new).
func (c *Client) RevertNetwork(ctx context.Context, node string) error {
	if err := c.Delete(ctx, "/nodes/"+url.PathEscape(node)+"/network", nil, nil); err != nil {
		return fmt.Errorf("reverting the staged network changes of node %s: %w", node, err)
	}
	return nil
}

// StagedThisRun reports whether this process staged network edits of node
// that are not live yet.
func (c *Client) StagedThisRun(node string) bool {
	r := c.nodeReload(node)
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.edits) > 0 || r.failed != nil && len(r.ifaces) > 0
}

// SettleNetwork brings this run's staged edits of node live now, if it has
// any and ifaces is empty (a read of the node's interfaces) or names one of
// the interfaces they touch (a guest about to use these bridges), and
// returns the outcome of the node's last reload in this process. If the
// node failed in this run and ifaces names one of its interfaces, the
// error is the *NetworkEditFailed: those interfaces will not go live.
func (c *Client) SettleNetwork(ctx context.Context, node string, ifaces ...string) error {
	r := c.nodeReload(node)
	r.mu.Lock()
	touched := len(ifaces) == 0 || slices.ContainsFunc(ifaces, func(i string) bool { return r.ifaces[i] })
	failed := r.failed
	r.mu.Unlock()
	if !touched {
		return nil
	}
	if failed != nil && len(ifaces) > 0 {
		return failed
	}
	if err := r.acquire(ctx); err != nil {
		return err
	}
	defer r.release()
	r.reloadLocked(ctx)
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastErr
}

// reloadLocked reloads the node if it has staged edits and none failed.
// The caller holds r.lock.
func (r *nodeReload) reloadLocked(ctx context.Context) {
	r.mu.Lock()
	run := len(r.edits) > 0 && r.failed == nil
	client := r.client
	r.mu.Unlock()
	if !run {
		return
	}
	_, err := client.ReloadNetwork(ctx, r.node)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lastErr = err
	// A reload cut short by the context may not have started: the next
	// settle or the flush tries again. Otherwise the worker has moved the
	// staged file into place, whatever its outcome.
	if err == nil || ctx.Err() == nil {
		r.edits = nil
		clear(r.ifaces)
	}
}

// FlushLog, when set, is told what each node's reload at the end of a run
// came to (the provider's main sets it to the standard log, its stderr,
// which the CLI keeps in its log at DEBUG: after the CLI has stopped the
// provider, tflog has nowhere to write).
var FlushLog func(format string, args ...any)

func flushLog(format string, args ...any) {
	if FlushLog != nil {
		FlushLog(format, args...)
	}
}

// FlushNetworkReloads ends every run of the process (End). The provider
// calls it when the CLI stops it, so that the edits of a run go live at its
// end.
func FlushNetworkReloads(ctx context.Context) {
	runs.Lock()
	all := slices.Clone(runs.all)
	runs.Unlock()
	var wg sync.WaitGroup
	for _, run := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run.End(ctx)
		}()
	}
	wg.Wait()
}

// End ends the run: it brings every node's staged edits of the run live at
// once, and reverts what a failed node could not revert before, waiting
// until ctx ends; then the run starts afresh (no edits, no failed nodes).
// A reload that has started runs to its end in PVE even if ctx ends first.
func (run *NetworkRun) End(ctx context.Context) {
	run.mu.Lock()
	nodes := slices.Collect(maps.Values(run.nodes))
	clear(run.nodes)
	run.mu.Unlock()
	var wg sync.WaitGroup
	for _, r := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.acquire(ctx); err != nil {
				flushLog("network of node %s: not reloaded at the end of the run: %v", r.node, err)
				return
			}
			defer r.release()
			r.mu.Lock()
			revert, client := r.revertPending, r.client
			r.mu.Unlock()
			if revert && client != nil {
				if err := client.RevertNetwork(ctx, r.node); err == nil {
					r.mu.Lock()
					r.revertPending = false
					r.mu.Unlock()
				}
				return
			}
			r.mu.Lock()
			edits := slices.Clone(r.edits)
			if r.failed != nil {
				edits = nil // not reloaded: the edit that failed said so
			}
			r.mu.Unlock()
			start := time.Now()
			r.reloadLocked(ctx)
			if len(edits) > 0 {
				r.mu.Lock()
				err := r.lastErr
				r.mu.Unlock()
				flushLog("network of node %s: reload at the end of the run (%s): %v after %s", r.node, strings.Join(edits, ", "),
					map[bool]any{true: "ok", false: err}[err == nil], time.Since(start).Round(time.Millisecond))
			}
		}()
	}
	wg.Wait()
}

// netBridgeRE finds the bridge of a guest's NIC (netN=...,bridge=vmbr0,...).
var netBridgeRE = regexp.MustCompile(`(?:^|,)bridge=([^,]+)`)

// GuestBridges returns the bridges the NICs among a guest's parameters or
// configuration (keys netN) plug into.
func GuestBridges(values map[string]string) []string {
	var out []string
	for key, v := range values {
		if !strings.HasPrefix(key, "net") || strings.TrimLeft(key[3:], "0123456789") != "" || len(key) == 3 {
			continue
		}
		if m := netBridgeRE.FindStringSubmatch(v); m != nil && !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	slices.Sort(out)
	return out
}
