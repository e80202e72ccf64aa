package pve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-log/tflog"
)

// Storage definitions of the cluster (/storage: storage.cfg).

// StorageConfig is one storage definition as GET /storage/{storage}
// returns it: PVE's keys and values (numbers and strings as PVE sends
// them), and the digest of storage.cfg.
type StorageConfig map[string]json.RawMessage

// String returns a setting as a string ("" when unset); numbers are
// rendered as PVE sent them.
func (s StorageConfig) String(key string) string {
	raw, ok := s[key]
	if !ok {
		return ""
	}
	var str string
	if err := json.Unmarshal(raw, &str); err == nil {
		return str
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		return n.String()
	}
	return ""
}

// Storage reads a storage definition. A storage that does not exist is
// ErrNotFound: PVE answers it with a 500, "storage 'x' does not exist".
func (c *Client) Storage(ctx context.Context, id string) (StorageConfig, error) {
	var out StorageConfig
	if err := c.Get(ctx, "/storage/"+url.PathEscape(id), nil, &out); err != nil {
		var ae *APIError
		if errors.As(err, &ae) && strings.Contains(ae.Message, "does not exist") {
			return nil, fmt.Errorf("storage %s: %w: %w", id, ErrNotFound, err)
		}
		return nil, fmt.Errorf("reading storage %s: %w", id, err)
	}
	if out == nil {
		return nil, fmt.Errorf("storage %s: %w", id, ErrNotFound)
	}
	return out, nil
}

// StorageResult is what creating or changing a storage returns: the
// settings PVE generated (an autogen encryption key, once).
type StorageResult struct {
	Storage string            `json:"storage"`
	Type    string            `json:"type"`
	Config  map[string]string `json:"config"`
	// AnswerLost says that PVE's answer to the create was lost and the
	// storage found afterwards: what PVE generated and returned only in
	// that answer (an autogen encryption key) is not known.
	AnswerLost bool `json:"-"`
}

// CreateStorage adds a storage definition (p holds storage, type and the
// settings). PVE checks it there and then: a PBS storage is reached with
// its credentials and fingerprint.
//
// PVE's own check of a PBS server (PBSPlugin activate_storage listing the
// datastores) failing for a moment is sent again, up to three times: the
// create (pve-storage API2/Storage/Config.pm, create) runs on_add_hook, then
// activates the storage; when that fails it runs on_delete_hook (which
// removes the password and key files) and dies before write_config, so
// nothing of the storage is left and a new attempt starts afresh. A refusal
// of the credentials (401, 403) or of the certificate is not sent again.
//
// A create whose answer was lost (596, a connection lost after the request
// went out) is settled by looking for the storage for up to inDoubtWait:
// found, it is the create's (AnswerLost set), not found, the create is
// sent again; one sent again that finds the storage "already defined"
// after a doubt is the first attempt's, landed late.
func (c *Client) CreateStorage(ctx context.Context, p url.Values) (*StorageResult, error) {
	backoff := time.Second
	id := p.Get("storage")
	doubted := false
	exists := func(ctx context.Context) (bool, error) {
		_, err := c.Storage(ctx, id)
		return found(err)
	}
	for attempt := 1; ; attempt++ {
		var out StorageResult
		err := c.Post(ctx, "/storage", p, &out)
		if err == nil {
			return &out, nil
		}
		if doubted && alreadyExists(err) {
			return &StorageResult{Storage: id, Type: p.Get("type"), AnswerLost: true}, nil
		}
		if inDoubt(err) {
			doubted = true
			made, xerr := awaitExists(ctx, exists)
			switch {
			case xerr != nil:
				return nil, fmt.Errorf("creating storage %s: %w (while finding out whether it was created: %w)", id, err, xerr)
			case made:
				return &StorageResult{Storage: id, Type: p.Get("type"), AnswerLost: true}, nil
			}
			continue
		}
		if attempt > 3 || !pbsCheckFailedForAMoment(err) {
			return nil, fmt.Errorf("creating storage %s: %w", p.Get("storage"), err)
		}
		tflog.Debug(ctx, "PVE could not reach the PBS server while creating the storage; sending the create again",
			map[string]any{"storage": p.Get("storage"), "attempt": attempt, "error": err.Error()})
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("creating storage %s: %w (waiting to send it again: %w)", p.Get("storage"), err, ctx.Err())
		case <-t.C:
		}
		backoff *= 2
	}
}

// pbsCheckFailedForAMoment reports whether a storage create failed because
// PVE's check of the PBS server did not get through (PBSPlugin
// scan_datastores: "error fetching datastores - <status line>"), other
// than by the server refusing the credentials.
func pbsCheckFailedForAMoment(err error) bool {
	var ae *APIError
	if !errors.As(err, &ae) || ae.StatusCode != 500 || !strings.Contains(ae.Message, "create storage failed") {
		return false
	}
	_, inner, ok := strings.Cut(ae.Message, "error fetching datastores - ")
	if !ok {
		return false
	}
	inner = strings.TrimSpace(inner)
	// A certificate that is not the given fingerprint's (PVE's
	// APIClient: "fingerprint '...' not verified, abort!") will not change
	// either.
	return !strings.HasPrefix(inner, "401") && !strings.HasPrefix(inner, "403") && !strings.Contains(inner, "not verified")
}

// UpdateStorage changes a storage definition (delete lists settings to
// remove; digest guards against concurrent changes).
func (c *Client) UpdateStorage(ctx context.Context, id string, p url.Values) (*StorageResult, error) {
	var out StorageResult
	if err := c.Put(ctx, "/storage/"+url.PathEscape(id), p, &out); err != nil {
		return nil, fmt.Errorf("changing storage %s: %w", id, err)
	}
	return &out, nil
}

// DeleteStorage removes a storage definition (the data stays where it is).
func (c *Client) DeleteStorage(ctx context.Context, id string) error {
	if err := c.Delete(ctx, "/storage/"+url.PathEscape(id), nil, nil); err != nil {
		var ae *APIError
		if errors.As(err, &ae) && strings.Contains(ae.Message, "does not exist") {
			return fmt.Errorf("storage %s: %w: %w", id, ErrNotFound, err)
		}
		return fmt.Errorf("deleting storage %s: %w", id, err)
	}
	return nil
}
