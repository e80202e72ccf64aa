package testlab

import (
	"errors"
	"strings"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/bmcsim"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/pvesim"
)

// The BMCs of the lab (package bmcsim) and their wiring to the PVE nodes
// (package pvesim): every machine's BMC starts with the lab, serves the
// lab's Redfish mockup with the lab's BMC credentials, and powers the
// machine's node (bmcHost); powering a node off or on through the lab
// (Lab.StopNode, Lab.StartNode) shows on its BMC.

// bmcUser is the BMCs' administrator.
const bmcUser = bmcsim.DefaultUser

// bmcHost is the PVE node a BMC powers.
type bmcHost struct {
	pve  *pvesim.PVE
	name string
}

// PowerOn starts the node. An error after the lab was closed is none.
func (h bmcHost) PowerOn() error { return quiet(h.pve.StartNode(h.name)) }

// PowerOff stops the node. An error after the lab was closed is none.
func (h bmcHost) PowerOff() error { return quiet(h.pve.StopNode(h.name)) }

// Running reports whether the node is powered on.
func (h bmcHost) Running() bool { return h.pve.NodeRunning(h.name) }

// quiet drops the error of a node that does not start because the lab is
// closed: nodes do not start after that.
func quiet(err error) error {
	if errors.Is(err, pvesim.ErrClosed) {
		return nil
	}
	return err
}

// startBMCs creates and starts the BMC of every node's machine on addr's
// host; c gives their mockup, variant and logger.
func (l *Lab) startBMCs(addr string, c bmcsim.Config) error {
	for _, name := range l.NodeNames() {
		c.Machine = l.Machine(name)
		c.Host = bmcHost{pve: l.PVE, name: name}
		c.CA = l.CA()
		c.Username, c.Password = bmcUser, l.bmcPassword
		b, err := bmcsim.New(c)
		if err != nil {
			return err
		}
		l.bmcs[name] = b
		if err := b.Listen(addr); err != nil {
			return err
		}
	}
	return nil
}

// closeBMCs stops every BMC.
func (l *Lab) closeBMCs() error {
	var first error
	for _, b := range l.bmcs {
		if err := b.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// syncBMC makes the BMC of node name show the power the lab gave the node
// (Lab.StopNode, Lab.StartNode).
func (l *Lab) syncBMC(name string) {
	if b := l.BMC(name); b != nil {
		b.SyncHostPower()
	}
}

// BMC returns the BMC of a node (nil for an unknown node).
func (l *Lab) BMC(node string) *bmcsim.BMC { return l.bmcs[node] }

// BMCEndpoint returns the base URL of a node's BMC, e.g.
// "https://127.0.0.1:43211" (without /redfish/v1; "" for an unknown node).
func (l *Lab) BMCEndpoint(node string) string {
	if b := l.BMC(node); b != nil {
		return b.Endpoint()
	}
	return ""
}

// BMCUsername returns the BMCs' administrator, "ADMIN".
func (l *Lab) BMCUsername() string { return bmcUser }

// BMCPassword returns the password of the BMCs' administrator (random per
// lab, the same on every BMC).
func (l *Lab) BMCPassword() string { return l.bmcPassword }

// bmcEnvVars are the variables EnvLines exports for the BMCs:
// BMC_USERNAME, BMC_PASSWORD and the endpoint of every node's BMC,
// BMC_ENDPOINT_PVE1, ...
func (l *Lab) bmcEnvVars() [][2]string {
	vars := [][2]string{{"BMC_USERNAME", l.BMCUsername()}, {"BMC_PASSWORD", l.BMCPassword()}}
	for _, name := range l.NodeNames() {
		vars = append(vars, [2]string{"BMC_ENDPOINT_" + strings.ToUpper(name), l.BMCEndpoint(name)})
	}
	return vars
}
