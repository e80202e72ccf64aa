package ceph

import (
	"slices"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/types"
)

func TestPoolSettings(t *testing.T) {
	m := func(size, minSize int64, ratio *float64) *poolModel {
		p := &poolModel{Size: types.Int64Value(size), MinSize: types.Int64Value(minSize), PGNum: types.Int64Null(),
			TargetSizeRatio: types.Float64PointerValue(ratio), TargetSizeBytes: types.Int64Null(), AllowECOverwrites: types.BoolNull()}
		return p
	}
	r := 0.2
	tests := []struct {
		name        string
		plan, prior *poolModel
		want        []setting
	}{
		{"create: size before min_size", m(3, 2, &r), nil,
			[]setting{{"size", "3"}, {"min_size", "2"}, {"target_size_ratio", "0.2"}}},
		{"unchanged", m(3, 2, nil), m(3, 2, nil), nil},
		{"a size change sends min_size again", m(2, 2, nil), m(3, 2, nil),
			[]setting{{"size", "2"}, {"min_size", "2"}}},
		{"min_size alone", m(3, 1, nil), m(3, 2, nil), []setting{{"min_size", "1"}}},
		{"a removed target is cleared", m(3, 2, nil), m(3, 2, &r), []setting{{"target_size_ratio", "0"}}},
	}
	for _, tt := range tests {
		if got := poolSettings(tt.plan, tt.prior); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestApplicationChange(t *testing.T) {
	app := func(s string) *poolModel {
		if s == "" {
			return &poolModel{Application: types.StringNull()}
		}
		return &poolModel{Application: types.StringValue(s)}
	}
	if e, d := applicationChange(app("rbd"), nil); e != "rbd" || d != nil {
		t.Errorf("create: %q %v", e, d)
	}
	if e, d := applicationChange(app("cephfs"), app("rbd")); e != "cephfs" || !slices.Equal(d, []string{"rbd"}) {
		t.Errorf("change: %q %v", e, d)
	}
	if e, d := applicationChange(app(""), app("rbd")); e != "" || d != nil {
		t.Errorf("left out: %q %v", e, d)
	}
}
