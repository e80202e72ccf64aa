package storage

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/setplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/hcilab/terraform-provider-pve/internal/framework"
	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

var (
	_ resource.ResourceWithImportState    = (*pbsResource)(nil)
	_ resource.ResourceWithValidateConfig = (*pbsResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*pbsResource)(nil)
	_ resource.ResourceWithUpgradeState   = (*pbsResource)(nil)
)

// NewPBSResource returns the pve_storage_pbs resource.
func NewPBSResource() resource.Resource {
	return &pbsResource{}
}

type pbsResource struct {
	data *framework.ProviderData
}

type pruneModel struct {
	KeepAll     types.Bool  `tfsdk:"keep_all"`
	KeepLast    types.Int64 `tfsdk:"keep_last"`
	KeepHourly  types.Int64 `tfsdk:"keep_hourly"`
	KeepDaily   types.Int64 `tfsdk:"keep_daily"`
	KeepWeekly  types.Int64 `tfsdk:"keep_weekly"`
	KeepMonthly types.Int64 `tfsdk:"keep_monthly"`
	KeepYearly  types.Int64 `tfsdk:"keep_yearly"`
}

type pbsModel struct {
	ID                     types.String `tfsdk:"id"`
	StorageID              types.String `tfsdk:"storage_id"`
	Server                 types.String `tfsdk:"server"`
	Port                   types.Int64  `tfsdk:"port"`
	Datastore              types.String `tfsdk:"datastore"`
	Namespace              types.String `tfsdk:"namespace"`
	Username               types.String `tfsdk:"username"`
	Password               types.String `tfsdk:"password"` // write-only: null but in the configuration
	PasswordVersion        types.Int64  `tfsdk:"password_version"`
	Fingerprint            types.String `tfsdk:"fingerprint"`
	EncryptionKey          types.String `tfsdk:"encryption_key"` // write-only
	EncryptionKeyVersion   types.Int64  `tfsdk:"encryption_key_version"`
	GeneratedEncryptionKey types.String `tfsdk:"generated_encryption_key"`
	KeyFingerprint         types.String `tfsdk:"encryption_key_fingerprint"`
	AllowKeyLoss           types.Bool   `tfsdk:"allow_encryption_key_loss"`
	Content                types.Set    `tfsdk:"content"`
	Nodes                  types.Set    `tfsdk:"nodes"`
	Disable                types.Bool   `tfsdk:"disable"`
	PruneBackups           *pruneModel  `tfsdk:"prune_backups"`
}

// storageIDRE is PVE's pve-storage-id.
var storageIDRE = regexp.MustCompile(`^[a-z][a-z0-9\-_.]*[a-z0-9]$`)

var fingerprintRE = regexp.MustCompile(`^([A-Fa-f0-9]{2}:){31}[A-Fa-f0-9]{2}$`)

func (r *pbsResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_storage_pbs"
}

