package framework

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/attr/xattr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// Model reads a resource's whole model out of a state or plan and writes
// it into a state, as tfsdk's Get and Set do, for the resources a plan of
// many reads and plans once each (pve_vm, pve_container).
//
// The framework's Get and Set (terraform-plugin-framework v1.19) rebuild
// the schema's whole type on every call and, for every struct field,
// compile a regular expression to check its tag (internal/reflect's
// isValidFieldName): in a profile of a plan of 1,000 VMs that was a tenth
// of the provider's allocations. Model builds the same mapping once per
// model type and schema and then only converts values: the same
// ValueFromTerraform, ToTerraformValue and validation calls the framework
// makes, with the same results (modeltest compares both on pve_vm's and
// pve_container's schemas with generated values).
//
// It handles the field kinds the guest models use: attr.Value types,
// pointers to structs (single nested attributes) and maps of structs (map
// nested attributes). Anything else (another field kind, a value that
// fails the framework's checks, an unknown or null where the framework
// reports an error, a value of another type than the schema's) goes to the
// framework's own Get and Set, so that the result and the diagnostics stay
// exactly the framework's.
type Model[T any] struct {
	mu     sync.Mutex
	codec  *structCodec
	tfType tftypes.Type // the schema's object type the codec was built for
	failed bool         // the schema has a part the codec does not handle
	served atomic.Int64 // Gets and Sets done without the framework
}

// Served is how many Gets and Sets m did itself, without falling back to
// the framework (for tests).
func (m *Model[T]) Served() int64 { return m.served.Load() }

// GetState is req.State.Get(ctx, target).
func (m *Model[T]) GetState(ctx context.Context, s tfsdk.State, target *T) diag.Diagnostics {
	if m.decode(ctx, s.Raw, s.Schema, target) {
		return nil
	}
	return s.Get(ctx, target)
}

// GetPlan is req.Plan.Get(ctx, target).
func (m *Model[T]) GetPlan(ctx context.Context, p tfsdk.Plan, target *T) diag.Diagnostics {
	if m.decode(ctx, p.Raw, p.Schema, target) {
		return nil
	}
	return p.Get(ctx, target)
}

// SetState is s.Set(ctx, val).
func (m *Model[T]) SetState(ctx context.Context, s *tfsdk.State, val T) diag.Diagnostics {
	if s.Schema != nil {
		if c := m.codecFor(ctx, s.Raw.Type(), s.Schema); c != nil {
			if raw, err := c.encode(ctx, reflect.ValueOf(val)); err == nil {
				s.Raw = raw
				m.served.Add(1)
				return nil
			}
		}
	}
	return s.Set(ctx, val)
}

// schemaTyper is what Model needs of a schema (fwschema.Schema).
type schemaTyper interface {
	Type() attr.Type
}

func (m *Model[T]) decode(ctx context.Context, raw tftypes.Value, schema schemaTyper, target *T) bool {
	if schema == nil || raw.IsNull() || !raw.IsKnown() {
		return false
	}
	c := m.codecFor(ctx, raw.Type(), schema)
	if c == nil {
		return false
	}
	var out T
	if err := c.decode(ctx, raw, reflect.ValueOf(&out).Elem()); err != nil {
		return false
	}
	*target = out
	m.served.Add(1)
	return true
}

// codecFor returns the codec for T and the schema whose object type is
// rawType, building it on first use; nil when it cannot be used.
func (m *Model[T]) codecFor(ctx context.Context, rawType tftypes.Type, schema schemaTyper) *structCodec {
	if rawType == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.codec != nil && m.tfType.Equal(rawType) {
		return m.codec
	}
	if m.failed {
		return nil
	}
	typ := schema.Type()
	tfType := typ.TerraformType(ctx)
	if !tfType.Equal(rawType) {
		return nil
	}
	c, err := newStructCodec(ctx, reflect.TypeFor[T](), typ)
	if err != nil {
		m.failed = true
		return nil
	}
	m.codec, m.tfType = c, tfType
	return c
}

// errFallback says: leave this one to the framework.
var errFallback = errors.New("not handled: left to the framework")

type fieldKind int

const (
	attrValueField fieldKind = iota // an attr.Value type
	pointerField                    // *struct: a nested object, nil when null
	mapField                        // map[string]struct: a map of nested objects, nil when null
)

type fieldCodec struct {
	index  int
	name   string
	kind   fieldKind
	typ    attr.Type    // the schema's type of the attribute
	tfType tftypes.Type // its Terraform type
	elem   *structCodec // the nested object's codec (pointerField, mapField)
}

type structCodec struct {
	tfType tftypes.Type
	fields []fieldCodec
}

var attrValueType = reflect.TypeFor[attr.Value]()

