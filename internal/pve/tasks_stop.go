package pve

import (
	"context"
	"fmt"
	"net/url"
)

// StopTask stops a running task (DELETE /nodes/{node}/tasks/{upid}): PVE
// sends the worker SIGTERM, and it ends "interrupted by signal" after
// cleaning up (a download removes its temporary file).
func (c *Client) StopTask(ctx context.Context, upidText string) error {
	u, err := parseUPID(upidText)
	if err != nil {
		return err
	}
	if err := c.Delete(ctx, "/nodes/"+url.PathEscape(u.node)+"/tasks/"+url.PathEscape(upidText), nil, nil); err != nil {
		return fmt.Errorf("stopping task %s: %w", upidText, err)
	}
	return nil
}
