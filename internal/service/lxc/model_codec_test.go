package lxc

import (
	"testing"

	"github.com/hcilab/terraform-provider-pve/internal/framework/modeltest"
)

// Read and ModifyPlan read and write containerModel through
// framework.Model: it must give what the framework's Get and Set give, on
// pve_container's schema.
func TestContainerModelCodec(t *testing.T) {
	modeltest.Check[containerModel](t, NewContainerResource(), 400)
}
