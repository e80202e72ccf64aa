package pbs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
)

// fakeSectionConfig is a PBS section config file (datastore.cfg,
// prune.cfg) behind its API, as src/api2/config/{datastore,prune}.rs
// handle it: a digest of the whole file beside "data", the digest checked
// before a change, "delete" lists, and PBS's error texts.
type fakeSectionConfig struct {
	mu       sync.Mutex
	kind     string // section type: "datastore", "prune"
	idParam  string // "name", "id"
	sections map[string]url.Values
	writes   []string // the parameters of each write, encoded
}

func newFakeSectionConfig(kind, idParam string) *fakeSectionConfig {
	return &fakeSectionConfig{kind: kind, idParam: idParam, sections: map[string]url.Values{}}
}

// digest is the SHA-256 of the rendered file.
func (s *fakeSectionConfig) digest() string {
	ids := make([]string, 0, len(s.sections))
	for id := range s.sections {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	h := sha256.New()
	for _, id := range ids {
		fmt.Fprintf(h, "%s: %s\n%s\n", s.kind, id, s.sections[id].Encode())
	}
	return hex.EncodeToString(h.Sum(nil))
}

// item renders a section as PBS's JSON: integers and booleans typed.
func (s *fakeSectionConfig) item(id string) map[string]any {
	out := map[string]any{s.idParam: id}
	for k, v := range s.sections[id] {
		switch {
		case strings.HasPrefix(k, "keep-") || k == "max-depth":
			var n int
			_, _ = fmt.Sscan(v[0], &n)
			out[k] = n
		case k == "verify-new" || k == "disable" || k == "gc-on-unmount":
			out[k] = v[0] == "1" || v[0] == "true"
		default:
			out[k] = v[0]
		}
	}
	return out
}

func (s *fakeSectionConfig) record(p url.Values) {
	s.writes = append(s.writes, p.Encode())
}

func (s *fakeSectionConfig) list(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(s.sections))
	for id := range s.sections {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	items := []map[string]any{}
	for _, id := range ids {
		items = append(items, s.item(id))
	}
	writeData(w, items, "digest", s.digest())
}

func (s *fakeSectionConfig) read(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := r.PathValue("id")
	if _, ok := s.sections[id]; !ok {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("no such %s '%s'", s.kind, id))
		return
	}
	writeData(w, s.item(id), "digest", s.digest())
}

// create stores a new section and answers with answer(id).
func (s *fakeSectionConfig) create(answer func(id string) any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		p := form(r)
		s.record(p)
		id := p.Get(s.idParam)
		if _, ok := s.sections[id]; ok {
			what := s.kind
			if s.kind == "prune" {
				what = "job"
			}
			writeError(w, http.StatusBadRequest, fmt.Sprintf("parameter verification failed - '%s': %s '%s' already exists.", s.idParam, what, id))
			return
		}
		p.Del(s.idParam)
		s.sections[id] = p
		writeData(w, answer(id))
	}
}

func (s *fakeSectionConfig) update(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := form(r)
	s.record(p)
	if d := p.Get("digest"); d != "" && d != s.digest() {
		writeError(w, http.StatusBadRequest, "detected modified configuration - file changed by other user? Try again.")
		return
	}
	id := r.PathValue("id")
	sec, ok := s.sections[id]
	if !ok {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("no such %s '%s'", s.kind, id))
		return
	}
	if s.kind == "datastore" {
		for _, k := range []string{"keep-last", "keep-daily", "prune-schedule"} {
			if p.Has(k) {
				writeError(w, http.StatusBadRequest, "parameter verification failed - '"+k+"': datastore prune settings have been replaced by prune jobs")
				return
			}
		}
	}
	for _, k := range p["delete"] {
		sec.Del(k)
	}
	for k, v := range p {
		switch {
		case k == "delete" || k == "digest":
		case k == "comment" && strings.TrimSpace(v[0]) == "":
			sec.Del(k) // an empty comment deletes it
		default:
			sec[k] = v
		}
	}
	writeData(w, nil)
}

