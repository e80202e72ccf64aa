package bmcsim

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/machine"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/sim"
)

// Variant selects vendor behaviours of a BMC. The zero value is the DMTF
// mockup's shape: virtual media under the system, with InsertMedia and
// EjectMedia actions, actions that complete before they answer, 4 session
// slots, no busy period.
type Variant struct {
	// VirtualMediaUnderManager serves the virtual media slots at
	// Managers/<id>/VirtualMedia, linked from the manager (iDRAC before
	// 6.00, Supermicro, OpenBMC's bmcweb, Lenovo XCC), instead of
	// Systems/<id>/VirtualMedia, linked from the system (the DMTF mockup,
	// iDRAC 6.00 and later, iLO 6, XCC2/3).
	VirtualMediaUnderManager bool
	// PatchVirtualMedia lists no InsertMedia/EjectMedia actions on the
	// slots: a PATCH of Image and Inserted inserts and ejects media, as
	// Lenovo XCC and older Supermicro firmware do. Without it a PATCH of a
	// slot answers 405, as bmcweb does.
	PatchVirtualMedia bool
	// TaskActions answers the Reset, InsertMedia and EjectMedia actions with
	// 202 Accepted and the Location of a task monitor
	// (/redfish/v1/TaskService/TaskMonitors/<id>), which answers 202 while
	// the task runs and 200 with the completed Task afterwards (DSP0266
	// asynchronous operations; iLO, iDRAC jobs and bmcweb tasks work so).
	// Without it the actions complete, or start the power transition, and
	// answer 204 No Content, as iDRAC and bmcweb do.
	TaskActions bool
	// BusyAfterPowerOn makes the BMC answer every request but the service
	// root, $metadata and the OData service document with 503 and
	// Retry-After (ServiceTemporarilyUnavailable) for this long after the
	// host powers on, as BMCs do while the host's POST holds resources the
	// BMC needs (0: never).
	BusyAfterPowerOn time.Duration
	// MaxSessions is the number of session slots (0: 4).
	MaxSessions int
	// NoSessions makes the BMC refuse session logins: POST
	// /redfish/v1/SessionService/Sessions answers 405, as BMCs without
	// session support do; clients use basic authentication instead.
	NoSessions bool
}

// Timing are the durations of a BMC's host power transitions. The zero
// value of a field means its default.
type Timing struct {
	PowerOn          time.Duration // PoweringOn until On (default 600ms)
	ForceOff         time.Duration // PoweringOff until Off after ForceOff (default 300ms)
	GracefulShutdown time.Duration // the OS shutting down before power off or restart (default 1.5s)
	Boot             time.Duration // from power on (or restart) until the node serves its API (default 1s)
	Media            time.Duration // a virtual media task, with TaskActions (default 300ms)
}

func (t Timing) withDefaults() Timing {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&t.PowerOn, 600*time.Millisecond)
	def(&t.ForceOff, 300*time.Millisecond)
	def(&t.GracefulShutdown, 1500*time.Millisecond)
	def(&t.Boot, time.Second)
	def(&t.Media, 300*time.Millisecond)
	return t
}

// DefaultUser is the BMC's administrator unless Config.Username names
// another (Supermicro's default account name).
const DefaultUser = "ADMIN"

// defaultMaxSessions is the number of session slots of a BMC.
const defaultMaxSessions = 4

// defaultSessionTimeout is SessionService.SessionTimeout until changed.
const defaultSessionTimeout = 30 * time.Minute

// Host is the machine a BMC powers: what runs on it (in the lab, the PVE
// node) starts when the BMC powers it on and stops when the power goes.
type Host interface {
	// PowerOn boots the host; it serves once PowerOn returns. Powering on
	// a host that runs does nothing.
	PowerOn() error
	// PowerOff stops the host at once (no shutdown). Powering off a host
	// that is off does nothing.
	PowerOff() error
	// Running reports whether the host is powered on.
	Running() bool
}

// Config is what a BMC is made of.
type Config struct {
	// Machine is the server the BMC manages: its name, hardware and NICs.
	Machine *machine.Machine
	// Host is what the BMC's power drives.
	Host Host
	// CA signs the BMC's certificate.
	CA *sim.CA
	// Username and Password are the administrator's credentials (Username
	// "" is DefaultUser).
	Username, Password string
	// Mockup is the static part of the resource tree (nil: only the
	// resources the BMC models).
	Mockup *Mockup
	// Variant is the vendor behaviour the BMC starts with.
	Variant Variant
	// Logf receives diagnostic messages (optional).
	Logf func(format string, args ...any)
}

