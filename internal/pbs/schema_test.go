package pbs

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/labdata"
)

// schemaFile is the PBS 4 API schema the fake PBS checks requests
// against: the official one beside the project (see
// ../shared/api-schemas/README.md), else the lab's copy of the part the
// simulated PBS serves (package labdata).
const schemaFile = labdata.PBS4

type schemaParam struct {
	Type     string          `json:"type"`
	Optional json.RawMessage `json:"optional"`
	Enum     []string        `json:"enum"`
	Pattern  string          `json:"pattern"`
	Items    *schemaParam    `json:"items"`
	Minimum  *float64        `json:"minimum"`
	Maximum  *float64        `json:"maximum"`
}

func (p schemaParam) optional() bool {
	s := strings.Trim(string(p.Optional), `"`)
	return s == "1" || s == "true"
}

type schemaMethod struct {
	Parameters struct {
		Properties map[string]schemaParam `json:"properties"`
	} `json:"parameters"`
}

type schemaNode struct {
	Path     string                  `json:"path"`
	Info     map[string]schemaMethod `json:"info"`
	Children []schemaNode            `json:"children"`
}

// apiSchema is the loaded schema: path template -> method -> parameters.
type apiSchema map[string]map[string]schemaMethod

var (
	schemaOnce   sync.Once
	loadedSchema apiSchema
	schemaErr    error
)

// loadSchema reads the schema once: the official file, else (not under CI)
// the lab's copy.
func loadSchema() (apiSchema, error) {
	schemaOnce.Do(func() {
		var raw []byte
		path, err := labdata.Find("api-schemas/" + schemaFile)
		if errors.Is(err, labdata.ErrNotFound) {
			raw, err = labdata.Schema(schemaFile)
		} else if err == nil {
			raw, err = os.ReadFile(path)
		}
		if err != nil {
			schemaErr = err
			return
		}
		var roots []schemaNode
		if err := json.Unmarshal(raw, &roots); err != nil {
			schemaErr = fmt.Errorf("%s: %w", schemaFile, err)
			return
		}
		loadedSchema = apiSchema{}
		var walk func(n schemaNode)
		walk = func(n schemaNode) {
			loadedSchema[n.Path] = n.Info
			for _, c := range n.Children {
				walk(c)
			}
		}
		for _, r := range roots {
			walk(r)
		}
	})
	return loadedSchema, schemaErr
}

// lookup finds the schema path template matching path, and the values of
// its {parameters}.
func (s apiSchema) lookup(path string) (string, map[string]string) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for tmpl := range s {
		tsegs := strings.Split(strings.Trim(tmpl, "/"), "/")
		if len(tsegs) != len(segs) {
			continue
		}
		vars := map[string]string{}
		ok := true
		for i, ts := range tsegs {
			if strings.HasPrefix(ts, "{") && strings.HasSuffix(ts, "}") {
				vars[ts[1:len(ts)-1]] = segs[i]
			} else if ts != segs[i] {
				ok = false
				break
			}
		}
		if ok {
			return tmpl, vars
		}
	}
	return "", nil
}

// check validates a request's parameters as PBS does before calling the
// handler, and returns PBS's message for the first problems found, "" if
// there are none or the path is not in the schema. The log endpoint is
// a "DOWNLOAD" method in the schema.
func (s apiSchema) check(r *http.Request, params url.Values) string {
	path := strings.TrimPrefix(r.URL.Path, apiRoot)
	tmpl, vars := s.lookup(path)
	if tmpl == "" {
		return ""
	}
	m, ok := s[tmpl][r.Method]
	if !ok && r.Method == http.MethodGet {
		m, ok = s[tmpl]["DOWNLOAD"]
	}
	if !ok {
		return ""
	}
	props := m.Parameters.Properties
	if props == nil {
		// The lab's copy of the schema (used when the official file is not
		// beside the repository) has the parameters of the routes the
		// simulated PBS serves only; the others are checked where the
		// official file is, as in CI.
		return ""
	}
	errs := map[string]string{}
	for k, vals := range params {
		p, known := props[k]
		if !known {
			errs[k] = "schema does not allow additional properties."
			continue
		}
		if p.Type != "array" && len(vals) > 1 {
			errs[k] = "got multiple values for non-array parameter"
			continue
		}
		for _, v := range vals {
			if msg := checkValue(p, v); msg != "" {
				errs[k] = msg
			}
		}
	}
	for k, p := range props {
		if _, isPath := vars[k]; !p.optional() && !isPath && !params.Has(k) {
			errs[k] = "parameter is missing and it is not optional."
		}
	}
	if len(errs) == 0 {
		return ""
	}
	keys := make([]string, 0, len(errs))
	for k := range errs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) == 1 {
		return fmt.Sprintf("parameter verification failed - '%s': %s", keys[0], errs[keys[0]])
	}
	msg := "parameter verification failed:"
	for _, k := range keys {
		msg += fmt.Sprintf("\n- '%s': %s", k, errs[k])
	}
	return msg
}