func (r *pbsResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	keep := func(what string) schema.Int64Attribute {
		return schema.Int64Attribute{Description: "Keep the " + what + ".", Optional: true,
			Validators: []validator.Int64{int64validator.AtLeast(1)}}
	}
	resp.Schema = schema.Schema{
		Version: 1,
		Description: "A Proxmox Backup Server datastore registered as storage of the PVE cluster (`/storage`, type " +
			"`pbs`), for backups. PVE connects to the PBS server when the storage is added or its connection " +
			"changes, and refuses a certificate that does not match `fingerprint`. `password` and `encryption_key` " +
			"are write-only (Terraform or OpenTofu 1.11 or later): they are never stored in the state, and are sent " +
			"when the storage is created and when their `*_version` changes. A key PVE generated (`autogen`) is kept " +
			"in `generated_encryption_key`; a replacement sends it back, and destroying the storage or replacing its " +
			"key needs `allow_encryption_key_loss`. Import by storage ID.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Description:   "The storage ID.",
				Computed:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"storage_id": schema.StringAttribute{
				Description:   "Storage ID (lower-case letters, digits, `-`, `_`, `.`). Changing it replaces the storage.",
				Required:      true,
				PlanModifiers: replace,
				Validators:    []validator.String{stringvalidator.RegexMatches(storageIDRE, "must be a PVE storage ID: lower-case letters, digits, '-', '_' and '.'")},
			},
			"server": schema.StringAttribute{
				Description:   "PBS server address (IP or DNS name). Changing it replaces the storage.",
				Required:      true,
				PlanModifiers: replace,
				Validators:    []validator.String{framework.StringCheck("must be an IP address or DNS name", pve.CheckServer)},
			},
			"port": schema.Int64Attribute{
				Description: "PBS API port. Unset: 8007.",
				Optional:    true,
				Validators:  []validator.Int64{int64validator.Between(1, 65535)},
			},
			"datastore": schema.StringAttribute{
				Description:   "PBS datastore name. Changing it replaces the storage.",
				Required:      true,
				PlanModifiers: replace,
				Validators:    []validator.String{framework.StringCheck("must be a PBS datastore name", pve.CheckPBSDatastore)},
			},
			"namespace": schema.StringAttribute{Description: "PBS namespace to back up into (`a/b`, up to 7 levels). Unset: the root.", Optional: true,
				Validators: []validator.String{framework.StringCheck("must be a PBS namespace", pve.CheckPBSNamespace)}},
			"username": schema.StringAttribute{
				Description: "PBS user or API token the nodes log in with: `user@realm` or `user@realm!token`.",
				Required:    true,
				Validators:  []validator.String{stringvalidator.RegexMatches(regexp.MustCompile(`^[^\s@]+@[^\s@!]+(![A-Za-z0-9_][A-Za-z0-9._-]*)?$`), "must be user@realm or user@realm!token")},
			},
			"password": schema.StringAttribute{
				Description: "Password of `username`, or the token's secret. Write-only: PVE keeps it outside storage.cfg and " +
					"never returns it; it is sent when the storage is created and when `password_version` changes.",
				Required:  true,
				Sensitive: true,
				WriteOnly: true,
			},
			"password_version": schema.Int64Attribute{
				Description: "Change it (e.g. increment it) to send `password` again, after the password changed on the PBS side.",
				Optional:    true,
			},
			"fingerprint": schema.StringAttribute{
				Description: "SHA-256 fingerprint of the PBS server's certificate, e.g. `pve_pbs_datastore.<name>.fingerprint`. " +
					"Unset: the certificate must be signed by a CA the nodes trust.",
				Optional:   true,
				Validators: []validator.String{stringvalidator.RegexMatches(fingerprintRE, "must be a SHA-256 fingerprint, 32 hex pairs separated by ':'")},
			},
			"encryption_key": schema.StringAttribute{
				Description: "Client-side encryption of the backups: `autogen` makes PVE generate a key (returned once, in " +
					"`generated_encryption_key`: keep a copy, backups cannot be restored without it), or a key in " +
					"proxmox-backup-client's JSON form. Write-only: sent when the storage is created and when " +
					"`encryption_key_version` changes (then unset turns encryption off for new backups).",
				Optional:  true,
				Sensitive: true,
				WriteOnly: true,
			},
			"encryption_key_version": schema.Int64Attribute{
				Description: "Change it to apply `encryption_key` again: a new key, `autogen` for a new generated one, or none. " +
					"Replacing or removing a key the provider generated needs `allow_encryption_key_loss`.",
				Optional: true,
			},
			"generated_encryption_key": schema.StringAttribute{
				Description: "The key PVE generated for `encryption_key = \"autogen\"`, as PVE returned it when it made it. " +
					"When the storage is replaced, this key is sent back instead of generating a new one.",
				Computed:      true,
				Sensitive:     true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"encryption_key_fingerprint": schema.StringAttribute{
				Description:   "Fingerprint of the encryption key the storage uses, as storage.cfg records it; null without encryption.",
				Computed:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"allow_encryption_key_loss": schema.BoolAttribute{
				Description: "Let an apply destroy the storage, or replace or remove its encryption key, while the key is one " +
					"the provider generated (`generated_encryption_key`). PVE deletes the key from the nodes, and the " +
					"provider drops it from the state: backups made with it can then only be restored with a copy you " +
					"kept. Without it such a plan is an error; to destroy, set it and apply first.",
				Optional: true,
			},
			"content": schema.SetAttribute{
				Description:   "Content types: PBS storages hold `backup` only (PVE's default).",
				ElementType:   types.StringType,
				Optional:      true,
				Computed:      true,
				PlanModifiers: []planmodifier.Set{setplanmodifier.UseStateForUnknown()},
				Validators:    []validator.Set{setvalidator.SizeAtLeast(1), setvalidator.ValueStringsAre(stringvalidator.OneOf("backup"))},
			},
			"nodes": schema.SetAttribute{
				Description: "Nodes that use the storage. Unset: all.",
				ElementType: types.StringType,
				Optional:    true,
				Validators:  []validator.Set{setvalidator.SizeAtLeast(1)},
			},
			"disable": schema.BoolAttribute{Description: "Keep the definition but do not use the storage.", Optional: true},
		},
		Blocks: map[string]schema.Block{
			"prune_backups": schema.SingleNestedBlock{
				Description: "Retention of the backups PVE makes to this storage (PVE's `prune-backups`). With a prune job " +
					"on the PBS side, leave this out.",
				Attributes: map[string]schema.Attribute{
					"keep_all":  schema.BoolAttribute{Description: "Keep every backup (the other settings must be unset).", Optional: true},
					"keep_last": keep("last N backups"), "keep_hourly": keep("last backup of each of the last N hours"),
					"keep_daily": keep("last backup of each of the last N days"), "keep_weekly": keep("last backup of each of the last N weeks"),
					"keep_monthly": keep("last backup of each of the last N months"), "keep_yearly": keep("last backup of each of the last N years"),
				},
			},
		},
	}
}

func (r *pbsResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = framework.ConfigureData(req.ProviderData, &resp.Diagnostics)
	r.data.RequirePVE(&resp.Diagnostics)
}

// ValidateConfig wants something in a prune_backups block, and keep_all
// alone.
func (r *pbsResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m pbsModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() || m.PruneBackups == nil {
		return
	}
	p := m.PruneBackups
	n := 0
	for _, v := range p.values() {
		if !v.IsNull() {
			n++
		}
	}
	switch {
	case p.KeepAll.IsNull() && n == 0:
		resp.Diagnostics.AddAttributeError(path.Root("prune_backups"), "Empty Retention",
			"set keep_all or at least one keep_* setting in prune_backups, or leave the block out")
	case p.KeepAll.ValueBool() && n > 0:
		resp.Diagnostics.AddAttributeError(path.Root("prune_backups").AtName("keep_all"), "Conflicting Retention",
			"keep_all = true keeps every backup: leave the keep_* settings out")
	}
}

// pruneKeys are prune-backups' keys in the order PVE prints them.
var pruneKeys = []string{"keep-all", "keep-last", "keep-hourly", "keep-daily", "keep-weekly", "keep-monthly", "keep-yearly"}

func (p *pruneModel) values() []types.Int64 {
	return []types.Int64{p.KeepLast, p.KeepHourly, p.KeepDaily, p.KeepWeekly, p.KeepMonthly, p.KeepYearly}
}

// String renders the block as PVE's prune-backups property string.
func (p *pruneModel) String() string {
	if p == nil {
		return ""
	}
	var parts []string
	if !p.KeepAll.IsNull() {
		parts = append(parts, "keep-all="+map[bool]string{true: "1", false: "0"}[p.KeepAll.ValueBool()])
	}
	for i, v := range p.values() {
		if !v.IsNull() {
			parts = append(parts, pruneKeys[i+1]+"="+strconv.FormatInt(v.ValueInt64(), 10))
		}
	}
	return strings.Join(parts, ",")
}

func parsePrune(s string) (*pruneModel, error) {
	ps, err := pve.ParsePropertyString(s, "")
	if err != nil {
		return nil, err
	}
	p := &pruneModel{KeepAll: types.BoolNull()}
	dst := []*types.Int64{&p.KeepLast, &p.KeepHourly, &p.KeepDaily, &p.KeepWeekly, &p.KeepMonthly, &p.KeepYearly}
	for _, d := range dst {
		*d = types.Int64Null()
	}
	for _, k := range ps.Keys() {
		v := ps.Value(k)
		if k == "keep-all" {
			p.KeepAll = types.BoolValue(v == "1")
			continue
		}
		i := slices.Index(pruneKeys, k)
		if i < 1 {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("prune-backups %s=%q: %w", k, v, err)
		}
		*dst[i-1] = types.Int64Value(n)
	}
	return p, nil
}

func setStrings(v types.Set) []string {
	var out []string
	for _, e := range v.Elements() {
		if s, ok := e.(types.String); ok {
			out = append(out, s.ValueString())
		}
	}
	slices.Sort(out)
	return out
}

// settings are m's settings as PVE's parameters; "" for one to delete.
// Password and encryption key are not among them (see secrets).
func (m *pbsModel) settings() map[string]string {
	str := func(v types.String) string {
		if v.IsNull() || v.IsUnknown() {
			return ""
		}
		return v.ValueString()
	}
	out := map[string]string{
		"username":      str(m.Username),
		"namespace":     str(m.Namespace),
		"fingerprint":   str(m.Fingerprint),
		"prune-backups": m.PruneBackups.String(),
		"port":          "",
		"nodes":         strings.Join(setStrings(m.Nodes), ","),
		"content":       "",
		"disable":       "",
	}
	if !m.Port.IsNull() && !m.Port.IsUnknown() {
		out["port"] = strconv.FormatInt(m.Port.ValueInt64(), 10)
	}
	if !m.Content.IsNull() && !m.Content.IsUnknown() {
		out["content"] = strings.Join(setStrings(m.Content), ",")
	}
	if m.Disable.ValueBool() {
		out["disable"] = "1"
	}
	return out
}

// fromAPI sets m from PVE's definition. The secrets stay as they are:
// PVE does not return them.
func (m *pbsModel) fromAPI(s pve.StorageConfig) error {
	opt := func(key string) types.String {
		if v := s.String(key); v != "" {
			return types.StringValue(v)
		}
		return types.StringNull()
	}
	list := func(key string) types.Set {
		v := s.String(key)
		if v == "" {
			return types.SetNull(types.StringType)
		}
		var elems []attr.Value
		for _, e := range strings.Split(v, ",") {
			elems = append(elems, types.StringValue(strings.TrimSpace(e)))
		}
		return types.SetValueMust(types.StringType, elems)
	}
	m.ID, m.StorageID = opt("storage"), opt("storage")
	m.Server, m.Datastore, m.Namespace = opt("server"), opt("datastore"), opt("namespace")
	m.Username, m.Fingerprint = opt("username"), opt("fingerprint")
	// storage.cfg records the key's fingerprint ("1" for a key without one)
	m.KeyFingerprint = opt("encryption-key")
	m.Port = types.Int64Null()
	if p := s.String("port"); p != "" {
		n, err := strconv.ParseInt(p, 10, 64)
		if err != nil {
			return fmt.Errorf("port %q: %w", p, err)
		}
		m.Port = types.Int64Value(n)
	}
	m.Content, m.Nodes = list("content"), list("nodes")
	// disable = false and unset read the same: keep what the
	// configuration says.
	if s.String("disable") == "1" {
		m.Disable = types.BoolValue(true)
	} else if !m.Disable.IsNull() {
		m.Disable = types.BoolValue(false)
	}
	m.PruneBackups = nil
	if p := s.String("prune-backups"); p != "" {
		pm, err := parsePrune(p)
		if err != nil {
			return err
		}
		m.PruneBackups = pm
	}
	return nil
}

// read sets m from PVE and returns the config's digest.
func (m *pbsModel) read(ctx context.Context, c *pve.Client) (string, error) {
	s, err := c.Storage(ctx, m.StorageID.ValueString())
	if err != nil {
		return "", err
	}
	if t := s.String("type"); t != "pbs" {
		return "", fmt.Errorf("storage %s is of type %s, not pbs: %w", m.StorageID.ValueString(), t, pve.ErrNotFound)
	}
	if err := m.fromAPI(s); err != nil {
		return "", fmt.Errorf("storage %s: %w", m.StorageID.ValueString(), err)
	}
	return s.String("digest"), nil
}

// explain adds what to do to PVE's refusal of the PBS server's
// certificate.
func explain(err error) error {
	msg := err.Error()
	if strings.Contains(msg, "fingerprint") && (strings.Contains(msg, "not verified") || strings.Contains(msg, "mismatch")) {
		return fmt.Errorf("%w\n\nThe PBS server's certificate does not match fingerprint: take it from the server "+
			"(pve_pbs_datastore.<name>.fingerprint, or the PBS dashboard's Show Fingerprint)", err)
	}
	if strings.Contains(msg, "certificate verify failed") || strings.Contains(msg, "self-signed") || strings.Contains(msg, "self signed") {
		return fmt.Errorf("%w\n\nThe nodes do not trust the PBS server's certificate: set fingerprint", err)
	}
	return err
}

// createPBSStorage creates the storage. When PVE generates its encryption
// key (autogen) and the answer to the create was lost, the key is gone with
// it: PVE returns a generated key only in that answer (pve-storage
// PBSPlugin on_add_hook writes it to /etc/pve/priv/storage/<id>.enc, which
// no API call reads). The storage this create made a moment ago, which
// nothing has used yet, is then deleted (on_delete_hook removes the key
// file) and created again, up to twice, so that the state holds the key
// the backups will be encrypted with.
func createPBSStorage(ctx context.Context, c *pve.Client, p url.Values, autogen bool) (*pve.StorageResult, error) {
	for attempt := 1; ; attempt++ {
		res, err := c.CreateStorage(ctx, p)
		if err != nil || !autogen || !res.AnswerLost {
			return res, err
		}
		if attempt == 3 {
			return nil, fmt.Errorf("storage %s was created, but PVE's answer, the only place its generated encryption key is "+
				"given, was lost %d times: delete the storage (its key file /etc/pve/priv/storage/%s.enc goes with it) and apply again",
				p.Get("storage"), attempt, p.Get("storage"))
		}
		tflog.Warn(ctx, "the answer with the generated encryption key was lost; deleting the new storage and creating it again",
			map[string]any{"storage": p.Get("storage")})
		if derr := c.DeleteStorage(ctx, p.Get("storage")); derr != nil && !errors.Is(derr, pve.ErrNotFound) {
			return nil, fmt.Errorf("storage %s was created, but PVE's answer with its generated encryption key was lost, "+
				"and deleting it to create it again failed: %w", p.Get("storage"), derr)
		}
	}
}

func (r *pbsResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	const summary = "Unable to Create PBS Storage"
	var plan pbsModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	c := r.data.PVEClient(ctx, summary, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	var password, key types.String
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("password"), &password)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("encryption_key"), &key)...)
	if resp.Diagnostics.HasError() {
		return
	}
	id := plan.StorageID.ValueString()
	p := url.Values{"storage": {id}, "type": {"pbs"}, "server": {plan.Server.ValueString()},
		"datastore": {plan.Datastore.ValueString()}, "password": {password.ValueString()}}
	for k, v := range plan.settings() {
		if v != "" {
			p.Set(k, v)
		}
	}
	reused := false
	if !key.IsNull() && !key.IsUnknown() {
		p.Set("encryption-key", key.ValueString())
		// The replacement of a storage whose key PVE generated gets that key
		// back, not a new one: the backups made with it stay restorable
		// (pbs_secrets.go).
		if g, ok := takeReplacedKey(c.Endpoint(), id); ok && key.ValueString() == "autogen" {
			p.Set("encryption-key", g)
			plan.GeneratedEncryptionKey = types.StringValue(g)
			reused = true
		}
	}
	res, err := createPBSStorage(ctx, c, p, !reused && key.ValueString() == "autogen")
	if err != nil {
		if strings.Contains(err.Error(), "already defined") || strings.Contains(err.Error(), "already exists") {
			err = fmt.Errorf("%w (import it: terraform import pve_storage_pbs.<name> %s)", err, id)
		}
		resp.Diagnostics.AddError(summary, explain(err).Error())
		return
	}
	if !reused {
		plan.GeneratedEncryptionKey = types.StringNull()
		if k := res.Config["encryption-key"]; k != "" && key.ValueString() == "autogen" {
			plan.GeneratedEncryptionKey = types.StringValue(k)
		}
	}
	if _, err := plan.read(ctx, c); err != nil {
		// The storage exists: it goes into the state (tainted by the
		// error), with its generated key, rather than being left behind.
		resp.Diagnostics.AddError("Unable to Read PBS Storage", err.Error())
		for attr, v := range map[string]types.String{"id": plan.StorageID, "storage_id": plan.StorageID, "server": plan.Server,
			"datastore": plan.Datastore, "username": plan.Username, "generated_encryption_key": plan.GeneratedEncryptionKey} {
			if v.IsUnknown() {
				v = types.StringNull()
			}
			resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root(attr), v)...)
		}
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

