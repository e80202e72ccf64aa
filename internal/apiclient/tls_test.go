package apiclient

import (
	"strings"
	"testing"
)

func TestFingerprintFormat(t *testing.T) {
	d, err := ParseFingerprint(" aa:BB:" + strings.Repeat("0f", 30) + " ")
	if err != nil {
		t.Fatal(err)
	}
	want := "AA:BB:" + strings.TrimSuffix(strings.Repeat("0F:", 30), ":")
	if got := FormatFingerprint(d); got != want {
		t.Errorf("FormatFingerprint = %q, want %q", got, want)
	}
}
