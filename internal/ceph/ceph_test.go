package ceph

import (
	"context"
	"errors"
	"testing"
)

func TestConfig(t *testing.T) {
	if err := (Config{}).validate(); err == nil {
		t.Error("a config without mon_host or config_file is refused")
	}
	if err := (Config{MonHost: "a", Key: "k", KeyringFile: "f"}).validate(); err == nil {
		t.Error("key and keyring_file together are refused")
	}
	if u := (Config{User: "client.admin"}).user(); u != "admin" {
		t.Errorf("user = %q", u)
	}
	if !Built {
		if _, err := Connect(context.Background(), Config{MonHost: "127.0.0.1"}); !errors.Is(err, ErrNotBuilt) {
			t.Errorf("the default build: %v, want ErrNotBuilt", err)
		}
	}
}
