package pvesim

import (
	"context"
	"strings"
	"testing"
	"time"

	proxmox "github.com/luthermonson/go-proxmox"
)

// go-proxmox drives the VM life cycle against the lab unchanged.
func TestGoProxmoxVirtualMachine(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	client := goProxmoxClients(t, lab)["token"]
	ctx := context.Background()
	wait := func(task *proxmox.Task, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if err := task.Wait(ctx, 20*time.Millisecond, 5*time.Second); err != nil {
			t.Fatalf("Wait: %v", err)
		}
		if !task.IsSuccessful {
			t.Fatalf("task %s failed: %s", task.UPID, task.ExitStatus)
		}
	}

	node, err := client.Node(ctx, "pve1")
	if err != nil {
		t.Fatal(err)
	}
	wait(node.NewVirtualMachine(ctx, 100,
		proxmox.VirtualMachineOption{Name: "name", Value: "gp"},
		proxmox.VirtualMachineOption{Name: "cores", Value: 2},
		proxmox.VirtualMachineOption{Name: "memory", Value: 1024},
		proxmox.VirtualMachineOption{Name: "scsi0", Value: "local-lvm:8"},
		proxmox.VirtualMachineOption{Name: "net0", Value: "virtio,bridge=vmbr0"},
		proxmox.VirtualMachineOption{Name: "tags", Value: "web;db"},
	))

	vm, err := node.VirtualMachine(ctx, 100)
	if err != nil {
		t.Fatalf("VirtualMachine: %v", err)
	}
	cfg := vm.VirtualMachineConfig
	if vm.Name != "gp" || !vm.IsStopped() || bool(vm.Template) || vm.CPUs != 2 || vm.MaxMem != 1<<30 || vm.MaxDisk != 8<<30 ||
		cfg.Cores == nil || *cfg.Cores != 2 || int(cfg.Memory) != 1024 || cfg.Tags != "db;web" || len(cfg.Digest) != 40 {
		t.Errorf("vm = %+v\nconfig = %+v", vm, cfg)
	}
	if !strings.HasPrefix(cfg.SCSIs["scsi0"], "local-lvm:vm-100-disk-0,size=8G") || !strings.HasPrefix(cfg.Nets["net0"], "virtio=BC:24:11:") {
		t.Errorf("devices: scsi %v net %v", cfg.SCSIs, cfg.Nets)
	}

	wait(vm.Start(ctx))
	if vm, err = node.VirtualMachine(ctx, 100); err != nil || !vm.IsRunning() || vm.Uptime > 5 {
		t.Fatalf("after start: %+v, %v", vm, err)
	}
	wait(vm.Config(ctx, proxmox.VirtualMachineOption{Name: "cores", Value: 4}))
	if vm, err = node.VirtualMachine(ctx, 100); err != nil || *vm.VirtualMachineConfig.Cores != 4 || vm.CPUs != 2 {
		t.Errorf("cores pending: %+v, %v", vm, err)
	}

	// the pending change is not cloned, PVE warns about it
	newid, task, err := vm.Clone(ctx, &proxmox.VirtualMachineCloneOptions{Name: "gpclone", Full: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Wait(ctx, 20*time.Millisecond, 5*time.Second); err != nil || task.ExitStatus != "WARNINGS: 1" || newid != 101 {
		t.Fatalf("clone %d: %s, %v", newid, task.ExitStatus, err)
	}
	vms, err := node.VirtualMachines(ctx)
	if err != nil || len(vms) != 2 {
		t.Fatalf("VirtualMachines = %v, %v", vms, err)
	}

	st, err := node.Storage(ctx, "local-lvm")
	if err != nil || st.Type != "lvmthin" || st.Total == 0 || st.Active != 1 {
		t.Fatalf("Storage = %+v, %v", st, err)
	}
	content, err := st.GetContent(ctx)
	if err != nil || len(content) != 2 || content[0].Volid != "local-lvm:vm-100-disk-0" || content[1].VMID != 101 {
		t.Errorf("content = %+v, %v", content, err)
	}

	wait(vm.Stop(ctx))
	wait(vm.Delete(ctx, &proxmox.VirtualMachineDeleteOptions{Purge: true}))
	if _, err := node.VirtualMachine(ctx, 100); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("after delete: %v", err)
	}
}

// TestGoProxmoxStorageContent: go-proxmox reads a new VM disk's volume
// through the storage content API (its raw Get: v0.8.0 has no call for a
// disk's attributes) and deletes it with DeleteContent.
func TestGoProxmoxStorageContent(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{Nodes: 1})
	ctx := context.Background()
	client := goProxmoxClients(t, lab)["token"]
	wait := func(task *proxmox.Task, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if err := task.Wait(ctx, 20*time.Millisecond, 5*time.Second); err != nil || !task.IsSuccessful {
			t.Fatalf("task %s: %s, %v", task.UPID, task.ExitStatus, err)
		}
	}
	node, err := client.Node(ctx, "pve1")
	if err != nil {
		t.Fatal(err)
	}
	wait(node.NewVirtualMachine(ctx, 100, proxmox.VirtualMachineOption{Name: "scsi0", Value: "local-lvm:8"}))

	var info struct {
		Path   string `json:"path"`
		Size   uint64 `json:"size"`
		Used   uint64 `json:"used"`
		Format string `json:"format"`
	}
	if err := client.Get(ctx, "/nodes/pve1/storage/local-lvm/content/local-lvm:vm-100-disk-0", &info); err != nil {
		t.Fatalf("volume info: %v", err)
	}
	if info.Path != "/dev/pve/vm-100-disk-0" || info.Size != 8<<30 || info.Format != "raw" || info.Used > info.Size {
		t.Errorf("volume info = %+v", info)
	}
	if err := client.Get(ctx, "/nodes/pve1/storage/local-lvm/content/local:vm-100-disk-0", &info); err == nil || !strings.Contains(err.Error(), "storage ID mismatch") {
		t.Errorf("volume of another storage: %v", err)
	}

	st, err := node.Storage(ctx, "local-lvm")
	if err != nil {
		t.Fatal(err)
	}
	wait(st.DeleteContent(ctx, "vm-100-disk-0"))
	if content, err := st.GetContent(ctx); err != nil || len(content) != 0 {
		t.Errorf("content after the delete = %+v, %v", content, err)
	}
	if err := client.Get(ctx, "/nodes/pve1/storage/local-lvm/content/vm-100-disk-0", &info); err == nil || !strings.Contains(err.Error(), "no format") {
		t.Errorf("info of a deleted volume: %v", err)
	}
}
