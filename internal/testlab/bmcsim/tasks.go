package bmcsim

import (
	"math"
	"net/http"
	"strconv"
	"time"
)

// Tasks of a BMC with Variant.TaskActions: an action answers 202
// Accepted with the Location of a task monitor and, as DSP0266 asks, the
// Task in its body and a Retry-After. GET of the monitor answers 202 with
// the Task while it runs and 200 with the completed Task (TaskState
// Completed) afterwards; the Task itself is at
// /redfish/v1/TaskService/Tasks/<id>. The BMC keeps its last maxTasks
// tasks (CompletedTaskOverWritePolicy Oldest).

const maxTasks = 32

// task is one task.
type task struct {
	id      string
	name    string
	start   time.Time
	end     time.Time
	apply   func() // what the task does when it ends (nil: nothing more)
	applied bool
}

func taskURI(id string) string        { return "/redfish/v1/TaskService/Tasks/" + id }
func taskMonitorURI(id string) string { return "/redfish/v1/TaskService/TaskMonitors/" + id }

// actionDone answers an action that started something ending at end:
// 204, or with TaskActions a task that completes at end.
func (b *BMC) actionDone(q *request, name string, end time.Time) (*response, *apiError) {
	if !b.variant.TaskActions {
		return noContent(), nil
	}
	return b.startTask(q, name, end, nil), nil
}

// startTask creates a task that ends at end (at least a moment after it
// starts) and then runs apply, and answers 202 with its monitor. The
// caller holds mu.
func (b *BMC) startTask(q *request, name string, end time.Time, apply func()) *response {
	if min := q.now.Add(100 * time.Millisecond); end.Before(min) {
		end = min
	}
	b.taskSeq++
	t := &task{id: strconv.Itoa(b.taskSeq), name: name, start: q.now, end: end, apply: apply}
	b.tasks = append(b.tasks, t)
	if len(b.tasks) > maxTasks {
		b.tasks = b.tasks[len(b.tasks)-maxTasks:]
	}
	if apply != nil { // a power transition does not cancel it
		b.scheduleKept(end, func(time.Time) []hostOp {
			b.finishTask(t)
			return nil
		})
	}
	resp := &response{status: http.StatusAccepted, body: b.taskResource(t, q.now)}
	resp.header = http.Header{"Location": {taskMonitorURI(t.id)}, "Retry-After": {retryAfter(t.end, q.now)}}
	return resp
}

// finishTask applies what t does, once.
func (b *BMC) finishTask(t *task) {
	if !t.applied && t.apply != nil {
		t.apply()
	}
	t.applied = true
}

// retryAfter is the Retry-After of a task ending at end: whole seconds, at
// least 1.
func retryAfter(end, now time.Time) string {
	secs := math.Ceil(end.Sub(now).Seconds())
	if secs < 1 {
		secs = 1
	}
	return strconv.Itoa(int(secs))
}

func (b *BMC) task(id string) *task {
	for _, t := range b.tasks {
		if t.id == id {
			return t
		}
	}
	return nil
}

// taskResource is the Task at now.
func (b *BMC) taskResource(t *task, now time.Time) map[string]any {
	state, pct := "Running", 0
	if total := t.end.Sub(t.start); total > 0 {
		pct = int(100 * now.Sub(t.start) / total)
	}
	res := map[string]any{
		"@odata.id":       taskURI(t.id),
		"@odata.type":     "#Task.v1_7_0.Task",
		"Id":              t.id,
		"Name":            "Task " + t.id + " (" + t.name + ")",
		"TaskState":       state,
		"TaskStatus":      "OK",
		"StartTime":       formatTime(t.start),
		"PercentComplete": pct,
		"TaskMonitor":     taskMonitorURI(t.id),
		"Messages":        []any{},
	}
	if !now.Before(t.end) {
		b.finishTask(t)
		res["TaskState"] = "Completed"
		res["PercentComplete"] = 100
		res["EndTime"] = formatTime(t.end)
		res["Messages"] = []any{msg("Success").json()}
	}
	return res
}

// taskMonitor serves GET of a task monitor.
func (b *BMC) taskMonitor(q *request, id string) (*response, *apiError) {
	t := b.task(id)
	if t == nil {
		return nil, errNotFound("TaskMonitor", id)
	}
	res := b.taskResource(t, q.now)
	if res["TaskState"] == "Running" {
		resp := &response{status: http.StatusAccepted, body: res}
		resp.header = http.Header{"Location": {taskMonitorURI(t.id)}, "Retry-After": {retryAfter(t.end, q.now)}}
		return resp, nil
	}
	return jsonResponse(http.StatusOK, res), nil
}

func (b *BMC) taskService(now time.Time) map[string]any {
	return map[string]any{
		"@odata.id":                       "/redfish/v1/TaskService",
		"@odata.type":                     "#TaskService.v1_2_0.TaskService",
		"Id":                              "TaskService",
		"Name":                            "Tasks Service",
		"DateTime":                        formatTime(now),
		"CompletedTaskOverWritePolicy":    "Oldest",
		"LifeCycleEventOnTaskStateChange": false,
		"Status":                          map[string]any{"State": "Enabled", "Health": "OK"},
		"ServiceEnabled":                  true,
		"Tasks":                           link("/redfish/v1/TaskService/Tasks"),
	}
}

func (b *BMC) taskCollection() map[string]any {
	var members []string
	for _, t := range b.tasks {
		members = append(members, taskURI(t.id))
	}
	return collection("/redfish/v1/TaskService/Tasks", "#TaskCollection.TaskCollection", "Task Collection", members...)
}
