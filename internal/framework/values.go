package framework

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// Getter is a plan, a state or a configuration.
type Getter interface {
	GetAttribute(ctx context.Context, p path.Path, target any) diag.Diagnostics
}

// GetValue reads a top-level attribute as a Terraform value of its type,
// for types whose attributes are listed in tables rather than a struct.
func GetValue(ctx context.Context, src Getter, name string, typ attr.Type, diags *diag.Diagnostics) attr.Value {
	at := path.Root(name)
	switch t := typ.(type) {
	case types.ObjectType:
		v := types.ObjectNull(t.AttrTypes)
		diags.Append(src.GetAttribute(ctx, at, &v)...)
		return v
	case types.MapType:
		v := types.MapNull(t.ElemType)
		diags.Append(src.GetAttribute(ctx, at, &v)...)
		return v
	case types.SetType:
		v := types.SetNull(t.ElemType)
		diags.Append(src.GetAttribute(ctx, at, &v)...)
		return v
	}
	switch typ {
	case types.StringType:
		var v types.String
		diags.Append(src.GetAttribute(ctx, at, &v)...)
		return v
	case types.Int64Type:
		var v types.Int64
		diags.Append(src.GetAttribute(ctx, at, &v)...)
		return v
	case types.BoolType:
		var v types.Bool
		diags.Append(src.GetAttribute(ctx, at, &v)...)
		return v
	}
	diags.AddError("Provider Bug", fmt.Sprintf("GetValue: attribute %s has an unsupported type %s", name, typ))
	return nil
}
