package ceph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"syscall"
)

// Client runs the monitor commands the provider needs over a Conn.
type Client struct {
	conn Conn
}

// NewClient wraps a connection.
func NewClient(conn Conn) *Client { return &Client{conn: conn} }

// Close closes the connection.
func (c *Client) Close() { c.conn.Close() }

// ErrNotFound: the pool, rule or profile does not exist.
var ErrNotFound = errors.New("not found")

// ErrExists: the object exists already (Ceph answers success for some of
// these; the client does not adopt them silently).
var ErrExists = errors.New("already exists")

// command runs one monitor command and decodes its JSON output into out
// (when not nil).
func (c *Client) command(ctx context.Context, cmd map[string]any, out any) error {
	if _, ok := cmd["format"]; !ok && out != nil {
		cmd["format"] = "json"
	}
	prefix, _ := cmd["prefix"].(string)
	send := c.conn.MonCommand
	if mgrCommands[prefix] {
		send = c.conn.MgrCommand
	}
	buf, status, err := send(ctx, cmd)
	if err != nil {
		ce := &CommandError{Prefix: prefix, Err: err, Status: status, Errno: errno(err)}
		switch ce.Errno {
		case syscall.ENOENT:
			return fmt.Errorf("%w: %w", ce, ErrNotFound)
		case syscall.EEXIST:
			return fmt.Errorf("%w: %w", ce, ErrExists)
		}
		return ce
	}
	if out != nil && len(buf) > 0 {
		if err := json.Unmarshal(buf, out); err != nil {
			return fmt.Errorf("ceph %s: decoding %q: %w", prefix, truncate(buf), err)
		}
	}
	return nil
}

// mgrCommands are served by the manager: the monitors' answer lacks the
// per-pool statistics.
var mgrCommands = map[string]bool{"osd pool autoscale-status": true}

// errno is the error number of a failed command: go-ceph's errors carry
// librados' negative return code; others may be an Errno.
func errno(err error) syscall.Errno {
	var coded interface{ ErrorCode() int }
	if errors.As(err, &coded) {
		c := coded.ErrorCode()
		if c < 0 {
			c = -c
		}
		return syscall.Errno(c)
	}
	var e syscall.Errno
	if errors.As(err, &e) {
		return e
	}
	return 0
}

func truncate(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "..."
	}
	return string(b)
}

// Pool is a pool as "osd pool ls detail" shows it.
type Pool struct {
	Name               string                       `json:"pool_name"`
	ID                 int64                        `json:"pool_id"`
	Type               int                          `json:"type"` // 1 replicated, 3 erasure
	Size               int64                        `json:"size"`
	MinSize            int64                        `json:"min_size"`
	PGNum              int64                        `json:"pg_num"`
	PGNumTarget        int64                        `json:"pg_num_target"`
	CrushRule          int64                        `json:"crush_rule"`
	AutoscaleMode      string                       `json:"pg_autoscale_mode"`
	ErasureCodeProfile string                       `json:"erasure_code_profile"`
	QuotaMaxBytes      int64                        `json:"quota_max_bytes"`
	QuotaMaxObjects    int64                        `json:"quota_max_objects"`
	FlagsNames         string                       `json:"flags_names"`
	Applications       map[string]map[string]string `json:"application_metadata"`
	Options            struct {
		TargetSizeRatio float64 `json:"target_size_ratio"`
		TargetSizeBytes int64   `json:"target_size_bytes"`
	} `json:"options"`
}

// Erasure reports whether the pool is erasure-coded.
func (p Pool) Erasure() bool { return p.Type == 3 }

// ECOverwrites reports whether an EC pool allows overwrites.
func (p Pool) ECOverwrites() bool { return strings.Contains(p.FlagsNames, "ec_overwrites") }

// Pools lists the pools.
func (c *Client) Pools(ctx context.Context) ([]Pool, error) {
	var pools []Pool
	err := c.command(ctx, map[string]any{"prefix": "osd pool ls", "detail": "detail"}, &pools)
	return pools, err
}

// Pool finds one pool by name.
func (c *Client) Pool(ctx context.Context, name string) (*Pool, error) {
	pools, err := c.Pools(ctx)
	if err != nil {
		return nil, err
	}
	for _, p := range pools {
		if p.Name == name {
			return &p, nil
		}
	}
	return nil, fmt.Errorf("pool %s: %w", name, ErrNotFound)
}

// PoolSpec is what a pool is created with.
type PoolSpec struct {
	Name               string
	PGNum              int64
	ErasureCodeProfile string // makes an EC pool
	CrushRule          string
	AutoscaleMode      string
}

