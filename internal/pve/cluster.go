package pve

import (
	"context"
	"fmt"
	"net/url"
)

// ClusterResource is one entry of GET /cluster/resources. Which fields are
// set depends on Type: "qemu" and "lxc" guests, "node", "storage", "pool",
// "sdn".
type ClusterResource struct {
	ID      string  `json:"id"`   // e.g. "qemu/100", "node/pve1", "storage/pve1/local"
	Type    string  `json:"type"` // "qemu", "lxc", "node", "storage", "pool", "sdn"
	Node    string  `json:"node"`
	Status  string  `json:"status"`
	Name    string  `json:"name"`    // guests
	Storage string  `json:"storage"` // storage
	Pool    string  `json:"pool"`
	VMID    int     `json:"vmid"` // guests
	CPU     float64 `json:"cpu"`
	MaxCPU  int     `json:"maxcpu"`
	Mem     uint64  `json:"mem"`
	MaxMem  uint64  `json:"maxmem"`
	Disk    uint64  `json:"disk"`
	MaxDisk uint64  `json:"maxdisk"`
	Uptime  uint64  `json:"uptime"`
	// Guests only.
	Template Int    `json:"template"` // 1 for templates
	Tags     string `json:"tags"`     // "a;b"
	Lock     string `json:"lock"`
	HAState  string `json:"hastate"` // the HA manager's state, else the requested one; "" without HA resource
}

// ClusterResources lists the cluster's resources, all of them when typ is
// empty, or those of one kind: "vm" (guests of both kinds), "storage",
// "node" or "sdn".
func (c *Client) ClusterResources(ctx context.Context, typ string) ([]ClusterResource, error) {
	var q url.Values
	if typ != "" {
		q = url.Values{"type": {typ}}
	}
	var rs []ClusterResource
	if err := c.Get(ctx, "/cluster/resources", q, &rs); err != nil {
		return nil, err
	}
	return rs, nil
}

// NextID returns a free VMID. PVE answers with a string such as "100"; a
// number is accepted too.
func (c *Client) NextID(ctx context.Context) (int, error) {
	// go-proxmox's Cluster.NextID accepts only the string form.
	var id flexString
	if err := c.Get(ctx, "/cluster/nextid", nil, &id); err != nil {
		return 0, err
	}
	n, err := id.int()
	if err != nil {
		return 0, fmt.Errorf("GET /cluster/nextid: unexpected answer %q: %w", string(id), err)
	}
	return n, nil
}
