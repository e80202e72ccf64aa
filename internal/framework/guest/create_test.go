package guest

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

// createPVE is fakePVE that creates and clones: nextID is the VM ID it
// allocates, createErr what the create or clone task ends with.
type createPVE struct {
	fakePVE
	nextID    int
	createErr error
}

func (f *createPVE) CreateWithNewVMID(_ context.Context, create func(vmid int) error) (int, error) {
	return f.nextID, create(f.nextID)
}

func (f *createPVE) CreateGuest(_ context.Context, kind pve.GuestKind, node string, p url.Values) (*pve.TaskResult, error) {
	_ = f.write("create %s %s %s", kind, node, p.Encode())
	return nil, f.createErr
}

func (f *createPVE) CloneGuest(_ context.Context, kind pve.GuestKind, node string, vmid int, p url.Values) (*pve.TaskResult, error) {
	_ = f.write("clone %s %s %d %s", kind, node, vmid, p.Encode())
	return nil, f.createErr
}

func emptyState() tfsdk.State {
	s := schema.Schema{Attributes: map[string]schema.Attribute{
		"vmid": schema.Int64Attribute{Computed: true},
		"node": schema.StringAttribute{Required: true},
	}}
	return tfsdk.State{Schema: s, Raw: tftypes.NewValue(s.Type().TerraformType(context.Background()), nil)}
}

// A create: one create with the next free VM ID, then a start of its own.
func TestCreate(t *testing.T) {
	f := &createPVE{fakePVE: fakePVE{kind: pve.LXC, node: "pve1", status: "stopped"}, nextID: 105}
	state := emptyState()
	var diags diag.Diagnostics
	vmid, created := Create(context.Background(), f, NewGuest{Kind: pve.LXC, Node: "pve1", VMID: types.Int64Unknown(),
		Params: url.Values{"ostemplate": {"local:vztmpl/t.tar.zst"}}, Started: true}, &state, &diags)
	want := []string{"create lxc pve1 ostemplate=local%3Avztmpl%2Ft.tar.zst&vmid=105", "start pve1"}
	if vmid != 105 || !created || diags.HasError() || !slices.Equal(f.calls, want) {
		t.Fatalf("vmid %d created %v, calls %v, %v", vmid, created, f.calls, diags)
	}
}

// A create or clone that PVE accepted but whose task failed (or was not
// waited for to its end) leaves the new guest's ID in the state, with an
// error: a tainted resource, not an orphan. One PVE refused leaves
// nothing.
func TestCreateAccepted(t *testing.T) {
	for name, run := range map[string]func(Client, *tfsdk.State, *diag.Diagnostics) (int, bool){
		"create": func(c Client, s *tfsdk.State, d *diag.Diagnostics) (int, bool) {
			return Create(context.Background(), c, NewGuest{Kind: pve.QEMU, Node: "pve2", VMID: types.Int64Null(), Params: url.Values{}}, s, d)
		},
		"clone": func(c Client, s *tfsdk.State, d *diag.Diagnostics) (int, bool) {
			return Clone(context.Background(), c, CloneSource{Kind: pve.QEMU, SourceVMID: 900, Node: "pve2", VMID: types.Int64Null()}, s, d)
		},
	} {
		t.Run(name, func(t *testing.T) {
			f := &createPVE{fakePVE: fakePVE{kind: pve.QEMU, node: "pve1"}, nextID: 107,
				createErr: &pve.AcceptedError{Err: errors.New("waiting for the task: context deadline exceeded")}}
			state := emptyState()
			var diags diag.Diagnostics
			if _, ok := run(f, &state, &diags); ok || !diags.HasError() || diags.WarningsCount() != 1 {
				t.Fatalf("ok %v, %v", ok, diags)
			}
			var vmid types.Int64
			var node types.String
			state.GetAttribute(context.Background(), path.Root("vmid"), &vmid)
			state.GetAttribute(context.Background(), path.Root("node"), &node)
			if vmid.ValueInt64() != 107 || node.ValueString() != "pve2" {
				t.Errorf("state vmid %s node %s, want 107 pve2", vmid, node)
			}
			if name == "clone" && (!strings.Contains(f.calls[0], "clone qemu pve1 900 ") || !strings.Contains(f.calls[0], "target=pve2")) {
				t.Errorf("calls %v", f.calls)
			}

			f.createErr = errors.New("VM 107 already exists")
			state = emptyState()
			diags = nil
			run(f, &state, &diags)
			if !state.Raw.IsNull() || !diags.HasError() {
				t.Errorf("refused %s: state %v, %v", name, state.Raw, diags)
			}
		})
	}
}

// Not being able to list the pending changes after the change was made is
// a warning, not a failed apply.
func TestConvergePendingUnreadable(t *testing.T) {
	f := &pendingErrPVE{fakePVE{kind: pve.LXC, node: "pve1", status: "running"}}
	ch := Change{Kind: pve.LXC, VMID: 100, Node: types.StringValue("pve1"), PriorNode: types.StringValue("pve1"), Started: true,
		Action: "Update", Config: func(*pve.GuestConfig) (ConfigChange, error) {
			return ConfigChange{Params: url.Values{"memory": {"1024"}}}, nil
		}}
	var diags diag.Diagnostics
	Converge(context.Background(), f, ch, &diags)
	if diags.HasError() || diags.WarningsCount() != 1 || diags.Warnings()[0].Summary() != "Unable to Read Pending Changes" {
		t.Fatalf("%v", diags)
	}
}

type pendingErrPVE struct{ fakePVE }

func (f *pendingErrPVE) GuestPending(context.Context, pve.GuestKind, string, int) ([]pve.PendingItem, error) {
	return nil, errors.New("connection reset")
}
