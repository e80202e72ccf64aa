package pvesim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/cephlab"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/perl"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/pveschema"
)

// PVE's Ceph pool API (PVE::API2::Ceph::Pool and the rules method of
// PVE::API2::Ceph, pve-manager) on the lab's real Ceph cluster: the
// handlers send the monitor commands PVE sends (PVE::Ceph::Tools through
// PVE::RADOS) to the cluster attached with AttachCeph, and answer with what
// it answers. Errors of the cluster reach the client the way PVE passes
// them on: "mon_command failed - <status text>".
//
// Creating, changing and destroying a pool are workers in PVE; here the
// worker's monitor commands run while the request is answered and the
// task (cephcreatepool, cephsetpool, cephdestroypool) records what they
// printed and how they ended, and runs for as long as they took.
//
// A state without a Ceph cluster is a PVE node without Ceph installed: the
// methods fail as PVE::Ceph::Tools::check_ceph_inited does there.

// AttachCeph makes c the Ceph cluster of this state's nodes, as pveceph
// init and /etc/pve/ceph.conf make a cluster theirs: their
// /nodes/{node}/ceph/... methods act on it. nil detaches it. Every state
// the lab starts with gets Options.Ceph; a node that joins a cluster
// sees the cluster's.
func (p *PVE) AttachCeph(c *cephlab.Cluster) {
	p.mu.Lock()
	p.ceph = c
	p.mu.Unlock()
}

// Ceph returns the Ceph cluster attached to this state (nil if none).
func (p *PVE) Ceph() *cephlab.Cluster {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ceph
}

// cephBinMon is where PVE looks for ceph-mon (check_ceph_installed).
const cephBinMon = "/usr/bin/ceph-mon"

func (p *PVE) registerCephRoutes() {
	p.Handle(http.MethodGet, "/nodes/{node}/ceph/pool", p.cephListPools)
	p.Handle(http.MethodPost, "/nodes/{node}/ceph/pool", p.cephCreatePool, WithoutConfigLock())
	p.Handle(http.MethodGet, "/nodes/{node}/ceph/pool/{name}", func(*Request) (any, error) {
		return []map[string]any{{"name": "status"}}, nil
	})
	// setpool and destroypool write nothing in /etc/pve and do not check quorum
	p.Handle(http.MethodPut, "/nodes/{node}/ceph/pool/{name}", p.cephSetPool, WithoutConfigLock(), WithoutQuorum())
	p.Handle(http.MethodDelete, "/nodes/{node}/ceph/pool/{name}", p.cephDestroyPool, WithoutConfigLock(), WithoutQuorum())
	p.Handle(http.MethodGet, "/nodes/{node}/ceph/pool/{name}/status", p.cephPoolStatus)
	p.Handle(http.MethodGet, "/nodes/{node}/ceph/rules", p.cephRules)
	p.Handle(http.MethodGet, "/cluster/ceph/status", p.cephStatus)
	p.Handle(http.MethodGet, "/nodes/{node}/ceph/status", p.cephStatus)
}

// cephStatus serves GET /cluster/ceph/status and /nodes/{node}/ceph/status
// (PVE::Ceph::Tools::ceph_cluster_status): `status`, its health replaced
// by `health detail`, and, as Ceph since Octopus keeps the monitor list
// out of `status`, its monmap and mgrmap by `mon dump` and `mgr dump`.
func (p *PVE) cephStatus(*Request) (any, error) {
	c, err := p.cephInited()
	if err != nil {
		return nil, err
	}
	if err := radosNew(c); err != nil {
		return nil, err
	}
	st, err := monCommand(c, map[string]any{"prefix": "status"})
	if err != nil {
		return nil, err
	}
	status := asMap(st)
	if status["health"], err = monCommand(c, map[string]any{"prefix": "health", "detail": "detail"}); err != nil {
		return nil, err
	}
	if _, ok := asMap(status["monmap"])["mons"]; !ok {
		if status["monmap"], err = monCommand(c, map[string]any{"prefix": "mon dump"}); err != nil {
			return nil, err
		}
		if status["mgrmap"], err = monCommand(c, map[string]any{"prefix": "mgr dump"}); err != nil {
			return nil, err
		}
	}
	return status, nil
}

