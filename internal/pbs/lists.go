package pbs

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Lists shared by the reads of one provider run, as the PVE client's
// (internal/pve/guest_lists.go, whose rules these are): a refresh of many
// namespaces of a datastore read the datastore's whole namespace list once
// per namespace; here the reads of a run share one. A list never outlives
// a write of the same run (every request other than GET, when it goes out
// and when its answer is in, and the end of every awaited task make all
// lists stale, and a list read while a write was under way is not served
// to reads that come after it), and is served for sharedListTTL at most,
// so that a run sees what others change meanwhile about as soon as before;
// the next run (the next plan) reads afresh.

// sharedListTTL is how long a list is served after it was read.
var sharedListTTL = 5 * time.Second

type sharedLists struct {
	gen     atomic.Uint64 // bumped by every write
	mu      sync.Mutex
	entries map[string]*sharedList
}

type sharedList struct {
	gen  uint64
	at   time.Time
	done chan struct{}
	val  any
	err  error
}

func newSharedLists() *sharedLists { return &sharedLists{entries: map[string]*sharedList{}} }

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
	stale := e == nil || e.gen != gen
	if !stale {
		select {
		case <-e.done:
			stale = e.err != nil || now.Sub(e.at) > sharedListTTL
		default:
		}
	}
	if stale {
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

// writeWatch is the base transport of a client: it makes the client's
// lists stale around every request that may change something.
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

// NamespacesShared is Namespaces from the datastore's list shared by the
// reads of one run. The caller must not change it.
func (c *Client) NamespacesShared(ctx context.Context, store string) ([]Namespace, error) {
	if err := checkName("datastore name", store); err != nil {
		return nil, err
	}
	v, err := c.lists.get(ctx, namespacePath(store), func(ctx context.Context) (any, error) {
		nss, err := c.Namespaces(ctx, store)
		if err != nil {
			return nil, fmt.Errorf("listing the namespaces of datastore %s: %w", store, err)
		}
		return nss, nil
	})
	if err != nil {
		return nil, err
	}
	return v.([]Namespace), nil
}

// pruneJobList is the shared prune job list: the jobs by ID and the
// digest of their config.
type pruneJobList struct {
	byID   map[string]PruneJob
	digest string
}

// PruneJobShared is PruneJob from the prune job list shared by the reads
// of one run: PBS lists each job as its read does, with the same config
// digest (src/api2/config/prune.rs, list_prune_jobs and read_prune_job). A
// job the list does not show (gone, or one the list leaves out for want of
// privileges) is read on its own.
func (c *Client) PruneJobShared(ctx context.Context, id string) (*PruneJob, string, error) {
	if err := checkName("prune job ID", id); err != nil {
		return nil, "", err
	}
	v, err := c.lists.get(ctx, "/config/prune", func(ctx context.Context) (any, error) {
		var list []PruneJob
		env, err := c.do(ctx, http.MethodGet, "/config/prune", nil, &list)
		if err != nil {
			return nil, fmt.Errorf("listing the prune jobs: %w", err)
		}
		out := pruneJobList{byID: make(map[string]PruneJob, len(list)), digest: env.Digest}
		for _, j := range list {
			out.byID[j.ID] = j
		}
		return out, nil
	})
	if err != nil && ctx.Err() != nil {
		return nil, "", err
	}
	if l, ok := v.(pruneJobList); ok {
		if j, ok := l.byID[id]; ok {
			return &j, l.digest, nil
		}
	}
	return c.PruneJob(ctx, id)
}
