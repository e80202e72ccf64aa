package cluster

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/hcilab/terraform-provider-pve/internal/framework"
	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

var (
	_ resource.ResourceWithImportState = (*clusterResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*clusterResource)(nil)
)

// NewClusterResource returns the pve_cluster resource.
func NewClusterResource() resource.Resource {
	return &clusterResource{}
}

type clusterResource struct {
	data *framework.ProviderData
}

type clusterModel struct {
	ID            types.String   `tfsdk:"id"`
	Name          types.String   `tfsdk:"name"`
	FirstNode     types.String   `tfsdk:"first_node"`
	Nodes         types.Map      `tfsdk:"nodes"`
	RootPassword  types.String   `tfsdk:"root_password"`
	AllowDestroy  types.Bool     `tfsdk:"allow_destroy"`
	RemoveNodes   types.Set      `tfsdk:"remove_nodes"`
	ClusterID     types.String   `tfsdk:"cluster_id"`
	ConfigVersion types.Int64    `tfsdk:"config_version"`
	Quorate       types.Bool     `tfsdk:"quorate"`
	ExpectedVotes types.Int64    `tfsdk:"expected_votes"`
	Quorum        types.Int64    `tfsdk:"quorum"`
	Timeouts      timeouts.Value `tfsdk:"timeouts"`
}

type nodeModel struct {
	Endpoint       types.String `tfsdk:"endpoint"`
	TLSFingerprint types.String `tfsdk:"tls_fingerprint"`
	Link0          types.String `tfsdk:"link0"`
	Link1          types.String `tfsdk:"link1"`
	Votes          types.Int64  `tfsdk:"votes"`
	NodeID         types.Int64  `tfsdk:"node_id"`
}

var nodeType = types.ObjectType{AttrTypes: map[string]attr.Type{
	"endpoint": types.StringType, "tls_fingerprint": types.StringType, "link0": types.StringType,
	"link1": types.StringType, "votes": types.Int64Type, "node_id": types.Int64Type,
}}

func (r *clusterResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_cluster"
}