// BMC is the simulated BMC of one machine (New). Its methods are safe for
// concurrent use.
type BMC struct {
	host     Host
	machine  *machine.Machine // the server it manages
	user     string
	password string
	mockup   *Mockup // nil: none
	logf     func(format string, args ...any)
	id       identity
	cert     tls.Certificate
	endpoint string
	srv      *http.Server

	mu             sync.Mutex
	variant        Variant
	busyAnswers    int // 503s answered while busy (BusyAfterPowerOn)
	timing         Timing
	sessions       map[string]*session // by token
	sessionSeq     int
	sessionTimeout time.Duration
	power          power
	media          []*vmSlot
	tasks          []*task
	taskSeq        int
	events         []*event
	timers         map[*time.Timer]bool
	closed         bool

	// opsMu orders the node power operations the BMC performs: it is taken
	// while mu is held and released after the operations ran.
	opsMu sync.Mutex
}

// event is something that happens to the host at a time: a step of a
// power transition. Events of an older generation (power.gen) than the
// current one were cancelled.
type event struct {
	at    time.Time
	gen   int
	kept  bool                         // not cancelled by a new power transition
	apply func(now time.Time) []hostOp // called with mu held
}

// hostOp powers the BMC's host off or on.
type hostOp struct{ up bool }

// New returns the BMC of c.Machine (not listening yet: Listen).
func New(c Config) (*BMC, error) {
	b := &BMC{
		host:           c.Host,
		machine:        c.Machine,
		user:           c.Username,
		password:       c.Password,
		mockup:         c.Mockup,
		logf:           c.Logf,
		id:             newIdentity(c.Machine),
		variant:        c.Variant,
		sessions:       map[string]*session{},
		sessionTimeout: defaultSessionTimeout,
		timers:         map[*time.Timer]bool{},
	}
	if b.user == "" {
		b.user = DefaultUser
	}
	if b.logf == nil {
		b.logf = func(string, ...any) {}
	}
	b.timing = b.timing.withDefaults()
	b.media = newVirtualMedia()
	b.power = power{state: powerOn, osUp: true, lastReset: b.machine.Boot(), led: "Off",
		boot: BootOverride{Target: "None", Enabled: "Disabled", Mode: "UEFI"}}
	cert, err := issueCert(c.CA, b.machine.Name, b.id.bmcIP)
	if err != nil {
		return nil, err
	}
	b.cert = cert
	return b, nil
}

// issueCert issues the certificate of a BMC: for 127.0.0.1, ::1, localhost,
// the BMC's address and its name (<node>-bmc), signed by the lab's CA so
// that a client trusting the lab (its CA certificate) trusts the BMCs too.
func issueCert(ca *sim.CA, node, ip string) (tls.Certificate, error) {
	key, err := sim.NewKey()
	if err != nil {
		return tls.Certificate{}, err
	}
	ips := []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	if parsed := net.ParseIP(ip); parsed != nil {
		ips = append(ips, parsed)
	}
	subject := pkix.Name{CommonName: node + "-bmc", Organization: []string{"Super Micro Computer"}, OrganizationalUnit: []string{"Software"}}
	c, err := ca.ServerCert(subject, []string{"localhost", node + "-bmc"}, ips, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return c.TLS, nil
}

// Listen starts b's HTTPS listener on addr.
func (b *BMC) Listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("bmcsim: BMC of %s: listen on %s: %w", b.machine.Name, addr, err)
	}
	b.endpoint = "https://" + sim.EndpointHost(ln.Addr())
	b.srv = &http.Server{
		Handler: b,
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{b.cert},
			MinVersion:   tls.VersionTLS12,
			NextProtos:   []string{"http/1.1"},
		},
		TLSNextProto:      map[string]func(*http.Server, *tls.Conn, http.Handler){}, // HTTP/1.1 only
		ReadHeaderTimeout: sim.RequestTimeout,
		IdleTimeout:       sim.IdleTimeout,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	go func() { _ = b.srv.ServeTLS(ln, "", "") }()
	return nil
}

