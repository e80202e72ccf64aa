// Package pbssim is a simulated Proxmox Backup Server 4 (proxmox-backup-proxy
// and proxmox-backup-api behind it): one HTTPS listener serving /api2/json
// with PBS's request pipeline (proxmox-rest-server), authentication
// (proxmox-auth-api), parameter checks (proxmox-schema, against the
// official apidoc when it is available), error answers, worker tasks and
// the configuration files it manages (datastore.cfg, prune.cfg, user.cfg
// with its tokens), plus the directories of the datastores: a chunk store
// outlives its datastore unless it is removed with destroy-data.
//
// Start runs one on an HTTPS port of its own (server.go): datastores
// (created and removed by worker tasks, their chunk stores kept unless
// destroyed), prune jobs, namespaces, tickets and API tokens, checked
// against the PBS apidoc like the PVE schema: the whole official file when
// it is beside the repository, else the lab's copy of the part it serves
// (package labdata). Given Options.CA (a PVE lab's CA, pvesim's PVE.CA),
// that CA signs its certificate, so that one CA covers the whole lab. A
// PVE lab's pbs storages connect to it as PVE does (pvesim's
// storage_pbs.go).
//
// The lab has one user, root@pam, and every authenticated ID (the user, its
// tickets and its API tokens) has every privilege: ACLs are not modelled,
// so a new token works as if it had the Admin role on /.
//
// Sources: proxmox-backup (src/api2/config/datastore.rs, prune.rs,
// src/api2/admin/namespace.rs, src/api2/node/tasks.rs, src/api2/access/
// user.rs, pbs-datastore), proxmox-rs (proxmox-rest-server rest.rs,
// formatter.rs, worker_task.rs; proxmox-auth-api; proxmox-schema;
// proxmox-section-config; proxmox-time; pbs-api-types). Texts that are not
// from these sources are marked "guessed".
package pbssim
