package sim

import (
	"fmt"
	"strings"
	"testing"
)

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{"abc": "abc", "a b": "'a b'", "it's": `'it'\''s'`, "root@pam!lab=x": "'root@pam!lab=x'", "": "''"} {
		if got := ShellQuote(in); got != want {
			t.Errorf("ShellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

// The request log keeps the order the requests came in, the latest
// RequestLogSize at most, and Reset empties it.
func TestRequestStatsLog(t *testing.T) {
	var s RequestStats
	for _, k := range []string{"GET /a", "PUT /b", "GET /a"} {
		s.Inc(k)
	}
	if got := strings.Join(s.Log(), ","); got != "GET /a,PUT /b,GET /a" {
		t.Fatalf("log %q", got)
	}
	for i := range RequestLogSize + 10 {
		s.Inc(fmt.Sprint("GET /", i))
	}
	log := s.Log()
	if len(log) > RequestLogSize || log[len(log)-1] != fmt.Sprint("GET /", RequestLogSize+9) {
		t.Fatalf("%d entries, last %q", len(log), log[len(log)-1])
	}
	s.Reset()
	if len(s.Log()) != 0 {
		t.Fatal("log not empty after Reset")
	}
}
