package storage

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/hcilab/terraform-provider-pve/internal/framework"
	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

var (
	_ resource.ResourceWithImportState    = (*downloadFileResource)(nil)
	_ resource.ResourceWithValidateConfig = (*downloadFileResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*downloadFileResource)(nil)
)

// httpURLRE is download-url's url pattern ('https?://.*', anchored).
var httpURLRE = regexp.MustCompile(`^https?://.+$`)

const (
	defaultDownloadTimeout = 30 * time.Minute
	defaultDeleteTimeout   = 5 * time.Minute
)

// NewDownloadFileResource returns the pve_download_file resource.
func NewDownloadFileResource() resource.Resource {
	return &downloadFileResource{}
}

type downloadFileResource struct {
	data *framework.ProviderData
}

type downloadFileModel struct {
	ID                 types.String   `tfsdk:"id"`
	Node               types.String   `tfsdk:"node"`
	Storage            types.String   `tfsdk:"storage"`
	Content            types.String   `tfsdk:"content"`
	URL                types.String   `tfsdk:"url"`
	FileName           types.String   `tfsdk:"file_name"`
	Checksum           types.String   `tfsdk:"checksum"`
	ChecksumAlgorithm  types.String   `tfsdk:"checksum_algorithm"`
	Decompression      types.String   `tfsdk:"decompression_algorithm"`
	VerifyCertificates types.Bool     `tfsdk:"verify_certificates"`
	Overwrite          types.Bool     `tfsdk:"overwrite"`
	Size               types.Int64    `tfsdk:"size"`
	Timeouts           timeouts.Value `tfsdk:"timeouts"`
}

func (r *downloadFileResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_download_file"
}

