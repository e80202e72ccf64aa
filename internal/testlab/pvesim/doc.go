// Package pvesim simulates Proxmox VE nodes (Start): a cluster, or
// standalone hosts, serving the PVE API on loopback. Package testlab runs
// it with the rest of the lab (the nodes' BMCs, a PBS, Ceph).
//
// The simulator models the behaviour of the real servers, not the needs of
// one client: the same paths, parameter checks, error texts, status codes,
// envelopes and task life cycle, so that any client of the real API (the
// provider's own client, go-proxmox, curl) works against it unchanged.
// Every request is checked against the official API schema, exactly as
// pveproxy/pvedaemon check it: the whole official file when it is beside the
// repository, else the lab's copy of the part it serves (package labdata).
//
// Every simulated node serves the API on its own HTTPS port with its own
// certificate (NodeEndpoint, NodeFingerprint), signed by the lab's CA
// (CACertPEM, CA). The nodes start as the cluster "pvelab" or, with
// Options.Standalone, as separate hosts that form clusters through the
// API as real ones do (POST /cluster/config, POST /cluster/config/join). In
// a cluster every member answers for the whole cluster. Nodes can be powered
// off and on (StopNode, StartNode); a cluster without a majority of votes
// loses quorum and refuses writes as PVE does. Every node runs on a machine
// of its own (package machine, PVE.Machine): the one its BMC (package
// bmcsim, wired by package testlab) manages.
//
// Every node of a lab runs the same PVE release (Options.Version), with
// its API schema. What /etc/pve holds (guests, pools, datacenter.cfg, the
// HA configuration, ...) belongs to a cluster, or to a standalone host: a
// node that joins a cluster sees the cluster's.
//
// A lab's storage.cfg (per cluster, or per standalone host) holds storages
// of the types dir, lvmthin and pbs; adding a pbs storage connects to its
// server (e.g. a pbssim.Server given the lab's CA) as PVE does, checking
// the certificate's fingerprint and logging in.
//
// Ceph is not simulated: the nodes' Ceph API (/nodes/{node}/ceph/pool,
// /nodes/{node}/ceph/rules) acts on the real cluster given as Options.Ceph
// (cephlab.Start).
//
// Files are named by area: the lab's machines and states (lab.go, pve.go),
// the request path (router.go, dispatch.go, params.go, auth.go, tasks.go),
// and the API by area prefix: cluster_*, ha_*, qemu_*, lxc_*, storage_*,
// ceph_*, network, pools, mapping, options.
//
// # What PVE reports late
//
// A guest's status, name, template flag, uptime and usage in
// /cluster/resources (and among a pool's members) are what its node's
// pvestatd last broadcast, every Options.StatdInterval (PVE: 10 s):
// "unknown" and without a name before the first broadcast (statd.go). The
// nodes' guest lists and a guest's status/current are live, as in PVE. A
// node's status and statistics in /nodes and /cluster/resources, and its
// storages' usage, come from the same broadcasts: a node that has just
// joined is "unknown", a storage just added is "unknown", until the next.
//
// # What PVE loses
//
// A network reload that leaves no interface up with a node's management
// address takes the node off the network: its endpoint refuses
// connections, calls forwarded to it answer 595 and it leaves the
// membership, until an administrator at the console restores the address
// (ConsoleWriteInterfaces) or it boots with a configuration that has it.
// Edits staged and never reloaded go live at the next boot, as
// pvenetcommit.service does (network_mgmt.go).
//
// # What takes PVE time
//
// Guest workers run as long as their work: disks allocated, data copied by
// full clones and migrations, a drive-mirror round of at least a second
// per disk of a running VM (tasks_timing.go), at Options.TaskSpeed. They
// hold their config flocks for their whole run, with PVE's timeouts (1 s
// for a clone's source, 10 s for lock_config); config updates wait for the
// flock in the API call. Protected methods run in 3 pvedaemon workers per
// node, and a call pveproxy proxies answers 596 "Connection timed out"
// after Options.ProxyTimeout (PVE: 30 s) while it goes on
// (dispatch_daemon.go). Scheduled backups hold "lock: backup" (RunBackupJob).
//
// HA acts in rounds of its CRM master and of every node's LRM, every
// Options.HARound (PVE: 10 s): a requested state becomes the service state
// at the master's next round and the guest changes when its node's LRM
// runs; starting, stopping or migrating an HA-managed guest through the
// guest API only asks HA (ha_manager.go, ha_lrm.go).
//
// # Upstream bugs the lab models
//
// A client meets the bugs of the release it talks to, so the lab has them
// too, for the releases it models (version.go), each with its fix:
//
//   - getpool (GET /nodes/{node}/ceph/pool/{name}/status?verbose=1) answers
//     the statistics of the last pool in "ceph df", not of {name}: the filter
//     in PVE/API2/Ceph/Pool.pm never skips a named pool. In PVE 6.4 to
//     9.1.11 and every 8.4.x; fixed by pve-manager b0f4269e (9.1.12).
//     The pool list maps "ceph df" by pool ID and is right (ceph_pool.go).
package pvesim
