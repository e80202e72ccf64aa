package pvesim

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/pvesim/pvetest"
)

// haTick is the HA round of tests that let the CRM and the LRMs run on
// their own: short, so that they wait little, long enough that a poll sees
// the states in between.
const haTick = 100 * time.Millisecond

// manualHA is the HA round of tests that run the rounds themselves: so long
// that no round runs on its own during a test.
const manualHA = time.Hour

// crmRound runs a round of every node's CRM (only the master acts), as
// CRM.pm's loop would.
func crmRound(lab *PVE) {
	for _, h := range lab.lab.hosts {
		lab.lab.crmRound(h)
	}
}

// lrmRound runs a round of every node's LRM and waits until the tasks it
// started ended.
func lrmRound(t *testing.T, lab *PVE, c *pvetest.Caller) {
	t.Helper()
	var upids []string
	for _, h := range lab.lab.hosts {
		lab.lab.lrmRound(h)
		p := h.pve
		p.mu.Lock()
		for _, w := range p.haLRMLocked(h.name).workers {
			if w.upid != "" {
				upids = append(upids, w.upid)
			}
		}
		p.mu.Unlock()
	}
	for _, u := range upids {
		waitTask(t, c, u)
	}
}

// haService returns the status entry of a service in
// /cluster/ha/status/current.
func haServiceEntry(t *testing.T, c *pvetest.Caller, sid string) map[string]any {
	t.Helper()
	return byIDOf(t, c)["service:"+sid]
}

// vmRunning reports a VM's live status on node.
func vmStatus(t *testing.T, c *pvetest.Caller, node string, vmid int) string {
	t.Helper()
	return dataMap(t, c.Get(fmt.Sprintf("/nodes/%s/qemu/%d/status/current", node, vmid)))["status"].(string)
}