func (r *clusterResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	keepStr := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	keepInt := []planmodifier.Int64{int64planmodifier.UseStateForUnknown()}
	resp.Schema = schema.Schema{
		Description: "A PVE cluster made of standalone nodes: created on `first_node` (`POST /cluster/config`), then " +
			"every other node joins it through its own API (`POST /cluster/config/join`), one after the other. A node " +
			"added to `nodes` later joins. A node dropped from `nodes` is removed from the cluster (PVE's `delnode`) only " +
			"when `remove_nodes` names it (otherwise the plan fails), and only when it is shut down: an online node, or the " +
			"node the provider talks to, fails the apply rather than being waited for. PVE has no " +
			"way to dissolve a cluster: destroying this resource is refused unless `allow_destroy = true`, and then " +
			"only forgets it. Import by cluster name (through the provider's endpoint, which must be a member).",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Description:   "The cluster name.",
				Computed:      true,
				PlanModifiers: keepStr,
			},
			"name": schema.StringAttribute{
				Description: "Cluster name (up to 15 characters: letters, digits, '-'). It cannot change once the cluster exists.",
				Required:    true,
				Validators: []validator.String{stringvalidator.RegexMatches(clusterNameRE,
					"must be 1 to 15 letters, digits and '-', starting with a letter or digit")},
			},
			"first_node": schema.StringAttribute{
				Description: "The node the cluster is created on; a key of `nodes`. Unset: the first of `nodes` by name. " +
					"It only matters at creation.",
				Optional:      true,
				Computed:      true,
				PlanModifiers: keepStr,
				Validators:    []validator.String{framework.StringCheck("must be a node name", pve.CheckNodeName)},
			},
			"nodes": schema.MapNestedAttribute{
				Description: "The cluster's nodes by node name (as each node calls itself).",
				Required:    true,
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"endpoint": schema.StringAttribute{
						Description: "The node's own API, e.g. `https://10.0.0.2:8006`: a node joins through its own API. " +
							"Unset: `https://<the node's address>:<the provider endpoint's port>`, once the node is a member.",
						Optional:      true,
						Computed:      true,
						PlanModifiers: []planmodifier.String{stringplanmodifier.UseNonNullStateForUnknown()},
					},
					"tls_fingerprint": schema.StringAttribute{
						Description: "SHA-256 fingerprint of the node's certificate, to trust it before it joins (a " +
							"joining node gets a new certificate signed by the cluster's CA; this value is kept as set). " +
							"Unset: the provider's TLS settings; after an import, the member's current fingerprint.",
						Optional:      true,
						Computed:      true,
						PlanModifiers: []planmodifier.String{stringplanmodifier.UseNonNullStateForUnknown()},
					},
					"link0": schema.StringAttribute{
						Description: "Address of the node's first corosync link (`10.0.0.2`, optionally `,priority=N`). " +
							"Unset: the address the node's name resolves to.",
						Optional:      true,
						Computed:      true,
						PlanModifiers: []planmodifier.String{stringplanmodifier.UseNonNullStateForUnknown()},
						Validators:    []validator.String{framework.StringCheck("must be a corosync link", pve.CheckCorosyncLink)},
					},
					"link1": schema.StringAttribute{
						Description: "Address of a second, redundant corosync link (the same form as `link0`).",
						Optional:    true,
						Validators:  []validator.String{framework.StringCheck("must be a corosync link", pve.CheckCorosyncLink)},
					},
					"votes": schema.Int64Attribute{
						Description:   "Quorum votes of the node. Unset: 1.",
						Optional:      true,
						Computed:      true,
						PlanModifiers: []planmodifier.Int64{int64planmodifier.UseNonNullStateForUnknown()},
						Validators:    []validator.Int64{int64validator.AtLeast(0)},
					},
					"node_id": schema.Int64Attribute{
						Description:   "The node's corosync node ID.",
						Computed:      true,
						PlanModifiers: []planmodifier.Int64{int64planmodifier.UseNonNullStateForUnknown()},
					},
				}},
			},
			"root_password": schema.StringAttribute{
				Description: "Password of root@pam on the nodes: PVE creates and joins clusters only for root@pam, on the " +
					"node's own API. Write-only: needed whenever nodes are created or join, never stored.",
				Optional:  true,
				Sensitive: true,
				WriteOnly: true,
			},
			"remove_nodes": schema.SetAttribute{
				Description: "Nodes this configuration lets an apply remove from the cluster. A node that is no longer a key of " +
					"`nodes` is deleted from the cluster (PVE's `delnode`) only if it is listed here, and only when it is shut down " +
					"(the apply fails on a node that is still online, without waiting): " +
					"PVE forgets a removed node for good, and it needs a reinstall to join again, so a key dropped by mistake " +
					"(a typo, a node in maintenance) must not do it. The plan names every node it removes.",
				Optional:    true,
				ElementType: types.StringType,
			},
			"allow_destroy": schema.BoolAttribute{
				Description: "Let `terraform destroy` remove this resource. PVE cannot dissolve a cluster through its API: " +
					"the cluster stays as it is and is only forgotten. Default false: destroying is refused, so that a " +
					"typo does not drop a cluster from the state.",
				Optional: true,
				Computed: true,
				Default:  booldefault.StaticBool(false),
			},
			"cluster_id": schema.StringAttribute{
				Description:   "The cluster's identity: its corosync cluster name.",
				Computed:      true,
				PlanModifiers: keepStr,
			},
			"config_version": schema.Int64Attribute{
				Description: "corosync's config_version: it grows with every membership change.",
				Computed:    true,
			},
			"quorate": schema.BoolAttribute{Description: "Whether the cluster has quorum.", Computed: true},
			"expected_votes": schema.Int64Attribute{
				Description:   "The votes of all nodes.",
				Computed:      true,
				PlanModifiers: keepInt,
			},
			"quorum": schema.Int64Attribute{
				Description:   "Votes needed for quorum: floor(expected_votes / 2) + 1.",
				Computed:      true,
				PlanModifiers: keepInt,
			},
			"timeouts": framework.Timeouts(ctx, timeouts.Opts{Create: true, Update: true},
				"Create covers creating the cluster and joining its first nodes, update joining (and, with `remove_nodes`, removing) nodes later; both wait for nodes that are still booting. Defaults: 30m each."),
		},
	}
}

