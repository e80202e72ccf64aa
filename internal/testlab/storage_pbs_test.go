package testlab

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/pbssim"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/pvesim/pvetest"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/sim/simtest"
)

// pbsStorageLab starts a PVE lab and a PBS with the lab's CA and a
// datastore "ds1".
func pbsStorageLab(t *testing.T, opts Options) (*Lab, *pbssim.Server) {
	t.Helper()
	lab := startLab(t, opts)
	s := startPBS(t, lab)
	createPBSDatastore(t, s, "ds1", "/mnt/ds1")
	return lab, s
}

// startPBS starts, for one test, a PBS whose certificate the lab's CA
// signs.
func startPBS(t *testing.T, lab *Lab) *pbssim.Server {
	t.Helper()
	return simtest.Start(t, func() (*pbssim.Server, error) {
		return pbssim.Start(pbssim.Options{CA: lab.CA(), Logf: t.Logf})
	})
}

// createPBSDatastore creates a datastore through the PBS's API with the
// lab's token and waits for the worker to end well.
func createPBSDatastore(t *testing.T, s *pbssim.Server, name, path string) {
	t.Helper()
	client := simtest.HTTPClient(t, s.CACertPEM())
	call := func(method, apiPath string, body url.Values) map[string]any {
		t.Helper()
		req, err := http.NewRequest(method, s.URL()+"/api2/json"+apiPath, strings.NewReader(body.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "PBSAPIToken="+s.APIToken())
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var res map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&res); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s %s: %d %v", method, apiPath, resp.StatusCode, err)
		}
		return res
	}
	upid, _ := call(http.MethodPost, "/config/datastore", url.Values{"name": {name}, "path": {path}})["data"].(string)
	for range 500 {
		st, _ := call(http.MethodGet, "/nodes/localhost/tasks/"+url.PathEscape(upid)+"/status", nil)["data"].(map[string]any)
		if st["status"] == "stopped" {
			if st["exitstatus"] != "OK" {
				t.Fatalf("create datastore %s: %v", name, st["exitstatus"])
			}
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("create datastore %s: the task %s did not stop", name, upid)
}

// TestPBSLabCA checks that a PBS given the lab's CA (Lab.CA) has its
// certificate signed by it: one CA for a PVE lab and its PBS.
func TestPBSLabCA(t *testing.T) {
	lab := startLab(t, Options{Nodes: 1, SchemaPath: "-"})
	s := startPBS(t, lab)
	if s.CACertPEM() != lab.CACertPEM() {
		t.Error("the PBS does not use the lab's CA")
	}
}

func pbsStorageParams(s *pbssim.Server, id string) url.Values {
	return url.Values{
		"type": {"pbs"}, "storage": {id}, "server": {s.Host()}, "port": {fmt.Sprint(s.Port())},
		"datastore": {"ds1"}, "username": {"root@pam"}, "password": {s.Password()}, "fingerprint": {s.Fingerprint()},
	}
}

func TestPBSStorageAdd(t *testing.T) {
	lab, s := pbsStorageLab(t, Options{Nodes: 1, StatdInterval: 200 * time.Millisecond})
	c := newCaller(t, lab).WithToken()

	res := c.Form(http.MethodPost, "/storage", pbsStorageParams(s, "backup"))
	if res.Status != http.StatusOK {
		t.Fatalf("create: %d %s", res.Status, res.Raw)
	}
	if d := res.Body["data"].(map[string]any); d["storage"] != "backup" || d["type"] != "pbs" || d["config"] != nil {
		t.Errorf("create answered %v", d)
	}
	cfg := c.Get("/storage/backup").Body["data"].(map[string]any)
	if cfg["server"] != s.Host() || cfg["port"] != float64(s.Port()) || cfg["content"] != "backup" || cfg["shared"] != float64(1) ||
		cfg["password"] != nil || cfg["fingerprint"] != s.Fingerprint() || cfg["username"] != "root@pam" {
		t.Errorf("GET /storage/backup = %v", cfg)
	}
	if pw, ok := lab.PrivFile("/etc/pve/priv/storage/backup.pw"); !ok || pw != s.Password()+"\n" {
		t.Errorf("backup.pw = %q, %v", pw, ok)
	}
	wantSection := "pbs: backup\n\tdatastore ds1\n\tserver " + s.Host() + "\n\tfingerprint " + s.Fingerprint() +
		fmt.Sprintf("\n\tport %d\n\tusername root@pam\n\n", s.Port())
	if !strings.HasSuffix(lab.StorageConfig(), wantSection) || !strings.HasPrefix(lab.StorageConfig(), "dir: local\n") {
		t.Errorf("storage.cfg:\n%s", lab.StorageConfig())
	}
	if l := pvetest.DataList(t, c.Form(http.MethodGet, "/storage", url.Values{"type": {"pbs"}})); len(l) != 1 {
		t.Errorf("type filter: %v", l)
	}
	c.Form(http.MethodPost, "/storage", pbsStorageParams(s, "backup"))
	expectAPIError(t, c.Form(http.MethodPost, "/storage", pbsStorageParams(s, "backup")), 500, "create storage failed: storage ID 'backup' already defined\n")

	// the node's status comes from the PBS
	if err := s.SetDatastoreUsage("ds1", 100*gib, 25*gib); err != nil {
		t.Fatal(err)
	}
	st := c.Get("/nodes/pve1/storage/backup/status").Body["data"].(map[string]any)
	if st["total"] != float64(100*gib) || st["used"] != float64(25*gib) || st["avail"] != float64(75*gib) || st["active"] != float64(1) || st["type"] != "pbs" {
		t.Errorf("status %v", st)
	}
	list := pvetest.DataList(t, c.Form(http.MethodGet, "/nodes/pve1/storage", url.Values{"content": {"backup"}}))
	if len(list) != 2 { // local and backup
		t.Errorf("backup storages %v", list)
	}
	if l := pvetest.DataList(t, c.Get("/nodes/pve1/storage/backup/content")); len(l) != 0 {
		t.Errorf("content %v", l)
	}
	// /cluster/resources has the usage pvestatd broadcast last: the new
	// storage is there with the next broadcast (a short interval here).
	var entry map[string]any
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for _, e := range pvetest.DataList(t, c.Form(http.MethodGet, "/cluster/resources", url.Values{"type": {"storage"}})) {
			if e["storage"] == "backup" {
				entry = e
			}
		}
		if entry["status"] == "available" {
			break
		}
	}
	if entry["status"] != "available" || entry["shared"] != float64(1) || entry["maxdisk"] != float64(100*gib) || entry["plugintype"] != "pbs" {
		t.Errorf("backup in /cluster/resources: %v, want available, shared, 100 GiB, pbs", entry)
	}

	// update: a digest, a fixed option, no activation
	digest := cfg["digest"].(string)
	expectAPIError(t, c.Form(http.MethodPut, "/storage/backup", url.Values{"server": {"10.0.0.1"}}), 500,
		"update storage failed: can't change value of fixed parameter 'server'\n")
	expectAPIError(t, c.Form(http.MethodPut, "/storage/backup", url.Values{"namespace": {"a"}, "digest": {strings.Repeat("0", 40)}}), 500,
		"update storage failed: detected modified configuration - file changed by other user? Try again.\n")
	res = c.Form(http.MethodPut, "/storage/backup", url.Values{"namespace": {"a"}, "password": {"wrong"}, "digest": {digest}, "delete": {"username"}})
	if res.Status != http.StatusOK {
		t.Fatalf("update: %d %s", res.Status, res.Raw)
	}
	cfg = c.Get("/storage/backup").Body["data"].(map[string]any)
	if cfg["namespace"] != "a" || cfg["username"] != nil {
		t.Errorf("after update %v", cfg)
	}
	if pw, _ := lab.PrivFile("/etc/pve/priv/storage/backup.pw"); pw != "wrong\n" {
		t.Errorf("password after update %q", pw)
	}
	// a storage that cannot log in is inactive
	if st := c.Get("/nodes/pve1/storage/backup/status").Body["data"].(map[string]any); st["active"] != float64(0) || st["total"] != float64(0) {
		t.Errorf("status with a wrong password %v", st)
	}
	expectAPIError(t, c.Form(http.MethodPut, "/storage/backup", url.Values{"delete": {"server"}}), 500,
		"update storage failed: unable to delete required option 'server'\n")

	// delete takes the secrets along
	if res := c.Form(http.MethodDelete, "/storage/backup", nil); res.Status != http.StatusOK {
		t.Fatalf("delete: %d %s", res.Status, res.Raw)
	}
	if _, ok := lab.PrivFile("/etc/pve/priv/storage/backup.pw"); ok {
		t.Error("backup.pw left behind")
	}
	expectAPIError(t, c.Form(http.MethodDelete, "/storage/backup", nil), 500, "delete storage failed: storage 'backup' does not exist\n")
	expectAPIError(t, c.Get("/storage/backup"), 500, "storage 'backup' does not exist\n")
}