// valid runs the checks the framework runs on an attribute value it
// converts (internal/reflect's NewAttributeValue and FromAttributeValue):
// the value's own ValidateAttribute, or else its type's Validate (Int64Type
// checks the number is an integer, SetType that no element repeats).
func valid(ctx context.Context, typ attr.Type, av attr.Value, tv tftypes.Value) bool {
	if v, ok := av.(xattr.ValidateableAttribute); ok {
		var resp xattr.ValidateAttributeResponse
		v.ValidateAttribute(ctx, xattr.ValidateAttributeRequest{}, &resp)
		return !resp.Diagnostics.HasError()
	}
	//lint:ignore SA1019 deprecated, but the framework still calls it (Int64Type and the collection types implement it)
	if v, ok := typ.(xattr.TypeWithValidate); ok {
		return !v.Validate(ctx, tv, path.Empty()).HasError()
	}
	return true
}

// newStructCodec maps the struct type t onto the object type typ: every
// tagged field to one attribute, one to one, as the framework requires.
func newStructCodec(ctx context.Context, t reflect.Type, typ attr.Type) (*structCodec, error) {
	if t.Kind() != reflect.Struct {
		return nil, errFallback
	}
	objType, ok := typ.(attr.TypeWithAttributeTypes)
	if !ok {
		return nil, errFallback
	}
	attrTypes := objType.AttributeTypes()
	c := &structCodec{tfType: typ.TerraformType(ctx)}
	seen := map[string]bool{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("tfsdk")
		if tag == "" || tag == "-" || !f.IsExported() || seen[tag] {
			return nil, errFallback
		}
		seen[tag] = true
		at, ok := attrTypes[tag]
		if !ok {
			return nil, errFallback
		}
		fc := fieldCodec{index: i, name: tag, typ: at, tfType: at.TerraformType(ctx)}
		switch {
		case f.Type.Implements(attrValueType):
			fc.kind = attrValueField
		case f.Type.Kind() == reflect.Pointer && f.Type.Elem().Kind() == reflect.Struct:
			sub, err := newStructCodec(ctx, f.Type.Elem(), at)
			if err != nil {
				return nil, err
			}
			fc.kind, fc.elem = pointerField, sub
		case f.Type.Kind() == reflect.Map && f.Type.Key().Kind() == reflect.String && f.Type.Elem().Kind() == reflect.Struct:
			mt, ok := at.(attr.TypeWithElementType)
			if !ok {
				return nil, errFallback
			}
			sub, err := newStructCodec(ctx, f.Type.Elem(), mt.ElementType())
			if err != nil {
				return nil, err
			}
			fc.kind, fc.elem = mapField, sub
		default:
			return nil, errFallback
		}
		c.fields = append(c.fields, fc)
	}
	if len(seen) != len(attrTypes) {
		return nil, errFallback
	}
	return c, nil
}

// decode reads the known, non-null object v into the struct dst.
func (c *structCodec) decode(ctx context.Context, v tftypes.Value, dst reflect.Value) error {
	var attrs map[string]tftypes.Value
	if err := v.As(&attrs); err != nil {
		return errFallback
	}
	for i := range c.fields {
		f := &c.fields[i]
		av, ok := attrs[f.name]
		if !ok {
			return errFallback
		}
		field := dst.Field(f.index)
		switch f.kind {
		case attrValueField:
			res, err := f.typ.ValueFromTerraform(ctx, av)
			if err != nil || res == nil || reflect.TypeOf(res) != field.Type() || !valid(ctx, f.typ, res, av) {
				return errFallback
			}
			field.Set(reflect.ValueOf(res))
		case pointerField:
			switch {
			case !av.IsKnown():
				return errFallback // the framework's error
			case av.IsNull():
				field.SetZero()
			default:
				p := reflect.New(field.Type().Elem())
				if err := f.elem.decode(ctx, av, p.Elem()); err != nil {
					return err
				}
				field.Set(p)
			}
		case mapField:
			switch {
			case !av.IsKnown():
				return errFallback
			case av.IsNull():
				field.SetZero()
			default:
				var elems map[string]tftypes.Value
				if err := av.As(&elems); err != nil {
					return errFallback
				}
				m := reflect.MakeMapWithSize(field.Type(), len(elems))
				for k, e := range elems {
					if e.IsNull() || !e.IsKnown() {
						return errFallback
					}
					ev := reflect.New(field.Type().Elem()).Elem()
					if err := f.elem.decode(ctx, e, ev); err != nil {
						return err
					}
					m.SetMapIndex(reflect.ValueOf(k), ev)
				}
				field.Set(m)
			}
		}
	}
	return nil
}

