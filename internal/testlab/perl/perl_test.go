package perl

import (
	"encoding/json"
	"reflect"
	"regexp"
	"testing"
	"time"
)

func TestTruthy(t *testing.T) {
	for _, tc := range []struct {
		in   any
		want bool
	}{
		{nil, false},
		{"", false},
		{"0", false},
		{"1", true},
		{"0.0", true}, // a string "0.0" is true in Perl
		{"00", true},
		{" ", true},
		{"abc", true},
		{0, false},
		{5, true},
		{int64(0), false},
		{uint64(3), true},
		{0.0, false},
		{0.5, true},
		{json.Number("0"), false},
		{json.Number("0.0"), false}, // decoded as the number 0
		{json.Number("1e3"), true},
		// JSON::PP::Boolean: false is false (it numifies to 0)
		{true, true},
		{false, false},
		// references are true, even when empty
		{[]string{}, true},
		{[]any{}, true},
		{map[string]any{}, true},
	} {
		if got := Truthy(tc.in); got != tc.want {
			t.Errorf("Truthy(%#v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestScalarAndString(t *testing.T) {
	for _, tc := range []struct {
		in       any
		scalar   string
		isScalar bool
		str      string
	}{
		{"abc", "abc", true, "abc"},
		{"", "", true, ""},
		{nil, "", false, ""},
		// JSON booleans stringify as JSON::PP::Boolean does: "1" and "0",
		// never "true" and "false"
		{true, "1", true, "1"},
		{false, "0", true, "0"},
		{json.Number("100"), "100", true, "100"},
		{json.Number("1.50"), "1.5", true, "1.5"},
		{json.Number("1e3"), "1000", true, "1000"},
		{1e6, "1000000", true, "1000000"},
		{0.1, "0.1", true, "0.1"},
		{42, "42", true, "42"},
		{int64(-7), "-7", true, "-7"},
		{uint64(7), "7", true, "7"},
		{[]string{"a", "b"}, "", false, "[a b]"},
		{map[string]any{}, "", false, "map[]"},
	} {
		s, ok := Scalar(tc.in)
		if s != tc.scalar || ok != tc.isScalar {
			t.Errorf("Scalar(%#v) = %q, %v, want %q, %v", tc.in, s, ok, tc.scalar, tc.isScalar)
		}
		if got := String(tc.in); got != tc.str {
			t.Errorf("String(%#v) = %q, want %q", tc.in, got, tc.str)
		}
	}
}

func TestNumber(t *testing.T) {
	for in, want := range map[string]string{
		"100": "100", "1.0": "1", "1.50": "1.5", "1e3": "1000", "0.1": "0.1", "1e20": "1e+20", "-2": "-2",
		"12345678901234567890": "1.23456789012346e+19", "1e-5": "1e-05", "0.30000000000000004": "0.3", "abc": "abc",
	} {
		if got := Number(in); got != want {
			t.Errorf("Number(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFormatFloat(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want string
	}{
		{0, "0"}, {1, "1"}, {-2.5, "-2.5"}, {1e15, "1e+15"}, {999999999999999, "999999999999999"},
		{1.0 / 3, "0.333333333333333"}, {1e100, "1e+100"}, {1.5e-7, "1.5e-07"},
	} {
		if got := FormatFloat(tc.in); got != tc.want {
			t.Errorf("FormatFloat(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestDecodedJSON(t *testing.T) {
	in := map[string]any{"a": json.Number("1.50"), "b": []any{json.Number("2"), json.Number("1e3")}, "c": true, "d": "x"}
	want := map[string]any{"a": json.Number("1.5"), "b": []any{json.Number("2"), json.Number("1000")}, "c": true, "d": "x"}
	if got := DecodedJSON(in); !reflect.DeepEqual(got, want) {
		t.Errorf("DecodedJSON = %#v, want %#v", got, want)
	}
}

func TestInt(t *testing.T) {
	for _, tc := range []struct {
		in   any
		want int
	}{
		{nil, 0}, {"", 0}, {"42", 42}, {" 42 ", 42}, {"+5", 5}, {"-3", -3}, {"1500abc", 1500}, {"1.9", 1},
		{"abc", 0}, {"-", 0}, {7, 7}, {true, 1}, {false, 0}, {json.Number("9000"), 9000},
	} {
		if got := Int(tc.in); got != tc.want {
			t.Errorf("Int(%#v) = %d, want %d", tc.in, got, tc.want)
		}
	}
	if got := IntOr(nil, 100); got != 100 {
		t.Errorf("IntOr(nil, 100) = %d", got)
	}
	if got := IntOr("0", 100); got != 0 {
		t.Errorf(`IntOr("0", 100) = %d`, got)
	}
	if got := IntOr("", 100); got != 0 {
		t.Errorf(`IntOr("", 100) = %d`, got)
	}
}

func TestBools(t *testing.T) {
	if BoolInt(true) != 1 || BoolInt(false) != 0 || BoolString(true) != "1" || BoolString(false) != "0" {
		t.Error("BoolInt/BoolString")
	}
}

func TestSplitAndLines(t *testing.T) {
	ws := regexp.MustCompile(`\s+`)
	for _, tc := range []struct {
		re   *regexp.Regexp
		in   string
		want []string
	}{
		{ws, "a b  c", []string{"a", "b", "c"}},
		{ws, " a b ", []string{"", "a", "b"}}, // leading empty field kept
		{ws, "", []string{}},
		{ws, "   ", []string{}},
		{regexp.MustCompile(`,`), "a,,b,,", []string{"a", "", "b"}},
	} {
		got := Split(tc.re, tc.in)
		if len(got) != len(tc.want) || (len(got) > 0 && !reflect.DeepEqual(got, tc.want)) {
			t.Errorf("Split(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"a\nb\n", []string{"a", "b"}},
		{"a\n\nb\n\n\n", []string{"a", "", "b"}},
		{"\na", []string{"", "a"}},
	} {
		got := Lines(tc.in)
		if len(got) != len(tc.want) || (len(got) > 0 && !reflect.DeepEqual(got, tc.want)) {
			t.Errorf("Lines(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestLocaltime(t *testing.T) {
	old := time.Local
	time.Local = time.UTC
	defer func() { time.Local = old }()
	for ts, want := range map[int64]string{
		0:          "Thu Jan  1 00:00:00 1970",
		1631159200: "Thu Sep  9 03:46:40 2021",
		1700000000: "Tue Nov 14 22:13:20 2023",
	} {
		if got := Localtime(ts); got != want {
			t.Errorf("Localtime(%d) = %q, want %q", ts, got, want)
		}
	}
}
