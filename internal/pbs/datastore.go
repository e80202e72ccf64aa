package pbs

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/apiclient"
)

// KeepOptions are retention settings: how many backups of each kind a prune
// keeps. Unset means no limit of that kind.
type KeepOptions struct {
	KeepLast    *int64 `json:"keep-last,omitempty"`
	KeepHourly  *int64 `json:"keep-hourly,omitempty"`
	KeepDaily   *int64 `json:"keep-daily,omitempty"`
	KeepWeekly  *int64 `json:"keep-weekly,omitempty"`
	KeepMonthly *int64 `json:"keep-monthly,omitempty"`
	KeepYearly  *int64 `json:"keep-yearly,omitempty"`
}

// Datastore is a datastore's configuration as PBS sends it
// (GET /config/datastore[/{name}]). The property strings Notify, Tuning,
// MaintenanceMode and Backend are kept as PBS stores them; parse them with
// ParseDatastoreNotify, ParseDatastoreTuning, ParseMaintenanceMode and
// ParseDatastoreBackend.
type Datastore struct {
	Name    string `json:"name"`
	Path    string `json:"path"` // absolute, or relative to the device of a removable datastore
	Comment string `json:"comment,omitempty"`
	// GCSchedule is a calendar event ("daily", "sat 03:00").
	GCSchedule  string `json:"gc-schedule,omitempty"`
	GCOnUnmount *bool  `json:"gc-on-unmount,omitempty"`
	// PruneSchedule and KeepOptions are the datastore's own prune settings
	// of PBS before 2.2. PBS 4 turns them into a prune job when a datastore
	// is created with them, refuses to set them on an existing datastore,
	// and only lets them be deleted.
	PruneSchedule string `json:"prune-schedule,omitempty"`
	KeepOptions
	VerifyNew  *bool  `json:"verify-new,omitempty"`
	NotifyUser string `json:"notify-user,omitempty"` // user@realm, for notification-mode legacy-sendmail
	// Notify is a property string, see DatastoreNotify.
	Notify string `json:"notify,omitempty"`
	// NotificationMode is "notification-system" (PBS's default) or
	// "legacy-sendmail".
	NotificationMode string `json:"notification-mode,omitempty"`
	// Tuning is a property string, see DatastoreTuning.
	Tuning string `json:"tuning,omitempty"`
	// MaintenanceMode is a property string, see MaintenanceMode.
	MaintenanceMode string `json:"maintenance-mode,omitempty"`
	// BackingDevice is the filesystem UUID of a removable datastore.
	BackingDevice string `json:"backing-device,omitempty"`
	// Backend is a property string, see DatastoreBackend.
	Backend string `json:"backend,omitempty"`
	// NotificationThresholds ("s3-get=1000,...") and CounterResetSchedule
	// concern S3 request counters.
	NotificationThresholds string `json:"notification-thresholds,omitempty"`
	CounterResetSchedule   string `json:"counter-reset-schedule,omitempty"`
}

// DatastoreCreate is the request of CreateDatastore: the configuration
// (Name and Path are required), and how to treat what is already at Path.
type DatastoreCreate struct {
	Datastore
	// ReuseDatastore adopts an existing datastore directory instead of
	// requiring an empty one.
	ReuseDatastore bool `json:"reuse-datastore,omitempty"`
	// OverwriteInUse takes over an S3 bucket marked in use by another PBS.
	OverwriteInUse bool `json:"overwrite-in-use,omitempty"`
}

