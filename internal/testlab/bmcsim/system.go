package bmcsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/machine"
)

// The computer system of a BMC: its power, which drives its Host,
// its boot source override, and its inventory (processors, memory, NICs),
// from the node's hardware.
//
// ComputerSystem.Reset (Timing gives the durations):
//   - On: PoweringOn, then On; the host boots and its node serves after
//     Timing.Boot. ForceOff: the machine stops at once, PoweringOff,
//     then Off. GracefulShutdown: the OS shuts down (PoweringOff) for
//     longer, the machine stops when the power goes off. GracefulRestart
//     and ForceRestart keep PowerState On while the node goes down and
//     boots again. PushPowerButton is GracefulShutdown or On, PowerCycle
//     ForceOff then On, Nmi changes nothing.
//   - On when on, ForceOff or GracefulShutdown when off change nothing and
//     succeed, as bmcweb does; a restart or Nmi of a system that is off
//     answers 400 (iLO's status; the Base message ResourceInStandby); a
//     reset while a transition runs answers 409 ResourceInUse, except
//     ForceOff, which always cuts the power.
//   - A ResetType outside ResetType@Redfish.AllowableValues answers 400
//     PropertyValueNotInList, as iDRAC does.
//
// The boot source override (PATCH of Boot) takes the targets of bmcweb;
// the firmware reads it when the host starts booting: "Once" then turns
// into Disabled/None, "Continuous" stays.

// Power states of ComputerSystem.PowerState.
const (
	powerOn          = "On"
	powerOff         = "Off"
	powerPoweringOn  = "PoweringOn"
	powerPoweringOff = "PoweringOff"
)

// resetTypes are the ResetType@Redfish.AllowableValues of the system (those
// of iDRAC 9 with GracefulRestart, which iLO and bmcweb have too).
var resetTypes = []string{"On", "ForceOff", "GracefulShutdown", "GracefulRestart", "ForceRestart", "Nmi", "PushPowerButton", "PowerCycle"}

// bootTargets are the BootSourceOverrideTarget@Redfish.AllowableValues
// (bmcweb's list).
var bootTargets = []string{"None", "Pxe", "Hdd", "Cd", "Diags", "BiosSetup", "Usb"}

var (
	bootEnabledValues = []string{"Once", "Continuous", "Disabled"}
	bootModeValues    = []string{"UEFI", "Legacy"}
)

// BootOverride is a system's boot source override (ComputerSystem.Boot).
type BootOverride struct {
	Target  string // BootSourceOverrideTarget: None, Pxe, Hdd, Cd, Diags, BiosSetup, Usb
	Enabled string // BootSourceOverrideEnabled: Once, Continuous, Disabled
	Mode    string // BootSourceOverrideMode: UEFI, Legacy
}

// Boot is how a host booted.
type Boot struct {
	At     time.Time // when the boot started (power on or restart)
	Target string    // the override it booted with ("None": its boot order)
	Mode   string    // UEFI or Legacy
	Image  string    // for Cd and Usb: the virtual media image it booted from ("" if none was inserted)
}

// power is the state of the host's power. Transitions are events
// (BMC.schedule); a new transition bumps gen, which cancels the events of
// the old one.
type power struct {
	state      string // On or Off: the host's power, as far as it has settled
	transition string // PoweringOn or PoweringOff while a transition runs, else ""
	osUp       bool   // the machine runs (its node serves the API)
	booting    bool   // powered, but the node does not serve yet
	gen        int
	busyUntil  time.Time // Variant.BusyAfterPowerOn after the last power on
	busyEnd    time.Time // until when a transition holds: other resets answer 409
	lastReset  time.Time
	boot       BootOverride
	lastBoot   Boot
	led        string
	assetTag   string
}

// display is PowerState as the BMC reports it.
func (p *power) display() string {
	if p.transition != "" {
		return p.transition
	}
	return p.state
}

// bootProgress is BootProgress.LastState.
func (p *power) bootProgress() string {
	switch {
	case p.osUp:
		return "OSRunning"
	case p.booting:
		return "OSBootStarted"
	default:
		return "None"
	}
}

