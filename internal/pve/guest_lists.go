package pve

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Lists shared by the reads of one provider run.
//
// A refresh reads every guest of the configuration, many at a time. Each
// needs its node and pool (/cluster/resources), its live run state (its
// node's guest list, which PVE computes live: vmstatus) and whether HA
// manages it (/cluster/ha/resources): lists that serve every guest at
// once. Reading them once per guest made a refresh cost O(N) requests and
// O(N²) decoding in N guests. Here each list is read once and shared by the
// reads that want it, under two rules:
//
//   - a list never outlives a write of the same run: every request other
//     than GET (when it goes out and when its answer is in), the end of
//     every awaited task and of every wait for HA invalidates all lists,
//     and a list read while a write was under way is not served to reads
//     that come after it;
//   - a list is served for sharedListTTL at most, so that a long run sees
//     what others change meanwhile about as soon as before.
//
// Reads that are part of a write (the read-back after a create) thus read
// afresh, and a guest that is not where a list says (migrated, deleted
// since) is looked up afresh (FindGuest).

// sharedListTTL is how long a list is served after it was read.
var sharedListTTL = 5 * time.Second

// sharedLists holds the lists of one client.
type sharedLists struct {
	gen     atomic.Uint64 // bumped by every write
	mu      sync.Mutex
	entries map[string]*sharedList
}

// sharedList is one list: being read (done open) or read.
type sharedList struct {
	gen  uint64
	at   time.Time
	done chan struct{}
	val  any
	err  error
}

func newSharedLists() *sharedLists { return &sharedLists{entries: map[string]*sharedList{}} }

// invalidate makes every list read so far stale.
func (s *sharedLists) invalidate() { s.gen.Add(1) }

// get returns the list under key, reading it with fetch unless a current
// one is at hand or being read. fetch runs without the caller's
// cancellation (other reads may wait for it); the caller stops waiting when
// its ctx ends. Failures are not kept.
func (s *sharedLists) get(ctx context.Context, key string, fetch func(context.Context) (any, error)) (any, error) {
	gen := s.gen.Load()
	now := time.Now()
	s.mu.Lock()
	e := s.entries[key]
	if e == nil || e.gen != gen || (isClosed(e.done) && (e.err != nil || now.Sub(e.at) > sharedListTTL)) {
		e = &sharedList{gen: gen, at: now, done: make(chan struct{})}
		s.entries[key] = e
		go func() {
			e.val, e.err = fetch(context.WithoutCancel(ctx))
			s.mu.Lock()
			if e.err != nil && s.entries[key] == e {
				delete(s.entries, key)
			}
			e.at = time.Now()
			s.mu.Unlock()
			close(e.done)
		}()
	}
	s.mu.Unlock()
	select {
	case <-e.done:
		return e.val, e.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// writeWatch is the base transport of a client: it invalidates the
// client's lists around every request that may change something.
type writeWatch struct {
	next  http.RoundTripper
	lists *sharedLists
}

func (w writeWatch) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodGet || req.Method == http.MethodHead {
		return w.next.RoundTrip(req)
	}
	w.lists.invalidate()
	defer w.lists.invalidate()
	return w.next.RoundTrip(req)
}

// clusterGuests is the shared /cluster/resources?type=vm by VMID.
func (c *Client) clusterGuests(ctx context.Context) (map[int]ClusterResource, error) {
	v, err := c.lists.get(ctx, "/cluster/resources?type=vm", func(ctx context.Context) (any, error) {
		rs, err := c.ClusterResources(ctx, "vm")
		if err != nil {
			return nil, err
		}
		byID := make(map[int]ClusterResource, len(rs))
		for _, r := range rs {
			if r.Type == string(QEMU) || r.Type == string(LXC) {
				byID[r.VMID] = r
			}
		}
		return byID, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(map[int]ClusterResource), nil
}

// nodeGuests is a node's shared live guest list of one kind by VMID.
func (c *Client) nodeGuests(ctx context.Context, kind GuestKind, node string) (map[int]NodeGuest, error) {
	v, err := c.lists.get(ctx, "/nodes/"+node+"/"+string(kind), func(ctx context.Context) (any, error) {
		list, err := c.NodeGuests(ctx, kind, node)
		if err != nil {
			return nil, err
		}
		byID := make(map[int]NodeGuest, len(list))
		for _, g := range list {
			byID[int(g.VMID)] = g
		}
		return byID, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(map[int]NodeGuest), nil
}

// haResources is the requested state by SID, from the shared
// /cluster/ha/resources (config_lists.go).
func (c *Client) haResources(ctx context.Context) (map[string]string, error) {
	all, err := c.haObjects(ctx, "resources")
	if err != nil {
		return nil, err
	}
	bySID := make(map[string]string, len(all))
	for sid, o := range all {
		bySID[sid] = o["state"]
	}
	return bySID, nil
}

// findGuestShared is FindGuest from the shared lists: the guest's node and
// pool from /cluster/resources, its run state, name, lock and template flag
// from its node's live list. A guest the lists do not show where they say
// (it migrated or went since they were read, or the node does not answer)
// is looked up afresh with FindGuest, which also says when it is gone.
func (c *Client) findGuestShared(ctx context.Context, vmid int) (*ClusterResource, error) {
	all, err := c.clusterGuests(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return c.FindGuest(ctx, vmid)
	}
	r, ok := all[vmid]
	if !ok {
		return c.FindGuest(ctx, vmid)
	}
	live, err := c.nodeGuests(ctx, GuestKind(r.Type), r.Node)
	if err != nil && ctx.Err() != nil {
		return nil, err
	}
	g, ok := live[vmid]
	if err != nil || !ok {
		return c.FindGuest(ctx, vmid)
	}
	r.Status, r.Name, r.Lock, r.Template, r.Uptime = g.Status, g.Name, g.Lock, g.Template, uint64(max(g.Uptime, 0))
	return &r, nil
}

// guestHAManagedShared is GuestHAManaged from the shared lists. A guest
// that /cluster/resources shows without an HA state has no HA resource and
// no HA service (PVE fills hastate from both: PVE::API2::Cluster's
// resources), so the HA list is read only when some guest has one.
func (c *Client) guestHAManagedShared(ctx context.Context, kind GuestKind, vmid int) (bool, error) {
	if all, err := c.clusterGuests(ctx); err == nil {
		if r, ok := all[vmid]; ok && r.Type == string(kind) && r.HAState == "" {
			return false, nil
		}
	} else if ctx.Err() != nil {
		return false, err
	}
	list, err := c.haResources(ctx)
	if err != nil {
		return false, err
	}
	state, ok := list[HASID(kind, vmid)]
	return ok && state != "ignored", nil
}
