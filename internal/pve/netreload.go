package pve

import (
	"context"
	"sync"
	"time"

	"github.com/hashicorp/terraform-plugin-log/tflog"
)

// Network edits on a PVE node are staged in /etc/network/interfaces.new and
// take effect only when the node's network is reloaded. A change that spans
// several interfaces (a bond, and a bridge on top of it) must go live in one
// reload: reloading after the bond alone could move the management address
// away before the bridge that carries it exists.
//
// Terraform applies dependent resources one after the other, and a resource
// cannot know whether another edit of the same node will follow. So an edit
// does not wait for a reload: EditNetwork stages it and schedules the node's
// reload for ReloadDelay after the node's last edit. Every edit on the node
// within that window joins the same reload. The reload runs in the
// background; SettleNetwork runs a scheduled reload at once and waits for
// it (reads call it, so they see what is active), and FlushNetworkReloads
// starts every scheduled reload when the provider shuts down.
//
// Edits on the same node are serialised; different nodes never wait for
// each other. A failed edit holds the node's reload back (nothing
// half-applied goes live) until a later edit of that node succeeds.

// ReloadDelay is how long a node's staged network edits wait for further
// edits before the node is reloaded.
var ReloadDelay = 2 * time.Second

// reloadTimeout bounds one reload task run in the background.
const reloadTimeout = 10 * time.Minute

// reloads holds the reload state of every node this process edits. It is
// process-wide, not per Client, because Terraform may configure the
// provider anew (and so create a new Client) between an apply and the next
// read while the scheduled reload is still pending.
var reloads = struct {
	sync.Mutex
	nodes map[string]*nodeReload
}{nodes: map[string]*nodeReload{}}

// nodeReload is the reload state of one node.
type nodeReload struct {
	node string
	// lock serialises edits and reloads on the node; a channel so that
	// waiting for it honours contexts.
	lock chan struct{}

	mu      sync.Mutex
	client  *Client // the client of the last edit, used to reload
	dirty   bool    // edits staged since the last reload
	held    error   // the last edit failed: no automatic reload
	timer   *time.Timer
	lastErr error // outcome of the last reload
}

func (c *Client) nodeReload(node string) *nodeReload {
	reloads.Lock()
	defer reloads.Unlock()
	key := c.endpoint + "|" + node
	r := reloads.nodes[key]
	if r == nil {
		r = &nodeReload{node: node, lock: make(chan struct{}, 1)}
		reloads.nodes[key] = r
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

// EditNetwork runs edit, which stages a change of node's network
// configuration, while no other edit or reload of that node runs, and
// schedules the node's reload. It does not wait for the reload.
func (c *Client) EditNetwork(ctx context.Context, node string, edit func(context.Context) error) error {
	r := c.nodeReload(node)
	if err := r.acquire(ctx); err != nil {
		return err
	}
	defer r.release()
	err := edit(ctx)

	r.mu.Lock()
	defer r.mu.Unlock()
	if r.timer != nil {
		r.timer.Stop()
	}
	if err != nil {
		r.held = err
		if r.dirty {
			tflog.Warn(ctx, "network edit failed: the staged changes of the node are not reloaded", map[string]any{"node": node})
		}
		return err
	}
	r.client, r.dirty, r.held = c, true, nil
	r.timer = time.AfterFunc(ReloadDelay, r.fire)
	return nil
}

// fire runs the scheduled reload, unless an edit is under way (it will
// schedule the reload again when it ends).
func (r *nodeReload) fire() {
	select {
	case r.lock <- struct{}{}:
	default:
		return
	}
	defer r.release()
	ctx, cancel := context.WithTimeout(context.Background(), reloadTimeout)
	defer cancel()
	r.reloadLocked(ctx)
}

// reloadLocked reloads the node if it has staged edits and none failed.
// The caller holds r.lock.
func (r *nodeReload) reloadLocked(ctx context.Context) {
	r.mu.Lock()
	if r.timer != nil {
		r.timer.Stop()
	}
	run := r.dirty && r.held == nil
	client := r.client
	r.mu.Unlock()
	if !run {
		return
	}
	_, err := client.ReloadNetwork(ctx, r.node)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lastErr = err
	// Only a reload that ran clears the staged state: one cut short by the
	// context is tried again by the next settle or flush.
	if err == nil || ctx.Err() == nil {
		r.dirty = false
	}
}

// SettleNetwork runs the node's scheduled reload now, or waits for the one
// that is running, and returns the outcome of the node's last reload in
// this process (nil if there was none or it succeeded).
func (c *Client) SettleNetwork(ctx context.Context, node string) error {
	r := c.nodeReload(node)
	if err := r.acquire(ctx); err != nil {
		return err
	}
	defer r.release()
	r.reloadLocked(ctx)
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastErr
}

// FlushNetworkReloads starts the scheduled reload of every node at once and
// waits for them until ctx ends. The provider calls it when it shuts down,
// so that edits staged at the very end of an apply still go live.
func FlushNetworkReloads(ctx context.Context) {
	reloads.Lock()
	nodes := make([]*nodeReload, 0, len(reloads.nodes))
	for _, r := range reloads.nodes {
		nodes = append(nodes, r)
	}
	reloads.Unlock()
	var wg sync.WaitGroup
	for _, r := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.acquire(ctx); err != nil {
				return
			}
			defer r.release()
			r.reloadLocked(ctx)
		}()
	}
	wg.Wait()
}
