package pveschema

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/perl"
)

// This file ports the checks of PVE::JSONSchema (check_prop, check_object,
// check_type) that PVE::RESTHandler::handle runs on every call. The error
// messages are PVE's, including the trailing newline of messages that come
// from format checks.

// ValidateParams checks the parameters of a call against the method's
// schema and returns PVE's per-parameter errors (nil when valid).
func ValidateParams(ms *Method, params map[string]any) map[string]string {
	if ms == nil || ms.Params == nil {
		return nil
	}
	errs := map[string]string{}
	checkProp(params, ms.Params, "", errs, "")
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// NormalizeArrays turns form-encoded values of array parameters into lists:
// repeated form keys arrive NUL-joined, as pveproxy passes them on.
func NormalizeArrays(ms *Method, params map[string]any) {
	if ms == nil || ms.Params == nil {
		return
	}
	for k, v := range params {
		s, ok := v.(string)
		if !ok {
			continue
		}
		if p := ms.Params.lookupProperty(k); p != nil && p.Type == "array" {
			var list []any
			for _, e := range strings.Split(s, "\x00") {
				list = append(list, e)
			}
			params[k] = list
		}
	}
}

// addError records msg for path, joining several messages like add_error.
func addError(errs map[string]string, path, msg string) {
	if path == "" {
		path = "_root"
	}
	if old, ok := errs[path]; ok {
		errs[path] = old + `\n` + msg
		return
	}
	errs[path] = msg
}

// checkProp validates one value against a schema (check_prop).
func checkProp(value any, s *Property, path string, errs map[string]string, instanceType string) {
	optionalForType := false
	if len(s.OneOf) > 0 {
		if s.TypeProperty != "" {
			optionalForType = true
			for _, alt := range s.OneOf {
				if instanceType == "" {
					break // treated as optional without a type
				}
				if alt.InstanceTypes == nil {
					addError(errs, path, "missing 'instance-types' in oneOf alternative")
					return
				}
				if !slices.Contains(alt.InstanceTypes, instanceType) {
					continue
				}
				optionalForType = alt.Optional
				checkProp(value, alt, path, errs, "")
			}
		} else {
			valid := false
			for i, alt := range s.OneOf {
				inner := map[string]string{}
				checkProp(value, alt, fmt.Sprintf("%s.oneOf[%d]", path, i), inner, "")
				if len(inner) == 0 {
					valid = true
					break
				}
			}
			if !valid {
				addError(errs, path, "value does not match any of the alternatives")
			}
		}
	}

	if value == nil {
		if s.Type == "null" {
			return
		}
		if !s.Optional && s.Alias == "" && !optionalForType {
			addError(errs, path, "property is missing and it is not optional")
		}
		return
	}

	if !checkType(path, s.Type, value, errs) {
		return
	}

	switch v := value.(type) {
	case []any:
		if s.Items != nil {
			for i, el := range v {
				checkProp(el, s.Items, fmt.Sprintf("%s[%d]", path, i), errs, "")
			}
		}
		return
	case map[string]any:
		if s.HasProperties || (s.AdditionalProperties != nil && *s.AdditionalProperties) {
			CheckObject(path, s.Properties, s.families, s.AdditionalProperties != nil && !*s.AdditionalProperties, v, errs)
		}
		return
	case bool:
		return // a JSON boolean is a reference in Perl: no scalar checks
	}

	str, _ := perl.Scalar(value)
	if s.Format != "" || s.FormatProps != nil {
		if msg := checkFormat(s, str, path); msg != "" {
			addError(errs, path, "invalid format - "+msg)
			return
		}
	}
	if s.Pattern != nil && !s.Pattern.MatchString(str) {
		addError(errs, path, "value does not match the regex pattern")
		return
	}
	length := utf8.RuneCountInString(str)
	if s.MaxLength != nil && length > *s.MaxLength {
		addError(errs, path, fmt.Sprintf("value may only be %d characters long", *s.MaxLength))
		return
	}
	if s.MinLength != nil && length < *s.MinLength {
		addError(errs, path, fmt.Sprintf("value must be at least %d characters long", *s.MinLength))
		return
	}
	if isNumber(str) {
		n, _ := strconv.ParseFloat(strings.TrimSuffix(str, "."), 64)
		if s.Maximum != nil && n > *s.Maximum {
			addError(errs, path, "value must have a maximum value of "+perl.FormatFloat(*s.Maximum))
			return
		}
		if s.Minimum != nil && n < *s.Minimum {
			addError(errs, path, "value must have a minimum value of "+perl.FormatFloat(*s.Minimum))
			return
		}
	}
	if len(s.Enum) > 0 && !slices.Contains(s.Enum, str) {
		addError(errs, path, fmt.Sprintf("value '%s' does not have a value in the enumeration '%s'", str, strings.Join(s.Enum, ", ")))
	}
}

// checkFormat applies a named or inline format and returns the message of
// the failure ("" when the value is fine).
func checkFormat(s *Property, value, path string) string {
	if s.FormatProps != nil {
		if _, err := ParsePropertyString(s.FormatProps, value, path); err != nil {
			var pe *propertyStringError
			if errors.As(err, &pe) {
				return pe.Error()
			}
			return err.Error() + "\n"
		}
		return ""
	}
	return CheckFormat(s.Format, value)
}

// CheckObject validates an object value (check_object). rejectUnknown is
// true when the schema sets additionalProperties to false.
func CheckObject(path string, props map[string]*Property, families map[string]indexedFamily, rejectUnknown bool, value map[string]any, errs map[string]string) {
	join := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	holder := &Property{Properties: props, families: families}
	for _, k := range slices.Sorted(maps.Keys(props)) {
		if familyName.MatchString(k) {
			continue // net[n] stands for net0..netN, all optional
		}
		s := props[k]
		checkProp(value[k], s, join(k), errs, instanceType(props, k, value))
	}
	for _, k := range slices.Sorted(maps.Keys(value)) {
		s := holder.lookupProperty(k)
		if s != nil {
			if _, direct := props[k]; !direct && value[k] != nil {
				checkProp(value[k], s, join(k), errs, "") // an indexed family member
			}
			if s.Requires != "" && value[s.Requires] == nil {
				addError(errs, join(s.Requires), fmt.Sprintf("missing property - '%s' requires this property", join(k)))
			}
			if len(s.OneOf) == 0 || oneOfMatches(s, instanceType(props, k, value)) {
				continue
			}
		}
		if rejectUnknown {
			addError(errs, join(k), "property is not defined in schema and the schema does not allow additional properties")
		}
	}
}

// instanceType returns the value of the type property a oneOf schema
// depends on (e.g. "protocol" for SDN fabrics).
func instanceType(props map[string]*Property, key string, value map[string]any) string {
	s := props[key]
	if s == nil || s.TypeProperty == "" {
		return ""
	}
	v, _ := perl.Scalar(value[s.TypeProperty])
	return v
}

func oneOfMatches(s *Property, typ string) bool {
	for _, alt := range s.OneOf {
		if alt.InstanceTypes != nil && !slices.Contains(alt.InstanceTypes, typ) {
			continue
		}
		return true
	}
	return false
}

var (
	integerRE = regexp.MustCompile(`^[+-]?\d+$`)
	numberRE  = regexp.MustCompile(`^[+-]?(\d+\.\d+|\d+\.|\.\d+|\d+)([eE][+-]?\d+)?$`)
)

func isNumber(s string) bool { return numberRE.MatchString(s) }

// checkType is PVE's check_type for the types the API uses.
func checkType(path, typ string, value any, errs map[string]string) bool {
	if typ == "" || typ == "any" {
		return true
	}
	fail := func(got string) bool {
		addError(errs, path, fmt.Sprintf("type check ('%s') failed%s", typ, got))
		return false
	}
	switch v := value.(type) {
	case []any:
		if typ == "array" {
			return true
		}
		return fail(" - got ARRAY")
	case map[string]any:
		if typ == "object" {
			return true
		}
		return fail(" - got HASH")
	case bool:
		if typ == "boolean" {
			return true
		}
		if typ == "array" || typ == "object" {
			return fail("")
		}
		return fail(" - got JSON::PP::Boolean")
	case json.Number, string:
		if typ == "array" || typ == "object" {
			return fail("")
		}
		str, _ := perl.Scalar(v)
		switch typ {
		case "boolean":
			if str != "1" && str != "0" {
				return fail(" - got '" + str + "'")
			}
		case "integer":
			if !integerRE.MatchString(str) {
				return fail(" - got '" + str + "'")
			}
		case "number":
			if !isNumber(str) {
				return fail(" - got '" + str + "'")
			}
		case "null":
			return fail(" - value is not null")
		}
	}
	return true
}
