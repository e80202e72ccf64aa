package pve

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/apiclient"
)

// Writes to a guest that meet PVE's locks and its proxy timeout.
//
// Locks. Every worker that changes a guest holds the guest's config flock
// for its whole run (pve-common PVE/Tools.pm lock_file_full; the forked
// worker keeps the file handle). A clone of a running VM takes it
// exclusively and waits only 1 s for it (qemu-server PVE/API2/Qemu.pm
// clone_vm, lock_config_full($vmid, 1, ...)), so parallel clones of one
// running VM fail with "can't lock file ... got timeout" while the first
// copies its disks, which takes minutes on real disks. A config change
// waits 10 s for it in the API call (update_vm_api's lock_config;
// pve-container's update_vm likewise) and then answers 500 without a
// task. Backups and migrations hold "lock: backup" / "lock: migrate" for
// minutes. All of these fail before the call changed anything, so they are
// tried again, with backoff, for as long as the operation's context
// allows: its deadline is the resource's timeout.
//
// The proxy timeout. pveproxy runs no protected method itself: it proxies
// it to pvedaemon (3 workers per node, handlers blocking) and answers 596
// "Connection timed out" after 30 s without an answer (pve-http-server
// PVE/APIServer/AnyEvent.pm proxy_request), while the call goes on behind
// it: queued for a pvedaemon worker, waiting for a flock, or working. The
// same doubt follows a request that got no answer within the client's own
// timeout. A config change sent again at once would collide with its own
// first attempt: it waits for the flock the first one holds, then fails the
// digest check (or, without a digest, applies twice, e.g. a second new
// disk). So a config write is never re-sent blindly (apiclient.
// WithoutResend keeps the transport from re-sending the PUT); instead the
// config's digest, which every change of ours carries, says what happened.

// Waiting out locks.
var (
	// lockWaitWithoutDeadline bounds the wait for a lock when the context
	// has no deadline of its own.
	lockWaitWithoutDeadline = 10 * time.Minute
	// lockBackoff is the wait before the first retry; it doubles up to
	// lockMaxBackoff.
	lockBackoff    = 500 * time.Millisecond
	lockMaxBackoff = 5 * time.Second
)

