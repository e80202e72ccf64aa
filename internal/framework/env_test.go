package framework

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/types"
)

func TestStringOrEnv(t *testing.T) {
	t.Setenv("A", "")
	t.Setenv("B", "from-b")
	if got := StringOrEnv(types.StringValue("set"), "B"); got != "set" {
		t.Errorf("configuration must win, got %q", got)
	}
	if got := StringOrEnv(types.StringNull(), "A", "B"); got != "from-b" {
		t.Errorf("want the first non-empty variable, got %q", got)
	}
	if got := StringOrEnv(types.StringNull(), "A"); got != "" {
		t.Errorf("want empty, got %q", got)
	}
}

func TestBoolOrEnv(t *testing.T) {
	t.Setenv("YES", "1")
	t.Setenv("JUNK", "maybe")
	if !BoolOrEnv(types.BoolNull(), "YES") {
		t.Error("PVE_INSECURE=1 must read as true")
	}
	if BoolOrEnv(types.BoolValue(false), "YES") {
		t.Error("configuration must win over the environment")
	}
	if BoolOrEnv(types.BoolNull(), "JUNK") {
		t.Error("an unparsable value must read as false")
	}
}
