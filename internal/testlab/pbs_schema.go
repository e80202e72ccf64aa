package testlab

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/labdata"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/perl"
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

// pbsSchemaFileName is the PBS schema the simulator models.
const pbsSchemaFileName = labdata.PBS4

// pbsSchema is the parsed PBS API schema.
type pbsSchema struct {
	methods map[string]map[string]*pbsMethod // template -> HTTP method -> method
	dirs    []string
}

// pbsMethod is one API method of the schema.
type pbsMethod struct {
	path   string
	method string
	params *pbsProp // the parameter object schema
	world  bool     // Permission::World: no authentication
}

// pbsProp is one proxmox-schema schema as the apidoc dumps it.
type pbsProp struct {
	Type       string
	Optional   bool
	Pattern    *regexp.Regexp
	MinLength  *int
	MaxLength  *int
	Minimum    *int64
	Maximum    *int64
	Enum       []string
	Items      *pbsProp
	Format     *pbsProp // ApiStringFormat::PropertyString: an object or array schema
	Properties map[string]*pbsProp
	// AdditionalProperties is the object schema's additional_properties.
	AdditionalProperties bool
	DefaultKey           string
	TypeText             string
}

// calendarEvent reports whether values are checked as calendar events
// (GC_SCHEDULE_SCHEMA and friends use ApiStringFormat::VerifyFn with
// verify_calendar_event; the dump shows them by their type text).
func (s *pbsProp) calendarEvent() bool { return s.TypeText == "<calendar-event>" }

var (
	pbsSchemaMu    sync.Mutex
	pbsSchemaCache = map[string]*pbsSchema{}
)

// loadPBSSchema parses a PBS apidoc, caching it by source.
func loadPBSSchema(src apiSchemaSource) (*pbsSchema, error) {
	key := src.key()
	if src.path != "" {
		abs, err := filepath.Abs(src.path)
		if err != nil {
			return nil, err
		}
		src.path, key = abs, abs
	}
	pbsSchemaMu.Lock()
	defer pbsSchemaMu.Unlock()
	if s := pbsSchemaCache[key]; s != nil {
		return s, nil
	}
	data, err := src.read()
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var tree []any
	if err := dec.Decode(&tree); err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	s := &pbsSchema{methods: map[string]map[string]*pbsMethod{}}
	if err := s.walk(tree); err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	if len(s.methods) == 0 {
		return nil, fmt.Errorf("%s: no API methods found", key)
	}
	pbsSchemaCache[key] = s
	return s, nil
}

func (s *pbsSchema) walk(nodes []any) error {
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
			pm := &pbsMethod{path: path, method: method}
			if params, ok := m["parameters"].(map[string]any); ok {
				p, err := parsePBSProp(params)
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
				s.methods[path] = map[string]*pbsMethod{}
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

// parsePBSProp converts one schema object of the dump.
func parsePBSProp(m map[string]any) (*pbsProp, error) {
	p := &pbsProp{}
	p.Type, _ = m["type"].(string)
	p.Optional = perl.Truthy(m["optional"])
	p.TypeText, _ = m["typetext"].(string)
	p.DefaultKey, _ = m["default_key"].(string)
	if ap, ok := m["additionalProperties"]; ok {
		p.AdditionalProperties = perl.Truthy(ap)
	}
	if enum, ok := m["enum"].([]any); ok {
		for _, e := range enum {
			v, _ := perl.Scalar(e)
			p.Enum = append(p.Enum, v)
		}
	}
	for key, dst := range map[string]**int{"minLength": &p.MinLength, "maxLength": &p.MaxLength} {
		if v, ok := m[key]; ok {
			s, _ := perl.Scalar(v)
			n, err := strconv.Atoi(s)
			if err != nil {
				return nil, fmt.Errorf("%s: %q is not a number", key, s)
			}
			*dst = &n
		}
	}
	for key, dst := range map[string]**int64{"minimum": &p.Minimum, "maximum": &p.Maximum} {
		if v, ok := m[key]; ok {
			s, _ := perl.Scalar(v)
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%s: %q is not an integer", key, s)
			}
			*dst = &n
		}
	}
	if pat, ok := m["pattern"].(string); ok {
		re, err := compilePBSPattern(pat)
		if err != nil {
			return nil, fmt.Errorf("pattern %q: %w", pat, err)
		}
		p.Pattern = re
	}
	if items, ok := m["items"].(map[string]any); ok {
		it, err := parsePBSProp(items)
		if err != nil {
			return nil, fmt.Errorf("items: %w", err)
		}
		p.Items = it
	}
	if f, ok := m["format"].(map[string]any); ok {
		fp, err := parsePBSProp(f)
		if err != nil {
			return nil, fmt.Errorf("format: %w", err)
		}
		p.Format = fp
	}
	if props, ok := m["properties"].(map[string]any); ok {
		p.Properties = map[string]*pbsProp{}
		for name, raw := range props {
			pm, ok := raw.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("property %s is %T", name, raw)
			}
			pp, err := parsePBSProp(pm)
			if err != nil {
				return nil, fmt.Errorf("property %s: %w", name, err)
			}
			p.Properties[name] = pp
		}
	}
	return p, nil
}

