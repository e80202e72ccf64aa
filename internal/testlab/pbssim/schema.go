package pbssim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/labdata"
)

// The PBS API schema (the apidoc of Proxmox Backup Server 4.x) and the
// parameter checks of proxmox-schema, which proxmox-rest-server runs on
// every call before the handler: parse_parameter_strings for form and
// query parameters, verify_json for JSON bodies. The messages are
// proxmox-schema's (schema.rs, property_string.rs), collected in a
// ParameterError whose text is
//
//	parameter verification errors
//
//	parameter 'x': <message>
//
// one line per parameter, in the order the parameters arrived.

// schemaFileName is the PBS schema the simulator models.
const schemaFileName = labdata.PBS4

// apiSchema is the parsed PBS API schema.
type apiSchema struct {
	methods map[string]map[string]*apiMethod // template -> HTTP method -> method
	dirs    []string
}

// apiMethod is one API method of the schema.
type apiMethod struct {
	path   string
	method string
	params *propSchema // the parameter object schema
	world  bool        // Permission::World: no authentication
}

// propSchema is one proxmox-schema schema as the apidoc dumps it.
type propSchema struct {
	Type       string
	Optional   bool
	Pattern    *regexp.Regexp
	MinLength  *int
	MaxLength  *int
	Minimum    *int64
	Maximum    *int64
	Enum       []string
	Items      *propSchema
	Format     *propSchema // ApiStringFormat::PropertyString: an object or array schema
	Properties map[string]*propSchema
	// AdditionalProperties is the object schema's additional_properties.
	AdditionalProperties bool
	DefaultKey           string
	TypeText             string
}

// calendarEvent reports whether values are checked as calendar events
// (GC_SCHEDULE_SCHEMA and friends use ApiStringFormat::VerifyFn with
// verify_calendar_event; the dump shows them by their type text).
func (s *propSchema) calendarEvent() bool { return s.TypeText == "<calendar-event>" }

var (
	schemaMu    sync.Mutex
	schemaCache = map[string]*apiSchema{}
)

// loadAPISchema parses a PBS apidoc, caching it by source.
func loadAPISchema(src labdata.Source) (*apiSchema, error) {
	key := src.Key()
	if src.Path != "" {
		abs, err := filepath.Abs(src.Path)
		if err != nil {
			return nil, err
		}
		src.Path, key = abs, abs
	}
	schemaMu.Lock()
	defer schemaMu.Unlock()
	if s := schemaCache[key]; s != nil {
		return s, nil
	}
	data, err := src.Read()
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var tree []any
	if err := dec.Decode(&tree); err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	s := &apiSchema{methods: map[string]map[string]*apiMethod{}}
	if err := s.walk(tree); err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	if len(s.methods) == 0 {
		return nil, fmt.Errorf("%s: no API methods found", key)
	}
	schemaCache[key] = s
	return s, nil
}

func (s *apiSchema) walk(nodes []any) error {
	for _, raw := range nodes {
		n, ok := raw.(map[string]any)
		if !ok {
			return fmt.Errorf("tree node is %T, not an object", raw)
		}
		path, _ := n["path"].(string)
		if path == "" {
			return errors.New("tree node without path")
		}
		s.dirs = append(s.dirs, path)
		info, _ := n["info"].(map[string]any)
		for method, rawMethod := range info {
			m, ok := rawMethod.(map[string]any)
			if !ok {
				return fmt.Errorf("%s %s: method is %T", method, path, rawMethod)
			}
			pm := &apiMethod{path: path, method: method}
			if params, ok := m["parameters"].(map[string]any); ok {
				p, err := parseProp(params)
				if err != nil {
					return fmt.Errorf("%s %s: %w", method, path, err)
				}
				if p.Type == "" {
					p.Type = "object"
				}
				pm.params = p
			}
			if perms, ok := m["permissions"].(map[string]any); ok {
				pm.world = perms["user"] == "world"
			}
			if s.methods[path] == nil {
				s.methods[path] = map[string]*apiMethod{}
			}
			s.methods[path][method] = pm
		}
		if children, ok := n["children"].([]any); ok {
			if err := s.walk(children); err != nil {
				return err
			}
		}
	}
	return nil
}

// parseProp converts one schema object of the dump.
func parseProp(m map[string]any) (*propSchema, error) {
	p := &propSchema{}
	p.Type, _ = m["type"].(string)
	p.Optional = dumpFlag(m["optional"])
	p.TypeText, _ = m["typetext"].(string)
	p.DefaultKey, _ = m["default_key"].(string)
	if ap, ok := m["additionalProperties"]; ok {
		p.AdditionalProperties = dumpFlag(ap)
	}
	if enum, ok := m["enum"].([]any); ok {
		for _, e := range enum {
			v := dumpScalar(e)
			p.Enum = append(p.Enum, v)
		}
	}
	for key, dst := range map[string]**int{"minLength": &p.MinLength, "maxLength": &p.MaxLength} {
		if v, ok := m[key]; ok {
			s := dumpScalar(v)
			n, err := strconv.Atoi(s)
			if err != nil {
				return nil, fmt.Errorf("%s: %q is not a number", key, s)
			}
			*dst = &n
		}
	}
	for key, dst := range map[string]**int64{"minimum": &p.Minimum, "maximum": &p.Maximum} {
		if v, ok := m[key]; ok {
			s := dumpScalar(v)
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%s: %q is not an integer", key, s)
			}
			*dst = &n
		}
	}
	if pat, ok := m["pattern"].(string); ok {
		re, err := compilePattern(pat)
		if err != nil {
			return nil, fmt.Errorf("pattern %q: %w", pat, err)
		}
		p.Pattern = re
	}
	if items, ok := m["items"].(map[string]any); ok {
		it, err := parseProp(items)
		if err != nil {
			return nil, fmt.Errorf("items: %w", err)
		}
		p.Items = it
	}
	if f, ok := m["format"].(map[string]any); ok {
		fp, err := parseProp(f)
		if err != nil {
			return nil, fmt.Errorf("format: %w", err)
		}
		p.Format = fp
	}
	if props, ok := m["properties"].(map[string]any); ok {
		p.Properties = map[string]*propSchema{}
		for name, raw := range props {
			pm, ok := raw.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("property %s is %T", name, raw)
			}
			pp, err := parseProp(pm)
			if err != nil {
				return nil, fmt.Errorf("property %s: %w", name, err)
			}
			p.Properties[name] = pp
		}
	}
	return p, nil
}

// dumpFlag reads a flag of the dump (optional, additionalProperties):
// proxmox-schema's apidoc dump says optional as 1, "1" or true; 0, "0",
// "", false or no value mean false.
func dumpFlag(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	default:
		s := dumpScalar(v)
		return s != "" && s != "0"
	}
}

// dumpScalar renders a scalar of the dump (an enum value, a limit) as
// text: strings as they are, numbers as written, true and false as 1 and
// 0. Arrays and objects render as "".
func dumpScalar(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return string(x)
	case bool:
		if x {
			return "1"
		}
		return "0"
	case float64:
		return strconv.FormatFloat(x, 'g', 15, 64)
	case int64:
		return strconv.FormatInt(x, 10)
	}
	return ""
}

// compilePattern compiles a pattern of the dump, written in JavaScript
// form ("/^...$/") from the Rust regular expression, which RE2 shares.
func compilePattern(pat string) (*regexp.Regexp, error) {
	if len(pat) >= 2 && strings.HasPrefix(pat, "/") && strings.HasSuffix(pat, "/") {
		pat = pat[1 : len(pat)-1]
	}
	return regexp.Compile(pat)
}
