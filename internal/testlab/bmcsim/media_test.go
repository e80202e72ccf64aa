package bmcsim

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/bmcsim/bmctest"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/sim/simtest"
)

// Virtual media (actions, under the manager, PATCH), task monitors and the
// busy period after a power on.

func TestVirtualMediaActions(t *testing.T) {
	t.Parallel()
	lab := startBMCLab(t, labOptions{Nodes: 1})
	b := lab.BMC("pve1")
	c := newCaller(t, lab, "pve1").Basic()
	sys := "/redfish/v1/Systems/" + b.SystemID()
	// under the system, linked from it, not from the manager
	if l := c.Get(sys).Body["VirtualMedia"]; l == nil || l.(map[string]any)["@odata.id"] != sys+"/VirtualMedia" {
		t.Fatalf("system's VirtualMedia link %v", l)
	}
	if l := c.Get("/redfish/v1/Managers/BMC").Body["VirtualMedia"]; l != nil {
		t.Fatalf("manager's VirtualMedia link %v", l)
	}
	bmctest.Expect(t, c.Get("/redfish/v1/Managers/BMC/VirtualMedia"), http.StatusNotFound, "ResourceMissingAtURI")
	coll := c.Get(sys + "/VirtualMedia")
	if coll.Body["Members@odata.count"] != 2.0 {
		t.Fatalf("collection %s", coll.Raw)
	}
	cd := c.Get(sys + "/VirtualMedia/CD1").Body
	if !slices.Equal(cd["MediaTypes"].([]any), []any{"CD", "DVD"}) || cd["Inserted"] != false || cd["Image"] != nil ||
		cd["ConnectedVia"] != "NotConnected" {
		t.Fatalf("CD1 %v", cd)
	}
	actions := cd["Actions"].(map[string]any)
	insert := actions["#VirtualMedia.InsertMedia"].(map[string]any)["target"].(string)
	eject := actions["#VirtualMedia.EjectMedia"].(map[string]any)["target"].(string)
	floppy := c.Get(sys + "/VirtualMedia/Floppy1").Body
	if !slices.Contains(floppy["MediaTypes"].([]any), any("USBStick")) {
		t.Errorf("Floppy1 %v", floppy)
	}

	for _, tc := range []struct {
		body   map[string]any
		status int
		id     string
	}{
		{map[string]any{}, http.StatusBadRequest, "ActionParameterMissing"},
		{map[string]any{"Image": "ftp://images.lab/pve.iso"}, http.StatusBadRequest, "ResourceAtUriInUnknownFormat"},
		{map[string]any{"Image": "images.lab/pve.iso"}, http.StatusBadRequest, "ResourceAtUriInUnknownFormat"},
		{map[string]any{"Image": "http://images.lab/pve.iso", "TransferProtocolType": "HTTPS"}, http.StatusBadRequest, "ActionParameterValueTypeError"},
		{map[string]any{"Image": "http://images.lab/pve.iso", "TransferProtocolType": "TFTP"}, http.StatusBadRequest, "PropertyValueNotInList"},
		{map[string]any{"Image": "http://images.lab/pve.iso", "Inserted": false}, http.StatusBadRequest, "ActionParameterNotSupported"},
		{map[string]any{"Image": "http://images.lab/pve.iso", "WriteProtected": "yes"}, http.StatusBadRequest, "ActionParameterValueTypeError"},
		{map[string]any{"Image": "http://images.lab/pve.iso", "Bogus": 1}, http.StatusBadRequest, "ActionParameterUnknown"},
		{map[string]any{"Image": "http://images.lab/pve.iso", "TransferMethod": "Upload"}, http.StatusBadRequest, "ActionParameterNotSupported"},
	} {
		bmctest.Expect(t, c.Do(http.MethodPost, insert, tc.body, nil), tc.status, tc.id)
	}
	// ejecting an empty drive fails, as on iDRAC
	bmctest.Expect(t, c.Do(http.MethodPost, eject, map[string]any{}, nil), http.StatusInternalServerError, "GeneralError")

	res := c.Do(http.MethodPost, insert, map[string]any{"Image": "https://images.lab/isos/pve-9.1.iso", "Inserted": true,
		"WriteProtected": true, "TransferProtocolType": "HTTPS", "UserName": "u", "Password": "p"}, nil)
	bmctest.Expect(t, res, http.StatusNoContent, "")
	cd = c.Get(sys + "/VirtualMedia/CD1").Body
	if cd["Inserted"] != true || cd["Image"] != "https://images.lab/isos/pve-9.1.iso" || cd["ImageName"] != "pve-9.1.iso" ||
		cd["ConnectedVia"] != "URI" || cd["TransferProtocolType"] != "HTTPS" || cd["Password"] != nil || cd["UserName"] != "u" {
		t.Fatalf("CD1 after insert %v", cd)
	}
	// a drive that holds media refuses another, as iDRAC does
	res = c.Do(http.MethodPost, insert, map[string]any{"Image": "http://images.lab/other.iso"}, nil)
	bmctest.Expect(t, res, http.StatusInternalServerError, "ResourceInUse")
	if v := b.VirtualMedia(); v[0].Image != "https://images.lab/isos/pve-9.1.iso" || !v[0].Inserted || v[0].TransferProtocolType != "HTTPS" {
		t.Errorf("state %+v", v[0])
	}
	// PATCH is not how this BMC inserts media
	res = c.Do(http.MethodPatch, sys+"/VirtualMedia/CD1", map[string]any{"Inserted": false}, nil)
	bmctest.Expect(t, res, http.StatusMethodNotAllowed, "")

	bmctest.Expect(t, c.Do(http.MethodPost, eject, nil, nil), http.StatusNoContent, "")
	if v := b.VirtualMedia(); v[0].Inserted || v[0].Image != "" {
		t.Errorf("after eject %+v", v[0])
	}
	// NFS and CIFS shares; the protocol can come from TransferProtocolType
	floppyInsert := sys + "/VirtualMedia/Floppy1/Actions/VirtualMedia.InsertMedia"
	bmctest.Expect(t, c.Do(http.MethodPost, floppyInsert, map[string]any{"Image": "//fileserver/share/seed.img", "TransferProtocolType": "CIFS"}, nil),
		http.StatusNoContent, "")
	if v := b.VirtualMedia(); v[1].Image != "smb://fileserver/share/seed.img" || v[1].TransferProtocolType != "CIFS" {
		t.Errorf("Floppy1 %+v", v[1])
	}
	bmctest.Expect(t, c.Do(http.MethodPost, insert, map[string]any{"Image": "nfs://fileserver/export/pve.iso", "MediaType": "DVD"}, nil),
		http.StatusNoContent, "")
	if v := b.VirtualMedia(); v[0].TransferProtocolType != "NFS" {
		t.Errorf("CD1 %+v", v[0])
	}
}

