package framework

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
)

// Timeouts is the timeouts attribute of a resource with long operations,
// described for the generated docs; defaults says what applies when unset.
func Timeouts(ctx context.Context, opts timeouts.Opts, defaults string) schema.Attribute {
	a := timeouts.Attributes(ctx, opts).(schema.SingleNestedAttribute)
	a.Description = "How long create, update and delete may take, as Go durations (`30m`). " + defaults
	return a
}
