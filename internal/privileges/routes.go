// Package privileges knows which API routes each provider type calls, and
// renders from the official API schemas' `permissions` the privileges those
// routes check: the table in docs/guides/privileges.md (generated, see gen/).
//
// The route lists are kept here, by hand, next to the client code they
// describe. Two checks keep them honest:
//   - every route listed exists in the API schema of every supported release
//     (TestRoutesExist, against the lab's committed copy of the schemas);
//   - every request the simulated lab served during a package's acceptance
//     tests is listed for some type (acctest.Run compares the lab's request
//     log with Known after the tests; the few set-up calls the tests make
//     themselves are listed there), so a new client call without a line here
//     fails the acceptance tests that exercise it.
package privileges

import "sort"

// Backend is the API a route belongs to.
type Backend string

// Backends with permission-checked routes.
const (
	PVE Backend = "PVE"
	PBS Backend = "PBS"
)

// Route is one API call: a method and a path template as the official
// schema writes it ("/nodes/{node}/qemu/{vmid}/config").
type Route struct {
	Method string
	Path   string
}

// Key is the route as the lab's request log writes it ("GET /version").
func (r Route) Key() string { return r.Method + " " + r.Path }

// Type is a provider type and the routes it calls.
type Type struct {
	Name    string  // pve_vm, pve_pbs_datastore, ...
	Kind    Kind    // resource or data source
	Backend Backend // the API it calls
	Routes  []Route
	// Note says whose credentials the routes are called with when they
	// are not the provider's.
	Note string
}

// Kind is a type's kind; pve_vm is both a resource and a data source.
type Kind string

// Kinds of types.
const (
	Resource   Kind = "resource"
	DataSource Kind = "data source"
)

func get(p string) Route  { return Route{"GET", p} }
func post(p string) Route { return Route{"POST", p} }
func put(p string) Route  { return Route{"PUT", p} }
func del(p string) Route  { return Route{"DELETE", p} }

// Connect are the routes the provider calls when it connects, before any
// type: the version (API token, pve.New) or the login (password,
// ticketAuth.login). POST /access/ticket checks the password itself.
var Connect = map[Backend][]Route{
	PVE: {get("/version"), post("/access/ticket")},
	PBS: {get("/version"), post("/access/ticket")},
}

// Task routes: every type that starts a task waits on it (pve.Client.WaitTask,
// pbs.Client.WaitTask) and reads its log when it fails.
var (
	pveTask = []Route{get("/nodes/{node}/tasks/{upid}/status"), get("/nodes/{node}/tasks/{upid}/log")}
	pbsTask = []Route{get("/nodes/{node}/tasks/{upid}/status"), get("/nodes/{node}/tasks/{upid}/log")}
)

// guestRoutes are what pve_vm and pve_container share
// (internal/framework/guests.go, guest_ha.go; internal/pve/qemu.go,
// guest_write.go, guest.go). kind is "qemu" or "lxc".
func guestRoutes(kind string) []Route {
	g := "/nodes/{node}/" + kind + "/{vmid}"
	return concat(pveTask, []Route{
		get("/cluster/resources"),         // FindGuest
		get("/cluster/nextid"),            // CreateWithNewVMID
		post("/nodes/{node}/" + kind),     // CreateGuest
		post(g + "/clone"),                // CloneGuest (on the source)
		get(g + "/config"),                // GuestConfig
		put(g + "/config"),                // UpdateGuestConfig (lxc; qemu's synchronous form)
		get(g + "/pending"),               // GuestPending
		get(g + "/status/current"),        // GuestCurrentStatus
		post(g + "/status/start"),         // GuestAction
		post(g + "/status/shutdown"),      // GuestAction
		put(g + "/resize"),                // ResizeGuestDisk
		post(g + "/migrate"),              // MigrateGuest
		del(g),                            // DeleteGuest
		get("/nodes/{node}/tasks"),        // UpdateGuestConfig: the task a lost answer started
		get("/storage/{storage}"),         // StorageType
		put("/pools"),                     // SetGuestPool
		get("/cluster/ha/resources"),      // GuestHAManaged
		get("/cluster/ha/status/current"), // WaitHAMigration
	})
}

// networkRoutes are the interface types' (internal/service/network,
// internal/pve/network.go, netreload.go).
var networkRoutes = concat(pveTask, []Route{
	get("/nodes/{node}/network"),         // NetworkConfig
	post("/nodes/{node}/network"),        // CreateNetworkInterface
	put("/nodes/{node}/network/{iface}"), // UpdateNetworkInterface
	del("/nodes/{node}/network/{iface}"), // DeleteNetworkInterface
	put("/nodes/{node}/network"),         // ReloadNetwork
	del("/nodes/{node}/network"),         // RevertNetwork
	get("/cluster/status"),               // ManagementAddresses
})

