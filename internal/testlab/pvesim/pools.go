package pvesim

import (
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/perl"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/pveschema"
)

// Resource pools: PVE::API2::Pool (pve-manager) on the pool part of
// user.cfg, which PVE::AccessControl (pve-access-control) parses and
// writes and whose add_vm_to_pool and remove_vm_access the guest APIs call.
//
// user.cfg keeps, per pool, its comment, its guests and its storages, and
// for each guest the one pool it belongs to. Every change runs under
// lock_user_config, which prefixes a failure with what failed ("update
// pools failed: ...") and writes nothing: a change that dies half-way
// leaves the pools as they were. The file is parsed again on every read,
// which shapes what a comment can be (see poolComment).

// resourcePool is one "pool:" line of user.cfg.
type resourcePool struct {
	comment string
	vms     map[int]bool
	storage map[string]bool
}

// poolState is the pool part of user.cfg: the pools, and for each guest
// the pool it belongs to ($usercfg->{vms}).
type poolState struct {
	pools map[string]*resourcePool
	vms   map[int]string
}

func newPoolState() poolState {
	return poolState{pools: map[string]*resourcePool{}, vms: map[int]string{}}
}

// clone returns a deep copy, the copy of user.cfg a change works on.
func (s poolState) clone() poolState {
	out := poolState{pools: make(map[string]*resourcePool, len(s.pools)), vms: maps.Clone(s.vms)}
	for id, rp := range s.pools {
		out.pools[id] = &resourcePool{comment: rp.comment, vms: maps.Clone(rp.vms), storage: maps.Clone(rp.storage)}
	}
	return out
}

// poolIDRE is verify_poolname's pattern (PVE 8.1 and later: up to three
// levels of nested pools, "parent/child/grandchild").
var poolIDRE = regexp.MustCompile(`^[A-Za-z0-9.\-_]+(?:/[A-Za-z0-9.\-_]+){0,2}$`)

func init() { pveschema.RegisterFormat("pve-poolid", checkPoolID) }

// checkPoolID is PVE::AccessControl::verify_poolname, the pve-poolid format.
func checkPoolID(v string) string {
	// split("/", $poolname) > 3: Perl's split drops trailing empty fields
	fields := strings.Split(v, "/")
	for len(fields) > 0 && fields[len(fields)-1] == "" {
		fields = fields[:len(fields)-1]
	}
	if len(fields) > 3 {
		return fmt.Sprintf("pool name '%s' nested too deeply (max levels = 3)\n", v)
	}
	if !poolIDRE.MatchString(v) {
		return fmt.Sprintf("pool name '%s' contains invalid characters\n", v)
	}
	return ""
}

// poolComment is a comment as it comes back from user.cfg: write_user_config
// writes it only when it is true in Perl ("" and "0" are not) and
// encode_text leaves spaces alone, which parse_user_config then trims.
func poolComment(c string) string {
	c = strings.Trim(c, " ")
	if c == "0" {
		return ""
	}
	return c
}

// errNoPool is the die of the pool API for an unknown pool.
func errNoPool(poolid string) error {
	return Errorf(http.StatusInternalServerError, "pool '%s' does not exist", poolid)
}

// --- guests in pools -------------------------------------------------------

// checkPoolExist is RPCEnvironment::check_pool_exist, which create and
// clone of guests call for their pool parameter: raise_perm_exc, a 403.
func (p *PVE) checkPoolExist(pool string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.checkPoolExistLocked(pool)
}

func (p *PVE) checkPoolExistLocked(pool string) error {
	if p.pools.pools[pool] == nil {
		return permError(fmt.Sprintf("pool '%s' does not exist", pool))
	}
	return nil
}

// addGuestToPoolLocked is PVE::AccessControl::add_vm_to_pool, which the
// create and clone workers call once the guest exists: nothing happens if
// the pool has gone meanwhile. Should the guest still be listed in another
// pool, the next parse of user.cfg keeps it in the pool that comes first.
func (p *PVE) addGuestToPoolLocked(vmid int, pool string) {
	rp := p.pools.pools[pool]
	if pool == "" || rp == nil {
		return
	}
	if old := p.pools.vms[vmid]; old != "" && old != pool {
		if old < pool {
			return
		}
		if orp := p.pools.pools[old]; orp != nil {
			delete(orp.vms, vmid)
		}
	}
	rp.vms[vmid] = true
	p.pools.vms[vmid] = pool
}