// waitUntil polls cond until it holds; the deadline is generous (it is no
// timing assertion).
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The requested state of a resource becomes its service state over the
// rounds of the CRM master and the LRM of the guest's node; an HA-managed
// VM's start, shutdown and migration through the guest API only ask HA
// (Manager.pm, LRM.pm; qemu-server's vm_start, vm_shutdown, migrate_vm).
func TestHAServiceStateRounds(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{HARound: manualHA})
	c := newCaller(t, lab).WithToken()
	createSimpleVM(t, c, "pve2", 100, nil)
	pvetest.Expect(t, c.Form(http.MethodPost, "/cluster/ha/resources", url.Values{"sid": {"vm:100"}}), http.StatusOK, "OK")

	// not yet seen by a CRM: queued, no master, the VM stays stopped
	if svc := haServiceEntry(t, c, "vm:100"); svc["state"] != "queued" || svc["crm_state"] != nil || svc["status"] != "vm:100 (pve2, queued)" {
		t.Errorf("before the CRM: %v", svc)
	}
	if ms := dataMap(t, c.Get("/cluster/ha/status/manager_status"))["manager_status"]; len(ms.(map[string]any)) != 0 {
		t.Errorf("manager status before the CRM = %v", ms)
	}
	// the master's round: request_start, then started in the same round
	crmRound(lab)
	if svc := haServiceEntry(t, c, "vm:100"); svc["crm_state"] != "started" || svc["state"] != "starting" {
		t.Errorf("after the CRM: %v", svc)
	}
	if st := vmStatus(t, c, "pve2", 100); st != "stopped" {
		t.Errorf("VM before its LRM ran = %s", st)
	}
	// the LRM of pve2 starts it with a qmstart task of root@pam
	lrmRound(t, lab, c)
	if st := vmStatus(t, c, "pve2", 100); st != "running" {
		t.Errorf("VM after its LRM ran = %s", st)
	}
	tasks := pvetest.DataList(t, c.Form(http.MethodGet, "/nodes/pve2/tasks", url.Values{"vmid": {"100"}, "typefilter": {"qmstart"}}))
	if len(tasks) != 1 || tasks[0]["user"] != "root@pam" {
		t.Errorf("qmstart tasks = %v", tasks)
	}
	// the master has not read the LRM's result yet
	if svc := haServiceEntry(t, c, "vm:100"); svc["state"] != "starting" {
		t.Errorf("before the CRM read the result: %v", svc)
	}
	crmRound(lab)
	if svc := haServiceEntry(t, c, "vm:100"); svc["state"] != "started" || svc["status"] != "vm:100 (pve2, started)" {
		t.Errorf("after the CRM read the result: %v", svc)
	}

	// a shutdown through the guest API: an hastop task that ends at once
	lines := runTask(t, c, http.MethodPost, "/nodes/pve2/qemu/100/status/shutdown", url.Values{"timeout": {"30"}})
	if !slices.Contains(lines, "Requesting HA stop for VM 100") {
		t.Errorf("hastop log = %q", lines)
	}
	if st := vmStatus(t, c, "pve2", 100); st != "running" {
		t.Errorf("VM right after hastop = %s", st)
	}
	if r := dataMap(t, c.Get("/cluster/ha/resources/vm:100")); r["state"] != nil {
		t.Errorf("requested state before the CRM read the command = %v", r["state"])
	}
	crmRound(lab) // crm-command stop: request_stop with the timeout, and the requested state becomes stopped
	ss := dataMap(t, c.Get("/cluster/ha/status/manager_status"))["manager_status"].(map[string]any)["service_status"].(map[string]any)
	if e := ss["vm:100"].(map[string]any); e["state"] != "request_stop" || e["timeout"] != float64(30) {
		t.Errorf("service status after the stop command = %v", e)
	}
	if r := dataMap(t, c.Get("/cluster/ha/resources/vm:100")); r["state"] != "stopped" {
		t.Errorf("requested state after the stop command = %v", r["state"])
	}
	lrmRound(t, lab, c)
	if st := vmStatus(t, c, "pve2", 100); st != "stopped" {
		t.Errorf("VM after the LRM shut it down = %s", st)
	}
	crmRound(lab)
	if svc := haServiceEntry(t, c, "vm:100"); svc["crm_state"] != "stopped" || svc["state"] != "stopped" {
		t.Errorf("after the stop: %v", svc)
	}

	// a start through the guest API: hastart sets the requested state
	upid := upidOf(t, c.Form(http.MethodPost, "/nodes/pve2/qemu/100/status/start", nil))
	if exit, lines := waitTask(t, c, upid); exit != "OK" || !strings.Contains(upid, ":hastart:100:") || !slices.Contains(lines, "Requesting HA start for VM 100") {
		t.Errorf("hastart: %s %s %q", upid, exit, lines)
	}
	if st := vmStatus(t, c, "pve2", 100); st != "stopped" {
		t.Errorf("VM right after hastart = %s", st)
	}
	crmRound(lab)
	lrmRound(t, lab, c)
	crmRound(lab)
	if st := vmStatus(t, c, "pve2", 100); st != "running" {
		t.Errorf("VM after the rounds = %s", st)
	}

	// a migration through the guest API: hamigrate; the LRM of the source
	// node migrates it online, the master then has it started on the target
	upid = upidOf(t, c.Form(http.MethodPost, "/nodes/pve2/qemu/100/migrate", url.Values{"target": {"pve3"}, "online": {"1"}}))
	if exit, lines := waitTask(t, c, upid); exit != "OK" || !strings.Contains(upid, ":hamigrate:100:") || !slices.Contains(lines, "Requesting HA migration for VM 100 to node pve3") {
		t.Errorf("hamigrate: %s %s %q", upid, exit, lines)
	}
	if st := vmStatus(t, c, "pve2", 100); st != "running" {
		t.Errorf("VM on pve2 right after hamigrate = %s", st)
	}
	crmRound(lab)
	if svc := haServiceEntry(t, c, "vm:100"); svc["crm_state"] != "migrate" || svc["node"] != "pve2" {
		t.Errorf("after the migrate command: %v", svc)
	}
	lrmRound(t, lab, c)
	if st := vmStatus(t, c, "pve3", 100); st != "running" {
		t.Errorf("VM on pve3 after the LRM migrated it = %s", st)
	}
	crmRound(lab)
	if svc := haServiceEntry(t, c, "vm:100"); svc["crm_state"] != "started" || svc["node"] != "pve3" {
		t.Errorf("after the migration: %v", svc)
	}

	// a hard stop: crm-command stop with timeout 0, the LRM stops it
	runTask(t, c, http.MethodPost, "/nodes/pve3/qemu/100/status/stop", nil)
	crmRound(lab)
	lrmRound(t, lab, c)
	if st := vmStatus(t, c, "pve3", 100); st != "stopped" {
		t.Errorf("VM after an HA stop = %s", st)
	}
	tasks = pvetest.DataList(t, c.Form(http.MethodGet, "/nodes/pve3/tasks", url.Values{"vmid": {"100"}, "typefilter": {"qmstop"}}))
	if len(tasks) != 1 || tasks[0]["user"] != "root@pam" {
		t.Errorf("qmstop tasks = %v", tasks)
	}
}

