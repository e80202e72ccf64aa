package pvesim

import (
	"fmt"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/ifupdown"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/perl"
)

// Cluster configuration: PVE::API2::ClusterConfig (pve-cluster) and the
// join procedure of PVE::Cluster::Setup. Creating a cluster and joining one
// are workers on the node asked; their effect on the topology happens when
// the worker ends (see pveLab). A join asks the member it names to add the
// node to corosync.conf right away (addnode), so until the joining node has
// restarted its cluster stack, the cluster counts it as an offline member.

// joinAPIVersion is PVE::Cluster::Setup::JOIN_API_VERSION.
const joinAPIVersion = 1

// pvecmLock is the error of the local cluster config lock.
const pvecmLockTimeout = "can't lock file '/var/lock/pvecm.lock' - got timeout"

// Durations of the cluster workers.
const (
	clusterCreateWork = 600 * time.Millisecond
	clusterJoinWork   = 900 * time.Millisecond
	// joinCfsRestart is how long a joining node's pmxcfs is down at the end
	// of the join: Setup::finish_join stops pve-cluster, starts corosync
	// and pve-cluster with the cluster's configuration, waits for quorum,
	// makes the node's new certificate and reloads pveproxy and pvedaemon.
	// Meanwhile the node authenticates no request (cfsDownMessage), direct
	// or forwarded by another member. (The reload is graceful: pveproxy
	// keeps accepting connections.)
	joinCfsRestart    = 3 * time.Second
	clusterJoinFailed = 200 * time.Millisecond
)

func (p *PVE) registerClusterConfigRoutes() {
	p.Handle(http.MethodGet, "/cluster/config", func(*Request) (any, error) {
		out := []map[string]any{}
		for _, d := range []string{"nodes", "totem", "join", "qdevice", "apiversion"} {
			out = append(out, map[string]any{"name": d})
		}
		return out, nil
	})
	p.Handle(http.MethodGet, "/cluster/config/apiversion", func(*Request) (any, error) { return joinAPIVersion, nil })
	p.Handle(http.MethodPost, "/cluster/config", p.createCluster, WithoutQuorum(), WithoutConfigLock())
	p.Handle(http.MethodGet, "/cluster/config/nodes", p.corosyncNodes)
	p.Handle(http.MethodPost, "/cluster/config/nodes/{node}", p.addNode, WithoutQuorum(), WithLockMessage(func(*Request) string { return pvecmLockTimeout }))
	p.Handle(http.MethodDelete, "/cluster/config/nodes/{node}", p.deleteNode, WithoutQuorum(), WithLockMessage(func(*Request) string { return pvecmLockTimeout }))
	p.Handle(http.MethodGet, "/cluster/config/join", p.joinInfo)
	p.Handle(http.MethodPost, "/cluster/config/join", p.joinCluster, WithoutQuorum(), WithoutConfigLock())
	p.Handle(http.MethodGet, "/cluster/config/totem", p.totem)
	// no corosync-qdevice socket: an empty object
	p.Handle(http.MethodGet, "/cluster/config/qdevice", func(*Request) (any, error) { return map[string]any{}, nil })
}

// corosyncNodes serves GET /cluster/config/nodes: the node list
// (hash_to_array: each entry with its key as "node"), empty on a node
// without corosync.conf.
func (p *PVE) corosyncNodes(*Request) (any, error) {
	p.lab.mu.Lock()
	defer p.lab.mu.Unlock()
	out := []map[string]any{}
	if p.corosync == nil {
		return out, nil
	}
	for _, n := range p.corosync.sortedNodes() {
		e := n.entry()
		e["node"] = n.name
		out = append(out, e)
	}
	return out, nil
}

// totem serves GET /cluster/config/totem: null without corosync.conf.
func (p *PVE) totem(*Request) (any, error) {
	p.lab.mu.Lock()
	defer p.lab.mu.Unlock()
	if p.corosync == nil {
		return nil, nil
	}
	return p.corosync.totem(), nil
}