// CreatePool creates a pool; one that exists already is ErrExists (Ceph
// itself answers success).
func (c *Client) CreatePool(ctx context.Context, spec PoolSpec) error {
	if _, err := c.Pool(ctx, spec.Name); err == nil {
		return fmt.Errorf("pool %s: %w: import it instead (terraform import ... %s)", spec.Name, ErrExists, spec.Name)
	}
	cmd := map[string]any{"prefix": "osd pool create", "pool": spec.Name, "pool_type": "replicated"}
	if spec.PGNum > 0 {
		cmd["pg_num"] = spec.PGNum
	}
	if spec.ErasureCodeProfile != "" {
		cmd["pool_type"] = "erasure"
		cmd["erasure_code_profile"] = spec.ErasureCodeProfile
	}
	if spec.CrushRule != "" {
		cmd["rule"] = spec.CrushRule
	}
	if spec.AutoscaleMode != "" {
		cmd["autoscale_mode"] = spec.AutoscaleMode
	}
	return c.command(ctx, cmd, nil)
}

// SetPool sets one pool variable ("size", "min_size", "pg_num",
// "pg_autoscale_mode", "crush_rule", "target_size_ratio", ...).
func (c *Client) SetPool(ctx context.Context, pool, variable, value string) error {
	cmd := map[string]any{"prefix": "osd pool set", "pool": pool, "var": variable, "val": value}
	if variable == "size" || variable == "min_size" {
		cmd["yes_i_really_mean_it"] = true // size 1 needs it
	}
	return c.command(ctx, cmd, nil)
}

// SetQuota sets a pool quota ("max_bytes", "max_objects"); 0 removes it.
func (c *Client) SetQuota(ctx context.Context, pool, field string, value int64) error {
	return c.command(ctx, map[string]any{"prefix": "osd pool set-quota", "pool": pool, "field": field,
		"val": strconv.FormatInt(value, 10)}, nil)
}

// EnableApplication tags a pool with an application (rbd, cephfs, rgw).
func (c *Client) EnableApplication(ctx context.Context, pool, app string) error {
	return c.command(ctx, map[string]any{"prefix": "osd pool application enable", "pool": pool, "app": app,
		"yes_i_really_mean_it": true}, nil)
}

// DisableApplication removes an application tag.
func (c *Client) DisableApplication(ctx context.Context, pool, app string) error {
	return c.command(ctx, map[string]any{"prefix": "osd pool application disable", "pool": pool, "app": app,
		"yes_i_really_mean_it": true}, nil)
}

// PoolUsage reads a pool's usage ("df": objects, bytes used). The monitors learn the pool
// statistics from the manager every few seconds: a pool created a moment
// ago may not be listed yet, which reported false says.
func (c *Client) PoolUsage(ctx context.Context, pool string) (usage PoolUsage, reported bool, err error) {
	var df struct {
		Pools []struct {
			Name  string    `json:"name"`
			Stats PoolUsage `json:"stats"`
		} `json:"pools"`
	}
	if err := c.command(ctx, map[string]any{"prefix": "df"}, &df); err != nil {
		return PoolUsage{}, false, err
	}
	for _, p := range df.Pools {
		if p.Name == pool {
			return p.Stats, true, nil
		}
	}
	return PoolUsage{}, false, nil
}

// PoolUsage is a pool's usage in "ceph df".
type PoolUsage struct {
	Objects   int64 `json:"objects"`
	BytesUsed int64 `json:"bytes_used"` // raw bytes, replicas included
}

// PoolObjects counts a pool's objects; a pool Ceph has not reported yet
// counts as empty (see PoolUsage).
func (c *Client) PoolObjects(ctx context.Context, pool string) (int64, error) {
	u, _, err := c.PoolUsage(ctx, pool)
	return u.Objects, err
}

// ErrPoolDeleteDisabled: the monitors refuse pool deletion.
var ErrPoolDeleteDisabled = errors.New("the monitors refuse to delete pools: set mon_allow_pool_delete = true " +
	"(ceph config set mon mon_allow_pool_delete true) and try again")

// DeletePool deletes a pool; with force false a pool that holds objects is
// refused (data is not lost by a typo).
func (c *Client) DeletePool(ctx context.Context, pool string, force bool) error {
	if !force {
		n, err := c.PoolObjects(ctx, pool)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		if n > 0 {
			return fmt.Errorf("pool %s holds %d objects: set force_destroy = true to delete it with its data", pool, n)
		}
	}
	err := c.command(ctx, map[string]any{"prefix": "osd pool rm", "pool": pool, "pool2": pool,
		"yes_i_really_really_mean_it": true}, nil)
	var ce *CommandError
	if errors.As(err, &ce) && strings.Contains(ce.Status, "mon_allow_pool_delete") {
		return fmt.Errorf("deleting pool %s: %w (%s)", pool, ErrPoolDeleteDisabled, strings.TrimSpace(ce.Status))
	}
	return err
}