// A container: hastart and hastop only ask HA; the LRM starts and stops it.
func TestHAContainerThroughHA(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{HARound: manualHA})
	c := newCaller(t, lab).WithToken()
	createSimpleCT(t, c, "pve1", 300, url.Values{"ha-managed": {"1"}})
	ctStatus := func() string {
		return dataMap(t, c.Get(ctPath("pve1", 300, "/status/current")))["status"].(string)
	}
	runTask(t, c, http.MethodPost, ctPath("pve1", 300, "/status/start"), nil)
	if st := ctStatus(); st != "stopped" {
		t.Errorf("CT right after hastart = %s", st)
	}
	crmRound(lab)
	lrmRound(t, lab, c)
	if st := ctStatus(); st != "running" {
		t.Errorf("CT after the rounds = %s", st)
	}
	lines := runTask(t, c, http.MethodPost, ctPath("pve1", 300, "/status/shutdown"), nil)
	if !slices.Contains(lines, "Requesting HA stop for CT 300") {
		t.Errorf("hastop log = %q", lines)
	}
	if st := ctStatus(); st != "running" {
		t.Errorf("CT right after hastop = %s", st)
	}
	crmRound(lab)
	lrmRound(t, lab, c)
	if st := ctStatus(); st != "stopped" {
		t.Errorf("CT after the rounds = %s", st)
	}
	tasks := pvetest.DataList(t, c.Form(http.MethodGet, "/nodes/pve1/tasks", url.Values{"vmid": {"300"}, "typefilter": {"vzshutdown"}}))
	if len(tasks) != 1 || tasks[0]["user"] != "root@pam" {
		t.Errorf("vzshutdown tasks = %v", tasks)
	}
}

// A node that loses power: after the fence delay the master fences it
// (once the node's agent lock expired) and recovers its services to
// another node, where that node's LRM starts them (Manager.pm
// next_state_started, fence, next_state_recovery).
func TestHAFenceAndRecovery(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{HARound: haTick})
	c := newCaller(t, lab).WithToken()
	// No disk: a disk on pve2's local storage would not be on the node HA
	// recovers the VM to, and its start there fails (activate_volumes), as
	// on real PVE; HA needs shared storage for that.
	runTask(t, c, http.MethodPost, "/nodes/pve2/qemu", url.Values{"vmid": {"100"}, "name": {"vm100"}, "memory": {"1024"},
		"net0": {"virtio,bridge=vmbr0"}})
	pvetest.Expect(t, c.Form(http.MethodPost, "/cluster/ha/resources", url.Values{"sid": {"vm:100"}}), http.StatusOK, "OK")
	waitUntil(t, "vm:100 started", func() bool { return haServiceEntry(t, c, "vm:100")["state"] == "started" })
	master := dataMap(t, c.Get("/cluster/ha/status/manager_status"))["manager_status"].(map[string]any)["master_node"]
	if err := lab.StopNode("pve2"); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	waitUntil(t, "vm:100 recovered", func() bool {
		svc := haServiceEntry(t, c, "vm:100")
		st, _ := svc["crm_state"].(string)
		seen[st] = true
		return st == "started" && svc["node"] != "pve2" && svc["state"] == "started"
	})
	// with the master on pve2, another node takes the manager lock over once
	// it expired, and fences and recovers in its first round
	if master != "pve2" && !seen["fence"] {
		t.Errorf("states seen: %v", seen)
	}
	svc := haServiceEntry(t, c, "vm:100")
	node := svc["node"].(string)
	if st := vmStatus(t, c, node, 100); st != "running" {
		t.Errorf("VM on %s = %s", node, st)
	}
	// the master saw the node go: "unknown" once fenced
	ms := dataMap(t, c.Get("/cluster/ha/status/manager_status"))["manager_status"].(map[string]any)
	if ns := ms["node_status"].(map[string]any); ns["pve2"] != "unknown" || ns[node] != "online" || ms["master_node"] == "pve2" {
		t.Errorf("node status = %v", ns)
	}
}

