package pbs

import (
	"context"
	"errors"
	"net/url"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/apiclient"
)

// How long a create whose answer was lost is watched for before it is sent
// again, and the first interval between looks (it grows to 2 s).
var (
	inDoubtWait = 20 * time.Second
	inDoubtPoll = 250 * time.Millisecond
)

// inDoubt reports whether a failed write may still have been carried out:
// a transient failure that does not prove otherwise (a connection lost
// after the request went out, a gateway's 502-504).
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

// postCreate sends a POST that creates an object named in its parameters
// (a namespace, a prune job) within the call. A lost answer leaves open
// whether the object was made: exists is asked for up to inDoubtWait; an
// object that shows up was made by this call, one that does not is sent
// for again, and a second attempt that meets the object (ErrConflict,
// "already exists") is the first attempt's success.
func (c *Client) postCreate(ctx context.Context, path string, params url.Values, out any, exists func(context.Context) (bool, error)) error {
	doubted := false
	for {
		err := c.Post(ctx, path, params, out)
		if err != nil && doubted && errors.Is(err, ErrConflict) {
			return nil
		}
		if err == nil || !inDoubt(err) {
			return err
		}
		doubted = true
		deadline := time.Now().Add(inDoubtWait)
		poll := inDoubtPoll
		for {
			ok, xerr := exists(ctx)
			if xerr != nil && !errors.Is(xerr, ErrTransient) && !errors.Is(xerr, ErrNotFound) {
				return errors.Join(err, xerr)
			}
			if ok {
				return nil
			}
			if time.Now().After(deadline) {
				break
			}
			if serr := apiclient.Sleep(ctx, poll); serr != nil {
				return errors.Join(err, serr)
			}
			poll = min(poll*2, 2*time.Second)
		}
	}
}
