package testlab

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"
)

// The routes of a BMC: the resources it models, then the mockup's.

// allow answers 405 with an Allow header unless q's method is one of
// methods (GET includes HEAD), and remembers them for the Allow header of
// the answer, as DSP0266 asks.
func allow(q *rfRequest, methods ...string) *rfError {
	list := slices.Clone(methods)
	if slices.Contains(list, http.MethodGet) {
		list = append(list, http.MethodHead)
	}
	q.allowed = list
	if slices.Contains(methods, q.method) {
		return nil
	}
	e := errGeneral(http.StatusMethodNotAllowed,
		fmt.Sprintf("The method %s is not allowed on %s. Use %s.", q.r.Method, q.path, strings.Join(list, ", ")))
	e.header = http.Header{"Allow": {strings.Join(list, ", ")}}
	return e
}

// get answers a GET-only resource.
func get(q *rfRequest, res map[string]any) (*rfResponse, *rfError) {
	if err := allow(q, http.MethodGet); err != nil {
		return nil, err
	}
	return jsonResponse(http.StatusOK, res), nil
}

// routeLocked serves q. The caller holds mu.
func (b *BMC) routeLocked(q *rfRequest) (*rfResponse, *rfError) {
	if q.path == "/redfish" {
		return get(q, map[string]any{"v1": "/redfish/v1/"})
	}
	rel, ok := strings.CutPrefix(q.path, "/redfish/v1")
	if !ok || rel != "" && rel[0] != '/' {
		return nil, rfErr(http.StatusNotFound, msg("ResourceMissingAtURI", q.path))
	}
	var segs []string
	if rel != "" {
		segs = strings.Split(rel[1:], "/")
	}
	if len(segs) == 0 {
		return get(q, b.serviceRoot())
	}
	n := len(segs)
	switch segs[0] {
	case "odata":
		if n == 1 {
			if err := allow(q, http.MethodGet); err != nil {
				return nil, err
			}
			return &rfResponse{status: http.StatusOK, body: b.odata()}, nil // a service document has no ETag
		}
	case "$metadata":
		if n == 1 {
			if err := allow(q, http.MethodGet); err != nil {
				return nil, err
			}
			return &rfResponse{status: http.StatusOK, raw: b.metadata(), ctype: "application/xml", etag: true}, nil
		}
	case "Systems":
		if n == 1 {
			return get(q, collection("/redfish/v1/Systems", "#ComputerSystemCollection.ComputerSystemCollection",
				"Computer System Collection", b.systemURI()))
		}
		if segs[1] != b.id.systemID {
			return nil, errNotFound("ComputerSystem", segs[1])
		}
		if resp, err, ok := b.systemRoute(q, segs[2:]); ok {
			return resp, err
		}
	case "Managers":
		if n == 1 {
			return get(q, collection("/redfish/v1/Managers", "#ManagerCollection.ManagerCollection", "Manager Collection",
				"/redfish/v1/Managers/"+rfManagerID))
		}
		if segs[1] != rfManagerID {
			return nil, errNotFound("Manager", segs[1])
		}
		if resp, err, ok := b.managerRoute(q, segs[2:]); ok {
			return resp, err
		}
	case "Chassis":
		if n == 1 {
			return get(q, collection("/redfish/v1/Chassis", "#ChassisCollection.ChassisCollection", "Chassis Collection",
				"/redfish/v1/Chassis/"+rfChassisID))
		}
		if segs[1] != rfChassisID {
			return nil, errNotFound("Chassis", segs[1])
		}
		if n == 2 {
			return get(q, b.chassis())
		}
	case "SessionService":
		return b.sessionRoute(q, segs[1:])
	case "AccountService":
		switch {
		case n == 1:
			return get(q, b.accountService())
		case n == 2 && segs[1] == "Accounts":
			return get(q, collection("/redfish/v1/AccountService/Accounts", "#ManagerAccountCollection.ManagerAccountCollection",
				"Accounts Collection", "/redfish/v1/AccountService/Accounts/1"))
		case n == 3 && segs[1] == "Accounts":
			if segs[2] != "1" {
				return nil, errNotFound("ManagerAccount", segs[2])
			}
			return get(q, b.account())
		}
	case "TaskService":
		switch {
		case n == 1:
			return get(q, b.taskService(q.now))
		case n == 2 && segs[1] == "Tasks":
			return get(q, b.taskCollection())
		case n == 3 && segs[1] == "Tasks":
			t := b.task(segs[2])
			if t == nil {
				return nil, errNotFound("Task", segs[2])
			}
			return get(q, b.taskResource(t, q.now))
		case n == 3 && segs[1] == "TaskMonitors":
			if err := allow(q, http.MethodGet); err != nil {
				return nil, err
			}
			return b.taskMonitor(q, segs[2])
		}
		return nil, rfErr(http.StatusNotFound, msg("ResourceMissingAtURI", q.path))
	}
	return b.static(q)
}