func (r *downloadFileResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	// What PVE does not keep (the URL, the checksum): an imported file has
	// none in its state, and setting them then does not download it again.
	replaceUnlessImported := func(what string) []planmodifier.String {
		return []planmodifier.String{stringplanmodifier.RequiresReplaceIf(
			func(ctx context.Context, req planmodifier.StringRequest, resp *stringplanmodifier.RequiresReplaceIfFuncResponse) {
				var url types.String
				resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("url"), &url)...)
				resp.RequiresReplace = !url.IsNull()
			}, "Changing "+what+" downloads the file again.", "Changing "+what+" downloads the file again.")}
	}
	resp.Schema = schema.Schema{
		Description: "A file that PVE downloads from a URL onto a node's file based storage (`download-url`): an ISO " +
			"image, a container template or a disk image to import. PVE checks the checksum when one is given (and " +
			"removes what it fetched if it does not match), and refuses to overwrite a file that is there (see " +
			"`overwrite`). Changing the URL, the checksum or where the file goes downloads it again. Destroying it " +
			"deletes the file. Import with `<node>/<volume ID>`, e.g. `pve1/local:iso/debian-13.1.0-amd64-netinst.iso`.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Description:   "The volume ID of the file, e.g. `local:iso/debian-13.1.0-amd64-netinst.iso`: what `pve_vm.cdrom` and `pve_container.ostemplate` take.",
				Computed:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"node": schema.StringAttribute{
				Description: "Node whose storage gets the file (a local storage such as `local` holds each node's own files). " +
					"Changing it downloads the file again there.",
				Required:      true,
				PlanModifiers: replace,
			},
			"storage": schema.StringAttribute{
				Description:   "Storage ID of a file based storage with the content type enabled, e.g. `local`. Changing it downloads the file again.",
				Required:      true,
				PlanModifiers: replace,
				Validators:    []validator.String{stringvalidator.RegexMatches(storageIDRE, "must be a PVE storage ID")},
			},
			"content": schema.StringAttribute{
				Description: "What the file is: `iso` (an ISO image, in `template/iso`), `vztmpl` (a container template, in " +
					"`template/cache`) or `import` (a disk image or OVA to import, in `import`). Changing it downloads the file again.",
				Required:      true,
				PlanModifiers: replace,
				Validators:    []validator.String{stringvalidator.OneOf(downloadContents...)},
			},
			"url": schema.StringAttribute{
				Description: "HTTP or HTTPS URL PVE downloads the file from (the node itself fetches it, through the " +
					"datacenter's `http_proxy` if set). Changing it downloads the file again.",
				Required:      true,
				PlanModifiers: replaceUnlessImported("the URL"),
				Validators:    []validator.String{stringvalidator.RegexMatches(httpURLRE, "must be an http:// or https:// URL")},
			},
			"file_name": schema.StringAttribute{
				Description: "Name of the file on the storage. Default: the last element of the URL's path, with every " +
					"character but letters, digits, `_`, `.` and `-` made `_` (as PVE stores it). Its extension must fit " +
					"`content`: `.iso`/`.img`; `.tar`, `.tar.gz`, `.tar.xz`, `.tar.zst`, `.tar.bz2`; `.ova`, `.qcow2`, " +
					"`.raw`, `.vmdk`. Changing it downloads the file again.",
				Optional:      true,
				Computed:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplaceIfConfigured(), stringplanmodifier.UseStateForUnknown()},
			},
			"checksum": schema.StringAttribute{
				Description: "Expected checksum of the downloaded file, in hexadecimal (e.g. from the mirror's " +
					"`SHA256SUMS`); requires `checksum_algorithm`. A mismatch fails the download and leaves no file. " +
					"Changing it downloads the file again.",
				Optional:      true,
				PlanModifiers: replaceUnlessImported("the checksum"),
				Validators:    []validator.String{stringvalidator.AlsoRequires(path.MatchRoot("checksum_algorithm"))},
			},
			"checksum_algorithm": schema.StringAttribute{
				Description:   "Algorithm of `checksum`: `md5`, `sha1`, `sha224`, `sha256`, `sha384` or `sha512`.",
				Optional:      true,
				PlanModifiers: replaceUnlessImported("the checksum algorithm"),
				Validators: []validator.String{stringvalidator.OneOf(checksumAlgorithms...),
					stringvalidator.AlsoRequires(path.MatchRoot("checksum"))},
			},
			"decompression_algorithm": schema.StringAttribute{
				Description: "Decompress the download with this algorithm (`gz`, `lzo`, `zst` or `bz2`); only for " +
					"`content = \"iso\"`. The checksum is that of the compressed download. Changing it downloads the file again.",
				Optional:      true,
				PlanModifiers: replaceUnlessImported("the decompression"),
				Validators:    []validator.String{stringvalidator.OneOf(compressions...)},
			},
			"verify_certificates": schema.BoolAttribute{
				Description: "Verify the TLS certificate of an HTTPS URL (PVE's default: true). Only used when downloading.",
				Optional:    true,
			},
			"overwrite": schema.BoolAttribute{
				Description: "Replace a file of the same name that is already on the storage and not managed here: " +
					"delete it before downloading. Without it PVE refuses (`refusing to override existing file`), " +
					"unless the file there has the expected checksum. Only used when downloading.",
				Optional: true,
			},
			"size": schema.Int64Attribute{
				Description:   "Size of the file on the storage in bytes, as PVE reports it.",
				Computed:      true,
				PlanModifiers: []planmodifier.Int64{int64planmodifier.UseStateForUnknown()},
			},
			"timeouts": framework.Timeouts(ctx, timeouts.Opts{Create: true, Delete: true},
				"Defaults: create 30m (the download), delete 5m."),
		},
	}
}

func (r *downloadFileResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = framework.ConfigureData(req.ProviderData, &resp.Diagnostics)
	r.data.RequirePVE(&resp.Diagnostics)
}