// joinInfo serves GET /cluster/config/join (join_info).
func (p *PVE) joinInfo(r *Request) (any, error) {
	l := p.lab
	l.mu.Lock()
	defer l.mu.Unlock()
	name, ok := r.String("node")
	if !ok {
		name = r.LocalNode
	}
	conf := p.corosync
	if conf == nil {
		return nil, &APIError{Status: http.StatusFailedDependency, Message: "node is not in a cluster, no join info available!"}
	}
	if conf.node(name) == nil {
		return nil, Errorf(http.StatusInternalServerError, "unknown node '%s'", name)
	}
	list := []map[string]any{}
	for _, n := range conf.sortedNodes() {
		e := n.entry()
		h := l.host(n.name)
		if h == nil || h.pve != p { // pve-ssl.pem is written when the node finishes joining
			return nil, Errorf(http.StatusInternalServerError, "'/etc/pve/nodes/%s/pve-ssl.pem' does not exist!", n.name)
		}
		e["pve_fp"] = h.cert.Load().Fingerprint
		e["pve_addr"] = h.node.IP
		list = append(list, e)
	}
	return map[string]any{
		"nodelist":       list,
		"preferred_node": name,
		"totem":          conf.totem(),
		"config_digest":  conf.digest(),
	}, nil
}

// createCluster serves POST /cluster/config (create): a clustercreate
// worker writes corosync.conf with this node as the only member and
// restarts corosync and pmxcfs.
func (p *PVE) createCluster(r *Request) (any, error) {
	l := p.lab
	l.mu.Lock()
	defer l.mu.Unlock()
	h := l.host(r.LocalNode)
	if p.corosync != nil || l.pendingFor(h) {
		return nil, Errorf(http.StatusInternalServerError, "cluster config '/etc/pve/corosync.conf' already exists")
	}
	name, _ := r.String("clustername")
	nodeid, err := r.Int("nodeid", 0)
	if err != nil {
		return nil, err
	}
	votes, err := r.Int("votes", 0)
	if err != nil {
		return nil, err
	}
	// create_conf: "|| 1" defaults; without links, the node's IP is link0
	conf := &corosyncConf{name: name, links: map[int]int{}}
	cn := &corosyncNode{name: h.name, nodeid: int(max(nodeid, 1)), votes: int(max(votes, 1)), rings: map[int]string{}}
	links := corosyncLinks(r)
	if len(links) == 0 {
		links[0] = h.node.IP
	}
	for lnum, v := range links {
		addr, prio := parseCorosyncLink(v)
		conf.links[lnum] = prio
		cn.rings[lnum] = addr
	}
	if tc, ok := r.String("token-coefficient"); ok {
		conf.tokenCoefficient = tc
	}
	conf.nodes = []*corosyncNode{cn}
	conf.version = 1 // atomic_write_conf increments create_conf's 0

	t := &task{node: h.name, typ: "clustercreate", id: name, user: r.User, duration: clusterCreateWork, exit: "OK"}
	switch exit, failed := p.faults.TaskFailure(t.typ); {
	case failed:
		t.exit = dieStatus(exit)
	case p.faults.LockTimeout():
		t.exit, t.duration = pvecmLockTimeout, clusterJoinFailed
	default:
		t.lines = []string{
			"Corosync Cluster Engine Authentication key generator.",
			"Gathering 2048 bits for key from /dev/urandom.",
			"Writing corosync key to /etc/corosync/authkey.",
			"Writing corosync config to /etc/pve/corosync.conf",
			"Restart corosync and cluster filesystem",
		}
	}
	p.mu.Lock()
	p.spawnLocked(t, time.Now())
	p.mu.Unlock()
	if t.exit == "OK" {
		l.pending = append(l.pending, &topoChange{at: t.end(), host: h, apply: func() {
			if !p.taskCompleted(t) {
				return
			}
			p.corosync = conf
		}})
	}
	return t.upid, nil
}

// taskCompleted reports whether t ran to its end (was not stopped).
func (p *PVE) taskCompleted(t *task) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return t.killedAt.IsZero()
}

// addNodeArgs are the parameters of addnode.
type addNodeArgs struct {
	apiversion int64
	nodeid     int64
	votes      *int64
	force      bool
	links      map[int]string
	newNodeIP  string
}

