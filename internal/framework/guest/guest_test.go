package guest

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

func TestTaskWarnings(t *testing.T) {
	var diags diag.Diagnostics
	TaskWarnings(&pve.TaskResult{ExitStatus: "OK"}, "VM 100 was created", &diags)
	TaskWarnings(nil, "VM 100 was created", &diags)
	if len(diags) != 0 {
		t.Fatalf("no warnings expected, got %v", diags)
	}
	TaskWarnings(&pve.TaskResult{ExitStatus: "WARNINGS: 1", Warnings: 1, LogTail: []string{"WARN: Systemd 252 detected.", "TASK WARNINGS: 1"}},
		"Container 200 was created", &diags)
	if diags.WarningsCount() != 1 || !strings.Contains(diags[0].Detail(), "Systemd 252") || !strings.HasPrefix(diags[0].Detail(), "Container 200 was created with warnings") {
		t.Fatalf("diagnostics = %v", diags)
	}
}

func TestTagText(t *testing.T) {
	var diags diag.Diagnostics
	s, _ := types.SetValueFrom(context.Background(), types.StringType, []string{"web", "prod", "acc"})
	if got := TagText(context.Background(), s, &diags); got != "acc;prod;web" || diags.HasError() {
		t.Fatalf("TagText = %q, %v", got, diags)
	}
}
