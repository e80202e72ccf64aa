package pve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/apiclient"
)

// Cluster membership: create a cluster on a standalone node, join other
// nodes to it, remove nodes, and read who is in it.

// JoinInfo is what a node needs to join a cluster (GET /cluster/config/join).
type JoinInfo struct {
	ConfigDigest  string         `json:"config_digest"`
	PreferredNode string         `json:"preferred_node"`
	Nodes         []ClusterNode  `json:"nodelist"`
	Totem         map[string]any `json:"totem"`
}

// ClusterNode is a node of the corosync configuration.
type ClusterNode struct {
	Name        string `json:"name"`
	NodeID      Int    `json:"nodeid"` // PVE sends these as strings
	PVEAddr     string `json:"pve_addr"`
	Fingerprint string `json:"pve_fp"`
	Votes       Int    `json:"quorum_votes"`
	Ring0Addr   string `json:"ring0_addr"`
	Ring1Addr   string `json:"ring1_addr"`
}

// ConfigVersion is corosync's config_version from the totem section, 0 when
// it is missing.
func (j *JoinInfo) ConfigVersion() int {
	switch v := j.Totem["config_version"].(type) {
	case float64:
		return int(v)
	case string:
		n, _ := strconv.Atoi(v)
		return n
	case json.Number:
		n, _ := v.Int64()
		return int(n)
	}
	return 0
}

// ClusterName is the totem's cluster_name.
func (j *JoinInfo) ClusterName() string {
	s, _ := j.Totem["cluster_name"].(string)
	return s
}

// ClusterJoinInfo reads the join information of the cluster the client's
// node is in; node picks the member whose address and fingerprint lead
// ("" for the node asked). A standalone node has none: ErrNotFound.
func (c *Client) ClusterJoinInfo(ctx context.Context, node string) (*JoinInfo, error) {
	var q url.Values
	if node != "" {
		q = url.Values{"node": {node}}
	}
	var info JoinInfo
	if err := c.Get(ctx, "/cluster/config/join", q, &info); err != nil {
		return nil, fmt.Errorf("reading the cluster's join information: %w", err)
	}
	if len(info.Nodes) == 0 {
		return nil, fmt.Errorf("no cluster: %w", ErrNotFound)
	}
	return &info, nil
}

// ClusterLinks are a node's corosync links by number (link0, link1, ...):
// an address, optionally ",priority=N".
type ClusterLinks map[int]string

func (l ClusterLinks) params(p url.Values) {
	for n, addr := range l {
		if addr != "" {
			p.Set("link"+strconv.Itoa(n), addr)
		}
	}
}

