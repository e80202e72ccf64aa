// Package testlab runs the lab as a whole: the servers this project's tests
// talk to, on loopback. Start starts simulated Proxmox VE nodes with their
// BMCs and returns the Lab; a real Ceph cluster and a simulated Proxmox
// Backup Server start beside it (Options.Ceph, pbssim.Start with the lab's
// CA).
//
// One package per part of the lab, below this one:
//
//   - sim: what every simulated server is made of: the TLS server, the CA
//     and certificates, fault injection, the path tree, request counters,
//     random IDs.
//   - machine: one physical server: name, CPU, memory, PCI/USB devices,
//     NICs, boot time. pvesim and bmcsim both depend on it, never on each
//     other.
//   - perl, pveschema, ifupdown: ports of the Perl value semantics PVE's
//     code relies on, of PVE::JSONSchema and of /etc/network/interfaces
//     handling (no state).
//   - labdata: the embedded third-party data (the schemas' served parts, the
//     Redfish mockup) and its generator.
//   - pvesim: the simulated PVE nodes (a cluster, or standalone hosts).
//   - pbssim: the simulated Proxmox Backup Server.
//   - bmcsim: the simulated Redfish BMCs.
//   - cephlab: the real Ceph cluster (Debian's ceph-mon, ceph-mgr and
//     ceph-osd, started without systemd).
//   - mirror: the download server: installer ISOs and container templates
//     with their SHA256SUMS/SHA512SUMS, over HTTP on loopback, for nodes
//     whose local storage starts empty as on a fresh install.
//
// The simulators model the behaviour of the real servers, not the needs of
// one client: any client of the real API (the provider's own client,
// go-proxmox, gofish, curl) works against them unchanged, and every request
// is checked against the official schema (package labdata).
//
// This package wires the parts together. The Lab embeds the PVE state
// (*pvesim.PVE: endpoints, credentials, faults, node power, ...); every
// node's machine has a BMC (Lab.BMC, BMCEndpoint, BMCUsername,
// BMCPassword), with a certificate signed by the lab's CA. Its power drives
// its node: powering the system off stops the node, powering it on boots it;
// powering a node off or on through the lab (Lab.StopNode, Lab.StartNode)
// shows on its BMC (bmc.go). EnvLines exports the connection settings of
// the nodes, their BMCs and the download server (PVE_LAB_FILES_URL). GenerateLabData makes package labdata's files
// from the official ones (labfiles.go).
package testlab
