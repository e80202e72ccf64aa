package pbs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/hcilab/terraform-provider-pve/internal/framework"
	"github.com/hcilab/terraform-provider-pve/internal/pbs"
)

var (
	_ resource.ResourceWithImportState    = (*datastoreResource)(nil)
	_ resource.ResourceWithValidateConfig = (*datastoreResource)(nil)
)

// NewDatastoreResource returns the pve_pbs_datastore resource.
func NewDatastoreResource() resource.Resource {
	return &datastoreResource{}
}

type datastoreResource struct {
	data *framework.ProviderData
}

type notifyModel struct {
	GC     types.String `tfsdk:"gc"`
	Verify types.String `tfsdk:"verify"`
	Sync   types.String `tfsdk:"sync"`
	Prune  types.String `tfsdk:"prune"`
}

type tuningModel struct {
	ChunkOrder         types.String `tfsdk:"chunk_order"`
	SyncLevel          types.String `tfsdk:"sync_level"`
	GCAtimeSafetyCheck types.Bool   `tfsdk:"gc_atime_safety_check"`
	GCAtimeCutoff      types.Int64  `tfsdk:"gc_atime_cutoff"`
	GCCacheCapacity    types.Int64  `tfsdk:"gc_cache_capacity"`
}

type maintenanceModel struct {
	Type    types.String `tfsdk:"type"`
	Message types.String `tfsdk:"message"`
}

type datastoreModel struct {
	ID               types.String      `tfsdk:"id"`
	Name             types.String      `tfsdk:"name"`
	Path             types.String      `tfsdk:"path"`
	Comment          types.String      `tfsdk:"comment"`
	GCSchedule       types.String      `tfsdk:"gc_schedule"`
	VerifyNew        types.Bool        `tfsdk:"verify_new"`
	NotificationMode types.String      `tfsdk:"notification_mode"`
	Notify           *notifyModel      `tfsdk:"notify"`
	Tuning           *tuningModel      `tfsdk:"tuning"`
	Maintenance      *maintenanceModel `tfsdk:"maintenance"`
	Fingerprint      types.String      `tfsdk:"fingerprint"`
	DestroyData      types.Bool        `tfsdk:"destroy_data"`
	KeepJobConfigs   types.Bool        `tfsdk:"keep_job_configs"`
	Timeouts         timeouts.Value    `tfsdk:"timeouts"`
}

// defaultTaskTimeout bounds PBS's create and delete workers: a create
// makes the chunk store's 65536 directories, which takes a while on slow
// disks.
const defaultTaskTimeout = 20 * time.Minute

// commentRE is PBS's single-line comment, as PBS keeps it: PBS trims
// comments, so leading or trailing blanks would read back as a diff.
var commentRE = regexp.MustCompile(`^[^\s\x00-\x1f](?:[^\x00-\x1f]*[^\s\x00-\x1f])?$`)

func commentAttribute() schema.StringAttribute {
	return schema.StringAttribute{
		Description: "Comment (one line).",
		Optional:    true,
		Validators: []validator.String{stringvalidator.RegexMatches(commentRE,
			"must be one line without leading or trailing blanks (PBS trims them)")},
	}
}