// removeGuestFromPoolLocked is the pool part of
// PVE::AccessControl::remove_vm_access, which destroying a guest calls.
func (p *PVE) removeGuestFromPoolLocked(vmid int) {
	pool, ok := p.pools.vms[vmid]
	if !ok {
		return
	}
	if rp := p.pools.pools[pool]; rp != nil {
		delete(rp.vms, vmid)
		delete(p.pools.vms, vmid)
	}
}

// sortedVMIDs returns the guests of a pool in Perl's "sort keys" order,
// which compares VMIDs as strings.
func sortedVMIDs(vms map[int]bool) []int {
	ids := slices.Collect(maps.Keys(vms))
	slices.SortFunc(ids, func(a, b int) int { return strings.Compare(strconv.Itoa(a), strconv.Itoa(b)) })
	return ids
}

// --- /cluster/resources ----------------------------------------------------

// poolResourcesLocked is the pool part of /cluster/resources: it sets
// "pool" on the entries of guests in a pool and returns one entry per pool
// ("/pool/<poolid>"), which sums up the usage of its running guests.
func (p *PVE) poolResourcesLocked(guests []map[string]any) []map[string]any {
	out := []map[string]any{}
	entries := map[string]map[string]any{}
	for _, id := range slices.Sorted(maps.Keys(p.pools.pools)) {
		e := map[string]any{"id": "/pool/" + id, "pool": id, "type": "pool"}
		entries[id] = e
		out = append(out, e)
	}
	for _, g := range guests {
		vmid, _ := g["vmid"].(int)
		pool, ok := p.pools.vms[vmid]
		if !ok {
			continue
		}
		g["pool"] = pool
		pe := entries[pool]
		uptime := numeric(g["uptime"])
		if pe == nil || uptime == 0 {
			continue
		}
		if uptime > numeric(pe["uptime"]) {
			pe["uptime"] = int64(uptime)
		}
		pe["mem"] = int64(numeric(pe["mem"]) + numeric(g["mem"]))
		pe["maxmem"] = int64(numeric(pe["maxmem"]) + numeric(g["maxmem"]))
		// new% = (old% * oldmax + cur% * curmax) / (oldmax + curmax)
		oldMax, curMax := numeric(pe["maxcpu"]), numeric(g["maxcpu"])
		if oldMax+curMax > 0 {
			pe["cpu"] = (numeric(pe["cpu"])*oldMax + numeric(g["cpu"])*curMax) / (oldMax + curMax)
		} else {
			pe["cpu"] = float64(0)
		}
		pe["maxcpu"] = int64(oldMax + curMax)
	}
	return out
}

// numeric is a resource value as a number ("$x + 0").
func numeric(v any) float64 {
	switch x := v.(type) {
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case uint64:
		return float64(x)
	case float64:
		return x
	case string:
		f, _ := strconv.ParseFloat(x, 64)
		return f
	}
	return 0
}

// --- the pool API ----------------------------------------------------------

func (p *PVE) registerPoolRoutes() {
	p.pools = newPoolState()
	lockMsg := func(what string) RouteOption {
		return WithLockMessage(func(*Request) string {
			return what + ": cfs-lock 'file-user_cfg' error: got lock request timeout"
		})
	}
	p.Handle(http.MethodGet, "/pools", p.listPools)
	p.Handle(http.MethodPost, "/pools", p.createPool, lockMsg("create pool failed"))
	p.Handle(http.MethodPut, "/pools", p.updatePool, lockMsg("update pools failed"))
	p.Handle(http.MethodDelete, "/pools", p.deletePool, lockMsg("delete pool failed"))
	// the deprecated per-pool paths, without nested pools (a "/" cannot be
	// part of a path segment)
	p.Handle(http.MethodGet, "/pools/{poolid}", p.readPool)
	p.Handle(http.MethodPut, "/pools/{poolid}", p.updatePool, lockMsg("update pools failed"))
	p.Handle(http.MethodDelete, "/pools/{poolid}", p.deletePool, lockMsg("delete pool failed"))
}

