package lxc

import (
	"errors"

	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

func isNotFound(err error) bool { return errors.Is(err, pve.ErrNotFound) }
