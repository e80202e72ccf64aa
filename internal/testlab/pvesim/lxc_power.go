package pvesim

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/pveschema"
)

// Powering containers: the status actions of pve-container's
// PVE::API2::LXC::Status served below /nodes/{node}/lxc/{vmid}/status, the
// vzstart and hastart workers (PVE::LXC::vm_start) and what keeps a
// container from starting.

// --- power ---------------------------------------------------------------

// ctStartProblemLocked returns what keeps a container with conf from
// starting on node: the lines the start task logs and its error ("" if it
// starts). Every NIC's bridge must exist (the lxcnetaddbr hook plugs the
// veth into it; assumption: the lines lxc-start logs for it).
func (p *PVE) ctStartProblemLocked(node string, vmid int, conf map[string]string, now time.Time) ([]string, string) {
	if pveschema.IsTrue(conf["unprivileged"]) {
		for _, k := range lxcVolumeKeys(conf) {
			if pveschema.IsTrue(parseMountPoint(conf[k])["quota"]) {
				return nil, "Quotas are not supported by unprivileged containers."
			}
		}
	}
	for i := range 32 {
		v, ok := conf[fmt.Sprintf("net%d", i)]
		if !ok {
			continue
		}
		if msg := p.bridgeErrorLocked(node, parseLXCNet(v)["bridge"], now); msg != "" {
			return []string{
				msg,
				"run_buffer: 571 Script exited with status 2",
				"lxc_create_network_priv: 3427 No such device - Failed to create network device",
				"lxc_spawn: 1840 Failed to create the network",
				fmt.Sprintf("__lxc_start: 2107 Failed to spawn container \"%d\"", vmid),
			}, fmt.Sprintf("startup for container '%d' failed", vmid)
		}
	}
	return nil, ""
}

// startCTLocked marks a container as started at.
func (p *PVE) startCTLocked(ct *lxcCT, at time.Time) {
	ct.running, ct.started, ct.pid = true, at, p.nextPIDLocked()
}

// stopCTLocked stops a container; its pending changes stay pending until
// it starts (lxc-pve-poststop-hook applies none).
func stopCTLocked(ct *lxcCT) { ct.running, ct.pid = false, 0 }

// ctVMStartLocked is PVE::LXC::vm_start in a worker: the pending changes
// are applied, then the container starts unless something keeps it from
// starting. It reports whether it starts.
func (p *PVE) ctVMStartLocked(ct *lxcCT, at time.Time, w *worker) bool {
	if len(ct.pending) > 0 {
		p.lxcApplyPendingLocked(ct, nil, at, w)
		ct.reload()
	}
	lines, problem := p.ctStartProblemLocked(ct.node, ct.vmid, ct.conf, at)
	w.log(lines...)
	if problem != "" {
		w.fail(problem)
		return false
	}
	return true
}

// spawnCTStartLocked starts a vzstart worker: vm_start.
func (p *PVE) spawnCTStartLocked(now time.Time, node string, vmid int, user string, skiplock bool, typ string) string {
	starting := false
	return p.spawnVMTaskLocked(now, node, typ, strconv.Itoa(vmid), user, powerWork,
		[]flockReq{{vmid: vmid, timeout: lockConfigTimeout, ct: true}},
		func(at time.Time, w *worker) {
			ct, err := p.ctOnLocked(node, vmid)
			switch {
			case err != nil:
				w.fail(dieText(err))
				return
			case ct.isTemplate():
				w.fail("you can't start a CT if it's a template")
				return
			case !skiplock && ct.conf["lock"] != "mounted" && ct.checkLock() != nil:
				w.fail(dieText(ct.checkLock()))
				return
			case ct.running:
				return
			}
			starting = p.ctVMStartLocked(ct, at, w)
		},
		func(ok bool, at time.Time) {
			if ct, err := p.ctOnLocked(node, vmid); ok && starting && err == nil {
				p.startCTLocked(ct, at)
			}
		})
}