// ValidateConfig checks at plan time what PVE would refuse: a file name
// without the content's extension (or one PVE would store under another
// name), a malformed checksum, decompression of anything but an ISO.
func (r *downloadFileResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m downloadFileModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	known := func(v types.String) bool { return !v.IsNull() && !v.IsUnknown() }
	content := m.Content.ValueString()
	if known(m.Content) && known(m.FileName) {
		name := m.FileName.ValueString()
		if n := normalizeFileName(name); n != name {
			resp.Diagnostics.AddAttributeError(path.Root("file_name"), "Invalid File Name",
				fmt.Sprintf("PVE would store %q as %q: use letters, digits, '_', '.' and '-' only", name, n))
		} else if err := checkFileName(content, name); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("file_name"), "Invalid File Name", err.Error())
		}
	}
	if known(m.Content) && m.FileName.IsNull() && known(m.URL) {
		name := fileNameFromURL(m.URL.ValueString())
		if name == "" {
			resp.Diagnostics.AddAttributeError(path.Root("file_name"), "Missing File Name",
				fmt.Sprintf("the URL %q names no file: set file_name", m.URL.ValueString()))
		} else if err := checkFileName(content, name); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("url"), "Invalid File Name",
				fmt.Sprintf("the file name taken from the URL does not fit content %q (%v): set file_name", content, err))
		}
	}
	if known(m.Checksum) && known(m.ChecksumAlgorithm) {
		if err := checkChecksum(m.ChecksumAlgorithm.ValueString(), m.Checksum.ValueString()); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("checksum"), "Invalid Checksum", err.Error())
		}
	}
	if known(m.Decompression) && known(m.Content) && content != contentISO {
		resp.Diagnostics.AddAttributeError(path.Root("decompression_algorithm"), "Decompression Not Supported",
			fmt.Sprintf("PVE decompresses only ISO images, not %s", content))
	}
}

// ModifyPlan fills in the file name from the URL and the volume ID, so
// that both are known at plan time (a VM referencing the ID plans fully).
func (r *downloadFileResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan downloadFileModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if plan.FileName.IsUnknown() && !plan.URL.IsUnknown() {
		if name := fileNameFromURL(plan.URL.ValueString()); name != "" {
			plan.FileName = types.StringValue(name)
		}
	}
	if plan.ID.IsUnknown() && !plan.Storage.IsUnknown() && !plan.Content.IsUnknown() && !plan.FileName.IsUnknown() {
		plan.ID = types.StringValue(volumeID(plan.Storage.ValueString(), plan.Content.ValueString(), plan.FileName.ValueString()))
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, plan)...)
}

