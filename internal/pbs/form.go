package pbs

import (
	"fmt"
	"net/url"
	"reflect"
	"strconv"
	"strings"
)

// formValues encodes a request struct as PBS's form parameters, named by
// the fields' json tags. A nil pointer, an empty string or list, and a false
// bool or zero number tagged omitempty are left out; a non-nil pointer is
// sent even if it points to "" (to set an empty value) or false. Booleans
// are sent as 1 and 0, lists as the key repeated (how PBS reads arrays such
// as "delete"). Embedded structs are flattened. Fields tagged "-" are not
// parameters (path parameters).
func formValues(v any) url.Values {
	out := url.Values{}
	addForm(out, reflect.ValueOf(v))
	return out
}

func addForm(out url.Values, v reflect.Value) {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		omitempty := strings.Contains(opts, "omitempty")
		fv := v.Field(i)
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			addForm(out, fv) // flattened, as encoding/json does
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if fv.Kind() == reflect.Pointer {
			if fv.IsNil() {
				continue
			}
			out.Add(name, scalar(fv.Elem()))
			continue
		}
		if fv.Kind() == reflect.Slice {
			for j := range fv.Len() {
				out.Add(name, scalar(fv.Index(j)))
			}
			continue
		}
		if omitempty && fv.IsZero() {
			continue
		}
		out.Add(name, scalar(fv))
	}
}

func scalar(v reflect.Value) string {
	switch v.Kind() {
	case reflect.String:
		return v.String()
	case reflect.Bool:
		if v.Bool() {
			return "1"
		}
		return "0"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(v.Uint(), 10)
	}
	panic(fmt.Sprintf("pbs: cannot encode %s as a form value", v.Type()))
}
