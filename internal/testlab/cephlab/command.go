package cephlab

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os/exec"
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