// DatastoreUpdate is the request of UpdateDatastore: nil fields are left as
// they are; Delete names the properties to remove (e.g. "comment",
// "maintenance-mode", "tuning"; PBS's list also has "gc-schedule",
// "gc-on-unmount", "prune-schedule", "keep-last" ... "keep-yearly",
// "verify-new", "notify-user", "notify", "notification-mode",
// "notification-thresholds", "counter-reset-schedule"). Digest, if set,
// makes PBS refuse the change when the config changed since it was read
// (ErrConflict). Name, path, backing device and backend cannot be changed.
type DatastoreUpdate struct {
	Comment                *string  `json:"comment,omitempty"`
	GCSchedule             *string  `json:"gc-schedule,omitempty"`
	GCOnUnmount            *bool    `json:"gc-on-unmount,omitempty"`
	VerifyNew              *bool    `json:"verify-new,omitempty"`
	NotifyUser             *string  `json:"notify-user,omitempty"`
	Notify                 *string  `json:"notify,omitempty"`
	NotificationMode       *string  `json:"notification-mode,omitempty"`
	Tuning                 *string  `json:"tuning,omitempty"`
	MaintenanceMode        *string  `json:"maintenance-mode,omitempty"`
	NotificationThresholds *string  `json:"notification-thresholds,omitempty"`
	CounterResetSchedule   *string  `json:"counter-reset-schedule,omitempty"`
	Delete                 []string `json:"delete,omitempty"`
	Digest                 string   `json:"digest,omitempty"`
}

// DeleteDatastoreOptions are the options of DeleteDatastore.
type DeleteDatastoreOptions struct {
	// KeepJobConfigs keeps the datastore's prune, sync, verify and tape
	// jobs and its ACL entries; by default PBS deletes them with it.
	KeepJobConfigs bool `json:"keep-job-configs,omitempty"`
	// DestroyData deletes the datastore's contents (chunks, snapshots) as
	// well as its configuration.
	DestroyData bool `json:"destroy-data,omitempty"`
	// Digest, if set, makes PBS refuse when the config changed.
	Digest string `json:"digest,omitempty"`
}

// datastorePath is the config path of one datastore.
func datastorePath(name string) string { return "/config/datastore/" + pathEscape(name) }

func checkName(what, name string) error {
	if name == "" {
		return fmt.Errorf("%s must not be empty", what)
	}
	return nil
}

