package pvesim

import (
	"strings"
	"testing"
	"time"
)

// Lock contention is what another worker holding a guest's flock causes:
// a create's (or clone's) worker takes the flock of the guest its own call
// has just created, which nobody else can hold, so the fault spares it; a
// worker on an existing guest still meets it.
func TestLockFaultSparesFreshGuest(t *testing.T) {
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()
	lab.Faults().SetLockContention(1)
	nop := func(time.Time, *worker) {}
	lab.mu.Lock()
	fresh := lab.spawnVMTaskLocked(time.Now(), "pve1", "vzcreate", "200", "root@pam", 0,
		[]flockReq{{vmid: 200, timeout: lockConfigTimeout, ct: true, fresh: true}}, nop, nil)
	existing := lab.spawnVMTaskLocked(time.Now(), "pve1", "vzstart", "201", "root@pam", 0,
		[]flockReq{{vmid: 201, timeout: lockConfigTimeout, ct: true}}, nop, nil)
	lab.mu.Unlock()
	if exit, _ := waitTask(t, c, fresh); exit != "OK" {
		t.Errorf("worker on a fresh guest: %s", exit)
	}
	if exit, _ := waitTask(t, c, existing); !strings.HasPrefix(exit, "can't lock file '/run/lock/lxc/pve-config-201.lock'") {
		t.Errorf("worker on an existing guest: %s", exit)
	}
}