// external makes p what the host says after the machine was powered off or
// on without the BMC (BMC.SyncHostPower).
func (p *power) external(b *BMC, up bool, now time.Time) {
	switch {
	case up && !(p.state == powerOn && p.osUp && p.transition == ""):
		p.gen++
		p.state, p.transition, p.busyEnd = powerOn, "", now
		p.bootStart(b, now)
		p.booting, p.osUp = false, true
	case !up && (p.state == powerOn || p.transition != ""):
		p.gen++
		p.state, p.transition, p.busyEnd = powerOff, "", now
		p.osUp, p.booting = false, false
	}
}

// bootStart is the host starting to boot at t: the firmware reads the
// boot override ("Once" is used up) and the BMC may be busy for a while.
// The caller schedules the node's start.
func (p *power) bootStart(b *BMC, t time.Time) {
	p.lastReset = t
	p.booting = true
	p.lastBoot = Boot{At: t, Target: "None", Mode: p.boot.Mode}
	if p.boot.Enabled != "Disabled" && p.boot.Target != "None" {
		p.lastBoot.Target = p.boot.Target
		for _, s := range b.media {
			if s.inserted && (p.boot.Target == "Cd" && slices.Contains(s.mediaTypes, "CD") ||
				p.boot.Target == "Usb" && slices.Contains(s.mediaTypes, "USBStick")) {
				p.lastBoot.Image = s.image
			}
		}
	}
	if p.boot.Enabled == "Once" {
		p.boot.Enabled, p.boot.Target = "Disabled", "None"
	}
	p.busyUntil = t.Add(b.variant.BusyAfterPowerOn)
}

// --- transitions -----------------------------------------------------------

// boot starts the host's boot at t and schedules the node's start. The
// caller holds mu.
func (b *BMC) bootLocked(t time.Time) {
	b.power.bootStart(b, t)
	b.schedule(t.Add(b.timing.Boot), func(time.Time) []hostOp {
		b.power.booting, b.power.osUp = false, true
		return []hostOp{{up: true}}
	})
}

// powerOnLocked powers the host on: PoweringOn, then On and booting.
func (b *BMC) powerOnLocked(now time.Time) time.Time {
	p := &b.power
	p.gen++
	p.transition = powerPoweringOn
	end := now.Add(b.timing.PowerOn)
	p.busyEnd = end
	b.schedule(end, func(t time.Time) []hostOp {
		p.state, p.transition = powerOn, ""
		b.bootLocked(t)
		return nil
	})
	return end
}

// forceOffLocked cuts the host's power: the machine stops at once, the BMC
// shows PoweringOff, then Off.
func (b *BMC) forceOffLocked(now time.Time, q *request) time.Time {
	p := &b.power
	p.gen++
	p.transition = powerPoweringOff
	p.osUp, p.booting = false, false
	end := now.Add(b.timing.ForceOff)
	p.busyEnd = end
	q.ops = append(q.ops, hostOp{up: false}) // harmless if it is off already
	b.schedule(end, func(time.Time) []hostOp {
		p.state, p.transition = powerOff, ""
		return nil
	})
	return end
}

// gracefulShutdownLocked asks the OS to shut down (ACPI power button): it
// takes longer than ForceOff; the machine stops when the power goes off.
func (b *BMC) gracefulShutdownLocked(now time.Time) time.Time {
	p := &b.power
	p.gen++
	p.transition = powerPoweringOff
	end := now.Add(b.timing.GracefulShutdown)
	p.busyEnd = end
	b.schedule(end, func(time.Time) []hostOp {
		p.state, p.transition = powerOff, ""
		p.osUp, p.booting = false, false
		return []hostOp{{up: false}}
	})
	return end
}

// gracefulRestartLocked shuts the OS down and boots again; PowerState stays On.
func (b *BMC) gracefulRestartLocked(now time.Time) time.Time {
	p := &b.power
	p.gen++
	end := now.Add(b.timing.GracefulShutdown)
	p.busyEnd = end
	b.schedule(end, func(t time.Time) []hostOp {
		p.osUp = false
		b.bootLocked(t)
		return []hostOp{{up: false}}
	})
	return end
}