// safeID is PBS's SAFE_ID (datastore, prune job and remote names).
var safeID = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._\-]*$`)

var notifyLevels = []string{pbs.NotifyAlways, pbs.NotifyError, pbs.NotifyNever}

func (r *datastoreResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_pbs_datastore"
}

func (r *datastoreResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	level := func(job string) schema.StringAttribute {
		return schema.StringAttribute{
			Description: fmt.Sprintf("When to notify about %s jobs: `always`, `error` or `never`.", job),
			Optional:    true,
			Validators:  []validator.String{stringvalidator.OneOf(notifyLevels...)},
		}
	}
	resp.Schema = schema.Schema{
		Description: "A datastore of the Proxmox Backup Server of the provider's `pbs {}` block. Creating it waits for " +
			"PBS's create task. Retention is not set here: PBS moved it into prune jobs (`pve_pbs_prune_job`). " +
			"Destroying it keeps the data on disk unless `destroy_data = true`, and keeps the datastore's job " +
			"configurations unless `keep_job_configs = false`; a datastore created again at the same path in the same " +
			"apply (a replacement) adopts that data (PBS's `reuse-datastore`). A create whose wait ends early (its " +
			"timeout) keeps the datastore in the state as tainted, not as an orphan. Import by name.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Description:   "The datastore name.",
				Computed:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"name": schema.StringAttribute{
				Description:   "Datastore name: 3 to 32 letters, digits, `.`, `-` and `_`, not starting with `.` or `-`. Changing it replaces the datastore.",
				Required:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators: []validator.String{stringvalidator.LengthBetween(3, 32),
					stringvalidator.RegexMatches(safeID, "must be letters, digits, '.', '-' and '_', not starting with '.' or '-'")},
			},
			"path": schema.StringAttribute{
				Description:   "Absolute path of the datastore's directory on the PBS host. Changing it replaces the datastore.",
				Required:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:    []validator.String{stringvalidator.RegexMatches(regexp.MustCompile(`^/`), "must be an absolute path")},
			},
			"comment": commentAttribute(),
			"gc_schedule": schema.StringAttribute{
				Description: "Garbage collection schedule, a PBS calendar event (`daily`, `sat 03:00`), checked at plan time " +
					"as PBS checks it. Unset: no scheduled garbage collection.",
				Optional:   true,
				Validators: []validator.String{calendarEvent},
			},
			"verify_new": schema.BoolAttribute{Description: "Verify every new backup snapshot right after it is written.", Optional: true},
			"notification_mode": schema.StringAttribute{
				Description: "`notification-system` (PBS's notification matchers) or `legacy-sendmail` (mail to the " +
					"datastore's notify user, as `notify` says).",
				Optional:   true,
				Validators: []validator.String{stringvalidator.OneOf("notification-system", "legacy-sendmail")},
			},
			"fingerprint": schema.StringAttribute{
				Description: "SHA-256 fingerprint of the PBS server's certificate, as PVE wants it to register the " +
					"datastore (pve_storage_pbs's fingerprint).",
				Computed:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"destroy_data": schema.BoolAttribute{
				Description: "Delete the datastore's contents (chunks and snapshots) on destroy. Default false: the data stays on disk.",
				Optional:    true,
			},
			"keep_job_configs": schema.BoolAttribute{
				Description: "Keep the datastore's prune, sync and verify jobs on destroy. Default true.",
				Optional:    true,
			},
			"timeouts": framework.Timeouts(ctx, timeouts.Opts{Create: true, Delete: true},
				"Defaults: 20m each (PBS's create and delete workers)."),
		},
		Blocks: map[string]schema.Block{
			"notify": schema.SingleNestedBlock{
				Description: "Which job results to mail (`notification_mode = \"legacy-sendmail\"`).",
				Attributes: map[string]schema.Attribute{
					"gc": level("garbage collection"), "verify": level("verify"), "sync": level("sync"), "prune": level("prune"),
				},
			},
			"tuning": schema.SingleNestedBlock{
				Description: "Datastore tuning (PBS keeps it as one property string; settings PBS knows and this block " +
					"does not are left as they are).",
				Attributes: map[string]schema.Attribute{
					"chunk_order": schema.StringAttribute{
						Description: "Order in which chunks are read for verify and tape backup: `inode` (PBS's default) or `none`.",
						Optional:    true,
						Validators:  []validator.String{stringvalidator.OneOf("none", "inode")},
					},
					"sync_level": schema.StringAttribute{
						Description: "How chunks are synced to disk: `none`, `file` or `filesystem` (PBS's default).",
						Optional:    true,
						Validators:  []validator.String{stringvalidator.OneOf("none", "file", "filesystem")},
					},
					"gc_atime_safety_check": schema.BoolAttribute{
						Description: "Check at garbage collection that the filesystem updates access times (PBS's default true).",
						Optional:    true,
					},
					"gc_atime_cutoff": schema.Int64Attribute{
						Description: "Minutes after which garbage collection takes an unused chunk for gone (1 to 2880; PBS's default 1445).",
						Optional:    true,
						Validators:  []validator.Int64{int64validator.Between(1, 2880)},
					},
					"gc_cache_capacity": schema.Int64Attribute{
						Description: "Chunk digests garbage collection caches (0 to 8388608; PBS's default 1048576).",
						Optional:    true,
						Validators:  []validator.Int64{int64validator.Between(0, 8388608)},
					},
				},
			},
			"maintenance": schema.SingleNestedBlock{
				Description: "Maintenance mode: the datastore is `read-only` or `offline` until the block is removed.",
				Attributes: map[string]schema.Attribute{
					"type": schema.StringAttribute{
						Description: "`read-only` or `offline`.",
						Optional:    true,
						Validators:  []validator.String{stringvalidator.OneOf(pbs.MaintenanceReadOnly, pbs.MaintenanceOffline)},
					},
					"message": schema.StringAttribute{
						Description: "Message shown to clients (at most 64 characters, no commas).",
						Optional:    true,
						Validators: []validator.String{stringvalidator.LengthAtMost(64),
							stringvalidator.RegexMatches(regexp.MustCompile(`^[^,\x00-\x1f]*$`), "must not hold commas or control characters")},
					},
				},
			},
		},
	}
}

