package testlab

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/machine"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/sim"
)

// Every machine of the lab has a BMC: a Redfish service on an HTTPS port of
// its own, with a certificate signed by the lab's CA, that stays up when
// the machine is off (BMCs run on standby power). Its resource tree is the
// DMTF public rack-mount mockup (redfish_tree.go) with the machine's values;
// its behaviour follows real BMCs, and the differences between vendors that
// clients must cope with can be switched per BMC (BMCVariant):
//
//   - Authentication (DSP0266): sessions (POST SessionService/Sessions
//     answers 201 with X-Auth-Token and Location; DELETE of the session logs
//     out; idle sessions expire after SessionTimeout) or HTTP basic auth.
//     Only /redfish, the service root, $metadata and the OData service
//     document are open; everything else answers 401 with NoValidSession, a
//     wrong password 401 with ResourceAtUriUnauthorized (as bmcweb does).
//     A BMC has a few session slots (BMCVariant.MaxSessions, default 4): a
//     login beyond them answers 503 with SessionLimitExceeded, as OpenBMC's
//     bmcweb does (iDRAC also answers 503, with its OEM RAC0218).
//   - The host's power drives the machine: when it is off the machine is
//     off (StopNode), when it is on the machine boots (StartNode after
//     BMCTiming.Boot). Powering the machine off or on through the lab
//     (PVE.StopNode, PVE.StartNode) shows on its BMC.
//   - ETags on every resource (ETag header and @odata.etag); If-Match on
//     PATCH (412 when it does not match, as DSP0266 asks); If-None-Match on
//     GET (304).
//
// Requests are served by net/http: BMC web servers speak plain HTTP/1.1 with
// standard status lines, unlike pveproxy.

