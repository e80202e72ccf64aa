package redfish

import (
	"context"
	"errors"
	"testing"

	"github.com/hcilab/terraform-provider-pve/internal/testlab"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/bmcsim"
)

// labClient starts a one-node lab whose BMC behaves as variant, and a
// client for that BMC.
func labClient(t *testing.T, variant bmcsim.Variant, password string) (*testlab.Lab, *Client) {
	t.Helper()
	lab, err := testlab.Start(testlab.Options{Nodes: 1, BMC: variant, SchemaPath: "-"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lab.Close() })
	if password == "" {
		password = lab.BMCPassword()
	}
	c, err := New(Config{Endpoint: lab.BMCEndpoint("pve1"), Username: lab.BMCUsername(), Password: password,
		CACertificate: lab.CACertPEM()})
	if err != nil {
		t.Fatal(err)
	}
	return lab, c
}

// A BMC that refuses session logins is talked to with basic
// authentication; one that has sessions gets one per operation, logged
// out afterwards.
func TestSessionsAndBasicAuthFallback(t *testing.T) {
	for _, tc := range []struct {
		name      string
		variant   bmcsim.Variant
		wantBasic bool
	}{
		{"sessions", bmcsim.Variant{}, false},
		{"no sessions", bmcsim.Variant{NoSessions: true}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lab, c := labClient(t, tc.variant, "")
			var basic bool
			var during int
			err := c.Do(context.Background(), func(s *Session) error {
				basic = s.Basic
				during = lab.BMC("pve1").SessionCount()
				_, err := s.System("")
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if basic != tc.wantBasic {
				t.Errorf("basic auth = %v, want %v", basic, tc.wantBasic)
			}
			if want := map[bool]int{false: 1, true: 0}[tc.wantBasic]; during != want {
				t.Errorf("%d sessions during the operation, want %d", during, want)
			}
			if n := lab.BMC("pve1").SessionCount(); n != 0 {
				t.Errorf("%d sessions left after the operation", n)
			}
		})
	}
}

// A wrong password is ErrAuthentication, with sessions and with basic
// authentication alike.
func TestWrongPassword(t *testing.T) {
	for _, variant := range []bmcsim.Variant{{}, {NoSessions: true}} {
		_, c := labClient(t, variant, "wrong")
		err := c.Do(context.Background(), func(s *Session) error {
			_, err := s.System("")
			return err
		})
		if !errors.Is(err, ErrAuthentication) {
			t.Errorf("no sessions %v: %v, want ErrAuthentication", variant.NoSessions, err)
		}
	}
}
