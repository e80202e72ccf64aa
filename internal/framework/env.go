package framework

import (
	"os"
	"strconv"

	"github.com/hashicorp/terraform-plugin-framework/types"
)

// StringOrEnv returns v when it is set in the configuration, else the first
// non-empty environment variable of keys, else "".
func StringOrEnv(v types.String, keys ...string) string {
	if !v.IsNull() && !v.IsUnknown() {
		return v.ValueString()
	}
	for _, k := range keys {
		if s := os.Getenv(k); s != "" {
			return s
		}
	}
	return ""
}

// BoolOrEnv returns v when it is set in the configuration, else the first
// environment variable of keys that parses as a boolean ("1", "true", ...),
// else false.
func BoolOrEnv(v types.Bool, keys ...string) bool {
	if !v.IsNull() && !v.IsUnknown() {
		return v.ValueBool()
	}
	for _, k := range keys {
		if b, err := strconv.ParseBool(os.Getenv(k)); err == nil {
			return b
		}
	}
	return false
}