// addNodeLocked is addnode on a node of p: it adds node name to p's
// corosync.conf and returns the new file. The caller holds lab.mu.
func (l *pveLab) addNodeLocked(p *PVE, name string, a addNodeArgs) (string, *APIError) {
	const minVersion = joinAPIVersion - 1 // JOIN_API_AGE_AS_CLUSTER
	if a.apiversion < minVersion {
		return "", Errorf(http.StatusInternalServerError, "error: unsupported old API version on joining node (%d), cluster node has %d and supports >= %d. Please upgrade node before joining", a.apiversion, joinAPIVersion, minVersion)
	}
	if !l.quorateLocked(p) {
		return "", Errorf(http.StatusInternalServerError, "cluster not ready - no quorum?")
	}
	conf := p.corosync
	if errs, warns := conf.verify(); len(errs) > 0 {
		e := map[string]string{}
		for i, w := range warns {
			e[fmt.Sprintf("warning%d", i)] = w
		}
		for i, msg := range errs {
			e[fmt.Sprintf("error%d", i)] = msg
		}
		return "", &APIError{Status: http.StatusInternalServerError, Message: "invalid corosync.conf\n", Errors: e}
	}

	type link struct{ addr string }
	links := map[int]link{}
	for lnum, v := range a.links {
		addr, _ := parseCorosyncLink(v)
		links[lnum] = link{addr}
	}
	// never reuse an address: that can crash the whole cluster
	for _, lnum := range slices.Sorted(maps.Keys(links)) {
		addr := links[lnum].addr
		for _, n := range conf.nodes {
			if n.name == name {
				continue
			}
			for ring := 0; ring <= maxLinkIndex; ring++ {
				if v, ok := n.rings[ring]; ok && v == addr {
					return "", Errorf(http.StatusInternalServerError, "corosync: address '%s' already used on link ring%d_addr by node '%s'", addr, ring, n.name)
				}
			}
		}
	}
	clusterLinks := conf.nodes[0].rings
	newNodeIP := a.newNodeIP
	legacy := false
	if newNodeIP == "" && len(links) == 1 && a.apiversion == 0 {
		for lnum, lk := range links {
			newNodeIP = lk.addr
			delete(links, lnum)
		}
		legacy = true
	}
	if len(links) > 0 {
		for lnum := 0; lnum <= maxLinkIndex; lnum++ {
			_, haveCluster := clusterLinks[lnum]
			_, haveNew := links[lnum]
			switch {
			case haveCluster && !haveNew:
				return "", Errorf(http.StatusInternalServerError, "corosync: link %d exists in cluster config but wasn't specified for new node", lnum)
			case !haveCluster && haveNew:
				return "", Errorf(http.StatusInternalServerError, "corosync: link %d specified for new node doesn't exist in cluster config", lnum)
			}
		}
	} else {
		if newNodeIP == "" {
			return "", Errorf(http.StatusInternalServerError, "no links and no fallback ip (new_node_ip) given, cannot join cluster")
		}
		if len(clusterLinks) != 1 {
			if legacy {
				return "", Errorf(http.StatusInternalServerError, "cluster has %d links, but only 1 given", len(clusterLinks))
			}
			return "", Errorf(http.StatusInternalServerError, "no links given but multiple links found on other nodes, fallback only supported on single-link clusters")
		}
		for lnum := range clusterLinks {
			links[lnum] = link{newNodeIP}
		}
	}

	nodeid := a.nodeid
	var votes int64 = -1
	if a.votes != nil {
		votes = *a.votes
	}
	if old := conf.node(name); old != nil {
		if nodeid == 0 {
			nodeid = int64(old.nodeid)
		}
		if votes < 0 {
			votes = int64(old.votes)
		}
		if !(int64(old.votes) == votes && int64(old.nodeid) == nodeid && a.force) {
			return "", Errorf(http.StatusInternalServerError, "can't add existing node '%s'", name)
		}
		// "forcing overwrite of configured node"
	} else if nodeid == 0 {
		nodeid = 1
		for slices.ContainsFunc(conf.nodes, func(n *corosyncNode) bool { return int64(n.nodeid) == nodeid }) {
			nodeid++
		}
	}
	if votes < 0 {
		votes = 1
	}
	cn := &corosyncNode{name: name, nodeid: int(nodeid), votes: int(votes), rings: map[int]string{}}
	if votes == 0 { // "quorum_votes => $votes if $votes": corosync's default of 1 applies
		cn.votes, cn.noVotes = 1, true
	}
	for lnum, lk := range links {
		cn.rings[lnum] = lk.addr
	}
	conf.nodes = slices.DeleteFunc(conf.nodes, func(n *corosyncNode) bool { return n.name == name })
	conf.nodes = append(conf.nodes, cn)
	conf.version++
	return conf.text(), nil
}

// addNode serves POST /cluster/config/nodes/{node} (addnode, "for internal
// use"): the member's half of a join.
func (p *PVE) addNode(r *Request) (any, error) {
	a := addNodeArgs{links: corosyncLinks(r), force: r.Bool("force", false)}
	var err error
	if a.apiversion, err = r.Int("apiversion", 0); err != nil {
		return nil, err
	}
	if a.nodeid, err = r.Int("nodeid", 0); err != nil {
		return nil, err
	}
	if _, ok := r.String("votes"); ok {
		v, err := r.Int("votes", 0)
		if err != nil {
			return nil, err
		}
		a.votes = &v
	}
	a.newNodeIP, _ = r.String("new_node_ip")
	l := p.lab
	l.mu.Lock()
	defer l.mu.Unlock()
	text, aerr := l.addNodeLocked(p, r.PathParams["node"], a)
	if aerr != nil {
		return nil, aerr
	}
	return map[string]any{
		"corosync_authkey": p.corosyncAuthkey(),
		"corosync_conf":    text,
		"warnings":         []string{},
	}, nil
}

