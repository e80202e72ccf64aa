package pve

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/apiclient"
)

// postCreate sends a POST that creates an object named in its parameters
// (a pool, a mapping, an HA resource or rule, a staged interface) and that
// PVE carries out within the call. An answer lost on the way (596 after
// pveproxy's 30 s, a connection lost after the request went out) leaves
// open whether the object was made, and PVE may still be making it (the
// call waits in pvedaemon's queue or for a lock): exists is asked for up to
// inDoubtWait; an object that shows up was made by this call, one that does
// not is sent for again. A POST sent again whose first attempt landed after
// all is answered "already exists" (or "already defined"), which is then
// the first attempt's success.
func (c *Client) postCreate(ctx context.Context, path string, params url.Values, exists func(context.Context) (bool, error)) error {
	doubted := false
	for {
		err := c.Post(ctx, path, params, nil)
		if err != nil && doubted && alreadyExists(err) {
			return nil
		}
		if err == nil || !inDoubt(err) {
			return err
		}
		doubted = true
		made, xerr := awaitExists(ctx, exists)
		switch {
		case xerr != nil:
			return errors.Join(err, xerr)
		case made:
			return nil
		}
	}
}

// awaitExists asks exists until it says yes or inDoubtWait has passed.
func awaitExists(ctx context.Context, exists func(context.Context) (bool, error)) (bool, error) {
	deadline := time.Now().Add(inDoubtWait)
	poll := inDoubtPoll
	for {
		ok, err := exists(ctx)
		switch {
		case err != nil && !errors.Is(err, ErrTransient):
			return false, err
		case ok:
			return true, nil
		case time.Now().After(deadline):
			return false, nil
		}
		if err := apiclient.Sleep(ctx, poll); err != nil {
			return false, err
		}
		poll = min(poll*2, 2*time.Second)
	}
}

// alreadyExists reports whether a create failed on an object of its ID
// ("pool 'x' already exists", "resource ID 'vm:100' already defined").
func alreadyExists(err error) bool {
	var ae *APIError
	if !errors.As(err, &ae) {
		return false
	}
	msg := strings.ToLower(ae.Message)
	for _, m := range ae.Errors {
		msg += " " + strings.ToLower(m)
	}
	return strings.Contains(msg, "already exists") || strings.Contains(msg, "already defined")
}

// found turns a finder's answer into exists's: ErrNotFound is no.
func found(err error) (bool, error) {
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// postTask sends a POST that starts a worker of type typ named id on node
// (pve-manager, qemu-server, ... fork_worker) and waits for the worker.
// An answer lost on the way (inDoubt) is settled before anything is sent
// again: the node's task list is asked for the worker, started since the
// request went out, and exists (when not nil) for what the worker makes;
// the worker found is waited for, a made object is the request's success,
// and with neither within inDoubtWait the request is sent again. A request
// sent again that meets what the first made ("already exists") is the
// first's success. With typ "", only exists is asked.
func (c *Client) postTask(ctx context.Context, node, path string, params url.Values, typ, id string, exists func(context.Context) (bool, error)) (*TaskResult, error) {
	doubted := false
	for {
		sent := time.Now()
		var upid string
		err := c.Post(ctx, path, params, &upid)
		switch {
		case err == nil && upid == "":
			return &TaskResult{Node: node, ExitStatus: "OK"}, nil
		case err == nil:
			return waitAccepted(c.WaitTask(ctx, upid, WaitOptions{}))
		case doubted && alreadyExists(err):
			return &TaskResult{Node: node, ExitStatus: "OK"}, nil
		case !inDoubt(err):
			return nil, err
		}
		doubted = true
		worker, made := "", false
		_, xerr := awaitExists(ctx, func(ctx context.Context) (bool, error) {
			var ferr error
			if typ != "" {
				if worker, ferr = c.findWorker(ctx, node, typ, id, sent); ferr == nil && worker != "" {
					return true, nil
				}
			}
			if exists != nil {
				ok, eerr := exists(ctx)
				if ok {
					made = true
					return true, nil
				}
				if ferr == nil {
					ferr = eerr
				}
			}
			return false, ferr
		})
		switch {
		case xerr != nil:
			return nil, fmt.Errorf("%w (while finding out whether it was carried out: %w)", err, xerr)
		case worker != "":
			return waitAccepted(c.WaitTask(ctx, worker, WaitOptions{}))
		case made:
			return &TaskResult{Node: node, ExitStatus: "OK"}, nil
		}
	}
}
