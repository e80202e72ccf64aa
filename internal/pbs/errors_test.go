package pbs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

var allSentinels = []error{ErrNotFound, ErrAuthentication, ErrPermission, ErrTransient, ErrConflict, ErrLocked}

func sentinelNames(errs []error) string {
	var names []string
	for _, e := range errs {
		names = append(names, e.Error())
	}
	return strings.Join(names, ", ")
}

// TestErrorMapping sends PBS's real error answers through the client and
// checks the error text and the sentinels each one matches.
func TestErrorMapping(t *testing.T) {
	tests := []struct {
		name    string
		method  string
		handler http.HandlerFunc
		wantMsg string // the error's text after "METHOD /thing: "
		want    []error
		params  map[string]string // wanted APIError.Errors
	}{
		{
			name: "missing datastore on delete (http_bail NOT_FOUND)", method: http.MethodDelete,
			handler: status(404, "datastore 'store9' does not exist."),
			wantMsg: "404 datastore 'store9' does not exist.", want: []error{ErrNotFound},
		},
		{
			name: "missing datastore on read (section config lookup)", method: http.MethodGet,
			handler: status(400, "no such datastore 'store9'"),
			wantMsg: "400 no such datastore 'store9'", want: []error{ErrNotFound},
		},
		{
			name: "missing prune job", method: http.MethodGet,
			handler: status(400, "no such prune 'job9'"),
			wantMsg: "400 no such prune 'job9'", want: []error{ErrNotFound},
		},
		{
			name: "missing datastore on delete, before PBS 4", method: http.MethodDelete,
			handler: status(400, "datastore 'store9' does not exist."),
			wantMsg: "400 datastore 'store9' does not exist.", want: []error{ErrNotFound},
		},
		{
			name: "something else that does not exist", method: http.MethodPost,
			handler: status(400, "removable datastore path '/mnt/usb' does not exist"),
			wantMsg: "400 removable datastore path '/mnt/usb' does not exist", want: nil,
		},
		{
			name: "no such file is not a missing object", method: http.MethodGet,
			handler: status(400, "unable to open task log - ENOENT: No such file or directory"),
			wantMsg: "400 unable to open task log - ENOENT: No such file or directory", want: nil,
		},
		{
			name: "unknown API path is not a missing object", method: http.MethodGet,
			handler: status(404, "Path '/api2/json/thing' not found."),
			wantMsg: "404 Path '/api2/json/thing' not found.", want: nil,
		},
		{
			name: "datastore exists (param_bail)", method: http.MethodPost,
			handler: status(400, "parameter verification failed - 'name': datastore 'store1' already exists."),
			wantMsg: "400 parameter verification failed: name: datastore 'store1' already exists.",
			want:    []error{ErrConflict}, params: map[string]string{"name": "datastore 'store1' already exists."},
		},
		{
			name: "several parameter errors", method: http.MethodPost,
			handler: status(400, "parameter verification failed:\n- 'gc-schedule': unable to parse calendar event 'sometimes'\n- 'name': value must be at least 3 characters long\n"),
			wantMsg: "400 parameter verification failed: gc-schedule: unable to parse calendar event 'sometimes'; name: value must be at least 3 characters long",
			params: map[string]string{
				"gc-schedule": "unable to parse calendar event 'sometimes'",
				"name":        "value must be at least 3 characters long",
			},
		},
		{
			name: "prune settings refused on update", method: http.MethodPut,
			handler: status(400, "parameter verification failed - 'keep-last': datastore prune settings have been replaced by prune jobs"),
			wantMsg: "400 parameter verification failed: keep-last: datastore prune settings have been replaced by prune jobs",
			params:  map[string]string{"keep-last": "datastore prune settings have been replaced by prune jobs"},
		},
		{
			name: "stale digest", method: http.MethodPut,
			handler: status(400, "detected modified configuration - file changed by other user? Try again."),
			wantMsg: "400 detected modified configuration - file changed by other user? Try again.", want: []error{ErrConflict},
		},
		{
			name: "config lock timeout", method: http.MethodPut,
			handler: status(400, `Unable to acquire lock "/etc/proxmox-backup/.datastore.lck" - Interrupted system call (os error 4)`),
			wantMsg: `400 Unable to acquire lock "/etc/proxmox-backup/.datastore.lck" - Interrupted system call (os error 4)`,
			want:    []error{ErrLocked},
		},
		{
			name: "router permission check", method: http.MethodGet,
			handler: status(403, "permission check failed"),
			wantMsg: "403 permission check failed", want: []error{ErrPermission},
		},
		{
			name: "handler privilege check", method: http.MethodPut,
			handler: status(400, "missing permissions 'Datastore.Modify' on '/datastore/store1'"),
			wantMsg: "400 missing permissions 'Datastore.Modify' on '/datastore/store1'", want: []error{ErrPermission},
		},
		{
			name: "namespace privilege check", method: http.MethodPost,
			handler: status(403, "permission check failed - missing Datastore.Modify on /datastore/store1/a"),
			wantMsg: "403 permission check failed - missing Datastore.Modify on /datastore/store1/a", want: []error{ErrPermission},
		},
		{
			name: "proxy cannot reach the privileged daemon", method: http.MethodGet,
			handler: status(400, "error trying to connect: tcp connect error: Connection refused (os error 111)"),
			wantMsg: "400 error trying to connect: tcp connect error: Connection refused (os error 111)", want: []error{ErrTransient},
		},
		{
			name: "reverse proxy error page", method: http.MethodGet,
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(502)
				_, _ = io.WriteString(w, "<html><body><h1>502 Bad Gateway</h1></body></html>")
			},
			wantMsg: "502 Bad Gateway", want: []error{ErrTransient},
		},
		{
			name: "ExtJS-formatted error", method: http.MethodPost,
			handler: func(w http.ResponseWriter, _ *http.Request) {
				writeError(w, 400, `{"message":"parameter verification errors","errors":{"path":"value must be at least 1 characters long"},"success":false,"status":400}`)
			},
			wantMsg: "400 parameter verification failed: path: value must be at least 1 characters long",
			params:  map[string]string{"path": "value must be at least 1 characters long"},
		},
		{
			name: "a plain failure", method: http.MethodPost,
			handler: status(400, "unable to create chunk store 'store1' subdir \"/mnt/x/.chunks\" - EACCES: Permission denied"),
			wantMsg: "400 unable to create chunk store 'store1' subdir \"/mnt/x/.chunks\" - EACCES: Permission denied",
		},
		{
			name: "empty body", method: http.MethodGet,
			handler: func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500) },
			wantMsg: "500 Internal Server Error",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakePBS(t, false)
			f.handle(tt.method+" /thing", tt.handler)
			c := newTestClient(t, f, func(cfg *Config) { cfg.Retry = RetryPolicy{MaxAttempts: 1} })
			_, err := c.do(context.Background(), tt.method, "/thing", nil, nil)
			if err == nil {
				t.Fatal("no error")
			}
			if want := tt.method + " /thing: " + tt.wantMsg; err.Error() != want {
				t.Errorf("err =\n%s\nwant\n%s", err, want)
			}
			var matched []error
			for _, s := range allSentinels {
				if errors.Is(err, s) {
					matched = append(matched, s)
				}
			}
			if sentinelNames(matched) != sentinelNames(tt.want) {
				t.Errorf("matches [%s], want [%s]", sentinelNames(matched), sentinelNames(tt.want))
			}
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("err is %T, want *APIError", err)
			}
			if len(tt.params) > 0 || len(ae.Errors) > 0 {
				if !reflect.DeepEqual(ae.Errors, tt.params) {
					t.Errorf("Errors = %q, want %q", ae.Errors, tt.params)
				}
			}
		})
	}
}

