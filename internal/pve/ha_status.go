package pve

import (
	"context"
	"fmt"
	"time"
)

// What the HA manager does with a resource. PVE's CRM master and the LRMs
// work in rounds of about 10 s (pve-ha-manager's CRM.pm and LRM.pm), so a
// requested state becomes the service state some rounds later, and the
// start, stop, shutdown and migration of an HA-managed guest through the
// guest API only ask HA (hastart, hastop, hamigrate tasks that end at
// once).

// HASID is the HA resource ID of a guest: "vm:<vmid>" or "ct:<vmid>".
func HASID(kind GuestKind, vmid int) string {
	if kind == LXC {
		return fmt.Sprintf("ct:%d", vmid)
	}
	return fmt.Sprintf("vm:%d", vmid)
}

// HAService is a service entry of /cluster/ha/status/current.
type HAService struct {
	SID          string `json:"sid"`
	Node         string `json:"node"`
	CRMState     string `json:"crm_state"`     // the manager's state: started, stopped, migrate, fence, error, ...
	State        string `json:"state"`         // the shown state: queued, starting, started, stopping, stopped, ...
	RequestState string `json:"request_state"` // the requested state of resources.cfg
}

// HAServiceStatus reads the HA status of a resource; ErrNotFound when HA
// does not list it.
func (c *Client) HAServiceStatus(ctx context.Context, sid string) (*HAService, error) {
	var entries []struct {
		Type string `json:"type"`
		HAService
	}
	if err := c.Get(ctx, "/cluster/ha/status/current", nil, &entries); err != nil {
		return nil, fmt.Errorf("reading the HA status: %w", err)
	}
	for _, e := range entries {
		if e.Type == "service" && e.SID == sid {
			s := e.HAService
			return &s, nil
		}
	}
	return nil, fmt.Errorf("HA service %s: %w", sid, ErrNotFound)
}

// GuestHAManaged reports whether HA manages a guest: it has an HA resource
// whose requested state is not "ignored" (PVE::HA::Config::vm_is_ha_managed).
// It reads the lists the reads of this run share (guest_lists.go).
func (c *Client) GuestHAManaged(ctx context.Context, kind GuestKind, vmid int) (bool, error) {
	return c.guestHAManagedShared(ctx, kind, vmid)
}

// HAPollInterval is how often WaitHAService looks at the HA status: a
// fraction of PVE's 10 s manager round.
var HAPollInterval = time.Second

// WaitHAService polls the HA status of sid until done says it is done (or
// fails), or ctx ends.
func (c *Client) WaitHAService(ctx context.Context, sid string, done func(*HAService) (bool, error)) error {
	// HA moved, started or stopped the guest meanwhile: lists read before
	// are stale
	defer c.lists.invalidate()
	wait := HAPollInterval / 4
	last := "not seen yet"
	timedOut := func() error {
		return fmt.Errorf("waiting for HA service %s (%s): %w", sid, last, ctx.Err())
	}
	for {
		s, err := c.HAServiceStatus(ctx, sid)
		if err != nil {
			if ctx.Err() != nil {
				return timedOut()
			}
			return err
		}
		last = s.State + " on " + s.Node
		ok, err := done(s)
		if err != nil || ok {
			return err
		}
		select {
		case <-ctx.Done():
			return timedOut()
		case <-time.After(wait):
		}
		wait = min(2*wait, HAPollInterval)
	}
}

// WaitHARequestedState waits until the HA manager has brought sid into
// the requested state: "started" (running, as the LRM reported), "stopped"
// or "disabled" (stopped); "ignored" is not waited for. A service in the
// error state is an error.
func (c *Client) WaitHARequestedState(ctx context.Context, sid, requested string) error {
	if requested == "ignored" || requested == "" {
		return nil
	}
	return c.WaitHAService(ctx, sid, func(s *HAService) (bool, error) {
		if s.CRMState == "error" {
			return false, fmt.Errorf("HA service %s is in the error state (see the HA log of node %s)", sid, s.Node)
		}
		switch requested {
		case "started":
			return s.State == "started", nil
		case "stopped", "disabled":
			return s.CRMState == "stopped", nil
		}
		return true, nil
	})
}

// WaitHAMigration waits until HA has moved sid to target after a migration
// request; HA giving up (the service back in a settled state on another
// node after it tried) is an error.
func (c *Client) WaitHAMigration(ctx context.Context, sid, target string) error {
	tried := false
	return c.WaitHAService(ctx, sid, func(s *HAService) (bool, error) {
		switch s.CRMState {
		case "migrate", "relocate", "request_stop":
			tried = true
			return false, nil
		case "error":
			return false, fmt.Errorf("HA service %s is in the error state (see the HA log of node %s)", sid, s.Node)
		}
		if s.Node == target {
			return true, nil
		}
		if tried {
			return false, fmt.Errorf("HA did not move %s to %s: it is %s on %s (see the HA log)", sid, target, s.State, s.Node)
		}
		return false, nil
	})
}
