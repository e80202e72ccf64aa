package ifupdown

import (
	"fmt"
	"strings"
	"time"
)

// diffContext is the number of context lines of `diff -u`.
const diffContext = 3

// File is one side of a diff: its name, modification time and text.
type File struct {
	Name  string
	Mtime time.Time
	Text  string
}

// UnifiedDiff returns what `diff -b -N -u old new` (GNU diffutils) prints,
// which PVE::INotify::ccache_compute_diff reports as the pending network
// changes; "" when the files do not differ. It finds a longest common
// subsequence, then slides each run of changes like diff's
// shift_boundaries, so that the hunks match GNU diff's for the files the
// lab writes.
func UnifiedDiff(old, new File) string {
	a, b := diffLines(old.Text), diffLines(new.Text)
	changed := diffChanges(a, b)
	hunks := diffHunks(a, b, changed)
	if len(hunks) == 0 {
		return ""
	}
	var out strings.Builder
	const stamp = "2006-01-02 15:04:05.000000000 -0700"
	fmt.Fprintf(&out, "--- %s\t%s\n+++ %s\t%s\n", old.Name, old.Mtime.Format(stamp), new.Name, new.Mtime.Format(stamp))
	for _, h := range hunks {
		out.WriteString(h)
	}
	return out.String()
}

// diffLines splits a text into lines (without their newlines).
func diffLines(text string) []string {
	if text == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(text, "\n"), "\n")
}

// diffKey is the line as -b compares it: white space runs count as one
// space, white space at the end of the line does not count.
func diffKey(line string) string {
	return strings.TrimRight(whitespaceRE.ReplaceAllString(line, " "), " ")
}

// diffChanges marks the changed lines of a and b. The result has one
// slice per file with a false sentinel before and after the lines:
// changed[f][k+1] is line k of file f.
func diffChanges(a, b []string) [2][]bool {
	classes := map[string]int{}
	equivs := [2][]int{}
	for f, lines := range [2][]string{a, b} {
		for _, l := range lines {
			k := diffKey(l)
			if _, ok := classes[k]; !ok {
				classes[k] = len(classes)
			}
			equivs[f] = append(equivs[f], classes[k])
		}
	}
	n, m := len(a), len(b)
	// lcs[i][j] is the length of a longest common subsequence of a[i:] and b[j:]
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if equivs[0][i] == equivs[1][j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	changed := [2][]bool{make([]bool, n+2), make([]bool, m+2)}
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && equivs[0][i] == equivs[1][j]:
			i, j = i+1, j+1
		case j < m && (i == n || lcs[i][j+1] >= lcs[i+1][j]):
			changed[1][j+1] = true
			j++
		default:
			changed[0][i+1] = true
			i++
		}
	}
	shiftBoundaries(changed, equivs)
	return changed
}

// shiftBoundaries is GNU diff's shift_boundaries: it moves each run of
// changed lines down as far as equal lines allow, merging runs on the way,
// then back up to line up with a run of changes in the other file.
func shiftBoundaries(changed [2][]bool, equivs [2][]int) {
	for f := range 2 {
		ch, other, eq := changed[f], changed[1-f], equivs[f]
		c := func(k int) bool { return ch[k+1] }
		set := func(k int, v bool) { ch[k+1] = v }
		oc := func(k int) bool { return other[k+1] }
		iEnd := len(eq)
		i, j := 0, 0
		for {
			for i < iEnd && !c(i) {
				for oc(j) {
					j++
				}
				j++
				i++
			}
			if i == iEnd {
				break
			}
			start := i
			for i++; c(i); i++ {
			}
			for oc(j) {
				j++
			}
			var corresponding int
			for {
				runLength := i - start
				for start > 0 && eq[start-1] == eq[i-1] {
					start--
					set(start, true)
					i--
					set(i, false)
					for c(start - 1) {
						start--
					}
					for j--; oc(j); j-- {
					}
				}
				corresponding = iEnd
				if oc(j - 1) {
					corresponding = i
				}
				for i != iEnd && eq[start] == eq[i] {
					set(start, false)
					start++
					set(i, true)
					i++
					for c(i) {
						i++
					}
					for j++; oc(j); j++ {
						corresponding = i
					}
				}
				if runLength == i-start {
					break
				}
			}
			for corresponding < i {
				start--
				set(start, true)
				i--
				set(i, false)
				for j--; oc(j); j-- {
				}
			}
		}
	}
}

// diffChange is a run of deleted lines a[a0:a1] replaced by b[b0:b1].
type diffChange struct{ a0, a1, b0, b1 int }

// diffHunks renders the changes as unified diff hunks.
func diffHunks(a, b []string, changed [2][]bool) []string {
	var changes []diffChange
	for i, j := 0, 0; i < len(a) || j < len(b); {
		if i < len(a) && j < len(b) && !changed[0][i+1] && !changed[1][j+1] {
			i, j = i+1, j+1
			continue
		}
		c := diffChange{a0: i, b0: j}
		for i < len(a) && changed[0][i+1] {
			i++
		}
		for j < len(b) && changed[1][j+1] {
			j++
		}
		c.a1, c.b1 = i, j
		changes = append(changes, c)
	}

	var hunks []string
	for len(changes) > 0 {
		n := 1
		for n < len(changes) && changes[n].a0-changes[n-1].a1 <= 2*diffContext {
			n++
		}
		group := changes[:n]
		changes = changes[n:]
		first, last := group[0], group[n-1]
		aStart := max(first.a0-diffContext, 0)
		aEnd := min(last.a1+diffContext, len(a))
		bStart := first.b0 - (first.a0 - aStart)
		bEnd := last.b1 + (aEnd - last.a1)

		var h strings.Builder
		fmt.Fprintf(&h, "@@ -%s +%s @@\n", diffRange(aStart, aEnd), diffRange(bStart, bEnd))
		at := aStart
		for _, c := range group {
			for ; at < c.a0; at++ {
				h.WriteString(" " + a[at] + "\n")
			}
			for _, l := range a[c.a0:c.a1] {
				h.WriteString("-" + l + "\n")
			}
			for _, l := range b[c.b0:c.b1] {
				h.WriteString("+" + l + "\n")
			}
			at = c.a1
		}
		for ; at < aEnd; at++ {
			h.WriteString(" " + a[at] + "\n")
		}
		hunks = append(hunks, h.String())
	}
	return hunks
}

// diffRange is a hunk range [start, end) (0-based) as GNU diff prints it:
// "first,count", "first" for one line, "before,0" for none.
func diffRange(start, end int) string {
	switch end - start {
	case 0:
		return fmt.Sprintf("%d,0", start)
	case 1:
		return fmt.Sprint(start + 1)
	}
	return fmt.Sprintf("%d,%d", start+1, end-start)
}