func (r *datastoreResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = framework.ConfigureData(req.ProviderData, &resp.Diagnostics)
}

// ValidateConfig wants a type in a maintenance block, and something in a
// notify block.
func (r *datastoreResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m datastoreModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if n := m.Notify; n != nil && n.GC.IsNull() && n.Verify.IsNull() && n.Sync.IsNull() && n.Prune.IsNull() {
		resp.Diagnostics.AddAttributeError(path.Root("notify"), "Empty Notify Block",
			"set at least one of gc, verify, sync, prune in notify, or leave the block out")
	}
	if m.Maintenance != nil && m.Maintenance.Type.IsNull() {
		resp.Diagnostics.AddAttributeError(path.Root("maintenance").AtName("type"), "Missing Maintenance Type",
			"a maintenance block needs type = \"read-only\" or \"offline\"")
	}
}

// desired is what PBS's configuration should hold for m's property
// strings and settings: nil for a setting to delete. current is PBS's
// tuning now, whose settings this resource does not manage are kept.
func (m *datastoreModel) desired(current string) map[string]*string {
	str := func(v types.String) *string {
		if v.IsNull() || v.IsUnknown() {
			return nil
		}
		s := v.ValueString()
		return &s
	}
	out := map[string]*string{
		"comment":           str(m.Comment),
		"gc-schedule":       str(m.GCSchedule),
		"notification-mode": str(m.NotificationMode),
		"verify-new":        nil,
		"notify":            nil,
		"tuning":            nil,
		"maintenance-mode":  nil,
	}
	if !m.VerifyNew.IsNull() && !m.VerifyNew.IsUnknown() {
		s := fmt.Sprint(m.VerifyNew.ValueBool())
		out["verify-new"] = &s
	}
	if n := m.Notify; n != nil {
		s := pbs.DatastoreNotify{GC: n.GC.ValueString(), Verify: n.Verify.ValueString(), Sync: n.Sync.ValueString(),
			Prune: n.Prune.ValueString()}.String()
		if s != "" {
			out["notify"] = &s
		}
	}
	t, _ := pbs.ParseDatastoreTuning(current)
	if tm := m.Tuning; tm != nil {
		t.ChunkOrder, t.SyncLevel = tm.ChunkOrder.ValueString(), tm.SyncLevel.ValueString()
		t.GCAtimeSafetyCheck = tm.GCAtimeSafetyCheck.ValueBoolPointer()
		t.GCAtimeCutoff, t.GCCacheCapacity = tm.GCAtimeCutoff.ValueInt64Pointer(), tm.GCCacheCapacity.ValueInt64Pointer()
	} else {
		t = pbs.DatastoreTuning{Other: t.Other}
	}
	if s := t.String(); s != "" {
		out["tuning"] = &s
	}
	if mm := m.Maintenance; mm != nil {
		s := pbs.MaintenanceMode{Type: mm.Type.ValueString(), Message: mm.Message.ValueString()}.String()
		out["maintenance-mode"] = &s
	}
	return out
}

