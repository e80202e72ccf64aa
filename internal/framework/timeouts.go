package framework

import (
	"context"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
)

// Timeouts is the timeouts attribute of a resource with long operations,
// described for the generated docs (naming only the operations opts
// enables); defaults says what applies when unset.
func Timeouts(ctx context.Context, opts timeouts.Opts, defaults string) schema.Attribute {
	a := timeouts.Attributes(ctx, opts).(schema.SingleNestedAttribute)
	a.Description = "How long " + timeoutOps(opts) + " may take, as Go durations (`30m`). " + defaults
	return a
}

// timeoutOps names the operations opts enables: "create and delete".
func timeoutOps(opts timeouts.Opts) string {
	var ops []string
	for _, o := range []struct {
		on   bool
		name string
	}{{opts.Create, "create"}, {opts.Read, "read"}, {opts.Update, "update"}, {opts.Delete, "delete"}} {
		if o.on {
			ops = append(ops, o.name)
		}
	}
	switch len(ops) {
	case 0:
		return "nothing"
	case 1:
		return ops[0]
	}
	return strings.Join(ops[:len(ops)-1], ", ") + " and " + ops[len(ops)-1]
}
