package pve

import (
	"context"
	"fmt"
	"net/url"
)

// Pool is a resource pool: a named group of guests and storages that
// permissions can be given on.
type Pool struct {
	ID      string       `json:"poolid"`
	Comment string       `json:"comment"`
	Members []PoolMember `json:"members"`
}

// PoolMember is a guest or a storage in a pool.
type PoolMember struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Node    string `json:"node"`
	VMID    int    `json:"vmid"`
	Storage string `json:"storage"`
}

// GetPool reads a pool with its members. A pool that does not exist is
// ErrNotFound.
func (c *Client) GetPool(ctx context.Context, id string) (*Pool, error) {
	var pools []Pool
	if err := c.Get(ctx, "/pools", url.Values{"poolid": {id}}, &pools); err != nil {
		return nil, fmt.Errorf("reading pool %s: %w", id, err)
	}
	for _, p := range pools {
		if p.ID == id || p.ID == "" {
			p.ID = id
			return &p, nil
		}
	}
	return nil, fmt.Errorf("pool %s: %w", id, ErrNotFound)
}

// CreatePool creates a pool.
func (c *Client) CreatePool(ctx context.Context, id, comment string) error {
	p := url.Values{"poolid": {id}}
	if comment != "" {
		p.Set("comment", comment)
	}
	exists := func(ctx context.Context) (bool, error) { _, err := c.GetPool(ctx, id); return found(err) }
	if err := c.postCreate(ctx, "/pools", p, exists); err != nil {
		return fmt.Errorf("creating pool %s: %w", id, err)
	}
	return nil
}

// SetPoolComment changes a pool's comment; "" removes it.
func (c *Client) SetPoolComment(ctx context.Context, id, comment string) error {
	if err := c.Put(ctx, "/pools", url.Values{"poolid": {id}, "comment": {comment}}, nil); err != nil {
		return fmt.Errorf("changing pool %s: %w", id, err)
	}
	return nil
}

// DeletePool deletes an empty pool; PVE refuses one that has members.
func (c *Client) DeletePool(ctx context.Context, id string) error {
	if err := c.Delete(ctx, "/pools", url.Values{"poolid": {id}}, nil); err != nil {
		return fmt.Errorf("deleting pool %s: %w", id, err)
	}
	return nil
}