// fromAPI sets m from PBS's configuration.
func (m *datastoreModel) fromAPI(d *pbs.Datastore) error {
	opt := func(s string) types.String {
		if s == "" {
			return types.StringNull()
		}
		return types.StringValue(s)
	}
	m.ID, m.Name, m.Path = types.StringValue(d.Name), types.StringValue(d.Name), types.StringValue(d.Path)
	m.Comment, m.GCSchedule, m.NotificationMode = opt(d.Comment), opt(d.GCSchedule), opt(d.NotificationMode)
	m.VerifyNew = types.BoolPointerValue(d.VerifyNew)
	// An empty block in the configuration (tuning {}) stays an empty
	// block, not a diff against an absent one.
	hadTuning := m.Tuning != nil
	m.Notify, m.Tuning, m.Maintenance = nil, nil, nil
	if d.Notify != "" {
		n, err := pbs.ParseDatastoreNotify(d.Notify)
		if err != nil {
			return err
		}
		m.Notify = &notifyModel{GC: opt(n.GC), Verify: opt(n.Verify), Sync: opt(n.Sync), Prune: opt(n.Prune)}
	}
	if d.Tuning != "" {
		t, err := pbs.ParseDatastoreTuning(d.Tuning)
		if err != nil {
			return err
		}
		tm := &tuningModel{ChunkOrder: opt(t.ChunkOrder), SyncLevel: opt(t.SyncLevel),
			GCAtimeSafetyCheck: types.BoolPointerValue(t.GCAtimeSafetyCheck), GCAtimeCutoff: types.Int64PointerValue(t.GCAtimeCutoff),
			GCCacheCapacity: types.Int64PointerValue(t.GCCacheCapacity)}
		if hadTuning || *tm != emptyTuning {
			m.Tuning = tm
		}
	} else if hadTuning {
		t := emptyTuning
		m.Tuning = &t
	}
	if d.MaintenanceMode != "" {
		mm, err := pbs.ParseMaintenanceMode(d.MaintenanceMode)
		if err != nil {
			return err
		}
		m.Maintenance = &maintenanceModel{Type: opt(mm.Type), Message: opt(mm.Message)}
	}
	return nil
}

var emptyTuning = tuningModel{types.StringNull(), types.StringNull(), types.BoolNull(), types.Int64Null(), types.Int64Null()}

// read sets m from PBS and returns the config's digest and raw tuning.
func (m *datastoreModel) read(ctx context.Context, c *pbs.Client) (*pbs.Datastore, string, error) {
	d, digest, err := c.Datastore(ctx, m.Name.ValueString())
	if err != nil {
		return nil, "", err
	}
	if err := m.fromAPI(d); err != nil {
		return nil, "", fmt.Errorf("datastore %s: %w", d.Name, err)
	}
	fp, err := c.ServerFingerprint(ctx)
	if err != nil {
		return nil, "", err
	}
	m.Fingerprint = types.StringValue(fp)
	return d, digest, nil
}