// Close stops b's listener and its timers.
func (b *BMC) Close() error {
	b.mu.Lock()
	b.closed = true
	for t := range b.timers {
		t.Stop()
	}
	b.timers = map[*time.Timer]bool{}
	b.mu.Unlock()
	if b.srv == nil {
		return nil
	}
	// let requests under way finish (they are short), then drop the rest
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return b.srv.Close()
	}
	return nil
}

// --- events --------------------------------------------------------------

// schedule makes fn happen at at, unless the power generation changes
// before. The caller holds mu.
func (b *BMC) schedule(at time.Time, fn func(now time.Time) []hostOp) {
	b.addEvent(&event{at: at, gen: b.power.gen, apply: fn})
}

// scheduleKept makes fn happen at at, whatever happens to the power.
func (b *BMC) scheduleKept(at time.Time, fn func(now time.Time) []hostOp) {
	b.addEvent(&event{at: at, kept: true, apply: fn})
}

func (b *BMC) addEvent(e *event) {
	b.events = append(b.events, e)
	at := e.at
	if b.closed {
		return
	}
	var t *time.Timer
	t = time.AfterFunc(time.Until(at), func() {
		b.mu.Lock()
		delete(b.timers, t)
		b.mu.Unlock()
		b.tick()
	})
	b.timers[t] = true
}

// settleLocked applies the events that are due and returns the host
// operations they call for. The caller holds mu.
func (b *BMC) settleLocked(now time.Time) []hostOp {
	var ops []hostOp
	for {
		sort.SliceStable(b.events, func(i, j int) bool { return b.events[i].at.Before(b.events[j].at) })
		if len(b.events) == 0 || b.events[0].at.After(now) {
			break
		}
		e := b.events[0]
		b.events = b.events[1:]
		if !e.kept && e.gen != b.power.gen {
			continue // cancelled
		}
		ops = append(ops, e.apply(e.at)...)
	}
	b.expireSessionsLocked(now)
	return ops
}

// unlockAndRun releases mu and performs ops, in the order they were
// decided. The caller holds mu.
func (b *BMC) unlockAndRun(ops []hostOp) {
	if len(ops) == 0 {
		b.mu.Unlock()
		return
	}
	b.opsMu.Lock()
	b.mu.Unlock()
	defer b.opsMu.Unlock()
	for _, op := range ops {
		var err error
		if op.up {
			err = b.host.PowerOn()
		} else {
			err = b.host.PowerOff()
		}
		if err != nil {
			b.logf("bmcsim: BMC of %s: %v", b.machine.Name, err)
		}
	}
}

// tick applies the events that are due.
func (b *BMC) tick() {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.unlockAndRun(b.settleLocked(time.Now()))
}

// SyncHostPower makes b show the host's power as the host has it
// (Host.Running), after the machine was powered off or on without the BMC
// (in the lab: Lab.StopNode, Lab.StartNode): someone held the power button,
// or pulled the plug.
func (b *BMC) SyncHostPower() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.opsMu.Lock() // let operations in flight finish (lock order: mu, opsMu, the host's locks)
	defer b.opsMu.Unlock()
	up := b.host.Running()
	now := time.Now()
	b.settleLocked(now) // what was due happened before: the host's state supersedes it
	b.power.external(b, up, now)
}

// --- identity --------------------------------------------------------------

// identity are the values that tell one machine from another.
type identity struct {
	systemID      string // the system's serial number, as the mockup names its system
	serial        string
	chassisSerial string
	systemUUID    string
	serviceUUID   string
	managerUUID   string
	biosVersion   string
	bmcFirmware   string
	bmcIP         string
	bmcMAC        string
	macs          []string // eno1 .. eno4
}

// Hardware of the lab's machines (package machine: a Supermicro board with a
// Xeon E-2388G): a Supermicro SYS-510T-ML (X12STH-LN4F board, four Intel
// i210 ports) whose BMC is an ASPEED AST2600.
const (
	sysManufacturer = "Supermicro"
	sysModel        = "SYS-510T-ML"
	sysPartNumber   = "X12STH-LN4F"
	bmcModel        = "AST2600"
)

// managementIP is the address of node i's BMC on the management network.
func managementIP(i int) string { return fmt.Sprintf("192.168.100.%d", 110+i) }