// listPools serves GET /pools (index): all pools with their comments, or,
// with poolid, that one pool with its members.
func (p *PVE) listPools(r *Request) (any, error) {
	poolid, _ := r.String("poolid")
	typ, _ := r.String("type")
	p.mu.Lock()
	defer p.mu.Unlock()
	p.settleLocked(time.Now())
	if perl.Truthy(poolid) { // if (my $poolid = $param->{poolid})
		rp := p.pools.pools[poolid]
		if rp == nil {
			return nil, errNoPool(poolid)
		}
		e := map[string]any{"poolid": poolid, "members": p.poolMembersLocked(rp, typ, r.LocalNode)}
		if rp.comment != "" {
			e["comment"] = rp.comment
		}
		return []map[string]any{e}, nil
	}
	out := []map[string]any{}
	for _, id := range slices.Sorted(maps.Keys(p.pools.pools)) {
		e := map[string]any{"poolid": id}
		if c := p.pools.pools[id].comment; c != "" {
			e["comment"] = c
		}
		out = append(out, e)
	}
	return out, nil
}

// readPool serves GET /pools/{poolid} (read_pool, deprecated): the members
// and the comment, without the pool ID.
func (p *PVE) readPool(r *Request) (any, error) {
	poolid, _ := r.String("poolid")
	typ, _ := r.String("type")
	p.mu.Lock()
	defer p.mu.Unlock()
	p.settleLocked(time.Now())
	rp := p.pools.pools[poolid]
	if rp == nil {
		return nil, errNoPool(poolid)
	}
	out := map[string]any{"members": p.poolMembersLocked(rp, typ, r.LocalNode)}
	if rp.comment != "" {
		out["comment"] = rp.comment
	}
	return out, nil
}

// poolMembersLocked lists a pool's guests (extract_vm_stats: the guest's
// /cluster/resources entry without tags, lock and HA state) and storages
// (extract_storage_stats on the node answering), optionally of one type.
// Guests that no longer exist and storages that are not configured are
// left out.
func (p *PVE) poolMembersLocked(rp *resourcePool, typ, local string) []map[string]any {
	guests := map[int]map[string]any{}
	list, _ := p.resourceEntriesLocked()
	for _, g := range list {
		vmid, _ := g["vmid"].(int)
		guests[vmid] = g
	}
	out := []map[string]any{}
	for _, vmid := range sortedVMIDs(rp.vms) {
		g := guests[vmid]
		if g == nil || (typ != "" && typ != g["type"]) {
			continue
		}
		e := maps.Clone(g)
		for _, k := range []string{"tags", "lock", "hastate", "pool"} {
			delete(e, k)
		}
		out = append(out, e)
	}
	if typ == "" || typ == "storage" {
		n := p.nodeLocked(local) // the node answering
		if n == nil {
			return out
		}
		for _, sid := range slices.Sorted(maps.Keys(rp.storage)) {
			st := p.storageDefOf(sid)
			if st == nil {
				continue
			}
			d := p.storageStatusLocked(n, st)
			e := storageResource(n, st.id, st.typ, d["content"].(string), d["used"].(uint64), d["total"].(uint64))
			e["shared"] = perl.BoolInt(st.shared)
			out = append(out, e)
		}
	}
	return out
}

// createPool serves POST /pools (create_pool). A nested pool needs its
// parent.
func (p *PVE) createPool(r *Request) (any, error) {
	poolid, _ := r.String("poolid")
	comment, _ := r.String("comment")
	p.mu.Lock()
	defer p.mu.Unlock()
	fail := func(format string, args ...any) error {
		return Errorf(http.StatusInternalServerError, "create pool failed: "+format, args...)
	}
	if p.pools.pools[poolid] != nil {
		return nil, fail("pool '%s' already exists", poolid)
	}
	if i := strings.LastIndex(poolid, "/"); i > 0 {
		// assumption: the text of the nested pools patch, from memory
		if parent := poolid[:i]; p.pools.pools[parent] == nil {
			return nil, fail("parent '%s' of pool '%s' does not exist", parent, poolid)
		}
	}
	p.pools.pools[poolid] = &resourcePool{comment: poolComment(comment), vms: map[int]bool{}, storage: map[string]bool{}}
	return nil, nil
}