// Datastores lists the datastores the credentials may audit.
func (c *Client) Datastores(ctx context.Context) ([]Datastore, error) {
	var out []Datastore
	if err := c.Get(ctx, "/config/datastore", nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Datastore reads one datastore's configuration and the digest of the
// datastore config file, for UpdateDatastore's and DeleteDatastore's
// Digest. A missing datastore is ErrNotFound.
func (c *Client) Datastore(ctx context.Context, name string) (*Datastore, string, error) {
	if err := checkName("datastore name", name); err != nil {
		return nil, "", err
	}
	var d struct {
		Datastore
		Digest string `json:"digest"` // PBS before 2.x put it in the data
	}
	env, err := c.do(ctx, http.MethodGet, datastorePath(name), nil, &d)
	if err != nil {
		return nil, "", err
	}
	digest := env.Digest
	if digest == "" {
		digest = d.Digest
	}
	return &d.Datastore, digest, nil
}

// CreateDatastore creates a datastore and waits for PBS's create-datastore
// task, which creates the chunk store (and, with PruneSchedule set, a prune
// job named "default-<name>-<uuid>"). A failed task is a *TaskError with
// PBS's message and the end of the task log. An existing name is
// ErrConflict.
func (c *Client) CreateDatastore(ctx context.Context, d DatastoreCreate) error {
	if err := checkName("datastore name", d.Name); err != nil {
		return err
	}
	if err := checkName("datastore path", d.Path); err != nil {
		return err
	}
	doubted := false
	for {
		sent := time.Now()
		env, err := c.do(ctx, http.MethodPost, "/config/datastore", formValues(d), nil)
		if err == nil {
			return c.waitForTaskData(ctx, "create datastore "+d.Name, env.Data)
		}
		if doubted && errors.Is(err, ErrConflict) {
			return nil // the first attempt landed after all
		}
		if !inDoubt(err) {
			return err
		}
		doubted = true
		upid, made, serr := c.settleDatastoreCreate(ctx, d.Name, sent)
		switch {
		case serr != nil:
			return errors.Join(err, serr)
		case upid != "":
			if werr := c.WaitTask(ctx, upid); werr != nil {
				return &AcceptedError{UPID: upid, Err: fmt.Errorf("create datastore %s: %w", d.Name, werr)}
			}
			return nil
		case made:
			return nil
		}
	}
}

// settleDatastoreCreate finds out what became of a datastore create whose
// answer was lost. PBS's create_datastore (proxmox-backup
// src/api2/config/datastore.rs) takes the config lock, checks the name and
// hands the rest to a "create-datastore" worker named after the
// datastore, which makes the chunk store and adds the datastore to
// datastore.cfg at its end: the worker is looked for in the task list
// (GET /nodes/localhost/tasks, its worker_id the name) and the datastore
// in the configuration, for up to inDoubtWait. It returns the worker's
// UPID, or made when the datastore is there, or neither: the create did
// not start, and is sent again.
func (c *Client) settleDatastoreCreate(ctx context.Context, name string, sent time.Time) (upid string, made bool, err error) {
	deadline := time.Now().Add(inDoubtWait)
	poll := inDoubtPoll
	for {
		var tasks []struct {
			UPID     string  `json:"upid"`
			WorkerID *string `json:"worker_id"`
		}
		q := url.Values{"typefilter": {"create-datastore"}, "since": {strconv.FormatInt(sent.Unix()-1, 10)}}
		lerr := c.Get(ctx, "/nodes/localhost/tasks", q, &tasks)
		if lerr == nil {
			for _, t := range tasks {
				if t.WorkerID != nil && *t.WorkerID == name {
					return t.UPID, false, nil
				}
			}
		}
		if _, _, derr := c.Datastore(ctx, name); derr == nil {
			return "", true, nil
		} else if lerr != nil && !errors.Is(lerr, ErrTransient) && !errors.Is(derr, ErrNotFound) && !errors.Is(derr, ErrTransient) {
			return "", false, lerr
		}
		if time.Now().After(deadline) {
			return "", false, nil
		}
		if serr := apiclient.Sleep(ctx, poll); serr != nil {
			return "", false, serr
		}
		poll = min(poll*2, 2*time.Second)
	}
}

// AcceptedError is the error of a call PBS accepted (it answered with the
// task UPID) whose task then failed or was not waited for to its end: what
// the call makes may exist, or appear when the task ends.
type AcceptedError struct {
	UPID string
	Err  error
}

func (e *AcceptedError) Error() string { return e.Err.Error() }
func (e *AcceptedError) Unwrap() error { return e.Err }

// UpdateDatastore changes a datastore's configuration.
func (c *Client) UpdateDatastore(ctx context.Context, name string, u DatastoreUpdate) error {
	if err := checkName("datastore name", name); err != nil {
		return err
	}
	return c.Put(ctx, datastorePath(name), formValues(u), nil)
}

// DeleteDatastore removes a datastore's configuration, and with
// DestroyData its contents, and waits for PBS's delete-datastore task. A
// missing datastore is ErrNotFound.
func (c *Client) DeleteDatastore(ctx context.Context, name string, opts DeleteDatastoreOptions) error {
	if err := checkName("datastore name", name); err != nil {
		return err
	}
	env, err := c.do(ctx, http.MethodDelete, datastorePath(name), formValues(opts), nil)
	if err != nil {
		return err
	}
	return c.waitForTaskData(ctx, "delete datastore "+name, env.Data)
}

// DatastoreStatus is the usage of a datastore's storage
// (GET /admin/datastore/{store}/status), in bytes.
type DatastoreStatus struct {
	Total       uint64 `json:"total"`
	Used        uint64 `json:"used"`
	Avail       uint64 `json:"avail"`
	BackendType string `json:"backend-type,omitempty"` // "filesystem" or "s3"
}

// DatastoreStatus reads a datastore's usage.
func (c *Client) DatastoreStatus(ctx context.Context, store string) (*DatastoreStatus, error) {
	if err := checkName("datastore name", store); err != nil {
		return nil, err
	}
	var st DatastoreStatus
	if err := c.Get(ctx, "/admin/datastore/"+pathEscape(store)+"/status", nil, &st); err != nil {
		return nil, err
	}
	return &st, nil
}