// static serves the mockup's resource at q's path.
func (b *BMC) static(q *rfRequest) (*rfResponse, *rfError) {
	doc, ok := b.lab.mockup.doc(b, q.path)
	if !ok || rfModelled(mockupKey(b, q.path)) {
		return nil, rfErr(http.StatusNotFound, msg("ResourceMissingAtURI", q.path))
	}
	if err := allow(q, http.MethodGet); err != nil {
		return nil, err
	}
	if strings.HasSuffix(q.path, "/$metadata") {
		return &rfResponse{status: http.StatusOK, raw: doc, ctype: "application/xml", etag: true}, nil
	}
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		return nil, rfErr(http.StatusInternalServerError, msg("InternalError"))
	}
	return &rfResponse{status: http.StatusOK, raw: marshalJSON(pruneLinks(b, v)), ctype: "application/json; charset=utf-8", etag: true}, nil
}

// danglingLocked reports whether uri is a resource the BMC models but does
// not have. The caller holds mu.
func (b *BMC) danglingLocked(uri string) bool {
	uri, _, _ = strings.Cut(uri, "#")
	if !strings.HasPrefix(uri, "/redfish/v1") || !rfModelled(mockupKey(b, strings.TrimRight(uri, "/"))) {
		return false
	}
	req, err := http.NewRequest(http.MethodGet, uri, nil)
	if err != nil {
		return true
	}
	q := &rfRequest{r: req, method: http.MethodGet, path: strings.TrimRight(uri, "/"), now: time.Now()}
	resp, rerr := b.routeLocked(q)
	return rerr != nil || resp.status != http.StatusOK
}

// systemRoute serves the paths below /redfish/v1/Systems/<id>.
func (b *BMC) systemRoute(q *rfRequest, rest []string) (*rfResponse, *rfError, bool) {
	n := len(rest)
	if n == 0 {
		if err := allow(q, http.MethodGet, http.MethodPatch); err != nil {
			return nil, err, true
		}
		if q.method == http.MethodPatch {
			resp, err := b.patchSystem(q)
			return resp, err, true
		}
		return jsonResponse(http.StatusOK, b.system()), nil, true
	}
	uri := b.systemURI()
	switch rest[0] {
	case "Actions":
		if n == 2 && rest[1] == "ComputerSystem.Reset" {
			if err := allow(q, http.MethodPost); err != nil {
				return nil, err, true
			}
			resp, err := b.reset(q)
			return resp, err, true
		}
	case "VirtualMedia":
		return b.mediaRoute(q, uri+"/VirtualMedia", rest[1:])
	case "EthernetInterfaces":
		if n == 1 {
			resp, err := get(q, b.ethernetInterfaces())
			return resp, err, true
		}
		if n == 2 {
			for i, mac := range b.id.macs {
				if macID(mac) == rest[1] {
					resp, err := get(q, b.ethernetInterface(i))
					return resp, err, true
				}
			}
			if rest[1] != "ToManager" {
				return nil, errNotFound("EthernetInterface", rest[1]), true
			}
		}
	case "Processors":
		if n == 1 {
			resp, err := get(q, b.processors())
			return resp, err, true
		}
		if n == 2 {
			if res := b.processor(rest[1]); res != nil {
				resp, err := get(q, res)
				return resp, err, true
			}
			return nil, errNotFound("Processor", rest[1]), true
		}
	case "Memory":
		if n == 1 {
			resp, err := get(q, b.memoryCollection())
			return resp, err, true
		}
		if n == 2 {
			if res := b.memory(rest[1]); res != nil {
				resp, err := get(q, res)
				return resp, err, true
			}
			return nil, errNotFound("Memory", rest[1]), true
		}
	}
	return nil, nil, false
}

