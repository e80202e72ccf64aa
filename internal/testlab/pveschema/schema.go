// Package pveschema is a port of PVE::JSONSchema (pve-common), without
// state: parsing the API schema dump (the api-viewer's apidata), the
// parameter checks PVE::RESTHandler runs on every call (check_prop,
// check_object, check_type), the named formats and property strings, and
// the translation of the schema's Perl regular expressions to Go.
package pveschema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/perl"
)

// Schema is the parsed PVE API schema (the api-viewer's apidata): every
// path and method with its parameter schema.
type Schema struct {
	Methods []*Method
	Dirs    []string // every path of the tree, in schema order
	// BadPatterns lists patterns that could not be translated to Go regular
	// expressions; values checked against them are accepted.
	BadPatterns []string
}

// Method describes one API method: its path and HTTP method, its
// parameters and the flags of PVE::RESTHandler the server acts on.
type Method struct {
	Path       string // template, e.g. "/nodes/{node}/status"
	Method     string
	Name       string
	Params     *Property // the "parameters" object schema
	Protected  bool
	Proxyto    string
	AllowToken bool
}

// Property is one JSON schema in PVE's dialect (PVE::JSONSchema).
type Property struct {
	Type          string
	Optional      bool
	Description   string
	Enum          []string
	Minimum       *float64
	Maximum       *float64
	MinLength     *int
	MaxLength     *int
	Pattern       *regexp.Regexp
	Format        string               // a named format, e.g. "pve-node" or "pve-configid-list"
	FormatProps   map[string]*Property // an inline property-string format
	Items         *Property
	Requires      string
	OneOf         []*Property
	TypeProperty  string
	InstanceTypes []string
	Alias         string
	KeyAlias      string
	DefaultKey    bool
	Properties    map[string]*Property
	HasProperties bool
	// AdditionalProperties is nil when the schema leaves it undefined.
	AdditionalProperties *bool
	// families maps the base of indexed properties ("net" for "net[n]").
	families map[string]indexedFamily
}

// indexedFamily is a property family such as net[n]: net0 .. net{max}.
type indexedFamily struct {
	schema *Property
	max    int
}

var cache sync.Map // key -> *Schema

// LoadFile loads and parses a schema file, caching it by path.
func LoadFile(path string) (*Schema, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	return Load(abs, func() ([]byte, error) { return os.ReadFile(abs) })
}

// Load parses the schema that read returns, caching it by key (a path, or
// another name of where the schema comes from, also used in errors).
func Load(key string, read func() ([]byte, error)) (*Schema, error) {
	if s, ok := cache.Load(key); ok {
		return s.(*Schema), nil
	}
	data, err := read()
	if err != nil {
		return nil, err
	}
	s, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	cache.Store(key, s)
	return s, nil
}

// Parse parses the apidata JSON (a list of tree nodes).
func Parse(data []byte) (*Schema, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var tree []any
	if err := dec.Decode(&tree); err != nil {
		return nil, err
	}
	s := &Schema{}
	if err := s.walk(tree); err != nil {
		return nil, err
	}
	if len(s.Methods) == 0 {
		return nil, fmt.Errorf("no API methods found")
	}
	return s, nil
}

func (s *Schema) walk(nodes []any) error {
	for _, raw := range nodes {
		n, ok := raw.(map[string]any)
		if !ok {
			return fmt.Errorf("tree node is %T, not an object", raw)
		}
		path, _ := n["path"].(string)
		if path == "" {
			return fmt.Errorf("tree node without path")
		}
		s.Dirs = append(s.Dirs, path)
		info, _ := n["info"].(map[string]any)
		for method, rawMethod := range info {
			m, ok := rawMethod.(map[string]any)
			if !ok {
				return fmt.Errorf("%s %s: method is %T", method, path, rawMethod)
			}
			ms, err := s.parseMethod(path, method, m)
			if err != nil {
				return fmt.Errorf("%s %s: %w", method, path, err)
			}
			s.Methods = append(s.Methods, ms)
		}
		if children, ok := n["children"].([]any); ok {
			if err := s.walk(children); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Schema) parseMethod(path, method string, m map[string]any) (*Method, error) {
	ms := &Method{
		Path:       path,
		Method:     method,
		AllowToken: true, // RESTHandler's default when the method does not say
	}
	ms.Name, _ = m["name"].(string)
	ms.Proxyto, _ = m["proxyto"].(string)
	ms.Protected = perl.Truthy(m["protected"])
	if v, ok := m["allowtoken"]; ok {
		ms.AllowToken = perl.Truthy(v)
	}
	if params, ok := m["parameters"].(map[string]any); ok {
		p, err := s.parseProp(params)
		if err != nil {
			return nil, fmt.Errorf("parameters: %w", err)
		}
		ms.Params = p
	}
	return ms, nil
}

// parseProp converts one schema object.
func (s *Schema) parseProp(m map[string]any) (*Property, error) {
	p := &Property{}
	p.Type, _ = m["type"].(string)
	p.Optional = perl.Truthy(m["optional"])
	p.Description, _ = m["description"].(string)
	p.Requires, _ = m["requires"].(string)
	p.TypeProperty, _ = m["type-property"].(string)
	p.Alias, _ = m["alias"].(string)
	p.KeyAlias, _ = m["keyAlias"].(string)
	p.DefaultKey = perl.Truthy(m["default_key"])
	if enum, ok := m["enum"].([]any); ok {
		for _, e := range enum {
			v, _ := perl.Scalar(e)
			p.Enum = append(p.Enum, v)
		}
	}
	if it, ok := m["instance-types"].([]any); ok {
		for _, e := range it {
			v, _ := perl.Scalar(e)
			p.InstanceTypes = append(p.InstanceTypes, v)
		}
	}
	var err error
	if p.Minimum, err = numberKey(m, "minimum"); err != nil {
		return nil, err
	}
	if p.Maximum, err = numberKey(m, "maximum"); err != nil {
		return nil, err
	}
	if p.MinLength, err = intKey(m, "minLength"); err != nil {
		return nil, err
	}
	if p.MaxLength, err = intKey(m, "maxLength"); err != nil {
		return nil, err
	}
	if pat, ok := m["pattern"].(string); ok {
		re, err := compilePVEPattern(pat)
		if err != nil {
			s.BadPatterns = append(s.BadPatterns, pat)
		} else {
			p.Pattern = re
		}
	}
	switch f := m["format"].(type) {
	case string:
		p.Format = f
	case map[string]any:
		if p.FormatProps, err = s.parseProps(f); err != nil {
			return nil, fmt.Errorf("format: %w", err)
		}
	}
	if items, ok := m["items"].(map[string]any); ok {
		if p.Items, err = s.parseProp(items); err != nil {
			return nil, fmt.Errorf("items: %w", err)
		}
	}
	if oneOf, ok := m["oneOf"].([]any); ok {
		for i, alt := range oneOf {
			am, ok := alt.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("oneOf[%d] is %T", i, alt)
			}
			ap, err := s.parseProp(am)
			if err != nil {
				return nil, fmt.Errorf("oneOf[%d]: %w", i, err)
			}
			p.OneOf = append(p.OneOf, ap)
		}
	}
	if props, ok := m["properties"].(map[string]any); ok {
		p.HasProperties = true
		if p.Properties, err = s.parseProps(props); err != nil {
			return nil, err
		}
		p.families = indexedFamilies(p.Properties)
	}
	switch ap := m["additionalProperties"].(type) {
	case nil:
	case map[string]any:
		t := true // a schema for additional properties: they are allowed
		p.AdditionalProperties = &t
	default:
		t := perl.Truthy(ap)
		p.AdditionalProperties = &t
	}
	return p, nil
}

func (s *Schema) parseProps(m map[string]any) (map[string]*Property, error) {
	out := make(map[string]*Property, len(m))
	for name, raw := range m {
		pm, ok := raw.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("property %s is %T", name, raw)
		}
		p, err := s.parseProp(pm)
		if err != nil {
			return nil, fmt.Errorf("property %s: %w", name, err)
		}
		out[name] = p
	}
	return out, nil
}

