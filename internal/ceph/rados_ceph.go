//go:build ceph

package ceph

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/ceph/go-ceph/rados"
)

// Built reports whether this build talks to Ceph through librados.
const Built = true

// radosConn sends monitor commands through librados.
type radosConn struct {
	conn *rados.Conn
}

// Connect opens a librados connection with cfg. A dead monitor fails in
// seconds: client_mount_timeout and rados_mon_op_timeout are set.
func Connect(ctx context.Context, cfg Config) (Conn, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	conn, err := rados.NewConnWithUser(cfg.user())
	if err != nil {
		return nil, fmt.Errorf("ceph: creating a connection: %w", err)
	}
	if cfg.ConfigFile != "" {
		if err := conn.ReadConfigFile(cfg.ConfigFile); err != nil {
			return nil, fmt.Errorf("ceph: reading %s: %w", cfg.ConfigFile, err)
		}
	}
	opts := map[string]string{
		"client_mount_timeout": fmt.Sprint(cfg.timeoutSeconds()),
		"rados_mon_op_timeout": fmt.Sprint(cfg.timeoutSeconds()),
		"rados_osd_op_timeout": fmt.Sprint(cfg.timeoutSeconds()),
	}
	if cfg.MonHost != "" {
		opts["mon_host"] = cfg.MonHost
	}
	if cfg.Key != "" {
		opts["key"] = cfg.Key
	}
	if cfg.KeyringFile != "" {
		opts["keyring"] = cfg.KeyringFile
	}
	for k, v := range opts {
		if err := conn.SetConfigOption(k, v); err != nil {
			return nil, fmt.Errorf("ceph: setting %s: %w", k, err)
		}
	}
	done := make(chan error, 1)
	go func() { done <- conn.Connect() }()
	select {
	case err := <-done:
		if err != nil {
			conn.Shutdown()
			return nil, fmt.Errorf("ceph: connecting to the monitors %s: %w", cfg.MonHost, err)
		}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return &radosConn{conn: conn}, nil
}

func (c *radosConn) MonCommand(_ context.Context, cmd map[string]any) ([]byte, string, error) {
	b, err := json.Marshal(cmd)
	if err != nil {
		return nil, "", err
	}
	out, status, err := c.conn.MonCommand(b)
	return out, status, err
}

func (c *radosConn) MgrCommand(_ context.Context, cmd map[string]any) ([]byte, string, error) {
	b, err := json.Marshal(cmd)
	if err != nil {
		return nil, "", err
	}
	return c.conn.MgrCommand([][]byte{b})
}

func (c *radosConn) Close() { c.conn.Shutdown() }
