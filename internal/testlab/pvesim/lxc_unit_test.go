package pvesim

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/pveschema"
)

func TestLXCNetPropertyStrings(t *testing.T) {
	tests := []struct{ in, want string }{
		{"tag=40,bridge=vmbr0,name=eth0,firewall=true,ip=dhcp", "name=eth0,bridge=vmbr0,firewall=1,ip=dhcp,tag=40"},
		{"name=eth1,hwaddr=BC:24:11:00:00:01,type=veth,link_down=off", "name=eth1,hwaddr=BC:24:11:00:00:01,link_down=0,type=veth"},
		{"bridge=vmbr0", "bridge=vmbr0"},
	}
	for _, tt := range tests {
		if got := printLXCNet(parseLXCNet(tt.in)); got != tt.want {
			t.Errorf("net %q = %q, want %q", tt.in, got, tt.want)
		}
	}
	n := parseLXCNet(normalizeLXCNet("name=eth0,bridge=vmbr0"))
	if n["type"] != "veth" || pveschema.CheckFormat("mac-addr", n["hwaddr"]) != "" || n["hwaddr"][:8] != macPrefix {
		t.Errorf("normalized = %v", n)
	}
	if got := normalizeLXCNet("name=eth0,hwaddr=BC:24:11:AA:BB:CC"); got != "name=eth0,hwaddr=BC:24:11:AA:BB:CC,type=veth" {
		t.Errorf("normalized with MAC = %q", got)
	}
}

func TestLXCMountPointPropertyStrings(t *testing.T) {
	tests := []struct{ key, in, want, kind string }{
		{"mp0", "volume=local-lvm:vm-1-disk-1,size=4096M,mp=/d,ro=yes", "local-lvm:vm-1-disk-1,mp=/d,ro=1,size=4G", "volume"},
		{"rootfs", "local-lvm:vm-1-disk-0,mp=/,size=8G", "local-lvm:vm-1-disk-0,size=8G", "volume"},
		{"mp1", "/mnt/share,mp=/share,backup=0", "/mnt/share,mp=/share,backup=0", "bind"},
		{"mp2", "/dev/sdb1,mp=/disk", "/dev/sdb1,mp=/disk", "device"},
	}
	for _, tt := range tests {
		mp := parseMountPoint(tt.in)
		if got := mp.print(tt.key); got != tt.want || mp.kind() != tt.kind {
			t.Errorf("%s %q = %q (%s), want %q (%s)", tt.key, tt.in, got, mp.kind(), tt.want, tt.kind)
		}
	}
	if got := parseFeatures("nesting=true,keyctl=0,mount=nfs;cifs"); !maps.Equal(got, map[string]string{"nesting": "1", "keyctl": "0", "mount": "nfs;cifs"}) {
		t.Errorf("features = %v", got)
	}
}

func TestMkfsLines(t *testing.T) {
	tests := []struct {
		size  uint64
		first string
		lines []string // the backup block lines
	}{
		{8 << 30, "Creating filesystem with 2097152 4k blocks and 524288 inodes", []string{"\t32768, 98304, 163840, 229376, 294912, 819200, 884736, 1605632"}},
		// mke2fs wraps at 72 columns; the filter drops a last line with a single number
		{20 << 30, "Creating filesystem with 5242880 4k blocks and 1310720 inodes", []string{"\t32768, 98304, 163840, 229376, 294912, 819200, 884736, 1605632, 2654208, "}},
		{1 << 30, "Creating filesystem with 262144 4k blocks and 65536 inodes", []string{"\t32768, 98304, 163840, 229376"}},
	}
	for _, tt := range tests {
		l := mkfsLines(tt.size)
		if l[0] != tt.first || !strings.HasPrefix(l[1], "Filesystem UUID: ") || l[2] != "Superblock backups stored on blocks: " || !slices.Equal(l[3:], tt.lines) {
			t.Errorf("mkfs %d = %q", tt.size, l)
		}
	}
}

func TestLXCConfigText(t *testing.T) {
	ct := &lxcCT{vmid: 100, guestConfig: guestConfig{
		conf:    map[string]string{"memory": "512", "description": "a\n\nb\n", "rootfs": "local-lvm:vm-100-disk-0,size=8G", "unused0": "local-lvm:vm-100-disk-0"},
		pending: map[string]string{"swap": "0", "delete": "cores"},
	}}
	ct.reload()
	want := "#a\n#\n#b\nmemory: 512\nrootfs: local-lvm:vm-100-disk-0,size=8G\n\n[pve:pending]\ndelete: cores\nswap: 0\n"
	if got := ct.configText(); got != want {
		t.Errorf("config text = %q, want %q", got, want)
	}
	if lxcTypedValue("memory", "512") != int64(512) || lxcTypedValue("onboot", "yes") != 1 || lxcTypedValue("cpulimit", "1.5") != "1.5" {
		t.Error("typed values")
	}
	if !validSSHKeyLine(testSSHKey()) || validSSHKeyLine("ssh-ed25519 AAAA") || validSSHKeyLine("no key here") {
		t.Error("validSSHKeyLine")
	}
	if templateInfo("vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst") != (ctTemplate{"ubuntu", 255}) || templateInfo("vztmpl/alpine-3.22-default_20250617_amd64.tar.xz").ostype != "alpine" {
		t.Error("templateInfo")
	}
}

func FuzzParseMountPoint(f *testing.F) {
	for _, s := range []string{"local-lvm:8", "volume=a,mp=/x,size=1G", "/dev/sdb,mp=/d", ",,=", "a=b=c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		mp := parseMountPoint(s)
		again := parseMountPoint(mp.print("mp0"))
		if mp["volume"] != "" && mp["size"] == "" && !containsComma(drive(mp)) && !maps.Equal(mp, again) {
			t.Errorf("parse(print(parse(%q))) = %v, want %v", s, again, mp)
		}
	})
}
