package guest

import (
	"context"
	"fmt"
	"strconv"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/objectplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"

	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

// The start order of a guest (PVE's "startup" key), which VMs and
// containers share.

// StartupModel is the startup block.
type StartupModel struct {
	Order types.Int64 `tfsdk:"order"`
	Up    types.Int64 `tfsdk:"up"`
	Down  types.Int64 `tfsdk:"down"`
}

// StartupTypes are the startup block's attribute types.
var StartupTypes = map[string]attr.Type{"order": types.Int64Type, "up": types.Int64Type, "down": types.Int64Type}

// StartupAttribute is the startup block of a guest ("VM", "container"):
// left unset, it stays as it is.
func StartupAttribute(noun string) schema.Attribute {
	num := func(desc string) schema.Int64Attribute {
		return schema.Int64Attribute{Description: desc + " Unset: left as it is.", Optional: true, Computed: true,
			PlanModifiers: []planmodifier.Int64{int64planmodifier.UseStateForUnknown()},
			Validators:    []validator.Int64{int64validator.AtLeast(0)}}
	}
	return schema.SingleNestedAttribute{
		Description: "Start and shutdown order when the node boots or shuts down (with `on_boot`). Unset: left as it is " +
			"(none on a new " + noun + ", the source's on a clone).",
		Optional:      true,
		Computed:      true,
		PlanModifiers: []planmodifier.Object{objectplanmodifier.UseStateForUnknown()},
		Attributes: map[string]schema.Attribute{
			"order": num("Position in the start order; lower starts first and stops last."),
			"up":    num("Seconds to wait after starting this " + noun + " before starting the next."),
			"down":  num("Seconds to wait for this " + noun + " to shut down."),
		},
	}
}

// StartupToAPI is the startup block as PVE's property string: unknown while
// the block is unknown (left as it is), null when it is null or empty.
func StartupToAPI(ctx context.Context, o types.Object, diags *diag.Diagnostics) types.String {
	if o.IsUnknown() {
		return types.StringUnknown()
	}
	if o.IsNull() {
		return types.StringNull()
	}
	var s StartupModel
	diags.Append(o.As(ctx, &s, basetypes.ObjectAsOptions{})...)
	p := pve.PropertyString{}
	for _, kv := range []struct {
		k string
		v types.Int64
	}{{"order", s.Order}, {"up", s.Up}, {"down", s.Down}} {
		if !kv.v.IsNull() && !kv.v.IsUnknown() {
			p.Set(kv.k, strconv.FormatInt(kv.v.ValueInt64(), 10))
		}
	}
	if len(p.Keys()) == 0 {
		return types.StringNull()
	}
	return types.StringValue(p.Format(""))
}

// StartupFromAPI reads PVE's startup value; "" is a null block.
func StartupFromAPI(v string) (types.Object, error) {
	if v == "" {
		return types.ObjectNull(StartupTypes), nil
	}
	p, err := pve.ParsePropertyString(v, "order")
	if err != nil {
		return types.Object{}, err
	}
	vals := map[string]attr.Value{"order": types.Int64Null(), "up": types.Int64Null(), "down": types.Int64Null()}
	for _, k := range []string{"order", "up", "down"} {
		if t, ok := p.Get(k); ok {
			n, err := strconv.ParseInt(t, 10, 64)
			if err != nil {
				return types.Object{}, fmt.Errorf("startup %s: %q is not a number", k, t)
			}
			vals[k] = types.Int64Value(n)
		}
	}
	o, d := types.ObjectValue(StartupTypes, vals)
	if d.HasError() {
		return types.Object{}, fmt.Errorf("startup: %v", d)
	}
	return o, nil
}