// managerRoute serves the paths below /redfish/v1/Managers/BMC.
func (b *BMC) managerRoute(q *rfRequest, rest []string) (*rfResponse, *rfError, bool) {
	n := len(rest)
	if n == 0 {
		resp, err := get(q, b.manager(q.now))
		return resp, err, true
	}
	switch rest[0] {
	case "VirtualMedia":
		return b.mediaRoute(q, "/redfish/v1/Managers/"+rfManagerID+"/VirtualMedia", rest[1:])
	case "EthernetInterfaces":
		uri := "/redfish/v1/Managers/" + rfManagerID + "/EthernetInterfaces"
		if n == 1 {
			members := []string{uri + "/eth0"}
			if b.lab.mockup.has(b, uri+"/ToHost") {
				members = append(members, uri+"/ToHost")
			}
			resp, err := get(q, collection(uri, "#EthernetInterfaceCollection.EthernetInterfaceCollection",
				"Ethernet Network Interface Collection", members...))
			return resp, err, true
		}
		if n == 2 && rest[1] == "eth0" {
			resp, err := get(q, b.managerNIC())
			return resp, err, true
		}
		if n == 2 && rest[1] != "ToHost" {
			return nil, errNotFound("EthernetInterface", rest[1]), true
		}
	}
	return nil, nil, false
}

// sessionRoute serves /redfish/v1/SessionService and its sessions.
func (b *BMC) sessionRoute(q *rfRequest, rest []string) (*rfResponse, *rfError) {
	switch {
	case len(rest) == 0:
		if err := allow(q, http.MethodGet, http.MethodPatch); err != nil {
			return nil, err
		}
		if q.method == http.MethodPatch {
			return b.patchSessionService(q)
		}
		return jsonResponse(http.StatusOK, b.sessionService()), nil
	case len(rest) == 1 && rest[0] == "Sessions":
		methods := []string{http.MethodGet, http.MethodPost}
		if b.variant.NoSessions {
			methods = methods[:1]
		}
		if err := allow(q, methods...); err != nil {
			return nil, err
		}
		if q.method == http.MethodPost {
			return b.login(q)
		}
		var members []string
		for _, s := range b.sessionsByID() {
			members = append(members, sessionURI(s.id))
		}
		return jsonResponse(http.StatusOK, collection("/redfish/v1/SessionService/Sessions",
			"#SessionCollection.SessionCollection", "Session Collection", members...)), nil
	case len(rest) == 2 && rest[0] == "Sessions":
		if err := allow(q, http.MethodGet, http.MethodDelete); err != nil {
			return nil, err
		}
		s := b.sessionByID(rest[1])
		if s == nil {
			return nil, errNotFound("Session", rest[1])
		}
		if q.method == http.MethodDelete {
			delete(b.sessions, s.token)
			return jsonResponse(http.StatusOK, s.resource()), nil // as bmcweb: the deleted session
		}
		return jsonResponse(http.StatusOK, s.resource()), nil
	}
	return nil, rfErr(http.StatusNotFound, msg("ResourceMissingAtURI", q.path))
}

