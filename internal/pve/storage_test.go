package pve

import (
	"errors"
	"testing"
)

func TestPBSCheckFailedForAMoment(t *testing.T) {
	for msg, want := range map[string]bool{
		"create storage failed: pbs: error fetching datastores - 400 Bad Request":                                         true,
		"create storage failed: pbs: error fetching datastores - 500 Can't connect to 10.0.0.5:8007 (Connection refused)": true,
		"create storage failed: pbs: error fetching datastores - 401 Unauthorized":                                        false,
		"create storage failed: pbs: error fetching datastores - 403 Forbidden":                                           false,
		"create storage failed: pbs: error fetching datastores - fingerprint 'AB:CD' not verified, abort!":                false,
		"create storage failed: storage ID 'pbs' already defined":                                                         false,
	} {
		err := &APIError{Method: "POST", Path: "/storage", StatusCode: 500, Message: msg}
		if got := pbsCheckFailedForAMoment(err); got != want {
			t.Errorf("%q: got %v, want %v", msg, got, want)
		}
	}
	if pbsCheckFailedForAMoment(errors.New("error fetching datastores - 400")) {
		t.Error("an error that is not PVE's answer was taken for one")
	}
}
