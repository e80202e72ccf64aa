package pve

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"
)

// shortWaits makes the waits for locks and for writes in doubt fit a test.
func shortWaits(t *testing.T) {
	oldBackoff, oldMax, oldDoubt, oldPoll := lockBackoff, lockMaxBackoff, inDoubtWait, inDoubtPoll
	lockBackoff, lockMaxBackoff, inDoubtWait, inDoubtPoll = time.Millisecond, 5*time.Millisecond, 200*time.Millisecond, 5*time.Millisecond
	t.Cleanup(func() { lockBackoff, lockMaxBackoff, inDoubtWait, inDoubtPoll = oldBackoff, oldMax, oldDoubt, oldPoll })
}

// A lock is waited out as long as the operation's deadline allows, not a
// fixed number of times.
func TestRetryLockedUntilDeadline(t *testing.T) {
	shortWaits(t)
	locked := &APIError{Method: "POST", Path: "/x", StatusCode: 500, Message: "can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout"}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	calls := 0
	err := retryLocked(ctx, func() error {
		calls++
		if calls < 30 {
			return locked
		}
		return nil
	})
	if err != nil || calls != 30 {
		t.Fatalf("want success on the 30th call, got %d calls, %v", calls, err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = retryLocked(ctx, func() error { return locked })
	if !errors.Is(err, ErrLocked) || time.Since(start) > time.Second {
		t.Fatalf("a lock held past the deadline: %v after %s", err, time.Since(start))
	}
}

// The clone of a running VM that meets another clone's exclusive flock is
// tried again until it gets it.
func TestCloneGuestWaitsOutLock(t *testing.T) {
	shortWaits(t)
	f := newFakePVE(t, false)
	const clone = "UPID:pve1:000A1B2D:0012D687:6745A3F1:qmclone:100:root@pam:"
	task := &fakeTask{}
	f.addTask(clone, task)
	clones := 0
	f.handle("POST /nodes/pve1/qemu/100/clone", func(w http.ResponseWriter, _ *http.Request) {
		task.mu.Lock()
		clones++
		task.exit = "can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout"
		if clones == 3 {
			task.exit = "OK"
		}
		task.mu.Unlock()
		writeData(w, clone)
	})
	c := newTestClient(t, f, nil)
	if _, err := c.CloneGuest(context.Background(), QEMU, "pve1", 100, url.Values{"newid": {"101"}}); err != nil {
		t.Fatal(err)
	}
	if clones != 3 {
		t.Errorf("%d clone requests, want 3", clones)
	}
}

// configServer is a guest whose config change is answered 596 while it
// goes on: it lands (its digest changes) when landAfter requests of the
// config have been served, or never (landAfter < 0).
type configServer struct {
	mu      sync.Mutex
	digest  string
	reads   int
	landing int // reads until the pending change lands; 0: none pending
}

func (s *configServer) serveConfig(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	s.reads++
	if s.landing > 0 {
		s.landing--
		if s.landing == 0 {
			s.digest = "after"
		}
	}
	d := s.digest
	s.mu.Unlock()
	writeData(w, map[string]any{"name": "x", "digest": d})
}

// A container's config PUT answered 596 is not re-sent: the change lands
// behind pveproxy's back, and the digest shows it.
func TestUpdateGuestConfigProxyTimeoutLanded(t *testing.T) {
	shortWaits(t)
	f := newFakePVE(t, false)
	s := &configServer{digest: "before"}
	f.handle("GET /nodes/pve1/lxc/100/config", s.serveConfig)
	f.handle("PUT /nodes/pve1/lxc/100/config", func(w http.ResponseWriter, _ *http.Request) {
		s.mu.Lock()
		s.landing = 2
		s.mu.Unlock()
		writeRaw(w, 596, "Connection timed out", "")
	})
	c := newTestClient(t, f, nil)
	_, err := c.UpdateGuestConfig(context.Background(), LXC, "pve1", 100, url.Values{"name": {"y"}, "digest": {"before"}})
	if err != nil {
		t.Fatal(err)
	}
	if n := f.count("PUT /nodes/pve1/lxc/100/config"); n != 1 {
		t.Errorf("%d PUTs, want 1: %q", n, f.log())
	}
}

// A VM's config POST answered 596 that lands: its qmconfig task, found in
// the node's task list, gives the outcome.
func TestUpdateGuestConfigProxyTimeoutTask(t *testing.T) {
	shortWaits(t)
	f := newFakePVE(t, false)
	s := &configServer{digest: "before"}
	const qmconfig = "UPID:pve1:000A1B2E:0012D687:6745A3F1:qmconfig:100:root@pam:"
	f.addTask(qmconfig, &fakeTask{exit: "hotplug problem - 400 Parameter verification failed.", log: []string{"update VM 100: -cores 4"}})
	f.handle("GET /nodes/pve1/qemu/100/config", s.serveConfig)
	f.handle("POST /nodes/pve1/qemu/100/config", func(w http.ResponseWriter, _ *http.Request) {
		s.mu.Lock()
		s.landing = 1
		s.mu.Unlock()
		writeRaw(w, 596, "Connection timed out", "")
	})
	f.handle("GET /nodes/pve1/tasks", func(w http.ResponseWriter, r *http.Request) {
		if q := r.URL.Query(); q.Get("vmid") != "100" || q.Get("typefilter") != "qmconfig" || q.Get("since") == "" {
			t.Errorf("task list query %v", q)
		}
		writeData(w, []map[string]any{{"upid": qmconfig, "starttime": time.Now().Unix(), "type": "qmconfig"}})
	})
	c := newTestClient(t, f, nil)
	_, err := c.UpdateGuestConfig(context.Background(), QEMU, "pve1", 100, url.Values{"cores": {"4"}, "digest": {"before"}})
	var te *TaskError
	if !errors.As(err, &te) || te.UPID != qmconfig {
		t.Fatalf("want the qmconfig task's failure, got %v", err)
	}
	if n := f.count("POST /nodes/pve1/qemu/100/config"); n != 1 {
		t.Errorf("%d POSTs, want 1", n)
	}
}

// A change answered 596 that does not land (its wait for the flock timed
// out behind pveproxy) is sent again, with the same digest.
func TestUpdateGuestConfigProxyTimeoutLost(t *testing.T) {
	shortWaits(t)
	f := newFakePVE(t, false)
	s := &configServer{digest: "before"}
	f.handle("GET /nodes/pve1/lxc/100/config", s.serveConfig)
	puts := 0
	f.handle("PUT /nodes/pve1/lxc/100/config", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		puts++
		n := puts
		s.mu.Unlock()
		if err := r.ParseForm(); err != nil || r.PostForm.Get("digest") != "before" {
			t.Errorf("PUT %d: digest %q", n, r.PostForm.Get("digest"))
		}
		if n == 1 {
			writeRaw(w, 596, "Connection timed out", "")
			return
		}
		writeData(w, nil)
	})
	c := newTestClient(t, f, nil)
	if _, err := c.UpdateGuestConfig(context.Background(), LXC, "pve1", 100, url.Values{"name": {"y"}, "digest": {"before"}}); err != nil {
		t.Fatal(err)
	}
	if puts != 2 {
		t.Errorf("%d PUTs, want 2", puts)
	}
}

// A re-sent change that fails the digest check after a lost answer means
// the first one landed late.
func TestUpdateGuestConfigLateLanding(t *testing.T) {
	shortWaits(t)
	f := newFakePVE(t, false)
	s := &configServer{digest: "before"}
	f.handle("GET /nodes/pve1/lxc/100/config", s.serveConfig)
	puts := 0
	f.handle("PUT /nodes/pve1/lxc/100/config", func(w http.ResponseWriter, _ *http.Request) {
		puts++
		if puts == 1 {
			writeRaw(w, 596, "Connection timed out", "")
			return
		}
		writeError(w, http.StatusInternalServerError, "checksum mismatch (file change by other user?)", nil)
	})
	c := newTestClient(t, f, nil)
	if _, err := c.UpdateGuestConfig(context.Background(), LXC, "pve1", 100, url.Values{"name": {"y"}, "digest": {"before"}}); err != nil {
		t.Fatal(err)
	}
	// without a lost answer the same failure is an error
	f2 := newFakePVE(t, false)
	f2.handle("PUT /nodes/pve1/lxc/100/config", func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusInternalServerError, "checksum mismatch (file change by other user?)", nil)
	})
	if _, err := newTestClient(t, f2, nil).UpdateGuestConfig(context.Background(), LXC, "pve1", 100, url.Values{"name": {"y"}, "digest": {"before"}}); err == nil {
		t.Fatal("a checksum mismatch passed")
	}
}

