package pbssim

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"regexp"
	"sync"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/labdata"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/sim"
)

// PBS release the simulator reports (GET /version). Guessed: a PBS 4.x
// release with the S3 backend and notification thresholds of the schema.
const (
	serverVersion = "4.1"
	serverRelease = "2"
	serverRepoID  = "9d3c8f4ee1a7b6c0"
)

// Options configures Start. The zero value starts a PBS on a random
// loopback port with a CA of its own.
type Options struct {
	// Addr is the listen address (default "127.0.0.1:0").
	Addr string
	// Hostname is the server's host name (default "pbs"): the node in its
	// UPIDs and the name in its certificate. Like PBS it answers for any
	// node name in /nodes/{node}/..., "localhost" included.
	Hostname string
	// Password is root@pam's password (default: random).
	Password string
	// SchemaPath is the PBS API schema (apidoc JSON). "" discovers it:
	// PBS_API_SCHEMA, else shared/api-schemas/pbs-4.x.json beside the
	// repository, found walking up from the working directory, else the
	// lab's copy of the part it serves (package labdata); "-" disables
	// schema validation.
	SchemaPath string
	// CA signs the server's certificate: given a PVE lab's CA (pvesim's
	// PVE.CA), one CA (the lab's CACertPEM) covers both. Without it the
	// PBS has a CA of its own (CACertPEM).
	CA *sim.CA
	// TaskDuration is how long a worker (create-datastore,
	// delete-datastore) runs (default 50ms). Clients must wait for it.
	TaskDuration time.Duration
	// Logf receives diagnostic messages (optional).
	Logf func(format string, args ...any)
}

// Server is a running simulated Proxmox Backup Server. All its methods are
// safe for concurrent use.
type Server struct {
	logf     func(format string, args ...any)
	schema   *apiSchema
	faults   *sim.Faults
	routes   *router
	stats    sim.RequestStats
	hostname string
	password string
	ca       *sim.CA
	cert     *sim.Cert
	srv      *sim.Server
	url      string
	port     int
	taskTime time.Duration

	ticketKey []byte // signs tickets (the lab's stand-in for authkey.key)
	csrfKey   []byte // csrf.key
	labToken  string // secret of root@pam!lab

	// the proxmox-backup-api process that runs the workers
	pid    int
	pstart int64

	mu         sync.Mutex
	datastores []*datastore // datastore.cfg, in file order
	pruneJobs  []*pruneJob  // prune.cfg, in file order
	tokens     []*apiToken  // the token sections of user.cfg, in file order
	secrets    map[string]string
	disk       map[string]*dataDir // directories that hold datastore data, by path
	usage      map[string][2]uint64
	tasks      []*task
	nextTaskID int
	closed     bool
}

// labTokenName is the token Start creates for root@pam.
const labTokenName = "lab"

// labUser is the one user the server knows.
const labUser = "root@pam"

// hostnameRE is what a host name must look like (a DNS label, as PVE's
// node names).
var hostnameRE = regexp.MustCompile(`^([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?)$`)

// gib is a gibibyte.
const gib = 1 << 30

// Start starts a simulated Proxmox Backup Server.
func Start(opts Options) (*Server, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.Hostname == "" {
		opts.Hostname = "pbs"
	}
	if !hostnameRE.MatchString(opts.Hostname) {
		return nil, fmt.Errorf("pbssim: invalid PBS host name %q", opts.Hostname)
	}
	if opts.TaskDuration <= 0 {
		opts.TaskDuration = 50 * time.Millisecond
	}
	s := &Server{
		logf:      opts.Logf,
		faults:    sim.NewFaults(),
		hostname:  opts.Hostname,
		password:  opts.Password,
		taskTime:  opts.TaskDuration,
		ticketKey: sim.RandomBytes(32),
		csrfKey:   sim.RandomBytes(32),
		labToken:  sim.RandomUUID(),
		pid:       1000 + rand.IntN(60000),
		pstart:    int64(100000 + rand.IntN(900000)),
		secrets:   map[string]string{},
		disk:      map[string]*dataDir{},
		usage:     map[string][2]uint64{},
	}
	if s.logf == nil {
		s.logf = func(string, ...any) {}
	}
	if s.password == "" {
		s.password = sim.RandomHex(12)
	}
	if err := s.loadSchema(opts.SchemaPath); err != nil {
		return nil, err
	}
	s.tokens = append(s.tokens, &apiToken{id: labUser + "!" + labTokenName, props: map[string]any{}})
	s.secrets[labUser+"!"+labTokenName] = s.labToken

	if opts.CA != nil {
		s.ca = opts.CA
	} else {
		ca, err := sim.NewCA()
		if err != nil {
			return nil, err
		}
		s.ca = ca
	}
	key, err := sim.NewKey()
	if err != nil {
		return nil, err
	}
	// Guessed: PBS's own certificate (proxy.pem) names the host; the lab's
	// is signed by the lab CA so that a client can trust it.
	subject := pkix.Name{CommonName: s.hostname, Organization: []string{"Proxmox Backup Server"}}
	s.cert, err = s.ca.ServerCert(subject, []string{"localhost", s.hostname}, []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}, key)
	if err != nil {
		return nil, err
	}

	s.routes = newRouter(s.schema)
	s.registerRoutes()

	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("pbssim: listen on %s: %w", opts.Addr, err)
	}
	s.url = "https://" + sim.EndpointHost(ln.Addr())
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok {
		s.port = tcp.Port
	}
	s.srv = sim.NewServer(ln, sim.ServerTLSConfig(func() *sim.Cert { return s.cert }), s.serve)
	s.srv.Write = writeResponse
	s.srv.KeepErrors = true
	go s.srv.Serve()
	return s, nil
}