// PVE connects to the PBS on create and refuses with PVE's texts.
func TestPBSStorageAddFailures(t *testing.T) {
	lab, s := pbsStorageLab(t, Options{Nodes: 1})
	c := newCaller(t, lab).WithToken()

	p := pbsStorageParams(s, "bad")
	p.Set("fingerprint", strings.Repeat("AB:", 31)+"AB")
	expectAPIError(t, c.Form(http.MethodPost, "/storage", p), 500,
		"create storage failed: bad: error fetching datastores - fingerprint '"+s.Fingerprint()+"' not verified, abort!\n")
	p.Del("fingerprint") // the lab CA is no system CA
	expectAPIError(t, c.Form(http.MethodPost, "/storage", p), 500,
		"create storage failed: bad: error fetching datastores - fingerprint '"+s.Fingerprint()+"' not verified, abort!\n")
	if _, ok := lab.PrivFile("/etc/pve/priv/storage/bad.pw"); ok {
		t.Error("a failed create left the password")
	}

	p = pbsStorageParams(s, "bad")
	p.Set("password", "wrong")
	expectAPIError(t, c.Form(http.MethodPost, "/storage", p), 500, "create storage failed: bad: error fetching datastores - 401 Unauthorized\n")
	p = pbsStorageParams(s, "bad")
	p.Set("datastore", "nope")
	expectAPIError(t, c.Form(http.MethodPost, "/storage", p), 500,
		"create storage failed: bad: Cannot find datastore 'nope', check permissions and existence!\n")
	p = pbsStorageParams(s, "bad")
	p.Set("port", "1")
	expectAPIError(t, c.Form(http.MethodPost, "/storage", p), 500,
		"create storage failed: bad: error fetching datastores - 500 Can't connect to "+s.Host()+":1 (Connection refused)\n")
	p = pbsStorageParams(s, "bad")
	p.Del("server")
	expectAPIError(t, c.Form(http.MethodPost, "/storage", p), 500, "missing value for required option 'server'\n")
	p = pbsStorageParams(s, "bad")
	p.Set("path", "/srv")
	expectAPIError(t, c.Form(http.MethodPost, "/storage", p), 500, "unexpected property 'path'\n")

	// disabled: not activated, so not checked
	p = pbsStorageParams(s, "off")
	p.Set("password", "wrong")
	p.Set("disable", "1")
	if res := c.Form(http.MethodPost, "/storage", p); res.Status != http.StatusOK {
		t.Errorf("disabled storage: %d %s", res.Status, res.Raw)
	}
	if !strings.Contains(lab.StorageConfig(), "pbs: off\n\tdisable\n") {
		t.Errorf("storage.cfg:\n%s", lab.StorageConfig())
	}

	if cfg := lab.StorageConfig(); strings.Contains(cfg, "pbs: bad") {
		t.Errorf("a failed create was written:\n%s", cfg)
	}
}

