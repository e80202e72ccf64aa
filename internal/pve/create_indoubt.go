package pve

import (
	"context"
	"errors"
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