// cephInited is PVE::Ceph::Tools::check_ceph_inited (and, the lab keeping
// the admin keyring with the cluster, check_ceph_configured): the attached
// cluster, or the error of a node without Ceph.
func (p *PVE) cephInited() (*cephlab.Cluster, error) {
	c := p.Ceph()
	if c == nil {
		return nil, Errorf(http.StatusInternalServerError, "binary not installed: %s", cephBinMon)
	}
	return c, nil
}

// errRadosConnect is PVE::RADOS->new failing to reach the monitors.
var errRadosConnect = Errorf(http.StatusInternalServerError, "rados_connect failed - Connection timed out")

// radosNew is PVE::RADOS->new: it fails when the cluster is not running.
func radosNew(c *cephlab.Cluster) error {
	if !c.Running() {
		return errRadosConnect
	}
	return nil
}

// monCommand is PVE::RADOS::mon_command: the command's output, decoded
// from JSON the way Perl's JSON decoder does when the format is json (nil
// for no output), or PVE's error.
func monCommand(c *cephlab.Cluster, cmd map[string]any) (any, error) {
	out, _, err := c.MonCommand(cmd)
	var ce *cephlab.CommandError
	switch {
	case errors.As(err, &ce):
		return nil, Errorf(http.StatusInternalServerError, "mon_command failed - %s", ce.Status)
	case err != nil:
		return nil, errRadosConnect
	}
	if f, _ := cmd["format"].(string); f != "" && f != "json" {
		return string(out), nil
	}
	if len(bytes.TrimSpace(out)) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, Errorf(http.StatusInternalServerError, "malformed JSON string, %v", err)
	}
	return perl.DecodedJSON(v), nil
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// autoscaleStatus is $get_autoscale_status: `osd pool autoscale-status` by
// pool name; nil when the manager does not answer or there are no pools.
func autoscaleStatus(c *cephlab.Cluster) map[string]any {
	res, err := monCommand(c, map[string]any{"prefix": "osd pool autoscale-status"})
	if err != nil {
		return nil
	}
	var data map[string]any
	for _, e := range asList(res) {
		m := asMap(e)
		if data == nil {
			data = map[string]any{}
		}
		data[perl.String(m["pool_name"])] = m
	}
	return data
}

// cephListPools serves GET /nodes/{node}/ceph/pool (lspools).
func (p *PVE) cephListPools(r *Request) (any, error) {
	c, err := p.cephInited()
	if err != nil {
		return nil, err
	}
	if err := radosNew(c); err != nil {
		return nil, err
	}
	df, err := monCommand(c, map[string]any{"prefix": "df"})
	if err != nil {
		return nil, err
	}
	stats := map[string]map[string]any{}
	for _, e := range asList(asMap(df)["pools"]) {
		d := asMap(e)
		if d["stats"] == nil || d["id"] == nil {
			continue
		}
		stats[perl.String(d["id"])] = asMap(d["stats"])
	}
	dump, err := monCommand(c, map[string]any{"prefix": "osd dump"})
	if err != nil {
		return nil, err
	}
	ruleDump, err := monCommand(c, map[string]any{"prefix": "osd crush rule dump"})
	if err != nil {
		return nil, err
	}
	rules := map[string]any{}
	for _, e := range asList(ruleDump) {
		rule := asMap(e)
		rules[perl.String(rule["rule_id"])] = rule["rule_name"]
	}
	autoscale := autoscaleStatus(c)

	data := []map[string]any{}
	for _, e := range asList(asMap(dump)["pools"]) {
		pool := asMap(e)
		d := map[string]any{}
		for _, attr := range []string{"pool", "pool_name", "size", "min_size", "pg_num", "crush_rule", "pg_autoscale_mode", "application_metadata"} {
			if v, ok := pool[attr]; ok && v != nil {
				d[attr] = v
			}
		}
		if autoscale != nil {
			// $d->{autoscale_status}->{pg_num_final} makes the status {}
			// for a pool the autoscaler does not know yet
			st := asMap(autoscale[perl.String(d["pool_name"])])
			if st == nil {
				st = map[string]any{}
			}
			d["autoscale_status"] = st
			d["pg_num_final"] = st["pg_num_final"]
			opts := asMap(pool["options"])
			d["pg_num_min"] = opts["pg_num_min"]
			d["target_size"] = opts["target_size_bytes"]
			d["target_size_ratio"] = opts["target_size_ratio"]
		}
		if name, ok := rules[perl.String(d["crush_rule"])]; ok && d["crush_rule"] != nil {
			d["crush_rule_name"] = name
		}
		if s := stats[perl.String(d["pool"])]; s != nil {
			d["bytes_used"] = s["bytes_used"]
			d["percent_used"] = s["percent_used"]
		}
		switch perl.String(pool["type"]) {
		case "1":
			d["type"] = "replicated"
		case "3":
			d["type"] = "erasure"
		default:
			d["type"] = "unknown"
		}
		data = append(data, d)
	}
	return data, nil
}