// compilePBSPattern compiles a pattern of the dump, written in JavaScript
// form ("/^...$/") from the Rust regular expression, which RE2 shares.
func compilePBSPattern(pat string) (*regexp.Regexp, error) {
	if len(pat) >= 2 && strings.HasPrefix(pat, "/") && strings.HasSuffix(pat, "/") {
		pat = pat[1 : len(pat)-1]
	}
	return regexp.Compile(pat)
}

// --- parameter errors ------------------------------------------------------

// pbsParamError is proxmox-schema's ParameterError: per-parameter errors
// in the order they were found.
type pbsParamError struct {
	names []string
	msgs  []string
}

func (e *pbsParamError) push(name, msg string) {
	e.names = append(e.names, name)
	e.msgs = append(e.msgs, msg)
}

func (e *pbsParamError) empty() bool { return len(e.names) == 0 }

// Error renders the error like ParameterError's Display.
func (e *pbsParamError) Error() string {
	if e.empty() {
		return ""
	}
	var b strings.Builder
	b.WriteString("parameter verification errors\n\n")
	for i, n := range e.names {
		fmt.Fprintf(&b, "parameter '%s': %s\n", n, e.msgs[i])
	}
	return b.String()
}

// addErrors is ParameterError::add_errors: nested parameter errors get
// the key as prefix ("delete/[0]").
func (e *pbsParamError) addErrors(prefix string, err error) {
	var pe *pbsParamError
	if errors.As(err, &pe) {
		for i, n := range pe.names {
			e.push(prefix+"/"+n, pe.msgs[i])
		}
		return
	}
	e.push(prefix, err.Error())
}

// pbsParamErr returns a ParameterError for one parameter, like param_bail!.
func pbsParamErr(name, format string, args ...any) *pbsParamError {
	e := &pbsParamError{}
	e.push(name, fmt.Sprintf(format, args...))
	return e
}

// --- form and query parameters (parse_parameter_strings) -------------------

// pbsKV is one key=value pair of a form body, query string or path.
type pbsKV struct{ k, v string }

// parsePBSParameterStrings is proxmox-schema's parse_parameter_strings
// with test_required set: it turns the pairs into typed values (string,
// int64, float64, bool, []any) checked against the object schema.
func parsePBSParameterStrings(pairs []pbsKV, schema *pbsProp) (map[string]any, error) {
	params := map[string]any{}
	errs := &pbsParamError{}
	for _, kv := range pairs {
		ps := schema.Properties[kv.k]
		switch {
		case ps != nil && ps.Type == "array":
			list, _ := params[kv.k].([]any)
			if ps.Items == nil {
				list = append(list, kv.v)
			} else if v, err := parsePBSSimpleValue(kv.v, ps.Items); err != nil {
				errs.push(kv.k, err.Error())
			} else {
				list = append(list, v)
			}
			params[kv.k] = list
		case ps != nil:
			v, err := parsePBSSimpleValue(kv.v, ps)
			if err != nil {
				errs.push(kv.k, err.Error())
				continue
			}
			if _, dup := params[kv.k]; dup {
				errs.push(kv.k, "duplicate parameter.")
				continue
			}
			params[kv.k] = v
		case schema.AdditionalProperties:
			switch old := params[kv.k].(type) {
			case nil:
				params[kv.k] = kv.v
			case string:
				params[kv.k] = []any{old, kv.v}
			case []any:
				params[kv.k] = append(old, kv.v)
			}
		default:
			errs.push(kv.k, "schema does not allow additional properties.")
		}
	}
	if errs.empty() {
		for _, name := range slices.Sorted(maps.Keys(schema.Properties)) {
			if !schema.Properties[name].Optional && params[name] == nil {
				errs.push(name, "parameter is missing and it is not optional.")
			}
		}
	}
	if !errs.empty() {
		return nil, errs
	}
	return params, nil
}

// parsePBSSimpleValue is parse_simple_value: a scalar from its text.
func parsePBSSimpleValue(value string, s *pbsProp) (any, error) {
	switch s.Type {
	case "boolean":
		return parsePBSBoolean(value)
	case "integer":
		n, err := parseRustInt(value)
		if err != nil {
			return nil, err
		}
		if err := s.checkInteger(n); err != nil {
			return nil, err
		}
		return n, nil
	case "number":
		f, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return nil, errors.New("invalid float literal")
		}
		return f, nil
	case "string", "":
		if err := s.checkString(value); err != nil {
			return nil, err
		}
		return value, nil
	case "null":
		return nil, errors.New("internal error - found Null schema.")
	}
	return nil, errors.New("unable to parse complex (sub) objects.")
}

