// Package testlab runs the servers this project's tests talk to: a simulated
// Proxmox VE cluster (StartPVE) and, later, simulated PBS and Redfish servers.
//
// The simulators model the behaviour of the real servers, not the needs of one
// client: the same paths, parameter checks, error texts, status codes,
// envelopes and task life cycle, so that any client of the real API (the
// provider's own client, go-proxmox, curl) works against them unchanged. When
// the official API schema is available (see StartPVE) every request is also
// checked against it, exactly as pveproxy/pvedaemon check it.
package testlab