// sessionsByID returns the sessions in the order they were created.
func (b *BMC) sessionsByID() []*bmcSession {
	var out []*bmcSession
	for _, s := range b.sessions {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, c *bmcSession) int { return a.created.Compare(c.created)*2 + strings.Compare(a.id, c.id) })
	return out
}

func (b *BMC) sessionService() map[string]any {
	return map[string]any{
		"@odata.id":      "/redfish/v1/SessionService",
		"@odata.type":    "#SessionService.v1_1_8.SessionService",
		"Id":             "SessionService",
		"Name":           "Session Service",
		"Description":    "Session Service",
		"Status":         map[string]any{"State": "Enabled", "Health": "OK"},
		"ServiceEnabled": true,
		"SessionTimeout": int(b.sessionTimeout / time.Second),
		"Sessions":       link("/redfish/v1/SessionService/Sessions"),
	}
}

// patchSessionService changes SessionTimeout (30 to 86400 seconds, as
// DSP0266 and bmcweb have it).
func (b *BMC) patchSessionService(q *rfRequest) (*rfResponse, *rfError) {
	current := b.sessionService()
	if err := checkIfMatch(q, current); err != nil {
		return nil, err
	}
	obj, err := parseObject(q.body)
	if err != nil {
		return nil, err
	}
	if len(obj) == 0 {
		return nil, rfErr(http.StatusBadRequest, msg("EmptyJSON"))
	}
	timeout := b.sessionTimeout
	for _, k := range sortedKeys(obj) {
		v := obj[k]
		if k != "SessionTimeout" {
			if _, ok := current[k]; ok {
				return nil, errPropertyNotWritable(k)
			}
			return nil, errPropertyUnknown(k)
		}
		var secs float64
		if isNull(v) || json.Unmarshal(v, &secs) != nil || secs != math.Trunc(secs) {
			return nil, errPropertyType(rawText(v), k)
		}
		if secs < 30 || secs > 86400 {
			return nil, errNotInList(rawText(v), k)
		}
		timeout = time.Duration(secs) * time.Second
	}
	b.sessionTimeout = timeout
	return jsonResponse(http.StatusOK, b.sessionService()), nil
}

func (b *BMC) accountService() map[string]any {
	res := map[string]any{
		"@odata.id":               "/redfish/v1/AccountService",
		"@odata.type":             "#AccountService.v1_12_0.AccountService",
		"Id":                      "AccountService",
		"Name":                    "Account Service",
		"Description":             "Account Service",
		"Status":                  map[string]any{"State": "Enabled", "Health": "OK"},
		"ServiceEnabled":          true,
		"MinPasswordLength":       8,
		"MaxPasswordLength":       20,
		"AccountLockoutThreshold": 0,
		"LocalAccountAuth":        "Enabled",
		"Accounts":                link("/redfish/v1/AccountService/Accounts"),
	}
	b.linkStatic(res, "Roles", "/redfish/v1/AccountService/Roles")
	return res
}

func (b *BMC) account() map[string]any {
	res := map[string]any{
		"@odata.id":              "/redfish/v1/AccountService/Accounts/1",
		"@odata.type":            "#ManagerAccount.v1_10_0.ManagerAccount",
		"Id":                     "1",
		"Name":                   "User Account",
		"Description":            "User Account",
		"Enabled":                true,
		"Password":               nil,
		"PasswordChangeRequired": false,
		"AccountTypes":           []string{"Redfish", "WebUI", "IPMI"},
		"UserName":               bmcUser,
		"RoleId":                 "Administrator",
		"Locked":                 false,
	}
	if role := "/redfish/v1/AccountService/Roles/Administrator"; b.lab.mockup.has(b, role) {
		res["Links"] = map[string]any{"Role": link(role)}
	}
	return res
}

