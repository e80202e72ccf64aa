package pve

import (
	"context"
	"net/http"
	"sync"
	"testing"
)

// A download whose answer was lost is settled through the node's task
// list: the 'download' task of the file, started since the request went
// out, is taken as the request's; with none, the request is sent again.
func TestStartDownloadInDoubt(t *testing.T) {
	const upid = "UPID:pve1:000A1B40:0012D687:6745A3F1:download:debian%3A13.iso:root@pam:"
	for _, started := range []bool{false, true} {
		t.Run(map[bool]string{false: "lost before it ran", true: "ran"}[started], func(t *testing.T) {
			shortWaits(t)
			f := newFakePVE(t, false)
			var mu sync.Mutex
			sent, running := 0, false
			f.handle("POST /nodes/pve1/storage/local/download-url", func(w http.ResponseWriter, _ *http.Request) {
				mu.Lock()
				defer mu.Unlock()
				sent++
				if sent == 1 {
					running = started
					dropConnection(w)
					return
				}
				running = true
				writeData(w, upid)
			})
			f.handle("GET /nodes/pve1/tasks", func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				defer mu.Unlock()
				q := r.URL.Query()
				if q.Get("typefilter") != "download" || q.Get("source") != "all" || q.Get("since") == "" {
					t.Errorf("task list query %s", r.URL.RawQuery)
				}
				tasks := []map[string]any{
					// another file's download, and this file's from long ago
					{"upid": "UPID:pve1:000A1B41:0012D687:6745A3F1:download:other.iso:root@pam:", "id": "other.iso", "type": "download", "starttime": 1 << 40},
				}
				if running {
					tasks = append(tasks, map[string]any{"upid": upid, "id": "debian%3A13.iso", "type": "download", "starttime": 1 << 40})
				}
				writeData(w, tasks)
			})
			c := newTestClient(t, f, nil)
			got, err := c.StartDownload(context.Background(), "pve1", "local", Download{URL: "http://example/x.iso", Content: "iso", Filename: "debian:13.iso"})
			if err != nil {
				t.Fatal(err)
			}
			if got != upid {
				t.Errorf("UPID %q, want %q", got, upid)
			}
			want := map[bool]int{false: 2, true: 1}[started]
			if sent != want {
				t.Errorf("%d download requests, want %d", sent, want)
			}
		})
	}
}

func TestEncodeText(t *testing.T) {
	for in, want := range map[string]string{
		"debian-13.1.0-amd64-netinst.iso": "debian-13.1.0-amd64-netinst.iso",
		"a:b%c d.iso":                     "a%3Ab%25c d.iso",
		"ü\n.iso":                         "%C3%BC%0A.iso",
	} {
		if got := encodeText(in); got != want {
			t.Errorf("encodeText(%q) = %q, want %q", in, got, want)
		}
	}
}