// CreateCluster makes the client's (standalone) node the first node of a
// new cluster and waits for the task.
func (c *Client) CreateCluster(ctx context.Context, name string, links ClusterLinks, votes int) (*TaskResult, error) {
	p := url.Values{"clustername": {name}}
	links.params(p)
	if votes > 0 {
		p.Set("votes", strconv.Itoa(votes))
	}
	// The worker takes /var/lock/pvecm.lock first (pve-cluster
	// PVE/API2/ClusterConfig.pm create, lock_file with 10 s): failing on it,
	// it did nothing, and runs again.
	// A create whose answer was lost is settled by the node's cluster
	// status: a cluster of that name is this create's (postTask).
	var res *TaskResult
	err := retryLocked(ctx, func() error {
		var err error
		res, err = c.postTask(ctx, "", "/cluster/config", p, "", "", func(ctx context.Context) (bool, error) {
			st, err := c.ClusterStatus(ctx)
			return err == nil && st.Name == name, err
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("creating cluster %s: %w", name, err)
	}
	return res, nil
}

// JoinRequest is what a node sends to join a cluster through one of its
// members.
type JoinRequest struct {
	// Hostname is the address of a member; Fingerprint its certificate's
	// SHA-256 fingerprint.
	Hostname, Fingerprint string
	// Password is root@pam's password on the cluster.
	Password string
	Links    ClusterLinks
	Votes    int
	// Node is the joining node's name: where its join task is looked for
	// when the answer to the join was lost.
	Node string
}

// JoinCluster joins the client's (standalone) node to a cluster and waits
// for the task. A joining node takes the cluster's authentication key and a
// new certificate signed by the cluster's CA, so the client may lose the
// node half-way (its ticket void, its certificate changed); then the task
// is followed through member, a client of the cluster, once the node is
// back in the membership.
func (c *Client) JoinCluster(ctx context.Context, req JoinRequest, member *Client) (*TaskResult, error) {
	p := url.Values{"hostname": {req.Hostname}, "fingerprint": {req.Fingerprint}, "password": {req.Password}}
	req.Links.params(p)
	if req.Votes > 0 {
		p.Set("votes", strconv.Itoa(req.Votes))
	}
	// The join worker takes /var/lock/pvecm.lock first (pve-cluster
	// PVE/API2/ClusterConfig.pm join, lock_file with 10 s): failing on it,
	// it did nothing, and runs again.
	var res *TaskResult
	err := retryLocked(ctx, func() error {
		var upid string
		for upid == "" {
			sent := time.Now()
			err := c.Post(ctx, "/cluster/config/join", p, &upid)
			if err == nil {
				break
			}
			if !inDoubt(err) || req.Node == "" {
				return err
			}
			found, joined, serr := c.settleJoin(ctx, req.Node, member, sent)
			switch {
			case serr != nil:
				return fmt.Errorf("%w (while finding out whether the join started: %w)", err, serr)
			case joined:
				res = &TaskResult{Node: req.Node, ExitStatus: "OK"}
				return nil
			}
			upid = found // "" when the join did not start: sent again
		}
		var err error
		res, err = c.WaitTask(ctx, upid, WaitOptions{})
		var taskErr *TaskError
		if err != nil && !errors.As(err, &taskErr) && member != nil && ctx.Err() == nil {
			res, err = member.waitJoin(ctx, upid)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("joining the cluster through %s: %w", req.Hostname, err)
	}
	return res, nil
}

// settleJoin finds out what became of a join whose answer was lost. The
// join worker (pve-cluster PVE/API2/ClusterConfig.pm join: fork_worker
// 'clusterjoin' without an ID) is looked for on the joining node's task
// list, through its own API and, once the node is a member, through the
// cluster; a node the cluster lists as a member joined, even when its task
// is not to be found (the node restarts its API at the end of a join). It
// returns the task's UPID, or joined, or neither when nothing showed up
// within inDoubtWait: the join did not start, and is sent again.
func (c *Client) settleJoin(ctx context.Context, node string, member *Client, sent time.Time) (upid string, joined bool, err error) {
	deadline := time.Now().Add(inDoubtWait)
	poll := inDoubtPoll
	for {
		if u, err := c.findWorker(ctx, node, "clusterjoin", "", sent); err == nil && u != "" {
			return u, false, nil
		}
		if member != nil {
			if u, err := member.findWorker(ctx, node, "clusterjoin", "", sent); err == nil && u != "" {
				return u, false, nil
			}
			if st, err := member.ClusterStatus(ctx); err == nil && slices.ContainsFunc(st.Nodes, func(n NodeMembership) bool { return n.Name == node }) {
				return "", true, nil
			}
		}
		if time.Now().After(deadline) {
			return "", false, nil
		}
		if err := apiclient.Sleep(ctx, poll); err != nil {
			return "", false, err
		}
		poll = min(poll*2, 2*time.Second)
	}
}

// joinRestartLimit bounds how long waitJoin takes 401s for the joining
// node's restart.
const joinRestartLimit = 2 * time.Minute

// waitJoin follows a join task through a member of the cluster: the node
// is unreachable through the cluster until it has joined, and while it
// restarts its cluster stack at the end of the join (Setup::finish_join
// stops pve-cluster and starts it with the cluster's configuration) it
// authenticates nobody, so the member relays a 401 for seconds; all of
// these pass when the join ends.
func (c *Client) waitJoin(ctx context.Context, upid string) (*TaskResult, error) {
	var refusedSince time.Time // the first 401 of a run of them
	for {
		res, err := c.WaitTask(ctx, upid, WaitOptions{})
		var taskErr *TaskError
		refused := errors.Is(err, ErrAuthentication)
		switch {
		case !refused:
			refusedSince = time.Time{}
		case refusedSince.IsZero():
			refusedSince = time.Now()
		case time.Since(refusedSince) > joinRestartLimit:
			return res, err // credentials the member really refuses
		}
		if err == nil || errors.As(err, &taskErr) || ctx.Err() != nil ||
			!(errors.Is(err, ErrTransient) || errors.Is(err, ErrNotFound) || errors.Is(err, ErrUnreachable) || refused) {
			return res, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// DeleteClusterNode removes a node from the cluster's configuration; PVE
// refuses while the node is online.
func (c *Client) DeleteClusterNode(ctx context.Context, node string) error {
	if err := c.Delete(ctx, "/cluster/config/nodes/"+url.PathEscape(node), nil, nil); err != nil {
		return fmt.Errorf("removing node %s from the cluster: %w", node, err)
	}
	return nil
}

// ClusterStatus is /cluster/status: the cluster (when there is one) and its
// nodes as corosync sees them.
type ClusterStatus struct {
	// Name is "" on a standalone node.
	Name    string
	Quorate bool
	// Version is corosync's config_version.
	Version int
	Nodes   []NodeMembership
}

// NodeMembership is a node's entry in /cluster/status.
type NodeMembership struct {
	Name   string `json:"name"`
	NodeID int    `json:"nodeid"`
	IP     string `json:"ip"`
	Online Bool   `json:"online"`
	Local  Bool   `json:"local"`
}

// ClusterStatus reads /cluster/status.
func (c *Client) ClusterStatus(ctx context.Context) (*ClusterStatus, error) {
	var entries []struct {
		Type    string `json:"type"`
		Name    string `json:"name"`
		Quorate Bool   `json:"quorate"`
		Version int    `json:"version"`
		NodeMembership
	}
	if err := c.Get(ctx, "/cluster/status", nil, &entries); err != nil {
		return nil, fmt.Errorf("reading the cluster status: %w", err)
	}
	st := &ClusterStatus{Quorate: true}
	for _, e := range entries {
		switch e.Type {
		case "cluster":
			st.Name, st.Quorate, st.Version = e.Name, bool(e.Quorate), e.Version
		case "node":
			m := e.NodeMembership
			m.Name = e.Name
			st.Nodes = append(st.Nodes, m)
		}
	}
	return st, nil
}
