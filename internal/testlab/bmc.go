package testlab

import (
	"strings"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/bmcsim"
)

// The BMCs of the lab (package bmcsim) and their wiring to the PVE nodes:
// every machine's BMC starts with the lab, serves the lab's Redfish mockup
// with the lab's BMC credentials, and powers the machine's node (bmcHost);
// powering a node off or on through the lab (PVE.StopNode, PVE.StartNode)
// shows on its BMC.

// bmcUser is the BMCs' administrator.
const bmcUser = bmcsim.DefaultUser

// loadRedfishMockup loads the mockup according to PVEOptions.RedfishMockup:
// a folder, "-" for none, or "" for REDFISH_MOCKUP, else the lab's copy
// (package labdata).
func (l *pveLab) loadRedfishMockup(path string) error {
	m, err := bmcsim.OpenMockup(path)
	if err != nil {
		return err
	}
	l.mockup = m
	return nil
}

// bmcHost is the PVE node a BMC powers.
type bmcHost struct {
	lab  *pveLab
	name string
}

// PowerOn starts the node. An error after the lab was closed is none.
func (h bmcHost) PowerOn() error { return h.quiet(h.lab.startNode(h.name)) }

// PowerOff stops the node. An error after the lab was closed is none.
func (h bmcHost) PowerOff() error { return h.quiet(h.lab.stopNode(h.name)) }

// Running reports whether the node is powered on.
func (h bmcHost) Running() bool {
	l := h.lab
	l.mu.Lock()
	defer l.mu.Unlock()
	lh := l.host(h.name)
	return lh != nil && lh.up
}

// quiet drops err once the lab is closed: nodes do not start after that.
func (h bmcHost) quiet(err error) error {
	l := h.lab
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	return err
}

// startBMCs creates and starts the BMC of every machine on addr's host.
func (l *pveLab) startBMCs(addr string, variant bmcsim.Variant) error {
	for _, h := range l.hosts {
		b, err := bmcsim.New(bmcsim.Config{
			Machine:  h.node.Machine,
			Host:     bmcHost{lab: l, name: h.name},
			CA:       l.ca,
			Username: bmcUser,
			Password: l.bmcPassword,
			Mockup:   l.mockup,
			Variant:  variant,
			Logf:     l.logf,
		})
		if err != nil {
			return err
		}
		if err := b.Listen(addr); err != nil {
			return err
		}
		h.bmc = b
	}
	return nil
}

// closeBMCs stops every BMC.
func (l *pveLab) closeBMCs() error {
	var first error
	for _, h := range l.hosts {
		if h.bmc != nil {
			if err := h.bmc.Close(); err != nil && first == nil {
				first = err
			}
		}
	}
	return first
}

// syncBMC makes the BMC of node name show the power the lab gave the node
// (PVE.StopNode, PVE.StartNode).
func (p *PVE) syncBMC(name string) {
	if b := p.BMC(name); b != nil {
		b.SyncHostPower()
	}
}

// BMC returns the BMC of a node (nil for an unknown node).
func (p *PVE) BMC(node string) *bmcsim.BMC {
	if h := p.lab.host(node); h != nil {
		return h.bmc
	}
	return nil
}

// BMCEndpoint returns the base URL of a node's BMC, e.g.
// "https://127.0.0.1:43211" (without /redfish/v1; "" for an unknown node).
func (p *PVE) BMCEndpoint(node string) string {
	if b := p.BMC(node); b != nil {
		return b.Endpoint()
	}
	return ""
}

// BMCUsername returns the BMCs' administrator, "ADMIN".
func (p *PVE) BMCUsername() string { return bmcUser }

// BMCPassword returns the password of the BMCs' administrator (random per
// lab, the same on every BMC).
func (p *PVE) BMCPassword() string { return p.lab.bmcPassword }

// bmcEnvVars are the variables EnvLines exports for the BMCs:
// BMC_USERNAME, BMC_PASSWORD and the endpoint of every node's BMC,
// BMC_ENDPOINT_PVE1, ...
func (p *PVE) bmcEnvVars() [][2]string {
	vars := [][2]string{{"BMC_USERNAME", p.BMCUsername()}, {"BMC_PASSWORD", p.BMCPassword()}}
	for _, name := range p.NodeNames() {
		vars = append(vars, [2]string{"BMC_ENDPOINT_" + strings.ToUpper(name), p.BMCEndpoint(name)})
	}
	return vars
}
