package vm

import (
	"testing"

	"github.com/hcilab/terraform-provider-pve/internal/framework/modeltest"
)

// Read and ModifyPlan read and write vmModel through framework.Model: it
// must give what the framework's Get and Set give, on pve_vm's schema.
func TestVMModelCodec(t *testing.T) {
	modeltest.Check[vmModel](t, NewVMResource(), 400)
}
