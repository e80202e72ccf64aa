package pveschema

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// perlEnd is Perl's "$" without /m: end of string or before a final newline.
const perlEnd = `(?:\n?\z)`

// compilePVEPattern compiles a schema pattern the way PVE applies it:
// PVE::JSONSchema checks `$value =~ m/^$pattern$/`, so the pattern is
// interpolated between the anchors without a group (an alternation binds
// the anchors to its first and last branch only, as in Perl).
func compilePVEPattern(pattern string) (*regexp.Regexp, error) {
	conv, err := convertPerlRegex(pattern)
	if err != nil {
		return nil, err
	}
	return regexp.Compile(`^` + conv + perlEnd)
}

// convertPerlRegex rewrites the Perl regular expression syntax found in PVE
// schemas into Go (RE2) syntax:
//
//   - "(?^:" and "(?^flags:" (Perl's default-flags groups, as printed by
//     qr//) become "(?:" and "(?flags:";
//   - "$" outside a character class becomes "end of string or before a
//     final newline", as in Perl;
//   - "\0" becomes "\x00", "\Z" becomes Perl's end assertion and "\h"
//     becomes "[\t ]";
//   - a repetition bound above RE2's limit of 1000 is dropped ("{0,4096}"
//     becomes "{0,}"), so such patterns check characters but not length.
//
// Constructs RE2 cannot express (look-around, back-references) are left
// as they are, so the result fails to compile and the caller can tell.
func convertPerlRegex(pat string) (string, error) {
	var b strings.Builder
	inClass := false
	for i := 0; i < len(pat); i++ {
		c := pat[i]
		switch {
		case c == '\\':
			if i+1 >= len(pat) {
				return "", fmt.Errorf("trailing backslash in %q", pat)
			}
			next := pat[i+1]
			i++
			switch {
			case next == '0' && (i+1 >= len(pat) || pat[i+1] < '0' || pat[i+1] > '7'):
				b.WriteString(`\x00`)
			case next == 'Z' && !inClass:
				b.WriteString(perlEnd)
			case next == 'h':
				if inClass {
					b.WriteString(`\t `)
				} else {
					b.WriteString(`[\t ]`)
				}
			default:
				b.WriteByte('\\')
				b.WriteByte(next)
			}
		case inClass:
			if c == '[' && i+1 < len(pat) && pat[i+1] == ':' {
				// POSIX class such as [:alpha:] inside a bracket expression
				end := strings.Index(pat[i:], ":]")
				if end > 0 {
					b.WriteString(pat[i : i+end+2])
					i += end + 1
					continue
				}
			}
			if c == ']' {
				inClass = false
			}
			b.WriteByte(c)
		case c == '[':
			inClass = true
			b.WriteByte(c)
			// a ']' right after '[' or '[^' is a literal member
			if i+1 < len(pat) && pat[i+1] == '^' {
				b.WriteByte('^')
				i++
			}
			if i+1 < len(pat) && pat[i+1] == ']' {
				b.WriteString(`\]`)
				i++
			}
		case c == '$':
			b.WriteString(perlEnd)
		case c == '{':
			m := repeatRE.FindStringSubmatch(pat[i:])
			if m == nil {
				b.WriteByte(c)
				continue
			}
			b.WriteString(boundedRepeat(m))
			i += len(m[0]) - 1
		case c == '(' && strings.HasPrefix(pat[i:], "(?^"):
			j := i + 3
			for j < len(pat) && strings.IndexByte("imsxnpadlu", pat[j]) >= 0 {
				j++
			}
			if j >= len(pat) || (pat[j] != ':' && pat[j] != ')') {
				return "", fmt.Errorf("unsupported group at %d in %q", i, pat)
			}
			flags := strings.Map(func(r rune) rune {
				if strings.ContainsRune("ims", r) {
					return r
				}
				return -1
			}, pat[i+3:j])
			if pat[j] == ')' { // "(?^i)": flags for the rest of the group
				if flags != "" {
					b.WriteString("(?" + flags + ")")
				}
				i = j
				continue
			}
			b.WriteString("(?" + flags + ":")
			i = j
		default:
			b.WriteByte(c)
		}
	}
	if inClass {
		return "", fmt.Errorf("unterminated character class in %q", pat)
	}
	return b.String(), nil
}

// repeatRE matches a counted repetition "{n}", "{n,}" or "{n,m}".
var repeatRE = regexp.MustCompile(`^\{(\d+)(,(\d*))?\}`)

// maxRepeat is RE2's largest repetition count.
const maxRepeat = 1000

// boundedRepeat rewrites a counted repetition whose bounds RE2 cannot
// express: an upper bound above the limit becomes unbounded.
func boundedRepeat(m []string) string {
	lo, _ := strconv.Atoi(m[1])
	if lo > maxRepeat {
		return m[0] // left for the compiler to reject
	}
	if m[2] == "" {
		return m[0]
	}
	if hi, err := strconv.Atoi(m[3]); err == nil && hi > maxRepeat {
		return "{" + m[1] + ",}"
	}
	return m[0]
}
