package pvesim

import (
	"maps"
	"testing"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/pveschema"
)

func TestDrivePropertyStrings(t *testing.T) {
	tests := []struct{ in, want string }{
		{"local-lvm:32,ssd=1,discard=on", "local-lvm:32,discard=on,ssd=1"},
		{"volume=local-lvm:vm-100-disk-0,size=32G,iothread=true", "local-lvm:vm-100-disk-0,iothread=1,size=32G"},
		{"local:iso/x.iso,media=cdrom", "local:iso/x.iso,media=cdrom"},
		{"none,media=cdrom", "none,media=cdrom"},
		{"size=4M,file=local-lvm:vm-100-disk-1,efitype=4m,pre-enrolled-keys=yes", "local-lvm:vm-100-disk-1,efitype=4m,pre-enrolled-keys=1,size=4M"},
	}
	for _, tt := range tests {
		if got := parseDrive(tt.in).String(); got != tt.want {
			t.Errorf("parseDrive(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if !parseDrive("local-lvm:vm-100-cloudinit,media=cdrom").isCloudinit() || parseDrive("local-lvm:vm-100-disk-0").isCloudinit() ||
		!parseDrive("local:100/vm-100-cloudinit.qcow2,media=cdrom").isCloudinit() {
		t.Error("isCloudinit")
	}
}

func TestNetPropertyStrings(t *testing.T) {
	tests := []struct{ in, want string }{
		{"virtio,bridge=vmbr0", "virtio,bridge=vmbr0"},
		{"bridge=vmbr0,virtio=BC:24:11:00:00:01,firewall=true,tag=10", "virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1,tag=10"},
		{"model=e1000,macaddr=BC:24:11:00:00:02", "e1000=BC:24:11:00:00:02"},
	}
	for _, tt := range tests {
		if got := printNet(parseNet(tt.in)); got != tt.want {
			t.Errorf("net %q = %q, want %q", tt.in, got, tt.want)
		}
	}
	if m := randomMAC(); pveschema.CheckFormat("mac-addr", m) != "" || m[:8] != macPrefix {
		t.Errorf("randomMAC = %q", m)
	}
}

func TestSizes(t *testing.T) {
	for size, want := range map[uint64]string{32 << 30: "32G", 4 << 20: "4M", 528 << 10: "528K", 1 << 40: "1T", 1000: "1000", 1536 << 20: "1536M"} {
		if got := formatSize(size); got != want {
			t.Errorf("formatSize(%d) = %q, want %q", size, got, want)
		}
		if back, ok := parseSize(want); !ok || back != size {
			t.Errorf("parseSize(%q) = %d, %v", want, back, ok)
		}
	}
	if roundExtent(540672) != 4<<20 || roundExtent(32<<30) != 32<<30 {
		t.Error("roundExtent")
	}
}

func TestTagsAndBootOrder(t *testing.T) {
	if got := uniqueTags("web;Prod, db web;prod"); got != "db;Prod;web" {
		t.Errorf("uniqueTags = %q", got)
	}
	conf := map[string]string{"ide2": "local:iso/x.iso,media=cdrom", "scsi1": "local-lvm:vm-1-disk-1,size=1G", "virtio0": "local-lvm:vm-1-disk-0,size=2G", "net3": "virtio", "net1": "virtio"}
	if got := printBootOrder(defaultBootDevices(conf)); got != "order=scsi1;ide2;net1" {
		t.Errorf("boot = %q", got)
	}
	conf["boot"] = "order=virtio0;net1"
	if got := bootDiskSize(conf); got != 2<<30 {
		t.Errorf("bootDiskSize = %d", got)
	}
}

func TestPendingHelpers(t *testing.T) {
	vm := &qemuVM{guestConfig: guestConfig{conf: map[string]string{"cores": "2", "name": "a"}, pending: map[string]string{"cores": "2", "memory": "1024"}}}
	vm.addPendingDelete("name", false)
	vm.addPendingDelete("sockets", true)
	vm.addPendingDelete("ide2", true)
	if vm.pending["delete"] != "!ide2,name,!sockets" {
		t.Errorf("delete = %q", vm.pending["delete"])
	}
	vm.cleanupPending()
	if want := map[string]string{"memory": "1024", "delete": "name"}; !maps.Equal(vm.pending, want) {
		t.Errorf("pending = %v", vm.pending)
	}
	if v := vm.view(false); v["memory"] != "1024" || v["name"] != "" || v["cores"] != "2" {
		t.Errorf("view = %v", v)
	}
	want := "cores: 2\nname: a\n\n[PENDING]\ndelete: name\nmemory: 1024\n"
	if got := vm.configText(); got != want {
		t.Errorf("config text = %q, want %q", got, want)
	}
	vm.conf["description"] = "line 1\nline 2"
	if got := vm.configText(); got[:16] != "#line 1\n#line 2\n" {
		t.Errorf("description: %q", got)
	}
}

func FuzzParseDrive(f *testing.F) {
	for _, s := range []string{"local-lvm:32,discard=on", "file=a,volume=b", "none,media=cdrom", ",,=x", "a=b=c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d := parseDrive(s)
		again := parseDrive(d.String())
		if d["file"] != "" && !maps.Equal(d, again) && !containsComma(d) {
			t.Errorf("parse(print(parse(%q))) = %v, want %v", s, again, d)
		}
	})
}

func containsComma(d drive) bool {
	for k, v := range d {
		for _, c := range k + v {
			if c == ',' || c == '=' {
				return true
			}
		}
	}
	return false
}
