package ifupdown

import (
	"strings"
	"testing"
	"time"
)

// The expected hunks are what GNU diffutils 3.8 prints for the same files.
func TestUnifiedDiff(t *testing.T) {
	lines := func(ls ...string) string {
		if len(ls) == 0 {
			return ""
		}
		return strings.Join(ls, "\n") + "\n"
	}
	for _, tc := range []struct {
		name, old, new, hunks string
	}{
		{"equal", lines("a", "b"), lines("a", "b"), ""},
		{"white space only (-b)", lines("a", "b  c"), lines("a", "b c  "), ""},
		{
			"two hunks",
			lines("a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m"),
			lines("a", "B", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l  ", "m", "n"),
			"@@ -1,5 +1,5 @@\n a\n-b\n+B\n c\n d\n e\n@@ -11,3 +11,4 @@\n k\n l\n m\n+n\n",
		},
		{
			"insertion slides below equal lines",
			lines("", "x", "", "y", ""),
			lines("", "x", "", "new", "", "y", ""),
			"@@ -1,5 +1,7 @@\n \n x\n \n+new\n+\n y\n \n",
		},
		{"everything deleted", lines("a", "b"), "", "@@ -1,2 +0,0 @@\n-a\n-b\n"},
		{
			"one hunk for close changes",
			lines("p", "q", "r", "s", "t", "u", "v", "w"),
			lines("p", "r", "s", "t", "u", "v", "x"),
			"@@ -1,8 +1,7 @@\n p\n-q\n r\n s\n t\n u\n v\n-w\n+x\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			at := time.Date(2025, 11, 20, 10, 11, 12, 123456789, time.UTC)
			got := UnifiedDiff(File{"old", at, tc.old}, File{"new", at.Add(time.Second), tc.new})
			want := ""
			if tc.hunks != "" {
				want = "--- old\t2025-11-20 10:11:12.123456789 +0000\n+++ new\t2025-11-20 10:11:13.123456789 +0000\n" + tc.hunks
			}
			if got != want {
				t.Errorf("diff:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}