// corosyncAuthkey is /etc/corosync/authkey, binary as corosync-keygen
// writes it.
func (p *PVE) corosyncAuthkey() string { return string(p.ticketKey) + string(p.csrfKey) }

// deleteNode serves DELETE /cluster/config/nodes/{node} (delnode). PVE does
// not refuse to remove a node that is online: it stops corosync on it
// (corosync-cfgtool -k), so the node keeps running on its own, without
// quorum. The node's directory /etc/pve/nodes/<node> stays, and so do the
// guests configured there.
func (p *PVE) deleteNode(r *Request) (any, error) {
	name := r.PathParams["node"]
	if name == r.LocalNode {
		return nil, Errorf(http.StatusInternalServerError, "Cannot delete myself from cluster!")
	}
	l := p.lab
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.quorateLocked(p) {
		return nil, Errorf(http.StatusInternalServerError, "cluster not ready - no quorum?")
	}
	var found *corosyncNode
	if conf := p.corosync; conf != nil {
		for _, n := range conf.nodes {
			if n.name == name || n.rings[0] == name || (n.rings[1] != "" && n.rings[1] == name) {
				found = n
				break
			}
		}
	}
	if found == nil {
		return nil, Errorf(http.StatusInternalServerError, "Node/IP: %s is not a known host of the cluster.", name)
	}
	stale := p.corosync.clone()
	p.corosync.nodes = slices.DeleteFunc(p.corosync.nodes, func(n *corosyncNode) bool { return n == found })
	p.corosync.version++
	if h := l.host(found.name); h != nil && h.pve == p {
		h.staleConf = stale
		if h.up {
			l.isolateLocked(h)
		} else {
			p.mu.Lock()
			p.nodes = slices.DeleteFunc(p.nodes, func(n *node) bool { return n == h.node })
			p.mu.Unlock()
		}
	}
	return nil, nil
}

// joinCluster serves POST /cluster/config/join (join): a clusterjoin
// worker on this node runs PVE::Cluster::Setup::join against the member
// named by hostname.
func (p *PVE) joinCluster(r *Request) (any, error) {
	l := p.lab
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	j := l.host(r.LocalNode)
	t := &task{node: j.name, typ: "clusterjoin", user: r.User, duration: clusterJoinFailed, exit: "OK"}
	w := &worker{t: t}
	var finish func()
	if exit, failed := p.faults.TaskFailure(t.typ); failed {
		w.fail(exit)
	} else if p.faults.LockTimeout() {
		w.fail(pvecmLockTimeout)
	} else {
		finish = l.joinLocked(p, j, r, w, now)
	}
	if finish != nil {
		t.duration = clusterJoinWork + joinCfsRestart
		j.cfsDown = [2]time.Time{now.Add(clusterJoinWork), now.Add(t.duration)}
	}
	p.mu.Lock()
	p.spawnLocked(t, now)
	p.mu.Unlock()
	if finish != nil {
		l.pending = append(l.pending, &topoChange{at: t.end(), host: j, apply: func() {
			if p.taskCompleted(t) {
				finish()
			}
		}})
	}
	return t.upid, nil
}