// haRoutes: kind is the path segment, param its ID's name in the schema.
func haRoutes(kind string) []Route {
	param := map[string]string{"groups": "{group}", "resources": "{sid}", "rules": "{rule}"}[kind]
	return []Route{
		get("/version"), // MajorVersion
		get("/cluster/ha/" + kind),
		post("/cluster/ha/" + kind),
		get("/cluster/ha/" + kind + "/" + param),
		put("/cluster/ha/" + kind + "/" + param),
		del("/cluster/ha/" + kind + "/" + param),
	}
}

func mappingRoutes(kind string) []Route {
	return []Route{
		get("/cluster/mapping/" + kind), // CheckMapping (check-node), GetMappingShared
		post("/cluster/mapping/" + kind),
		get("/cluster/mapping/" + kind + "/{id}"),
		put("/cluster/mapping/" + kind + "/{id}"),
		del("/cluster/mapping/" + kind + "/{id}"),
		get("/cluster/resources"),               // the guests that use a mapping
		get("/nodes/{node}/qemu/{vmid}/config"), // ... and their configuration
		get("/nodes"),
	}
}

// cephPoolRoutes are PVE's Ceph pool API, which pve_ceph_pool uses unless
// the provider has a ceph {} block in the librados build.
var cephPoolRoutes = []Route{
	get("/nodes"), // a node to ask
	get("/version"),
	get("/nodes/{node}/ceph/pool"),
	post("/nodes/{node}/ceph/pool"),
	get("/nodes/{node}/ceph/pool/{name}"),
	put("/nodes/{node}/ceph/pool/{name}"),
	del("/nodes/{node}/ceph/pool/{name}"),
	get("/nodes/{node}/ceph/pool/{name}/status"),
	get("/nodes/{node}/tasks/{upid}/status"),
	get("/nodes/{node}/tasks/{upid}/log"),
}

