package bmcsim

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/sim/simtest"
	"github.com/stmcginnis/gofish"
	"github.com/stmcginnis/gofish/schemas"
)

// gofish (github.com/stmcginnis/gofish, the client the provider's redfish
// package wraps) against the simulated BMCs, unchanged: it trusts the lab's
// CA, nothing else is adapted to it.

// gofishConnect connects to node's BMC with a session, or basic auth.
func gofishConnect(t *testing.T, lab *testLab, node string, basic bool) *gofish.APIClient {
	t.Helper()
	c, err := gofish.ConnectContext(t.Context(), gofish.ClientConfig{
		Endpoint:   lab.BMCEndpoint(node),
		Username:   lab.BMCUsername(),
		Password:   lab.BMCPassword(),
		HTTPClient: simtest.HTTPClient(t, lab.CACertPEM()),
		BasicAuth:  basic,
	})
	if err != nil {
		t.Fatalf("gofish.Connect %s: %v", node, err)
	}
	return c
}

// gofishSystem returns the only system of a BMC, freshly read.
func gofishSystem(t *testing.T, c *gofish.APIClient) *schemas.ComputerSystem {
	t.Helper()
	systems, err := c.Service.Systems()
	if err != nil {
		t.Fatalf("Systems: %v", err)
	}
	if len(systems) != 1 {
		t.Fatalf("%d systems", len(systems))
	}
	return systems[0]
}

func TestGofishSessionAndBasicAuth(t *testing.T) {
	t.Parallel()
	lab := startBMCLab(t, labOptions{Nodes: 2})
	b := lab.BMC("pve2")

	c := gofishConnect(t, lab, "pve2", false)
	if b.SessionCount() != 1 {
		t.Fatalf("SessionCount = %d after login", b.SessionCount())
	}
	session, err := c.GetSession()
	if err != nil || !strings.HasPrefix(session.ID, "/redfish/v1/SessionService/Sessions/") || session.Token == "" {
		t.Fatalf("session %+v, %v", session, err)
	}
	sys := gofishSystem(t, c)
	if sys.ID != b.SystemID() || sys.SerialNumber != b.SerialNumber() || sys.Manufacturer != "Supermicro" ||
		sys.PowerState != schemas.OnPowerState || sys.HostName != "pve2" {
		t.Errorf("system %s %s %s %s %s", sys.ID, sys.SerialNumber, sys.Manufacturer, sys.PowerState, sys.HostName)
	}
	if sys.ProcessorSummary.Count == nil || *sys.ProcessorSummary.Count != 1 ||
		sys.ProcessorSummary.LogicalProcessorCount == nil || *sys.ProcessorSummary.LogicalProcessorCount != 16 ||
		sys.MemorySummary.TotalSystemMemoryGiB == nil || *sys.MemorySummary.TotalSystemMemoryGiB != 64 {
		t.Errorf("summaries %+v %+v", sys.ProcessorSummary, sys.MemorySummary)
	}
	nics, err := sys.EthernetInterfaces()
	if err != nil {
		t.Fatal(err)
	}
	var macs []string
	for _, n := range nics {
		if n.ID != "ToManager" {
			macs = append(macs, n.MACAddress)
		}
	}
	if strings.Join(macs, ",") != strings.Join(b.MACAddresses(), ",") {
		t.Errorf("MACs %v, want %v", macs, b.MACAddresses())
	}
	managers, err := c.Service.Managers()
	if err != nil || len(managers) != 1 || managers[0].FirmwareVersion == "" {
		t.Fatalf("managers %v, %v", managers, err)
	}
	c.Logout()
	if b.SessionCount() != 0 {
		t.Fatalf("SessionCount = %d after logout", b.SessionCount())
	}

	// basic auth opens no session
	basic := gofishConnect(t, lab, "pve2", true)
	if gofishSystem(t, basic).ID != b.SystemID() || b.SessionCount() != 0 {
		t.Errorf("basic auth: SessionCount %d", b.SessionCount())
	}
	basic.Logout()

	// a wrong password is refused
	_, err = gofish.ConnectContext(t.Context(), gofish.ClientConfig{Endpoint: lab.BMCEndpoint("pve2"), Username: "ADMIN",
		Password: "wrong", HTTPClient: simtest.HTTPClient(t, lab.CACertPEM())})
	var rfe *schemas.Error
	if !errors.As(err, &rfe) || rfe.HTTPReturnedStatusCode != http.StatusUnauthorized {
		t.Errorf("wrong password: %v", err)
	}
	// five clients that never log out exhaust the slots
	var clients []*gofish.APIClient
	for range 4 {
		clients = append(clients, gofishConnect(t, lab, "pve2", false))
	}
	_, err = gofish.ConnectContext(t.Context(), gofish.ClientConfig{Endpoint: lab.BMCEndpoint("pve2"), Username: "ADMIN",
		Password: lab.BMCPassword(), HTTPClient: simtest.HTTPClient(t, lab.CACertPEM())})
	if !errors.As(err, &rfe) || rfe.HTTPReturnedStatusCode != http.StatusServiceUnavailable ||
		len(rfe.ExtendedInfos) != 1 || rfe.ExtendedInfos[0].MessageID != "Base.1.5.SessionLimitExceeded" {
		t.Errorf("fifth session: %v", err)
	}
	for _, c := range clients {
		c.Logout()
	}
	if b.SessionCount() != 0 {
		t.Errorf("SessionCount = %d", b.SessionCount())
	}
}

