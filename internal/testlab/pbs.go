package testlab

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/pveschema"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/sim"
)

// A simulated Proxmox Backup Server 4 (proxmox-backup-proxy and
// proxmox-backup-api behind it): one HTTPS listener serving /api2/json with
// PBS's request pipeline (proxmox-rest-server), authentication
// (proxmox-auth-api), parameter checks (proxmox-schema, against the
// official apidoc when it is available), error answers, worker tasks and
// the configuration files it manages (datastore.cfg, prune.cfg, user.cfg
// with its tokens), plus the directories of the datastores: a chunk store
// outlives its datastore unless it is removed with destroy-data.
//
// The lab has one user, root@pam, and every authenticated ID (the user, its
// tickets and its API tokens) has every privilege: ACLs are not modelled,
// so a new token works as if it had the Admin role on /.
//
// Sources: proxmox-backup (src/api2/config/datastore.rs, prune.rs,
// src/api2/admin/namespace.rs, src/api2/node/tasks.rs, src/api2/access/
// user.rs, pbs-datastore), proxmox-rs (proxmox-rest-server rest.rs,
// formatter.rs, worker_task.rs; proxmox-auth-api; proxmox-schema;
// proxmox-section-config; proxmox-time; pbs-api-types). Texts that are not
// from these sources are marked "guessed".

// PBS release the simulator reports (GET /version). Guessed: a PBS 4.x
// release with the S3 backend and notification thresholds of the schema.
const (
	pbsVersion = "4.1"
	pbsRelease = "2"
	pbsRepoID  = "9d3c8f4ee1a7b6c0"
)

// PBSOptions configures StartPBS. The zero value starts a PBS on a random
// loopback port with a CA of its own.
type PBSOptions struct {
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
	// PVE is a running PVE lab whose CA signs the server's certificate, so
	// that one CA (PVE.CACertPEM) covers both. Without it the PBS has a CA
	// of its own (CACertPEM).
	PVE *PVE
	// TaskDuration is how long a worker (create-datastore,
	// delete-datastore) runs (default 50ms). Clients must wait for it.
	TaskDuration time.Duration
	// Logf receives diagnostic messages (optional).
	Logf func(format string, args ...any)
}

// PBS is a running simulated Proxmox Backup Server. All its methods are
// safe for concurrent use.
type PBS struct {
	logf     func(format string, args ...any)
	schema   *pbsSchema
	faults   *Faults
	routes   *pbsRouter
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
	datastores []*pbsDatastore // datastore.cfg, in file order
	pruneJobs  []*pbsPruneJob  // prune.cfg, in file order
	tokens     []*pbsToken     // the token sections of user.cfg, in file order
	secrets    map[string]string
	disk       map[string]*pbsDir // directories that hold datastore data, by path
	usage      map[string][2]uint64
	tasks      []*pbsTask
	nextTaskID int
	closed     bool
}

// pbsLabTokenName is the token StartPBS creates for root@pam.
const pbsLabTokenName = "lab"

// StartPBS starts a simulated Proxmox Backup Server.
func StartPBS(opts PBSOptions) (*PBS, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.Hostname == "" {
		opts.Hostname = "pbs"
	}
	if pveschema.CheckFormat("pve-node", opts.Hostname) != "" {
		return nil, fmt.Errorf("testlab: invalid PBS host name %q", opts.Hostname)
	}
	if opts.TaskDuration <= 0 {
		opts.TaskDuration = 50 * time.Millisecond
	}
	s := &PBS{
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
		disk:      map[string]*pbsDir{},
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
	s.tokens = append(s.tokens, &pbsToken{id: labUser + "!" + pbsLabTokenName, props: map[string]any{}})
	s.secrets[labUser+"!"+pbsLabTokenName] = s.labToken

	if opts.PVE != nil {
		s.ca = opts.PVE.lab.ca
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

	s.routes = newPBSRouter(s.schema)
	s.registerRoutes()

	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("testlab: listen on %s: %w", opts.Addr, err)
	}
	s.url = "https://" + sim.EndpointHost(ln.Addr())
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok {
		s.port = tcp.Port
	}
	s.srv = sim.NewServer(ln, sim.ServerTLSConfig(func() *sim.Cert { return s.cert }), s.serve)
	s.srv.Write = writePBSResponse
	s.srv.KeepErrors = true
	go s.srv.Serve()
	return s, nil
}

// loadSchema loads the schema according to PBSOptions.SchemaPath: a file,
// "-" for none, or "" for PBS_API_SCHEMA, else the official schema beside
// the repository, else the lab's copy (labfiles.go).
func (s *PBS) loadSchema(path string) error {
	if path == "" {
		path = os.Getenv("PBS_API_SCHEMA")
	}
	src, ok, err := findAPISchema(path, pbsSchemaFileName)
	if err != nil {
		return err
	}
	if !ok {
		s.logf("testlab: PBS schema validation disabled")
		return nil
	}
	sch, err := loadPBSSchema(src)
	if err != nil {
		return fmt.Errorf("testlab: load PBS schema: %w", err)
	}
	s.schema = sch
	return nil
}

// Close stops the server and closes all connections.
func (s *PBS) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return s.srv.Close()
}

