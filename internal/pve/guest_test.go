package pve

import (
	"reflect"
	"testing"
)

func TestSizeGiB(t *testing.T) {
	for in, want := range map[string]int64{"32G": 32, "512M": 1, "1T": 1024, "4M": 1, "1.5G": 2, "34359738368": 32} {
		if got, err := SizeGiB(in); err != nil || got != want {
			t.Errorf("SizeGiB(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "G", "-1G", "lots"} {
		if _, err := SizeGiB(bad); err == nil {
			t.Errorf("SizeGiB(%q): want an error", bad)
		}
	}
}

func TestSplitTags(t *testing.T) {
	for in, want := range map[string][]string{"b;a": {"a", "b"}, "a,b c": {"a", "b", "c"}, "": {}} {
		if got := SplitTags(in); !reflect.DeepEqual(got, want) {
			t.Errorf("SplitTags(%q) = %v, want %v", in, got, want)
		}
	}
}