func TestVirtualMediaUnderManager(t *testing.T) {
	t.Parallel()
	lab := startBMCLab(t, labOptions{Nodes: 2, BMC: Variant{VirtualMediaUnderManager: true}})
	b := lab.BMC("pve2")
	c := newCaller(t, lab, "pve2").Basic()
	sys := "/redfish/v1/Systems/" + b.SystemID()
	if l := c.Get(sys).Body["VirtualMedia"]; l != nil {
		t.Fatalf("system's VirtualMedia link %v", l)
	}
	mgr := c.Get("/redfish/v1/Managers/BMC").Body
	if mgr["VirtualMedia"].(map[string]any)["@odata.id"] != "/redfish/v1/Managers/BMC/VirtualMedia" {
		t.Fatalf("manager %v", mgr["VirtualMedia"])
	}
	bmctest.Expect(t, c.Get(sys+"/VirtualMedia"), http.StatusNotFound, "ResourceMissingAtURI")
	bmctest.Expect(t, c.Do(http.MethodPost, "/redfish/v1/Managers/BMC/VirtualMedia/CD1/Actions/VirtualMedia.InsertMedia",
		map[string]any{"Image": "http://images.lab/pve.iso"}, nil), http.StatusNoContent, "")
	cd := c.Get("/redfish/v1/Managers/BMC/VirtualMedia/CD1").Body
	if cd["@odata.id"] != "/redfish/v1/Managers/BMC/VirtualMedia/CD1" || cd["Inserted"] != true {
		t.Fatalf("CD1 %v", cd)
	}
	// switching back moves the slots, with their media
	b.SetVariant(Variant{})
	if cd := c.Get(sys + "/VirtualMedia/CD1").Body; cd["Inserted"] != true {
		t.Fatalf("CD1 under the system %v", cd)
	}
}

