package testlab

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
)

// PVE release the simulator reports; it matches the bundled schema file name.
const (
	pveVersion  = "9.1.3"
	pveRelease  = "9.1"
	pveRepoID   = "a1b2c3d4"
	pveKernel   = "6.17.2-1-pve"
	pveKVersion = "#1 SMP PREEMPT_DYNAMIC PMX 6.17.2-1 (2025-10-21T11:55Z)"
)

// Lab identity: the user and API token the lab accepts.
const (
	labUser      = "root@pam"
	labTokenName = "lab"
	clusterName  = "pvelab"
)

// PVEOptions configures StartPVE. The zero value starts a three node cluster
// on a random loopback port.
type PVEOptions struct {
	// Nodes is the number of cluster nodes, named pve1, pve2, ... (default 3).
	// A single node is a standalone PVE host: no cluster entry, no cluster name.
	Nodes int
	// Addr is the listen address (default "127.0.0.1:0").
	Addr string
	// SchemaPath is the PVE API schema (apidata JSON). "" discovers it (see
	// StartPVE); "-" disables schema validation.
	SchemaPath string
	// Logf receives diagnostic messages (optional).
	Logf func(format string, args ...any)
	// Version is the PVE release to model: "9.1" (default) or "8.4". It
	// selects the API schema (pve-9.1.3.json or pve-8.4.2.json), the versions
	// the nodes report and release specific behaviour (HA rules on 9.1, HA
	// groups on 8.4).
	Version string
}

// PVE is a running simulated Proxmox VE cluster. All its methods are safe for
// concurrent use.
type PVE struct {
	logf       func(format string, args ...any)
	schema     *apiSchema
	cert       *labCert
	srv        *httpServer
	endpoint   string
	password   string
	token      string // secret of root@pam!lab
	ticketKey  []byte
	csrfKey    []byte
	faults     *Faults
	routes     *router
	stats      requestStats
	standalone bool

	mu              sync.Mutex
	nodes           []*node
	tasks           map[string]*task
	guests          map[int]guestRef
	qemu            qemuState                 // VMs
	lxc             lxcState                  // containers
	ops             []*vmOp                   // workers acting on guests
	flocks          map[int]*flock            // guest config flocks, by VMID
	rel             *pveReleaseInfo           // the modelled release
	ha              *haState                  // /etc/pve/ha (ha.go)
	dcConfig        string                    // /etc/pve/datacenter.cfg (options.go)
	pools           poolState                 // resource pools (user.cfg)
	resourceSources []func() []map[string]any // more /cluster/resources entries; called with mu held
	mappingFiles    map[string]string         // /etc/pve/mapping/<kind>.cfg, by kind ("pci", "usb")
	lastPID         int
	logged          map[string]bool
}

// StartPVE starts a simulated PVE cluster listening on HTTPS.
//
// The API schema is found, in this order, at opts.SchemaPath, at the path in
// the environment variable PVE_API_SCHEMA, or by walking up from the working
// directory and looking at each level for ../shared/api-schemas/pve-9.1.3.json
// and shared/api-schemas/pve-9.1.3.json (pve-8.4.2.json with Version "8.4";
// PVE_API_SCHEMA then names the 9.1 file, the 8.4 file is looked for beside
// it). Without a schema the lab still works, but it no longer rejects bad
// parameters; it says so once through Logf.
func StartPVE(opts PVEOptions) (*PVE, error) {
	if opts.Nodes < 0 {
		return nil, fmt.Errorf("testlab: invalid node count %d", opts.Nodes)
	}
	if opts.Nodes == 0 {
		opts.Nodes = 3
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	rel, err := lookupPVERelease(opts.Version)
	if err != nil {
		return nil, err
	}
	p := &PVE{
		logf:       opts.Logf,
		password:   randomHex(12),
		token:      randomUUID(),
		ticketKey:  randomBytes(32),
		csrfKey:    randomBytes(32),
		faults:     newFaults(),
		routes:     newRouter(),
		standalone: opts.Nodes == 1,
		tasks:      map[string]*task{},
		guests:     map[int]guestRef{},
		qemu:       newQemuState(),
		lxc:        newLXCState(),
		flocks:     map[int]*flock{},
		rel:        rel,
		ha:         newHAState(),
		logged:     map[string]bool{},
	}
	if p.logf == nil {
		p.logf = func(string, ...any) {}
	}

	if err := p.loadSchema(opts.SchemaPath); err != nil {
		return nil, err
	}

	cert, err := newLabCert()
	if err != nil {
		return nil, err
	}
	p.cert = cert

	now := time.Now()
	for i := 1; i <= opts.Nodes; i++ {
		p.nodes = append(p.nodes, newNode(i, now))
	}
	p.registerBuiltins()
	p.dropRoutesOutsideSchema()
	p.checkRoutesAgainstSchema()

	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("testlab: listen on %s: %w", opts.Addr, err)
	}
	p.endpoint = "https://" + endpointHost(ln.Addr())
	p.srv = newHTTPServer(ln, cert.tlsConfig(), p.serveRequest)
	go p.srv.serve()
	return p, nil
}