// cephPoolStatus serves GET /nodes/{node}/ceph/pool/{name}/status (getpool).
func (p *PVE) cephPoolStatus(r *Request) (any, error) {
	c, err := p.cephInited()
	if err != nil {
		return nil, err
	}
	pool, _ := r.String("name")
	if err := radosNew(c); err != nil {
		return nil, err
	}
	got, err := monCommand(c, map[string]any{"prefix": "osd pool get", "pool": pool, "var": "all"})
	if err != nil {
		return nil, err
	}
	res := asMap(got)
	data := map[string]any{
		"id":                res["pool_id"],
		"name":              pool,
		"size":              res["size"],
		"min_size":          res["min_size"],
		"pg_num":            res["pg_num"],
		"pg_num_min":        res["pg_num_min"],
		"pgp_num":           res["pgp_num"],
		"crush_rule":        res["crush_rule"],
		"pg_autoscale_mode": res["pg_autoscale_mode"],
		"target_size":       res["target_size_bytes"],
		"target_size_ratio": res["target_size_ratio"],
	}
	for _, flag := range []string{"noscrub", "nodeep-scrub", "nodelete", "nopgchange", "nosizechange", "write_fadvise_dontneed", "hashpspool", "use_gmt_hitset", "fast_read"} {
		data[flag] = perl.String(res[flag])
	}
	if r.Bool("verbose", false) {
		df, err := monCommand(c, map[string]any{"prefix": "df"})
		if err != nil {
			return nil, err
		}
		data["autoscale_status"] = autoscaleStatus(c)[pool]
		for _, e := range asList(asMap(df)["pools"]) {
			d := asMap(e)
			if d["stats"] == nil {
				continue
			}
			if p.rel.poolStatusLastPool {
				// next if !defined($d->{name}) && !$d->{name} ne "$pool";
				// skips only pools without a name (!undef is 1): every
				// named pool's statistics pass, the last one's stay
				// (version.go, poolStatusLastPool).
				if d["name"] == nil && pool != "1" {
					continue
				}
			} else if perl.String(d["name"]) != pool { // b0f4269e
				continue
			}
			data["statistics"] = d["stats"]
		}
		apps, err := monCommand(c, map[string]any{"prefix": "osd pool application get", "pool": pool})
		if err != nil {
			return nil, err
		}
		data["application_list"] = slices.Sorted(maps.Keys(asMap(apps)))
	}
	return data, nil
}

// cephRules serves GET /nodes/{node}/ceph/rules.
func (p *PVE) cephRules(r *Request) (any, error) {
	c, err := p.cephInited()
	if err != nil {
		return nil, err
	}
	if err := radosNew(c); err != nil {
		return nil, err
	}
	rules, err := monCommand(c, map[string]any{"prefix": "osd crush rule ls"})
	if err != nil {
		return nil, err
	}
	res := []map[string]any{}
	for _, rule := range asList(rules) {
		res = append(res, map[string]any{"name": rule})
	}
	return res, nil
}