func TestGofishPowerAndBoot(t *testing.T) {
	t.Parallel()
	lab := startBMCLab(t, labOptions{Nodes: 3})
	b := lab.BMC("pve3")
	c := gofishConnect(t, lab, "pve3", false)
	defer c.Logout()

	sys := gofishSystem(t, c)
	types, err := sys.GetSupportedResetTypes()
	if err != nil || len(types) < 6 {
		t.Fatalf("reset types %v, %v", types, err)
	}
	if _, err := sys.Reset(schemas.SuspendResetType); err == nil {
		t.Error("gofish sent a reset type the BMC does not list")
	}
	if _, err := sys.Reset(schemas.ForceOffResetType); err != nil {
		t.Fatalf("ForceOff: %v", err)
	}
	if lab.NodeRunning("pve3") {
		t.Fatal("pve3 runs after ForceOff")
	}
	simtest.WaitUntil(t, "Off", func() bool { return gofishSystem(t, c).PowerState == schemas.OffPowerState })

	// boot from CD once, set on a freshly read system (its ETag is current)
	sys = gofishSystem(t, c)
	if err := sys.SetBoot(&schemas.Boot{
		BootSourceOverrideTarget:  schemas.CdBootSource,
		BootSourceOverrideEnabled: schemas.OnceBootSourceOverrideEnabled,
		BootSourceOverrideMode:    schemas.UEFIBootSourceOverrideMode,
	}); err != nil {
		t.Fatalf("SetBoot: %v", err)
	}
	sys = gofishSystem(t, c)
	if sys.Boot.BootSourceOverrideTarget != schemas.CdBootSource || sys.Boot.BootSourceOverrideEnabled != schemas.OnceBootSourceOverrideEnabled ||
		len(sys.Boot.AllowableBootSourceOverrideTargetValues) == 0 {
		t.Fatalf("Boot %+v", sys.Boot)
	}
	// the system object is now stale once the power changes: its ETag no longer matches
	stale := sys
	if _, err := sys.Reset(schemas.OnResetType); err != nil {
		t.Fatalf("On: %v", err)
	}
	simtest.WaitUntil(t, "pve3 to run", func() bool { return lab.NodeRunning("pve3") })
	err = stale.SetBoot(&schemas.Boot{BootSourceOverrideTarget: schemas.PxeBootSource})
	var rfe *schemas.Error
	if !errors.As(err, &rfe) || rfe.HTTPReturnedStatusCode != http.StatusPreconditionFailed {
		t.Errorf("SetBoot with a stale ETag: %v", err)
	}
	// the boot used the override up
	sys = gofishSystem(t, c)
	if sys.PowerState != schemas.OnPowerState || sys.Boot.BootSourceOverrideEnabled != schemas.DisabledBootSourceOverrideEnabled {
		t.Errorf("after boot: %s %+v", sys.PowerState, sys.Boot)
	}
	if b.LastBoot().Target != "Cd" {
		t.Errorf("last boot %+v", b.LastBoot())
	}
	// a graceful restart keeps the power on
	if _, err := sys.Reset(schemas.GracefulRestartResetType); err != nil {
		t.Fatalf("GracefulRestart: %v", err)
	}
	simtest.WaitUntil(t, "pve3 to go down", func() bool { return !lab.NodeRunning("pve3") })
	if p := gofishSystem(t, c).PowerState; p != schemas.OnPowerState {
		t.Errorf("PowerState %s during a restart", p)
	}
	simtest.WaitUntil(t, "pve3 to run", func() bool { return lab.NodeRunning("pve3") })
}

