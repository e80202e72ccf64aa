package pve

import (
	"reflect"
	"testing"
)

func TestParsePropertyString(t *testing.T) {
	tests := []struct {
		in, defaultKey string
		keys           []string
		values         map[string]string
		format         string // "" means the input back
	}{
		{
			in: "local-lvm:vm-100-disk-0,discard=on,size=32G,ssd=1", defaultKey: "file",
			keys:   []string{"file", "discard", "size", "ssd"},
			values: map[string]string{"file": "local-lvm:vm-100-disk-0", "discard": "on", "size": "32G", "ssd": "1"},
		},
		{
			in: "virtio=BC:24:11:2A:3B:4C,bridge=vmbr0,firewall=1", defaultKey: "model",
			keys:   []string{"virtio", "bridge", "firewall"},
			values: map[string]string{"virtio": "BC:24:11:2A:3B:4C", "bridge": "vmbr0", "firewall": "1"},
		},
		{
			in: "ip=10.0.0.5/24,gw=10.0.0.1", defaultKey: "",
			keys:   []string{"ip", "gw"},
			values: map[string]string{"ip": "10.0.0.5/24", "gw": "10.0.0.1"},
		},
		{
			// The default key's value is written first and bare.
			in: "size=4M,file=local-lvm:vm-100-disk-1,efitype=4m", defaultKey: "file",
			keys:   []string{"size", "file", "efitype"},
			values: map[string]string{"size": "4M", "file": "local-lvm:vm-100-disk-1", "efitype": "4m"},
			format: "local-lvm:vm-100-disk-1,size=4M,efitype=4m",
		},
		{in: "", defaultKey: "file", keys: nil, values: map[string]string{}},
	}
	for _, tt := range tests {
		p, err := ParsePropertyString(tt.in, tt.defaultKey)
		if err != nil {
			t.Fatalf("ParsePropertyString(%q): %v", tt.in, err)
		}
		if !reflect.DeepEqual(p.Keys(), tt.keys) && !(len(p.Keys()) == 0 && len(tt.keys) == 0) {
			t.Errorf("%q: keys %v, want %v", tt.in, p.Keys(), tt.keys)
		}
		for k, v := range tt.values {
			if got := p.Value(k); got != v {
				t.Errorf("%q: %s = %q, want %q", tt.in, k, got, v)
			}
		}
		want := tt.format
		if want == "" {
			want = tt.in
		}
		if got := p.Format(tt.defaultKey); got != want {
			t.Errorf("Format(%q) = %q, want %q", tt.in, got, want)
		}
	}
}

func TestParsePropertyStringErrors(t *testing.T) {
	for _, tt := range []struct{ in, defaultKey string }{
		{"a=1,a=2", ""},
		{"bare", ""},
		{"=value", "file"},
		{"one,two", "file"}, // two values for the default key
	} {
		if _, err := ParsePropertyString(tt.in, tt.defaultKey); err == nil {
			t.Errorf("ParsePropertyString(%q, %q): want an error", tt.in, tt.defaultKey)
		}
	}
}

func TestPropertyStringEdit(t *testing.T) {
	p, _ := ParsePropertyString("virtio=BC:24:11:2A:3B:4C,bridge=vmbr0,firewall=1", "")
	p.Set("bridge", "vmbr1")
	p.Set("tag", "40")
	p.Delete("firewall")
	p.Delete("absent")
	if got := p.Format(""); got != "virtio=BC:24:11:2A:3B:4C,bridge=vmbr1,tag=40" {
		t.Fatalf("edited = %q", got)
	}
	var zero PropertyString
	zero.Set("size", "8G")
	if got := zero.Format("file"); got != "size=8G" {
		t.Fatalf("zero value = %q", got)
	}
}

// Round trip: whatever parses formats back to something that parses to
// the same keys and values.
func FuzzPropertyStringRoundTrip(f *testing.F) {
	for _, s := range []string{"local-lvm:vm-100-disk-0,discard=on,size=32G", "virtio=BC:24:11:2A:3B:4C,bridge=vmbr0", "a=,b==c", ""} {
		f.Add(s, "file")
		f.Add(s, "")
	}
	f.Fuzz(func(t *testing.T, s, defaultKey string) {
		p, err := ParsePropertyString(s, defaultKey)
		if err != nil {
			return
		}
		out := p.Format(defaultKey)
		q, err := ParsePropertyString(out, defaultKey)
		if err != nil {
			t.Fatalf("Format gave %q, which does not parse: %v", out, err)
		}
		if !reflect.DeepEqual(p.values, q.values) && !(len(p.values) == 0 && len(q.values) == 0) {
			t.Fatalf("round trip of %q: %v became %v (via %q)", s, p.values, q.values, out)
		}
	})
}
