// Package perl holds the Perl value semantics the code of PVE relies on,
// once: what is true, how a scalar prints, a string's numeric value, split,
// localtime. The simulated servers decode parameters and files into Go
// values (string, json.Number, bool, float64, int, nil, slices and maps);
// these functions treat them the way the Perl code treats the values it
// would have in their place.
//
// JSON booleans: pveproxy decodes a JSON request body with decode_json of
// the JSON module (pve-http-server, PVE::APIServer::AnyEvent::extract_params).
// Its booleans are JSON::PP::Boolean objects (Types::Serialiser booleans
// with JSON::XS, the same class), which overload only numification ("0+"
// gives 1 or 0) with fallback => 1: so "$true" is "1", "$false" is "0", and
// false is false in boolean context. PVE::JSONSchema::check_type accepts
// them (JSON::is_bool) for type boolean only and reports "type check
// ('string') failed - got JSON::PP::Boolean" for any other type. A decoded
// bool therefore stringifies as "1" or "0" here, never "true" or "false".
package perl

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Truthy is Perl's truth of a scalar: undef, "", "0", the number 0 and a
// JSON false are false; any other string or number, a JSON true and
// references (slices, maps) are true. Note that the string "0.0" is true
// while a decoded JSON number 0.0 (which Perl holds as the number 0) is
// false.
func Truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	}
	s, ok := Scalar(v)
	if !ok {
		return true // references (lists, hashes)
	}
	return s != "" && s != "0"
}

// Scalar renders a scalar value the way Perl stringifies it: numbers in
// Perl's form (see Number and FormatFloat), JSON booleans as "1" or "0"
// (JSON::PP::Boolean, see the package comment). It reports false for undef
// (nil), arrays, objects and other references.
func Scalar(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return Number(string(x)), true
	case bool:
		return BoolString(x), true
	case float64:
		return FormatFloat(x), true
	case int:
		return strconv.Itoa(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case uint64:
		return strconv.FormatUint(x, 10), true
	}
	return "", false
}

// String is "$v" in Perl: like Scalar, with undef as "". References,
// which Perl prints as ARRAY(0x...) and no PVE code prints on purpose, are
// printed as Go prints them.
func String(v any) string {
	if v == nil {
		return ""
	}
	if s, ok := Scalar(v); ok {
		return s
	}
	return fmt.Sprint(v)
}

// Number normalises a JSON number literal the way Perl's JSON decoder
// and stringification do: integers stay as written, other numbers become
// doubles printed with %.15g.
func Number(lit string) string {
	if _, err := strconv.ParseInt(lit, 10, 64); err == nil {
		return lit
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil {
		return lit
	}
	return FormatFloat(f)
}

// FormatFloat prints f like Perl's default number stringification.
func FormatFloat(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	s := strconv.FormatFloat(f, 'g', 15, 64)
	if strings.ContainsAny(s, "e") {
		mant, exp, _ := strings.Cut(s, "e")
		if strings.Contains(mant, ".") {
			mant = strings.TrimRight(strings.TrimRight(mant, "0"), ".")
		}
		sign := exp[0]
		digits := strings.TrimLeft(exp[1:], "0")
		if len(digits) < 2 {
			digits = strings.Repeat("0", 2-len(digits)) + digits
		}
		return mant + "e" + string(sign) + digits
	}
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// DecodedJSON turns the numbers of a value decoded with UseNumber into
// what Perl's JSON decoder makes of them and its encoder writes back:
// integers as they are, other numbers as doubles with 15 digits. Maps and
// slices are changed in place; the value is returned for convenience.
func DecodedJSON(v any) any {
	switch x := v.(type) {
	case json.Number:
		return json.Number(Number(string(x)))
	case map[string]any:
		for k, e := range x {
			x[k] = DecodedJSON(e)
		}
	case []any:
		for i, e := range x {
			x[i] = DecodedJSON(e)
		}
	}
	return v
}

// Int is the integer part of a value's numeric value in Perl (int($v)
// where $v is a decimal integer): the leading integer of its string, or 0
// when it has none.
func Int(v any) int {
	s := strings.TrimSpace(String(v))
	end := 0
	for end < len(s) && (s[end] >= '0' && s[end] <= '9' || end == 0 && (s[end] == '-' || s[end] == '+')) {
		end++
	}
	n, _ := strconv.Atoi(s[:end])
	return n
}

// IntOr is int($v // $def): Int of v, or def when v is undef (nil).
func IntOr(v any, def int) int {
	if v == nil {
		return def
	}
	return Int(v)
}

// BoolInt is $b ? 1 : 0 as a number.
func BoolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// BoolString is $b ? 1 : 0 as a string ("1" or "0").
func BoolString(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// Split is Perl's split(/re/, s): a leading empty field is kept,
// trailing empty fields are dropped.
func Split(re *regexp.Regexp, s string) []string {
	return dropTrailingEmpty(re.Split(s, -1))
}

// Lines splits text into lines like Perl's split(/\n/, ...): trailing
// empty fields are dropped.
func Lines(s string) []string {
	return dropTrailingEmpty(strings.Split(s, "\n"))
}

func dropTrailingEmpty(fields []string) []string {
	for len(fields) > 0 && fields[len(fields)-1] == "" {
		fields = fields[:len(fields)-1]
	}
	return fields
}

// Localtime is Perl's scalar localtime(ts), e.g. "Thu Sep  9 03:46:40 2021".
func Localtime(ts int64) string {
	return time.Unix(ts, 0).Format("Mon Jan _2 15:04:05 2006")
}