// insertCD inserts an image into the CD slot among media and checks it.
func gofishInsertEject(t *testing.T, c *gofish.APIClient, media []*schemas.VirtualMedia) {
	t.Helper()
	var cd *schemas.VirtualMedia
	for _, m := range media {
		for _, mt := range m.MediaTypes {
			if mt == schemas.CDVirtualMediaType {
				cd = m
			}
		}
	}
	if cd == nil {
		t.Fatalf("no CD slot among %d", len(media))
	}
	tm, err := cd.InsertMedia(&schemas.VirtualMediaInsertMediaParameters{
		Image:          "http://images.lab/proxmox-ve_9.1-1.iso",
		Inserted:       gofish.ToRef(true),
		WriteProtected: gofish.ToRef(true),
	})
	if err != nil {
		t.Fatalf("InsertMedia: %v", err)
	}
	waitTask(t, c, tm)
	cd, err = schemas.GetVirtualMedia(c, cd.ODataID)
	if err != nil {
		t.Fatal(err)
	}
	if cd.Inserted == nil || !*cd.Inserted || cd.Image != "http://images.lab/proxmox-ve_9.1-1.iso" ||
		cd.ImageName != "proxmox-ve_9.1-1.iso" || cd.ConnectedVia != schemas.URIConnectedVia {
		t.Fatalf("after insert: %+v", cd)
	}
	tm, err = cd.EjectMedia()
	if err != nil {
		t.Fatalf("EjectMedia: %v", err)
	}
	waitTask(t, c, tm)
	cd, err = schemas.GetVirtualMedia(c, cd.ODataID)
	if err != nil {
		t.Fatal(err)
	}
	if cd.Inserted == nil || *cd.Inserted || cd.Image != "" {
		t.Fatalf("after eject: %+v", cd)
	}
}

