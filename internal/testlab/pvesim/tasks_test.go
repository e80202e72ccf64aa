package pvesim

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"testing"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/pvesim/pvetest"
)

// waitStopped polls a task's status until it stops and returns the status.
func waitStopped(t *testing.T, c *pvetest.Caller, node, upid string) map[string]any {
	t.Helper()
	for range 200 {
		res := c.Get("/nodes/" + node + "/tasks/" + url.PathEscape(upid) + "/status")
		pvetest.Expect(t, res, http.StatusOK, "OK")
		data := res.Body["data"].(map[string]any)
		if data["status"] == "stopped" {
			return data
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("task %s did not stop", upid)
	return nil
}

// taskLog returns the text lines of a task log.
func taskLog(t *testing.T, c *pvetest.Caller, node, upid string, query url.Values) []string {
	t.Helper()
	res := c.Form(http.MethodGet, "/nodes/"+node+"/tasks/"+url.PathEscape(upid)+"/log", query)
	pvetest.Expect(t, res, http.StatusOK, "OK")
	var lines []string
	for i, e := range res.Body["data"].([]any) {
		entry := e.(map[string]any)
		lines = append(lines, entry["t"].(string))
		if i == 0 && query == nil && entry["n"] != float64(1) {
			t.Errorf("first line number %v, want 1", entry["n"])
		}
	}
	return lines
}

func TestTaskLifeCycle(t *testing.T) {
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()
	upid := lab.StartTask("pve1", "qmstart", "100", "root@pam", 300*time.Millisecond, []string{"starting VM 100", "VM 100 started"})

	upidRE := regexp.MustCompile(`^UPID:pve1:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:qmstart:100:root@pam:$`)
	if !upidRE.MatchString(upid) {
		t.Fatalf("UPID %q has not PVE's form", upid)
	}

	res := c.Get("/nodes/pve1/tasks/" + url.PathEscape(upid) + "/status")
	pvetest.Expect(t, res, http.StatusOK, "OK")
	data := res.Body["data"].(map[string]any)
	if data["status"] != "running" || data["exitstatus"] != nil || data["type"] != "qmstart" || data["id"] != "100" ||
		data["user"] != "root@pam" || data["node"] != "pve1" || data["upid"] != upid || data["pid"] == nil || data["starttime"] == nil {
		t.Fatalf("running status = %s", res.Raw)
	}
	if list := c.Get("/nodes/pve1/tasks").Body["data"].([]any); len(list) != 0 {
		t.Errorf("archive lists a running task: %v", list)
	}
	active := c.Form(http.MethodGet, "/nodes/pve1/tasks", url.Values{"source": {"active"}})
	if list := active.Body["data"].([]any); len(list) != 1 {
		t.Errorf("active tasks = %s", active.Raw)
	}

	data = waitStopped(t, c, "pve1", upid)
	if data["exitstatus"] != "OK" {
		t.Fatalf("exitstatus = %v", data["exitstatus"])
	}
	lines := taskLog(t, c, "pve1", upid, nil)
	if fmt.Sprint(lines) != "[starting VM 100 VM 100 started TASK OK]" {
		t.Fatalf("log = %q", lines)
	}
	if got := taskLog(t, c, "pve1", upid, url.Values{"start": {"1"}, "limit": {"1"}}); fmt.Sprint(got) != "[VM 100 started]" {
		t.Errorf("log page = %q", got)
	}

	list := c.Get("/nodes/pve1/tasks")
	entries := list.Body["data"].([]any)
	if len(entries) != 1 || list.Body["total"] != float64(1) {
		t.Fatalf("tasks = %s", list.Raw)
	}
	entry := entries[0].(map[string]any)
	if entry["upid"] != upid || entry["status"] != "OK" || entry["endtime"] == nil {
		t.Errorf("task entry = %v", entry)
	}
	// Tasks belong to their node.
	if list := c.Get("/nodes/pve2/tasks").Body["data"].([]any); len(list) != 0 {
		t.Errorf("pve2 lists pve1's task: %v", list)
	}
}

func TestTaskFailureAndWarnings(t *testing.T) {
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()

	lab.Faults().FailNextTasks(1, "command 'qm start 101' failed: exit code 1")
	failed := lab.StartTask("pve2", "qmstart", "101", "root@pam", 0, []string{"starting VM 101"})
	ok := lab.StartTask("pve2", "qmstart", "102", "root@pam", 0, nil)
	warned := lab.StartTaskWithWarnings("pve2", "vzdump", "103", "root@pam", 0, []string{"INFO: starting backup"},
		[]string{"unable to freeze guest filesystems", "guest agent not running"})

	if got := waitStopped(t, c, "pve2", failed)["exitstatus"]; got != "command 'qm start 101' failed: exit code 1" {
		t.Errorf("failed exitstatus = %v", got)
	}
	if got := taskLog(t, c, "pve2", failed, nil); fmt.Sprint(got) != "[starting VM 101 TASK ERROR: command 'qm start 101' failed: exit code 1]" {
		t.Errorf("failed log = %q", got)
	}
	if got := waitStopped(t, c, "pve2", ok)["exitstatus"]; got != "OK" {
		t.Errorf("the fault applies to one task only: exitstatus = %v", got)
	}
	if got := waitStopped(t, c, "pve2", warned)["exitstatus"]; got != "WARNINGS: 2" {
		t.Errorf("warnings exitstatus = %v", got)
	}
	want := "[INFO: starting backup WARN: unable to freeze guest filesystems WARN: guest agent not running TASK WARNINGS: 2]"
	if got := taskLog(t, c, "pve2", warned, nil); fmt.Sprint(got) != want {
		t.Errorf("warnings log = %q", got)
	}

	for filter, want := range map[string]int{"errors=1": 2, "statusfilter=error": 1, "statusfilter=ok,warning": 2, "typefilter=vzdump": 1, "vmid=101": 1, "userfilter=ROOT": 3} {
		q, _ := url.ParseQuery(filter)
		res := c.Form(http.MethodGet, "/nodes/pve2/tasks", q)
		if got := len(res.Body["data"].([]any)); got != want {
			t.Errorf("%s: %d tasks, want %d: %s", filter, got, want, res.Raw)
		}
	}
}

func TestTaskStop(t *testing.T) {
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()
	upid := lab.StartTask("pve1", "qmigrate", "100", "root@pam", time.Hour, []string{"starting migration"})
	pvetest.Expect(t, c.Form(http.MethodDelete, "/nodes/pve1/tasks/"+url.PathEscape(upid), nil), http.StatusOK, "OK")
	if got := waitStopped(t, c, "pve1", upid)["exitstatus"]; got != exitInterrupted {
		t.Errorf("exitstatus = %v", got)
	}
	if got := taskLog(t, c, "pve1", upid, nil); got[len(got)-1] != "TASK ERROR: interrupted by signal" {
		t.Errorf("log = %q", got)
	}
}

func TestUnknownTask(t *testing.T) {
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()
	ghost := "UPID:pve1:0001E240:00ABCDEF:65000000:qmstart:100:root@pam:"
	pvetest.ExpectParamError(t, c.Get("/nodes/pve1/tasks/"+url.PathEscape(ghost)+"/status"), "upid", "no such task")
	pvetest.ExpectParamError(t, c.Form(http.MethodDelete, "/nodes/pve1/tasks/"+url.PathEscape(ghost), nil), "upid", "no such task")
	pvetest.ExpectParamError(t, c.Get("/nodes/pve1/tasks/garbage/status"), "upid", "unable to parse worker upid")
	if got := taskLog(t, c, "pve1", ghost, nil); fmt.Sprint(got) != "[unable to open file - No such file or directory]" {
		t.Errorf("log of unknown task = %q", got)
	}
	// A node does not know another node's tasks.
	upid := lab.StartTask("pve1", "qmstart", "100", "root@pam", 0, nil)
	pvetest.ExpectParamError(t, c.Get("/nodes/pve2/tasks/"+url.PathEscape(upid)+"/status"), "upid", "no such task")
}
