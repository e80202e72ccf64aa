//go:build ceph

package ceph

import (
	"context"
	"testing"
)

// The status of the lab's cluster: one mon in quorum, 3 OSDs up and in.
func TestStatusOnRealCeph(t *testing.T) {
	lab, c := startCeph(t)
	st, err := c.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.FSID != lab.FSID() || st.MonMap.NumMons != 1 || len(st.QuorumNames) != 1 || st.OSDMap.NumOSDs != 3 ||
		st.OSDMap.NumUpOSDs != 3 || st.OSDMap.NumInOSDs != 3 || st.PGMap.BytesTotal == 0 || st.Health.Status == "" {
		t.Errorf("status = %+v", st)
	}
}
