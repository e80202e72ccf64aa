package pvesim

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/pveschema"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/pvesim/pvetest"
)

func TestParameterVerification(t *testing.T) {
	lab := startLab(t, Options{})
	requireSchema(t, lab)
	c := newCaller(t, lab).WithToken()

	tests := []struct {
		name, path string
		query      url.Values
		param, msg string
	}{
		{"unknown parameter", "/nodes/pve1/status", url.Values{"foo": {"1"}},
			"foo", "property is not defined in schema and the schema does not allow additional properties"},
		{"value outside enum", "/cluster/resources", url.Values{"type": {"qemu"}},
			"type", "value 'qemu' does not have a value in the enumeration 'vm, storage, node, sdn'"},
		{"below minimum", "/nodes/pve1/tasks", url.Values{"limit": {"-1"}},
			"limit", "value must have a minimum value of 0"},
		{"not an integer", "/nodes/pve1/tasks", url.Values{"start": {"abc"}},
			"start", "type check ('integer') failed - got 'abc'"},
		{"not a boolean", "/nodes/pve1/tasks", url.Values{"errors": {"yes"}},
			"errors", "type check ('boolean') failed - got 'yes'"},
		{"named format", "/cluster/nextid", url.Values{"vmid": {"99"}},
			"vmid", "invalid format - value does not look like a valid VM ID\n"},
		{"ten digit VM ID", "/nodes/pve1/tasks", url.Values{"vmid": {"1000000000"}},
			"vmid", "invalid format - value does not look like a valid VM ID\n"},
		{"format list", "/nodes/pve1/tasks", url.Values{"statusfilter": {"ok,bad"}},
			"statusfilter", "invalid format - invalid status 'bad'\n"},
		{"duplicate path parameter", "/nodes/pve1/status", url.Values{"node": {"pve2"}},
			"node", "duplicate parameter (already defined in URI) with conflicting values!"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pvetest.ExpectParamError(t, c.Form(http.MethodGet, tc.path, tc.query), tc.param, tc.msg)
		})
	}

	t.Run("missing parameter", func(t *testing.T) {
		res := newCaller(t, lab).Form(http.MethodPost, "/access/ticket", url.Values{"username": {"root@pam"}})
		pvetest.ExpectParamError(t, res, "password", "property is missing and it is not optional")
	})
	t.Run("JSON types", func(t *testing.T) {
		res := newCaller(t, lab).JSON(http.MethodPost, "/access/ticket", map[string]any{"username": true, "password": []string{"x"}})
		pvetest.Expect(t, res, http.StatusBadRequest, "Parameter verification failed.")
		errs := res.ErrorsMap()
		if errs["username"] != "type check ('string') failed - got JSON::PP::Boolean" || errs["password"] != "type check ('string') failed - got ARRAY" {
			t.Fatalf("errors = %v", errs)
		}
	})
	t.Run("same value in path and query", func(t *testing.T) {
		pvetest.Expect(t, c.Form(http.MethodGet, "/nodes/pve1/status", url.Values{"node": {"pve1"}}), http.StatusOK, "OK")
	})
	t.Run("cache buster ignored", func(t *testing.T) {
		pvetest.Expect(t, c.Form(http.MethodGet, "/nodes/pve1/status", url.Values{"_dc": {"1700000000"}}), http.StatusOK, "OK")
	})
}

func TestNotImplemented(t *testing.T) {
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()
	pvetest.Expect(t, c.Get("/foo/bar"), http.StatusNotImplemented, "Method 'GET /foo/bar' not implemented")
	res := c.Form(http.MethodPut, "/version", nil)
	pvetest.Expect(t, res, http.StatusNotImplemented, "Method 'PUT /version' not implemented")
	if res.Body["message"] != "Method 'PUT /version' not implemented" {
		t.Errorf("body %s", res.Raw)
	}

	req, _ := http.NewRequest(http.MethodHead, lab.Endpoint()+"/api2/json/version", nil)
	pvetest.Expect(t, c.Do(req), http.StatusNotImplemented, "method 'HEAD' not available")
	req, _ = http.NewRequest(http.MethodGet, lab.Endpoint()+"/index.html", nil)
	pvetest.Expect(t, c.Do(req), http.StatusNotImplemented, "no such file '/index.html'")
}