// go-proxmox starts an HA-managed VM: the task it waits for is an hastart
// that ends at once; the VM runs only once the CRM and the LRM got to it,
// and go-proxmox's HA status shows the states in between.
func TestGoProxmoxHAStart(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{HARound: manualHA})
	c := newCaller(t, lab).WithToken()
	createSimpleVM(t, c, "pve1", 100, nil)
	pvetest.Expect(t, c.Form(http.MethodPost, "/cluster/ha/resources", url.Values{"sid": {"vm:100"}, "state": {"stopped"}}), http.StatusOK, "OK")
	crmRound(lab)
	lrmRound(t, lab, c)
	crmRound(lab)

	client := goProxmoxClients(t, lab)["token"]
	ctx := context.Background()
	node, err := client.Node(ctx, "pve1")
	if err != nil {
		t.Fatal(err)
	}
	vm, err := node.VirtualMachine(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	task, err := vm.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Wait(ctx, 20*time.Millisecond, 5*time.Second); err != nil || !task.IsSuccessful || task.Type != "hastart" {
		t.Fatalf("start task = %+v, %v", task, err)
	}
	if err := vm.Ping(ctx); err != nil || !vm.IsStopped() {
		t.Errorf("VM right after hastart: %s, %v", vm.Status, err)
	}
	cluster, err := client.Cluster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	serviceState := func() string {
		t.Helper()
		status, err := cluster.HAStatus(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range status {
			if s.ID == "service:vm:100" {
				return s.ServiceState
			}
		}
		return ""
	}
	if st := serviceState(); st != "starting" {
		t.Errorf("HA state before the CRM = %q", st) // stopped, start requested
	}
	crmRound(lab)
	lrmRound(t, lab, c)
	if err := vm.Ping(ctx); err != nil || !vm.IsRunning() {
		t.Errorf("VM after the LRM: %s, %v", vm.Status, err)
	}
	if st := serviceState(); st != "starting" {
		t.Errorf("HA state before the CRM read the result = %q", st)
	}
	crmRound(lab)
	if st := serviceState(); st != "started" {
		t.Errorf("HA state = %q", st)
	}

	// go-proxmox's HA migration: queued for the master, done by the LRM
	if err := cluster.HAResourceMigrate(ctx, "vm:100", "pve2"); err != nil {
		t.Fatalf("HAResourceMigrate: %v", err)
	}
	crmRound(lab)       // migrate
	lrmRound(t, lab, c) // pve1's LRM migrates it online
	crmRound(lab)       // started on pve2, "starting" until pve2's LRM reports it
	lrmRound(t, lab, c)
	crmRound(lab)
	if st, err := cluster.HAStatus(ctx); err != nil || st[len(st)-1].ID != "service:vm:100" || st[len(st)-1].Node != "pve2" || st[len(st)-1].ServiceState != "started" {
		t.Errorf("HA status after the migration: %+v, %v", st[len(st)-1], err)
	}
}

// A VM that cannot start anywhere (its bridge does not exist): the LRM
// retries the start max_restart times, the master then relocates it to
// max_relocate other nodes, then puts it in the error state; a start
// request is refused until it is disabled (LRM.pm handle_service_exitcode,
// Manager.pm next_state_started, check_service_state).
func TestHARelocationPolicy(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{HARound: manualHA})
	c := newCaller(t, lab).WithToken()
	createSimpleVM(t, c, "pve1", 100, url.Values{"net0": {"virtio,bridge=vmbr9"}})
	pvetest.Expect(t, c.Form(http.MethodPost, "/cluster/ha/resources", url.Values{"sid": {"vm:100"}, "max_restart": {"1"}, "max_relocate": {"1"}}), http.StatusOK, "OK")
	starts := func(node string) int {
		return len(pvetest.DataList(t, c.Form(http.MethodGet, "/nodes/"+node+"/tasks", url.Values{"vmid": {"100"}, "typefilter": {"qmstart"}, "errors": {"1"}})))
	}
	crmRound(lab)
	lrmRound(t, lab, c) // fails
	lrmRound(t, lab, c) // restart policy: retried, fails again
	lrmRound(t, lab, c) // reported
	if n := starts("pve1"); n != 2 {
		t.Errorf("failed starts on pve1 = %d, want 2", n)
	}
	crmRound(lab) // relocation policy: to the next node
	if svc := haServiceEntry(t, c, "vm:100"); svc["crm_state"] != "migrate" || svc["node"] != "pve1" {
		t.Errorf("after the failed starts: %v", svc)
	}
	lrmRound(t, lab, c) // pve1's LRM migrates it
	crmRound(lab)
	if svc := haServiceEntry(t, c, "vm:100"); svc["crm_state"] != "started" || svc["node"] != "pve2" {
		t.Errorf("after the relocation: %v", svc)
	}
	lrmRound(t, lab, c)
	lrmRound(t, lab, c)
	lrmRound(t, lab, c)
	crmRound(lab)
	if n := starts("pve2"); n != 2 {
		t.Errorf("failed starts on pve2 = %d, want 2", n)
	}
	if svc := haServiceEntry(t, c, "vm:100"); svc["crm_state"] != "error" || svc["state"] != "error" || svc["node"] != "pve2" {
		t.Errorf("after the second node: %v", svc)
	}
	ss := dataMap(t, c.Get("/cluster/ha/status/manager_status"))["manager_status"].(map[string]any)["service_status"].(map[string]any)
	if fn := ss["vm:100"].(map[string]any)["failed_nodes"]; fmt.Sprint(fn) != "[pve1 pve2]" {
		t.Errorf("failed nodes = %v", fn)
	}
	exit, lines := waitTask(t, c, upidOf(t, c.Form(http.MethodPost, "/nodes/pve2/qemu/100/status/start", nil)))
	if exit != "command 'ha-manager set vm:100 --state started' failed: exit code 255" ||
		!slices.Contains(lines, "service 'vm:100' in error state, must be disabled and fixed first") {
		t.Errorf("hastart of a service in error: %q %q", exit, lines)
	}
}

