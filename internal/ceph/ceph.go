// Package ceph speaks Ceph's monitor commands (JSON) through a small
// interface, Conn. The librados implementation (go-ceph, cgo) is in a file
// built only with -tags ceph; the default build has a stub whose error
// says which build to use. Everything else here is pure Go.
package ceph

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"time"
)

// ErrNotBuilt is what the default (cgo-free) build answers.
var ErrNotBuilt = errors.New("this build of the provider has no librados: CRUSH rules and erasure-code profiles " +
	"need the ceph build (make build-ceph, or the release's linux_amd64 ceph archive)")

// Conn sends monitor commands (and, for what the manager serves, such as
// df, manager commands): the command as JSON, the output buffer and the
// status string back.
type Conn interface {
	MonCommand(ctx context.Context, cmd map[string]any) (out []byte, status string, err error)
	MgrCommand(ctx context.Context, cmd map[string]any) (out []byte, status string, err error)
	Close()
}

// Config is how to reach the monitors.
type Config struct {
	// MonHost is the monitors' addresses, e.g. "10.0.0.1,10.0.0.2".
	MonHost string
	// User is the cephx user without "client." (default admin).
	User string
	// Key is the user's secret; or KeyringFile holds it.
	Key, KeyringFile string
	// ConfigFile is a ceph.conf to read first.
	ConfigFile string
	// Timeout bounds connecting and each monitor command. Default 10 s.
	Timeout time.Duration
}

func (c Config) validate() error {
	if c.MonHost == "" && c.ConfigFile == "" {
		return errors.New("ceph: set mon_host or config_file")
	}
	if c.Key != "" && c.KeyringFile != "" {
		return errors.New("ceph: set key or keyring_file, not both")
	}
	return nil
}

func (c Config) user() string {
	u := strings.TrimPrefix(c.User, "client.")
	if u == "" {
		return "admin"
	}
	return u
}

//lint:ignore U1000 used by the librados build (rados_ceph.go, -tags ceph)
func (c Config) timeoutSeconds() int {
	if c.Timeout <= 0 {
		return 10
	}
	return int((c.Timeout + time.Second - 1) / time.Second)
}

// CommandError is a monitor command Ceph refused: its errno and status.
type CommandError struct {
	Prefix string
	Err    error
	Status string
	Errno  syscall.Errno
}

func (e *CommandError) Error() string {
	msg := strings.TrimSpace(e.Status)
	if msg == "" && e.Err != nil {
		msg = e.Err.Error()
	}
	return fmt.Sprintf("ceph %s: %s", e.Prefix, msg)
}

func (e *CommandError) Unwrap() error { return e.Err }