func (r *datastoreResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	const summary = "Unable to Create PBS Datastore"
	var plan datastoreModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	c := r.data.PBSClient(ctx, summary, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	name := plan.Name.ValueString()
	if _, _, err := c.Datastore(ctx, name); err == nil {
		resp.Diagnostics.AddError(summary, fmt.Sprintf("datastore %s exists already: import it "+
			"(terraform import pve_pbs_datastore.<name> %s) rather than create it", name, name))
		return
	} else if !errors.Is(err, pbs.ErrNotFound) {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	timeout, diags := plan.Timeouts.Create(ctx, defaultTaskTimeout)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	d := pbs.DatastoreCreate{Datastore: pbs.Datastore{Name: name, Path: plan.Path.ValueString()}}
	want := plan.desired("")
	val := func(k string) string {
		if v := want[k]; v != nil {
			return *v
		}
		return ""
	}
	d.Comment, d.GCSchedule, d.NotificationMode = val("comment"), val("gc-schedule"), val("notification-mode")
	d.Notify, d.Tuning, d.MaintenanceMode = val("notify"), val("tuning"), val("maintenance-mode")
	d.VerifyNew = plan.VerifyNew.ValueBoolPointer()
	if _, kept := keptDirs.LoadAndDelete(c.Endpoint() + "|" + plan.Path.ValueString()); kept {
		d.ReuseDatastore = true
	}
	// Once PBS has accepted the create, the datastore may exist: its name
	// goes into the state with any error that follows, so that Terraform
	// keeps a tainted resource (replaced by the next apply) rather than an
	// orphan the next create trips over.
	accepted := func() {
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), name)...)
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), name)...)
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("path"), plan.Path.ValueString())...)
	}
	if err := c.CreateDatastore(ctx, d); err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		var acc *pbs.AcceptedError
		if errors.As(err, &acc) {
			accepted()
			// The datastore appears when the task ends: Read waits for it.
			raw, _ := json.Marshal(acc.UPID)
			resp.Diagnostics.Append(resp.Private.SetKey(ctx, privateCreateTask, raw)...)
		}
		return
	}
	if _, _, err := plan.read(ctx, c); err != nil {
		resp.Diagnostics.AddError("Unable to Read PBS Datastore", err.Error())
		accepted()
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

func (r *datastoreResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	const summary = "Unable to Read PBS Datastore"
	var state datastoreModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	c := r.data.PBSClient(ctx, summary, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	_, _, err := state.read(ctx, c)
	if errors.Is(err, pbs.ErrNotFound) {
		// A create whose wait was cut short: its task may still make the
		// datastore. Wait for that task's end before deciding.
		if raw, _ := req.Private.GetKey(ctx, privateCreateTask); len(raw) > 0 {
			var upid string
			if json.Unmarshal(raw, &upid) == nil && upid != "" {
				_ = c.WaitTask(ctx, upid)
				_, _, err = state.read(ctx, c)
			}
			resp.Diagnostics.Append(resp.Private.SetKey(ctx, privateCreateTask, nil)...)
		}
	}
	if err != nil {
		if errors.Is(err, pbs.ErrNotFound) {
			resp.State.RemoveResource(ctx)
			return
		}
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}

// privateCreateTask is the private state key holding the UPID of a create
// task that was not waited for to its end.
const privateCreateTask = "create_task"

func (r *datastoreResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	const summary = "Unable to Update PBS Datastore"
	var plan, state datastoreModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	c := r.data.PBSClient(ctx, summary, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	current, digest, err := state.read(ctx, c)
	if err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	have := map[string]string{"comment": current.Comment, "gc-schedule": current.GCSchedule,
		"notification-mode": current.NotificationMode, "notify": current.Notify, "tuning": current.Tuning,
		"maintenance-mode": current.MaintenanceMode}
	if current.VerifyNew != nil {
		have["verify-new"] = fmt.Sprint(*current.VerifyNew)
	}
	u := pbs.DatastoreUpdate{Digest: digest}
	changed := false
	for key, v := range plan.desired(current.Tuning) {
		old := have[key]
		switch {
		case v == nil && old != "":
			u.Delete = append(u.Delete, key)
			changed = true
		case v != nil && old != *v:
			setUpdate(&u, key, *v)
			changed = true
		}
	}
	slices.Sort(u.Delete)
	if changed {
		if err := c.UpdateDatastore(ctx, plan.Name.ValueString(), u); err != nil {
			resp.Diagnostics.AddError(summary, err.Error())
			return
		}
	}
	if _, _, err := plan.read(ctx, c); err != nil {
		resp.Diagnostics.AddError("Unable to Read PBS Datastore", err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

// setUpdate sets one setting of u by its PBS name.
func setUpdate(u *pbs.DatastoreUpdate, key, v string) {
	switch key {
	case "comment":
		u.Comment = &v
	case "gc-schedule":
		u.GCSchedule = &v
	case "notification-mode":
		u.NotificationMode = &v
	case "notify":
		u.Notify = &v
	case "tuning":
		u.Tuning = &v
	case "maintenance-mode":
		u.MaintenanceMode = &v
	case "verify-new":
		b := v == "true"
		u.VerifyNew = &b
	}
}

func (r *datastoreResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	const summary = "Unable to Delete PBS Datastore"
	var state datastoreModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	c := r.data.PBSClient(ctx, summary, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := state.Timeouts.Delete(ctx, defaultTaskTimeout)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	opts := pbs.DeleteDatastoreOptions{DestroyData: state.DestroyData.ValueBool(),
		KeepJobConfigs: state.KeepJobConfigs.IsNull() || state.KeepJobConfigs.ValueBool()}
	if err := c.DeleteDatastore(ctx, state.Name.ValueString(), opts); err != nil && !errors.Is(err, pbs.ErrNotFound) {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	if !opts.DestroyData {
		keptDirs.Store(c.Endpoint()+"|"+state.Path.ValueString(), true)
	}
}

// keptDirs are the directories of datastores this process deleted with
// their data kept. The datastore that replaces one of them (a replacement,
// or a tainted create being done again) adopts the directory
// (reuse-datastore) instead of failing on the chunk store that is there.
var keptDirs sync.Map

func (r *datastoreResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if strings.TrimSpace(req.ID) == "" {
		resp.Diagnostics.AddError("Invalid Import ID", "the import ID is the datastore name")
		return
	}
	resource.ImportStatePassthroughID(ctx, path.Root("name"), req, resp)
}