// A node-affinity rule prefers pve2: when pve2 fails the VM is recovered
// elsewhere, and when pve2 is back HA migrates it back there (failback,
// PVE 9's default): HA itself moves it, not a client.
func TestHAFailback(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{HARound: haTick})
	c := newCaller(t, lab).WithToken()
	// no local disks: HA recovery needs shared storage (a recovered VM's
	// local volumes stay on the failed node)
	runTask(t, c, http.MethodPost, "/nodes/pve2/qemu", url.Values{"vmid": {"100"}, "memory": {"512"}})
	pvetest.Expect(t, c.Form(http.MethodPost, "/cluster/ha/resources", url.Values{"sid": {"vm:100"}}), http.StatusOK, "OK")
	pvetest.Expect(t, c.Form(http.MethodPost, "/cluster/ha/rules", url.Values{"rule": {"home"}, "type": {"node-affinity"}, "resources": {"vm:100"}, "nodes": {"pve2:2,pve1:1,pve3:1"}}), http.StatusOK, "OK")
	at := func(node string) func() bool {
		return func() bool {
			svc := haServiceEntry(t, c, "vm:100")
			return svc["node"] == node && svc["state"] == "started"
		}
	}
	waitUntil(t, "vm:100 started on pve2", at("pve2"))
	if err := lab.StopNode("pve2"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "vm:100 recovered", func() bool {
		svc := haServiceEntry(t, c, "vm:100")
		return svc["node"] != "pve2" && svc["state"] == "started"
	})
	if err := lab.StartNode("pve2"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "vm:100 back on pve2", at("pve2"))
	if st := vmStatus(t, c, "pve2", 100); st != "running" {
		t.Errorf("VM on pve2 = %s", st)
	}
}

// An LRM without services gives up its agent lock in the round after 60
// idle ones (LRM.pm $max_active_idle_rounds): "idle" again in the status.
func TestHALRMGoesIdle(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{HARound: manualHA})
	c := newCaller(t, lab).WithToken()
	createSimpleVM(t, c, "pve2", 100, nil)
	pvetest.Expect(t, c.Form(http.MethodPost, "/cluster/ha/resources", url.Values{"sid": {"vm:100"}, "state": {"stopped"}}), http.StatusOK, "OK")
	crmRound(lab)
	lrmRound(t, lab, c)
	crmRound(lab)
	lrmStatus := func() string {
		return byIDOf(t, c)["lrm:pve2"]["status"].(string)
	}
	if st := lrmStatus(); !strings.HasPrefix(st, "pve2 (active, watchdog active, ") {
		t.Errorf("LRM with a service = %q", st)
	}
	pvetest.Expect(t, c.Form(http.MethodDelete, "/cluster/ha/resources/vm:100", nil), http.StatusOK, "OK")
	crmRound(lab)
	for range 60 {
		lrmRound(t, lab, c)
	}
	if st := lrmStatus(); !strings.HasPrefix(st, "pve2 (active, watchdog active, ") {
		t.Errorf("LRM after 60 idle rounds = %q", st)
	}
	lrmRound(t, lab, c)
	if st := lrmStatus(); !strings.HasPrefix(st, "pve2 (idle, watchdog standby, ") {
		t.Errorf("LRM after 61 idle rounds = %q", st)
	}
}