// parsePBSBoolean is proxmox-schema's parse_boolean.
func parsePBSBoolean(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "1", "on", "yes", "true":
		return true, nil
	case "0", "off", "no", "false":
		return false, nil
	}
	return false, errors.New("Unable to parse boolean option.")
}

// parseRustInt parses like Rust's str::parse::<isize>, with its messages.
func parseRustInt(v string) (int64, error) {
	if v == "" {
		return 0, errors.New("cannot parse integer from empty string")
	}
	digits := v
	neg := false
	if digits[0] == '+' || digits[0] == '-' {
		neg = digits[0] == '-'
		digits = digits[1:]
	}
	if digits == "" || strings.IndexFunc(digits, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		return 0, errors.New("invalid digit found in string")
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		if neg {
			return 0, errors.New("number too small to fit in target type")
		}
		return 0, errors.New("number too large to fit in target type")
	}
	return n, nil
}

// checkInteger is IntegerSchema::check_constraints.
func (s *pbsProp) checkInteger(n int64) error {
	if s.Minimum != nil && n < *s.Minimum {
		return fmt.Errorf("value must have a minimum value of %d (got %d)", *s.Minimum, n)
	}
	if s.Maximum != nil && n > *s.Maximum {
		return fmt.Errorf("value must have a maximum value of %d (got %d)", *s.Maximum, n)
	}
	return nil
}

// checkString is StringSchema::check_constraints: the length in
// characters, then the format (pattern, enumeration, property string or
// verify function).
func (s *pbsProp) checkString(v string) error {
	n := utf8.RuneCountInString(v)
	if s.MinLength != nil && n < *s.MinLength {
		return fmt.Errorf("value must be at least %d characters long", *s.MinLength)
	}
	if s.MaxLength != nil && n > *s.MaxLength {
		return fmt.Errorf("value may only be %d characters long", *s.MaxLength)
	}
	switch {
	case s.Pattern != nil:
		if !s.Pattern.MatchString(v) {
			return errors.New("value does not match the regex pattern")
		}
	case len(s.Enum) > 0:
		if !slices.Contains(s.Enum, v) {
			return fmt.Errorf("value '%s' is not defined in the enumeration.", v)
		}
	case s.Format != nil:
		if _, err := parsePBSPropertyString(v, s.Format); err != nil {
			return err
		}
	case s.calendarEvent():
		return verifyCalendarEvent(v)
	}
	return nil
}

// --- property strings --------------------------------------------------------

// pbsPropertyPair is one entry of a property string: the key (""
// without one) and the value with quotes and escapes resolved.
type pbsPropertyPair struct {
	key    string
	hasKey bool
	value  string
}

// splitPBSPropertyString is property_string::PropertyIterator: entries
// separated by commas, "key=value" or a bare value, values optionally in
// double quotes with \", \\ and \n escapes.
func splitPBSPropertyString(data string) ([]pbsPropertyPair, error) {
	var out []pbsPropertyPair
	for data != "" {
		var p pbsPropertyPair
		if !strings.HasPrefix(data, `"`) {
			if pos := strings.IndexAny(data, ",="); pos >= 0 && data[pos] == '=' {
				p.key, p.hasKey = data[:pos], true
				data = data[pos+1:]
			}
			if !strings.HasPrefix(data, `"`) {
				if pos := strings.IndexByte(data, ','); pos >= 0 {
					p.value, data = data[:pos], data[pos+1:]
				} else {
					p.value, data = data, ""
				}
				out = append(out, p)
				continue
			}
		}
		v, rest, err := parseQuotedString(data)
		if err != nil {
			return nil, err
		}
		p.value, data = v, rest
		if data != "" {
			if !strings.HasPrefix(data, ",") {
				return nil, errors.New("garbage after quoted string")
			}
			data = data[1:]
		}
		out = append(out, p)
	}
	return out, nil
}

// parseQuotedString is property_string's parse_quoted_string.
func parseQuotedString(data string) (string, string, error) {
	var b strings.Builder
	escaped := false
	for i := 1; i < len(data); i++ {
		c := data[i]
		switch {
		case escaped:
			switch c {
			case '"', '\\':
				b.WriteByte(c)
			case 'n':
				b.WriteByte('\n')
			default:
				return "", "", errors.New("unsupported escape sequence")
			}
			escaped = false
		case c == '\\':
			escaped = true
		case c == '"':
			return b.String(), data[i+1:], nil
		default:
			b.WriteByte(c)
		}
	}
	return "", "", errors.New("unexpected end of string")
}

