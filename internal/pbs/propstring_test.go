package pbs

import (
	"reflect"
	"strings"
	"testing"
)

func TestParsePropertyString(t *testing.T) {
	tests := []struct {
		in, defaultKey string
		want           []Property
		err            string
	}{
		{in: "", want: nil},
		{in: "gc=never,verify=error", want: []Property{{"gc", "never"}, {"verify", "error"}}},
		{in: "gc=never,", want: []Property{{"gc", "never"}}},
		{in: "offline", defaultKey: "type", want: []Property{{"type", "offline"}}},
		{in: "offline,message=x", defaultKey: "type", want: []Property{{"type", "offline"}, {"message", "x"}}},
		// proxmox-schema's own test string.
		{in: `"value w/o key",fst=v1,sec="with = in it",third=3`, defaultKey: "k",
			want: []Property{{"k", "value w/o key"}, {"fst", "v1"}, {"sec", "with = in it"}, {"third", "3"}}},
		{in: `type=offline,message="disk \"swap\", back at 5\\6\nok"`,
			want: []Property{{"type", "offline"}, {"message", "disk \"swap\", back at 5\\6\nok"}}},
		{in: `a=b"c`, want: []Property{{"a", `b"c`}}},
		{in: "a=x=y", want: []Property{{"a", "x=y"}}},
		{in: "a=", want: []Property{{"a", ""}}},
		{in: `a=""`, want: []Property{{"a", ""}}},
		{in: "never", err: `value "never" has no key`},
		{in: "a=1,a=2", err: `duplicate key "a"`},
		{in: "x,y", defaultKey: "type", err: `duplicate key "type"`},
		{in: "=1", err: "empty key"},
		{in: `a="open`, err: "unexpected end of string"},
		{in: `a="x\`, err: "unexpected end of string"},
		{in: `a="x\t"`, err: "unsupported escape sequence"},
		{in: `a="x"y`, err: "garbage after quoted string"},
	}
	for _, tt := range tests {
		got, err := ParsePropertyString(tt.in, tt.defaultKey)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParsePropertyString(%q) = %q, %v; want error %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParsePropertyString(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestFormatPropertyString(t *testing.T) {
	got := FormatPropertyString([]Property{{"a", "plain"}, {"b", "with,comma"}, {"c", `q"b\s`}, {"d", "x\ny"}, {"e", ""}, {"f", "k=v"}})
	want := `a=plain,b="with,comma",c="q\"b\\s",d="x\ny",e=,f=k=v`
	if got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
}

func ptr[T any](v T) *T { return &v }

func TestDatastoreTuning(t *testing.T) {
	tests := []struct {
		in    string
		want  DatastoreTuning
		canon string // String() of the parse
		err   string
	}{
		{in: "", want: DatastoreTuning{}, canon: ""},
		{
			// Any order in, PBS's order out; booleans as PBS prints them.
			in: "gc-atime-cutoff=1445,sync-level=file,gc-atime-safety-check=1,chunk-order=none,default-verification-readers=2,default-verification-workers=8,gc-cache-capacity=0",
			want: DatastoreTuning{ChunkOrder: "none", SyncLevel: "file", GCAtimeSafetyCheck: ptr(true), GCAtimeCutoff: ptr[int64](1445),
				GCCacheCapacity: ptr[int64](0), DefaultVerificationWorkers: ptr[int64](8), DefaultVerificationReaders: ptr[int64](2)},
			canon: "chunk-order=none,sync-level=file,gc-atime-safety-check=true,gc-atime-cutoff=1445,gc-cache-capacity=0,default-verification-workers=8,default-verification-readers=2",
		},
		{in: "gc-atime-safety-check=off", want: DatastoreTuning{GCAtimeSafetyCheck: ptr(false)}, canon: "gc-atime-safety-check=false"},
		{
			// A key of a newer PBS survives.
			in:    "sync-level=none,future-knob=3",
			want:  DatastoreTuning{SyncLevel: "none", Other: map[string]string{"future-knob": "3"}},
			canon: "sync-level=none,future-knob=3",
		},
		{in: "gc-atime-cutoff=soon", err: `invalid tuning "gc-atime-cutoff=soon": gc-atime-cutoff: not an integer: "soon"`},
		{in: "gc-atime-safety-check=maybe", err: `gc-atime-safety-check: unable to parse boolean "maybe"`},
		{in: "none", err: "has no key"},
	}
	for _, tt := range tests {
		got, err := ParseDatastoreTuning(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseDatastoreTuning(%q) = %+v, %v; want error %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseDatastoreTuning(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
		if s := got.String(); s != tt.canon {
			t.Errorf("String() = %q, want %q", s, tt.canon)
		}
	}
}

func TestDatastoreNotify(t *testing.T) {
	n, err := ParseDatastoreNotify("prune=error,sync=never,gc=always,verify=error")
	want := DatastoreNotify{GC: NotifyAlways, Verify: NotifyError, Sync: NotifyNever, Prune: NotifyError}
	if err != nil || !reflect.DeepEqual(n, want) {
		t.Fatalf("got %+v, %v", n, err)
	}
	if s := n.String(); s != "gc=always,verify=error,sync=never,prune=error" {
		t.Errorf("String() = %q", s)
	}
	if s := (DatastoreNotify{Sync: NotifyNever}).String(); s != "sync=never" {
		t.Errorf("String() = %q", s)
	}
	if _, err := ParseDatastoreNotify("always"); err == nil {
		t.Error("a value without key parsed")
	}
}

func TestMaintenanceMode(t *testing.T) {
	tests := []struct {
		in    string
		want  MaintenanceMode
		canon string // String(): what PBS 4 stores
	}{
		// As PBS's web interface sends it, and as PBS then stores it.
		{`type=offline,message="disk swap"`, MaintenanceMode{Type: MaintenanceOffline, Message: "disk swap"},
			"offline,message=disk swap"},
		{`type=read-only,message="the \"big\" one"`, MaintenanceMode{Type: MaintenanceReadOnly, Message: `the "big" one`},
			`read-only,message="the \"big\" one"`},
		{"type=read-only", MaintenanceMode{Type: MaintenanceReadOnly}, "read-only"},
		// As PBS's own tasks write it.
		{"delete", MaintenanceMode{Type: MaintenanceDelete}, "delete"},
		{"unmount,message=x", MaintenanceMode{Type: MaintenanceUnmount, Message: "x"}, "unmount,message=x"},
		{`message=a\b,type=offline`, MaintenanceMode{Type: MaintenanceOffline, Message: `a\b`}, `offline,message="a\\b"`},
		// A comma is quoted here, although PBS's printer would not.
		{`offline,message="a, b"`, MaintenanceMode{Type: MaintenanceOffline, Message: "a, b"}, `offline,message="a, b"`},
		{"", MaintenanceMode{}, ""},
	}
	for _, tt := range tests {
		got, err := ParseMaintenanceMode(tt.in)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseMaintenanceMode(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
		if s := got.String(); s != tt.canon {
			t.Errorf("String() of %q = %q, want %q", tt.in, s, tt.canon)
		}
	}
	if _, err := ParseMaintenanceMode("offline,read-only"); err == nil {
		t.Error("two types parsed")
	}
	// A type that would not read back bare keeps its key.
	if s := (MaintenanceMode{Type: "a=b"}).String(); s != "type=a=b" {
		t.Errorf("String() = %q", s)
	}
}

func TestMaintenanceModeValidate(t *testing.T) {
	for _, tt := range []struct {
		m    MaintenanceMode
		want string
	}{
		{MaintenanceMode{Type: MaintenanceOffline, Message: "disk swap until 17:00"}, ""},
		{MaintenanceMode{Type: MaintenanceReadOnly}, ""},
		{MaintenanceMode{Message: "x"}, "the type is missing"},
		{MaintenanceMode{Type: "closed"}, `invalid maintenance mode type "closed": expected read-only or offline`},
		{MaintenanceMode{Type: MaintenanceOffline, Message: strings.Repeat("é", 65)}, "65 characters, at most 64"},
		{MaintenanceMode{Type: MaintenanceOffline, Message: "a\tb"}, "control characters"},
		{MaintenanceMode{Type: MaintenanceOffline, Message: "a, b"}, "PBS cannot store a comma"},
	} {
		err := tt.m.Validate()
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("Validate(%+v) = %v, want %q", tt.m, err, tt.want)
		}
	}
}

func TestDatastoreBackend(t *testing.T) {
	b, err := ParseDatastoreBackend("s3,bucket=pbs-backups,client=minio")
	want := DatastoreBackend{Type: BackendS3, Client: "minio", Bucket: "pbs-backups"}
	if err != nil || !reflect.DeepEqual(b, want) {
		t.Fatalf("got %+v, %v", b, err)
	}
	b.MaxCacheSize = "50 GiB"
	if s := b.String(); s != "s3,client=minio,bucket=pbs-backups,max-cache-size=50 GiB" {
		t.Errorf("String() = %q", s)
	}
}

// FuzzParsePropertyString checks that whatever the parser accepts formats
// to a string that parses to the same properties.
func FuzzParsePropertyString(f *testing.F) {
	for _, s := range []string{
		"gc=never,verify=error", `"value w/o key",fst=v1,sec="with = in it"`, `type=offline,message="a \"b\", c\\d\n"`,
		"offline", "a=,b=x=y", `a=b"c`, "x,", `"",a=""`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		props, err := ParsePropertyString(s, "type")
		if err != nil {
			return
		}
		out := FormatPropertyString(props)
		again, err := ParsePropertyString(out, "")
		if err != nil {
			t.Fatalf("%q parsed to %q, formatted to %q, which does not parse: %v", s, props, out, err)
		}
		if !reflect.DeepEqual(again, props) {
			t.Fatalf("%q parsed to %q, formatted to %q, parsed to %q", s, props, out, again)
		}
		// The typed parsers round-trip too.
		if m, err := ParseMaintenanceMode(s); err == nil {
			if m2, err := ParseMaintenanceMode(m.String()); err != nil || !reflect.DeepEqual(m, m2) {
				t.Fatalf("maintenance mode %q: %+v, String() %q, again %+v, %v", s, m, m.String(), m2, err)
			}
		}
		if tu, err := ParseDatastoreTuning(s); err == nil {
			if tu2, err := ParseDatastoreTuning(tu.String()); err != nil || !reflect.DeepEqual(tu, tu2) {
				t.Fatalf("tuning %q: %+v, String() %q, again %+v, %v", s, tu, tu.String(), tu2, err)
			}
		}
		if n, err := ParseDatastoreNotify(s); err == nil {
			if n2, err := ParseDatastoreNotify(n.String()); err != nil || !reflect.DeepEqual(n, n2) {
				t.Fatalf("notify %q: %+v, String() %q, again %+v, %v", s, n, n.String(), n2, err)
			}
		}
	})
}