// waitTask waits for a task monitor, if the BMC answered with one.
func waitTask(t *testing.T, c *gofish.APIClient, tm *schemas.TaskMonitorInfo) {
	t.Helper()
	if tm == nil {
		return
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	task, _, err := schemas.WaitForTaskMonitorObject[schemas.Task](ctx, c, 100*time.Millisecond, tm, nil)
	if err != nil {
		t.Fatalf("task monitor %s: %v", tm.TaskMonitor, err)
	}
	if task.TaskState != schemas.CompletedTaskState {
		t.Fatalf("task %+v", task)
	}
}

func TestGofishVirtualMedia(t *testing.T) {
	t.Parallel()
	lab := startBMCLab(t, labOptions{Nodes: 1})
	b := lab.BMC("pve1")
	for _, tc := range []struct {
		name    string
		variant Variant
	}{
		{"under the system", Variant{}},
		{"under the manager", Variant{VirtualMediaUnderManager: true}},
		{"PATCH only", Variant{VirtualMediaUnderManager: true, PatchVirtualMedia: true}},
		{"tasks", Variant{TaskActions: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b.SetVariant(tc.variant)
			c := gofishConnect(t, lab, "pve1", false)
			defer c.Logout()
			sysMedia, err := gofishSystem(t, c).VirtualMedia()
			if err != nil {
				t.Fatal(err)
			}
			managers, err := c.Service.Managers()
			if err != nil {
				t.Fatal(err)
			}
			mgrMedia, err := managers[0].VirtualMedia()
			if err != nil {
				t.Fatal(err)
			}
			media := sysMedia
			if tc.variant.VirtualMediaUnderManager {
				media = mgrMedia
				if len(sysMedia) != 0 {
					t.Errorf("media under the system too: %d", len(sysMedia))
				}
			} else if len(mgrMedia) != 0 {
				t.Errorf("media under the manager too: %d", len(mgrMedia))
			}
			if len(media) != 2 {
				t.Fatalf("%d slots", len(media))
			}
			for _, m := range media {
				if m.SupportsMediaInsert == tc.variant.PatchVirtualMedia || m.SupportsMediaEject == tc.variant.PatchVirtualMedia {
					t.Errorf("%s: insert %v eject %v", m.ID, m.SupportsMediaInsert, m.SupportsMediaEject)
				}
			}
			gofishInsertEject(t, c, media)
		})
	}
	if b.SessionCount() != 0 {
		t.Errorf("SessionCount = %d", b.SessionCount())
	}
}

func TestGofishTaskReset(t *testing.T) {
	t.Parallel()
	lab := startBMCLab(t, labOptions{Nodes: 1, BMC: Variant{TaskActions: true}})
	c := gofishConnect(t, lab, "pve1", false)
	defer c.Logout()
	tm, err := gofishSystem(t, c).Reset(schemas.ForceOffResetType)
	if err != nil || tm == nil || !strings.HasPrefix(tm.TaskMonitor, "/redfish/v1/TaskService/TaskMonitors/") {
		t.Fatalf("Reset: %+v, %v", tm, err)
	}
	if tm.Task == nil || tm.Task.TaskState != schemas.RunningTaskState {
		t.Errorf("task in the 202: %+v", tm.Task)
	}
	waitTask(t, c, tm)
	if p := gofishSystem(t, c).PowerState; p != schemas.OffPowerState || lab.NodeRunning("pve1") {
		t.Errorf("after the task: %s, running %v", p, lab.NodeRunning("pve1"))
	}
	tasks, err := c.Service.Tasks()
	if err != nil {
		t.Fatal(err)
	}
	if list, err := tasks.Tasks(); err != nil || len(list) != 1 || list[0].TaskState != schemas.CompletedTaskState {
		t.Errorf("tasks %v, %v", list, err)
	}
}

func TestGofishBusyAfterPowerOn(t *testing.T) {
	t.Parallel()
	lab := startBMCLab(t, labOptions{Nodes: 1, BMC: Variant{BusyAfterPowerOn: time.Second}})
	c := gofishConnect(t, lab, "pve1", true)
	sys := gofishSystem(t, c)
	if _, err := sys.Reset(schemas.PowerCycleResetType); err != nil {
		t.Fatalf("PowerCycle: %v", err)
	}
	// the BMC answers 503 with Retry-After for a while after power-on; a
	// client retrying after Retry-After gets through
	var rfe *schemas.Error
	uri := sys.ODataID
	simtest.WaitUntil(t, "503", func() bool {
		_, err := schemas.GetComputerSystem(c, uri)
		return errors.As(err, &rfe) && rfe.HTTPReturnedStatusCode == http.StatusServiceUnavailable
	})
	if len(rfe.ExtendedInfos) != 1 || rfe.ExtendedInfos[0].MessageID != "Base.1.5.ServiceTemporarilyUnavailable" {
		t.Errorf("503 %v", rfe)
	}
	simtest.WaitUntil(t, "the BMC", func() bool { _, err := schemas.GetComputerSystem(c, uri); return err == nil })
	simtest.WaitUntil(t, "pve1 to run", func() bool { return lab.NodeRunning("pve1") })
}