// Without a digest nothing tells whether a change in doubt landed: it is
// not sent again.
func TestUpdateGuestConfigInDoubtWithoutDigest(t *testing.T) {
	shortWaits(t)
	f := newFakePVE(t, false)
	f.handle("PUT /nodes/pve1/lxc/100/config", func(w http.ResponseWriter, _ *http.Request) {
		writeRaw(w, 596, "Connection timed out", "")
	})
	c := newTestClient(t, f, nil)
	_, err := c.UpdateGuestConfig(context.Background(), LXC, "pve1", 100, url.Values{"name": {"y"}})
	if err == nil || !errors.Is(err, ErrTransient) {
		t.Fatalf("err = %v", err)
	}
	if n := f.count("PUT /nodes/pve1/lxc/100/config"); n != 1 {
		t.Errorf("%d PUTs, want 1", n)
	}
}

// A change refused by a "lock: backup" is sent again, once the backup is
// over, with the digest of the configuration without the lock (writing and
// removing the lock changed the digest); a change of any other key keeps
// the old digest, which PVE then refuses.
func TestUpdateGuestConfigAfterConfigLock(t *testing.T) {
	for _, other := range []bool{false, true} {
		t.Run(fmt.Sprintf("other change %v", other), func(t *testing.T) {
			shortWaits(t)
			f := newFakePVE(t, false)
			var mu sync.Mutex
			reads := 0
			f.handle("GET /nodes/pve1/qemu/100/config", func(w http.ResponseWriter, _ *http.Request) {
				mu.Lock()
				defer mu.Unlock()
				reads++
				switch {
				case reads == 1:
					writeData(w, map[string]any{"name": "x", "lock": "backup", "digest": "locked"})
				case other:
					writeData(w, map[string]any{"name": "renamed", "digest": "other"})
				default:
					writeData(w, map[string]any{"name": "x", "digest": "unlocked"})
				}
			})
			var digests []string
			f.handle("POST /nodes/pve1/qemu/100/config", func(w http.ResponseWriter, r *http.Request) {
				_ = r.ParseForm()
				mu.Lock()
				digests = append(digests, r.PostForm.Get("digest"))
				n := len(digests)
				mu.Unlock()
				switch {
				case n == 1:
					writeError(w, http.StatusInternalServerError, "VM is locked (backup)", nil)
				case r.PostForm.Get("digest") != "unlocked":
					writeError(w, http.StatusInternalServerError, "checksum mismatch (file change by other user?)", nil)
				default:
					writeData(w, nil)
				}
			})
			c := newTestClient(t, f, nil)
			params := url.Values{"cores": {"4"}, "digest": {"locked"}}
			_, err := c.UpdateGuestConfig(context.Background(), QEMU, "pve1", 100, params)
			if other {
				if err == nil || fmt.Sprint(digests) != "[locked locked]" {
					t.Fatalf("err %v, digests sent %q", err, digests)
				}
				return
			}
			if err != nil || fmt.Sprint(digests) != "[locked unlocked]" {
				t.Fatalf("err %v, digests sent %q", err, digests)
			}
			if params.Get("digest") != "locked" {
				t.Error("the caller's parameters were changed")
			}
		})
	}
}
