package vm

import (
	"context"
	"net/url"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

func TestCheckSlot(t *testing.T) {
	for _, tt := range []struct {
		slot string
		ok   bool
	}{
		{"scsi0", true}, {"scsi30", true}, {"scsi31", false}, {"virtio15", true}, {"virtio16", false},
		{"sata5", true}, {"sata6", false}, {"ide3", true}, {"ide4", false}, {"scsi01", false}, {"nvme0", false},
	} {
		if err := checkSlot(tt.slot, diskFamilies); (err == nil) != tt.ok {
			t.Errorf("disk slot %s: %v, want ok=%v", tt.slot, err, tt.ok)
		}
	}
	if checkSlot("net31", netFamilies) != nil || checkSlot("net32", netFamilies) == nil {
		t.Error("net slots are net0..net31")
	}
}

func TestDiskValues(t *testing.T) {
	d := diskModel{Storage: types.StringValue("local-lvm"), Size: types.Int64Value(32), Cache: types.StringNull(),
		Discard: types.BoolValue(true), IOThread: types.BoolValue(true), SSD: types.BoolValue(false), Backup: types.BoolValue(false)}
	if got := d.createValue(); got != "local-lvm:32,discard=on,iothread=1,backup=0" {
		t.Fatalf("createValue = %q", got)
	}
	read, isDisk, err := diskFromAPI("local-lvm:vm-100-disk-0,discard=on,iothread=1,backup=0,size=32G")
	if err != nil || !isDisk {
		t.Fatal(isDisk, err)
	}
	if read.Storage.ValueString() != "local-lvm" || read.Size.ValueInt64() != 32 || !read.Discard.ValueBool() || read.Format.ValueString() != "raw" ||
		read.SSD.ValueBool() || read.Backup.ValueBool() || read.Volume.ValueString() != "local-lvm:vm-100-disk-0" {
		t.Fatalf("diskFromAPI = %+v", read)
	}
	d.SSD = types.BoolValue(true)
	d.Discard = types.BoolValue(false)
	got, err := d.updateValue("local-lvm:vm-100-disk-0,discard=on,iothread=1,backup=0,size=32G")
	if err != nil || got != "local-lvm:vm-100-disk-0,size=32G,iothread=1,ssd=1,backup=0" {
		t.Fatalf("updateValue = %q, %v", got, err)
	}
	for _, notDisk := range []string{"local:iso/proxmox-ve_9.1-1.iso,media=cdrom", "local-lvm:vm-100-cloudinit,media=cdrom", "none,media=cdrom"} {
		if _, isDisk, err := diskFromAPI(notDisk); isDisk || err != nil {
			t.Errorf("%q: isDisk=%v err=%v", notDisk, isDisk, err)
		}
	}
}

func TestNICRoundTrip(t *testing.T) {
	for _, in := range []string{
		"virtio=BC:24:11:2A:3B:4C,bridge=vmbr0,firewall=1",
		"e1000=BC:24:11:2A:3B:4D,bridge=vmbr1,tag=40,mtu=1,rate=12.5",
	} {
		n, err := nicFromAPI(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := n.value(); got != in {
			t.Errorf("round trip of %q gave %q", in, got)
		}
	}
	n := nicModel{Model: types.StringValue("virtio"), Bridge: types.StringValue("vmbr0"), MAC: types.StringUnknown(),
		Tag: types.Int64Null(), MTU: types.Int64Null(), Rate: types.StringNull(), Firewall: types.BoolValue(false)}
	if got := n.value(); got != "model=virtio,bridge=vmbr0" {
		t.Errorf("a new NIC without MAC = %q", got)
	}
	read, _ := nicFromAPI("model=virtio,macaddr=BC:24:11:2A:3B:4C,bridge=vmbr0")
	if read.Model.ValueString() != "virtio" || read.MAC.ValueString() != "BC:24:11:2A:3B:4C" {
		t.Errorf("model= form: %+v", read)
	}
}

func TestConfigParamsUpdate(t *testing.T) {
	ctx := context.Background()
	tags, _ := types.SetValueFrom(ctx, types.StringType, []string{"web", "prod"})
	prior := &vmModel{Name: types.StringValue("web1"), CPU: cpuObject(types.Int64Value(2), types.Int64Null(), types.StringNull()),
		Memory:      objectOf(memoryTypes, &memoryModel{Size: types.Int64Value(2048), Balloon: types.Int64Null()}),
		Description: types.StringValue("old"), Tags: tags, CDROM: types.StringValue("local:iso/a.iso"),
		OnBoot: types.BoolNull(), BIOS: types.StringNull(), Machine: types.StringNull(), SCSIController: types.StringNull()}
	plan := *prior
	plan.CPU = cpuObject(types.Int64Value(4), types.Int64Unknown(), types.StringNull())
	plan.Description = types.StringNull()
	plan.CDROM = types.StringNull()
	plan.OnBoot = types.BoolValue(true)
	var diags diag.Diagnostics
	p := url.Values{}
	configParams(ctx, &plan, prior, p, &diags)
	want := url.Values{"cores": {"4"}, "onboot": {"1"}, "delete": {"description"}, "ide2": {"none,media=cdrom"}}
	if diags.HasError() || p.Encode() != want.Encode() {
		t.Fatalf("params = %v, want %v (%v)", p, want, diags)
	}
	p = url.Values{}
	configParams(ctx, &plan, nil, p, &diags)
	if p.Get("tags") != "prod;web" || p.Get("name") != "web1" || p.Has("delete") {
		t.Fatalf("create params = %v", p)
	}
}

// A setting the configuration leaves unset (unknown in the plan) is left
// as it is, not deleted: a clone keeps its template's.
func TestConfigParamsUnsetIsKept(t *testing.T) {
	prior := &vmModel{CPU: cpuObject(types.Int64Value(4), types.Int64Null(), types.StringValue("host")), Name: types.StringValue("tmpl"),
		BIOS: types.StringValue("ovmf"), Tags: types.SetNull(types.StringType), Description: types.StringNull(),
		Memory: objectOf(memoryTypes, &memoryModel{Size: types.Int64Value(4096), Balloon: types.Int64Null()}),
		OnBoot: types.BoolNull(), Machine: types.StringNull(), SCSIController: types.StringNull(), Protection: types.BoolNull(),
		Serial: types.ListNull(types.StringType), CDROM: types.StringNull()}
	plan := *prior
	// The cpu block is set with only its type (cores and sockets unset);
	// the memory block, bios and tags are not set at all.
	plan.CPU = cpuObject(types.Int64Unknown(), types.Int64Unknown(), types.StringValue("host"))
	plan.Memory = types.ObjectUnknown(memoryTypes)
	plan.BIOS, plan.Tags = types.StringUnknown(), types.SetUnknown(types.StringType)
	plan.Name = types.StringValue("web")
	var diags diag.Diagnostics
	p := url.Values{}
	configParams(context.Background(), &plan, prior, p, &diags)
	if diags.HasError() || p.Encode() != (url.Values{"name": {"web"}}).Encode() {
		t.Fatalf("params = %v (%v)", p, diags)
	}
}

func cpuObject(cores, sockets types.Int64, typ types.String) types.Object {
	return objectOf(cpuTypes, &cpuModel{Cores: cores, Sockets: sockets, Type: typ, NUMA: types.BoolNull()})
}

func TestDiskFormat(t *testing.T) {
	for _, tt := range []struct{ volume, stated, want string }{
		{"local-lvm:vm-100-disk-0", "", "raw"},
		{"local:100/vm-100-disk-0.qcow2", "", "qcow2"},
		{"nfs:100/vm-100-disk-1.vmdk", "", "vmdk"},
		{"local:100/vm-100-disk-2.img", "qcow2", "qcow2"},
	} {
		if got := diskFormat(tt.volume, tt.stated); got != tt.want {
			t.Errorf("diskFormat(%q, %q) = %q, want %q", tt.volume, tt.stated, got, tt.want)
		}
	}
	d := diskModel{Storage: types.StringValue("local"), Size: types.Int64Value(8), Format: types.StringValue("qcow2"),
		Cache: types.StringNull(), Backup: types.BoolNull()}
	if got := d.createValue(); got != "local:8,format=qcow2" {
		t.Errorf("createValue = %q", got)
	}
}