func TestParseParameterErrors(t *testing.T) {
	tests := []struct {
		msg  string
		want map[string]string
	}{
		{"parameter verification failed - 'store': value does not match the regex pattern",
			map[string]string{"store": "value does not match the regex pattern"}},
		{"parameter verification failed:\n- 'a': one\n- 'b': two\ncontinued",
			map[string]string{"a": "one", "b": "two\ncontinued"}},
		// A nested property string's error keeps its own text.
		{"parameter verification failed - 'tuning': parameter verification failed - 'chunk-order': value 'x' is not defined in the enumeration.",
			map[string]string{"tuning": "parameter verification failed - 'chunk-order': value 'x' is not defined in the enumeration."}},
		{"parameter verification failed", nil},
		{"something else - 'a': b", nil},
	}
	for _, tt := range tests {
		if got := parseParameterErrors(tt.msg); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseParameterErrors(%q) = %q, want %q", tt.msg, got, tt.want)
		}
	}
}

func TestTaskErrorIs(t *testing.T) {
	for _, tt := range []struct {
		exit string
		want error
	}{
		{"datastore 'store1' already exists.", ErrConflict},
		{`Unable to acquire lock "/etc/proxmox-backup/.datastore.lck" - Interrupted system call (os error 4)`, ErrLocked},
		{"unable to create chunk store", nil},
	} {
		err := fmt.Errorf("create datastore: %w", &TaskError{ExitStatus: tt.exit})
		for _, s := range allSentinels {
			if errors.Is(err, s) != (s == tt.want) {
				t.Errorf("%q: errors.Is(%v) = %v", tt.exit, s, errors.Is(err, s))
			}
		}
	}
}
