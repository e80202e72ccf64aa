package pbs

import (
	"context"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	tfpath "github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/hcilab/terraform-provider-pve/internal/framework"
	"github.com/hcilab/terraform-provider-pve/internal/pbs"
)

var _ resource.ResourceWithImportState = (*namespaceResource)(nil)

// NewNamespaceResource returns the pve_pbs_namespace resource.
func NewNamespaceResource() resource.Resource {
	return &namespaceResource{}
}

type namespaceResource struct {
	data *framework.ProviderData
}

type namespaceModel struct {
	ID    types.String `tfsdk:"id"`
	Store types.String `tfsdk:"store"`
	Name  types.String `tfsdk:"name"`
}

// namespaceRE is PBS's namespace path: up to 7 levels of names of
// letters, digits, '-' and '_' (BACKUP_NAMESPACE_SCHEMA).
var namespaceRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._\-]*(/[A-Za-z0-9_][A-Za-z0-9._\-]*){0,6}$`)

func (r *namespaceResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_pbs_namespace"
}

func (r *namespaceResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	resp.Schema = schema.Schema{
		Description: "A namespace of a PBS datastore: backups of different clusters or tenants kept apart in one " +
			"datastore. A nested namespace (`a/b`) needs its parent first. PBS refuses to delete a namespace that " +
			"holds backups. Import as `<store>:<namespace>`.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Description:   "`<store>:<namespace>`.",
				Computed:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"store": schema.StringAttribute{Description: "Datastore. Changing it replaces the namespace.", Required: true, PlanModifiers: replace},
			"name": schema.StringAttribute{
				Description:   "Namespace path, `a` or `a/b` (at most 7 levels). Changing it replaces the namespace.",
				Required:      true,
				PlanModifiers: replace,
				Validators:    []validator.String{stringvalidator.RegexMatches(namespaceRE, "must be a namespace path such as a or a/b (7 levels at most)")},
			},
		},
	}
}

func (r *namespaceResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = framework.ConfigureData(req.ProviderData, &resp.Diagnostics)
}

// find reports whether the namespace exists (a missing datastore is
// ErrNotFound too), from the datastore's namespace list shared by the reads
// of one run: a refresh of many namespaces reads it once.
func (m *namespaceModel) find(ctx context.Context, c *pbs.Client) error {
	return m.findIn(c.NamespacesShared(ctx, m.Store.ValueString()))
}

// findFresh is find from a list read afresh: what the check before a
// create needs, since PBS answers success for a namespace that exists.
func (m *namespaceModel) findFresh(ctx context.Context, c *pbs.Client) error {
	return m.findIn(c.Namespaces(ctx, m.Store.ValueString()))
}

func (m *namespaceModel) findIn(nss []pbs.Namespace, err error) error {
	if err != nil {
		return err
	}
	for _, ns := range nss {
		if ns.NS == m.Name.ValueString() {
			m.ID = types.StringValue(m.Store.ValueString() + ":" + ns.NS)
			return nil
		}
	}
	return fmt.Errorf("namespace %s of datastore %s: %w", m.Name.ValueString(), m.Store.ValueString(), pbs.ErrNotFound)
}

func (r *namespaceResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	const summary = "Unable to Create PBS Namespace"
	var plan namespaceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	c := r.data.PBSClient(ctx, summary, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	// PBS answers success for a namespace that exists already: it is not
	// adopted silently.
	if err := plan.findFresh(ctx, c); err == nil {
		resp.Diagnostics.AddError(summary, fmt.Sprintf("namespace %s of datastore %s exists already: import it "+
			"(terraform import pve_pbs_namespace.<name> %s)", plan.Name.ValueString(), plan.Store.ValueString(), plan.ID.ValueString()))
		return
	} else if !errors.Is(err, pbs.ErrNotFound) {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	parent, name := path.Split(plan.Name.ValueString())
	if _, err := c.CreateNamespace(ctx, plan.Store.ValueString(), strings.TrimSuffix(parent, "/"), name); err != nil {
		if errors.Is(err, pbs.ErrConflict) {
			err = fmt.Errorf("%w (import it: terraform import pve_pbs_namespace.<name> %s:%s)", err, plan.Store.ValueString(), plan.Name.ValueString())
		}
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	if err := plan.find(ctx, c); err != nil {
		resp.Diagnostics.AddError("Unable to Read PBS Namespace", err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

func (r *namespaceResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	const summary = "Unable to Read PBS Namespace"
	var state namespaceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	c := r.data.PBSClient(ctx, summary, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	if err := state.find(ctx, c); err != nil {
		if errors.Is(err, pbs.ErrNotFound) {
			resp.State.RemoveResource(ctx)
			return
		}
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}

// Update is never called: every attribute replaces the namespace.
func (r *namespaceResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan namespaceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

func (r *namespaceResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	const summary = "Unable to Delete PBS Namespace"
	var state namespaceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	c := r.data.PBSClient(ctx, summary, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	if err := c.DeleteNamespace(ctx, state.Store.ValueString(), state.Name.ValueString(), false); err != nil && !errors.Is(err, pbs.ErrNotFound) {
		resp.Diagnostics.AddError(summary, err.Error())
	}
}

func (r *namespaceResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	store, ns, ok := strings.Cut(req.ID, ":")
	if !ok || store == "" || ns == "" {
		resp.Diagnostics.AddError("Invalid Import ID", fmt.Sprintf("%q: the import ID is <store>:<namespace>, e.g. backups:cluster-a", req.ID))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, tfpath.Root("store"), store)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, tfpath.Root("name"), ns)...)
}
