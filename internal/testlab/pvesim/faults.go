package pvesim

import "github.com/hcilab/terraform-provider-pve/internal/testlab/sim"

// Faults are the fault-injection knobs of a lab (see sim.Faults): the PVE
// nodes share one set, a PBS has its own.
type Faults = sim.Faults