// A VM created HA-managed with start: qemu-server adds the HA resource
// (started) and then calls vm_start, an hastart of its own; HA starts it.
func TestHACreateManagedAndStarted(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{HARound: manualHA})
	c := newCaller(t, lab).WithToken()
	lines := runTask(t, c, http.MethodPost, "/nodes/pve1/qemu", url.Values{"vmid": {"100"}, "memory": {"512"}, "ha-managed": {"1"}, "start": {"1"}})
	if !slices.Contains(lines, "Add as HA resource") || !slices.Contains(lines, "Execute autostart") {
		t.Errorf("create log = %q", lines)
	}
	tasks := pvetest.DataList(t, c.Form(http.MethodGet, "/nodes/pve1/tasks", url.Values{"vmid": {"100"}, "typefilter": {"hastart"}, "source": {"all"}}))
	if len(tasks) != 1 {
		t.Fatalf("hastart tasks = %v", tasks)
	}
	if exit, lines := waitTask(t, c, tasks[0]["upid"].(string)); exit != "OK" || !slices.Contains(lines, "Requesting HA start for VM 100") {
		t.Errorf("hastart: %s %q", exit, lines)
	}
	if r := dataMap(t, c.Get("/cluster/ha/resources/vm:100")); r["state"] != "started" {
		t.Errorf("HA resource = %v", r)
	}
	if st := vmStatus(t, c, "pve1", 100); st != "stopped" {
		t.Errorf("VM before the HA rounds = %s", st)
	}
	crmRound(lab)
	lrmRound(t, lab, c)
	if st := vmStatus(t, c, "pve1", 100); st != "running" {
		t.Errorf("VM after the HA rounds = %s", st)
	}
}

// The HA API's migrate and relocate queue a command for the master
// (src/PVE/API2/HA/Resources.pm); the LRM moves the guest.
func TestHAResourceMigrateAndRelocate(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{HARound: manualHA})
	c := newCaller(t, lab).WithToken()
	runTask(t, c, http.MethodPost, "/nodes/pve1/qemu", url.Values{"vmid": {"100"}, "memory": {"512"}})
	expectError(t, c.Form(http.MethodPost, "/cluster/ha/resources/vm:100/migrate", url.Values{"node": {"pve2"}}), "resource 'vm:100' is not HA managed")
	pvetest.Expect(t, c.Form(http.MethodPost, "/cluster/ha/resources", url.Values{"sid": {"vm:100"}}), http.StatusOK, "OK")
	crmRound(lab)
	lrmRound(t, lab, c)
	crmRound(lab)

	if got := dataMap(t, c.Form(http.MethodPost, "/cluster/ha/resources/100/migrate", url.Values{"node": {"pve2"}})); fmt.Sprint(got) != "map[requested-node:pve2 sid:vm:100]" {
		t.Errorf("migrate = %v", got)
	}
	crmRound(lab)
	lrmRound(t, lab, c)
	crmRound(lab)
	if svc := haServiceEntry(t, c, "vm:100"); svc["node"] != "pve2" || svc["crm_state"] != "started" {
		t.Errorf("after migrate: %v", svc)
	}
	if tasks := pvetest.DataList(t, c.Form(http.MethodGet, "/nodes/pve1/tasks", url.Values{"vmid": {"100"}, "typefilter": {"qmigrate"}})); len(tasks) != 1 {
		t.Errorf("qmigrate tasks = %v", tasks)
	}

	// relocate: shut down, migrated offline, started on the target by its LRM
	pvetest.Expect(t, c.Form(http.MethodPost, "/cluster/ha/resources/vm:100/relocate", url.Values{"node": {"pve3"}}), http.StatusOK, "OK")
	crmRound(lab)
	if svc := haServiceEntry(t, c, "vm:100"); svc["crm_state"] != "relocate" {
		t.Errorf("after the relocate command: %v", svc)
	}
	lrmRound(t, lab, c) // shutdown
	lrmRound(t, lab, c) // then the migration
	crmRound(lab)
	lrmRound(t, lab, c) // pve3 starts it
	if st := vmStatus(t, c, "pve3", 100); st != "running" {
		t.Errorf("VM on pve3 = %s", st)
	}
	if tasks := pvetest.DataList(t, c.Form(http.MethodGet, "/nodes/pve2/tasks", url.Values{"vmid": {"100"}, "typefilter": {"qmshutdown"}})); len(tasks) != 1 {
		t.Errorf("qmshutdown tasks on pve2 = %v", tasks)
	}
}
