package pbs

import (
	"context"
	"errors"
	"net/url"
)

// Namespace is one entry of a datastore's namespace list. NS is the path
// from the root, "a/b"; the root namespace is "".
type Namespace struct {
	NS      string `json:"ns"`
	Comment string `json:"comment,omitempty"`
}

func namespacePath(store string) string {
	return "/admin/datastore/" + pathEscape(store) + "/namespace"
}

// Namespaces lists all namespaces of a datastore, the root ("") included,
// down to PBS's maximum depth.
func (c *Client) Namespaces(ctx context.Context, store string) ([]Namespace, error) {
	if err := checkName("datastore name", store); err != nil {
		return nil, err
	}
	var out []Namespace
	if err := c.Get(ctx, namespacePath(store), nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// CreateNamespace creates the namespace name below parent ("" for the
// root) and returns its path, "parent/name". The parent must exist.
func (c *Client) CreateNamespace(ctx context.Context, store, parent, name string) (string, error) {
	if err := checkName("datastore name", store); err != nil {
		return "", err
	}
	if err := checkName("namespace name", name); err != nil {
		return "", err
	}
	params := url.Values{"name": {name}}
	if parent != "" {
		params.Set("parent", parent)
	}
	want := name
	if parent != "" {
		want = parent + "/" + name
	}
	exists := func(ctx context.Context) (bool, error) {
		all, err := c.Namespaces(ctx, store)
		for _, n := range all {
			if n.NS == want {
				return true, nil
			}
		}
		return false, err
	}
	var ns string
	if err := c.postCreate(ctx, namespacePath(store), params, &ns, exists); err != nil {
		return "", err
	}
	if ns == "" {
		ns = want // settled by looking, not by the answer
	}
	return ns, nil
}

// DeleteNamespace deletes the namespace ns ("a/b") and the namespaces below
// it. Without deleteGroups PBS only removes empty namespaces and fails if
// backup groups remain; with it, it deletes their backups too (except
// protected snapshots, which make it fail).
func (c *Client) DeleteNamespace(ctx context.Context, store, ns string, deleteGroups bool) error {
	if err := checkName("datastore name", store); err != nil {
		return err
	}
	if ns == "" {
		return errors.New("refusing to delete the root namespace of datastore " + store)
	}
	q := url.Values{"ns": {ns}}
	if deleteGroups {
		q.Set("delete-groups", "1")
	}
	return c.Delete(ctx, namespacePath(store), q, nil)
}
