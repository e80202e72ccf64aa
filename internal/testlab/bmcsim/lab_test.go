package bmcsim

import (
	"sync"
	"testing"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/bmcsim/bmctest"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/machine"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/sim"
)

// Tests of the simulated BMCs through plain HTTP (caller): the details a
// client sees on the wire; gofish_test.go uses an independent client. The
// BMCs run on machines of their own (testLab), without PVE.

// fastTiming keeps power transitions short in tests.
var fastTiming = Timing{
	PowerOn:          150 * time.Millisecond,
	ForceOff:         100 * time.Millisecond,
	GracefulShutdown: 400 * time.Millisecond,
	Boot:             200 * time.Millisecond,
	Media:            200 * time.Millisecond,
}

// newCaller returns a client of a machine's BMC, without credentials.
func newCaller(t *testing.T, lab *testLab, node string) *bmctest.Client {
	t.Helper()
	b := lab.BMC(node)
	if b == nil {
		t.Fatalf("no BMC for %s", node)
	}
	return bmctest.New(t, bmctest.Config{
		Endpoint:  b.Endpoint(),
		CACertPEM: lab.CACertPEM(),
		Username:  lab.BMCUsername(),
		Password:  lab.BMCPassword(),
		SystemID:  b.SystemID(),
	})
}

// startBMCLab starts a lab whose BMCs have short power transitions.
func startBMCLab(t *testing.T, opts labOptions) *testLab {
	t.Helper()
	lab := startLab(t, opts)
	for _, n := range lab.NodeNames() {
		lab.BMC(n).SetTiming(fastTiming)
	}
	return lab
}

// testLab is a few machines, each with its BMC and a host that only keeps
// its power: what the BMCs of the lab see of it (package testlab wires
// them to PVE nodes).
type testLab struct {
	ca       *sim.CA
	password string
	mockup   *Mockup
	names    []string
	bmcs     map[string]*BMC
	hosts    map[string]*testHost
}

// labOptions say what startBMCLab starts.
type labOptions struct {
	Nodes         int     // machines (0: 3)
	BMC           Variant // the BMCs' vendor behaviour
	RedfishMockup string  // the mockup, as OpenMockup takes it
}

// testHost is a machine's power as its host keeps it.
type testHost struct {
	m  *machine.Machine
	mu sync.Mutex
	up bool
}

func (h *testHost) PowerOn() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.up {
		h.up = true
		h.m.SetBoot(time.Now())
	}
	return nil
}

func (h *testHost) PowerOff() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.up = false
	return nil
}

func (h *testHost) Running() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.up
}

// startLab starts the BMCs of opts.Nodes machines on 127.0.0.1, closed
// when t ends.
func startLab(t *testing.T, opts labOptions) *testLab {
	t.Helper()
	if opts.Nodes == 0 {
		opts.Nodes = 3
	}
	ca, err := sim.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	mockup, err := OpenMockup(opts.RedfishMockup)
	if err != nil {
		t.Fatal(err)
	}
	lab := &testLab{ca: ca, password: sim.RandomHex(10), mockup: mockup, bmcs: map[string]*BMC{}, hosts: map[string]*testHost{}}
	now := time.Now()
	for i := 1; i <= opts.Nodes; i++ {
		m := machine.New(i, now)
		h := &testHost{m: m, up: true}
		b, err := New(Config{Machine: m, Host: h, CA: ca, Password: lab.password, Mockup: mockup, Variant: opts.BMC, Logf: t.Logf})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Listen("127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := b.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		lab.names = append(lab.names, m.Name)
		lab.bmcs[m.Name], lab.hosts[m.Name] = b, h
	}
	return lab
}

// BMC returns the BMC of a machine (nil for an unknown one).
func (l *testLab) BMC(node string) *BMC { return l.bmcs[node] }

// BMCEndpoint returns the base URL of a machine's BMC.
func (l *testLab) BMCEndpoint(node string) string { return l.bmcs[node].Endpoint() }

// BMCUsername returns the BMCs' administrator.
func (l *testLab) BMCUsername() string { return DefaultUser }

// BMCPassword returns the administrator's password.
func (l *testLab) BMCPassword() string { return l.password }

// NodeNames returns the machines' names.
func (l *testLab) NodeNames() []string { return l.names }

// NodeRunning reports whether a machine's host is powered on.
func (l *testLab) NodeRunning(node string) bool { return l.hosts[node].Running() }

// CACertPEM returns the lab's CA certificate.
func (l *testLab) CACertPEM() string { return string(l.ca.CertPEM) }

// sessionLocation finds the session of c by its token.
func sessionLocation(t *testing.T, b *BMC, c *bmctest.Client) string {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if s, ok := b.sessions[c.Headers["X-Auth-Token"]]; ok {
		return sessionURI(s.id)
	}
	t.Fatal("no session")
	return ""
}
