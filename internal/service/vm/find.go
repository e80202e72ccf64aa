package vm

import (
	"errors"
	"regexp"

	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

func isNotFound(err error) bool { return errors.Is(err, pve.ErrNotFound) }

func regexpMust(s string) *regexp.Regexp { return regexp.MustCompile(s) }