// --- workers ---------------------------------------------------------------

// cephTaskLog is what a worker prints: its log lines and warnings.
type cephTaskLog struct {
	lines    []string
	warnings int
}

func (w *cephTaskLog) print(format string, args ...any) {
	w.lines = append(w.lines, strings.Split(strings.TrimRight(fmt.Sprintf(format, args...), "\n"), "\n")...)
}

// warn is Perl's warn in a worker: the line gets "WARN: " and the task
// ends with WARNINGS.
func (w *cephTaskLog) warn(format string, args ...any) {
	w.warnings++
	w.lines = append(w.lines, "WARN: "+strings.TrimRight(fmt.Sprintf(format, args...), "\n"))
}

// errText is the message of a die in a worker.
func errText(err error) string {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Message
	}
	return err.Error()
}

// cephWorker runs a worker of the Ceph API (fork_worker) on the node of the
// request: its monitor commands run now, and the task records their
// output and outcome. A FailNextTasks fault fails the worker before it
// does anything.
func (p *PVE) cephWorker(r *Request, typ, id string, work func(w *cephTaskLog) error) string {
	begin := time.Now()
	t := &task{node: r.PathParams["node"], typ: typ, id: id, user: r.User, exit: "OK"}
	if exit, ok := p.faults.TaskFailure(t.typ); ok {
		t.exit = dieStatus(exit)
	} else {
		w := &cephTaskLog{}
		err := work(w)
		t.lines = w.lines
		switch {
		case err != nil:
			t.exit = dieStatus(errText(err))
		case w.warnings > 0:
			t.exit = fmt.Sprintf("WARNINGS: %d", w.warnings)
		}
	}
	t.duration = time.Since(begin) + 50*time.Millisecond
	p.mu.Lock()
	defer p.mu.Unlock()
	p.spawnLocked(t, begin)
	return t.upid
}

// poolSettingKeys are the settings of $ceph_pool_common_options besides
// name (target_size is sent as target_size_bytes).
var poolSettingKeys = []string{"size", "min_size", "pg_num", "pg_num_min", "crush_rule", "application", "pg_autoscale_mode", "target_size_ratio"}

// poolSettings collects the pool settings of a request, as the handlers
// keep them in $param.
func poolSettings(r *Request) map[string]string {
	param := map[string]string{}
	for _, k := range poolSettingKeys {
		if v, ok := r.String(k); ok {
			param[k] = v
		}
	}
	if v, ok := r.String("target_size"); ok {
		// PVE::JSONSchema::parse_size: "1.5G" is int(1.5 * 1024^3)
		size, _ := parseSize(v)
		param["target_size_bytes"] = strconv.FormatUint(size, 10)
	}
	return param
}

// setPool is PVE::Ceph::Tools::set_pool: size first (it resets min_size),
// then the others by name; a setting Ceph refuses is reported and the
// rest still applied, then the worker dies naming what could not be set.
func setPool(c *cephlab.Cluster, w *cephTaskLog, pool string, param map[string]string) error {
	keys := slices.Sorted(maps.Keys(param))
	if i := slices.Index(keys, "size"); i > 0 {
		keys = append([]string{"size"}, slices.Delete(keys, i, i+1)...)
	}
	var failed []string
	for _, k := range keys {
		v := param[k]
		w.print("pool %s: applying %s = %s", pool, k, v)
		cmd := map[string]any{"prefix": "osd pool set", "pool": pool, "var": k, "val": v, "format": "plain"}
		if k == "application" {
			cmd = map[string]any{"prefix": "osd pool application enable", "pool": pool, "app": v}
		}
		if _, err := monCommand(c, cmd); err != nil {
			w.print("%s", errText(err))
			failed = append(failed, k)
		}
	}
	if len(failed) > 0 {
		slices.Sort(failed)
		return Errorf(http.StatusInternalServerError, "Could not set: %s", strings.Join(failed, ", "))
	}
	return nil
}