// serviceRoot is GET /redfish/v1/: the mockup's, with the BMC's values and
// links to what it serves.
func (b *BMC) serviceRoot() map[string]any {
	res := map[string]any{
		"@odata.id":      "/redfish/v1/",
		"@odata.type":    "#ServiceRoot.v1_15_0.ServiceRoot",
		"Id":             "RootService",
		"Name":           "Root Service",
		"RedfishVersion": "1.15.0",
		"UUID":           b.id.serviceUUID,
		"Vendor":         sysManufacturer,
		"Product":        sysModel,
		"ProtocolFeaturesSupported": map[string]any{
			"ExpandQuery":     map[string]any{"ExpandAll": false, "Levels": false, "Links": false, "NoLinks": false},
			"SelectQuery":     false,
			"FilterQuery":     false,
			"OnlyMemberQuery": false,
			"ExcerptQuery":    false,
		},
		"Systems":        link("/redfish/v1/Systems"),
		"Chassis":        link("/redfish/v1/Chassis"),
		"Managers":       link("/redfish/v1/Managers"),
		"Tasks":          link("/redfish/v1/TaskService"),
		"SessionService": link("/redfish/v1/SessionService"),
		"AccountService": link("/redfish/v1/AccountService"),
		"Links": map[string]any{
			"Sessions":                link("/redfish/v1/SessionService/Sessions"),
			"ManagerProvidingService": link("/redfish/v1/Managers/" + rfManagerID),
		},
	}
	for _, s := range []string{"EventService", "Registries", "UpdateService", "CertificateService", "KeyService", "ComponentIntegrity"} {
		b.linkStatic(res, s, "/redfish/v1/"+s)
	}
	return res
}

// odata is the OData service document: the service root's singletons.
func (b *BMC) odata() map[string]any {
	root := b.serviceRoot()
	value := []any{map[string]any{"name": "Service", "kind": "Singleton", "url": "/redfish/v1/"}}
	for _, k := range sortedKeys(root) {
		if l, ok := root[k].(map[string]any); ok && k != "Links" && k != "ProtocolFeaturesSupported" {
			name := k
			if k == "Tasks" {
				name = "TaskService"
			}
			value = append(value, map[string]any{"name": name, "kind": "Singleton", "url": l["@odata.id"]})
		}
	}
	value = append(value, map[string]any{"name": "Sessions", "kind": "Singleton", "url": "/redfish/v1/SessionService/Sessions"})
	return map[string]any{"@odata.context": "/redfish/v1/$metadata", "value": value}
}

// metadata is $metadata: the mockup's, or one naming the schemas the BMC
// serves without it.
func (b *BMC) metadata() []byte {
	if doc, ok := b.lab.mockup.doc(b, "/redfish/v1/$metadata"); ok {
		return doc
	}
	var sb strings.Builder
	sb.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	sb.WriteString(`<edmx:Edmx xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx" Version="4.0">` + "\n")
	for _, ns := range []string{"ServiceRoot.v1_15_0", "ComputerSystem.v1_20_0", "ComputerSystemCollection", "Manager.v1_17_0",
		"ManagerCollection", "Chassis.v1_22_0", "ChassisCollection", "VirtualMedia.v1_6_0", "VirtualMediaCollection",
		"SessionService.v1_1_8", "Session.v1_6_0", "SessionCollection", "AccountService.v1_12_0", "ManagerAccount.v1_10_0",
		"ManagerAccountCollection", "TaskService.v1_2_0", "Task.v1_7_0", "TaskCollection", "EthernetInterface.v1_9_0",
		"EthernetInterfaceCollection", "Processor.v1_17_0", "ProcessorCollection", "Memory.v1_17_0", "MemoryCollection", "Message.v1_1_2"} {
		schema, _, _ := strings.Cut(ns, ".")
		fmt.Fprintf(&sb, "  <edmx:Reference Uri=\"http://redfish.dmtf.org/schemas/v1/%s_v1.xml\">\n    <edmx:Include Namespace=\"%s\"/>\n", schema, schema)
		if ns != schema {
			fmt.Fprintf(&sb, "    <edmx:Include Namespace=\"%s\"/>\n", ns)
		}
		sb.WriteString("  </edmx:Reference>\n")
	}
	sb.WriteString("  <edmx:DataServices>\n    <Schema xmlns=\"http://docs.oasis-open.org/odata/ns/edm\" Namespace=\"Service\">\n")
	sb.WriteString("      <EntityContainer Name=\"Service\" Extends=\"ServiceRoot.v1_15_0.ServiceContainer\"/>\n")
	sb.WriteString("    </Schema>\n  </edmx:DataServices>\n</edmx:Edmx>\n")
	return []byte(sb.String())
}