// forceRestartLocked resets the host: the machine stops at once and boots.
func (b *BMC) forceRestartLocked(now time.Time, q *request) time.Time {
	p := &b.power
	p.gen++
	p.osUp = false
	q.ops = append(q.ops, hostOp{up: false})
	p.busyEnd = now
	b.bootLocked(now)
	return now
}

// powerCycleLocked removes the power and restores it.
func (b *BMC) powerCycleLocked(now time.Time, q *request) time.Time {
	off := b.forceOffLocked(now, q)
	p := &b.power
	end := off.Add(b.timing.PowerOn)
	p.busyEnd = end
	b.schedule(off, func(time.Time) []hostOp {
		p.state, p.transition = powerOff, powerPoweringOn
		return nil
	})
	b.schedule(end, func(t time.Time) []hostOp {
		p.state, p.transition = powerOn, ""
		b.bootLocked(t)
		return nil
	})
	return end
}

// reset serves POST .../Actions/ComputerSystem.Reset.
func (b *BMC) reset(q *request) (*response, *apiError) {
	const action = "ComputerSystem.Reset"
	obj, err := parseObject(nonEmpty(q.body))
	if err != nil {
		return nil, err
	}
	var resetType string
	for _, k := range sortedKeys(obj) {
		if k != "ResetType" {
			return nil, newError(http.StatusBadRequest, msg("ActionParameterUnknown", action, k))
		}
		s, ok := asString(obj[k])
		if !ok {
			return nil, newError(http.StatusBadRequest, msg("ActionParameterValueTypeError", rawText(obj[k]), k, action))
		}
		resetType = s
	}
	if _, ok := obj["ResetType"]; !ok {
		return nil, newError(http.StatusBadRequest, msg("ActionParameterMissing", action, "ResetType"))
	}
	if !slices.Contains(resetTypes, resetType) {
		return nil, errNotInList(resetType, "ResetType")
	}
	p := &b.power
	now := q.now
	if now.Before(p.busyEnd) && resetType != "ForceOff" {
		return nil, newError(http.StatusConflict, msg("ResourceInUse"))
	}
	on := p.state == powerOn && p.transition != powerPoweringOff || p.transition == powerPoweringOn
	var end time.Time
	switch resetType {
	case "On":
		if on {
			return b.actionDone(q, "Reset", now) // already on: nothing to do, as bmcweb
		}
		end = b.powerOnLocked(now)
	case "ForceOff":
		if !on && p.transition == "" {
			return b.actionDone(q, "Reset", now)
		}
		end = b.forceOffLocked(now, q)
	case "GracefulShutdown":
		if !on {
			return b.actionDone(q, "Reset", now)
		}
		end = b.gracefulShutdownLocked(now)
	case "PushPowerButton":
		if on {
			end = b.gracefulShutdownLocked(now)
		} else {
			end = b.powerOnLocked(now)
		}
	case "PowerCycle":
		if on {
			end = b.powerCycleLocked(now, q)
		} else {
			end = b.powerOnLocked(now)
		}
	case "GracefulRestart", "ForceRestart", "Nmi":
		if !on {
			// as iLO (400, InvalidOperationForSystemState), with the Base message
			return nil, newError(http.StatusBadRequest, msg("ResourceInStandby"))
		}
		switch resetType {
		case "GracefulRestart":
			end = b.gracefulRestartLocked(now)
		case "ForceRestart":
			end = b.forceRestartLocked(now, q)
		default:
			end = now // the OS notes the NMI
		}
	}
	return b.actionDone(q, "Reset", end)
}

// nonEmpty lets an action without a body be an empty object.
func nonEmpty(body []byte) []byte {
	if len(body) == 0 {
		return []byte("{}")
	}
	return body
}

// --- resources -------------------------------------------------------------

func (b *BMC) systemURI() string { return "/redfish/v1/Systems/" + b.id.systemID }

func link(uri string) map[string]any { return map[string]any{"@odata.id": uri} }

func links(uris ...string) []any {
	out := []any{}
	for _, u := range uris {
		out = append(out, link(u))
	}
	return out
}

// collection is a resource collection.
func collection(uri, odataType, name string, members ...string) map[string]any {
	return map[string]any{
		"@odata.id":           uri,
		"@odata.type":         odataType,
		"Name":                name,
		"Members@odata.count": len(members),
		"Members":             links(members...),
	}
}

