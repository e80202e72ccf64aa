package guest

import (
	"context"
	"net/url"

	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

// Client is what the life cycle asks of PVE: *pve.Client. Tests run the
// life cycle against fakes of it.
type Client interface {
	FindGuest(ctx context.Context, vmid int) (*pve.ClusterResource, error)
	FindGuestConfig(ctx context.Context, kind pve.GuestKind, vmid int) (*pve.ClusterResource, *pve.GuestConfig, error)
	GuestHAManaged(ctx context.Context, kind pve.GuestKind, vmid int) (bool, error)
	GuestConfig(ctx context.Context, kind pve.GuestKind, node string, vmid int, current bool) (*pve.GuestConfig, error)
	UpdateGuestConfig(ctx context.Context, kind pve.GuestKind, node string, vmid int, params url.Values) (*pve.TaskResult, error)
	StagedThisRun(node string) bool
	SettleNetwork(ctx context.Context, node string, ifaces ...string) error
	SetGuestPool(ctx context.Context, vmid int, from, to string) error
	ResizeGuestDisk(ctx context.Context, kind pve.GuestKind, node string, vmid int, disk, size string) error
	MigrateGuest(ctx context.Context, kind pve.GuestKind, node string, vmid int, target string, running bool) (*pve.TaskResult, error)
	WaitHAMigration(ctx context.Context, sid, target string) error
	GuestCurrentStatus(ctx context.Context, kind pve.GuestKind, node string, vmid int) (*pve.GuestStatus, error)
	GuestAction(ctx context.Context, kind pve.GuestKind, node string, vmid int, action string, params url.Values) (*pve.TaskResult, error)
	GuestPending(ctx context.Context, kind pve.GuestKind, node string, vmid int) ([]pve.PendingItem, error)
	CreateWithNewVMID(ctx context.Context, create func(vmid int) error) (int, error)
	CreateGuest(ctx context.Context, kind pve.GuestKind, node string, params url.Values) (*pve.TaskResult, error)
	CloneGuest(ctx context.Context, kind pve.GuestKind, node string, vmid int, params url.Values) (*pve.TaskResult, error)
	DeleteGuest(ctx context.Context, kind pve.GuestKind, node string, vmid int, destroyUnreferencedDisks bool) (*pve.TaskResult, error)
}

var _ Client = (*pve.Client)(nil)