// checkValue checks one value against its schema, with PBS's messages.
func checkValue(p schemaParam, v string) string {
	switch p.Type {
	case "array":
		if p.Items != nil {
			return checkValue(*p.Items, v)
		}
	case "boolean":
		switch strings.ToLower(v) {
		case "1", "on", "yes", "true", "0", "off", "no", "false":
		default:
			return "Unable to parse boolean option."
		}
	case "integer":
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return "invalid integer value"
		}
		if p.Minimum != nil && float64(n) < *p.Minimum {
			return fmt.Sprintf("value must have a minimum value of %v (got %d)", *p.Minimum, n)
		}
		if p.Maximum != nil && float64(n) > *p.Maximum {
			return fmt.Sprintf("value must have a maximum value of %v (got %d)", *p.Maximum, n)
		}
	case "string":
		if len(p.Enum) > 0 {
			for _, e := range p.Enum {
				if e == v {
					return ""
				}
			}
			return fmt.Sprintf("value '%s' is not defined in the enumeration.", v)
		}
		if re := jsPattern(p.Pattern); re != nil && !re.MatchString(v) {
			return "value does not match the regex pattern"
		}
	}
	return ""
}

// jsPattern compiles a schema pattern (JavaScript form, /^...$/) for Go,
// or returns nil for one RE2 cannot express.
func jsPattern(p string) *regexp.Regexp {
	if len(p) < 2 || p[0] != '/' || p[len(p)-1] != '/' {
		return nil
	}
	re, err := regexp.Compile(p[1 : len(p)-1]) // RE2 knows [[:^cntrl:]] and (?P<name>)
	if err != nil {
		return nil
	}
	return re
}

// TestSchemaAvailable says whether requests are checked against the
// official schema in this run.
func TestSchemaAvailable(t *testing.T) {
	s, err := loadSchema()
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/config/datastore/{name}", "/config/prune/{id}", "/admin/datastore/{store}/namespace", "/nodes/{node}/tasks/{upid}/status"} {
		if s[path] == nil {
			t.Errorf("schema lacks %s", path)
		}
	}
	// The checker itself: PBS's answers for bad parameters.
	for _, tt := range []struct {
		method, target, body, want string
	}{
		{"PUT", "/config/datastore/store1", "comment=x&keep-lasst=3", "parameter verification failed - 'keep-lasst': schema does not allow additional properties."},
		{"PUT", "/config/datastore/store1", "delete=tunin", "parameter verification failed - 'delete': value 'tunin' is not defined in the enumeration."},
		{"POST", "/config/datastore", "name=store1", "parameter verification failed - 'path': parameter is missing and it is not optional."},
		{"PUT", "/config/datastore/store1", "verify-new=maybe", "parameter verification failed - 'verify-new': Unable to parse boolean option."},
		{"PUT", "/config/datastore/store1", "comment=x&delete=comment&verify-new=1&digest=" + strings.Repeat("ab", 32), ""},
	} {
		req, _ := http.NewRequest(tt.method, "http://pbs"+apiRoot+tt.target, strings.NewReader(tt.body))
		params, _ := url.ParseQuery(tt.body)
		if got := s.check(req, params); got != tt.want {
			t.Errorf("%s %s %s: %q, want %q", tt.method, tt.target, tt.body, got, tt.want)
		}
	}
}
