package pvesim

import (
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"
)

// A full clone of a running VM mirrors its disks, which takes more than a
// second, under an exclusive flock that a second clone waits for only 1 s
// (clone_vm's lock_config_full($vmid, 1, ...)): of two parallel clones
// one fails on the lock, as on a real node.
func TestQemuParallelClonesOfRunningVM(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()
	createSimpleVM(t, c, "pve1", 100, nil)
	runTask(t, c, http.MethodPost, "/nodes/pve1/qemu/100/status/start", nil)

	var wg sync.WaitGroup
	upids := make([]string, 2)
	for i := range upids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			upids[i] = upidOf(t, c.Form(http.MethodPost, "/nodes/pve1/qemu/100/clone", url.Values{"newid": {fmt.Sprint(101 + i)}}))
		}()
	}
	wg.Wait()
	exits := map[string]int{}
	for _, upid := range upids {
		exit, _ := waitTask(t, c, upid)
		exits[exit]++
	}
	want := map[string]int{"OK": 1, "can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout": 1}
	if fmt.Sprint(exits) != fmt.Sprint(want) {
		t.Errorf("clone exits = %v, want %v", exits, want)
	}

	// a stopped source is locked shared: both clones succeed
	runTask(t, c, http.MethodPost, "/nodes/pve1/qemu/100/status/stop", nil)
	for i := range upids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			upids[i] = upidOf(t, c.Form(http.MethodPost, "/nodes/pve1/qemu/100/clone", url.Values{"newid": {fmt.Sprint(111 + i)}}))
		}()
	}
	wg.Wait()
	for _, upid := range upids {
		if exit, lines := waitTask(t, c, upid); exit != "OK" {
			t.Errorf("clone of the stopped VM: %s %q", exit, lines)
		}
	}
}

// The work of a worker grows with its disks; the task speed divides it.
func TestTaskWork(t *testing.T) {
	t.Parallel()
	small := newDiskWork(map[string]string{"scsi0": "local-lvm:8,iothread=1"})
	big := newDiskWork(map[string]string{"scsi0": "local-lvm:800,iothread=1"})
	two := newDiskWork(map[string]string{"scsi0": "local-lvm:8", "scsi1": "local-lvm:8"})
	imported := newDiskWork(map[string]string{"scsi0": "local-lvm:8,import-from=local:iso/x.qcow2"})
	none := newDiskWork(map[string]string{"scsi0": "local-lvm:vm-100-disk-0", "ide2": "none,media=cdrom"})
	if none != 0 || small <= 0 || big <= small || two <= small || imported <= small {
		t.Errorf("disk work: none %s, 8G %s, 800G %s, two 8G %s, 8G imported %s", none, small, big, two, imported)
	}
	ct := ctNewVolumeWork(map[string]string{"rootfs": "local-lvm:8", "mp0": "local-lvm:8,mp=/srv", "mp1": "/srv,mp=/x"})
	if ct != 2*(allocPerDisk+perGiB(allocPerGiB, 8)) {
		t.Errorf("container volume work = %s", ct)
	}

	lab := startLab(t, Options{Nodes: 1, SchemaPath: "-", TaskSpeed: 4})
	if got := lab.lab.workTime(time.Second); got != 250*time.Millisecond {
		t.Errorf("1 s at speed 4 = %s", got)
	}
	if got := lab.lab.workTime(time.Nanosecond); got != time.Millisecond {
		t.Errorf("1 ns at speed 4 = %s, want the 1 ms floor", got)
	}
	if _, err := Start(Options{TaskSpeed: -1, SchemaPath: "-"}); err == nil {
		t.Error("a negative task speed was accepted")
	}
}