// linkStatic adds a link to the mockup's resource at uri, if it is served.
func (b *BMC) linkStatic(res map[string]any, prop, uri string) {
	if b.mockup.has(b, uri) {
		res[prop] = link(uri)
	}
}

func status(state string) map[string]any {
	return map[string]any{"State": state, "Health": "OK", "HealthRollup": "OK"}
}

// system is GET /redfish/v1/Systems/<id>.
func (b *BMC) system() map[string]any {
	n := b.machine
	p := &b.power
	uri := b.systemURI()
	state := "Enabled"
	if p.display() == powerOff {
		state = "StandbyOffline"
	}
	res := map[string]any{
		"@odata.id":    uri,
		"@odata.type":  "#ComputerSystem.v1_20_0.ComputerSystem",
		"Id":           b.id.systemID,
		"Name":         "System",
		"Description":  "Computer System",
		"SystemType":   "Physical",
		"AssetTag":     p.assetTag,
		"Manufacturer": sysManufacturer,
		"Model":        sysModel,
		"SKU":          sysModel,
		"SerialNumber": b.id.serial,
		"PartNumber":   sysPartNumber,
		"UUID":         b.id.systemUUID,
		"HostName":     n.Name,
		"Status":       status(state),
		"IndicatorLED": p.led,
		"PowerState":   p.display(),
		"BiosVersion":  b.id.biosVersion,
		"Boot": map[string]any{
			"BootSourceOverrideEnabled":                        p.boot.Enabled,
			"BootSourceOverrideTarget":                         p.boot.Target,
			"BootSourceOverrideTarget@Redfish.AllowableValues": bootTargets,
			"BootSourceOverrideMode":                           p.boot.Mode,
			"BootSourceOverrideMode@Redfish.AllowableValues":   bootModeValues,
		},
		"BootProgress": map[string]any{
			"LastState":     p.bootProgress(),
			"LastStateTime": formatTime(p.lastReset),
		},
		"LastResetTime": formatTime(p.lastReset),
		"ProcessorSummary": map[string]any{
			"Count":                 n.Sockets,
			"Model":                 machine.CPUModel,
			"CoreCount":             n.Sockets * n.Cores,
			"LogicalProcessorCount": n.Threads,
			"Status":                status("Enabled"),
		},
		"MemorySummary": map[string]any{
			"TotalSystemMemoryGiB":           n.MemTotal / machine.GiB,
			"TotalSystemPersistentMemoryGiB": 0,
			"MemoryMirroring":                "None",
			"Status":                         status("Enabled"),
		},
		"Processors":         link(uri + "/Processors"),
		"Memory":             link(uri + "/Memory"),
		"EthernetInterfaces": link(uri + "/EthernetInterfaces"),
		"Links": map[string]any{
			"Chassis":   links("/redfish/v1/Chassis/" + chassisID),
			"ManagedBy": links("/redfish/v1/Managers/" + managerID),
		},
		"Actions": map[string]any{
			"#ComputerSystem.Reset": map[string]any{
				"target":                            uri + "/Actions/ComputerSystem.Reset",
				"ResetType@Redfish.AllowableValues": resetTypes,
			},
		},
	}
	if !b.variant.VirtualMediaUnderManager {
		res["VirtualMedia"] = link(uri + "/VirtualMedia")
	}
	for _, sub := range []string{"Bios", "SecureBoot", "SimpleStorage", "LogServices", "GraphicsControllers", "USBControllers", "Certificates"} {
		b.linkStatic(res, sub, uri+"/"+sub)
	}
	return res
}