// encode writes the struct src as an object value.
func (c *structCodec) encode(ctx context.Context, src reflect.Value) (tftypes.Value, error) {
	vals := make(map[string]tftypes.Value, len(c.fields))
	for i := range c.fields {
		f := &c.fields[i]
		field := src.Field(f.index)
		switch f.kind {
		case attrValueField:
			av, ok := field.Interface().(attr.Value)
			if !ok || av == nil || !f.typ.Equal(av.Type(ctx)) {
				return tftypes.Value{}, errFallback
			}
			tv, err := av.ToTerraformValue(ctx)
			if err != nil || tv.Type() == nil || !tv.Type().Equal(f.tfType) || !valid(ctx, f.typ, av, tv) {
				return tftypes.Value{}, errFallback // the framework reports it
			}
			vals[f.name] = tv
		case pointerField:
			if field.IsNil() {
				vals[f.name] = tftypes.NewValue(f.tfType, nil)
				continue
			}
			tv, err := f.elem.encode(ctx, field.Elem())
			if err != nil {
				return tftypes.Value{}, err
			}
			vals[f.name] = tv
		case mapField:
			if field.IsNil() {
				vals[f.name] = tftypes.NewValue(f.tfType, nil)
				continue
			}
			elems := make(map[string]tftypes.Value, field.Len())
			iter := field.MapRange()
			for iter.Next() {
				tv, err := f.elem.encode(ctx, iter.Value())
				if err != nil {
					return tftypes.Value{}, err
				}
				elems[iter.Key().String()] = tv
			}
			vals[f.name] = tftypes.NewValue(f.tfType, elems)
		}
	}
	return tftypes.NewValue(c.tfType, vals), nil
}

// ObjectFrom is types.ObjectValueFrom(ctx, attrTypes, v) for a struct whose
// tagged fields are all attr.Value types (a block's model): the same
// object, and the same checks (each value's type against attrTypes, the
// types' own validation), without the framework's reflection set-up per
// call. Other structs, and values that fail a check, go to
// types.ObjectValueFrom, which reports the problem.
func ObjectFrom[T any](ctx context.Context, attrTypes map[string]attr.Type, v T) (types.Object, diag.Diagnostics) {
	fields := blockFieldsOf(reflect.TypeFor[T]())
	if fields == nil || len(fields) != len(attrTypes) {
		return types.ObjectValueFrom(ctx, attrTypes, v)
	}
	rv := reflect.ValueOf(v)
	vals := make(map[string]attr.Value, len(fields))
	for _, f := range fields {
		av, _ := rv.Field(f.index).Interface().(attr.Value)
		at, ok := attrTypes[f.name]
		if av == nil || !ok || !at.Equal(av.Type(ctx)) {
			return types.ObjectValueFrom(ctx, attrTypes, v)
		}
		//lint:ignore SA1019 deprecated, but the framework still calls it (Int64Type and the collection types implement it)
		if _, validates := at.(xattr.TypeWithValidate); validates || implementsValidateable(av) {
			tv, err := av.ToTerraformValue(ctx)
			if err != nil || !valid(ctx, at, av, tv) {
				return types.ObjectValueFrom(ctx, attrTypes, v)
			}
		}
		vals[f.name] = av
	}
	o, diags := types.ObjectValue(attrTypes, vals)
	if diags.HasError() {
		return types.ObjectValueFrom(ctx, attrTypes, v)
	}
	return o, nil
}

// MapFrom is types.MapValueFrom(ctx, elem, items) for a map of block
// models (ObjectFrom); a nil map is a null map.
func MapFrom[T any](ctx context.Context, elem types.ObjectType, items map[string]T) (types.Map, diag.Diagnostics) {
	if items == nil || blockFieldsOf(reflect.TypeFor[T]()) == nil {
		return types.MapValueFrom(ctx, elem, items)
	}
	vals := make(map[string]attr.Value, len(items))
	for k, item := range items {
		o, diags := ObjectFrom(ctx, elem.AttrTypes, item)
		if diags.HasError() {
			return types.MapValueFrom(ctx, elem, items)
		}
		vals[k] = o
	}
	m, diags := types.MapValue(elem, vals)
	if diags.HasError() {
		return types.MapValueFrom(ctx, elem, items)
	}
	return m, nil
}

func implementsValidateable(v attr.Value) bool {
	_, ok := v.(xattr.ValidateableAttribute)
	return ok
}

type blockField struct {
	index int
	name  string
}

// blockFields caches blockFieldsOf by struct type.
var blockFields sync.Map // reflect.Type → []blockField (nil: not a block model)

// blockFieldsOf is the tagged fields of struct type t when they are all
// attr.Value types, one per distinct tag; nil otherwise.
func blockFieldsOf(t reflect.Type) []blockField {
	if cached, ok := blockFields.Load(t); ok {
		return cached.([]blockField)
	}
	var fields []blockField
	if t.Kind() == reflect.Struct {
		seen := map[string]bool{}
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("tfsdk")
			if tag == "" || tag == "-" || !f.IsExported() || seen[tag] || !f.Type.Implements(attrValueType) {
				fields = nil
				break
			}
			seen[tag] = true
			fields = append(fields, blockField{index: i, name: tag})
		}
	}
	blockFields.Store(t, fields)
	return fields
}
