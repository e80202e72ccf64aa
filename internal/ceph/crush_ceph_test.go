//go:build ceph

package ceph

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// A replicated ssd rule and an EC profile with its rule, read back from
// their steps and settings; pools on them; neither can go while a pool
// uses it.
func TestRulesAndProfilesOnRealCeph(t *testing.T) {
	_, c := startCeph(t)
	ctx := context.Background()
	if err := c.CreateReplicatedRule(ctx, "fast", "default", "host", "ssd"); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateReplicatedRule(ctx, "fast", "default", "host", "ssd"); !errors.Is(err, ErrExists) {
		t.Errorf("creating it again: %v, want ErrExists", err)
	}
	r, err := c.Rule(ctx, "fast")
	if err != nil {
		t.Fatal(err)
	}
	if r.Type != "replicated" || r.Root != "default" || r.DeviceClass != "ssd" || r.FailureDomain != "host" || r.ID == 0 {
		t.Errorf("rule = %+v", r)
	}
	if _, err := c.Rule(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a missing rule: %v", err)
	}

	if err := c.SetProfile(ctx, ECProfile{Name: "ec21", K: 2, M: 1, FailureDomain: "osd", DeviceClass: "ssd"}); err != nil {
		t.Fatal(err)
	}
	p, err := c.Profile(ctx, "ec21")
	if err != nil {
		t.Fatal(err)
	}
	if p.K != 2 || p.M != 1 || p.FailureDomain != "osd" || p.DeviceClass != "ssd" || p.Plugin == "" {
		t.Errorf("profile = %+v", p)
	}
	if err := c.CreateErasureRule(ctx, "ec21-rule", "ec21"); err != nil {
		t.Fatal(err)
	}
	if er, err := c.Rule(ctx, "ec21-rule"); err != nil || er.Type != "erasure" {
		t.Errorf("erasure rule = %+v, %v", er, err)
	}

	if err := c.CreatePool(ctx, PoolSpec{Name: "fastpool", PGNum: 8, CrushRule: "fast"}); err != nil {
		t.Fatal(err)
	}
	if err := c.CreatePool(ctx, PoolSpec{Name: "ecpool", PGNum: 8, ErasureCodeProfile: "ec21", CrushRule: "ec21-rule"}); err != nil {
		t.Fatal(err)
	}
	if ep, err := c.Pool(ctx, "ecpool"); err != nil || !ep.Erasure() || ep.ErasureCodeProfile != "ec21" {
		t.Errorf("EC pool = %+v, %v", ep, err)
	}
	if err := c.DeleteRule(ctx, "fast"); err == nil || !strings.Contains(err.Error(), "used by pool fastpool") {
		t.Errorf("deleting a rule in use: %v", err)
	}
	if err := c.DeleteProfile(ctx, "ec21"); err == nil || !strings.Contains(err.Error(), "used by pool ecpool") {
		t.Errorf("deleting a profile in use: %v", err)
	}
}
