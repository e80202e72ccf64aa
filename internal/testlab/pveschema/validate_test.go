package pveschema

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestCheckTypeJSONBooleans checks check_type on the values a JSON body
// decodes to: a JSON boolean (JSON::PP::Boolean) passes type boolean only.
func TestCheckTypeJSONBooleans(t *testing.T) {
	for _, tc := range []struct {
		typ   string
		value any
		want  string
	}{
		{"boolean", true, ""},
		{"boolean", false, ""},
		{"boolean", "1", ""},
		{"boolean", json.Number("0"), ""},
		{"boolean", "true", "type check ('boolean') failed - got 'true'"},
		{"boolean", json.Number("2"), "type check ('boolean') failed - got '2'"},
		{"string", true, "type check ('string') failed - got JSON::PP::Boolean"},
		{"integer", false, "type check ('integer') failed - got JSON::PP::Boolean"},
		{"number", true, "type check ('number') failed - got JSON::PP::Boolean"},
		{"array", true, "type check ('array') failed"},
		{"integer", json.Number("1.0"), ""}, // Perl holds 1.0 as the number 1
		{"integer", "1.5", "type check ('integer') failed - got '1.5'"},
		{"string", []any{"a"}, "type check ('string') failed - got ARRAY"},
	} {
		errs := map[string]string{}
		checkType("p", tc.typ, tc.value, errs)
		if got := errs["p"]; got != tc.want {
			t.Errorf("checkType(%s, %#v) = %q, want %q", tc.typ, tc.value, got, tc.want)
		}
	}
}

func TestValidateParams(t *testing.T) {
	ms := &Method{Params: &Property{Type: "object", Properties: map[string]*Property{
		"node":  {Type: "string", Format: "pve-node"},
		"force": {Type: "boolean", Optional: true},
		"ids":   {Type: "array", Optional: true, Items: &Property{Type: "string"}},
	}, HasProperties: true}}
	params := map[string]any{"node": "pve1", "force": true, "ids": "a\x00b"}
	NormalizeArrays(ms, params)
	if !reflect.DeepEqual(params["ids"], []any{"a", "b"}) {
		t.Errorf("NormalizeArrays: ids = %#v", params["ids"])
	}
	if errs := ValidateParams(ms, params); errs != nil {
		t.Errorf("ValidateParams = %v", errs)
	}
	errs := ValidateParams(ms, map[string]any{"node": "pve_1", "force": "yes"})
	want := map[string]string{
		"node":  "invalid format - value does not look like a valid node name\n",
		"force": "type check ('boolean') failed - got 'yes'",
	}
	if !reflect.DeepEqual(errs, want) {
		t.Errorf("ValidateParams = %q, want %q", errs, want)
	}
}

func TestParseBoolean(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		ok   bool
	}{
		{"1", "1", true}, {"on", "1", true}, {"YES", "1", true}, {"True", "1", true},
		{"0", "0", true}, {"off", "0", true}, {"No", "0", true}, {"false", "0", true},
		{"", "", false}, {"2", "", false}, {"y", "", false},
	} {
		got, ok := ParseBoolean(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseBoolean(%q) = %q, %v, want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
		if IsTrue(tc.in) != (tc.want == "1") {
			t.Errorf("IsTrue(%q) = %v", tc.in, IsTrue(tc.in))
		}
	}
}

func TestSplitList(t *testing.T) {
	for in, want := range map[string][]string{
		"a,b;c d\te": {"a", "b", "c", "d", "e"},
		",,a,,":      {"a"},
		"a\x00b c":   {"a", "b c"},
		"":           nil,
	} {
		if got := SplitList(in); !reflect.DeepEqual(got, want) && (len(got) != 0 || len(want) != 0) {
			t.Errorf("SplitList(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNetmaskBits(t *testing.T) {
	for in, want := range map[string]int{
		"255.255.255.0": 24, "255.255.255.255": 32, "255.0.0.0": 8, "255.255.254.0": 23,
		"0.0.0.0": 0, "255.0.255.0": 0, "24": 0, "": 0,
	} {
		if got := NetmaskBits(in); got != want {
			t.Errorf("NetmaskBits(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestRegisterFormat(t *testing.T) {
	RegisterFormat("lab-test-format", func(v string) string {
		if v == "ok" {
			return ""
		}
		return "bad\n"
	})
	defer delete(namedFormats, "lab-test-format")
	if got := CheckFormat("lab-test-format", "ok"); got != "" {
		t.Errorf("ok: %q", got)
	}
	if got := CheckFormat("lab-test-format-list", "ok,nope"); got != "bad\n" {
		t.Errorf("list: %q", got)
	}
	if got := CheckFormat("lab-test-format-opt", ""); got != "" {
		t.Errorf("opt: %q", got)
	}
}