func TestVirtualMediaPatch(t *testing.T) {
	t.Parallel()
	lab := startBMCLab(t, labOptions{Nodes: 1})
	b := lab.BMC("pve1")
	b.SetVariant(Variant{PatchVirtualMedia: true, VirtualMediaUnderManager: true})
	c := newCaller(t, lab, "pve1").Basic()
	slot := "/redfish/v1/Managers/BMC/VirtualMedia/CD1"
	cd := c.Get(slot)
	if cd.Body["Actions"] != nil {
		t.Fatalf("actions listed: %s", cd.Raw)
	}
	bmctest.Expect(t, c.Do(http.MethodPost, slot+"/Actions/VirtualMedia.InsertMedia", map[string]any{"Image": "http://x/y.iso"}, nil),
		http.StatusNotFound, "")
	bmctest.Expect(t, c.Do(http.MethodPatch, slot, map[string]any{"Inserted": true}, nil), http.StatusBadRequest, "PropertyMissing")
	bmctest.Expect(t, c.Do(http.MethodPatch, slot, map[string]any{"MediaTypes": []string{"CD"}}, nil), http.StatusBadRequest, "PropertyNotWritable")
	bmctest.Expect(t, c.Do(http.MethodPatch, slot, map[string]any{"Image": "tftp://x/y.iso"}, nil), http.StatusBadRequest, "ResourceAtUriInUnknownFormat")
	res := c.Do(http.MethodPatch, slot, map[string]any{"Image": "http://images.lab/pve.iso", "Inserted": true, "WriteProtected": false},
		map[string]string{"If-Match": cd.Header.Get("ETag")})
	bmctest.Expect(t, res, http.StatusOK, "")
	if res.Body["Inserted"] != true || res.Body["Image"] != "http://images.lab/pve.iso" || res.Body["WriteProtected"] != false {
		t.Fatalf("after PATCH %s", res.Raw)
	}
	bmctest.Expect(t, c.Do(http.MethodPatch, slot, map[string]any{"Image": "http://images.lab/other.iso"}, nil), http.StatusBadRequest, "ResourceInUse")
	bmctest.Expect(t, c.Do(http.MethodPatch, slot, map[string]any{"Inserted": false}, map[string]string{"If-Match": cd.Header.Get("ETag")}),
		http.StatusPreconditionFailed, "GeneralError")
	res = c.Do(http.MethodPatch, slot, map[string]any{"Inserted": false, "WriteProtected": false}, nil)
	bmctest.Expect(t, res, http.StatusOK, "")
	if res.Body["Inserted"] != false || res.Body["Image"] != nil {
		t.Fatalf("after eject %s", res.Raw)
	}
	// ejecting again is harmless; Image null ejects too
	bmctest.Expect(t, c.Do(http.MethodPatch, slot, map[string]any{"Image": nil}, nil), http.StatusOK, "")
}

