package pveschema

import (
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestConvertPerlRegex(t *testing.T) {
	tests := []struct {
		pattern string
		match   []string
		noMatch []string
	}{
		{`(?^:[A-Za-z][A-Za-z0-9\.\-_]+)`, []string{"pve", "my-realm.1"}, []string{"1abc", "a", "a b"}},
		{`(?:(?^i:[a-z0-9_][a-z0-9_\-\+\.]*);)*(?^i:[a-z0-9_][a-z0-9_\-\+\.]*)`, []string{"Prod;web", "a"}, []string{"a;", ";a"}},
		{`(?^:(?:\w+=[^\x00-\x08\x10-\x1F\x7F]*)(?:\0\w+=[^\x00-\x08\x10-\x1F\x7F]*)*)`, []string{"a=1\x00b=2"}, []string{"=1"}},
		{`(?^:^(:?(?^i:[0-9a-z\-_\.]+:[0-9a-zA-Z\-_]+))(:?[;, ](?^i:[0-9a-z\-_\.]+:[0-9a-zA-Z\-_]+))*$)`, []string{"vendor:id", "a:b;c:d"}, []string{"ab"}},
		// Perl anchors "^$pattern$" without a group: each applies to one branch.
		{`/dev/parport\d+|/dev/usb/lp\d+`, []string{"/dev/parport0", "/dev/parport0x", "x/dev/usb/lp1"}, []string{"x/dev/parport0"}},
		// "$" also matches before a final newline, as in Perl.
		{`\d+`, []string{"12", "12\n"}, []string{"12\n\n", "1a"}},
		{`[]a]+`, []string{"]a]"}, []string{"b"}},
		{`a\Z`, []string{"a", "a\n"}, []string{"ab"}},
		{`[0-9a-zA-Z!=]{0,4096}`, []string{"", strings.Repeat("a", 2000)}, []string{"a-b"}},
	}
	for _, tc := range tests {
		re, err := compilePVEPattern(tc.pattern)
		if err != nil {
			t.Errorf("%q: %v", tc.pattern, err)
			continue
		}
		for _, s := range tc.match {
			if !re.MatchString(s) {
				t.Errorf("%q does not match %q (%s)", tc.pattern, s, re)
			}
		}
		for _, s := range tc.noMatch {
			if re.MatchString(s) {
				t.Errorf("%q matches %q (%s)", tc.pattern, s, re)
			}
		}
	}
	for _, bad := range []string{`a\`, `[abc`, `(?^x`} {
		if _, err := convertPerlRegex(bad); err == nil {
			t.Errorf("%q converted without error", bad)
		}
	}
}

func TestNamedFormats(t *testing.T) {
	tests := []struct {
		format, value, want string
	}{
		{"pve-node", "pve1", ""},
		{"pve-node", "pve_1", "value does not look like a valid node name\n"},
		{"pve-vmid", "100", ""},
		{"pve-vmid", "099", "value does not look like a valid VM ID\n"},
		{"pve-storage-id", "local-lvm", ""},
		{"pve-storage-id", "1local", "storage ID '1local' contains illegal characters\n"},
		{"pve-configid-list", "net0,scsi1;ide2 virtio3", ""},
		{"pve-configid-list", "net0,0net", "invalid configuration ID '0net'\n"},
		{"pve-tag-list", "web;prod", ""},
		{"pve-tag-list", "web;pr od!", "invalid characters in tag\n"},
		{"mac-addr", "BC:24:11:2A:3B:4C", ""},
		{"mac-addr", "01:24:11:2A:3B:4C", "value does not look like a valid unicast MAC address\n"},
		{"CIDRv4", "10.0.0.1/24", ""},
		{"CIDRv4", "10.0.0.1/4", "value does not look like a valid IPv4 CIDR network\n"},
		{"CIDR", "fd00::1/64", ""},
		{"ipv4mask", "255.255.255.0", ""},
		{"ipv4mask", "255.0.255.0", "value does not look like a valid IP netmask\n"},
		{"pve-vlan-id-or-range", "10-20", ""},
		{"pve-vlan-id-or-range", "20-10", "VLAN range must go from lower to higher tag '20-10'\n"},
		{"pve-vlan-id-or-range", "1", "invalid VLAN tag '1'\n"},
		{"pve-startup-order", "order=1,up=30", ""},
		{"pve-startup-order", "first", "unable to parse startup options\n"},
		{"storage-pair-list", "local:local-lvm,1", ""},
		{"storage-pair-list", "local:1bad", "entry 'local:1bad' contains invalid ID - storage ID '1bad' contains illegal characters\n\n\n"},
		{"pve-unknown-format", "anything", ""},
		{"dns-name-opt", "", ""},
	}
	for _, tc := range tests {
		if got := CheckFormat(tc.format, tc.value); got != tc.want {
			t.Errorf("%s %q = %q, want %q", tc.format, tc.value, got, tc.want)
		}
	}
}

// netFormat is the property-string format of a VM's net[n] option, trimmed.
func netFormat() map[string]*Property {
	one := 1.0
	max := 4094.0
	return map[string]*Property{
		"model":    {Type: "string", DefaultKey: true, Enum: []string{"e1000", "virtio"}},
		"virtio":   {Alias: "macaddr", KeyAlias: "model"},
		"macaddr":  {Type: "string", Optional: true, Format: "mac-addr"},
		"bridge":   {Type: "string", Optional: true, Format: "pve-bridge-id"},
		"tag":      {Type: "integer", Optional: true, Minimum: &one, Maximum: &max},
		"firewall": {Type: "boolean", Optional: true},
	}
}

func TestParsePropertyString(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{"virtio,bridge=vmbr0,firewall=yes", "bridge=vmbr0 firewall=1 model=virtio", ""},
		{"virtio=BC:24:11:00:00:01,tag=5", "macaddr=BC:24:11:00:00:01 model=virtio tag=5", ""},
		{"bridge=vmbr0", "", "format error\nnet0.model: property is missing and it is not optional\n"},
		{"virtio,tag=0", "", "format error\nnet0.tag: value must have a minimum value of 1\n"},
		{"virtio,tag=x", "", "format error\nnet0.tag: type check ('integer') failed - got 'x'\n"},
		{"rtl8139", "", "format error\nnet0.model: value 'rtl8139' does not have a value in the enumeration 'e1000, virtio'\n"},
		{"virtio,e1000", "", "duplicate key in comma-separated list property: model\n"},
		{"virtio,speed=10", "", "invalid key in comma-separated list property: speed\n"},
		{"virtio,bridge=", "", "missing key in comma-separated list property\n"},
		{"virtio,bridge=a,bridge=b", "", "duplicate key in comma-separated list property: bridge\n"},
		{"virtio,,", "model=virtio", ""},
	}
	for _, tc := range tests {
		got, err := ParsePropertyString(netFormat(), tc.in, "net0")
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%q: error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(got)) {
			parts = append(parts, k+"="+got[k])
		}
		if strings.Join(parts, " ") != tc.want {
			t.Errorf("%q = %v, want %s", tc.in, parts, tc.want)
		}
	}
}

func FuzzConvertPerlRegex(f *testing.F) {
	for _, seed := range []string{`(?^:[A-Za-z][A-Za-z0-9\.\-_]+)`, `a|b$`, `[]\0]\Z`, `\h+(?^i:x)`, `[[:alpha:]]`, `(?^`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, pat string) {
		conv, err := convertPerlRegex(pat)
		if err != nil {
			return
		}
		if re, err := regexp.Compile(conv); err == nil {
			re.MatchString(pat) // must not panic
		}
	})
}

func FuzzParsePropertyString(f *testing.F) {
	for _, seed := range []string{"virtio,bridge=vmbr0", "virtio=BC:24:11:00:00:01,tag=5,firewall=on", ",,=", "a=b=c", "virtio,e1000"} {
		f.Add(seed)
	}
	format := netFormat()
	f.Fuzz(func(t *testing.T, in string) {
		got, err := ParsePropertyString(format, in, "net0")
		if err != nil {
			if !strings.HasSuffix(err.Error(), "\n") {
				t.Fatalf("error %q lacks PVE's trailing newline", err)
			}
			return
		}
		for k := range got {
			if format[k] == nil {
				t.Fatalf("%q: parsed unknown key %q", in, k)
			}
		}
		if got["model"] == "" {
			t.Fatalf("%q: accepted without the required model", in)
		}
	})
}