// BMCVariant selects vendor behaviours of a BMC. The zero value is the DMTF
// mockup's shape: virtual media under the system, with InsertMedia and
// EjectMedia actions, actions that complete before they answer, 4 session
// slots, no busy period.
type BMCVariant struct {
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

// BMCTiming are the durations of a BMC's host power transitions. The zero
// value of a field means its default.
type BMCTiming struct {
	PowerOn          time.Duration // PoweringOn until On (default 600ms)
	ForceOff         time.Duration // PoweringOff until Off after ForceOff (default 300ms)
	GracefulShutdown time.Duration // the OS shutting down before power off or restart (default 1.5s)
	Boot             time.Duration // from power on (or restart) until the node serves its API (default 1s)
	Media            time.Duration // a virtual media task, with TaskActions (default 300ms)
}

func (t BMCTiming) withDefaults() BMCTiming {
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

// bmcUser is the BMC's administrator (Supermicro's default account name).
const bmcUser = "ADMIN"

// defaultMaxSessions is the number of session slots of a BMC.
const defaultMaxSessions = 4

// defaultSessionTimeout is SessionService.SessionTimeout until changed.
const defaultSessionTimeout = 30 * time.Minute

// BMC is the simulated BMC of one machine of the lab. Its methods are safe
// for concurrent use.
type BMC struct {
	lab      *pveLab
	host     *labHost
	machine  *machine.Machine // the server it manages
	id       bmcIdentity
	cert     tls.Certificate
	endpoint string
	srv      *http.Server

	mu             sync.Mutex
	variant        BMCVariant
	busyAnswers    int // 503s answered while busy (BusyAfterPowerOn)
	timing         BMCTiming
	sessions       map[string]*bmcSession // by token
	sessionSeq     int
	sessionTimeout time.Duration
	power          bmcPower
	media          []*vmSlot
	tasks          []*bmcTask
	taskSeq        int
	events         []*bmcEvent
	timers         map[*time.Timer]bool
	closed         bool

	// opsMu orders the node power operations the BMC performs: it is taken
	// while mu is held and released after the operations ran.
	opsMu sync.Mutex
}

// bmcSession is one Redfish session.
type bmcSession struct {
	id       string
	token    string
	user     string
	origin   string
	created  time.Time
	lastUsed time.Time
}

// bmcEvent is something that happens to the host at a time: a step of a
// power transition. Events of an older generation (power.gen) than the
// current one were cancelled.
type bmcEvent struct {
	at    time.Time
	gen   int
	kept  bool                         // not cancelled by a new power transition
	apply func(now time.Time) []nodeOp // called with mu held
}

// nodeOp powers the BMC's machine off or on in the lab.
type nodeOp struct{ up bool }

// newBMC returns the BMC of h (not listening yet).
func newBMC(l *pveLab, h *labHost, variant BMCVariant) (*BMC, error) {
	b := &BMC{
		lab:            l,
		host:           h,
		machine:        h.node.Machine,
		id:             newBMCIdentity(h.node.Machine),
		variant:        variant,
		sessions:       map[string]*bmcSession{},
		sessionTimeout: defaultSessionTimeout,
		timers:         map[*time.Timer]bool{},
	}
	b.timing = b.timing.withDefaults()
	b.media = newVirtualMedia()
	b.power = bmcPower{state: powerOn, osUp: true, lastReset: b.machine.Boot(), led: "Off",
		boot: BMCBootOverride{Target: "None", Enabled: "Disabled", Mode: "UEFI"}}
	cert, err := bmcCert(l.ca, h.name, b.id.bmcIP)
	if err != nil {
		return nil, err
	}
	b.cert = cert
	return b, nil
}

// bmcCert issues the certificate of a BMC: for 127.0.0.1, ::1, localhost,
// the BMC's address and its name (<node>-bmc), signed by the lab's CA so
// that a client trusting the lab (CACertPEM) trusts the BMCs too.
func bmcCert(ca *sim.CA, node, ip string) (tls.Certificate, error) {
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

// listen starts b's HTTPS listener on addr.
func (b *BMC) listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("testlab: BMC of %s: listen on %s: %w", b.host.name, addr, err)
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

// close stops b's listener and its timers.
func (b *BMC) close() error {
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
func (b *BMC) schedule(at time.Time, fn func(now time.Time) []nodeOp) {
	b.addEvent(&bmcEvent{at: at, gen: b.power.gen, apply: fn})
}

// scheduleKept makes fn happen at at, whatever happens to the power.
func (b *BMC) scheduleKept(at time.Time, fn func(now time.Time) []nodeOp) {
	b.addEvent(&bmcEvent{at: at, kept: true, apply: fn})
}

func (b *BMC) addEvent(e *bmcEvent) {
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

// settleLocked applies the events that are due and returns the node
// operations they call for. The caller holds mu.
func (b *BMC) settleLocked(now time.Time) []nodeOp {
	var ops []nodeOp
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
func (b *BMC) unlockAndRun(ops []nodeOp) {
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
			err = b.lab.startNode(b.host.name)
		} else {
			err = b.lab.stopNode(b.host.name)
		}
		if err != nil && !b.lab.isClosed() {
			b.lab.logf("testlab: BMC of %s: %v", b.host.name, err)
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

// syncHostPower makes b show the machine's power as the lab has it, after
// the machine was powered off or on through the lab (PVE.StopNode,
// PVE.StartNode): someone held the power button, or pulled the plug.
func (b *BMC) syncHostPower() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.opsMu.Lock() // let operations in flight finish (lock order: mu, opsMu, the lab's mu)
	defer b.opsMu.Unlock()
	up := b.lab.nodeUp(b.host.name)
	now := time.Now()
	b.settleLocked(now) // what was due happened before: the lab's state supersedes it
	b.power.external(b, up, now)
}

// --- identity --------------------------------------------------------------

// bmcIdentity are the values that tell one machine from another.
type bmcIdentity struct {
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

// bmcAddress is the address of node i's BMC on the management network.
func bmcAddress(i int) string { return fmt.Sprintf("192.168.100.%d", 110+i) }

func newBMCIdentity(n *machine.Machine) bmcIdentity {
	uuid := func(kind string) string {
		sum := sha256.Sum256([]byte("pvelab " + kind + " " + n.Name))
		sum[6] = sum[6]&0x0f | 0x40
		sum[8] = sum[8]&0x3f | 0x80
		h := hex.EncodeToString(sum[:16])
		return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
	}
	id := bmcIdentity{
		serial:        fmt.Sprintf("S%d%06dX2A", 411, 80000+137*n.ID),
		chassisSerial: fmt.Sprintf("C5110LK%02dNT%04d", 30+n.ID, 1000+61*n.ID),
		systemUUID:    uuid("system"),
		serviceUUID:   uuid("service"),
		managerUUID:   uuid("manager"),
		biosVersion:   "2.1",
		bmcFirmware:   "01.03.07",
		bmcIP:         bmcAddress(n.ID),
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

// --- serving -------------------------------------------------------------

// rfRequest is a request being served.
type rfRequest struct {
	r       *http.Request
	method  string
	path    string // without a trailing slash
	body    []byte
	now     time.Time
	user    string
	session *bmcSession
	ops     []nodeOp // node operations the request calls for
	allowed []string // the methods of the resource, for the Allow header
}

// rfResponse is an answer.
type rfResponse struct {
	status int
	body   map[string]any // JSON resource; gets an ETag when etag is set
	raw    []byte         // or raw bytes
	ctype  string         // of raw
	header http.Header
	etag   bool
}

func jsonResponse(status int, body map[string]any) *rfResponse {
	return &rfResponse{status: status, body: body, etag: status == http.StatusOK || status == http.StatusCreated}
}

func noContent() *rfResponse { return &rfResponse{status: http.StatusNoContent} }

// openPaths can be read without credentials (DSP0266, and POST of a
// session to log in).
var openPaths = map[string]bool{
	"/redfish": true, "/redfish/v1": true, "/redfish/v1/$metadata": true, "/redfish/v1/odata": true,
}

// ServeHTTP serves the Redfish API.
func (b *BMC) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := &rfRequest{r: r, method: r.Method, now: time.Now()}
	if q.method == http.MethodHead {
		q.method = http.MethodGet
	}
	q.path = strings.TrimRight(r.URL.Path, "/")
	if q.path == "" {
		q.path = "/"
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	q.body = body

	b.mu.Lock()
	ops := b.settleLocked(q.now)
	resp, rerr := b.serveLocked(q)
	ops = append(ops, q.ops...)
	b.unlockAndRun(ops)

	if rerr != nil {
		resp = &rfResponse{status: rerr.status, body: rerr.body(), header: rerr.header}
	} else if len(q.allowed) > 0 && q.method == http.MethodGet {
		if resp.header == nil {
			resp.header = http.Header{}
		}
		resp.header.Set("Allow", strings.Join(q.allowed, ", "))
	}
	b.write(w, r, resp)
}

// serveLocked answers q. The caller holds mu.
func (b *BMC) serveLocked(q *rfRequest) (*rfResponse, *rfError) {
	if !strings.HasPrefix(q.path+"/", "/redfish/") {
		return nil, rfErr(http.StatusNotFound, msg("ResourceMissingAtURI", q.path))
	}
	open := openPaths[q.path] && q.method == http.MethodGet
	login := q.path == "/redfish/v1/SessionService/Sessions" && q.method == http.MethodPost
	if until := b.power.busyUntil; q.now.Before(until) && !open {
		secs := strconv.Itoa(int(math.Ceil(until.Sub(q.now).Seconds())))
		e := rfErr(http.StatusServiceUnavailable, msg("ServiceTemporarilyUnavailable", secs))
		e.header = http.Header{"Retry-After": {secs}}
		b.busyAnswers++
		return nil, e
	}
	if !open && !login {
		if err := b.authenticateLocked(q); err != nil {
			return nil, err
		}
	}
	for k := range q.r.URL.Query() {
		if strings.HasPrefix(k, "$") {
			return nil, rfErr(http.StatusNotImplemented, msg("QueryNotSupported"))
		}
	}
	if q.method == http.MethodPost || q.method == http.MethodPatch || q.method == http.MethodPut {
		ct := q.r.Header.Get("Content-Type")
		if ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") && len(q.body) > 0 {
			return nil, rfErr(http.StatusUnsupportedMediaType, msg("UnrecognizedRequestBody"))
		}
	}
	return b.routeLocked(q)
}

// authenticateLocked checks q's session token or basic credentials.
func (b *BMC) authenticateLocked(q *rfRequest) *rfError {
	if token := q.r.Header.Get("X-Auth-Token"); token != "" {
		for t, s := range b.sessions {
			if subtle.ConstantTimeCompare([]byte(t), []byte(token)) == 1 {
				s.lastUsed = q.now
				q.user, q.session = s.user, s
				return nil
			}
		}
		return errNoSession()
	}
	if user, pass, ok := q.r.BasicAuth(); ok {
		if !b.lab.bmcCredentialsOK(user, pass) {
			e := rfErr(http.StatusUnauthorized, msg("ResourceAtUriUnauthorized", q.path, "Invalid username or password"))
			e.header = http.Header{"WWW-Authenticate": {`Basic realm="Redfish"`}}
			return e
		}
		q.user = user
		return nil
	}
	return errNoSession()
}

// write sends resp.
func (b *BMC) write(w http.ResponseWriter, r *http.Request, resp *rfResponse) {
	h := w.Header()
	for k, v := range resp.header {
		h[k] = v
	}
	h.Set("OData-Version", "4.0")
	h.Set("Cache-Control", "no-cache")
	var payload []byte
	switch {
	case resp.body != nil:
		if resp.etag {
			tag := etagOf(resp.body)
			resp.body["@odata.etag"] = tag
			h.Set("ETag", tag)
			if inm := r.Header.Get("If-None-Match"); inm != "" && r.Method == http.MethodGet && etagMatches(inm, tag) {
				w.WriteHeader(http.StatusNotModified)
				return
			}
		}
		payload = marshalJSON(resp.body)
		h.Set("Content-Type", "application/json; charset=utf-8")
	case resp.raw != nil:
		payload = resp.raw
		h.Set("Content-Type", resp.ctype)
		if resp.etag {
			sum := sha256.Sum256(payload)
			tag := `"` + strings.ToUpper(hex.EncodeToString(sum[:8])) + `"`
			h.Set("ETag", tag)
			if inm := r.Header.Get("If-None-Match"); inm != "" && r.Method == http.MethodGet && etagMatches(inm, tag) {
				w.WriteHeader(http.StatusNotModified)
				return
			}
		}
	}
	if payload != nil {
		h.Set("Content-Length", strconv.Itoa(len(payload)))
	}
	w.WriteHeader(resp.status)
	if r.Method != http.MethodHead && payload != nil {
		_, _ = w.Write(payload)
	}
}

// marshalJSON encodes v without escaping HTML characters.
func marshalJSON(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic("testlab: encode Redfish resource: " + err.Error())
	}
	return bytes.TrimRight(buf.Bytes(), "\n")
}

// etagOf is the ETag of a resource: a hash of its representation (without
// its @odata.etag), as bmcweb computes it.
func etagOf(body map[string]any) string {
	delete(body, "@odata.etag")
	sum := sha256.Sum256(marshalJSON(body))
	return `"` + strings.ToUpper(hex.EncodeToString(sum[:8])) + `"`
}

// etagMatches reports whether an If-Match or If-None-Match header lists tag.
func etagMatches(header, tag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || t == tag || strings.TrimPrefix(t, "W/") == tag {
			return true
		}
	}
	return false
}

// checkIfMatch answers 412 when q has an If-Match that does not match the
// current representation of a resource.
func checkIfMatch(q *rfRequest, current map[string]any) *rfError {
	im := q.r.Header.Get("If-Match")
	if im == "" || etagMatches(im, etagOf(current)) {
		return nil
	}
	return errGeneral(http.StatusPreconditionFailed,
		"The ETag supplied in If-Match does not match the current ETag of the resource. Read the resource again and resubmit the request with its current ETag.")
}

// --- request bodies --------------------------------------------------------

// parseObject parses a JSON object body. Annotations (keys with "@") are
// dropped, as DSP0266 lets services ignore them.
func parseObject(body []byte) (map[string]json.RawMessage, *rfError) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil || obj == nil {
		return nil, errMalformedJSON()
	}
	for k := range obj {
		if strings.Contains(k, "@") {
			delete(obj, k)
		}
	}
	return obj, nil
}

// rawText is a JSON value as messages quote it.
func rawText(v json.RawMessage) string { return string(bytes.TrimSpace(v)) }

func asString(v json.RawMessage) (string, bool) {
	var s string
	return s, json.Unmarshal(v, &s) == nil
}

func asBool(v json.RawMessage) (bool, bool) {
	var x bool
	return x, json.Unmarshal(v, &x) == nil
}

func isNull(v json.RawMessage) bool { return rawText(v) == "null" }

// sortedKeys returns the keys of m in order, so that errors are stable.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// --- sessions --------------------------------------------------------------

// expireSessionsLocked drops the sessions idle longer than the timeout.
func (b *BMC) expireSessionsLocked(now time.Time) {
	for t, s := range b.sessions {
		if now.Sub(s.lastUsed) >= b.sessionTimeout {
			delete(b.sessions, t)
		}
	}
}

func sessionURI(id string) string { return "/redfish/v1/SessionService/Sessions/" + id }

func (s *bmcSession) resource() map[string]any {
	return map[string]any{
		"@odata.id":             sessionURI(s.id),
		"@odata.type":           "#Session.v1_6_0.Session",
		"Id":                    s.id,
		"Name":                  "User Session",
		"Description":           "Manager User Session",
		"UserName":              s.user,
		"SessionType":           "Redfish",
		"ClientOriginIPAddress": s.origin,
		"CreatedTime":           rfTime(s.created),
	}
}

func (b *BMC) sessionByID(id string) *bmcSession {
	for _, s := range b.sessions {
		if s.id == id {
			return s
		}
	}
	return nil
}

// login serves POST /redfish/v1/SessionService/Sessions.
func (b *BMC) login(q *rfRequest) (*rfResponse, *rfError) {
	obj, err := parseObject(q.body)
	if err != nil {
		return nil, err
	}
	var user, pass string
	for _, k := range sortedKeys(obj) {
		v := obj[k]
		switch k {
		case "UserName", "Password":
			s, ok := asString(v)
			if !ok {
				return nil, errPropertyType(rawText(v), k)
			}
			if k == "UserName" {
				user = s
			} else {
				pass = s
			}
		case "Context", "Oem":
		default:
			return nil, errPropertyUnknown(k)
		}
	}
	var missing []rfMessage
	if user == "" {
		missing = append(missing, msg("PropertyMissing", "UserName"))
	}
	if pass == "" {
		missing = append(missing, msg("PropertyMissing", "Password"))
	}
	if len(missing) > 0 {
		return nil, rfErr(http.StatusBadRequest, missing...)
	}
	if !b.lab.bmcCredentialsOK(user, pass) {
		return nil, rfErr(http.StatusUnauthorized, msg("ResourceAtUriUnauthorized", q.path, "Invalid username or password"))
	}
	if len(b.sessions) >= b.maxSessions() {
		return nil, rfErr(http.StatusServiceUnavailable, msg("SessionLimitExceeded"))
	}
	b.sessionSeq++
	s := &bmcSession{
		id:       strconv.Itoa(b.sessionSeq),
		token:    sim.RandomHex(16),
		user:     user,
		created:  q.now,
		lastUsed: q.now,
	}
	if host, _, err := net.SplitHostPort(q.r.RemoteAddr); err == nil {
		s.origin = host
	}
	b.sessions[s.token] = s
	resp := jsonResponse(http.StatusCreated, s.resource())
	resp.header = http.Header{"X-Auth-Token": {s.token}, "Location": {sessionURI(s.id)}}
	return resp, nil
}

func (b *BMC) maxSessions() int {
	if b.variant.MaxSessions > 0 {
		return b.variant.MaxSessions
	}
	return defaultMaxSessions
}

// rfTime formats t as Redfish date-times are (ISO 8601 with offset).
func rfTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05+00:00") }

// --- lab integration -------------------------------------------------------

// bmcCredentialsOK checks a BMC user and password.
func (l *pveLab) bmcCredentialsOK(user, pass string) bool {
	return user == bmcUser && subtle.ConstantTimeCompare([]byte(pass), []byte(l.bmcPassword)) == 1
}

// isClosed reports whether the lab was closed.
func (l *pveLab) isClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

// nodeUp reports whether node name is powered on.
func (l *pveLab) nodeUp(name string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	h := l.host(name)
	return h != nil && h.up
}

// startBMCs creates and starts the BMC of every machine on addr's host.
func (l *pveLab) startBMCs(addr string, variant BMCVariant) error {
	for _, h := range l.hosts {
		b, err := newBMC(l, h, variant)
		if err != nil {
			return err
		}
		if err := b.listen(addr); err != nil {
			return err
		}
		h.bmc = b
	}
	return nil
}

// closeBMCs stops every BMC.
func (l *pveLab) closeBMCs() error {
	var first error
	for _, h := range l.hosts {
		if h.bmc != nil {
			if err := h.bmc.close(); err != nil && first == nil {
				first = err
			}
		}
	}
	return first
}

// BMC returns the BMC of a node (nil for an unknown node).
func (p *PVE) BMC(node string) *BMC {
	if h := p.lab.host(node); h != nil {
		return h.bmc
	}
	return nil
}

// BMCEndpoint returns the base URL of a node's BMC, e.g.
// "https://127.0.0.1:43211" (without /redfish/v1; "" for an unknown node).
func (p *PVE) BMCEndpoint(node string) string {
	if b := p.BMC(node); b != nil {
		return b.Endpoint()
	}
	return ""
}

// BMCUsername returns the BMCs' administrator, "ADMIN".
func (p *PVE) BMCUsername() string { return bmcUser }

// BMCPassword returns the password of the BMCs' administrator (random per
// lab, the same on every BMC).
func (p *PVE) BMCPassword() string { return p.lab.bmcPassword }

// Endpoint returns the BMC's base URL.
func (b *BMC) Endpoint() string { return b.endpoint }

// Node returns the name of the BMC's machine.
func (b *BMC) Node() string { return b.host.name }

// SystemID returns the ID of the BMC's computer system (its serial
// number): /redfish/v1/Systems/<SystemID>.
func (b *BMC) SystemID() string { return b.id.systemID }

// ManagerID returns the ID of the BMC's manager: /redfish/v1/Managers/<ManagerID>.
func (b *BMC) ManagerID() string { return rfManagerID }

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
// busy after a power on (BMCVariant.BusyAfterPowerOn).
func (b *BMC) BusyAnswers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.busyAnswers
}

// SetVariant switches the BMC's vendor behaviours. Virtual media keep their
// state when they move between the system and the manager.
func (b *BMC) SetVariant(v BMCVariant) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.variant = v
}

// Variant returns the BMC's vendor behaviours.
func (b *BMC) Variant() BMCVariant {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.variant
}

// SetTiming sets the durations of the BMC's power transitions (zero fields
// take their defaults). Transitions already under way keep theirs.
func (b *BMC) SetTiming(t BMCTiming) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.timing = t.withDefaults()
}

// Timing returns the durations of the BMC's power transitions.
func (b *BMC) Timing() BMCTiming {
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
func (b *BMC) BootOverride() BMCBootOverride {
	var o BMCBootOverride
	b.state(func() { o = b.power.boot })
	return o
}

// LastBoot returns how the host booted last (a zero value before the first
// boot the BMC saw).
func (b *BMC) LastBoot() BMCBoot {
	var o BMCBoot
	b.state(func() { o = b.power.lastBoot })
	return o
}

// VirtualMedia returns the state of the BMC's virtual media slots.
func (b *BMC) VirtualMedia() []BMCVirtualMedia {
	var out []BMCVirtualMedia
	b.state(func() {
		for _, s := range b.media {
			out = append(out, s.snapshot())
		}
	})
	return out
}

// bmcEnvVars are the variables EnvLines exports for the BMCs:
// BMC_USERNAME, BMC_PASSWORD and the endpoint of every node's BMC,
// BMC_ENDPOINT_PVE1, ...
func (p *PVE) bmcEnvVars() [][2]string {
	vars := [][2]string{{"BMC_USERNAME", p.BMCUsername()}, {"BMC_PASSWORD", p.BMCPassword()}}
	for _, name := range p.NodeNames() {
		vars = append(vars, [2]string{"BMC_ENDPOINT_" + strings.ToUpper(name), p.BMCEndpoint(name)})
	}
	return vars
}