// joinLocked runs the steps of Setup::join for node j (state p), logging
// to w, up to the member's addnode. It returns what happens when the
// worker ends (the node restarts its cluster stack as a member), or nil
// when the join failed (w has the error).
func (l *pveLab) joinLocked(p *PVE, j *labHost, r *Request, w *worker, now time.Time) func() {
	force := r.Bool("force", false)
	hostname, _ := r.String("hostname")
	fingerprint, _ := r.String("fingerprint")
	password, _ := r.String("password")
	links := corosyncLinks(r)

	// assert_joinable
	var errs []string
	configured := p.corosync != nil || l.pendingFor(j)
	if configured {
		errs = append(errs, "authentication key '/etc/corosync/authkey' already exists")
		errs = append(errs, "cluster config '/etc/pve/corosync.conf' already exists")
	}
	p.mu.Lock()
	hasGuests := len(p.guests) > 0
	local := j.node.net.addresses(now)
	p.mu.Unlock()
	if hasGuests {
		errs = append(errs, "this host already contains virtual guests")
	}
	if configured && !p.isolated {
		errs = append(errs, "corosync is already running, is this node already in a cluster?!")
	}
	for _, lnum := range slices.Sorted(maps.Keys(links)) {
		addr, _ := parseCorosyncLink(links[lnum])
		ip := addr
		if net.ParseIP(addr) == nil {
			if h := l.host(addr); h != nil {
				ip = h.node.IP
			} else {
				errs = append(errs, fmt.Sprintf("link%d: cannot use '%s': hostname lookup '%s' failed - failed to get address info for: %s: Name or service not known\n", lnum, addr, addr, addr))
				continue
			}
		}
		if !slices.Contains(local, ip) {
			errs = append(errs, fmt.Sprintf("link%d: cannot use IP '%s', not found on local node!\n", lnum, ip))
		}
	}
	if len(errs) > 0 {
		w.log("detected the following error(s):")
		for _, e := range errs {
			w.log(strings.Split("* "+e, "\n")...)
		}
		if !force {
			w.fail("Check if node may join a cluster failed!")
			return nil
		}
		w.log("", "WARNING : detected error but forced to continue!", "")
	}

	// PVE::APIClient::LWP login against the member
	w.log(fmt.Sprintf("Establishing API connection with host '%s'", hostname))
	m := l.hostByAddress(hostname)
	if hostname == "localhost" || hostname == "127.0.0.1" || hostname == "::1" {
		m = j // its own pveproxy
	}
	switch {
	case m == nil && net.ParseIP(hostname) == nil:
		w.fail(fmt.Sprintf("500 Can't connect to %s:8006 (Name or service not known)", hostname))
		return nil
	case m == nil || !m.up:
		w.fail(fmt.Sprintf("500 Can't connect to %s:8006 (No route to host)", hostname))
		return nil
	}
	if fp := m.cert.Load().Fingerprint; !strings.EqualFold(fingerprint, fp) {
		w.fail(fmt.Sprintf("fingerprint '%s' not verified, abort!", fp))
		return nil
	}
	if password != l.password {
		w.fail("401 authentication failure")
		return nil
	}
	w.log("Login succeeded.", "check cluster join API version")

	a := addNodeArgs{apiversion: joinAPIVersion, links: links, force: force}
	a.nodeid, _ = r.Int("nodeid", 0)
	if _, ok := r.String("votes"); ok {
		v, _ := r.Int("votes", 0)
		a.votes = &v
	}
	if len(links) == 0 {
		a.newNodeIP = j.node.IP
		w.log(fmt.Sprintf("No cluster network links passed explicitly, fallback to local node IP '%s'", j.node.IP))
	}
	w.log("Request addition of this node")
	target := m.pve
	if _, aerr := l.addNodeLocked(target, j.name, a); aerr != nil {
		w.log("An error occurred on the cluster node: " + strings.TrimRight(strings.SplitN(aerr.Message, "\n", 2)[0], "\n"))
		for _, k := range slices.Sorted(maps.Keys(aerr.Errors)) {
			symbol := "!"
			if strings.HasPrefix(k, "warning") {
				symbol = "*"
			}
			w.log(symbol + " " + aerr.Errors[k])
		}
		w.fail("Cluster join aborted!")
		return nil
	}
	w.log(
		"Join request OK, finishing setup locally",
		"stopping pve-cluster service",
		"backup old database to '/var/lib/pve-cluster/backup/config-"+strconv.FormatInt(now.Unix(), 10)+".sql.gz'",
		"waiting for quorum...OK",
		"(re)generate node files",
		"generate new node certificate",
		"merge authorized SSH keys",
		"generated new node certificate, restart pveproxy and pvedaemon services",
		fmt.Sprintf("successfully added node '%s' to cluster.", j.name),
	)
	return func() {
		if target.corosync == nil || target.corosync.node(j.name) == nil {
			return // removed from the cluster meanwhile
		}
		l.renewCertLocked(j)
		j.staleConf = nil
		l.addMemberLocked(j, target)
	}
}

// addresses returns the IP addresses configured on the node's active
// interfaces, and the loopback addresses.
func (nw *nodeNetwork) addresses(now time.Time) []string {
	out := []string{"127.0.0.1", "::1"}
	active := nw.activeAt(now)
	cfg := ifupdown.Parse(nw.current.Text, nw.nics, active)
	for name, d := range cfg.Ifaces {
		if !active[name] {
			continue
		}
		for _, k := range []string{"address", "address6"} {
			if a := perl.String(d[k]); perl.Truthy(a) {
				out = append(out, a)
			}
		}
	}
	return out
}