// manager is GET /redfish/v1/Managers/BMC.
func (b *BMC) manager(now time.Time) map[string]any {
	uri := "/redfish/v1/Managers/" + rfManagerID
	res := map[string]any{
		"@odata.id":             uri,
		"@odata.type":           "#Manager.v1_17_0.Manager",
		"Id":                    rfManagerID,
		"Name":                  "Manager",
		"ManagerType":           "BMC",
		"Description":           "BMC",
		"ServiceEntryPointUUID": b.id.serviceUUID,
		"UUID":                  b.id.managerUUID,
		"Model":                 bmcModel,
		"FirmwareVersion":       b.id.bmcFirmware,
		"DateTime":              rfTime(now),
		"DateTimeLocalOffset":   "+00:00",
		"Status":                map[string]any{"State": "Enabled", "Health": "OK"},
		"PowerState":            "On",
		"GraphicalConsole": map[string]any{"ServiceEnabled": true, "MaxConcurrentSessions": 4,
			"ConnectTypesSupported": []string{"KVMIP"}},
		"SerialConsole": map[string]any{"ServiceEnabled": true, "MaxConcurrentSessions": 1,
			"ConnectTypesSupported": []string{"SSH", "IPMI"}},
		"CommandShell": map[string]any{"ServiceEnabled": true, "MaxConcurrentSessions": 4,
			"ConnectTypesSupported": []string{"SSH"}},
		"EthernetInterfaces": link(uri + "/EthernetInterfaces"),
		"Links": map[string]any{
			"ManagerForServers": links(b.systemURI()),
			"ManagerForChassis": links("/redfish/v1/Chassis/" + rfChassisID),
			"ManagerInChassis":  link("/redfish/v1/Chassis/" + rfChassisID),
		},
	}
	if b.variant.VirtualMediaUnderManager {
		res["VirtualMedia"] = link(uri + "/VirtualMedia")
	}
	for _, sub := range []string{"NetworkProtocol", "HostInterfaces", "SerialInterfaces", "LogServices", "DedicatedNetworkPorts", "SecurityPolicy"} {
		b.linkStatic(res, sub, uri+"/"+sub)
	}
	return res
}

// managerNIC is the BMC's own network port.
func (b *BMC) managerNIC() map[string]any {
	name := b.host.name + "-bmc"
	return map[string]any{
		"@odata.id":           "/redfish/v1/Managers/" + rfManagerID + "/EthernetInterfaces/eth0",
		"@odata.type":         "#EthernetInterface.v1_9_0.EthernetInterface",
		"Id":                  "eth0",
		"Name":                "Manager Ethernet Interface",
		"Description":         "Management network interface on a dedicated port",
		"Status":              map[string]any{"State": "Enabled", "Health": "OK"},
		"LinkStatus":          "LinkUp",
		"InterfaceEnabled":    true,
		"PermanentMACAddress": b.id.bmcMAC,
		"MACAddress":          b.id.bmcMAC,
		"SpeedMbps":           1000,
		"FullDuplex":          true,
		"HostName":            name,
		"FQDN":                name,
		"IPv4Addresses": []any{map[string]any{
			"Address": b.id.bmcIP, "SubnetMask": "255.255.255.0", "AddressOrigin": "Static", "Gateway": mgmtGateway,
		}},
	}
}