// URL returns the base URL of the API, e.g. "https://127.0.0.1:8007"
// (without /api2/json).
func (s *PBS) URL() string { return s.url }

// Host returns the address the server listens on, e.g. "127.0.0.1": what a
// PVE storage's "server" names.
func (s *PBS) Host() string {
	host, _, _ := net.SplitHostPort(s.url[len("https://"):])
	return host
}

// Port returns the port the server listens on.
func (s *PBS) Port() int { return s.port }

// Hostname returns the server's host name, the node name of its UPIDs.
func (s *PBS) Hostname() string { return s.hostname }

// Fingerprint returns the SHA-256 fingerprint of the server's certificate
// as PBS shows it (dashboard, proxmox-backup-manager cert info): uppercase
// hex bytes separated by colons.
func (s *PBS) Fingerprint() string { return s.cert.Fingerprint }

// CACertPEM returns the PEM encoded certificate of the CA that signs the
// server's certificate (the PVE lab's CA when PBSOptions.PVE was given).
func (s *PBS) CACertPEM() string { return string(s.ca.CertPEM) }

// Username returns the user the server knows, "root@pam".
func (s *PBS) Username() string { return labUser }

// Password returns root@pam's password.
func (s *PBS) Password() string { return s.password }

// APIToken returns the lab's API token root@pam!lab as "tokenid:secret",
// the form of the header "Authorization: PBSAPIToken=tokenid:secret".
func (s *PBS) APIToken() string { return labUser + "!" + pbsLabTokenName + ":" + s.labToken }

// AddToken creates an API token for user (only "root@pam" exists) as POST
// /access/users/{userid}/token/{token-name} does, and returns its secret.
func (s *PBS) AddToken(user, name string) (string, error) {
	if user != labUser {
		return "", fmt.Errorf("testlab: PBS has no user %q", user)
	}
	if !pbsSafeIDRE.MatchString(name) {
		return "", fmt.Errorf("testlab: invalid token name %q", name)
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
func (s *PBS) Faults() *Faults { return s.faults }

// SchemaLoaded reports whether requests are validated against the
// official schema.
func (s *PBS) SchemaLoaded() bool { return s.schema != nil }

// Requests returns the number of API requests per "METHOD /template".
func (s *PBS) Requests() map[string]int { return s.stats.Snapshot() }

// ResetRequests zeroes the request counters.
func (s *PBS) ResetRequests() { s.stats.Reset() }

// DatastoreDataExists reports whether a chunk store (the .chunks directory
// of a datastore) exists at path: created with a datastore, kept when the
// datastore is removed without destroy-data.
func (s *PBS) DatastoreDataExists(path string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settleLocked(time.Now())
	d := s.disk[cleanPBSPath(path)]
	return d != nil && d.chunkStore
}

// SetDatastoreUsage sets the size and usage of the file system a datastore
// lives on, as its status reports them (default: 1 TiB, 16 GiB used).
func (s *PBS) SetDatastoreUsage(store string, total, used uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settleLocked(time.Now())
	ds := s.datastoreLocked(store)
	if ds == nil {
		return fmt.Errorf("testlab: no datastore %q", store)
	}
	if used > total {
		return fmt.Errorf("testlab: used %d exceeds total %d", used, total)
	}
	s.usage[ds.path()] = [2]uint64{total, used}
	return nil
}

// EnvLines returns shell lines exporting the server's connection settings:
// PBS_ENDPOINT, PBS_USERNAME, PBS_PASSWORD, PBS_TLS_FINGERPRINT and
// PBS_API_TOKEN.
func (s *PBS) EnvLines() []string {
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

func (s *PBS) usageOf(path string) (total, used uint64) {
	u, ok := s.usage[path]
	if !ok {
		u = defaultDatastoreUsage
	}
	return u[0], u[1]
}

// pbsTaskListNode is the node name PBS reports for task list entries
// (into_task_list_item).
const pbsTaskListNode = "localhost"

// registerRoutes registers the handlers of the simulator.
func (s *PBS) registerRoutes() {
	s.routes.handle(http.MethodGet, "/version", func(*pbsRequest) (any, error) {
		return map[string]any{"version": pbsVersion, "release": pbsRelease, "repoid": pbsRepoID}, nil
	}, false)
	s.routes.handle(http.MethodGet, "/ping", func(*pbsRequest) (any, error) {
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
func (s *PBS) certificateInfo(*pbsRequest) (any, error) {
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
