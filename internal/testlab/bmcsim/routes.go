package bmcsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/machine"
)

// The routes of a BMC: the resources it models, then the mockup's.

// allow answers 405 with an Allow header unless q's method is one of
// methods (GET includes HEAD), and remembers them for the Allow header of
// the answer, as DSP0266 asks.
func allow(q *request, methods ...string) *apiError {
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
func get(q *request, res map[string]any) (*response, *apiError) {
	if err := allow(q, http.MethodGet); err != nil {
		return nil, err
	}
	return jsonResponse(http.StatusOK, res), nil
}

// routeLocked serves q. The caller holds mu.
func (b *BMC) routeLocked(q *request) (*response, *apiError) {
	if q.path == "/redfish" {
		return get(q, map[string]any{"v1": "/redfish/v1/"})
	}
	rel, ok := strings.CutPrefix(q.path, "/redfish/v1")
	if !ok || rel != "" && rel[0] != '/' {
		return nil, newError(http.StatusNotFound, msg("ResourceMissingAtURI", q.path))
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
			return &response{status: http.StatusOK, body: b.odata()}, nil // a service document has no ETag
		}
	case "$metadata":
		if n == 1 {
			if err := allow(q, http.MethodGet); err != nil {
				return nil, err
			}
			return &response{status: http.StatusOK, raw: b.metadata(), ctype: "application/xml", etag: true}, nil
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
				"/redfish/v1/Managers/"+managerID))
		}
		if segs[1] != managerID {
			return nil, errNotFound("Manager", segs[1])
		}
		if resp, err, ok := b.managerRoute(q, segs[2:]); ok {
			return resp, err
		}
	case "Chassis":
		if n == 1 {
			return get(q, collection("/redfish/v1/Chassis", "#ChassisCollection.ChassisCollection", "Chassis Collection",
				"/redfish/v1/Chassis/"+chassisID))
		}
		if segs[1] != chassisID {
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
		return nil, newError(http.StatusNotFound, msg("ResourceMissingAtURI", q.path))
	}
	return b.static(q)
}

// static serves the mockup's resource at q's path.
func (b *BMC) static(q *request) (*response, *apiError) {
	doc, ok := b.mockup.doc(b, q.path)
	if !ok || modelled(mockupKey(b, q.path)) {
		return nil, newError(http.StatusNotFound, msg("ResourceMissingAtURI", q.path))
	}
	if err := allow(q, http.MethodGet); err != nil {
		return nil, err
	}
	if strings.HasSuffix(q.path, "/$metadata") {
		return &response{status: http.StatusOK, raw: doc, ctype: "application/xml", etag: true}, nil
	}
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		return nil, newError(http.StatusInternalServerError, msg("InternalError"))
	}
	return &response{status: http.StatusOK, raw: marshalJSON(pruneLinks(b, v)), ctype: "application/json; charset=utf-8", etag: true}, nil
}

// danglingLocked reports whether uri is a resource the BMC models but does
// not have. The caller holds mu.
func (b *BMC) danglingLocked(uri string) bool {
	uri, _, _ = strings.Cut(uri, "#")
	if !strings.HasPrefix(uri, "/redfish/v1") || !modelled(mockupKey(b, strings.TrimRight(uri, "/"))) {
		return false
	}
	req, err := http.NewRequest(http.MethodGet, uri, nil)
	if err != nil {
		return true
	}
	q := &request{r: req, method: http.MethodGet, path: strings.TrimRight(uri, "/"), now: time.Now()}
	resp, rerr := b.routeLocked(q)
	return rerr != nil || resp.status != http.StatusOK
}

// systemRoute serves the paths below /redfish/v1/Systems/<id>.
func (b *BMC) systemRoute(q *request, rest []string) (*response, *apiError, bool) {
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
func (b *BMC) managerRoute(q *request, rest []string) (*response, *apiError, bool) {
	n := len(rest)
	if n == 0 {
		resp, err := get(q, b.manager(q.now))
		return resp, err, true
	}
	switch rest[0] {
	case "VirtualMedia":
		return b.mediaRoute(q, "/redfish/v1/Managers/"+managerID+"/VirtualMedia", rest[1:])
	case "EthernetInterfaces":
		uri := "/redfish/v1/Managers/" + managerID + "/EthernetInterfaces"
		if n == 1 {
			members := []string{uri + "/eth0"}
			if b.mockup.has(b, uri+"/ToHost") {
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
		"UserName":               b.user,
		"RoleId":                 "Administrator",
		"Locked":                 false,
	}
	if role := "/redfish/v1/AccountService/Roles/Administrator"; b.mockup.has(b, role) {
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
			"ManagerProvidingService": link("/redfish/v1/Managers/" + managerID),
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
	if doc, ok := b.mockup.doc(b, "/redfish/v1/$metadata"); ok {
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
	uri := "/redfish/v1/Managers/" + managerID
	res := map[string]any{
		"@odata.id":             uri,
		"@odata.type":           "#Manager.v1_17_0.Manager",
		"Id":                    managerID,
		"Name":                  "Manager",
		"ManagerType":           "BMC",
		"Description":           "BMC",
		"ServiceEntryPointUUID": b.id.serviceUUID,
		"UUID":                  b.id.managerUUID,
		"Model":                 bmcModel,
		"FirmwareVersion":       b.id.bmcFirmware,
		"DateTime":              formatTime(now),
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
			"ManagerForChassis": links("/redfish/v1/Chassis/" + chassisID),
			"ManagerInChassis":  link("/redfish/v1/Chassis/" + chassisID),
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
	name := b.machine.Name + "-bmc"
	return map[string]any{
		"@odata.id":           "/redfish/v1/Managers/" + managerID + "/EthernetInterfaces/eth0",
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
			"Address": b.id.bmcIP, "SubnetMask": "255.255.255.0", "AddressOrigin": "Static", "Gateway": machine.MgmtGateway,
		}},
	}
}