// ctPowerAction serves POST /nodes/{node}/lxc/{vmid}/status/<action>
// (PVE::API2::LXC::Status).
func (p *PVE) ctPowerAction(action string) HandlerFunc {
	return func(r *Request) (any, error) {
		node := r.PathParams["node"]
		vmid := requestVMID(r)
		skiplock := r.Bool("skiplock", false)
		if skiplock && !isRoot(r) {
			return nil, ParamError(map[string]string{"skiplock": "Only root may use this option."})
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		now := time.Now()
		p.settleLocked(now)
		// check_running looks at the node's running containers only
		ct, _ := p.ctOnLocked(node, vmid)
		running := ct != nil && ct.running
		// an HA-managed container is started and stopped through HA
		// (ha_manager.go) unless HA's LRM asks
		ha := p.vmIsHAManagedLocked(vmid) && !fromHA(r)
		sid := haSID("lxc", vmid)
		id := strconv.Itoa(vmid)
		locks := []flockReq{{vmid: vmid, timeout: lockConfigTimeout, ct: true}}
		switch action {
		case "start":
			if running {
				return nil, Errorf(http.StatusInternalServerError, "CT %d already running", vmid)
			}
			if ha {
				cmd := []string{"ha-manager", "set", sid, "--state", "started"}
				return p.spawnHARequestLocked(now, node, "hastart", vmid, r.User, fmt.Sprintf("Requesting HA start for CT %d", vmid), cmd, p.haSetStateCmdLocked(sid, "started")), nil
			}
			return p.spawnCTStartLocked(now, node, vmid, r.User, skiplock, "vzstart"), nil
		case "stop", "shutdown":
			if !running {
				return nil, Errorf(http.StatusInternalServerError, "CT %d not running", vmid)
			}
			typ, work := "vzstop", powerWork
			if action == "shutdown" {
				typ, work, skiplock = "vzshutdown", shutdownWork, false
			}
			if ha {
				if action == "stop" && r.Bool("overrule-shutdown", false) {
					return nil, ParamError(map[string]string{"overrule-shutdown": "Not applicable for HA resources."})
				}
				timeout := "0"
				if action == "shutdown" {
					timeout, _ = r.String("timeout")
					if timeout == "" {
						timeout = "60"
					}
				}
				cmd := []string{"ha-manager", "crm-command", "stop", sid, timeout}
				return p.spawnHARequestLocked(now, node, "hastop", vmid, r.User, fmt.Sprintf("Requesting HA stop for CT %d", vmid), cmd, p.haCRMCmdLocked(sid, "stop "+sid+" "+timeout)), nil
			}
			stopping := false
			return p.spawnVMTaskLocked(now, node, typ, id, r.User, work, locks, func(at time.Time, w *worker) {
				ct, err := p.ctOnLocked(node, vmid)
				switch {
				case err != nil:
					w.fail(dieText(err))
				case !skiplock && ct.conf["lock"] != "mounted" && ct.checkLock() != nil:
					w.fail(dieText(ct.checkLock()))
				default:
					stopping = true
				}
			}, func(ok bool, at time.Time) {
				if ct, err := p.ctOnLocked(node, vmid); ok && stopping && err == nil {
					stopCTLocked(ct)
				}
			}), nil
		case "reboot":
			if !running {
				return nil, Errorf(http.StatusInternalServerError, "VM %d not running", vmid) // sic
			}
			starting := false
			return p.spawnVMTaskLocked(now, node, "vzreboot", id, r.User, rebootWork, locks, func(at time.Time, w *worker) {
				// vm_reboot: no lock check, stop, then vm_start (pending changes apply)
				ct, err := p.ctOnLocked(node, vmid)
				if err != nil || !ct.running {
					return
				}
				stopCTLocked(ct)
				starting = p.ctVMStartLocked(ct, at, w)
			}, func(ok bool, at time.Time) {
				if ct, err := p.ctOnLocked(node, vmid); ok && starting && err == nil {
					p.startCTLocked(ct, at)
				}
			}), nil
		}
		return nil, Errorf(http.StatusNotImplemented, "unknown action %s", action)
	}
}