// updatePool serves PUT /pools and PUT /pools/{poolid} (update_pool):
// set the comment, add guests and storages, or with delete remove them.
// A guest in another pool moves only with allow-move.
func (p *PVE) updatePool(r *Request) (any, error) {
	poolid, _ := r.String("poolid")
	comment, hasComment := r.String("comment")
	vms, hasVMs := r.String("vms")
	storage, hasStorage := r.String("storage")
	del := r.Bool("delete", false)
	allowMove := r.Bool("allow-move", false)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.settleLocked(time.Now())
	fail := func(format string, args ...any) error {
		return Errorf(http.StatusInternalServerError, "update pools failed: "+format, args...)
	}
	cfg := p.pools.clone()
	rp := cfg.pools[poolid]
	if rp == nil {
		return nil, fail("pool '%s' does not exist", poolid)
	}
	if hasComment {
		rp.comment = poolComment(comment)
	}
	if hasVMs {
		for _, s := range pveschema.SplitList(vms) {
			vmid, _ := strconv.Atoi(s)
			if del {
				if !rp.vms[vmid] {
					return nil, fail("VM %s is not a pool member", s)
				}
				delete(rp.vms, vmid)
				delete(cfg.vms, vmid)
				continue
			}
			if rp.vms[vmid] {
				return nil, fail("VM %s is already a pool member", s)
			}
			if _, ok := p.guests[vmid]; !ok {
				// assumption: not verified against the PVE 9 sources
				return nil, fail("VM %s does not exist", s)
			}
			if old, ok := cfg.vms[vmid]; ok {
				if !allowMove {
					return nil, fail("VM %s belongs already to pool '%s' and 'allow-move' is not set", s, old)
				}
				if orp := cfg.pools[old]; orp != nil {
					delete(orp.vms, vmid)
				}
			}
			rp.vms[vmid] = true
			cfg.vms[vmid] = poolid
		}
	}
	if hasStorage {
		for _, sid := range pveschema.SplitList(storage) {
			if del {
				if !rp.storage[sid] {
					return nil, fail("Storage '%s' is not a pool member", sid)
				}
				delete(rp.storage, sid)
				continue
			}
			if rp.storage[sid] {
				return nil, fail("Storage '%s' is already a pool member", sid)
			}
			rp.storage[sid] = true
		}
	}
	p.pools = cfg
	return nil, nil
}

// deletePool serves DELETE /pools and DELETE /pools/{poolid} (delete_pool):
// only a pool without guests, storages and nested pools goes. Guests that
// no longer exist and storages no longer configured do not count.
func (p *PVE) deletePool(r *Request) (any, error) {
	poolid, _ := r.String("poolid")
	p.mu.Lock()
	defer p.mu.Unlock()
	p.settleLocked(time.Now())
	fail := func(format string, args ...any) error {
		return Errorf(http.StatusInternalServerError, "delete pool failed: "+format, args...)
	}
	rp := p.pools.pools[poolid]
	if rp == nil {
		return nil, fail("pool '%s' does not exist", poolid)
	}
	for _, vmid := range sortedVMIDs(rp.vms) {
		if _, ok := p.guests[vmid]; ok {
			return nil, fail("pool '%s' is not empty (contains VM %d)", poolid, vmid)
		}
	}
	for _, sid := range slices.Sorted(maps.Keys(rp.storage)) {
		if p.storageDefOf(sid) != nil {
			return nil, fail("pool '%s' is not empty (contains storage '%s')", poolid, sid)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(p.pools.pools)) {
		if strings.HasPrefix(id, poolid+"/") {
			// assumption: the text of the nested pools patch, from memory
			return nil, fail("pool '%s' is not empty (contains pool '%s')", poolid, id)
		}
	}
	delete(p.pools.pools, poolid)
	for vmid, pool := range p.pools.vms {
		if pool == poolid {
			delete(p.pools.vms, vmid) // user.cfg is parsed again without them
		}
	}
	return nil, nil
}