func TestTaskActions(t *testing.T) {
	t.Parallel()
	lab := startBMCLab(t, labOptions{Nodes: 1, BMC: Variant{TaskActions: true}})
	b := lab.BMC("pve1")
	slowMedia := fastTiming
	slowMedia.Media = time.Second // the checks during the media task have time
	b.SetTiming(slowMedia)
	c := newCaller(t, lab, "pve1").Basic()
	res := c.Reset("ForceOff")
	bmctest.Expect(t, res, http.StatusAccepted, "")
	monitor := res.Header.Get("Location")
	if !strings.HasPrefix(monitor, "/redfish/v1/TaskService/TaskMonitors/") || res.Header.Get("Retry-After") == "" ||
		res.Body["TaskState"] != "Running" {
		t.Fatalf("202: %v %s", res.Header, res.Raw)
	}
	taskURI := res.Body["@odata.id"].(string)
	res = c.Get(monitor)
	if res.Status != http.StatusAccepted && res.Status != http.StatusOK {
		t.Fatalf("monitor %d %s", res.Status, res.Raw)
	}
	simtest.WaitUntil(t, "the task to complete", func() bool { return c.Get(monitor).Status == http.StatusOK })
	res = c.Get(monitor)
	if res.Body["TaskState"] != "Completed" || res.Body["TaskStatus"] != "OK" || res.Body["PercentComplete"] != 100.0 {
		t.Fatalf("completed: %s", res.Raw)
	}
	if b.PowerState() != "Off" {
		t.Errorf("PowerState %s after the task", b.PowerState())
	}
	task := c.Get(taskURI)
	if task.Body["TaskState"] != "Completed" || task.Body["TaskMonitor"] != monitor {
		t.Errorf("task %s", task.Raw)
	}
	if c.Get("/redfish/v1/TaskService/Tasks").Body["Members@odata.count"] != 1.0 {
		t.Error("task not listed")
	}
	// media: inserted when the task ends
	res = c.Do(http.MethodPost, "/redfish/v1/Systems/"+b.SystemID()+"/VirtualMedia/CD1/Actions/VirtualMedia.InsertMedia",
		map[string]any{"Image": "http://images.lab/pve.iso"}, nil)
	bmctest.Expect(t, res, http.StatusAccepted, "")
	if b.VirtualMedia()[0].Inserted {
		t.Error("inserted before the task ended")
	}
	mon := res.Header.Get("Location")
	// the slot is busy until the task ends
	bmctest.Expect(t, c.Do(http.MethodPost, "/redfish/v1/Systems/"+b.SystemID()+"/VirtualMedia/CD1/Actions/VirtualMedia.EjectMedia",
		map[string]any{}, nil), http.StatusConflict, "ResourceInUse")
	simtest.WaitUntil(t, "the media task", func() bool { return c.Get(mon).Status == http.StatusOK })
	if !b.VirtualMedia()[0].Inserted {
		t.Error("not inserted after the task")
	}
	// validation still answers at once
	bmctest.Expect(t, c.Do(http.MethodPost, "/redfish/v1/Systems/"+b.SystemID()+"/VirtualMedia/CD1/Actions/VirtualMedia.InsertMedia",
		map[string]any{}, nil), http.StatusBadRequest, "ActionParameterMissing")
	bmctest.Expect(t, c.Get("/redfish/v1/TaskService/TaskMonitors/999"), http.StatusNotFound, "ResourceNotFound")
}

func TestBusyAfterPowerOn(t *testing.T) {
	t.Parallel()
	lab := startBMCLab(t, labOptions{Nodes: 1, BMC: Variant{BusyAfterPowerOn: 1500 * time.Millisecond}})
	c := newCaller(t, lab, "pve1").Basic()
	bmctest.Expect(t, c.Reset("ForceOff"), http.StatusNoContent, "")
	simtest.WaitUntil(t, "Off", func() bool { return c.Power() == "Off" })
	bmctest.Expect(t, c.Reset("On"), http.StatusNoContent, "")
	// once the host is on, the BMC is busy for a while
	var busy bmctest.Result
	simtest.WaitUntil(t, "503", func() bool {
		busy = c.Get("/redfish/v1/Systems")
		return busy.Status == http.StatusServiceUnavailable
	})
	bmctest.Expect(t, busy, http.StatusServiceUnavailable, "ServiceTemporarilyUnavailable")
	if ra := busy.Header.Get("Retry-After"); ra != "1" && ra != "2" {
		t.Errorf("Retry-After %q", ra)
	}
	bmctest.Expect(t, c.Get("/redfish/v1/"), http.StatusOK, "")
	bmctest.Expect(t, c.Anon().Do(http.MethodPost, "/redfish/v1/SessionService/Sessions",
		map[string]any{"UserName": "ADMIN", "Password": lab.BMCPassword()}, nil), http.StatusServiceUnavailable, "ServiceTemporarilyUnavailable")
	simtest.WaitUntil(t, "the BMC to answer", func() bool { return c.Get("/redfish/v1/Systems").Status == http.StatusOK })
}
