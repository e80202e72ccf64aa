package framework

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
)

// StringCheck turns a plain check function (typically one the backend
// client exports, so the rule lives in one place) into a string attribute
// validator. Null and unknown values are not checked.
func StringCheck(description string, check func(string) error) validator.String {
	return stringCheck{description: description, check: check}
}

type stringCheck struct {
	description string
	check       func(string) error
}

func (v stringCheck) Description(context.Context) string         { return v.description }
func (v stringCheck) MarkdownDescription(context.Context) string { return v.description }

func (v stringCheck) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if err := v.check(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Attribute Value", err.Error())
	}
}
