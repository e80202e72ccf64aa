// Package testlab runs the servers this project's tests talk to: simulated
// Proxmox VE nodes (StartPVE) with their BMCs (Redfish), a real Ceph
// cluster (cephlab.Start) and a simulated Proxmox Backup Server
// (pbssim.Start).
//
// The simulators model the behaviour of the real servers, not the needs of one
// client: the same paths, parameter checks, error texts, status codes,
// envelopes and task life cycle, so that any client of the real API (the
// provider's own client, go-proxmox, curl) works against them unchanged.
// Every request is checked against the official API schema, exactly as
// pveproxy/pvedaemon check it: the whole official file when it is beside the
// repository, else the lab's copy of the part it serves (package labdata,
// which also holds the Redfish mockup the BMCs answer from).
//
// Every simulated node serves the API on its own HTTPS port with its own
// certificate (NodeEndpoint, NodeFingerprint), signed by the lab's CA
// (CACertPEM). The nodes start as the cluster "pvelab" or, with
// PVEOptions.Standalone, as separate hosts that form clusters through the
// API as real ones do (POST /cluster/config, POST /cluster/config/join). In
// a cluster every member answers for the whole cluster. Nodes can be powered
// off and on (StopNode, StartNode); a cluster without a majority of votes
// loses quorum and refuses writes as PVE does.
//
// Every node has a BMC (PVE.BMC, BMCEndpoint, BMCUsername, BMCPassword;
// package bmcsim), with a certificate signed by the same CA. Its power
// drives its node: powering the system off stops the node, powering it on
// boots it (bmc.go wires them).
//
// Every node of a lab runs the same PVE release (PVEOptions.Version), with
// its API schema. What /etc/pve holds (guests, pools, datacenter.cfg, the
// HA configuration, ...) belongs to a cluster, or to a standalone host: a
// node that joins a cluster sees the cluster's.
//
// pbssim.Start runs a Proxmox Backup Server 4 on an HTTPS port of its own
// (package pbssim): datastores (created and removed by worker tasks, their
// chunk stores kept unless destroyed), prune jobs, namespaces, tickets and
// API tokens, checked against the PBS apidoc like the PVE schema. Given the
// lab's CA (pbssim.Options{CA: lab.CA()}), it signs its certificate. A PVE
// lab's storage.cfg (per cluster, or per standalone host) holds storages of
// the types dir, lvmthin and pbs; adding a pbs storage connects to its server
// as PVE does, checking the certificate's fingerprint and logging in.
//
// Ceph is not simulated: cephlab.Start runs Debian's ceph-mon, ceph-mgr and
// ceph-osd on loopback (package cephlab), and the nodes' Ceph API
// (/nodes/{node}/ceph/pool, /nodes/{node}/ceph/rules) acts on the cluster
// given as PVEOptions.Ceph. cephlab.Require installs the packages for tests
// that run as root and fails the others, unless PVE_LAB_CEPH=skip.
package testlab
