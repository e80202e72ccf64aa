package privileges

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Schema is an official API schema (the apidoc tree of PVE's api-viewer or
// of PBS, as in ../shared/api-schemas and the lab's labdata), indexed by
// route.
type Schema struct {
	methods map[string]map[string]any // Route.Key() -> the method's object
}

// ParseSchema reads an apidoc tree.
func ParseSchema(data []byte) (*Schema, error) {
	var tree []any
	if err := json.Unmarshal(data, &tree); err != nil {
		return nil, fmt.Errorf("privileges: parse schema: %w", err)
	}
	s := &Schema{methods: map[string]map[string]any{}}
	var walk func(nodes []any)
	walk = func(nodes []any) {
		for _, raw := range nodes {
			n, _ := raw.(map[string]any)
			path, _ := n["path"].(string)
			info, _ := n["info"].(map[string]any)
			for method, m := range info {
				if mm, ok := m.(map[string]any); ok {
					s.methods[method+" "+path] = mm
				}
			}
			children, _ := n["children"].([]any)
			walk(children)
		}
	}
	walk(tree)
	return s, nil
}

// Has reports whether the schema has the route.
func (s *Schema) Has(r Route) bool { _, ok := s.methods[r.Key()]; return ok }

// Permission is what the schema says a route checks.
type Permission struct {
	Text  string   // the check in words, e.g. "VM.Audit on /vms/{vmid}"
	Privs []string // every privilege the check names
	// Named are the privileges the schema's text names besides (checks
	// made in the code, often depending on the parameters sent).
	Named []string
}

// pbsConst matches PBS's datastore privilege constants in its texts.
var pbsConst = regexp.MustCompile(`\bDATASTORE_(AUDIT|MODIFY|BACKUP|READ|PRUNE|VERIFY|ALLOCATE)\b`)

// privName matches a privilege's name in the schema's text.
var privName = regexp.MustCompile(`\b(?:VM|Datastore|Sys|SDN|Pool|Mapping|Permissions|Group|User|Realm)(?:\.[A-Z][A-Za-z]*)+`)

// Permission returns the route's permission in words and the privileges it
// names. ok is false when the schema lacks the route.
func (s *Schema) Permission(r Route) (p Permission, ok bool) {
	m, ok := s.methods[r.Key()]
	if !ok {
		return Permission{}, false
	}
	perms, _ := m["permissions"].(map[string]any)
	privs := map[string]bool{}
	var parts []string
	if c, ok := perms["check"]; ok {
		parts = append(parts, describe(c, privs))
	}
	for _, k := range []string{"and", "or"} { // PBS writes these at the top
		if c, ok := perms[k]; ok {
			parts = append(parts, describe(map[string]any{k: c}, privs))
		}
	}
	if d, ok := perms["description"].(string); ok && d != "" {
		parts = append(parts, strings.TrimSpace(d))
		named := map[string]bool{}
		for _, n := range privName.FindAllString(d, -1) {
			if !privs[n] {
				named[n] = true
			}
		}
		// PBS's texts name some by their constants (DATASTORE_MODIFY)
		for _, m := range pbsConst.FindAllStringSubmatch(d, -1) {
			n := "Datastore." + m[1][:1] + strings.ToLower(m[1][1:])
			if !privs[n] {
				named[n] = true
			}
		}
		for n := range named {
			p.Named = append(p.Named, n)
		}
		sort.Strings(p.Named)
	}
	if len(parts) == 0 {
		switch perms["user"] {
		case "world":
			parts = append(parts, "none (open to anyone)")
		case "all":
			parts = append(parts, "any authenticated user")
		default:
			parts = append(parts, "root@pam only (the schema lists no permission)")
		}
	}
	p.Text = strings.Join(parts, "; ")
	for k := range privs {
		p.Privs = append(p.Privs, k)
	}
	sort.Strings(p.Privs)
	return p, true
}

// describe renders a check: PVE's arrays (["perm", path, [privs], "any",
// 1], ["and", ...], ["or", ...], ["userid-group", ...]) and PBS's objects
// ({"check": {"path": [...], "privs": [...]}}, {"and": [...]}, {"or": [...]},
// {"userParam": ...}).
func describe(c any, privs map[string]bool) string {
	switch c := c.(type) {
	case []any:
		if len(c) == 0 {
			return ""
		}
		op, _ := c[0].(string)
		switch op {
		case "perm":
			path, _ := c[1].(string)
			names := strs(c[2])
			for _, n := range names {
				privs[n] = true
			}
			join := " and "
			for i := 3; i+1 < len(c); i += 2 {
				if k, _ := c[i].(string); k == "any" && truthy(c[i+1]) {
					join = " or "
				}
			}
			return privList(names, join) + " on `" + path + "`"
		case "and", "or":
			var sub []string
			for _, x := range c[1:] {
				sub = append(sub, describe(x, privs))
			}
			return "(" + strings.Join(sub, " "+op+" ") + ")"
		case "userid-group":
			names := strs(c[1])
			for _, n := range names {
				privs[n] = true
			}
			return privList(names, " or ") + " on the user's groups"
		case "perm-modify":
			path, _ := c[1].(string)
			return "Permissions.Modify (or the privilege being granted) on `" + path + "`"
		default:
			b, _ := json.Marshal(c)
			return "`" + string(b) + "`"
		}
	case map[string]any:
		if _, ok := c["privs"]; ok { // PBS: the check itself
			c = map[string]any{"check": c}
		}
		if chk, ok := c["check"].(map[string]any); ok {
			names := strs(chk["privs"])
			for _, n := range names {
				privs[n] = true
			}
			path := "/" + strings.Join(strs(chk["path"]), "/")
			s := privList(names, " and ") + " on `" + path + "`"
			if p, _ := chk["partial"].(bool); p {
				s += " (or below)"
			}
			return s
		}
		for _, op := range []string{"and", "or"} {
			if list, ok := c[op].([]any); ok {
				var sub []string
				for _, x := range list {
					sub = append(sub, describe(x, privs))
				}
				return "(" + strings.Join(sub, " "+op+" ") + ")"
			}
		}
		if u, ok := c["userParam"].(string); ok {
			return "the user named by `" + u + "`"
		}
		b, _ := json.Marshal(c)
		return "`" + string(b) + "`"
	}
	return fmt.Sprint(c)
}

func privList(names []string, join string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = "`" + n + "`"
	}
	return strings.Join(q, join)
}

func strs(v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func truthy(v any) bool {
	switch v := v.(type) {
	case float64:
		return v != 0
	case bool:
		return v
	case string:
		return v != "" && v != "0"
	}
	return false
}
