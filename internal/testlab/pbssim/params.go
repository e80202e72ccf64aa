package pbssim

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hcilab/terraform-provider-pve/internal/proxmoxtime"
)

// The parameter checks of proxmox-schema (schema.rs, property_string.rs)
// that proxmox-rest-server runs on every call: see schema.go.

// --- parameter errors ------------------------------------------------------

// paramError is proxmox-schema's ParameterError: per-parameter errors
// in the order they were found.
type paramError struct {
	names []string
	msgs  []string
}

func (e *paramError) push(name, msg string) {
	e.names = append(e.names, name)
	e.msgs = append(e.msgs, msg)
}

func (e *paramError) empty() bool { return len(e.names) == 0 }

// Error renders the error like ParameterError's Display.
func (e *paramError) Error() string {
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
func (e *paramError) addErrors(prefix string, err error) {
	var pe *paramError
	if errors.As(err, &pe) {
		for i, n := range pe.names {
			e.push(prefix+"/"+n, pe.msgs[i])
		}
		return
	}
	e.push(prefix, err.Error())
}

// paramErr returns a ParameterError for one parameter, like param_bail!.
func paramErr(name, format string, args ...any) *paramError {
	e := &paramError{}
	e.push(name, fmt.Sprintf(format, args...))
	return e
}

// --- form and query parameters (parse_parameter_strings) -------------------

// keyValue is one key=value pair of a form body, query string or path.
type keyValue struct{ k, v string }

// parseParameterStrings is proxmox-schema's parse_parameter_strings
// with test_required set: it turns the pairs into typed values (string,
// int64, float64, bool, []any) checked against the object schema.
func parseParameterStrings(pairs []keyValue, schema *propSchema) (map[string]any, error) {
	params := map[string]any{}
	errs := &paramError{}
	for _, kv := range pairs {
		ps := schema.Properties[kv.k]
		switch {
		case ps != nil && ps.Type == "array":
			list, _ := params[kv.k].([]any)
			if ps.Items == nil {
				list = append(list, kv.v)
			} else if v, err := parseSimpleValue(kv.v, ps.Items); err != nil {
				errs.push(kv.k, err.Error())
			} else {
				list = append(list, v)
			}
			params[kv.k] = list
		case ps != nil:
			v, err := parseSimpleValue(kv.v, ps)
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

// parseSimpleValue is parse_simple_value: a scalar from its text.
func parseSimpleValue(value string, s *propSchema) (any, error) {
	switch s.Type {
	case "boolean":
		return parseBoolean(value)
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

// parseBoolean is proxmox-schema's parse_boolean.
func parseBoolean(v string) (bool, error) {
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
func (s *propSchema) checkInteger(n int64) error {
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
func (s *propSchema) checkString(v string) error {
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
		if _, err := parsePropertyString(v, s.Format); err != nil {
			return err
		}
	case s.calendarEvent():
		return proxmoxtime.VerifyCalendarEvent(v)
	}
	return nil
}

// --- property strings --------------------------------------------------------

// propertyPair is one entry of a property string: the key (""
// without one) and the value with quotes and escapes resolved.
type propertyPair struct {
	key    string
	hasKey bool
	value  string
}

// splitPropertyString is property_string::PropertyIterator: entries
// separated by commas, "key=value" or a bare value, values optionally in
// double quotes with \", \\ and \n escapes.
func splitPropertyString(data string) ([]propertyPair, error) {
	var out []propertyPair
	for data != "" {
		var p propertyPair
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

// quoteValue is the property string serializer's rendering of a string:
// quoted (with escapes) only when it holds '"', '\' or a newline.
func quoteValue(v string) string {
	if !strings.ContainsAny(v, "\"\\\n") {
		return v
	}
	r := strings.NewReplacer(`"`, `\"`, `\`, `\\`, "\n", `\n`)
	return `"` + r.Replace(v) + `"`
}

// parsePropertyString is parse_property_string: an object schema's
// entries (checked like parameters, all at once) or an array's items.
func parsePropertyString(value string, s *propSchema) (map[string]any, error) {
	if s.Type == "array" {
		items := strings.FieldsFunc(value, func(r rune) bool {
			return r == ',' || r == ';' || r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == '\v'
		})
		for _, it := range items {
			if s.Items == nil {
				continue
			}
			if _, err := parseSimpleValue(strings.TrimSpace(it), s.Items); err != nil {
				return nil, fmt.Errorf("unable to parse array element: %s", err)
			}
		}
		return nil, nil
	}
	pairs, err := splitPropertyString(value)
	if err != nil {
		return nil, err
	}
	var kvs []keyValue
	for _, p := range pairs {
		switch {
		case p.hasKey:
			kvs = append(kvs, keyValue{p.key, p.value})
		case s.DefaultKey != "":
			kvs = append(kvs, keyValue{s.DefaultKey, p.value})
		default:
			return nil, errors.New("Value without key, but schema does not define a default key.")
		}
	}
	return parseParameterStrings(kvs, s)
}

// --- JSON bodies (verify_json) -------------------------------------------

// verifyJSON is verify_json_object on the parameters of a JSON body.
func verifyJSON(params map[string]any, schema *propSchema) error {
	return verifyJSONObject(params, schema)
}

func verifyJSONObject(obj map[string]any, schema *propSchema) error {
	errs := &paramError{}
	for _, k := range slices.Sorted(maps.Keys(obj)) { // serde_json's map is sorted
		ps := schema.Properties[k]
		if ps == nil {
			if !schema.AdditionalProperties {
				errs.push(k, "schema does not allow additional properties.")
			}
			continue
		}
		if err := verifyJSONValue(obj[k], ps); err != nil {
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

func verifyJSONValue(v any, s *propSchema) error {
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
		return verifyJSONObject(m, s)
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
			if err := verifyJSONValue(item, s.Items); err != nil {
				errs := &paramError{}
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

// normalizeJSON turns the numbers of a verified JSON body into the
// types the form path produces (int64, float64).
func normalizeJSON(params map[string]any) {
	for k, v := range params {
		params[k] = normalizeJSONValue(v)
	}
}

func normalizeJSONValue(v any) any {
	switch x := v.(type) {
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n
		}
		f, _ := x.Float64()
		return f
	case []any:
		for i := range x {
			x[i] = normalizeJSONValue(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = normalizeJSONValue(x[k])
		}
	}
	return v
}