// retryLocked runs f again while it fails with ErrLocked, with backoff, as
// long as ctx's deadline (or lockWaitWithoutDeadline) leaves time for it.
func retryLocked(ctx context.Context, f func() error) error {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(lockWaitWithoutDeadline)
	}
	wait := lockBackoff
	for {
		err := f()
		if err == nil || !errors.Is(err, ErrLocked) {
			return err
		}
		if time.Until(deadline) <= wait {
			return fmt.Errorf("%w (still locked when the time for the operation ran out)", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (gave up waiting for the lock: %w)", err, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(wait*2, lockMaxBackoff)
	}
}

// Waiting out a write in doubt.
var (
	// inDoubtWait is how long a write in doubt is given to show its effect
	// before it is sent again: the 10 s a config change waits for the flock,
	// plus a queue in pvedaemon.
	inDoubtWait = 20 * time.Second
	// inDoubtPoll is the first interval between looks; it grows to 2 s.
	inDoubtPoll = 250 * time.Millisecond
)

// inDoubt reports whether a failed write may still have been carried out:
// a transient failure that does not prove otherwise (596, 597, no answer
// in time, a connection lost after the request went out).
func inDoubt(err error) bool {
	var ne *apiclient.NetError
	if errors.As(err, &ne) {
		return ne.Transient && !ne.Unsent
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.transient() && !ae.unprocessed()
	}
	return false
}

// UpdateGuestConfig changes a guest's configuration and waits for the
// change (a VM's is a qmconfig task, POST; a container's is synchronous,
// PUT). With "digest" among params, PVE refuses the change if the
// configuration changed since it was read. A held lock is waited out within
// ctx's deadline; a change whose answer was lost (596) is settled through
// the digest, never re-sent blindly.
func (c *Client) UpdateGuestConfig(ctx context.Context, kind GuestKind, node string, vmid int, params url.Values) (*TaskResult, error) {
	params = cloneValues(params)
	var res *TaskResult
	doubted := false             // an attempt's answer was lost: it may have landed
	var heldBy map[string]string // the configuration when a lock refused the change
	err := retryLocked(ctx, func() error {
		if heldBy != nil {
			// A "lock: backup" (migrate, clone, ...) is written into the
			// configuration and removed from it again, which changes its
			// digest: sent with the old digest the change would fail the
			// digest check once the lock is gone. If nothing but the lock
			// changed, the change is still built on what it read.
			if cfg, err := c.GuestConfig(ctx, kind, node, vmid, false); err == nil && sameButLock(cfg.Values, heldBy) {
				params.Set("digest", cfg.Digest)
			}
		}
		var err error
		res, err = c.writeConfig(ctx, kind, node, vmid, params, &doubted)
		if errors.Is(err, ErrLocked) && heldBy == nil && params.Get("digest") != "" {
			if cfg, rerr := c.GuestConfig(ctx, kind, node, vmid, false); rerr == nil && cfg.Digest == params.Get("digest") {
				heldBy = cfg.Values
			}
		}
		return err
	})
	return res, err
}

// sameButLock reports whether two configurations differ at most in their
// "lock" key.
func sameButLock(a, b map[string]string) bool {
	for k, v := range a {
		if w, ok := b[k]; k != "lock" && (!ok || v != w) {
			return false
		}
	}
	for k := range b {
		if _, ok := a[k]; k != "lock" && !ok {
			return false
		}
	}
	return true
}

// writeConfig sends one configuration change and settles it when its
// answer is lost.
func (c *Client) writeConfig(ctx context.Context, kind GuestKind, node string, vmid int, params url.Values, doubted *bool) (*TaskResult, error) {
	method := http.MethodPost
	if kind == LXC {
		method = http.MethodPut
	}
	path := guestPath(kind, node, vmid) + "/config"
	digest := params.Get("digest")
	for {
		sent := time.Now()
		res, err := c.sendOnce(ctx, method, path, params)
		if *doubted && isChecksumMismatch(err) {
			// An earlier attempt whose answer was lost landed after all,
			// after the wait for it had given up.
			return &TaskResult{Node: node, ExitStatus: "OK"}, nil
		}
		if err == nil || !inDoubt(err) {
			return res, err
		}
		*doubted = true
		if digest == "" {
			// Nothing tells whether it landed, and sending it again may
			// apply it twice.
			return nil, fmt.Errorf("%w (the change may still be applied by PVE: check the %s's configuration)", err, kind.Noun())
		}
		landed, lerr := c.awaitDigestChange(ctx, kind, node, vmid, digest)
		if lerr != nil {
			return nil, fmt.Errorf("%w (while finding out whether the change was applied: %w)", err, lerr)
		}
		if !landed {
			// The first attempt failed (a lock it did not get) or still
			// waits in pvedaemon's queue. Sent again with the same digest,
			// at most one of the two can apply.
			continue
		}
		if kind == QEMU {
			// The qmconfig worker's outcome (e.g. a hot-plug failure) is
			// only in its task; PVE never told its UPID.
			if upid, ferr := c.findTaskSince(ctx, node, "qmconfig", vmid, sent); ferr == nil && upid != "" {
				return c.WaitTask(ctx, upid, WaitOptions{})
			}
		}
		return &TaskResult{Node: node, ExitStatus: "OK"}, nil
	}
}

// sendOnce sends a write whose transient failures are not re-sent by the
// transport, and waits for the task it starts, if any.
func (c *Client) sendOnce(ctx context.Context, method, path string, params url.Values) (*TaskResult, error) {
	var upid string
	var err error
	wctx := apiclient.WithoutResend(ctx)
	if method == http.MethodPut {
		err = c.Put(wctx, path, params, &upid)
	} else {
		err = c.Post(wctx, path, params, &upid)
	}
	if err != nil {
		return nil, err
	}
	if upid == "" {
		return &TaskResult{ExitStatus: "OK"}, nil
	}
	return waitAccepted(c.WaitTask(ctx, upid, WaitOptions{}))
}

// awaitDigestChange watches a guest's config digest for up to inDoubtWait
// (within ctx) and reports whether it moved away from digest: a change
// built on digest landed. (Another client's change would move it as well;
// the read-back after every write shows what the configuration is.)
func (c *Client) awaitDigestChange(ctx context.Context, kind GuestKind, node string, vmid int, digest string) (bool, error) {
	deadline := time.Now().Add(inDoubtWait)
	poll := inDoubtPoll
	for {
		cfg, err := c.GuestConfig(ctx, kind, node, vmid, false)
		switch {
		case err != nil && ctx.Err() != nil:
			return false, ctx.Err()
		case err != nil && !errors.Is(err, ErrTransient):
			return false, err
		case err == nil && cfg.Digest != digest:
			return true, nil
		}
		if time.Now().After(deadline) {
			return false, nil
		}
		if err := apiclient.Sleep(ctx, poll); err != nil {
			return false, err
		}
		poll = min(poll*2, 2*time.Second)
	}
}

// findTaskSince returns the UPID of the oldest task of type typ for vmid
// that node started at or after since (a second earlier: task start times
// are whole seconds), or "" when there is none.
func (c *Client) findTaskSince(ctx context.Context, node, typ string, vmid int, since time.Time) (string, error) {
	var tasks []struct {
		UPID      string `json:"upid"`
		StartTime int64  `json:"starttime"`
	}
	q := url.Values{
		"vmid": {strconv.Itoa(vmid)}, "typefilter": {typ}, "source": {"all"},
		"since": {strconv.FormatInt(since.Unix()-1, 10)},
	}
	if err := c.Get(ctx, "/nodes/"+url.PathEscape(node)+"/tasks", q, &tasks); err != nil {
		return "", err
	}
	best := ""
	var bestStart int64
	for _, t := range tasks {
		if best == "" || t.StartTime < bestStart {
			best, bestStart = t.UPID, t.StartTime
		}
	}
	return best, nil
}

// CloneGuest clones guest vmid on node (params: newid, name, target, full,
// storage, snapshot) and waits for the clone task. A clone that fails on a
// lock did nothing (the source's flock is the first thing its worker takes,
// and PVE's own checks come before it): it is tried again while ctx
// allows, so that parallel clones of one running VM take turns. A clone
// whose answer was lost is settled by watching for the new guest.
func (c *Client) CloneGuest(ctx context.Context, kind GuestKind, node string, vmid int, params url.Values) (*TaskResult, error) {
	path := guestPath(kind, node, vmid) + "/clone"
	var res *TaskResult
	err := retryLocked(ctx, func() error {
		for {
			var err error
			res, err = c.sendOnce(ctx, http.MethodPost, path, params)
			if err == nil || !inDoubt(err) {
				return err
			}
			newid, perr := strconv.Atoi(params.Get("newid"))
			if perr != nil {
				return err
			}
			created, cerr := c.awaitClone(ctx, newid)
			switch {
			case cerr != nil:
				return fmt.Errorf("%w (while finding out whether the clone was made: %w)", err, cerr)
			case created:
				res = &TaskResult{Node: node, ExitStatus: "OK"}
				return nil
			}
			// No new guest: the first attempt failed or waits in
			// pvedaemon's queue; if it runs later it fails, as the new ID
			// is taken by then ("config file already exists").
		}
	})
	return res, err
}

// awaitClone watches for the guest newid a clone in doubt makes: it
// reports true once the guest exists without its "clone"/"create" lock,
// false when it did not appear within inDoubtWait, and an error when the
// clone appeared and went away (its worker failed and cleaned up).
func (c *Client) awaitClone(ctx context.Context, newid int) (bool, error) {
	deadline := time.Now().Add(inDoubtWait)
	poll := inDoubtPoll
	seen := false
	for {
		// wherever it is: a clone to another node moves there at its end
		st, err := c.FindGuest(ctx, newid)
		switch {
		case err == nil && st.Lock != "clone" && st.Lock != "create":
			return true, nil
		case err == nil:
			seen, deadline = true, time.Time{} // a clone runs: wait for it, as long as ctx allows
		case errors.Is(err, ErrNotFound) && seen:
			return false, fmt.Errorf("guest %d was removed again: the task that made it failed", newid)
		case ctx.Err() != nil:
			return false, ctx.Err()
		case !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrTransient):
			return false, err
		}
		if !seen && time.Now().After(deadline) {
			return false, nil
		}
		if err := apiclient.Sleep(ctx, poll); err != nil {
			return false, err
		}
		poll = min(poll*2, 2*time.Second)
	}
}

// isChecksumMismatch reports whether err is PVE's digest check failing.
func isChecksumMismatch(err error) bool {
	return err != nil && strings.Contains(err.Error(), "checksum mismatch")
}