// remove deletes a section and answers with answer(id).
func (s *fakeSectionConfig) remove(answer func(id string) any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		p := form(r)
		s.record(p)
		if d := p.Get("digest"); d != "" && d != s.digest() {
			writeError(w, http.StatusBadRequest, "detected modified configuration - file changed by other user? Try again.")
			return
		}
		id := r.PathValue("id")
		if _, ok := s.sections[id]; !ok {
			what := s.kind
			if s.kind == "prune" {
				what = "job"
			}
			writeError(w, http.StatusNotFound, fmt.Sprintf("%s '%s' does not exist.", what, id))
			return
		}
		delete(s.sections, id)
		writeData(w, answer(id))
	}
}

// lastWrite returns the parameters of the last write.
func (s *fakeSectionConfig) lastWrite() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.writes) == 0 {
		return ""
	}
	return s.writes[len(s.writes)-1]
}

func taskUPID(typ, id string, n int) string {
	return fmt.Sprintf("UPID:pbs1:000007C4:00009A2B:%08X:6745A3F1:%s:%s:root@pam!terraform:", n, typ, escapeWorkerID(id))
}

// serveDatastores routes the datastore config API of f to a fake config.
// Creation and deletion answer with a task's UPID, as PBS 4 does; tasks
// gives each task's exit status (OK by default).
func serveDatastores(f *fakePBS, tasks map[string]*fakeTask) *fakeSectionConfig {
	cfg := newFakeSectionConfig("datastore", "name")
	n := 0
	task := func(typ string) func(string) any {
		return func(id string) any {
			n++
			upid := taskUPID(typ, id, n)
			t := tasks[typ+":"+id]
			if t == nil {
				t = &fakeTask{running: 1, exit: "OK", log: []string{"TASK OK"}}
			}
			f.addTask(upid, t)
			return upid
		}
	}
	f.handle("GET /config/datastore", cfg.list)
	f.handle("POST /config/datastore", cfg.create(task("create-datastore")))
	f.handle("GET /config/datastore/{id}", cfg.read)
	f.handle("PUT /config/datastore/{id}", cfg.update)
	f.handle("DELETE /config/datastore/{id}", cfg.remove(task("delete-datastore")))
	return cfg
}