func TestUnknownNode(t *testing.T) {
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()
	res := c.Get("/nodes/pve9/status")
	pvetest.Expect(t, res, http.StatusInternalServerError, "hostname lookup 'pve9' failed - failed to get address info for: pve9: Name or service not known")
	if res.Body["message"] != "hostname lookup 'pve9' failed - failed to get address info for: pve9: Name or service not known\n" {
		t.Errorf("body %s", res.Raw)
	}
	// The node index is not proxied, so PVE answers it for any name.
	pvetest.Expect(t, c.Get("/nodes/pve9"), http.StatusOK, "OK")
}

// methodSchemaFor returns the schema of one method for unit tests.
func methodSchemaFor(t *testing.T, lab *PVE, method, path string) *pveschema.Method {
	t.Helper()
	n, _ := lab.routes.match(path)
	if n == nil || n.Methods[method] == nil || n.Methods[method].schema == nil {
		t.Fatalf("%s %s not in schema", method, path)
	}
	return n.Methods[method].schema
}

func TestValidatePropertyStringsAndFamilies(t *testing.T) {
	lab := startLab(t, Options{})
	requireSchema(t, lab)
	ms := methodSchemaFor(t, lab, http.MethodPost, "/nodes/{node}/qemu/{vmid}/config")

	tests := []struct {
		name   string
		params map[string]any
		want   map[string]string
	}{
		{"valid", map[string]any{"node": "pve1", "vmid": "100", "net0": "virtio,bridge=vmbr0,firewall=1", "net31": "e1000=BC:24:11:00:00:01,bridge=vmbr1,tag=20", "scsi30": "local-lvm:8"}, nil},
		{"index beyond range", map[string]any{"node": "pve1", "vmid": "100", "net32": "virtio,bridge=vmbr0", "scsi31": "local-lvm:8"},
			map[string]string{
				"net32":  "property is not defined in schema and the schema does not allow additional properties",
				"scsi31": "property is not defined in schema and the schema does not allow additional properties",
			}},
		{"leading zero", map[string]any{"node": "pve1", "vmid": "100", "net01": "virtio"},
			map[string]string{"net01": "property is not defined in schema and the schema does not allow additional properties"}},
		{"unknown key", map[string]any{"node": "pve1", "vmid": "100", "net0": "virtio,bridge=vmbr0,speed=10"},
			map[string]string{"net0": "invalid format - invalid key in comma-separated list property: speed\n"}},
		{"bad value", map[string]any{"node": "pve1", "vmid": "100", "net0": "virtio,bridge=vmbr0,tag=0"},
			map[string]string{"net0": "invalid format - format error\nnet0.tag: value must have a minimum value of 1\n"}},
		{"no default key", map[string]any{"node": "pve1", "vmid": "100", "agent": "1,fstrim_cloned_disks=yes"}, nil},
		{"vmid minimum", map[string]any{"node": "pve1", "vmid": "99"},
			map[string]string{"vmid": "invalid format - value does not look like a valid VM ID\n"}},
		{"required node", map[string]any{"vmid": "100"},
			map[string]string{"node": "property is missing and it is not optional"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := pveschema.ValidateParams(ms, tc.params)
			if len(got) != len(tc.want) {
				t.Fatalf("errors = %q, want %q", got, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("errors[%s] = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

func TestValidateArraysAndRequires(t *testing.T) {
	lab := startLab(t, Options{})
	requireSchema(t, lab)

	// the map of a PCI mapping is an array; form-encoded, its entries
	// arrive NUL-joined (repeated keys)
	ms := methodSchemaFor(t, lab, http.MethodPut, "/cluster/mapping/pci/{id}")
	entry := "node=pve1,path=0000:01:00.0,id=10de:1b80"
	params := map[string]any{"id": "gpu", "map": entry + "\x00" + strings.Replace(entry, "pve1", "pve2", 1), "delete": "description"}
	pveschema.NormalizeArrays(ms, params)
	if errs := pveschema.ValidateParams(ms, params); errs != nil {
		t.Fatalf("errors = %v", errs)
	}
	if list, ok := params["map"].([]any); !ok || len(list) != 2 {
		t.Fatalf("map = %#v, want a list of two", params["map"])
	}
	params = map[string]any{"id": "gpu", "delete": "description,Comment!"}
	if errs := pveschema.ValidateParams(ms, params); errs["delete"] != "invalid format - invalid configuration ID 'Comment!'\n" {
		t.Fatalf("errors = %q", errs)
	}

	ticket := methodSchemaFor(t, lab, http.MethodPost, "/access/ticket")
	errs := pveschema.ValidateParams(ticket, map[string]any{"username": "root@pam", "password": "x", "path": "/vms"})
	if errs["privs"] != "missing property - 'path' requires this property" {
		t.Fatalf("errors = %q", errs)
	}
}
