// Package simtest holds what the tests of every simulated server use: a
// server started for one test, an HTTP client that trusts the lab's CA,
// polling. It takes plain values, not the simulators' types, so that a
// simulator's own tests can use it.
package simtest

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"testing"
	"time"
)

// Start calls start and closes what it started when the test ends.
func Start[S interface{ Close() error }](t testing.TB, start func() (S, error)) S {
	t.Helper()
	s, err := start()
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// HTTPClient returns a client that trusts only the CA of caPEM.
func HTTPClient(t testing.TB, caPEM string) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(caPEM)) {
		t.Fatal("lab certificate does not parse")
	}
	return &http.Client{
		// longer than pveproxy's 30 s proxy timeout, the longest a PVE
		// call may take to answer (a config update waits 10 s for a lock)
		Timeout:   40 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
	}
}

// WaitUntil polls cond until it holds or 5 seconds pass.
func WaitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