func (r *downloadFileResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	const summary = "Unable to Download File"
	var plan downloadFileModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	c := r.data.PVEClient(ctx, summary, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := plan.Timeouts.Create(ctx, defaultDownloadTimeout)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	node, storage := plan.Node.ValueString(), plan.Storage.ValueString()
	name := plan.FileName.ValueString()
	if name == "" {
		name = fileNameFromURL(plan.URL.ValueString())
	}
	volid := volumeID(storage, plan.Content.ValueString(), name)
	if plan.Overwrite.ValueBool() {
		if _, err := c.Volume(ctx, node, storage, volid); err == nil {
			if _, err := c.DeleteVolume(ctx, node, storage, volid, pve.WaitOptions{}); err != nil {
				resp.Diagnostics.AddError(summary, fmt.Sprintf("deleting the file there (overwrite): %v", err))
				return
			}
		} else if !errors.Is(err, pve.ErrNotFound) {
			resp.Diagnostics.AddError(summary, err.Error())
			return
		}
	}
	dl := pve.Download{URL: plan.URL.ValueString(), Content: plan.Content.ValueString(), Filename: name,
		Checksum: plan.Checksum.ValueString(), ChecksumAlgorithm: plan.ChecksumAlgorithm.ValueString(),
		Compression: plan.Decompression.ValueString()}
	if !plan.VerifyCertificates.IsNull() {
		v := plan.VerifyCertificates.ValueBool()
		dl.VerifyCertificates = &v
	}
	upid, err := c.StartDownload(ctx, node, storage, dl)
	if err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	if _, err := c.WaitTask(ctx, upid, pve.WaitOptions{MaxPoll: 5 * time.Second}); err != nil {
		r.abandon(c, &plan, upid, volid, err, resp)
		return
	}
	plan.ID, plan.FileName = types.StringValue(volid), types.StringValue(name)
	if err := plan.read(ctx, c); err != nil {
		resp.Diagnostics.AddError(summary, fmt.Sprintf("the download finished, but reading the file back failed: %v", err))
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

// abandon handles a download that did not finish: a failed task left
// nothing (PVE removes what it fetched), so there is no state; a wait that
// ended (timeout, interrupt) stops the task, so that no file appears later
// that Terraform does not know of, and keeps the resource (tainted) only
// if the file is there after all.
func (r *downloadFileResource) abandon(c *pve.Client, plan *downloadFileModel, upid, volid string, err error, resp *resource.CreateResponse) {
	const summary = "Unable to Download File"
	var te *pve.TaskError
	if errors.As(err, &te) {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	detail := err.Error()
	if serr := c.StopTask(ctx, upid); serr != nil {
		detail += fmt.Sprintf("\n\nstopping the download failed too: %v", serr)
	} else if _, werr := c.WaitTask(ctx, upid, pve.WaitOptions{}); werr == nil {
		detail += "\n\nthe download finished nevertheless"
	} else {
		detail += "\n\nthe download was stopped"
	}
	node, storage := plan.Node.ValueString(), plan.Storage.ValueString()
	if _, verr := c.Volume(ctx, node, storage, volid); verr == nil {
		plan.ID = types.StringValue(volid)
		if rerr := plan.read(ctx, c); rerr == nil {
			resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
		}
	}
	resp.Diagnostics.AddError(summary, detail)
}

func (r *downloadFileResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	const summary = "Unable to Read Downloaded File"
	var state downloadFileModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	c := r.data.PVEClient(ctx, summary, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	if err := state.read(ctx, c); err != nil {
		if errors.Is(err, pve.ErrNotFound) {
			resp.State.RemoveResource(ctx)
			return
		}
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}

// Update changes only what is used when downloading (and, after an import,
// records the URL and checksum of the configuration): nothing on PVE.
func (r *downloadFileResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	const summary = "Unable to Update Downloaded File"
	var plan downloadFileModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	c := r.data.PVEClient(ctx, summary, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	if err := plan.read(ctx, c); err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

func (r *downloadFileResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	const summary = "Unable to Delete Downloaded File"
	var state downloadFileModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	c := r.data.PVEClient(ctx, summary, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := state.Timeouts.Delete(ctx, defaultDeleteTimeout)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	node, storage, volid := state.Node.ValueString(), state.Storage.ValueString(), state.ID.ValueString()
	if _, err := c.Volume(ctx, node, storage, volid); err != nil {
		if errors.Is(err, pve.ErrNotFound) {
			return
		}
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	if _, err := c.DeleteVolume(ctx, node, storage, volid, pve.WaitOptions{}); err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
	}
}

// ImportState takes node/volume ID. PVE keeps neither the URL nor the
// checksum: they stay empty until the configuration sets them, which then
// does not download the file again.
func (r *downloadFileResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	node, storage, content, name, err := parseImportID(req.ID)
	if err != nil {
		resp.Diagnostics.AddError("Invalid Import ID", err.Error())
		return
	}
	for attr, v := range map[string]string{"id": volumeID(storage, content, name), "node": node, "storage": storage,
		"content": content, "file_name": name} {
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root(attr), v)...)
	}
}

// read fills size from the volume's attributes (GET .../content/{volume});
// a file that is gone is pve.ErrNotFound.
func (m *downloadFileModel) read(ctx context.Context, c *pve.Client) error {
	info, err := c.Volume(ctx, m.Node.ValueString(), m.Storage.ValueString(), m.ID.ValueString())
	if err != nil {
		return err
	}
	m.Size = types.Int64Value(info.Size)
	if _, _, content, name, err := parseImportID(m.Node.ValueString() + "/" + m.ID.ValueString()); err == nil {
		m.Content, m.FileName = types.StringValue(content), types.StringValue(name)
	}
	return nil
}