func numberKey(m map[string]any, key string) (*float64, error) {
	v, ok := m[key]
	if !ok || v == nil {
		return nil, nil
	}
	s, _ := perl.Scalar(v)
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, fmt.Errorf("%s: %q is not a number", key, s)
	}
	return &f, nil
}

func intKey(m map[string]any, key string) (*int, error) {
	f, err := numberKey(m, key)
	if f == nil || err != nil {
		return nil, err
	}
	n := int(*f)
	return &n, nil
}

// Indexed property families. The schema dump lists them once, as "net[n]";
// PVE itself registers net0 .. net31. The range is in the description when
// it is written there; otherwise these are PVE's constants (MAX_NETS, ...).
var (
	familyName   = regexp.MustCompile(`^([a-z][a-z0-9_-]*)\[n\]$`)
	familyRange  = regexp.MustCompile(`\(n is \d+ to (\d+)`)
	familyUpTo   = regexp.MustCompile(`n can be up to (\d+)`)
	familyMaxima = map[string]int{
		"acmedomain": 4,   // MAX_ACME_DOMAINS 5
		"dev":        255, // LXC MAX_DEVICES 256
		"hostpci":    15,  // MAX_HOSTPCI_DEVICES 16
		"ipconfig":   31,  // MAX_NETS 32
		"link":       7,   // corosync links 0..7
		"mp":         255, // MAX_MOUNT_POINTS 256
		"net":        31,  // MAX_NETS 32 (QEMU and LXC)
		"numa":       7,   // MAX_NUMA 8
		"unused":     255, // MAX_UNUSED_DISKS 256
		"virtiofs":   9,   // MAX_VIRTIOFS 10
	}
)

// defaultFamilyMax is used for families neither described nor known.
const defaultFamilyMax = 31

func indexedFamilies(props map[string]*Property) map[string]indexedFamily {
	var out map[string]indexedFamily
	for name, p := range props {
		m := familyName.FindStringSubmatch(name)
		if m == nil {
			continue
		}
		if out == nil {
			out = map[string]indexedFamily{}
		}
		out[m[1]] = indexedFamily{schema: p, max: familyMax(m[1], p.Description)}
	}
	return out
}

func familyMax(base, description string) int {
	if m := familyUpTo.FindStringSubmatch(description); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	if m := familyRange.FindStringSubmatch(description); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	if n, ok := familyMaxima[base]; ok {
		return n
	}
	return defaultFamilyMax
}

// lookupProperty finds the schema of a parameter, resolving indexed
// families: "net3" is a "net[n]" parameter when 3 is within the range.
func (p *Property) lookupProperty(name string) *Property {
	if strings.HasSuffix(name, "[n]") {
		return nil
	}
	if ps, ok := p.Properties[name]; ok {
		return ps
	}
	i := len(name)
	for i > 0 && name[i-1] >= '0' && name[i-1] <= '9' {
		i--
	}
	if i == len(name) || i == 0 {
		return nil
	}
	digits := name[i:]
	if len(digits) > 1 && digits[0] == '0' {
		return nil
	}
	fam, ok := p.families[name[:i]]
	if !ok {
		return nil
	}
	n, err := strconv.Atoi(digits)
	if err != nil || n > fam.max {
		return nil
	}
	return fam.schema
}
