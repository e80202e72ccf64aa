package pbs

import (
	"context"
	"net/http"
	"net/url"
)

// PruneJob is a prune job's configuration (/config/prune).
type PruneJob struct {
	ID       string `json:"id"`
	Store    string `json:"store"`
	Schedule string `json:"schedule"` // calendar event
	Comment  string `json:"comment,omitempty"`
	Disable  bool   `json:"disable,omitempty"`
	// NS is the namespace to prune ("" for the root), MaxDepth how many
	// levels below it (0 none; unset all).
	NS       string `json:"ns,omitempty"`
	MaxDepth *int64 `json:"max-depth,omitempty"`
	KeepOptions
}

// PruneJobUpdate is the request of UpdatePruneJob: nil fields are left as
// they are; Delete names properties to remove ("comment", "disable", "ns",
// "max-depth", "keep-last" ... "keep-yearly"); Digest guards against
// concurrent changes (ErrConflict).
type PruneJobUpdate struct {
	Store    *string `json:"store,omitempty"`
	Schedule *string `json:"schedule,omitempty"`
	Comment  *string `json:"comment,omitempty"`
	Disable  *bool   `json:"disable,omitempty"`
	NS       *string `json:"ns,omitempty"`
	MaxDepth *int64  `json:"max-depth,omitempty"`
	KeepOptions
	Delete []string `json:"delete,omitempty"`
	Digest string   `json:"digest,omitempty"`
}

func pruneJobPath(id string) string { return "/config/prune/" + pathEscape(id) }

// PruneJobs lists the prune jobs the credentials may see.
func (c *Client) PruneJobs(ctx context.Context) ([]PruneJob, error) {
	var out []PruneJob
	if err := c.Get(ctx, "/config/prune", nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// PruneJob reads one prune job and the digest of the prune job config. A
// missing job is ErrNotFound.
func (c *Client) PruneJob(ctx context.Context, id string) (*PruneJob, string, error) {
	if err := checkName("prune job ID", id); err != nil {
		return nil, "", err
	}
	var j PruneJob
	env, err := c.do(ctx, http.MethodGet, pruneJobPath(id), nil, &j)
	if err != nil {
		return nil, "", err
	}
	return &j, env.Digest, nil
}

// CreatePruneJob creates a prune job. An existing ID is ErrConflict.
func (c *Client) CreatePruneJob(ctx context.Context, j PruneJob) error {
	if err := checkName("prune job ID", j.ID); err != nil {
		return err
	}
	exists := func(ctx context.Context) (bool, error) {
		_, _, err := c.PruneJob(ctx, j.ID)
		return err == nil, err
	}
	return c.postCreate(ctx, "/config/prune", formValues(j), nil, exists)
}

// UpdatePruneJob changes a prune job.
func (c *Client) UpdatePruneJob(ctx context.Context, id string, u PruneJobUpdate) error {
	if err := checkName("prune job ID", id); err != nil {
		return err
	}
	return c.Put(ctx, pruneJobPath(id), formValues(u), nil)
}

// DeletePruneJob deletes a prune job; digest, if not "", guards against
// concurrent changes. A missing job is ErrNotFound.
func (c *Client) DeletePruneJob(ctx context.Context, id, digest string) error {
	if err := checkName("prune job ID", id); err != nil {
		return err
	}
	var q url.Values
	if digest != "" {
		q = url.Values{"digest": {digest}}
	}
	return c.Delete(ctx, pruneJobPath(id), q, nil)
}
