// Package bmcsim simulates the BMCs of the lab's machines: Redfish services
// as OpenBMC's bmcweb, iDRAC, iLO, XCC and Supermicro's BMCs serve them.
//
// Every machine of the lab has a BMC (New, Listen): a Redfish service on an
// HTTPS port of its own, with a certificate signed by the lab's CA, that
// stays up when the machine is off (BMCs run on standby power). Its
// resource tree is the DMTF public rack-mount mockup (mockup.go) with the
// machine's values; its behaviour follows real BMCs (sessions with a
// limited number of slots, power transitions, boot override, virtual
// media, ETags), and the differences between vendors that clients must
// cope with (where virtual media live, PATCH instead of actions, task
// monitors, 503 while the host boots) can be switched per BMC (Variant):
//
//   - Authentication (DSP0266): sessions (POST SessionService/Sessions
//     answers 201 with X-Auth-Token and Location; DELETE of the session logs
//     out; idle sessions expire after SessionTimeout) or HTTP basic auth.
//     Only /redfish, the service root, $metadata and the OData service
//     document are open; everything else answers 401 with NoValidSession, a
//     wrong password 401 with ResourceAtUriUnauthorized (as bmcweb does).
//     A BMC has a few session slots (Variant.MaxSessions, default 4): a
//     login beyond them answers 503 with SessionLimitExceeded, as OpenBMC's
//     bmcweb does (iDRAC also answers 503, with its OEM RAC0218).
//   - The host's power drives the machine (Host, in the lab its PVE node):
//     when it is off the machine is off (Host.PowerOff), when it is on the
//     machine boots (Host.PowerOn after Timing.Boot). Powering the machine
//     off or on without the BMC (in the lab: Lab.StopNode, Lab.StartNode)
//     shows on its BMC once the lab calls SyncHostPower.
//   - ETags on every resource (ETag header and @odata.etag); If-Match on
//     PATCH (412 when it does not match, as DSP0266 asks); If-None-Match on
//     GET (304).
//
// Requests are served by net/http: BMC web servers speak plain HTTP/1.1 with
// standard status lines, unlike pveproxy.
//
// bmcsim knows nothing of PVE: the lab (package testlab) wires each BMC to
// the node running on its machine.
package bmcsim