// An API token as username, and an encryption key made on create.
func TestPBSStorageTokenAndEncryption(t *testing.T) {
	lab, s := pbsStorageLab(t, Options{Nodes: 1})
	c := newCaller(t, lab).WithToken()
	id, secret, _ := strings.Cut(s.APIToken(), ":")
	p := pbsStorageParams(s, "tok")
	p.Set("username", id)
	p.Set("password", secret)
	p.Set("encryption-key", "autogen")
	res := c.Form(http.MethodPost, "/storage", p)
	if res.Status != http.StatusOK {
		t.Fatalf("create: %d %s", res.Status, res.Raw)
	}
	key := res.Body["data"].(map[string]any)["config"].(map[string]any)["encryption-key"].(string)
	var kf map[string]any
	if err := json.Unmarshal([]byte(key), &kf); err != nil || kf["data"] == nil || kf["kdf"] != nil {
		t.Fatalf("key %q: %v", key, err)
	}
	cfg := c.Get("/storage/tok").Body["data"].(map[string]any)
	if cfg["encryption-key"] != kf["fingerprint"] {
		t.Errorf("encryption-key %v, key fingerprint %v", cfg["encryption-key"], kf["fingerprint"])
	}
	if enc, ok := lab.PrivFile("/etc/pve/priv/storage/tok.enc"); !ok || enc != key+"\n" {
		t.Errorf("tok.enc %q", enc)
	}
	p = pbsStorageParams(s, "tok2")
	p.Set("encryption-key", "not json")
	expectAPIError(t, c.Form(http.MethodPost, "/storage", p), 500,
		"create storage failed: Value does not seems like a valid, JSON formatted encryption key!\n")
}

