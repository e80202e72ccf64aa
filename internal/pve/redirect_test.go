package pve

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// A redirect is never followed: following it would send the credentials
// to wherever it points.
func TestRedirectNotFollowed(t *testing.T) {
	var reached atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		writeData(w, []any{})
	}))
	t.Cleanup(other.Close)
	f := newFakePVE(t, false)
	f.handle("GET /nodes", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/api2/json/nodes", http.StatusFound)
	})
	c := newTestClient(t, f, nil)
	_, err := c.Nodes(context.Background())
	if err == nil || !strings.Contains(err.Error(), "redirect") {
		t.Fatalf("want an error about the redirect, got %v", err)
	}
	if n := reached.Load(); n != 0 {
		t.Fatalf("the redirect was followed (%d requests reached its target)", n)
	}
}

// Endpoint errors never echo credentials given in the URL.
func TestEndpointErrorRedacted(t *testing.T) {
	for _, raw := range []string{
		"https://root@pam:s3cret@pve1:8006",
		"https://user:s3cret@pve1:8006/api2/json",
		"https://user:s3cret@pve1:notaport",
		"ftp://user:s3cret@pve1",
	} {
		err := Config{Endpoint: raw, APIToken: "root@pam!t=00000000-0000-0000-0000-000000000000"}.Validate()
		if err == nil {
			t.Errorf("%s: accepted", raw)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("the error echoes the password: %v", err)
		}
	}
}

// http:// sends credentials in the clear: only with insecure. insecure
// with a CA to trust is a contradiction.
func TestTransportSecurityChecks(t *testing.T) {
	token := "root@pam!t=00000000-0000-0000-0000-000000000000"
	if err := (Config{Endpoint: "http://pve1:8006", APIToken: token}).Validate(); err == nil || !strings.Contains(err.Error(), "insecure") {
		t.Errorf("http without insecure: %v, want an error naming insecure", err)
	}
	if err := (Config{Endpoint: "http://pve1:8006", APIToken: token, Insecure: true}).Validate(); err != nil {
		t.Errorf("http with insecure: %v", err)
	}
	err := (Config{Endpoint: "https://pve1:8006", APIToken: token, Insecure: true, CACertificate: "-----BEGIN CERTIFICATE-----"}).Validate()
	if err == nil || !strings.Contains(err.Error(), "ca_certificate") {
		t.Errorf("insecure with a CA: %v, want an error", err)
	}
}

// A guest delete asks PVE to destroy unreferenced disks only when told to
// (the guest resources' destroy_unreferenced_disks).
func TestDeleteGuestUnreferencedDisks(t *testing.T) {
	f := newFakePVE(t, false)
	upid := "UPID:pve1:000A1B2C:0012D687:6745A3F1:qmdestroy:100:root@pam:"
	f.addTask(upid, &fakeTask{exit: "OK"})
	var got []string
	f.handle("DELETE /nodes/pve1/qemu/100", func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.URL.Query().Get("destroy-unreferenced-disks")+","+r.URL.Query().Get("purge"))
		writeData(w, upid)
	})
	c := newTestClient(t, f, nil)
	for _, destroy := range []bool{true, false} {
		if _, err := c.DeleteGuest(context.Background(), QEMU, "pve1", 100, destroy); err != nil {
			t.Fatal(err)
		}
	}
	if strings.Join(got, " ") != "1,1 0,1" {
		t.Fatalf("destroy-unreferenced-disks,purge sent: %v, want 1,1 then 0,1", got)
	}
}
