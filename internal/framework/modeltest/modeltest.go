// Package modeltest checks framework.Model against the framework's own
// Get and Set on a resource's real schema and model: for many generated
// values of the schema's type (known, null and unknown at every level, as
// plans have them), both must read the same model with the same
// diagnostics, and write the same value back.
package modeltest

import (
	"context"
	"fmt"
	"math/big"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/hcilab/terraform-provider-pve/internal/framework"
)

// Check compares framework.Model[T] with tfsdk's Get and Set on the
// schema of r, for n generated values.
func Check[T any](t *testing.T, r resource.Resource, n int) {
	t.Helper()
	ctx := context.Background()
	var sresp resource.SchemaResponse
	r.Schema(ctx, resource.SchemaRequest{}, &sresp)
	schema := sresp.Schema
	typ := schema.Type().TerraformType(ctx)
	var m framework.Model[T]
	rng := rand.New(rand.NewPCG(1, uint64(n)))
	decoded, written := 0, 0
	for i := range n {
		// plans may hold unknowns; states never do
		withUnknown := i%2 == 1
		raw := Value(rng, typ, withUnknown, 0)
		if i == 0 {
			raw = Value(rng, typ, false, 0)
		}
		plan := tfsdk.Plan{Schema: schema, Raw: raw}
		var want, got T
		wantDiags := plan.Get(ctx, &want)
		gotDiags := m.GetPlan(ctx, plan, &got)
		if wantDiags.HasError() {
			// Model leaves such values to the framework. The framework
			// stops at the first field it cannot read, visiting them in
			// map order: which one it names varies from call to call, so
			// only the failure itself is compared.
			if !gotDiags.HasError() {
				t.Fatalf("value %d: diagnostics differ:\nframework: %v\nmodel:     %v\nvalue: %s", i, wantDiags, gotDiags, raw)
			}
			continue
		}
		if !wantDiags.Equal(gotDiags) {
			t.Fatalf("value %d: diagnostics differ:\nframework: %v\nmodel:     %v\nvalue: %s", i, wantDiags, gotDiags, raw)
		}
		decoded++
		if !reflect.DeepEqual(want, got) {
			t.Fatalf("value %d: models differ:\nframework: %+v\nmodel:     %+v", i, want, got)
		}
		if withUnknown {
			continue
		}
		written++
		stateA := tfsdk.State{Schema: schema, Raw: tftypes.NewValue(typ, nil)}
		stateB := stateA
		setA := stateA.Set(ctx, want)
		setB := m.SetState(ctx, &stateB, want)
		if !setA.Equal(setB) {
			t.Fatalf("value %d: Set diagnostics differ:\nframework: %v\nmodel:     %v", i, setA, setB)
		}
		if !stateA.Raw.Equal(stateB.Raw) {
			t.Fatalf("value %d: written values differ:\nframework: %s\nmodel:     %s", i, stateA.Raw, stateB.Raw)
		}
		if !stateA.Raw.Equal(raw) {
			t.Fatalf("value %d: the framework does not write back what it read:\nread:  %s\nwrote: %s", i, raw, stateA.Raw)
		}
		var again T
		if d := m.GetState(ctx, stateB, &again); d.HasError() || !reflect.DeepEqual(again, want) {
			t.Fatalf("value %d: reading back what Model wrote: %v", i, d)
		}
	}
	if decoded < n/4 {
		t.Fatalf("only %d of %d generated values could be read at all: the generator does not exercise Model", decoded, n)
	}
	// Each value the framework read was read by Model itself, and each
	// known one written and read back by it too (not left to the
	// framework).
	if want := int64(decoded + 2*written); m.Served() != want {
		t.Fatalf("Model served %d Gets and Sets itself, want %d: it left values to the framework that it should handle", m.Served(), want)
	}
}

// Value is a generated value of typ: null or (with unknown) unknown now
// and then below the top, known otherwise, with collections of zero to
// three elements.
func Value(rng *rand.Rand, typ tftypes.Type, unknown bool, depth int) tftypes.Value {
	if depth > 0 {
		switch rng.IntN(6) {
		case 0:
			return tftypes.NewValue(typ, nil)
		case 1:
			if unknown {
				return tftypes.NewValue(typ, tftypes.UnknownValue)
			}
		}
	}
	switch {
	case typ.Is(tftypes.String):
		return tftypes.NewValue(typ, fmt.Sprintf("s%d", rng.IntN(4)))
	case typ.Is(tftypes.Number):
		return tftypes.NewValue(typ, big.NewFloat(float64(rng.IntN(1000))))
	case typ.Is(tftypes.Bool):
		return tftypes.NewValue(typ, rng.IntN(2) == 0)
	case typ.Is(tftypes.Object{}):
		o := typ.(tftypes.Object)
		vals := map[string]tftypes.Value{}
		names := make([]string, 0, len(o.AttributeTypes))
		for name := range o.AttributeTypes {
			names = append(names, name)
		}
		slices.Sort(names) // deterministic for a seed
		for _, name := range names {
			vals[name] = Value(rng, o.AttributeTypes[name], unknown, depth+1)
		}
		return tftypes.NewValue(typ, vals)
	case typ.Is(tftypes.Map{}):
		elem := typ.(tftypes.Map).ElementType
		vals := map[string]tftypes.Value{}
		for i := range rng.IntN(4) {
			vals[fmt.Sprintf("k%d", i)] = Value(rng, elem, unknown, depth+1)
		}
		return tftypes.NewValue(typ, vals)
	case typ.Is(tftypes.List{}):
		elem := typ.(tftypes.List).ElementType
		var vals []tftypes.Value
		for range rng.IntN(4) {
			vals = append(vals, Value(rng, elem, unknown, depth+1))
		}
		return tftypes.NewValue(typ, vals)
	case typ.Is(tftypes.Set{}):
		elem := typ.(tftypes.Set).ElementType
		var vals []tftypes.Value
		for range rng.IntN(4) {
			vals = append(vals, Value(rng, elem, unknown, depth+1))
		}
		return tftypes.NewValue(typ, vals)
	}
	panic(fmt.Sprintf("modeltest: no generator for %s", typ))
}