// patchSystem serves PATCH /redfish/v1/Systems/<id>: the boot override,
// AssetTag and IndicatorLED. Nothing changes unless everything is valid.
func (b *BMC) patchSystem(q *request) (*response, *apiError) {
	if err := checkIfMatch(q, b.system()); err != nil {
		return nil, err
	}
	obj, err := parseObject(q.body)
	if err != nil {
		return nil, err
	}
	if len(obj) == 0 {
		return nil, newError(http.StatusBadRequest, msg("EmptyJSON"))
	}
	p := &b.power
	next := *p
	current := b.system()
	for _, k := range sortedKeys(obj) {
		v := obj[k]
		switch k {
		case "Boot":
			if err := patchBoot(&next.boot, v); err != nil {
				return nil, err
			}
		case "AssetTag":
			s, ok := asString(v)
			if !ok {
				return nil, errPropertyType(rawText(v), k)
			}
			next.assetTag = s
		case "IndicatorLED":
			s, ok := asString(v)
			if !ok {
				return nil, errPropertyType(rawText(v), k)
			}
			if !slices.Contains([]string{"Lit", "Blinking", "Off"}, s) {
				return nil, errNotInList(s, k)
			}
			next.led = s
		default:
			if _, ok := current[k]; ok {
				return nil, errPropertyNotWritable(k)
			}
			return nil, errPropertyUnknown(k)
		}
	}
	p.boot, p.assetTag, p.led = next.boot, next.assetTag, next.led
	return jsonResponse(http.StatusOK, b.system()), nil
}

// patchBoot applies a PATCH of Boot to o.
func patchBoot(o *BootOverride, v json.RawMessage) *apiError {
	obj, err := parseObject(v)
	if err != nil {
		return errPropertyType(rawText(v), "Boot")
	}
	next := *o
	targetSet, enabledSet := false, false
	for _, k := range sortedKeys(obj) {
		v := obj[k]
		s, ok := asString(v)
		var values []string
		var field *string
		switch k {
		case "BootSourceOverrideTarget":
			values, field, targetSet = bootTargets, &next.Target, true
		case "BootSourceOverrideEnabled":
			values, field, enabledSet = bootEnabledValues, &next.Enabled, true
		case "BootSourceOverrideMode":
			values, field = bootModeValues, &next.Mode
		default:
			return errPropertyUnknown("Boot/" + k)
		}
		if !ok {
			return errPropertyType(rawText(v), "Boot/"+k)
		}
		if !slices.Contains(values, s) {
			return errNotInList(s, "Boot/"+k)
		}
		*field = s
	}
	// As bmcweb: the target None turns the override off; a target set
	// while the override is off keeps it off until it is enabled.
	if targetSet && next.Target == "None" && !enabledSet {
		next.Enabled = "Disabled"
	}
	*o = next
	return nil
}

// ethernetInterface is one of the system's NICs, eno1 .. eno4. The mockup
// names them by MAC address.
func (b *BMC) ethernetInterface(i int) map[string]any {
	mac := b.id.macs[i]
	link := "LinkUp"
	if !b.power.osUp && !b.power.booting {
		link = "LinkDown"
	}
	id := macID(mac)
	return map[string]any{
		"@odata.id":             b.systemURI() + "/EthernetInterfaces/" + id,
		"@odata.type":           "#EthernetInterface.v1_9_0.EthernetInterface",
		"Id":                    id,
		"Name":                  "Ethernet Interface",
		"Description":           fmt.Sprintf("System NIC %d", i+1),
		"Status":                map[string]any{"State": "Enabled", "Health": "OK"},
		"EthernetInterfaceType": "Physical",
		"LinkStatus":            link,
		"PermanentMACAddress":   mac,
		"MACAddress":            mac,
		"SpeedMbps":             1000,
		"FullDuplex":            true,
		"HostName":              b.machine.Name,
	}
}

// macID is a MAC address as the mockup names its NICs: "12446A3B0411".
func macID(mac string) string {
	out := make([]byte, 0, 12)
	for i := 0; i < len(mac); i++ {
		if mac[i] != ':' {
			out = append(out, mac[i])
		}
	}
	return string(out)
}

func (b *BMC) ethernetInterfaces() map[string]any {
	var members []string
	for _, mac := range b.id.macs {
		members = append(members, b.systemURI()+"/EthernetInterfaces/"+macID(mac))
	}
	if hostIf := b.systemURI() + "/EthernetInterfaces/ToManager"; b.mockup.has(b, hostIf) {
		members = append(members, hostIf) // the host's end of the Redfish host interface
	}
	return collection(b.systemURI()+"/EthernetInterfaces", "#EthernetInterfaceCollection.EthernetInterfaceCollection",
		"Ethernet Interface Collection", members...)
}

