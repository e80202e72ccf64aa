package provider

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// subcategoryRE finds the subcategory of a page's front matter.
var subcategoryRE = regexp.MustCompile(`(?m)^subcategory:\s*"?([^"\n]*)"?\s*$`)

// TestDocsSubcategory: every page of docs/ but the provider's own (the
// registry's navigation groups pages by subcategory; a page without one
// lands under "Other") has a subcategory (templates/*.md.tmpl,
// templates/guides/).
func TestDocsSubcategory(t *testing.T) {
	pages, err := filepath.Glob(filepath.Join("..", "..", "docs", "*", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) == 0 {
		t.Fatal("no pages under docs/")
	}
	for _, p := range pages {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		front, ok := frontMatter(string(data))
		if !ok {
			t.Errorf("%s: no front matter", p)
			continue
		}
		m := subcategoryRE.FindStringSubmatch(front)
		if m == nil || strings.TrimSpace(m[1]) == "" {
			t.Errorf("%s: empty subcategory", filepath.ToSlash(p))
		}
	}
}

// frontMatter returns the YAML between the page's leading "---" lines.
func frontMatter(page string) (string, bool) {
	rest, ok := strings.CutPrefix(page, "---\n")
	if !ok {
		return "", false
	}
	front, _, ok := strings.Cut(rest, "\n---\n")
	return front, ok
}
