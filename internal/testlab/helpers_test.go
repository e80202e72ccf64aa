package testlab

import (
	"testing"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/machine"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/pvesim/pvetest"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/sim/simtest"
)

// The tests of the lab as a whole (the BMCs driving the nodes, PVE's pbs
// storage against a PBS, the lab's data) call the PVE API and the BMCs
// through the clients of packages pvetest and bmctest, which package
// pvesim's and bmcsim's own tests use too.

const gib = machine.GiB

// startLab starts a lab for one test and closes it afterwards.
func startLab(t *testing.T, opts Options) *Lab {
	t.Helper()
	if opts.Logf == nil {
		opts.Logf = t.Logf
	}
	return simtest.Start(t, func() (*Lab, error) { return Start(opts) })
}

// newCaller returns a caller of the lab's PVE API, without credentials.
func newCaller(t *testing.T, lab *Lab) *pvetest.Caller {
	t.Helper()
	return pvetest.New(t, pvetest.Config{
		Endpoint:     lab.Endpoint(),
		NodeEndpoint: lab.NodeEndpoint,
		CACertPEM:    lab.CACertPEM(),
		Username:     lab.Username(),
		Password:     lab.Password(),
		APIToken:     lab.APIToken(),
	})
}
