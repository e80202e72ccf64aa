package pvesim

import (
	"testing"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/pvesim/pvetest"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/sim/simtest"
)

// startLab starts a lab for one test and closes it afterwards.
func startLab(t *testing.T, opts Options) *PVE {
	t.Helper()
	if opts.Logf == nil {
		opts.Logf = t.Logf
	}
	return simtest.Start(t, func() (*PVE, error) { return Start(opts) })
}

// statdTick is the pvestatd interval of tests that read guests in
// /cluster/resources: short, so that they wait little (afterStatd).
const statdTick = 50 * time.Millisecond

// afterStatd waits until every node's pvestatd has broadcast its guests'
// status since the call: /cluster/resources then shows what was done
// before it.
func afterStatd(lab *PVE) { time.Sleep(2*lab.lab.statdInterval + 10*time.Millisecond) }

// requireSchema fails tests whose behaviour needs parameter checks when the
// lab runs without them.
func requireSchema(t *testing.T, lab *PVE) {
	t.Helper()
	if !lab.SchemaLoaded() {
		t.Fatal("the lab checks no parameters: started with SchemaPath \"-\"?")
	}
}

// newCaller returns a caller of the lab's API, without credentials.
func newCaller(t *testing.T, lab *PVE) *pvetest.Caller {
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
