package framework

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

// SettleNetwork runs the network reload this provider scheduled for node,
// if any, before a guest is plugged into the node's bridges. A failed reload
// is a warning here: the guest's own errors say what it means for it.
func SettleNetwork(ctx context.Context, c *pve.Client, node string, diags *diag.Diagnostics) {
	if err := c.SettleNetwork(ctx, node); err != nil && ctx.Err() == nil {
		diags.AddWarning("Network Reload Failed", fmt.Sprintf("The network reload of node %s failed: %s", node, err))
	}
}

// TaskWarnings turns a task that ended with "WARNINGS: n" into a Terraform
// warning carrying the end of its log; what names the task ("VM 100 was
// created").
func TaskWarnings(res *pve.TaskResult, what string, diags *diag.Diagnostics) {
	if res == nil || res.Warnings == 0 {
		return
	}
	diags.AddWarning("Task Finished With Warnings", what+" with warnings:\n\n"+strings.Join(res.LogTail, "\n"))
}

// TagText renders a set of tags as PVE's sorted, semicolon-separated list.
func TagText(ctx context.Context, s types.Set, diags *diag.Diagnostics) string {
	var tags []string
	diags.Append(s.ElementsAs(ctx, &tags, false)...)
	slices.Sort(tags)
	return strings.Join(tags, ";")
}