// quotePBSValue is the property string serializer's rendering of a string:
// quoted (with escapes) only when it holds '"', '\' or a newline.
func quotePBSValue(v string) string {
	if !strings.ContainsAny(v, "\"\\\n") {
		return v
	}
	r := strings.NewReplacer(`"`, `\"`, `\`, `\\`, "\n", `\n`)
	return `"` + r.Replace(v) + `"`
}

// parsePBSPropertyString is parse_property_string: an object schema's
// entries (checked like parameters, all at once) or an array's items.
func parsePBSPropertyString(value string, s *pbsProp) (map[string]any, error) {
	if s.Type == "array" {
		items := strings.FieldsFunc(value, func(r rune) bool {
			return r == ',' || r == ';' || r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == '\v'
		})
		for _, it := range items {
			if s.Items == nil {
				continue
			}
			if _, err := parsePBSSimpleValue(strings.TrimSpace(it), s.Items); err != nil {
				return nil, fmt.Errorf("unable to parse array element: %s", err)
			}
		}
		return nil, nil
	}
	pairs, err := splitPBSPropertyString(value)
	if err != nil {
		return nil, err
	}
	var kvs []pbsKV
	for _, p := range pairs {
		switch {
		case p.hasKey:
			kvs = append(kvs, pbsKV{p.key, p.value})
		case s.DefaultKey != "":
			kvs = append(kvs, pbsKV{s.DefaultKey, p.value})
		default:
			return nil, errors.New("Value without key, but schema does not define a default key.")
		}
	}
	return parsePBSParameterStrings(kvs, s)
}

// --- JSON bodies (verify_json) -------------------------------------------

// verifyPBSJSON is verify_json_object on the parameters of a JSON body.
func verifyPBSJSON(params map[string]any, schema *pbsProp) error {
	return verifyPBSJSONObject(params, schema)
}

func verifyPBSJSONObject(obj map[string]any, schema *pbsProp) error {
	errs := &pbsParamError{}
	for _, k := range slices.Sorted(maps.Keys(obj)) { // serde_json's map is sorted
		ps := schema.Properties[k]
		if ps == nil {
			if !schema.AdditionalProperties {
				errs.push(k, "schema does not allow additional properties.")
			}
			continue
		}
		if err := verifyPBSJSONValue(obj[k], ps); err != nil {
			errs.addErrors(k, err)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(schema.Properties)) {
		if !schema.Properties[name].Optional && obj[name] == nil {
			errs.push(name, "property is missing and it is not optional.")
		}
	}
	if !errs.empty() {
		return errs
	}
	return nil
}

func verifyPBSJSONValue(v any, s *pbsProp) error {
	switch s.Type {
	case "null":
		if v != nil {
			return errors.New("Expected Null, but value is not Null.")
		}
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			if _, arr := v.([]any); arr {
				return errors.New("Expected object - got array.")
			}
			return errors.New("Expected object - got scalar value.")
		}
		return verifyPBSJSONObject(m, s)
	case "array":
		list, ok := v.([]any)
		if !ok {
			if _, obj := v.(map[string]any); obj {
				return errors.New("Expected array - got object.")
			}
			return errors.New("Expected array - got scalar value.")
		}
		for i, item := range list {
			if s.Items == nil {
				continue
			}
			if err := verifyPBSJSONValue(item, s.Items); err != nil {
				errs := &pbsParamError{}
				errs.addErrors(fmt.Sprintf("[%d]", i), err)
				return errs
			}
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return errors.New("Expected boolean value.")
		}
	case "integer":
		num, ok := v.(json.Number)
		if !ok {
			return errors.New("Expected integer value.")
		}
		n, err := num.Int64()
		if err != nil {
			return errors.New("Expected integer value.")
		}
		return s.checkInteger(n)
	case "number":
		if _, ok := v.(json.Number); !ok {
			return errors.New("Expected number value.")
		}
	default:
		str, ok := v.(string)
		if !ok {
			return errors.New("Expected string value.")
		}
		return s.checkString(str)
	}
	return nil
}

// normalizePBSJSON turns the numbers of a verified JSON body into the
// types the form path produces (int64, float64).
func normalizePBSJSON(params map[string]any) {
	for k, v := range params {
		params[k] = normalizePBSJSONValue(v)
	}
}

func normalizePBSJSONValue(v any) any {
	switch x := v.(type) {
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n
		}
		f, _ := x.Float64()
		return f
	case []any:
		for i := range x {
			x[i] = normalizePBSJSONValue(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = normalizePBSJSONValue(x[k])
		}
	}
	return v
}