const defaultClusterTimeout = 30 * time.Minute

var clusterNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,14}$`)

func (r *clusterResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = framework.ConfigureData(req.ProviderData, &resp.Diagnostics)
	r.data.RequirePVE(&resp.Diagnostics)
}

func (m *clusterModel) nodes(ctx context.Context, diags *diag.Diagnostics) map[string]nodeModel {
	out := map[string]nodeModel{}
	if !m.Nodes.IsNull() && !m.Nodes.IsUnknown() {
		diags.Append(m.Nodes.ElementsAs(ctx, &out, false)...)
	}
	return out
}

// firstNode is first_node, or the first node by name.
func (m *clusterModel) firstNode(nodes map[string]nodeModel) string {
	if v := m.FirstNode; !v.IsNull() && !v.IsUnknown() && v.ValueString() != "" {
		return v.ValueString()
	}
	names := slices.Sorted(maps.Keys(nodes))
	if len(names) == 0 {
		return ""
	}
	return names[0]
}

// ModifyPlan checks what can be known before anything changes: first_node
// is one of the nodes, the name and existing members' links do not change,
// every node removed from nodes is named in remove_nodes (and the plan says
// so), and nodes about to join host no guests. Whether a node to remove is
// offline, and not the node the provider talks to, is checked at apply.
func (r *clusterResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		if !req.State.Raw.IsNull() {
			var state clusterModel
			resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
			if !state.AllowDestroy.ValueBool() {
				resp.Diagnostics.AddError("Cluster Destroy Refused",
					fmt.Sprintf("pve_cluster %s has allow_destroy unset: PVE cannot dissolve a cluster, and dropping it from the state is refused unless allow_destroy = true is applied first", state.Name.ValueString()))
			}
		}
		return
	}
	var plan, config clusterModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}
	nodes := plan.nodes(ctx, &resp.Diagnostics)
	first := plan.firstNode(nodes)
	if !plan.FirstNode.IsUnknown() || req.State.Raw.IsNull() {
		if _, ok := nodes[first]; !ok && !plan.Nodes.IsUnknown() {
			resp.Diagnostics.AddAttributeError(path.Root("first_node"), "First Node Not in Nodes",
				fmt.Sprintf("first_node %s is not a key of nodes", first))
			return
		}
	}
	if plan.FirstNode.IsUnknown() && req.State.Raw.IsNull() {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("first_node"), first)...)
	}
	var joining []string
	if req.State.Raw.IsNull() {
		for name := range nodes {
			if name != first {
				joining = append(joining, name)
			}
		}
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("id"), plan.Name)...)
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("cluster_id"), plan.Name)...)
	} else {
		var state clusterModel
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
		if resp.Diagnostics.HasError() {
			return
		}
		if !plan.Name.Equal(state.Name) {
			resp.Diagnostics.AddAttributeError(path.Root("name"), "Cluster Name Cannot Change",
				fmt.Sprintf("the cluster is called %s; PVE cannot rename a cluster", state.Name.ValueString()))
		}
		old := state.nodes(ctx, &resp.Diagnostics)
		if !plan.Nodes.IsUnknown() && !plan.RemoveNodes.IsUnknown() {
			for _, name := range sorted(removedNodes(old, nodes)) {
				if !plan.mayRemove(ctx, name) {
					resp.Diagnostics.AddAttributeError(path.Root("nodes"), "Node Removal Needs Opt-In",
						fmt.Sprintf("node %s is no longer in nodes, which would delete it from the cluster (delnode): PVE forgets it "+
							"for good and it needs a reinstall to join again. If that is intended, add %q to remove_nodes; "+
							"otherwise put it back in nodes.", name, name))
					continue
				}
				resp.Diagnostics.AddWarning("Node Will Be Removed From the Cluster",
					fmt.Sprintf("This apply deletes node %s from cluster %s (delnode) once the node is shut down. PVE forgets it "+
						"for good: to join again it needs a reinstall.", name, state.Name.ValueString()))
			}
		}
		for name, n := range nodes {
			o, member := old[name]
			if !member {
				joining = append(joining, name)
				continue
			}
			at := path.Root("nodes").AtMapKey(name)
			for _, f := range []struct {
				attr      string
				now, then attr.Value
			}{{"link0", n.Link0, o.Link0}, {"link1", n.Link1, o.Link1}, {"votes", n.Votes, o.Votes}} {
				if !f.now.IsUnknown() && !f.now.Equal(f.then) {
					resp.Diagnostics.AddAttributeError(at.AtName(f.attr), "Member Settings Cannot Change",
						fmt.Sprintf("node %s is a member: changing its %s means editing corosync.conf, which this provider does not do", name, f.attr))
				}
			}
		}
		if !plan.Nodes.Equal(state.Nodes) {
			for _, a := range []string{"config_version", "quorate", "expected_votes", "quorum"} {
				resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root(a), unknownOf(a))...)
			}
		}
	}
	if len(joining) > 0 && config.RootPassword.IsNull() && !config.RootPassword.IsUnknown() {
		resp.Diagnostics.AddAttributeError(path.Root("root_password"), "Root Password Needed",
			fmt.Sprintf("nodes %s join the cluster, which needs root@pam's password (root_password)", strings.Join(sorted(joining), ", ")))
		return
	}
	// Guests on a node that is to join: PVE refuses the join. Nodes that
	// cannot be reached yet (installed by this apply) are checked at apply.
	if config.RootPassword.IsUnknown() || config.RootPassword.IsNull() {
		return
	}
	for _, name := range sorted(joining) {
		n := nodes[name]
		if n.Endpoint.IsUnknown() || n.Endpoint.IsNull() {
			continue
		}
		c, err := r.data.NodeClient(ctx, n.Endpoint.ValueString(), n.TLSFingerprint.ValueString(), config.RootPassword.ValueString())
		if err != nil {
			continue
		}
		if guests := nodeGuests(ctx, c); len(guests) > 0 {
			resp.Diagnostics.AddAttributeError(path.Root("nodes").AtMapKey(name), "Node Hosts Guests",
				fmt.Sprintf("node %s hosts %s: PVE joins only nodes without guests; move or remove them first", name, strings.Join(guests, ", ")))
		}
	}
}

// settle replaces what is still unknown (a read that failed after a
// partial create) with null: the state must hold known values.
func (m *clusterModel) settle(ctx context.Context) {
	for _, v := range []*types.String{&m.ID, &m.FirstNode, &m.ClusterID} {
		if v.IsUnknown() {
			*v = types.StringNull()
		}
	}
	for _, v := range []*types.Int64{&m.ConfigVersion, &m.ExpectedVotes, &m.Quorum} {
		if v.IsUnknown() {
			*v = types.Int64Null()
		}
	}
	if m.Quorate.IsUnknown() {
		m.Quorate = types.BoolNull()
	}
	var diags diag.Diagnostics
	nodes := m.nodes(ctx, &diags)
	for name, n := range nodes {
		for _, v := range []*types.String{&n.Endpoint, &n.TLSFingerprint, &n.Link0, &n.Link1} {
			if v.IsUnknown() {
				*v = types.StringNull()
			}
		}
		for _, v := range []*types.Int64{&n.Votes, &n.NodeID} {
			if v.IsUnknown() {
				*v = types.Int64Null()
			}
		}
		nodes[name] = n
	}
	if len(nodes) > 0 {
		m.Nodes, _ = types.MapValueFrom(ctx, nodeType, nodes)
	}
}

func unknownOf(attribute string) attr.Value {
	switch attribute {
	case "quorate":
		return types.BoolUnknown()
	default:
		return types.Int64Unknown()
	}
}

// nodeGuests lists the guests of a standalone node ("VM 100", "CT 101").
func nodeGuests(ctx context.Context, c *pve.Client) []string {
	rs, err := c.ClusterResources(ctx, "vm")
	if err != nil {
		return nil
	}
	var out []string
	for _, g := range rs {
		kind := "VM"
		if g.Type == string(pve.LXC) {
			kind = "CT"
		}
		out = append(out, fmt.Sprintf("%s %d", kind, g.VMID))
	}
	sort.Strings(out)
	return out
}

func (r *clusterResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan, config clusterModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := plan.Timeouts.Create(ctx, defaultClusterTimeout)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	nodes := plan.nodes(ctx, &resp.Diagnostics)
	name := plan.Name.ValueString()
	first := plan.firstNode(nodes)
	password := config.RootPassword.ValueString()
	fail := func(format string, args ...any) {
		resp.Diagnostics.AddError("Unable to Create Cluster", fmt.Sprintf(format, args...))
	}
	if password == "" {
		fail("creating cluster %s needs root@pam's password (root_password)", name)
		return
	}
	fn := nodes[first]
	c, err := r.nodeClient(ctx, fn, password)
	if err != nil {
		fail("connecting to the first node %s: %s", first, err)
		return
	}
	st, err := c.ClusterStatus(ctx)
	if err != nil {
		fail("node %s: %s", first, err)
		return
	}
	toJoin := sorted(without(maps.Keys(nodes), first))
	switch st.Name {
	case "":
		if _, err := c.CreateCluster(ctx, name, links(fn), votes(fn)); err != nil {
			fail("on node %s: %s", first, err)
			return
		}
	case name:
		// Created by an earlier apply that failed later on, or left by a
		// destroy (PVE cannot dissolve a cluster): join the nodes that are
		// not members yet. A member is not connected to: its certificate
		// is the one the cluster's CA signed at its join, not the
		// fingerprint it was configured with as a standalone node.
		toJoin = slices.DeleteFunc(toJoin, func(n string) bool {
			return slices.ContainsFunc(st.Nodes, func(m pve.NodeMembership) bool { return m.Name == n })
		})
	default:
		fail("node %s is already in cluster %s", first, st.Name)
		return
	}
	plan.ID = types.StringValue(name)
	// The cluster exists from here on: it goes into the state even when a
	// join fails, so that the next apply joins the rest.
	r.joinNodes(ctx, c, first, nodes, toJoin, password, &resp.Diagnostics)
	r.readInto(ctx, c, &plan, "Create", &resp.Diagnostics)
	plan.settle(ctx)
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

// joinNodes joins the named nodes one after the other through member (a
// client of a node of the cluster) and returns those that joined.
func (r *clusterResource) joinNodes(ctx context.Context, member *pve.Client, memberName string, nodes map[string]nodeModel, names []string, password string, diags *diag.Diagnostics) []string {
	var joined []string
	for _, name := range names {
		n := nodes[name]
		info, err := member.ClusterJoinInfo(ctx, memberName)
		if err != nil {
			diags.AddError("Unable to Join Node", fmt.Sprintf("node %s: %s", name, err))
			return joined
		}
		var via *pve.ClusterNode
		for i := range info.Nodes {
			if info.Nodes[i].Name == info.PreferredNode || via == nil && info.Nodes[i].Name == memberName {
				via = &info.Nodes[i]
			}
		}
		if via == nil {
			via = &info.Nodes[0]
		}
		if n.Endpoint.IsNull() || n.Endpoint.IsUnknown() {
			diags.AddAttributeError(path.Root("nodes").AtMapKey(name).AtName("endpoint"), "Unable to Join Node",
				fmt.Sprintf("node %s joins through its own API: set its endpoint", name))
			return joined
		}
		c, err := r.nodeClient(ctx, n, password)
		if err != nil {
			diags.AddError("Unable to Join Node", fmt.Sprintf("connecting to node %s: %s", name, err))
			return joined
		}
		if st, err := c.ClusterStatus(ctx); err == nil && st.Name != "" {
			if st.Name == info.ClusterName() {
				joined = append(joined, name) // joined by an earlier, interrupted apply
				continue
			}
			diags.AddError("Unable to Join Node", fmt.Sprintf("node %s is already in cluster %s", name, st.Name))
			return joined
		}
		if guests := nodeGuests(ctx, c); len(guests) > 0 {
			diags.AddAttributeError(path.Root("nodes").AtMapKey(name), "Node Hosts Guests",
				fmt.Sprintf("node %s hosts %s: PVE joins only nodes without guests; move or remove them first", name, strings.Join(guests, ", ")))
			return joined
		}
		_, err = c.JoinCluster(ctx, pve.JoinRequest{Hostname: via.PVEAddr, Fingerprint: via.Fingerprint, Password: password,
			Links: links(n), Votes: votes(n), Node: name}, member)
		if err != nil {
			diags.AddError("Unable to Join Node", fmt.Sprintf("node %s: %s", name, err))
			return joined
		}
		joined = append(joined, name)
		// The join is done when the cluster reports the node online, which
		// takes its first pvestatd broadcast (up to 10 s): until then
		// /nodes says "unknown", and what reads it right after the apply
		// (pve_nodes) would change at the next refresh.
		if err := member.WaitNodeOnline(ctx, name); err != nil {
			diags.AddError("Unable to Join Node", fmt.Sprintf("node %s joined but: %s", name, err))
			return joined
		}
	}
	return joined
}

// nodeClient connects to a node's own API, waiting while it cannot be
// reached: in a bare-metal apply the node may still be booting the
// installer or PVE (bounded by the create or update timeout).
func (r *clusterResource) nodeClient(ctx context.Context, n nodeModel, password string) (*pve.Client, error) {
	delay := time.Second
	for {
		c, err := r.data.NodeClient(ctx, n.Endpoint.ValueString(), n.TLSFingerprint.ValueString(), password)
		if err == nil || !(pve.IsUnreachable(err) || errors.Is(err, pve.ErrTransient)) {
			return c, err
		}
		tflog.Info(ctx, "node not reachable yet; waiting", map[string]any{"endpoint": n.Endpoint.ValueString(), "error": err.Error()})
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (still unreachable when the timeout ran out)", err)
		case <-time.After(delay):
		}
		if delay < 10*time.Second {
			delay *= 2
		}
	}
}

func links(n nodeModel) pve.ClusterLinks {
	l := pve.ClusterLinks{}
	if v := n.Link0; !v.IsNull() && !v.IsUnknown() {
		l[0] = v.ValueString()
	}
	if v := n.Link1; !v.IsNull() && !v.IsUnknown() {
		l[1] = v.ValueString()
	}
	return l
}

func votes(n nodeModel) int {
	if n.Votes.IsNull() || n.Votes.IsUnknown() {
		return 0
	}
	return int(n.Votes.ValueInt64())
}

// readInto reads the cluster through c (a member) into m. Settings PVE does
// not keep (endpoints) stay as m has them, or are derived for members that
// m does not know.
func (r *clusterResource) readInto(ctx context.Context, c *pve.Client, m *clusterModel, action string, diags *diag.Diagnostics) {
	if err := r.read(ctx, c, m); err != nil {
		diags.AddError("Unable to "+action+" Cluster", err.Error())
	}
}

func (r *clusterResource) read(ctx context.Context, c *pve.Client, m *clusterModel) error {
	st, err := c.ClusterStatus(ctx)
	if err != nil {
		return err
	}
	if st.Name == "" {
		return fmt.Errorf("cluster %s: the node is not in a cluster: %w", m.Name.ValueString(), pve.ErrNotFound)
	}
	if want := m.Name.ValueString(); want != "" && st.Name != want {
		return fmt.Errorf("the node is in cluster %s, not %s: %w", st.Name, want, pve.ErrNotFound)
	}
	info, err := c.ClusterJoinInfo(ctx, "")
	if err != nil {
		return err
	}
	var prior map[string]nodeModel
	var diags diag.Diagnostics
	prior = m.nodes(ctx, &diags)
	port := r.endpointPort()
	out := map[string]nodeModel{}
	expected := 0
	for _, n := range info.Nodes {
		p, known := prior[n.Name]
		e := nodeModel{
			Endpoint:       types.StringValue("https://" + hostPort(n.PVEAddr, port)),
			TLSFingerprint: types.StringValue(n.Fingerprint),
			Link0:          types.StringValue(n.Ring0Addr),
			Link1:          types.StringNull(),
			Votes:          types.Int64Value(int64(n.Votes)),
			NodeID:         types.Int64Value(int64(n.NodeID)),
		}
		if n.Ring1Addr != "" {
			e.Link1 = types.StringValue(n.Ring1Addr)
		}
		if known {
			if known := p.Endpoint; !known.IsNull() && !known.IsUnknown() {
				e.Endpoint = known
			}
			// What the configuration pins is the certificate to trust
			// before the join: a joining node gets a new one, signed by the
			// cluster's CA. It is kept as configured.
			if v := p.TLSFingerprint; !v.IsNull() && !v.IsUnknown() {
				e.TLSFingerprint = v
			}
			if v := p.Link0; !v.IsNull() && !v.IsUnknown() && linkAddress(v.ValueString()) == linkAddress(n.Ring0Addr) {
				e.Link0 = v
			}
		}
		expected += int(n.Votes)
		out[n.Name] = e
	}
	nodes, d := types.MapValueFrom(ctx, nodeType, out)
	if d.HasError() {
		return fmt.Errorf("nodes: %v", d)
	}
	m.Nodes = nodes
	m.ID = types.StringValue(st.Name)
	m.Name = types.StringValue(st.Name)
	m.ClusterID = types.StringValue(st.Name)
	if m.FirstNode.IsNull() || m.FirstNode.IsUnknown() {
		// The node that created the cluster has node ID 1.
		for _, n := range info.Nodes {
			if n.NodeID == 1 {
				m.FirstNode = types.StringValue(n.Name)
			}
		}
	}
	version := st.Version
	if version == 0 {
		version = info.ConfigVersion()
	}
	m.ConfigVersion = types.Int64Value(int64(version))
	m.Quorate = types.BoolValue(st.Quorate)
	m.ExpectedVotes = types.Int64Value(int64(expected))
	m.Quorum = types.Int64Value(int64(expected/2 + 1))
	return nil
}

// endpointPort is the port of the provider's endpoint: the port a node's
// API is assumed on when only its address is known.
func (r *clusterResource) endpointPort() string {
	if r.data != nil && r.data.PVEConfig != nil {
		if u, err := url.Parse(r.data.PVEConfig.Endpoint); err == nil && u.Port() != "" {
			return u.Port()
		}
	}
	return "8006"
}

func hostPort(host, port string) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + port
	}
	return host + ":" + port
}

// linkAddress is a link's address without its options.
func linkAddress(s string) string {
	s = strings.TrimPrefix(s, "address=")
	addr, _, _ := strings.Cut(s, ",")
	return addr
}

func (r *clusterResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state clusterModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	c := r.data.PVEClient(ctx, "Unable to Read Cluster", &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	if err := r.read(ctx, c, &state); err != nil {
		if errors.Is(err, pve.ErrNotFound) {
			resp.State.RemoveResource(ctx)
			return
		}
		resp.Diagnostics.AddError("Unable to Read Cluster", err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}

func (r *clusterResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state, config clusterModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	c := r.data.PVEClient(ctx, "Unable to Update Cluster", &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := plan.Timeouts.Update(ctx, defaultClusterTimeout)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	planNodes, stateNodes := plan.nodes(ctx, &resp.Diagnostics), state.nodes(ctx, &resp.Diagnostics)
	var adding, removing []string
	for name := range planNodes {
		if _, ok := stateNodes[name]; !ok {
			adding = append(adding, name)
		}
	}
	removing = removedNodes(stateNodes, planNodes)
	for _, name := range removing {
		if !plan.mayRemove(ctx, name) { // the plan was checked; this guards a plan made otherwise
			resp.Diagnostics.AddAttributeError(path.Root("remove_nodes"), "Node Removal Needs Opt-In",
				fmt.Sprintf("node %s is not in remove_nodes: it is not removed", name))
			return
		}
	}
	if len(removing) > 0 {
		st, err := c.ClusterStatus(ctx)
		if err != nil {
			resp.Diagnostics.AddError("Unable to Update Cluster", err.Error())
			return
		}
		for _, name := range sorted(removing) {
			for _, n := range st.Nodes {
				if n.Name == name && bool(n.Local) {
					resp.Diagnostics.AddError("Unable to Remove Node",
						fmt.Sprintf("node %s is the node the provider talks to: point the provider at another member first", name))
					return
				}
				if n.Name == name && bool(n.Online) {
					resp.Diagnostics.AddError("Unable to Remove Node",
						fmt.Sprintf("node %s is still online: shut it down first (PVE removes only nodes that are offline, and a removed node must not come back as it is)", name))
					return
				}
			}
			if err := c.DeleteClusterNode(ctx, name); err != nil {
				resp.Diagnostics.AddError("Unable to Remove Node", err.Error())
				return
			}
		}
	}
	if len(adding) > 0 {
		password := config.RootPassword.ValueString()
		if password == "" {
			resp.Diagnostics.AddAttributeError(path.Root("root_password"), "Root Password Needed",
				fmt.Sprintf("nodes %s join the cluster, which needs root@pam's password", strings.Join(sorted(adding), ", ")))
			return
		}
		r.joinNodes(ctx, c, localName(ctx, c), planNodes, sorted(adding), password, &resp.Diagnostics)
	}
	plan.FirstNode = state.FirstNode
	r.readInto(ctx, c, &plan, "Update", &resp.Diagnostics)
	plan.settle(ctx)
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

// localName is the name of the node c talks to.
func localName(ctx context.Context, c *pve.Client) string {
	st, err := c.ClusterStatus(ctx)
	if err != nil {
		return ""
	}
	for _, n := range st.Nodes {
		if n.Local {
			return n.Name
		}
	}
	return ""
}

// Delete forgets the cluster (ModifyPlan refused it without allow_destroy):
// PVE has no way to dissolve one.
func (r *clusterResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state clusterModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if !state.AllowDestroy.ValueBool() {
		resp.Diagnostics.AddError("Cluster Destroy Refused", "allow_destroy is not set")
		return
	}
	resp.Diagnostics.AddWarning("Cluster Left As It Is",
		fmt.Sprintf("cluster %s was removed from the state; its nodes are still a cluster (PVE cannot dissolve one through its API)", state.Name.ValueString()))
}

func (r *clusterResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if !clusterNameRE.MatchString(req.ID) {
		resp.Diagnostics.AddError("Invalid Import ID", fmt.Sprintf("expected the cluster name, got %q", req.ID))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("nodes"), types.MapNull(nodeType))...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("allow_destroy"), false)...)
}

func without(keys iter.Seq[string], drop string) []string {
	var out []string
	for k := range keys {
		if k != drop {
			out = append(out, k)
		}
	}
	return out
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// removedNodes returns the nodes of old that nodes no longer has.
func removedNodes[V any](old, nodes map[string]V) []string {
	var out []string
	for name := range old {
		if _, ok := nodes[name]; !ok {
			out = append(out, name)
		}
	}
	return out
}

// mayRemove reports whether remove_nodes names node.
func (m *clusterModel) mayRemove(ctx context.Context, node string) bool {
	var names []string
	if m.RemoveNodes.IsNull() || m.RemoveNodes.IsUnknown() {
		return false
	}
	m.RemoveNodes.ElementsAs(ctx, &names, false)
	return slices.Contains(names, node)
}