func newIdentity(n *machine.Machine) identity {
	uuid := func(kind string) string {
		sum := sha256.Sum256([]byte("pvelab " + kind + " " + n.Name))
		sum[6] = sum[6]&0x0f | 0x40
		sum[8] = sum[8]&0x3f | 0x80
		h := hex.EncodeToString(sum[:16])
		return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
	}
	id := identity{
		serial:        fmt.Sprintf("S%d%06dX2A", 411, 80000+137*n.ID),
		chassisSerial: fmt.Sprintf("C5110LK%02dNT%04d", 30+n.ID, 1000+61*n.ID),
		systemUUID:    uuid("system"),
		serviceUUID:   uuid("service"),
		managerUUID:   uuid("manager"),
		biosVersion:   "2.1",
		bmcFirmware:   "01.03.07",
		bmcIP:         managementIP(n.ID),
		bmcMAC:        fmt.Sprintf("%s:%02X:%02X:%02X", machine.OUI, 0x6A, 0x10+n.ID, 0x1F),
	}
	if n.ID%3 == 0 { // not every machine got the last update
		id.biosVersion, id.bmcFirmware = "1.9", "01.01.10"
	}
	id.systemID = id.serial
	for _, nic := range n.NICs {
		id.macs = append(id.macs, nic.MAC)
	}
	return id
}

// Endpoint returns the BMC's base URL.
func (b *BMC) Endpoint() string { return b.endpoint }

// Node returns the name of the BMC's machine.
func (b *BMC) Node() string { return b.machine.Name }

// SystemID returns the ID of the BMC's computer system (its serial
// number): /redfish/v1/Systems/<SystemID>.
func (b *BMC) SystemID() string { return b.id.systemID }

// ManagerID returns the ID of the BMC's manager: /redfish/v1/Managers/<ManagerID>.
func (b *BMC) ManagerID() string { return managerID }

// SerialNumber returns the system's serial number.
func (b *BMC) SerialNumber() string { return b.id.serial }

// MACAddresses returns the MAC addresses of the machine's NICs eno1 .. eno4
// as the BMC reports them.
func (b *BMC) MACAddresses() []string { return slices.Clone(b.id.macs) }

// SessionCount returns the number of open sessions.
func (b *BMC) SessionCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.expireSessionsLocked(time.Now())
	return len(b.sessions)
}

// BusyAnswers returns how many requests the BMC answered with 503 while
// busy after a power on (Variant.BusyAfterPowerOn).
func (b *BMC) BusyAnswers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.busyAnswers
}

// SetVariant switches the BMC's vendor behaviours. Virtual media keep their
// state when they move between the system and the manager.
func (b *BMC) SetVariant(v Variant) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.variant = v
}

// Variant returns the BMC's vendor behaviours.
func (b *BMC) Variant() Variant {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.variant
}

// SetTiming sets the durations of the BMC's power transitions (zero fields
// take their defaults). Transitions already under way keep theirs.
func (b *BMC) SetTiming(t Timing) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.timing = t.withDefaults()
}

// Timing returns the durations of the BMC's power transitions.
func (b *BMC) Timing() Timing {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.timing
}

// state runs fn on the settled state of b.
func (b *BMC) state(fn func()) {
	b.mu.Lock()
	ops := b.settleLocked(time.Now())
	fn()
	b.unlockAndRun(ops)
}

// PowerState returns the system's PowerState as the BMC reports it: On,
// Off, PoweringOn or PoweringOff.
func (b *BMC) PowerState() string {
	var s string
	b.state(func() { s = b.power.display() })
	return s
}

// BootOverride returns the system's boot source override.
func (b *BMC) BootOverride() BootOverride {
	var o BootOverride
	b.state(func() { o = b.power.boot })
	return o
}

// LastBoot returns how the host booted last (a zero value before the first
// boot the BMC saw).
func (b *BMC) LastBoot() Boot {
	var o Boot
	b.state(func() { o = b.power.lastBoot })
	return o
}

// VirtualMedia returns the state of the BMC's virtual media slots.
func (b *BMC) VirtualMedia() []VirtualMedia {
	var out []VirtualMedia
	b.state(func() {
		for _, s := range b.media {
			out = append(out, s.snapshot())
		}
	})
	return out
}
