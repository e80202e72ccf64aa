//go:build !ceph

package ceph

import "context"

// Built reports whether this build talks to Ceph through librados.
const Built = false

// Connect fails: this build has no librados.
func Connect(context.Context, Config) (Conn, error) { return nil, ErrNotBuilt }
