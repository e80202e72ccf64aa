package pvesim

import (
	"context"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/mirror"
	"strings"
	"testing"
	"time"

	proxmox "github.com/luthermonson/go-proxmox"
)

// go-proxmox drives the container life cycle against the lab unchanged.
func TestGoProxmoxContainer(t *testing.T) {
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
	// a fresh node has no template: go-proxmox downloads it first
	files, err := mirror.Start("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = files.Close() })
	tmpl, _ := mirror.Lookup(mirror.DebianTemplate)
	local, err := node.Storage(ctx, "local")
	if err != nil {
		t.Fatal(err)
	}
	wait(local.DownloadURLWithHash(ctx, "vztmpl", tmpl.Name(), files.FileURL(tmpl.Name()), tmpl.SHA512, "sha512"))
	if got, err := local.VzTmpl(ctx, tmpl.Name()); err != nil || uint64(got.Size) != uint64(tmpl.Size) {
		t.Fatalf("VzTmpl = %+v, %v", got, err)
	}
	wait(node.NewContainer(ctx, 0,
		proxmox.ContainerOption{Name: "ostemplate", Value: debianTemplate},
		proxmox.ContainerOption{Name: "hostname", Value: "gp"},
		proxmox.ContainerOption{Name: "cores", Value: 2},
		proxmox.ContainerOption{Name: "memory", Value: 1024},
		proxmox.ContainerOption{Name: "rootfs", Value: "local-lvm:8"},
		proxmox.ContainerOption{Name: "mp0", Value: "local-lvm:2,mp=/data"},
		proxmox.ContainerOption{Name: "net0", Value: "name=eth0,bridge=vmbr0,ip=dhcp"},
		proxmox.ContainerOption{Name: "features", Value: "nesting=1"},
		proxmox.ContainerOption{Name: "unprivileged", Value: true},
		proxmox.ContainerOption{Name: "password", Value: "s3cret-pw"},
		proxmox.ContainerOption{Name: "tags", Value: "web;db"},
	))

	ct, err := node.Container(ctx, 100)
	if err != nil {
		t.Fatalf("Container: %v", err)
	}
	cfg := ct.ContainerConfig
	if ct.Name != "gp" || ct.Status != "stopped" || ct.CPUs != 2 || ct.MaxMem != 1<<30 || ct.MaxSwap != 512<<20 || ct.MaxDisk != 8<<30 || uint64(ct.VMID) != 100 {
		t.Errorf("container = %+v", ct)
	}
	if cfg.Hostname != "gp" || cfg.Cores != 2 || cfg.Memory == nil || *cfg.Memory != 1024 || cfg.Swap == nil || *cfg.Swap != 512 ||
		cfg.Arch == nil || *cfg.Arch != "amd64" || cfg.OSType != "debian" || !bool(cfg.Unprivileged) || cfg.Tags != "db;web" ||
		cfg.RootFS != "local-lvm:vm-100-disk-0,size=8G" || cfg.Mps["mp0"] != "local-lvm:vm-100-disk-1,mp=/data,size=2G" ||
		!strings.HasPrefix(cfg.Nets["net0"], "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:") || len(cfg.Digest) != 40 {
		t.Errorf("config = %+v", cfg)
	}

	wait(ct.Start(ctx))
	if ct, err = node.Container(ctx, 100); err != nil || ct.Status != "running" || ct.Uptime > 5 {
		t.Fatalf("after start: %+v, %v", ct, err)
	}
	// PUT config answers null; memory is hot-plugged, the DNS server waits for a restart
	if _, err := ct.Config(ctx, proxmox.ContainerOption{Name: "memory", Value: 2048}, proxmox.ContainerOption{Name: "nameserver", Value: "9.9.9.9"}); err != nil {
		t.Fatal(err)
	}
	if ct, err = node.Container(ctx, 100); err != nil || ct.MaxMem != 2<<30 || ct.ContainerConfig.Nameserver != "9.9.9.9" {
		t.Errorf("after config: %+v, %v", ct, err)
	}
	pending, err := ct.Pending(ctx)
	if err != nil || !hasPending(pending, "nameserver") {
		t.Errorf("pending = %v, %v", pending, err)
	}
	if cts, err := node.Containers(ctx); err != nil || len(cts) != 1 || cts[0].Name != "gp" || cts[0].Status != "running" {
		t.Errorf("Containers = %v, %v", cts, err)
	}

	wait(ct.Stop(ctx))
	newid, task, err := ct.Clone(ctx, &proxmox.ContainerCloneOptions{Hostname: "gpclone"})
	wait(task, err)
	if newid != 101 {
		t.Errorf("clone id = %d", newid)
	}
	cl, err := node.Container(ctx, newid)
	if err != nil || cl.Name != "gpclone" || cl.ContainerConfig.RootFS != "local-lvm:vm-101-disk-0,size=8G" {
		t.Errorf("clone = %+v, %v", cl, err)
	}
	wait(ct.Delete(ctx, &proxmox.ContainerDeleteOptions{Purge: true}))
	if _, err := node.Container(ctx, 100); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("after delete: %v", err)
	}
}

func hasPending(pending []*proxmox.ContainerPending, key string) bool {
	for _, p := range pending {
		if p.Key == key && p.Pending != nil {
			return true
		}
	}
	return false
}
