package guest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

// fakePVE records the writes the life cycle sends, as "verb args"; the
// guest it knows is vmid on node. Methods the life cycle should not call
// panic (the embedded nil Client).
type fakePVE struct {
	Client
	kind      pve.GuestKind
	node      string
	status    string
	ha        bool
	protected bool
	pending   []pve.PendingItem
	fail      string // the write that fails
	calls     []string
}

func (f *fakePVE) write(format string, args ...any) error {
	call := fmt.Sprintf(format, args...)
	f.calls = append(f.calls, call)
	if f.fail != "" && strings.HasPrefix(call, f.fail) {
		return errors.New("refused")
	}
	return nil
}

func (f *fakePVE) FindGuest(_ context.Context, vmid int) (*pve.ClusterResource, error) {
	return &pve.ClusterResource{VMID: vmid, Node: f.node, Status: f.status, Type: string(f.kind)}, nil
}

func (f *fakePVE) GuestHAManaged(context.Context, pve.GuestKind, int) (bool, error) { return f.ha, nil }

func (f *fakePVE) GuestConfig(context.Context, pve.GuestKind, string, int, bool) (*pve.GuestConfig, error) {
	cfg := &pve.GuestConfig{Digest: "d1", Values: map[string]string{}}
	if f.protected {
		cfg.Values["protection"] = "1"
	}
	return cfg, nil
}

func (f *fakePVE) UpdateGuestConfig(_ context.Context, kind pve.GuestKind, node string, vmid int, p url.Values) (*pve.TaskResult, error) {
	return nil, f.write("config %s %s %d %s", kind, node, vmid, p.Encode())
}

func (f *fakePVE) StagedThisRun(string) bool { return false }

func (f *fakePVE) SettleNetwork(context.Context, string, ...string) error { return nil }

func (f *fakePVE) SetGuestPool(_ context.Context, vmid int, from, to string) error {
	return f.write("pool %d %s->%s", vmid, from, to)
}

func (f *fakePVE) ResizeGuestDisk(_ context.Context, _ pve.GuestKind, node string, _ int, disk, size string) error {
	return f.write("resize %s %s %s", node, disk, size)
}

func (f *fakePVE) MigrateGuest(_ context.Context, _ pve.GuestKind, node string, _ int, target string, online bool) (*pve.TaskResult, error) {
	err := f.write("migrate %s->%s online=%t", node, target, online)
	if err == nil {
		f.node = target
	}
	return nil, err
}

func (f *fakePVE) WaitHAMigration(_ context.Context, sid, target string) error {
	return f.write("wait-ha %s %s", sid, target)
}

func (f *fakePVE) GuestCurrentStatus(context.Context, pve.GuestKind, string, int) (*pve.GuestStatus, error) {
	return &pve.GuestStatus{Status: f.status}, nil
}

func (f *fakePVE) GuestAction(_ context.Context, _ pve.GuestKind, node string, _ int, action string, _ url.Values) (*pve.TaskResult, error) {
	err := f.write("%s %s", action, node)
	if err == nil {
		switch action {
		case "start":
			f.status = "running"
		case "shutdown", "stop":
			f.status = "stopped"
		}
	}
	return nil, err
}

func (f *fakePVE) GuestPending(context.Context, pve.GuestKind, string, int) ([]pve.PendingItem, error) {
	return f.pending, nil
}

func (f *fakePVE) DeleteGuest(_ context.Context, _ pve.GuestKind, node string, _ int, unreferenced bool) (*pve.TaskResult, error) {
	return nil, f.write("delete %s unreferenced=%t", node, unreferenced)
}

// change is one update of everything Converge does: a config key, the
// pool, a volume, the node and the run state.
func change(kind pve.GuestKind) Change {
	return Change{
		Kind: kind,
		VMID: 100,
		Config: func(*pve.GuestConfig) (ConfigChange, error) {
			return ConfigChange{Params: url.Values{"description": {"after"}, "delete": {"tags", "net1"}},
				Resizes: []Resize{{"disk0", "6G"}, {"disk1", "9G"}}}, nil
		},
		Pool: "green", PriorPool: "blue",
		Node: types.StringValue("pve2"), PriorNode: types.StringValue("pve1"),
		Started: true,
		Action:  "Update",
	}
}

