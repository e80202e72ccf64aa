package guest

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/types"
)

// HA's placement and run state are not drift: an HA-managed guest keeps
// its prior node and started; an unmanaged one, or an import (no prior
// values), takes what PVE reports.
func TestKeepHAOwned(t *testing.T) {
	for _, tc := range []struct {
		name        string
		managed     bool
		priorNode   types.String
		priorStart  types.Bool
		wantNode    string
		wantStarted bool
	}{
		{"managed", true, types.StringValue("pve1"), types.BoolValue(false), "pve1", false},
		{"not managed", false, types.StringValue("pve1"), types.BoolValue(false), "pve2", true},
		{"import", true, types.StringNull(), types.BoolNull(), "pve2", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			node, started := types.StringValue("pve2"), types.BoolValue(true) // as read from PVE
			KeepHAOwned(tc.managed, &node, &started, tc.priorNode, tc.priorStart)
			if node.ValueString() != tc.wantNode || started.ValueBool() != tc.wantStarted {
				t.Errorf("node %s started %v, want %s %v", node, started, tc.wantNode, tc.wantStarted)
			}
		})
	}
}