// ServedRoutes returns the "METHOD /template" keys of the routes the
// simulator serves: those with a handler. labdata's generator keeps their
// parameter schemas (testlab.GenerateLabData).
func ServedRoutes() (map[string]bool, error) {
	s, err := Start(Options{SchemaPath: "-"})
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, r := range s.routes.served() {
		out[r] = true
	}
	return out, s.Close()
}

// loadSchema loads the schema according to Options.SchemaPath: a file,
// "-" for none, or "" for PBS_API_SCHEMA, else the official schema beside
// the repository, else the lab's copy (labdata.FindSchema).
func (s *Server) loadSchema(path string) error {
	if path == "" {
		path = os.Getenv("PBS_API_SCHEMA")
	}
	src, ok, err := labdata.FindSchema(path, schemaFileName)
	if err != nil {
		return err
	}
	if !ok {
		s.logf("pbssim: PBS schema validation disabled")
		return nil
	}
	sch, err := loadAPISchema(src)
	if err != nil {
		return fmt.Errorf("pbssim: load PBS schema: %w", err)
	}
	s.schema = sch
	return nil
}

// Close stops the server and closes all connections.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return s.srv.Close()
}

// URL returns the base URL of the API, e.g. "https://127.0.0.1:8007"
// (without /api2/json).
func (s *Server) URL() string { return s.url }

// Host returns the address the server listens on, e.g. "127.0.0.1": what a
// PVE storage's "server" names.
func (s *Server) Host() string {
	host, _, _ := net.SplitHostPort(s.url[len("https://"):])
	return host
}

// Port returns the port the server listens on.
func (s *Server) Port() int { return s.port }

// Hostname returns the server's host name, the node name of its UPIDs.
func (s *Server) Hostname() string { return s.hostname }

// Fingerprint returns the SHA-256 fingerprint of the server's certificate
// as PBS shows it (dashboard, proxmox-backup-manager cert info): uppercase
// hex bytes separated by colons.
func (s *Server) Fingerprint() string { return s.cert.Fingerprint }

// CACertPEM returns the PEM encoded certificate of the CA that signs the
// server's certificate (Options.CA when it was given).
func (s *Server) CACertPEM() string { return string(s.ca.CertPEM) }

// Username returns the user the server knows, "root@pam".
func (s *Server) Username() string { return labUser }

// Password returns root@pam's password.
func (s *Server) Password() string { return s.password }

// APIToken returns the lab's API token root@pam!lab as "tokenid:secret",
// the form of the header "Authorization: PBSAPIToken=tokenid:secret".
func (s *Server) APIToken() string { return labUser + "!" + labTokenName + ":" + s.labToken }

