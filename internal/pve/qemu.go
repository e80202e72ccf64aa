package pve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
)

// GuestConfig is a guest's configuration as PVE returns it: every value as
// text (PVE mixes numbers and strings), and the digest that guards edits.
type GuestConfig struct {
	Values map[string]string
	Digest string
}

// Get returns a value and whether it is set.
func (g *GuestConfig) Get(key string) (string, bool) {
	v, ok := g.Values[key]
	return v, ok
}

// decodeConfig turns PVE's config object into GuestConfig.
func decodeConfig(raw map[string]json.RawMessage) (*GuestConfig, error) {
	g := &GuestConfig{Values: make(map[string]string, len(raw))}
	for k, v := range raw {
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			var n json.Number
			if err := json.Unmarshal(v, &n); err != nil {
				continue // nested objects are not configuration keys
			}
			s = n.String()
		}
		if k == "digest" {
			g.Digest = s
			continue
		}
		g.Values[k] = s
	}
	return g, nil
}

// GuestKind is the kind of a guest: a QEMU VM or an LXC container. The API
// has the same shape for both below /nodes/{node}/qemu and .../lxc.
type GuestKind string

// The guest kinds, as PVE names them in paths and /cluster/resources.
const (
	QEMU GuestKind = "qemu"
	LXC  GuestKind = "lxc"
)

// Noun names the kind in messages: "VM" or "container".
func (k GuestKind) Noun() string {
	if k == LXC {
		return "container"
	}
	return "VM"
}

// Title names the kind in titles: "VM" or "Container".
func (k GuestKind) Title() string {
	if k == LXC {
		return "Container"
	}
	return "VM"
}

func guestPath(kind GuestKind, node string, vmid int) string {
	return "/nodes/" + url.PathEscape(node) + "/" + string(kind) + "/" + strconv.Itoa(vmid)
}

// GuestConfig reads a guest's configuration with its pending changes applied (what
// the VM becomes at its next start); current reads what it runs with now.
// A missing VM is ErrNotFound.
func (c *Client) GuestConfig(ctx context.Context, kind GuestKind, node string, vmid int, current bool) (*GuestConfig, error) {
	var q url.Values
	if current {
		q = url.Values{"current": {"1"}}
	}
	var raw map[string]json.RawMessage
	if err := c.Get(ctx, guestPath(kind, node, vmid)+"/config", q, &raw); err != nil {
		return nil, err
	}
	return decodeConfig(raw)
}

// PendingItem is one entry of GET .../pending: a key's current value and,
// when a change waits for the next start, its pending value or deletion.
type PendingItem struct {
	Key     string `json:"key"`
	Value   any    `json:"value"`
	Pending any    `json:"pending"`
	Delete  Int    `json:"delete"`
}

// GuestPending lists the keys of a guest's configuration with their pending
// changes.
func (c *Client) GuestPending(ctx context.Context, kind GuestKind, node string, vmid int) ([]PendingItem, error) {
	var items []PendingItem
	if err := c.Get(ctx, guestPath(kind, node, vmid)+"/pending", nil, &items); err != nil {
		return nil, err
	}
	return items, nil
}

// GuestStatus is GET .../status/current of a guest.
type GuestStatus struct {
	Status    string `json:"status"`    // running, stopped
	QMPStatus string `json:"qmpstatus"` // running, paused, ... (VMs)
	Lock      string `json:"lock"`
	Name      string `json:"name"`
	Uptime    int64  `json:"uptime"`
	Template  Int    `json:"template"` // 1 for templates
}

// NodeGuest is one guest of a node's guest list (GET /nodes/{node}/qemu or
// /lxc), which PVE computes live (vmstatus).
type NodeGuest struct {
	VMID Int `json:"vmid"`
	GuestStatus
}

