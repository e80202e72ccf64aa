package pve

import (
	"fmt"
	"strings"
)

// PropertyString is one of PVE's property strings, such as a disk
// ("local-lvm:vm-100-disk-0,discard=on,size=32G") or a NIC
// ("virtio=BC:24:11:2A:3B:4C,bridge=vmbr0,firewall=1"): comma-separated
// key=value pairs, where a value without a key belongs to the format's
// default key. It keeps the order of its keys, so that formatting what was
// parsed gives the same string back.
type PropertyString struct {
	keys   []string
	values map[string]string
}

// ParsePropertyString parses s. A part without "=" is the value of
// defaultKey (the volume of a disk, say); only one such part is allowed,
// and none when defaultKey is "".
func ParsePropertyString(s, defaultKey string) (PropertyString, error) {
	p := PropertyString{values: map[string]string{}}
	if s == "" {
		return p, nil
	}
	for _, part := range strings.Split(s, ",") {
		key, value, ok := strings.Cut(part, "=")
		if !ok {
			if defaultKey == "" {
				return PropertyString{}, fmt.Errorf("invalid property string %q: %q is not key=value", s, part)
			}
			key, value = defaultKey, part
		}
		if key == "" {
			return PropertyString{}, fmt.Errorf("invalid property string %q: empty key", s)
		}
		if _, dup := p.values[key]; dup {
			return PropertyString{}, fmt.Errorf("invalid property string %q: duplicate key %q", s, key)
		}
		p.keys = append(p.keys, key)
		p.values[key] = value
	}
	return p, nil
}

// Get returns the value of key and whether it is set.
func (p PropertyString) Get(key string) (string, bool) {
	v, ok := p.values[key]
	return v, ok
}

// Value returns the value of key, or "".
func (p PropertyString) Value(key string) string {
	return p.values[key]
}

// Set sets key to value, keeping the key's place if it is already there.
func (p *PropertyString) Set(key, value string) {
	if p.values == nil {
		p.values = map[string]string{}
	}
	if _, ok := p.values[key]; !ok {
		p.keys = append(p.keys, key)
	}
	p.values[key] = value
}

// Delete removes key.
func (p *PropertyString) Delete(key string) {
	if _, ok := p.values[key]; !ok {
		return
	}
	delete(p.values, key)
	for i, k := range p.keys {
		if k == key {
			p.keys = append(p.keys[:i], p.keys[i+1:]...)
			break
		}
	}
}

// Keys returns the keys in order.
func (p PropertyString) Keys() []string {
	return append([]string(nil), p.keys...)
}

// Format renders the property string; the value of defaultKey, if set,
// comes first and without its key, as PVE writes it.
func (p PropertyString) Format(defaultKey string) string {
	parts := make([]string, 0, len(p.keys))
	// A bare value must not read as a key (no "=") and must not vanish.
	bare := defaultKey != ""
	if v, ok := p.values[defaultKey]; ok && bare && v != "" && !strings.Contains(v, "=") {
		parts = append(parts, v)
	} else {
		bare = false
	}
	for _, k := range p.keys {
		if k == defaultKey && bare {
			continue
		}
		parts = append(parts, k+"="+p.values[k])
	}
	return strings.Join(parts, ",")
}