func (r *pbsResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	const summary = "Unable to Read PBS Storage"
	var state pbsModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	c := r.data.PVEClient(ctx, summary, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	if _, err := state.read(ctx, c); err != nil {
		if errors.Is(err, pve.ErrNotFound) {
			resp.State.RemoveResource(ctx)
			return
		}
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}

func (r *pbsResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	const summary = "Unable to Update PBS Storage"
	var plan, state pbsModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	c := r.data.PVEClient(ctx, summary, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	digest, err := state.read(ctx, c)
	if err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	p := url.Values{}
	var del []string
	have := state.settings()
	for k, v := range plan.settings() {
		switch {
		case v == "" && have[k] != "":
			del = append(del, k)
		case v != "" && v != have[k]:
			p.Set(k, v)
		}
	}
	var password, key types.String
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("password"), &password)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("encryption_key"), &key)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if !plan.PasswordVersion.Equal(state.PasswordVersion) {
		p.Set("password", password.ValueString())
	}
	plan.GeneratedEncryptionKey = state.GeneratedEncryptionKey
	if !plan.EncryptionKeyVersion.Equal(state.EncryptionKeyVersion) {
		if key.IsNull() {
			del = append(del, "encryption-key")
		} else {
			p.Set("encryption-key", key.ValueString())
		}
		plan.GeneratedEncryptionKey = types.StringNull()
	}
	if len(del) > 0 {
		slices.Sort(del)
		p.Set("delete", strings.Join(del, ","))
	}
	if len(p) > 0 {
		p.Set("digest", digest)
		res, err := c.UpdateStorage(ctx, plan.StorageID.ValueString(), p)
		if err != nil {
			resp.Diagnostics.AddError(summary, explain(err).Error())
			return
		}
		if k := res.Config["encryption-key"]; k != "" && key.ValueString() == "autogen" {
			plan.GeneratedEncryptionKey = types.StringValue(k)
		}
	}
	if _, err := plan.read(ctx, c); err != nil {
		resp.Diagnostics.AddError("Unable to Read PBS Storage", err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

func (r *pbsResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state pbsModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	c := r.data.PVEClient(ctx, "Unable to Delete PBS Storage", &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	if err := c.DeleteStorage(ctx, state.StorageID.ValueString()); err != nil && !errors.Is(err, pve.ErrNotFound) {
		resp.Diagnostics.AddError("Unable to Delete PBS Storage", err.Error())
		return
	}
	stashReplacedKey(c.Endpoint(), &state)
}

func (r *pbsResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resource.ImportStatePassthroughID(ctx, path.Root("storage_id"), req, resp)
}
