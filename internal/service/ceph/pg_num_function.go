package ceph

import (
	"context"
	"math"

	"github.com/hashicorp/terraform-plugin-framework/function"
)

var _ function.Function = (*pgNumFunction)(nil)

// NewPGNumFunction returns the pg_num function.
func NewPGNumFunction() function.Function { return &pgNumFunction{} }

type pgNumFunction struct{}

func (f *pgNumFunction) Metadata(_ context.Context, _ function.MetadataRequest, resp *function.MetadataResponse) {
	resp.Name = "pg_num"
}

func (f *pgNumFunction) Definition(_ context.Context, _ function.DefinitionRequest, resp *function.DefinitionResponse) {
	resp.Definition = function.Definition{
		Summary: "Recommended placement group count of a pool.",
		Description: "The classic Ceph rule: OSDs x target PGs per OSD / (pools x replicas), rounded to the nearest power " +
			"of two (at least 1). For `pg_num` of a pool that shares the OSDs with `pools - 1` others of the same size; with " +
			"the autoscaler on, Ceph then adjusts it.",
		Parameters: []function.Parameter{
			function.Int64Parameter{Name: "osds", Description: "Number of OSDs the pool's CRUSH rule uses."},
			function.Int64Parameter{Name: "size", Description: "Replicas of the pool (k+m for an erasure-coded pool)."},
			function.Int64Parameter{Name: "pools", Description: "Number of pools of about the same size that share these OSDs."},
		},
		VariadicParameter: function.Int64Parameter{
			Name:        "target_pgs_per_osd",
			Description: "Target PGs per OSD (default 100); at most one value.",
		},
		Return: function.Int64Return{},
	}
}

func (f *pgNumFunction) Run(ctx context.Context, req function.RunRequest, resp *function.RunResponse) {
	var osds, size, pools int64
	var target []int64
	resp.Error = function.ConcatFuncErrors(req.Arguments.Get(ctx, &osds, &size, &pools, &target))
	if resp.Error != nil {
		return
	}
	perOSD := int64(100)
	switch {
	case len(target) > 1:
		resp.Error = function.NewArgumentFuncError(3, "give at most one target_pgs_per_osd")
		return
	case len(target) == 1:
		perOSD = target[0]
	}
	for i, v := range []int64{osds, size, pools, perOSD} {
		if v < 1 {
			resp.Error = function.NewArgumentFuncError(int64(min(i, 3)), "osds, size, pools and target_pgs_per_osd must be at least 1")
			return
		}
	}
	resp.Error = function.ConcatFuncErrors(resp.Result.Set(ctx, PGNum(osds, size, pools, perOSD)))
}

// PGNum is OSDs x per-OSD target / (pools x size), rounded to the nearest
// power of two, at least 1.
func PGNum(osds, size, pools, perOSD int64) int64 {
	raw := float64(osds*perOSD) / float64(pools*size)
	if raw <= 1 {
		return 1
	}
	exp := math.Round(math.Log2(raw))
	return int64(math.Pow(2, exp))
}