// createPool is PVE::Ceph::Tools::create_pool: `osd pool create` with the
// pool type and erasure code profile, then set_pool with the rest.
func createPool(c *cephlab.Cluster, w *cephTaskLog, pool string, param map[string]string) error {
	pgNum, _ := strconv.ParseFloat(param["pg_num"], 64)
	if pgNum == 0 {
		pgNum = 128
	}
	cmd := map[string]any{"prefix": "osd pool create", "pool": pool, "pg_num": int64(pgNum), "format": "plain"}
	param = maps.Clone(param)
	for _, k := range []string{"pool_type", "erasure_code_profile"} {
		if v := param[k]; v != "" {
			cmd[k] = v
			delete(param, k)
		}
	}
	if _, err := monCommand(c, cmd); err != nil {
		return err
	}
	return setPool(c, w, pool, param)
}

// ecFormat is the format of the erasure-coding parameter ($ec_format).
var ecFormat = func() map[string]*pveschema.Property {
	two, one := 2.0, 1.0
	return map[string]*pveschema.Property{
		"k":              {Type: "integer", Minimum: &two},
		"m":              {Type: "integer", Minimum: &one},
		"failure-domain": {Type: "string", Optional: true},
		"device-class":   {Type: "string", Optional: true},
		"profile":        {Type: "string", Optional: true},
	}
}()

// ecProfileName is the erasure code profile PVE makes for a pool
// (get_ecprofile_name).
func ecProfileName(pool string) string { return "pve_ec_" + pool }

// ecProfileExists is PVE::Ceph::Tools::ecprofile_exists.
func ecProfileExists(c *cephlab.Cluster, name string) (bool, error) {
	res, err := monCommand(c, map[string]any{"prefix": "osd erasure-code-profile ls"})
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(asList(res), func(v any) bool { return perl.String(v) == name }), nil
}

// cephCreatePool serves POST /nodes/{node}/ceph/pool (createpool).
func (p *PVE) cephCreatePool(r *Request) (any, error) {
	c, err := p.cephInited()
	if err != nil {
		return nil, err
	}
	name, _ := r.String("name")
	addStorages, addStoragesSet := r.String("add_storages")
	param := poolSettings(r)
	if err := radosNew(c); err != nil {
		return nil, err
	}
	var ec map[string]string
	if s, ok := r.String("erasure-coding"); ok && s != "" {
		ec, err = pveschema.ParsePropertyString(ecFormat, s, "erasure-coding")
		if err != nil {
			return nil, Errorf(http.StatusInternalServerError, "%s", err.Error())
		}
		if prof := ec["profile"]; prof != "" {
			exists, err := ecProfileExists(c, prof)
			if err != nil {
				return nil, err
			}
			if !exists {
				return nil, Errorf(http.StatusInternalServerError, "Erasure code profile '%s' does not exist.", prof)
			}
		}
		if !addStoragesSet {
			addStorages = "1"
		}
	}
	if addStorages == "1" {
		// parse_storage_id dies itself for a name that is no storage ID
		if msg := pveschema.ParseID(name, "storage"); msg != "" {
			return nil, Errorf(http.StatusInternalServerError, "%s", msg)
		}
	}
	for k, v := range map[string]string{"pg_num": "128", "size": "3", "min_size": "2", "application": "rbd", "pg_autoscale_mode": "warn"} {
		if _, ok := param[k]; !ok {
			param[k] = v
		}
	}
	upid := p.cephWorker(r, "cephcreatepool", name, func(w *cephTaskLog) error {
		pool, dataPool := name, ""
		if ec != nil {
			profile := ec["profile"]
			if profile == "" {
				profile = ecProfileName(name)
				domain := ec["failure-domain"]
				if domain == "" {
					domain = "host"
				}
				spec := []string{"crush-failure-domain=" + domain, "k=" + ec["k"], "m=" + ec["m"]}
				if dc := ec["device-class"]; dc != "" {
					spec = append(spec, "crush-device-class="+dc)
				}
				if _, err := monCommand(c, map[string]any{"prefix": "osd erasure-code-profile set", "name": profile, "profile": spec}); err != nil {
					return Errorf(http.StatusInternalServerError, "could not create erasure code profile '%s': %s", profile, errText(err))
				}
				w.print("created new erasure code profile '%s'", profile)
			}
			dataParam := maps.Clone(param)
			dataParam["pool_type"] = "erasure"
			dataParam["allow_ec_overwrites"] = "true"
			dataParam["erasure_code_profile"] = profile
			delete(dataParam, "size")
			delete(dataParam, "min_size")
			delete(dataParam, "crush_rule")
			// metadata pool should be ok with 32 PGs
			param["pg_num"] = "32"
			pool, dataPool = name+"-metadata", name+"-data"
			if err := createPool(c, w, dataPool, dataParam); err != nil {
				return err
			}
		}
		if err := createPool(c, w, pool, param); err != nil {
			return err
		}
		if addStorages == "1" {
			p.logOnce("ceph:add_storages", "pvesim: POST /nodes/{node}/ceph/pool with add_storages: the lab's storage.cfg cannot take new storages; the task fails after creating the pool")
			return Errorf(http.StatusInternalServerError, "adding PVE storage for ceph pool '%s' failed: the lab does not model adding storages to storage.cfg", name)
		}
		return nil
	})
	return upid, nil
}