// Types lists every provider type that calls PVE or PBS, with its routes.
// The BMC types (Redfish) and the librados-only Ceph types
// (pve_ceph_crush_rule, pve_ceph_erasure_code_profile) have none.
var Types = []Type{
	{Name: "pve_cluster", Kind: Resource, Backend: PVE, Routes: concat(pveTask, []Route{
		get("/cluster/status"), get("/cluster/resources"), get("/nodes"),
		get("/cluster/config/join"), post("/cluster/config"), post("/cluster/config/join"),
		del("/cluster/config/nodes/{node}"),
	})},
	{Name: "pve_cluster_options", Kind: Resource, Backend: PVE, Routes: []Route{get("/cluster/options"), put("/cluster/options")}},
	{Name: "pve_cluster_status", Kind: DataSource, Backend: PVE, Routes: []Route{get("/cluster/status"), get("/cluster/config/join"), get("/cluster/config/qdevice")}},
	{Name: "pve_ha_group", Kind: Resource, Backend: PVE, Routes: haRoutes("groups")},
	{Name: "pve_ha_resource", Kind: Resource, Backend: PVE, Routes: append(haRoutes("resources"), get("/cluster/ha/status/current"))},
	{Name: "pve_ha_rule", Kind: Resource, Backend: PVE, Routes: haRoutes("rules")},
	{Name: "pve_vm", Kind: Resource, Backend: PVE, Routes: append(guestRoutes("qemu"), post("/nodes/{node}/qemu/{vmid}/config"), post("/nodes/{node}/qemu/{vmid}/status/reboot"))},
	{Name: "pve_vm", Kind: DataSource, Backend: PVE, Routes: []Route{get("/cluster/resources"), get("/nodes/{node}/qemu/{vmid}/status/current"), get("/nodes/{node}/qemu/{vmid}/config")}},
	{Name: "pve_vms", Kind: DataSource, Backend: PVE, Routes: []Route{get("/cluster/resources"), get("/nodes/{node}/qemu")}},
	{Name: "pve_container", Kind: Resource, Backend: PVE, Routes: append(guestRoutes("lxc"), post("/nodes/{node}/lxc/{vmid}/status/reboot"))},
	{Name: "pve_container", Kind: DataSource, Backend: PVE, Routes: []Route{get("/cluster/resources"), get("/nodes/{node}/lxc/{vmid}/status/current"), get("/nodes/{node}/lxc/{vmid}/config")}},
	{Name: "pve_containers", Kind: DataSource, Backend: PVE, Routes: []Route{get("/cluster/resources"), get("/nodes/{node}/lxc")}},
	{Name: "pve_pool", Kind: Resource, Backend: PVE, Routes: []Route{get("/pools"), post("/pools"), put("/pools"), del("/pools")}},
	{Name: "pve_mapping_pci", Kind: Resource, Backend: PVE, Routes: append(mappingRoutes("pci"), get("/nodes/{node}/hardware/pci"))},
	{Name: "pve_mapping_usb", Kind: Resource, Backend: PVE, Routes: mappingRoutes("usb")},
	{Name: "pve_node_pci_devices", Kind: DataSource, Backend: PVE, Routes: []Route{get("/nodes/{node}/hardware/pci")}},
	{Name: "pve_network_bridge", Kind: Resource, Backend: PVE, Routes: networkRoutes},
	{Name: "pve_network_bond", Kind: Resource, Backend: PVE, Routes: networkRoutes},
	{Name: "pve_network_vlan", Kind: Resource, Backend: PVE, Routes: networkRoutes},
	{Name: "pve_network_interfaces", Kind: DataSource, Backend: PVE, Routes: []Route{get("/nodes/{node}/network")}},
	{Name: "pve_node", Kind: DataSource, Backend: PVE, Routes: []Route{get("/nodes/{node}/status")}},
	{Name: "pve_nodes", Kind: DataSource, Backend: PVE, Routes: []Route{get("/nodes")}},
	{Name: "pve_version", Kind: DataSource, Backend: PVE, Routes: []Route{get("/version")}},
	{Name: "pve_storage_pbs", Kind: Resource, Backend: PVE, Routes: []Route{post("/storage"), get("/storage/{storage}"), put("/storage/{storage}"), del("/storage/{storage}")}},
	{Name: "pve_storage_content", Kind: DataSource, Backend: PVE, Routes: []Route{get("/nodes/{node}/storage/{storage}/content")}},
	{Name: "pve_download_file", Kind: Resource, Backend: PVE, Routes: concat(pveTask, []Route{
		post("/nodes/{node}/storage/{storage}/download-url"),
		get("/nodes/{node}/storage/{storage}/content/{volume}"),
		del("/nodes/{node}/storage/{storage}/content/{volume}"),
		del("/nodes/{node}/tasks/{upid}"), // StopTask
	})},
	{Name: "pve_ceph_pool", Kind: Resource, Backend: PVE, Routes: cephPoolRoutes},
	{Name: "pve_ceph_pools", Kind: DataSource, Backend: PVE, Routes: []Route{get("/nodes"), get("/nodes/{node}/ceph/pool")}},
	{Name: "pve_ceph_status", Kind: DataSource, Backend: PVE, Routes: []Route{get("/nodes"), get("/cluster/ceph/status")}},
	{Name: "pve_storage_pbs", Kind: Resource, Backend: PBS, Routes: []Route{
		post("/access/ticket"),
		get("/admin/datastore"),
		get("/admin/datastore/{store}/status"),
		get("/admin/datastore/{store}/snapshots"),
	}, Note: "PVE calls these itself (pve-storage's PBSPlugin: activate_storage, status, list_volumes), as the " +
		"`username` given to the storage, not with the provider's credentials: that PBS user needs them."},
	{Name: "pve_pbs_datastore", Kind: Resource, Backend: PBS, Routes: concat(pbsTask, []Route{
		get("/config/datastore"), post("/config/datastore"),
		get("/config/datastore/{name}"), put("/config/datastore/{name}"), del("/config/datastore/{name}"),
		get("/nodes/{node}/tasks"), // a create whose answer was lost: its worker
	})},
	{Name: "pve_pbs_namespace", Kind: Resource, Backend: PBS, Routes: []Route{
		get("/admin/datastore/{store}/namespace"), post("/admin/datastore/{store}/namespace"), del("/admin/datastore/{store}/namespace"),
	}},
	{Name: "pve_pbs_prune_job", Kind: Resource, Backend: PBS, Routes: []Route{
		get("/config/prune"), post("/config/prune"),
		get("/config/prune/{id}"), put("/config/prune/{id}"), del("/config/prune/{id}"),
	}},
}

// CodeChecked are privileges no route's `check` names but that PVE's code
// checks for what the provider sends, as the schema's text says: creating
// or cloning a guest with disks needs Datastore.AllocateSpace on their
// storage (qemu-server's and pve-container's create/clone), and a network
// device needs SDN.Use on its bridge (PVE 8 and later), and GET /pools
// lists only the pools the user has Pool.Audit on (pve_pool reads its pool
// through it). The role of the generated pveum commands includes them.
var CodeChecked = []string{"Datastore.AllocateSpace", "Pool.Audit", "SDN.Use"}

// Known returns every route listed for backend b (its types' and its
// connection's), by Key.
func Known(b Backend) map[string]bool {
	out := map[string]bool{}
	for _, r := range Connect[b] {
		out[r.Key()] = true
	}
	for _, t := range Types {
		if t.Backend != b {
			continue
		}
		for _, r := range t.Routes {
			out[r.Key()] = true
		}
	}
	return out
}

// Unlisted returns, sorted, the keys of served ("METHOD /template", the
// lab's request log) that Known(b) lacks.
func Unlisted(b Backend, served map[string]int) []string {
	known := Known(b)
	var out []string
	for k := range served {
		if !known[k] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func concat(lists ...[]Route) []Route {
	var out []Route
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}