// NodeGuests lists a node's guests of one kind, with their live run state,
// names and template flags.
func (c *Client) NodeGuests(ctx context.Context, kind GuestKind, node string) ([]NodeGuest, error) {
	var out []NodeGuest
	if err := c.Get(ctx, "/nodes/"+url.PathEscape(node)+"/"+string(kind), nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// GuestCurrentStatus reads a guest's run state.
func (c *Client) GuestCurrentStatus(ctx context.Context, kind GuestKind, node string, vmid int) (*GuestStatus, error) {
	var st GuestStatus
	if err := c.Get(ctx, guestPath(kind, node, vmid)+"/status/current", nil, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// runTask sends a request that starts a task and waits for the task.
func (c *Client) runTask(ctx context.Context, method, path string, params url.Values) (*TaskResult, error) {
	var upid string
	var err error
	switch method {
	case "POST":
		err = c.Post(ctx, path, params, &upid)
	case "PUT":
		err = c.Put(ctx, path, params, &upid)
	case "DELETE":
		err = c.Delete(ctx, path, params, &upid)
	default:
		return nil, fmt.Errorf("runTask: unsupported method %s", method)
	}
	if err != nil {
		return nil, err
	}
	if upid == "" {
		// Some calls (a synchronous config change) answer without a task.
		return &TaskResult{ExitStatus: "OK"}, nil
	}
	return waitAccepted(c.WaitTask(ctx, upid, WaitOptions{}))
}

// AcceptedError is the error of a call PVE accepted (it answered with a
// task) whose task then failed or was not waited for to its end (a
// timeout, Ctrl-C): what the call makes may exist. A create that ends so
// still records the new object's ID, so that it is not left behind.
type AcceptedError struct{ Err error }

func (e *AcceptedError) Error() string { return e.Err.Error() }
func (e *AcceptedError) Unwrap() error { return e.Err }

// waitAccepted marks the failure of a task wait as an AcceptedError.
func waitAccepted(res *TaskResult, err error) (*TaskResult, error) {
	if err != nil {
		return res, &AcceptedError{Err: err}
	}
	return res, nil
}

// CreateGuest creates a guest on node from PVE's config keys (vmid among them)
// and waits for the create task. A create whose answer was lost (596, a
// connection lost after the request went out) may have been carried out:
// it is settled by watching for the guest (it appears at once, locked
// "create" until its worker ends) and sent again only if the guest did not
// appear; sent blindly, it would fail on its own guest ("already exists")
// or, had the first not landed, leave nothing in the state.
func (c *Client) CreateGuest(ctx context.Context, kind GuestKind, node string, params url.Values) (*TaskResult, error) {
	path := "/nodes/" + url.PathEscape(node) + "/" + string(kind)
	vmid, _ := strconv.Atoi(params.Get("vmid"))
	for {
		res, err := c.runTask(ctx, "POST", path, params)
		var accepted *AcceptedError
		if err == nil || vmid <= 0 || errors.As(err, &accepted) || !inDoubt(err) {
			return res, err
		}
		created, cerr := c.awaitClone(ctx, vmid)
		switch {
		case cerr != nil:
			return nil, fmt.Errorf("%w (while finding out whether guest %d was created: %w)", err, vmid, cerr)
		case created:
			return &TaskResult{Node: node, ExitStatus: "OK"}, nil
		}
	}
}

// GuestAction runs a status action ("start", "stop", "shutdown", "reboot")
// and waits for it.
func (c *Client) GuestAction(ctx context.Context, kind GuestKind, node string, vmid int, action string, params url.Values) (*TaskResult, error) {
	// A worker that could not get the guest's config lock did nothing
	// (qemu-server and pve-container take it first): try it again.
	// One whose answer was lost is settled by the guest's state: a start
	// that shows the guest running (a stop or shutdown that shows it
	// stopped) within inDoubtWait went through; otherwise it is sent again.
	want := map[string]string{"start": "running", "stop": "stopped", "shutdown": "stopped"}[action]
	var res *TaskResult
	err := retryLocked(ctx, func() error {
		for {
			var err error
			res, err = c.runTask(ctx, "POST", guestPath(kind, node, vmid)+"/status/"+url.PathEscape(action), params)
			var accepted *AcceptedError
			if err == nil || want == "" || errors.As(err, &accepted) || !inDoubt(err) {
				return err
			}
			done, xerr := awaitExists(ctx, func(ctx context.Context) (bool, error) {
				st, err := c.GuestCurrentStatus(ctx, kind, node, vmid)
				return err == nil && st.Status == want, err
			})
			switch {
			case xerr != nil:
				return errors.Join(err, xerr)
			case done:
				res = &TaskResult{Node: node, ExitStatus: "OK"}
				return nil
			}
		}
	})
	return res, err
}

// ResizeGuestDisk grows a guest's disk to size ("40G", or "+8G" to add).
func (c *Client) ResizeGuestDisk(ctx context.Context, kind GuestKind, node string, vmid int, disk, size string) error {
	_, err := c.runTask(ctx, "PUT", guestPath(kind, node, vmid)+"/resize", url.Values{"disk": {disk}, "size": {size}})
	return err
}

// MigrateGuest moves a guest to target.
func (c *Client) MigrateGuest(ctx context.Context, kind GuestKind, node string, vmid int, target string, running bool) (*TaskResult, error) {
	// A running VM migrates online; a running container is restarted on
	// the target (containers cannot migrate live).
	p := url.Values{"target": {target}}
	switch {
	case kind == QEMU:
		p.Set("with-local-disks", "1")
		if running {
			p.Set("online", "1")
		}
	case running:
		p.Set("restart", "1")
	}
	return c.runTask(ctx, "POST", guestPath(kind, node, vmid)+"/migrate", p)
}

// DeleteGuest destroys a stopped guest, its disks, and (purge) its entries in
// backup and replication jobs and HA. A lock (a backup running, the config
// flock) refuses the destroy before it removes anything: it is waited out
// within ctx's deadline (guest_write.go).
func (c *Client) DeleteGuest(ctx context.Context, kind GuestKind, node string, vmid int, destroyUnreferencedDisks bool) (*TaskResult, error) {
	var res *TaskResult
	unreferenced := "0"
	if destroyUnreferencedDisks {
		unreferenced = "1"
	}
	err := retryLocked(ctx, func() error {
		var err error
		res, err = c.runTask(ctx, "DELETE", guestPath(kind, node, vmid), url.Values{"purge": {"1"}, "destroy-unreferenced-disks": {unreferenced}})
		return err
	})
	return res, err
}

// FindGuest finds a guest: the node it lives on and its kind through
// /cluster/resources (guests move between nodes), its run state, name,
// template flag and lock from that node (status/current). PVE fills a
// guest's status, name, template flag and usage in /cluster/resources from
// the statistics pvestatd broadcasts every 10 s ("unknown" and no name
// before the first broadcast: PVE::API2Tools::extract_vm_stats), so only
// its node, kind and ID are current there. A guest that does not exist is
// ErrNotFound.
func (c *Client) FindGuest(ctx context.Context, vmid int) (*ClusterResource, error) {
	rs, err := c.ClusterResources(ctx, "vm")
	if err != nil {
		return nil, err
	}
	for i := range rs {
		if r := &rs[i]; r.VMID == vmid && (r.Type == "qemu" || r.Type == "lxc") {
			st, err := c.GuestCurrentStatus(ctx, GuestKind(r.Type), r.Node, vmid)
			if err != nil {
				return nil, fmt.Errorf("guest %d on %s: %w", vmid, r.Node, err)
			}
			r.Status, r.Name, r.Lock, r.Template, r.Uptime = st.Status, st.Name, st.Lock, st.Template, uint64(max(st.Uptime, 0))
			return r, nil
		}
	}
	return nil, fmt.Errorf("guest %d: %w", vmid, ErrNotFound)
}

// FindGuestConfig finds a guest of the given kind wherever it runs and
// reads its configuration (pending changes applied). A guest of the other
// kind with that ID is ErrNotFound, said so. Where the guest is and how it
// runs come from the lists the reads of this run share (guest_lists.go), so
// that reading many guests costs about one request each (the config).
func (c *Client) FindGuestConfig(ctx context.Context, kind GuestKind, vmid int) (*ClusterResource, *GuestConfig, error) {
	guest, err := c.findGuestShared(ctx, vmid)
	if err != nil {
		return nil, nil, err
	}
	if guest.Type != string(kind) {
		other := QEMU
		if kind == QEMU {
			other = LXC
		}
		return nil, nil, fmt.Errorf("guest %d is a %s, not a %s: %w", vmid, other.Noun(), kind.Noun(), ErrNotFound)
	}
	cfg, err := c.GuestConfig(ctx, kind, guest.Node, vmid, false)
	if err != nil && ctx.Err() == nil {
		// the shared lists may say where the guest was: it migrated (or
		// went) since they were read; look afresh
		fresh, ferr := c.FindGuest(ctx, vmid)
		if ferr != nil {
			return nil, nil, ferr
		}
		if fresh.Node == guest.Node || fresh.Type != string(kind) {
			return nil, nil, err
		}
		guest = fresh
		cfg, err = c.GuestConfig(ctx, kind, guest.Node, vmid, false)
	}
	if err != nil {
		return nil, nil, err
	}
	return guest, cfg, nil
}

// ids hands out VMIDs to parallel creates in this process: PVE's nextid
// only checks which ids are free now, so two creates that ask at the same
// time would get the same one.
var ids = struct {
	sync.Mutex
	reserved map[string]map[int]bool // by endpoint
}{reserved: map[string]map[int]bool{}}

// CreateWithNewVMID allocates a free VMID and runs create with it. An id
// that another client took meanwhile ("already exists") makes it try the
// next one. The id stays reserved in this process while create runs.
func (c *Client) CreateWithNewVMID(ctx context.Context, create func(vmid int) error) (int, error) {
	const attempts = 10
	for range attempts {
		vmid, err := c.reserveVMID(ctx)
		if err != nil {
			return 0, err
		}
		err = create(vmid)
		var accepted *AcceptedError
		if errors.As(err, &accepted) {
			// The guest may exist under vmid, and the state names it (a
			// tainted resource). A failed create removes its guest, and
			// nextid hands the id out again: it stays reserved in this
			// process, so that a create running beside it does not take it
			// and the tainted resource's replacement destroy the wrong guest.
			return vmid, err
		}
		c.releaseVMID(vmid)
		if err == nil {
			return vmid, nil
		}
		if !strings.Contains(err.Error(), "already exists") {
			return 0, err
		}
	}
	return 0, fmt.Errorf("no free VMID after %d attempts: other clients keep taking them", attempts)
}

func (c *Client) reserveVMID(ctx context.Context) (int, error) {
	ids.Lock()
	defer ids.Unlock()
	taken := ids.reserved[c.endpoint]
	if taken == nil {
		taken = map[int]bool{}
		ids.reserved[c.endpoint] = taken
	}
	vmid, err := c.NextID(ctx)
	if err != nil {
		return 0, err
	}
	// nextid does not know the ids this process has handed out and not yet
	// created: skip them, asking nextid whether each next candidate is free.
	for candidate := vmid; ; candidate++ {
		if taken[candidate] {
			continue
		}
		free := candidate == vmid
		if !free {
			if free, err = c.vmidFree(ctx, candidate); err != nil {
				return 0, err
			}
		}
		if free {
			vmid = candidate
			break
		}
	}
	taken[vmid] = true
	return vmid, nil
}

// vmidFree asks PVE whether vmid is unused (GET /cluster/nextid?vmid=N
// answers 400 "VM N already exists" otherwise).
func (c *Client) vmidFree(ctx context.Context, vmid int) (bool, error) {
	var ok flexString
	err := c.Get(ctx, "/cluster/nextid", url.Values{"vmid": {strconv.Itoa(vmid)}}, &ok)
	if err != nil && strings.Contains(err.Error(), "already exists") {
		return false, nil
	}
	return err == nil, err
}

func (c *Client) releaseVMID(vmid int) {
	ids.Lock()
	defer ids.Unlock()
	delete(ids.reserved[c.endpoint], vmid)
}
