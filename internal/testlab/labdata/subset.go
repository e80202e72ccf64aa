package labdata

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Subset returns the part of an official API schema (the apidoc tree of
// PVE's api-viewer or of PBS, as in ../shared/api-schemas) that the lab
// needs: every path of the tree (directory indexes and "not implemented"
// answers follow it), every method with the keys the servers act on (name,
// protected, proxyto, allowtoken, and whether the method is open to the
// world), and the whole parameter schema of the methods the lab serves
// and of those that take no parameters (PBS answers a directory's GET with
// its subdirectories when its parameters are empty).
// served holds "METHOD /template" keys ("GET /nodes/{node}/status");
// served routes that the schema lacks are not added.
// Return schemas and descriptions of methods are left out; the parameter
// descriptions are kept, since they carry the index ranges of families
// such as net[n].
//
// The output is indented JSON with sorted keys, so that regenerating it
// from the same input gives the same bytes.
func Subset(official []byte, served map[string]bool) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(official))
	dec.UseNumber()
	var tree []any
	if err := dec.Decode(&tree); err != nil {
		return nil, fmt.Errorf("labdata: parse schema: %w", err)
	}
	out, err := subsetNodes(tree, served)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	if err := enc.Encode(out); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// methodKeys are the keys of a method the servers read besides its
// parameters.
var methodKeys = []string{"name", "protected", "proxyto", "allowtoken"}

func subsetNodes(nodes []any, served map[string]bool) ([]any, error) {
	out := make([]any, 0, len(nodes))
	for _, raw := range nodes {
		n, ok := raw.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("labdata: tree node is %T, not an object", raw)
		}
		path, _ := n["path"].(string)
		if path == "" {
			return nil, fmt.Errorf("labdata: tree node without path")
		}
		node := map[string]any{"path": path}
		for _, k := range []string{"text", "leaf"} {
			if v, ok := n[k]; ok {
				node[k] = v
			}
		}
		if info, ok := n["info"].(map[string]any); ok {
			infoOut := map[string]any{}
			for method, rawMethod := range info {
				m, ok := rawMethod.(map[string]any)
				if !ok {
					return nil, fmt.Errorf("labdata: %s %s: method is %T", method, path, rawMethod)
				}
				mo := map[string]any{}
				for _, k := range methodKeys {
					if v, ok := m[k]; ok {
						mo[k] = v
					}
				}
				if perms, ok := m["permissions"].(map[string]any); ok {
					if user, ok := perms["user"]; ok {
						mo["permissions"] = map[string]any{"user": user}
					}
				}
				key := method + " " + path
				if params, ok := m["parameters"]; ok && (served[key] || noProperties(params)) {
					mo["parameters"] = params
				}
				infoOut[method] = mo
			}
			node["info"] = infoOut
		}
		if children, ok := n["children"].([]any); ok {
			c, err := subsetNodes(children, served)
			if err != nil {
				return nil, err
			}
			node["children"] = c
		}
		out = append(out, node)
	}
	return out, nil
}

// noProperties reports whether a parameter schema lists no properties.
func noProperties(params any) bool {
	m, ok := params.(map[string]any)
	if !ok {
		return false
	}
	props, _ := m["properties"].(map[string]any)
	return len(props) == 0
}