// storage.cfg belongs to the cluster, or to each standalone node.
func TestStorageConfigScope(t *testing.T) {
	lab, s := pbsStorageLab(t, Options{Nodes: 2})
	c := newCaller(t, lab).WithToken()
	if res := c.Form(http.MethodPost, "/storage", pbsStorageParams(s, "backup")); res.Status != http.StatusOK {
		t.Fatalf("create: %d %s", res.Status, res.Raw)
	}
	if res := c.OnNode("pve2").Get("/storage/backup"); res.Status != http.StatusOK {
		t.Errorf("pve2 does not see the cluster's storage: %d %s", res.Status, res.Raw)
	}
	// restricted to pve2: not listed on pve1
	p := pbsStorageParams(s, "other")
	p.Set("nodes", "pve2")
	if res := c.Form(http.MethodPost, "/storage", p); res.Status != http.StatusOK {
		t.Fatalf("create: %d %s", res.Status, res.Raw)
	}
	for _, e := range pvetest.DataList(t, c.Get("/nodes/pve1/storage")) {
		if e["storage"] == "other" {
			t.Error("pve1 lists a storage restricted to pve2")
		}
	}
	if l := pvetest.DataList(t, c.Form(http.MethodGet, "/nodes/pve2/storage", url.Values{"storage": {"other"}})); len(l) != 1 || l[0]["active"] != float64(1) {
		t.Errorf("pve2: %v", l)
	}

	alone := startLab(t, Options{Nodes: 2, Standalone: true})
	a := newCaller(t, alone).WithToken()
	if res := a.Form(http.MethodPost, "/storage", url.Values{"type": {"dir"}, "storage": {"extra"}, "path": {"/srv/extra"}, "content": {"iso,backup"}}); res.Status != http.StatusOK {
		t.Fatalf("create dir: %d %s", res.Status, res.Raw)
	}
	if res := a.Get("/storage/extra"); res.Status != http.StatusOK || res.Body["data"].(map[string]any)["content"] != "backup,iso" {
		t.Errorf("pve1: %d %s", res.Status, res.Raw)
	}
	expectAPIError(t, a.OnNode("pve2").Get("/storage/extra"), 500, "storage 'extra' does not exist\n")
	if !strings.HasSuffix(alone.StorageConfig(), "dir: extra\n\tpath /srv/extra\n\tcontent backup,iso\n\n") {
		t.Errorf("storage.cfg:\n%s", alone.StorageConfig())
	}
}

// expectAPIError checks an error answer of the PVE lab and its message.
func expectAPIError(t *testing.T, res pvetest.Result, status int, msg string) {
	t.Helper()
	if res.Status != status || res.Body["message"] != msg {
		t.Errorf("got %d %q, want %d %q", res.Status, res.Body["message"], status, msg)
	}
}
