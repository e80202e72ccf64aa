package framework

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
)

// The timeouts text names only the operations the block has.
func TestTimeoutOps(t *testing.T) {
	for _, tc := range []struct {
		opts timeouts.Opts
		want string
	}{
		{timeouts.Opts{Create: true, Update: true}, "create and update"},
		{timeouts.Opts{Create: true, Delete: true}, "create and delete"},
		{timeouts.Opts{Create: true, Update: true, Delete: true}, "create, update and delete"},
		{timeouts.Opts{Delete: true}, "delete"},
	} {
		if got := timeoutOps(tc.opts); got != tc.want {
			t.Errorf("timeoutOps(%+v) = %q, want %q", tc.opts, got, tc.want)
		}
	}
}