// endpointHost returns host:port for a listener address, replacing an
// unspecified IP with the loopback address so that the endpoint is dialable.
func endpointHost(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return addr.String()
	}
	ip := tcp.IP
	if ip == nil || ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
	}
	return net.JoinHostPort(ip.String(), fmt.Sprint(tcp.Port))
}

// Endpoint returns the base URL, e.g. "https://127.0.0.1:8006" (without /api2/json).
func (p *PVE) Endpoint() string { return p.endpoint }

// Fingerprint returns the SHA-256 fingerprint of the lab certificate the way
// PVE shows it: uppercase hex bytes separated by colons.
func (p *PVE) Fingerprint() string { return p.cert.fingerprint }

// CACertPEM returns the PEM encoded self-signed certificate of the lab, valid
// for 127.0.0.1, ::1 and localhost.
func (p *PVE) CACertPEM() string { return string(p.cert.certPEM) }

// Username returns the user the lab accepts, "root@pam".
func (p *PVE) Username() string { return labUser }

// Password returns the password of root@pam (random per lab).
func (p *PVE) Password() string { return p.password }

// APIToken returns the lab's API token in the form user@realm!tokenid=secret.
func (p *PVE) APIToken() string { return p.tokenID() + "=" + p.token }

func (p *PVE) tokenID() string { return labUser + "!" + labTokenName }

// SchemaLoaded reports whether requests are validated against the official schema.
func (p *PVE) SchemaLoaded() bool { return p.schema != nil }

// Faults returns the fault-injection knobs of the lab.
func (p *PVE) Faults() *Faults { return p.faults }

// Requests returns the number of API requests received per "METHOD /path/template",
// e.g. "GET /nodes/{node}/status". Requests to unknown paths count under their
// literal path.
func (p *PVE) Requests() map[string]int { return p.stats.snapshot() }

// ResetRequests zeroes the request counters.
func (p *PVE) ResetRequests() { p.stats.reset() }

// EnvLines returns shell lines exporting the lab's connection settings:
// PVE_ENDPOINT, PVE_API_TOKEN, PVE_TLS_FINGERPRINT, PVE_USERNAME and PVE_PASSWORD.
func (p *PVE) EnvLines() []string {
	vars := [][2]string{
		{"PVE_ENDPOINT", p.Endpoint()},
		{"PVE_API_TOKEN", p.APIToken()},
		{"PVE_TLS_FINGERPRINT", p.Fingerprint()},
		{"PVE_USERNAME", p.Username()},
		{"PVE_PASSWORD", p.Password()},
	}
	lines := make([]string, 0, len(vars))
	for _, v := range vars {
		lines = append(lines, "export "+v[0]+"="+shellQuote(v[1]))
	}
	return lines
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./-]+$`)

// shellQuote quotes s for POSIX shells when it contains anything but safe characters.
func shellQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Close stops the server and closes all connections.
func (p *PVE) Close() error {
	if p.srv == nil {
		return nil
	}
	return p.srv.close()
}

// logOnce logs a message the first time key is seen.
func (p *PVE) logOnce(key, format string, args ...any) {
	p.mu.Lock()
	seen := p.logged[key]
	p.logged[key] = true
	p.mu.Unlock()
	if !seen {
		p.logf(format, args...)
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return b
}

func randomHex(n int) string { return hex.EncodeToString(randomBytes(n)) }

// randomUUID returns a random version 4 UUID, the form PVE uses for token secrets.
func randomUUID() string {
	b := randomBytes(16)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// errSchemaNotFound is returned by findSchema when no schema file was found.
var errSchemaNotFound = errors.New("schema not found")

// schemaFileName is the schema the simulator models.
const schemaFileName = "pve-9.1.3.json"

// findSchemaFor returns the schema path to use: PVE_API_SCHEMA, else the first
// shared/api-schemas file found walking up from the working directory.
func findSchemaFor(rel *pveReleaseInfo) (string, error) {
	schemaFileName := rel.schemaFile
	if env := os.Getenv("PVE_API_SCHEMA"); env != "" {
		return schemaFor(env, rel), nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		for _, c := range []string{
			filepath.Join(dir, "..", "shared", "api-schemas", schemaFileName),
			filepath.Join(dir, "shared", "api-schemas", schemaFileName),
		} {
			if st, err := os.Stat(c); err == nil && !st.IsDir() {
				return c, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errSchemaNotFound
		}
		dir = parent
	}
}

// loadSchema loads the schema according to the SchemaPath option.
func (p *PVE) loadSchema(path string) error {
	switch path {
	case "-":
		p.logf("testlab: PVE schema validation disabled")
		return nil
	case "":
		found, err := findSchemaFor(p.rel)
		if errors.Is(err, errSchemaNotFound) {
			p.logf("testlab: PVE API schema %s not found (set PVE_API_SCHEMA or put shared/api-schemas beside the repository); requests are not validated against the official schema", p.rel.schemaFile)
			return nil
		}
		if err != nil {
			return fmt.Errorf("testlab: find PVE schema: %w", err)
		}
		path = found
	}
	s, err := loadSchemaFile(path)
	if err != nil {
		return fmt.Errorf("testlab: load PVE schema: %w", err)
	}
	p.schema = s
	p.routes.attachSchema(s)
	return nil
}
