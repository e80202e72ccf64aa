//go:build !ceph

package ceph_test

import (
	"regexp"
	"testing"

	"github.com/hcilab/terraform-provider-pve/internal/acctest"
)

// Without librados, a CRUSH rule is a plan-time error that says which
// build to use.
func TestAccCephCrushRule_needsCephBuild(t *testing.T) {
	acctest.ExpectPlanError(t, `
resource "pve_ceph_crush_rule" "test" {
  name           = "fast"
  failure_domain = "host"
  device_class   = "ssd"
}
`, regexp.MustCompile(`(?s)Needs the Ceph Build.*make build-ceph`))
}

func TestAccCephErasureCodeProfile_needsCephBuild(t *testing.T) {
	acctest.ExpectPlanError(t, `
resource "pve_ceph_erasure_code_profile" "test" {
  name = "ec21"
  k    = 2
  m    = 1
}
`, regexp.MustCompile(`(?s)Needs the Ceph Build.*make build-ceph`))
}

// The ceph {} block asks for librados, which this build lacks.
func TestAccCephStatus_cephBlockNeedsCephBuild(t *testing.T) {
	acctest.ExpectPlanError(t, `
provider "pve" {
  ceph {
    mon_host = "127.0.0.1:6789"
    key      = "AQAAAAAAAAAAABAAAAAAAAAAAAAAAAAAAAAAAA=="
  }
}

data "pve_ceph_status" "test" {}
`, regexp.MustCompile(`(?s)Needs the Ceph Build`))
}