func TestDatastoreLifecycle(t *testing.T) {
	f := newFakePBS(t, false)
	cfg := serveDatastores(f, nil)
	c := newTestClient(t, f, nil)
	ctx := context.Background()

	tuning := DatastoreTuning{ChunkOrder: "none", GCAtimeCutoff: ptr[int64](60)}.String()
	maint := MaintenanceMode{Type: MaintenanceReadOnly, Message: "moving to new disks"}.String()
	create := DatastoreCreate{Datastore: Datastore{
		Name: "store1", Path: "/mnt/datastore/store1", Comment: "lab",
		GCSchedule: "daily", VerifyNew: ptr(true),
		Notify: DatastoreNotify{GC: NotifyError}.String(), NotificationMode: "notification-system",
		Tuning: tuning, MaintenanceMode: maint,
	}}
	if err := c.CreateDatastore(ctx, create); err != nil {
		t.Fatal(err)
	}
	wantForm := url.Values{
		"name": {"store1"}, "path": {"/mnt/datastore/store1"}, "comment": {"lab"}, "gc-schedule": {"daily"},
		"verify-new": {"1"}, "notify": {"gc=error"}, "notification-mode": {"notification-system"},
		"tuning": {"chunk-order=none,gc-atime-cutoff=60"}, "maintenance-mode": {"read-only,message=moving to new disks"},
	}.Encode()
	if got := cfg.lastWrite(); got != wantForm {
		t.Errorf("create sent\n%s\nwant\n%s", got, wantForm)
	}
	upid := taskUPID("create-datastore", "store1", 1)
	if n := f.count("GET /nodes/localhost/tasks/" + upid + "/status"); n != 2 {
		t.Errorf("create-datastore task polled %d times, want 2 (until stopped)", n)
	}

	d, digest, err := c.Datastore(ctx, "store1")
	if err != nil {
		t.Fatal(err)
	}
	want := create.Datastore
	if !reflect.DeepEqual(*d, want) {
		t.Errorf("Datastore() =\n%+v\nwant\n%+v", *d, want)
	}
	if digest != cfg.digest() || len(digest) != 64 {
		t.Errorf("digest = %q, want the config's %q", digest, cfg.digest())
	}
	if m, err := ParseMaintenanceMode(d.MaintenanceMode); err != nil || m.Message != "moving to new disks" {
		t.Errorf("maintenance mode read back as %+v, %v", m, err)
	}

	// An update with the digest: set, clear and delete.
	err = c.UpdateDatastore(ctx, "store1", DatastoreUpdate{
		Comment: ptr(""), GCSchedule: ptr("sat 03:00"), VerifyNew: ptr(false),
		Delete: []string{"tuning", "maintenance-mode"}, Digest: digest,
	})
	if err != nil {
		t.Fatal(err)
	}
	wantForm = url.Values{"comment": {""}, "gc-schedule": {"sat 03:00"}, "verify-new": {"0"},
		"delete": {"tuning", "maintenance-mode"}, "digest": {digest}}.Encode()
	if got := cfg.lastWrite(); got != wantForm {
		t.Errorf("update sent\n%s\nwant\n%s", got, wantForm)
	}
	d, _, err = c.Datastore(ctx, "store1")
	if err != nil || d.Comment != "" || d.Tuning != "" || d.MaintenanceMode != "" || d.GCSchedule != "sat 03:00" || *d.VerifyNew {
		t.Errorf("after update: %+v, %v", d, err)
	}

	// The old digest is stale now.
	err = c.UpdateDatastore(ctx, "store1", DatastoreUpdate{Comment: ptr("x"), Digest: digest})
	if !errors.Is(err, ErrConflict) {
		t.Errorf("update with a stale digest: %v, want ErrConflict", err)
	}
	if err := c.CreateDatastore(ctx, create); !errors.Is(err, ErrConflict) ||
		err.Error() != "POST /config/datastore: 400 parameter verification failed: name: datastore 'store1' already exists." {
		t.Errorf("second create: %v", err)
	}

	list, err := c.Datastores(ctx)
	if err != nil || len(list) != 1 || list[0].Name != "store1" || list[0].Path != "/mnt/datastore/store1" {
		t.Errorf("Datastores() = %+v, %v", list, err)
	}

	if err := c.DeleteDatastore(ctx, "store1", DeleteDatastoreOptions{DestroyData: true}); err != nil {
		t.Fatal(err)
	}
	if got := cfg.lastWrite(); got != "destroy-data=1" {
		t.Errorf("delete sent %q", got)
	}
	if n := f.count("GET /nodes/localhost/tasks/" + taskUPID("delete-datastore", "store1", 2) + "/status"); n != 2 {
		t.Errorf("delete-datastore task polled %d times, want 2", n)
	}
	if _, _, err := c.Datastore(ctx, "store1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("read after delete: %v, want ErrNotFound", err)
	}
	if err := c.DeleteDatastore(ctx, "store1", DeleteDatastoreOptions{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete: %v, want ErrNotFound", err)
	}
	if _, _, err := c.Datastore(ctx, ""); err == nil {
		t.Error("an empty name was sent")
	}
}

func TestCreateDatastoreTaskFails(t *testing.T) {
	const exit = `unable to create chunk store 'store2' at "/mnt/usb/store2" - EACCES: Permission denied`
	f := newFakePBS(t, false)
	serveDatastores(f, map[string]*fakeTask{"create-datastore:store2": {
		exit: exit,
		log:  []string{"create datastore 'store2' on path '/mnt/usb/store2'", "TASK ERROR: " + exit},
	}})
	c := newTestClient(t, f, nil)
	err := c.CreateDatastore(context.Background(), DatastoreCreate{Datastore: Datastore{Name: "store2", Path: "/mnt/usb/store2"}})
	var te *TaskError
	if !errors.As(err, &te) || te.ExitStatus != exit {
		t.Fatalf("err = %v, want a *TaskError", err)
	}
	want := "create datastore store2: task " + taskUPID("create-datastore", "store2", 1) + " (create-datastore) failed: " + exit +
		"\ncreate datastore 'store2' on path '/mnt/usb/store2'"
	if err.Error() != want {
		t.Errorf("err =\n%s\nwant\n%s", err, want)
	}
}

// TestCreateDatastoreWithoutTask: a PBS that answers null (as the
// published schema says) is not waited for.
func TestCreateDatastoreWithoutTask(t *testing.T) {
	f := newFakePBS(t, false)
	f.handle("POST /config/datastore", data(nil))
	f.handle("DELETE /config/datastore/{id}", data(nil))
	c := newTestClient(t, f, nil)
	if err := c.CreateDatastore(context.Background(), DatastoreCreate{Datastore: Datastore{Name: "store3", Path: "/x"}, ReuseDatastore: true}); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteDatastore(context.Background(), "store3", DeleteDatastoreOptions{KeepJobConfigs: true, Digest: strings.Repeat("a", 64)}); err != nil {
		t.Fatal(err)
	}
	for _, r := range f.log() {
		if strings.Contains(r, "/tasks/") {
			t.Errorf("unexpected %s", r)
		}
	}
}

func TestDatastoreStatus(t *testing.T) {
	f := newFakePBS(t, false)
	f.handle("GET /admin/datastore/store1/status", data(map[string]any{
		"total": uint64(1) << 40, "used": 123456789, "avail": 987654321, "backend-type": "filesystem",
		"gc-status": map[string]any{"disk-bytes": 1},
	}))
	f.handle("GET /admin/datastore/store9/status", status(400, "no such datastore 'store9'"))
	c := newTestClient(t, f, nil)
	st, err := c.DatastoreStatus(context.Background(), "store1")
	want := DatastoreStatus{Total: 1 << 40, Used: 123456789, Avail: 987654321, BackendType: BackendFilesystem}
	if err != nil || *st != want {
		t.Errorf("DatastoreStatus() = %+v, %v", st, err)
	}
	if _, err := c.DatastoreStatus(context.Background(), "store9"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing store: %v", err)
	}
}

func TestPruneJobs(t *testing.T) {
	f := newFakePBS(t, false)
	cfg := newFakeSectionConfig("prune", "id")
	f.handle("GET /config/prune", cfg.list)
	f.handle("POST /config/prune", cfg.create(func(string) any { return nil }))
	f.handle("GET /config/prune/{id}", cfg.read)
	f.handle("PUT /config/prune/{id}", cfg.update)
	f.handle("DELETE /config/prune/{id}", cfg.remove(func(string) any { return nil }))
	c := newTestClient(t, f, nil)
	ctx := context.Background()

	job := PruneJob{ID: "daily-store1", Store: "store1", Schedule: "daily", NS: "a/b", MaxDepth: ptr[int64](0),
		KeepOptions: KeepOptions{KeepLast: ptr[int64](3), KeepDaily: ptr[int64](7)}}
	if err := c.CreatePruneJob(ctx, job); err != nil {
		t.Fatal(err)
	}
	wantForm := url.Values{"id": {"daily-store1"}, "store": {"store1"}, "schedule": {"daily"}, "ns": {"a/b"},
		"max-depth": {"0"}, "keep-last": {"3"}, "keep-daily": {"7"}}.Encode()
	if got := cfg.lastWrite(); got != wantForm {
		t.Errorf("create sent\n%s\nwant\n%s", got, wantForm)
	}
	if err := c.CreatePruneJob(ctx, job); !errors.Is(err, ErrConflict) {
		t.Errorf("second create: %v, want ErrConflict", err)
	}

	got, digest, err := c.PruneJob(ctx, "daily-store1")
	if err != nil || !reflect.DeepEqual(*got, job) || digest != cfg.digest() {
		t.Fatalf("PruneJob() = %+v, %q, %v", got, digest, err)
	}

	err = c.UpdatePruneJob(ctx, "daily-store1", PruneJobUpdate{
		Disable: ptr(true), KeepOptions: KeepOptions{KeepWeekly: ptr[int64](4)},
		Delete: []string{"ns", "max-depth", "keep-daily"}, Digest: digest,
	})
	if err != nil {
		t.Fatal(err)
	}
	wantForm = url.Values{"disable": {"1"}, "keep-weekly": {"4"}, "delete": {"ns", "max-depth", "keep-daily"}, "digest": {digest}}.Encode()
	if got := cfg.lastWrite(); got != wantForm {
		t.Errorf("update sent\n%s\nwant\n%s", got, wantForm)
	}
	jobs, err := c.PruneJobs(ctx)
	want := PruneJob{ID: "daily-store1", Store: "store1", Schedule: "daily", Disable: true,
		KeepOptions: KeepOptions{KeepLast: ptr[int64](3), KeepWeekly: ptr[int64](4)}}
	if err != nil || len(jobs) != 1 || !reflect.DeepEqual(jobs[0], want) {
		t.Errorf("PruneJobs() = %+v, %v", jobs, err)
	}

	if err := c.DeletePruneJob(ctx, "daily-store1", digest); !errors.Is(err, ErrConflict) {
		t.Errorf("delete with a stale digest: %v", err)
	}
	if err := c.DeletePruneJob(ctx, "daily-store1", ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.PruneJob(ctx, "daily-store1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("read after delete: %v", err)
	}
	if err := c.DeletePruneJob(ctx, "daily-store1", ""); !errors.Is(err, ErrNotFound) ||
		err.Error() != "DELETE /config/prune/daily-store1: 404 job 'daily-store1' does not exist." {
		t.Errorf("second delete: %v", err)
	}
}

func TestNamespaces(t *testing.T) {
	f := newFakePBS(t, false)
	var mu sync.Mutex
	namespaces := []string{"", "a", "a/b"}
	var writes []string
	f.handle("GET /admin/datastore/store1/namespace", func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		var out []map[string]any
		for _, ns := range namespaces {
			out = append(out, map[string]any{"ns": ns})
		}
		writeData(w, out)
	})
	f.handle("POST /admin/datastore/store1/namespace", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		p := form(r)
		writes = append(writes, "POST "+p.Encode())
		ns := p.Get("name")
		if parent := p.Get("parent"); parent != "" {
			ns = parent + "/" + ns
		}
		namespaces = append(namespaces, ns)
		writeData(w, ns)
	})
	f.handle("DELETE /admin/datastore/store1/namespace", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		writes = append(writes, "DELETE "+r.URL.RawQuery)
		writeData(w, nil)
	})
	c := newTestClient(t, f, nil)
	ctx := context.Background()

	list, err := c.Namespaces(ctx, "store1")
	if err != nil || !reflect.DeepEqual(list, []Namespace{{NS: ""}, {NS: "a"}, {NS: "a/b"}}) {
		t.Errorf("Namespaces() = %+v, %v", list, err)
	}
	if ns, err := c.CreateNamespace(ctx, "store1", "a", "c"); err != nil || ns != "a/c" {
		t.Errorf("CreateNamespace() = %q, %v", ns, err)
	}
	if ns, err := c.CreateNamespace(ctx, "store1", "", "top"); err != nil || ns != "top" {
		t.Errorf("CreateNamespace() = %q, %v", ns, err)
	}
	if err := c.DeleteNamespace(ctx, "store1", "a/c", true); err != nil {
		t.Error(err)
	}
	if err := c.DeleteNamespace(ctx, "store1", "top", false); err != nil {
		t.Error(err)
	}
	if err := c.DeleteNamespace(ctx, "store1", "", true); err == nil || !strings.Contains(err.Error(), "root namespace") {
		t.Errorf("deleting the root: %v", err)
	}
	want := []string{"POST name=c&parent=a", "POST name=top", "DELETE delete-groups=1&ns=a%2Fc", "DELETE ns=top"}
	if !reflect.DeepEqual(writes, want) {
		t.Errorf("writes = %q, want %q", writes, want)
	}
}

func TestFormValues(t *testing.T) {
	type inner struct {
		N *int64 `json:"n,omitempty"`
	}
	v := struct {
		Name   string   `json:"name"`
		Empty  string   `json:"empty,omitempty"`
		Set    *string  `json:"set,omitempty"`
		Unset  *string  `json:"unset,omitempty"`
		On     bool     `json:"on,omitempty"`
		Off    bool     `json:"off,omitempty"`
		BoolP  *bool    `json:"boolp,omitempty"`
		List   []string `json:"list,omitempty"`
		Path   string   `json:"-"`
		hidden string
		inner
	}{Name: "x", Set: ptr(""), On: true, BoolP: ptr(false), List: []string{"a", "b"}, Path: "p", hidden: "h", inner: inner{N: ptr[int64](0)}}
	got := formValues(v).Encode()
	want := "boolp=0&list=a&list=b&n=0&name=x&on=1&set="
	if got != want {
		t.Errorf("formValues = %s, want %s", got, want)
	}
}
