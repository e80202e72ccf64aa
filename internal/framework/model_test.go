package framework

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

type blockModel struct {
	Name types.String `tfsdk:"name"`
	Size types.Int64  `tfsdk:"size"`
	Tags types.Set    `tfsdk:"tags"`
}

type notABlock struct {
	Name string      `tfsdk:"name"`
	Size types.Int64 `tfsdk:"size"`
}

var blockTypes = map[string]attr.Type{"name": types.StringType, "size": types.Int64Type, "tags": types.SetType{ElemType: types.StringType}}

func TestObjectFromMatchesFramework(t *testing.T) {
	ctx := context.Background()
	tags := types.SetValueMust(types.StringType, []attr.Value{types.StringValue("a"), types.StringValue("b")})
	dup := types.SetValueMust(types.StringType, []attr.Value{types.StringValue("a"), types.StringValue("a")})
	for name, v := range map[string]blockModel{
		"known":     {Name: types.StringValue("x"), Size: types.Int64Value(4), Tags: tags},
		"null":      {Name: types.StringNull(), Size: types.Int64Null(), Tags: types.SetNull(types.StringType)},
		"unknown":   {Name: types.StringUnknown(), Size: types.Int64Unknown(), Tags: types.SetUnknown(types.StringType)},
		"zero":      {},
		"duplicate": {Name: types.StringValue("x"), Size: types.Int64Value(1), Tags: dup},
		"wrongType": {Name: types.StringValue("x"), Size: types.Int64Value(1), Tags: types.SetValueMust(types.Int64Type, nil)},
	} {
		want, wantDiags := types.ObjectValueFrom(ctx, blockTypes, v)
		got, gotDiags := ObjectFrom(ctx, blockTypes, v)
		if !want.Equal(got) || wantDiags.HasError() != gotDiags.HasError() {
			t.Errorf("%s: ObjectFrom = %v %v, ObjectValueFrom = %v %v", name, got, gotDiags, want, wantDiags)
		}
		items := map[string]blockModel{"a": v, "b": {Name: types.StringValue("y")}}
		elem := types.ObjectType{AttrTypes: blockTypes}
		wantMap, wantDiags := types.MapValueFrom(ctx, elem, items)
		gotMap, gotDiags := MapFrom(ctx, elem, items)
		if !wantMap.Equal(gotMap) || wantDiags.HasError() != gotDiags.HasError() {
			t.Errorf("%s: MapFrom = %v %v, MapValueFrom = %v %v", name, gotMap, gotDiags, wantMap, wantDiags)
		}
	}
	var none map[string]blockModel
	wantMap, _ := types.MapValueFrom(ctx, types.ObjectType{AttrTypes: blockTypes}, none)
	if gotMap, _ := MapFrom(ctx, types.ObjectType{AttrTypes: blockTypes}, none); !gotMap.Equal(wantMap) || !gotMap.IsNull() {
		t.Errorf("nil map: MapFrom = %v, want %v", gotMap, wantMap)
	}
	other := map[string]attr.Type{"name": types.StringType, "size": types.Int64Type}
	want, _ := types.ObjectValueFrom(ctx, other, notABlock{Name: "n", Size: types.Int64Value(2)})
	if got, _ := ObjectFrom(ctx, other, notABlock{Name: "n", Size: types.Int64Value(2)}); !got.Equal(want) {
		t.Errorf("a struct with a plain field: ObjectFrom = %v, want %v", got, want)
	}
}

// ObjectFrom exists to allocate less than types.ObjectValueFrom, which sets
// up its reflection (compiling a regular expression per field) on every
// call.
func TestObjectFromAllocatesLess(t *testing.T) {
	ctx := context.Background()
	v := blockModel{Name: types.StringValue("x"), Size: types.Int64Value(4), Tags: types.SetNull(types.StringType)}
	framework := testing.AllocsPerRun(50, func() { _, _ = types.ObjectValueFrom(ctx, blockTypes, v) })
	ours := testing.AllocsPerRun(50, func() { _, _ = ObjectFrom(ctx, blockTypes, v) })
	if ours*2 > framework {
		t.Errorf("ObjectFrom: %.0f allocations, types.ObjectValueFrom %.0f: want at most half", ours, framework)
	}
	t.Logf("allocations: ObjectFrom %.0f, types.ObjectValueFrom %.0f", ours, framework)
}