// VMs and containers go through one order (ConvergeOrder): the config
// (one change on the digest just read, deletes joined), the pool, the
// volumes, the migration, the run state.
func TestConvergeOrder(t *testing.T) {
	for _, kind := range []pve.GuestKind{pve.QEMU, pve.LXC} {
		t.Run(string(kind), func(t *testing.T) {
			f := &fakePVE{kind: kind, node: "pve1", status: "stopped"}
			var diags diag.Diagnostics
			if ha := Converge(context.Background(), f, change(kind), &diags); ha || diags.HasError() {
				t.Fatalf("ha %v, %v", ha, diags)
			}
			want := []string{
				fmt.Sprintf("config %s pve1 100 delete=tags%%2Cnet1&description=after&digest=d1", kind),
				"pool 100 blue->green",
				"resize pve1 disk0 6G",
				"resize pve1 disk1 9G",
				"migrate pve1->pve2 online=false",
				"start pve2",
			}
			if !slices.Equal(f.calls, want) {
				t.Errorf("calls\n%s\nwant\n%s", strings.Join(f.calls, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// The documented order is the one Converge takes.
func TestConvergeOrderDocumented(t *testing.T) {
	want := []Step{StepConfig, StepPool, StepResize, StepMigrate, StepRunState, StepPending}
	if !slices.Equal(ConvergeOrder, want) {
		t.Fatalf("ConvergeOrder %v, want %v", ConvergeOrder, want)
	}
}

// A step that fails stops the change: nothing after it is tried.
func TestConvergeStopsAtFailure(t *testing.T) {
	for fail, wantLast := range map[string]string{"config": "config", "pool": "pool", "resize pve1 disk0": "resize pve1 disk0 6G",
		"migrate": "migrate pve1->pve2 online=false"} {
		t.Run(fail, func(t *testing.T) {
			f := &fakePVE{kind: pve.LXC, node: "pve1", status: "stopped", fail: fail}
			var diags diag.Diagnostics
			Converge(context.Background(), f, change(pve.LXC), &diags)
			if !diags.HasError() || !strings.HasPrefix(diags.Errors()[0].Detail(), "container 100: ") {
				t.Fatalf("diagnostics %v", diags)
			}
			if last := f.calls[len(f.calls)-1]; !strings.HasPrefix(last, wantLast) {
				t.Errorf("last call %q, want %q: %v", last, wantLast, f.calls)
			}
		})
	}
}

// Nothing to change sends nothing.
func TestConvergeNothing(t *testing.T) {
	f := &fakePVE{kind: pve.QEMU, node: "pve1", status: "running"}
	ch := Change{Kind: pve.QEMU, VMID: 100, Node: types.StringValue("pve1"), PriorNode: types.StringValue("pve1"), Started: true,
		Config: func(*pve.GuestConfig) (ConfigChange, error) { return ConfigChange{}, nil }, Action: "Update"}
	var diags diag.Diagnostics
	Converge(context.Background(), f, ch, &diags)
	if len(f.calls) != 0 || diags.HasError() {
		t.Fatalf("calls %v, %v", f.calls, diags)
	}
}

// HA owns node and run state of an HA-managed guest: a changed node is a
// migration through HA, the run state is not touched, and a guest HA has
// moved elsewhere (node unchanged in the plan) is not moved back.
func TestConvergeHAManaged(t *testing.T) {
	f := &fakePVE{kind: pve.QEMU, node: "pve1", status: "stopped", ha: true}
	var diags diag.Diagnostics
	if ha := Converge(context.Background(), f, change(pve.QEMU), &diags); !ha || diags.HasError() {
		t.Fatalf("ha %v, %v", ha, diags)
	}
	if got := f.calls[len(f.calls)-2:]; !slices.Equal(got, []string{"migrate pve1->pve2 online=false", "wait-ha vm:100 pve2"}) {
		t.Errorf("calls end %v", got)
	}
	f = &fakePVE{kind: pve.QEMU, node: "pve3", status: "running", ha: true}
	ch := change(pve.QEMU)
	ch.PriorNode = ch.Node
	ch.Started = false
	diags = nil
	Converge(context.Background(), f, ch, &diags)
	for _, call := range f.calls {
		if strings.HasPrefix(call, "migrate") || strings.HasPrefix(call, "shutdown") {
			t.Errorf("HA-managed guest: %q", call)
		}
	}
}

// Changes a running guest takes at its next start: a warning naming them,
// or a reboot where the resource asks for it.
func TestConvergePending(t *testing.T) {
	for _, reboot := range []bool{false, true} {
		f := &fakePVE{kind: pve.QEMU, node: "pve1", status: "running",
			pending: []pve.PendingItem{{Key: "memory", Pending: 2048}, {Key: "cores"}}}
		ch := Change{Kind: pve.QEMU, VMID: 100, Node: types.StringValue("pve1"), PriorNode: types.StringValue("pve1"), Started: true,
			RebootOnChange: reboot, Action: "Update",
			Config: func(*pve.GuestConfig) (ConfigChange, error) {
				return ConfigChange{Params: url.Values{"memory": {"2048"}}}, nil
			}}
		var diags diag.Diagnostics
		Converge(context.Background(), f, ch, &diags)
		rebooted := slices.Contains(f.calls, "reboot pve1")
		if rebooted != reboot || reboot == (diags.WarningsCount() == 1) {
			t.Errorf("reboot_on_change %v: calls %v, diagnostics %v", reboot, f.calls, diags)
		}
		if !reboot && !strings.Contains(diags.Warnings()[0].Detail(), "VM 100 runs with its old memory;") {
			t.Errorf("warning %v", diags.Warnings())
		}
	}
}

// Delete refuses a protected guest before touching it; a running guest is
// shut down, then deleted, removing unreferenced volumes as asked.
func TestDelete(t *testing.T) {
	f := &fakePVE{kind: pve.LXC, node: "pve1", status: "running", protected: true}
	var diags diag.Diagnostics
	Delete(context.Background(), f, pve.LXC, 100, DeleteOptions{DestroyUnreferencedDisks: true}, &diags)
	if len(f.calls) != 0 || !diags.HasError() {
		t.Fatalf("protected: calls %v, %v", f.calls, diags)
	}
	f.protected = false
	diags = nil
	Delete(context.Background(), f, pve.LXC, 100, DeleteOptions{}, &diags)
	if want := []string{"shutdown pve1", "delete pve1 unreferenced=false"}; !slices.Equal(f.calls, want) || diags.HasError() {
		t.Fatalf("calls %v, want %v; %v", f.calls, want, diags)
	}
}

func (f *fakePVE) FindGuestConfig(ctx context.Context, kind pve.GuestKind, vmid int) (*pve.ClusterResource, *pve.GuestConfig, error) {
	found, _ := f.FindGuest(ctx, vmid)
	cfg, _ := f.GuestConfig(ctx, kind, f.node, vmid, false)
	return found, cfg, nil
}

// After an update and at a refresh, an HA-managed guest keeps node and
// started as planned although HA runs it on pve3 (after a failover); an
// unmanaged one is moved back and shut down, and reads as PVE has it.
func TestUpdateRefreshHAOwned(t *testing.T) {
	for _, ha := range []bool{true, false} {
		f := &fakePVE{kind: pve.LXC, node: "pve3", status: "running", ha: ha}
		node, started := types.StringValue("pve1"), types.BoolValue(false)
		fromAPI := func(found *pve.ClusterResource, _ *pve.GuestConfig) error {
			node, started = types.StringValue(found.Node), types.BoolValue(found.Status == "running")
			return nil
		}
		ch := Change{Kind: pve.LXC, VMID: 100, Node: node, PriorNode: node, Started: false, Action: "Update",
			Config: func(*pve.GuestConfig) (ConfigChange, error) { return ConfigChange{}, nil }}
		var diags diag.Diagnostics
		if !Update(context.Background(), f, ch, fromAPI, &node, &started, &diags) {
			t.Fatalf("ha %v: %v", ha, diags)
		}
		if node.ValueString() != "pve1" || started.ValueBool() {
			t.Errorf("ha %v: after the update node %s started %s, want pve1 false", ha, node, started)
		}
		if want := []string{"migrate pve3->pve1 online=true", "shutdown pve1"}; !ha && !slices.Equal(f.calls, want) || ha && len(f.calls) > 0 {
			t.Errorf("ha %v: calls %v", ha, f.calls)
		}
		f.node, f.status = "pve2", "running" // moved and started out of band
		state := emptyState()
		if !Refresh(context.Background(), f, pve.LXC, types.Int64Value(100), fromAPI, &node, &started, &state, &diags) {
			t.Fatalf("ha %v: refresh: %v", ha, diags)
		}
		wantNode, wantStarted := "pve2", true
		if ha {
			wantNode, wantStarted = "pve1", false
		}
		if node.ValueString() != wantNode || started.ValueBool() != wantStarted {
			t.Errorf("ha %v: after the refresh node %s started %s, want %s %v", ha, node, started, wantNode, wantStarted)
		}
	}
}
