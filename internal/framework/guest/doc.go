// Package guest is what pve_vm and pve_container share: one life cycle of
// a PVE guest (create, clone, converge, run state, delete, import) and the
// guest list data sources (pve_vms, pve_containers).
//
// Each resource computes its own change, from its model and the guest's
// current configuration (a Change: the configuration keys and devices that
// differ, the volumes that grow, the pool, the node, the run state); the
// code here runs it, for both kinds, in one order. The kind of guest
// (pve.QEMU or pve.LXC) picks the API paths and the words of the messages.
// The model is the tls provider's common_cert.go, which its two
// certificate resources share.
//
// # The order of a change
//
// Converge brings an existing guest (after an update's plan, or a fresh
// clone) to its plan in this order, the same for VMs and containers
// (ConvergeOrder):
//
//  1. Find the guest (the node it is on now) and whether HA manages it.
//  2. Network settle, then configuration: the bridges this run staged on
//     the node that the change's NICs use are brought live (a running
//     guest hot-plugs its NICs into them), then every configuration key
//     and device that changes goes in one change guarded by the digest of
//     the configuration just read. It comes first: it is guarded by that
//     digest (every later step changes the configuration, and so the
//     digest), and it is what can let a migration go ahead (ejecting a
//     local ISO, removing a local device).
//  3. Pool (pve-manager's update_pool, PUT /pools with allow-move). Like
//     the configuration it is part of the guest's definition, written at
//     once (user.cfg) with no task and no lock on the guest; PVE's own
//     create does the same, adding the guest to its pool in the create
//     worker right after writing its configuration, before any start
//     (qemu-server's and pve-container's create_vm: write_config, then
//     add_vm_to_pool). The definition is done first, then the work on
//     storage and placement, which takes tasks and locks and is what
//     fails (a full storage, a backup holding the lock): such a failure
//     leaves the whole definition applied and only that work to retry.
//     pve_container used to change the pool after the resize, pve_vm
//     before it; pve_vm's order is kept for both.
//  4. Volumes grow (qemu-server's resize_vm, pve-container's
//     resize_vm), on the node the guest is on now, sorted by slot. Moving a
//     volume to another storage is refused at plan time by both
//     resources, so there is no move step.
//  5. Migration, when the node changes: after the steps done in place, so
//     that those go to the node the guest was found on. A guest HA manages
//     is migrated through HA (and not moved back after a failover).
//  6. Run state: the guest is started (bringing this run's staged bridges
//     live first) or shut down, last, so that a start runs the whole new
//     configuration on the guest's final node. A guest HA manages is left
//     to HA (ha.go).
//  7. Pending changes of a guest that runs: changes that wait for its next
//     start are named in a warning, or, where the resource offers it
//     (pve_vm's reboot_on_change), applied by a reboot.
//
// A step that fails stops the change: the ones after it are not tried.
//
// # Create and clone
//
// Create sends one create with the resource's parameters (a new VM ID is
// allocated when none is planned), after bringing live the bridges its NICs
// use, then starts the guest separately when it is to run: a guest that
// cannot start is then an error that says why, not a create task that ends
// with a warning. Clone clones the source from the node it is on, then the
// resource converges the clone as an update would, from what the clone
// brought. Once PVE has accepted a create or a clone (a task came back),
// the new guest's ID is in the state even when the task fails or its wait
// times out (SaveAcceptedCreate): a tainted resource, not an orphan.
//
// # Delete
//
// Delete refuses a protected guest before touching it, shuts a running
// guest down gracefully (stopping it after a timeout), then deletes it,
// removing unreferenced volumes only as destroy_unreferenced_disks says.
package guest