// AddToken creates an API token for user (only "root@pam" exists) as POST
// /access/users/{userid}/token/{token-name} does, and returns its secret.
func (s *Server) AddToken(user, name string) (string, error) {
	if user != labUser {
		return "", fmt.Errorf("pbssim: PBS has no user %q", user)
	}
	if !safeIDRE.MatchString(name) {
		return "", fmt.Errorf("pbssim: invalid token name %q", name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	res, err := s.generateTokenLocked(user, name, map[string]any{})
	if err != nil {
		return "", err
	}
	return res["value"].(string), nil
}

// Faults returns the fault-injection knobs of the server. FailNextTasks
// fails the next workers, FailNextRequests answers requests other than
// logins with the given status and message, SetLockContention makes
// configuration writers time out on their lock.
func (s *Server) Faults() *sim.Faults { return s.faults }

// SchemaLoaded reports whether requests are validated against the
// official schema.
func (s *Server) SchemaLoaded() bool { return s.schema != nil }

// Requests returns the number of API requests per "METHOD /template".
func (s *Server) Requests() map[string]int { return s.stats.Snapshot() }

// ResetRequests zeroes the request counters.
func (s *Server) ResetRequests() { s.stats.Reset() }

// DatastoreDataExists reports whether a chunk store (the .chunks directory
// of a datastore) exists at path: created with a datastore, kept when the
// datastore is removed without destroy-data.
func (s *Server) DatastoreDataExists(path string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settleLocked(time.Now())
	d := s.disk[cleanPath(path)]
	return d != nil && d.chunkStore
}

// SetDatastoreUsage sets the size and usage of the file system a datastore
// lives on, as its status reports them (default: 1 TiB, 16 GiB used).
func (s *Server) SetDatastoreUsage(store string, total, used uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settleLocked(time.Now())
	ds := s.datastoreLocked(store)
	if ds == nil {
		return fmt.Errorf("pbssim: no datastore %q", store)
	}
	if used > total {
		return fmt.Errorf("pbssim: used %d exceeds total %d", used, total)
	}
	s.usage[ds.path()] = [2]uint64{total, used}
	return nil
}

// EnvLines returns shell lines exporting the server's connection settings:
// PBS_ENDPOINT, PBS_USERNAME, PBS_PASSWORD, PBS_TLS_FINGERPRINT and
// PBS_API_TOKEN.
func (s *Server) EnvLines() []string {
	vars := [][2]string{
		{"PBS_ENDPOINT", s.URL()},
		{"PBS_USERNAME", s.Username()},
		{"PBS_PASSWORD", s.Password()},
		{"PBS_TLS_FINGERPRINT", s.Fingerprint()},
		{"PBS_API_TOKEN", s.APIToken()},
	}
	out := make([]string, 0, len(vars))
	for _, v := range vars {
		out = append(out, "export "+v[0]+"="+sim.ShellQuote(v[1]))
	}
	return out
}

// defaultDatastoreUsage is the file system a datastore reports without
// SetDatastoreUsage: 1 TiB with 16 GiB used.
var defaultDatastoreUsage = [2]uint64{1024 * gib, 16 * gib}

func (s *Server) usageOf(path string) (total, used uint64) {
	u, ok := s.usage[path]
	if !ok {
		u = defaultDatastoreUsage
	}
	return u[0], u[1]
}

// taskListNode is the node name PBS reports for task list entries
// (into_task_list_item).
const taskListNode = "localhost"

// registerRoutes registers the handlers of the simulator.
func (s *Server) registerRoutes() {
	s.routes.handle(http.MethodGet, "/version", func(*request) (any, error) {
		return map[string]any{"version": serverVersion, "release": serverRelease, "repoid": serverRepoID}, nil
	}, false)
	s.routes.handle(http.MethodGet, "/ping", func(*request) (any, error) {
		return map[string]any{"pong": true}, nil
	}, true)
	s.routes.handle(http.MethodGet, "/nodes/{node}/certificates/info", s.certificateInfo, false)
	s.registerAuthRoutes()
	s.registerTaskRoutes()
	s.registerDatastoreRoutes()
	s.registerPruneRoutes()
	s.routes.registerSubdirListings()
}

// certificateInfo serves GET /nodes/{node}/certificates/info, what
// "proxmox-backup-manager cert info" shows.
func (s *Server) certificateInfo(*request) (any, error) {
	c, err := x509.ParseCertificate(s.cert.TLS.Certificate[0])
	if err != nil {
		return nil, err
	}
	var san []string
	for _, n := range c.DNSNames {
		san = append(san, "DNS:"+n)
	}
	for _, ip := range c.IPAddresses {
		san = append(san, "IP Address:"+ip.String())
	}
	return []map[string]any{{
		"filename":        "proxy.pem",
		"fingerprint":     s.cert.Fingerprint,
		"subject":         c.Subject.String(),
		"issuer":          c.Issuer.String(),
		"notbefore":       c.NotBefore.Unix(),
		"notafter":        c.NotAfter.Unix(),
		"san":             san,
		"public-key-type": "id-ecPublicKey",
		"public-key-bits": 256,
		"pem":             string(s.cert.PEM),
	}}, nil
}