// cephSetPool serves PUT /nodes/{node}/ceph/pool/{name} (setpool).
func (p *PVE) cephSetPool(r *Request) (any, error) {
	c, err := p.cephInited()
	if err != nil {
		return nil, err
	}
	pool, _ := r.String("name")
	param := poolSettings(r)
	// set_pool connects anew for each setting: without the cluster, each
	// fails on its own
	return p.cephWorker(r, "cephsetpool", pool, func(w *cephTaskLog) error {
		return setPool(c, w, pool, param)
	}), nil
}

// cephDestroyPool serves DELETE /nodes/{node}/ceph/pool/{name}
// (destroypool). The lab's storage.cfg has no RBD storages, so there is
// no storage to check for images (force) or to remove (remove_storages).
func (p *PVE) cephDestroyPool(r *Request) (any, error) {
	c, err := p.cephInited()
	if err != nil {
		return nil, err
	}
	pool, _ := r.String("name")
	removeECProfile := r.Bool("remove_ecprofile", true)
	return p.cephWorker(r, "cephdestroypool", pool, func(w *cephTaskLog) error {
		if err := radosNew(c); err != nil {
			return err
		}
		got, err := monCommand(c, map[string]any{"prefix": "osd pool get", "pool": pool, "var": "all"})
		if err != nil {
			return err
		}
		props := asMap(got)
		if _, err := monCommand(c, map[string]any{"prefix": "osd pool delete", "pool": pool, "pool2": pool, "yes_i_really_really_mean_it": true, "format": "plain"}); err != nil {
			return err
		}
		if profile := perl.String(props["erasure_code_profile"]); profile != "" {
			w.print("found erasure coded profile '%s', destroying its CRUSH rule", profile)
			rule := perl.String(props["crush_rule"])
			if _, err := monCommand(c, map[string]any{"prefix": "osd crush rule rm", "name": rule, "format": "plain"}); err != nil {
				w.warn("removing crush rule '%s' failed: %s", rule, errText(err))
			}
			if removeECProfile {
				w.print("destroying erasure coded profile '%s'", profile)
				if _, err := monCommand(c, map[string]any{"prefix": "osd erasure-code-profile rm", "name": profile, "format": "plain"}); err != nil {
					w.warn("removing EC profile '%s' failed: %s", profile, errText(err))
				}
			}
		}
		return nil
	}), nil
}
