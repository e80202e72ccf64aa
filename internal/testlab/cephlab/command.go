package cephlab

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// CommandError is a command the cluster refused: the negative errno and the
// status text the monitor sent (e.g. -1 and "pool deletion is disabled;
// ..."), or, for the CLI, its exit code and standard error.
type CommandError struct {
	Command string // the command's prefix, or the CLI's arguments
	Code    int    // the negative errno, or the CLI's exit code
	Status  string // the monitor's status text, or the CLI's standard error
}

func (e *CommandError) Error() string {
	return fmt.Sprintf("ceph %s: %s (%d)", e.Command, e.Status, e.Code)
}

// Command runs the ceph CLI against the cluster with --format json and
// returns its standard output, e.g. Command("osd", "pool", "ls"). A
// failure is a *CommandError carrying the exit code and standard error.
func (c *Cluster) Command(args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	full := append([]string{"--conf", c.ConfPath(), "--connect-timeout", "15", "--format", "json"}, args...)
	cmd := exec.CommandContext(ctx, "ceph", full...)
	cmd.Dir = c.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return stdout.Bytes(), &CommandError{Command: strings.Join(args, " "), Code: exit.ExitCode(), Status: strings.TrimSpace(stderr.String())}
	case err != nil:
		return nil, fmt.Errorf("cephlab: ceph %s: %w", strings.Join(args, " "), err)
	}
	return stdout.Bytes(), nil
}

// CommandJSON runs the ceph CLI like Command and decodes its output into v.
func (c *Cluster) CommandJSON(v any, args ...string) error {
	out, err := c.Command(args...)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(out, v); err != nil {
		return fmt.Errorf("cephlab: ceph %s: decode %q: %w", strings.Join(args, " "), out, err)
	}
	return nil
}

// MonCommand sends a command to the monitor through librados, the way PVE
// does (PVE::RADOS mon_command): cmd is the command's JSON object, e.g.
// {"prefix": "osd pool ls"}; "format" defaults to "json". It returns the
// output and the status text. A command the cluster refuses is a
// *CommandError with the negative errno and the status text. The connection
// is kept open between calls, so a command takes milliseconds.
func (c *Cluster) MonCommand(cmd map[string]any) ([]byte, string, error) {
	if _, ok := cmd["format"]; !ok {
		cmd = maps.Clone(cmd)
		cmd["format"] = "json"
	}
	c.mu.Lock()
	rc, closed := c.rados, c.closed
	c.mu.Unlock()
	if closed || rc == nil {
		return nil, "", errClosed
	}
	return rc.monCommand(cmd)
}

var errClosed = errors.New("cephlab: the Ceph cluster is not running")

// PutObject writes an object named object, holding data, into pool with the
// rados CLI, as a client of the cluster would, and waits until Ceph counts
// it in "ceph df" (the managers report pool usage every few seconds), at
// most a minute.
func (c *Cluster) PutObject(pool, object string, data []byte) error {
	src := filepath.Join(c.dir, "put-"+object)
	if err := os.WriteFile(src, data, 0o600); err != nil {
		return fmt.Errorf("cephlab: %w", err)
	}
	defer os.Remove(src)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "rados", "-c", c.ConfPath(), "-k", c.KeyringPath(), "-p", pool, "put", object, src)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("cephlab: rados put %s/%s: %w: %s", pool, object, err, out)
	}
	for {
		n, err := c.PoolObjects(pool)
		if err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cephlab: ceph df never counted an object in pool %s", pool)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// PoolObjects returns the objects "ceph df" counts in pool (0 for a pool it
// does not report yet).
func (c *Cluster) PoolObjects(pool string) (int64, error) {
	var df struct {
		Pools []struct {
			Name  string `json:"name"`
			Stats struct {
				Objects int64 `json:"objects"`
			} `json:"stats"`
		} `json:"pools"`
	}
	if err := c.CommandJSON(&df, "df"); err != nil {
		return 0, err
	}
	for _, p := range df.Pools {
		if p.Name == pool {
			return p.Stats.Objects, nil
		}
	}
	return 0, nil
}