// processors is the system's processor collection: one per socket.
func (b *BMC) processors() map[string]any {
	var members []string
	for i := 1; i <= b.machine.Sockets; i++ {
		members = append(members, fmt.Sprintf("%s/Processors/CPU%d", b.systemURI(), i))
	}
	return collection(b.systemURI()+"/Processors", "#ProcessorCollection.ProcessorCollection", "Processors Collection", members...)
}

func (b *BMC) processor(id string) map[string]any {
	n := b.machine
	var i int
	if _, err := fmt.Sscanf(id, "CPU%d", &i); err != nil || i < 1 || i > n.Sockets || id != fmt.Sprintf("CPU%d", i) {
		return nil
	}
	return map[string]any{
		"@odata.id":             b.systemURI() + "/Processors/" + id,
		"@odata.type":           "#Processor.v1_17_0.Processor",
		"Id":                    id,
		"Name":                  "Processor",
		"Socket":                fmt.Sprintf("CPU %d", i),
		"ProcessorType":         "CPU",
		"ProcessorArchitecture": "x86",
		"InstructionSet":        "x86-64",
		"Manufacturer":          "Intel(R) Corporation",
		"Model":                 machine.CPUModel,
		"MaxSpeedMHz":           5300,
		"TotalCores":            n.Cores,
		"TotalThreads":          n.Threads / n.Sockets,
		"Status":                map[string]any{"State": "Enabled", "Health": "OK"},
	}
}

// dimms is the number of DIMMs: 16 GiB modules.
func (b *BMC) dimms() int { return int(b.machine.MemTotal / (16 * machine.GiB)) }

func (b *BMC) memoryCollection() map[string]any {
	var members []string
	for i := 1; i <= b.dimms(); i++ {
		members = append(members, fmt.Sprintf("%s/Memory/DIMM%d", b.systemURI(), i))
	}
	return collection(b.systemURI()+"/Memory", "#MemoryCollection.MemoryCollection", "Memory Module Collection", members...)
}

func (b *BMC) memory(id string) map[string]any {
	var i int
	if _, err := fmt.Sscanf(id, "DIMM%d", &i); err != nil || i < 1 || i > b.dimms() || id != fmt.Sprintf("DIMM%d", i) {
		return nil
	}
	return map[string]any{
		"@odata.id":         b.systemURI() + "/Memory/" + id,
		"@odata.type":       "#Memory.v1_17_0.Memory",
		"Id":                id,
		"Name":              "DIMM Slot " + fmt.Sprint(i),
		"MemoryType":        "DRAM",
		"MemoryDeviceType":  "DDR4",
		"CapacityMiB":       16 * 1024,
		"OperatingSpeedMhz": 3200,
		"ErrorCorrection":   "SingleBitECC",
		"Manufacturer":      "Samsung",
		"PartNumber":        "M391A2G43BB2-CWE",
		"DeviceLocator":     fmt.Sprintf("DIMM%c1", 'A'+rune(i-1)),
		"Status":            map[string]any{"State": "Enabled", "Health": "OK"},
	}
}

// chassis is GET /redfish/v1/Chassis/1U.
func (b *BMC) chassis() map[string]any {
	uri := "/redfish/v1/Chassis/" + chassisID
	res := map[string]any{
		"@odata.id":    uri,
		"@odata.type":  "#Chassis.v1_22_0.Chassis",
		"Id":           chassisID,
		"Name":         "Computer System Chassis",
		"ChassisType":  "RackMount",
		"Manufacturer": sysManufacturer,
		"Model":        "CSE-510T-203B",
		"SerialNumber": b.id.chassisSerial,
		"PartNumber":   "CSE-510T-203B",
		"PowerState":   b.power.display(),
		"Status":       map[string]any{"State": "Enabled", "Health": "OK"},
		"Links": map[string]any{
			"ComputerSystems":   links(b.systemURI()),
			"ManagedBy":         links("/redfish/v1/Managers/" + managerID),
			"ManagersInChassis": links("/redfish/v1/Managers/" + managerID),
		},
	}
	for _, sub := range []string{"ThermalSubsystem", "PowerSubsystem", "EnvironmentMetrics", "Sensors", "Controls", "TrustedComponents", "Thermal", "Power"} {
		b.linkStatic(res, sub, uri+"/"+sub)
	}
	return res
}
