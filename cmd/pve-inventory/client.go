package main

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// client GETs JSON from one server, retrying transient failures.
type client struct {
	base           string
	http           *http.Client
	header, value  string
	user, password string
}

// newClient trusts the server by the SHA-256 fingerprint of its
// certificate, or by the PEM CA (which a node's certificate is signed by
// when it joins a cluster and gets a new one), else by the system's roots.
func newClient(base, fingerprint, caPEM, header, value string) *client {
	cfg := &tls.Config{}
	if fingerprint != "" || caPEM != "" {
		want := strings.ToLower(strings.ReplaceAll(fingerprint, ":", ""))
		var pool *x509.CertPool
		if caPEM != "" {
			pool = x509.NewCertPool()
			pool.AppendCertsFromPEM([]byte(caPEM))
		}
		cfg.InsecureSkipVerify = true // checked below
		cfg.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return errors.New("no certificate")
			}
			got := fmt.Sprintf("%x", sha256.Sum256(raw[0]))
			if got == want {
				return nil
			}
			if pool == nil {
				return fmt.Errorf("certificate fingerprint %s, expected %s", got, want)
			}
			leaf, err := x509.ParseCertificate(raw[0])
			if err != nil {
				return err
			}
			inter := x509.NewCertPool()
			for _, r := range raw[1:] {
				if c, err := x509.ParseCertificate(r); err == nil {
					inter.AddCert(c)
				}
			}
			_, err = leaf.Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter})
			return err
		}
	}
	return &client{
		base:   strings.TrimRight(base, "/"),
		http:   &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}},
		header: header, value: value,
	}
}

// errStatus is a non-transient answer other than 200.
type errStatus struct {
	status int
	msg    string
}

func (e *errStatus) Error() string { return fmt.Sprintf("%d %s", e.status, e.msg) }

// get decodes the answer to GET path into out. Answers of a busy or
// unreachable server (502, 503, 504, pveproxy's 595 and 596, PBS's 400
// "error trying to connect" to its API daemon) and failed connections are
// retried for up to two minutes; a 500 is a handler's
// error and final.
func (c *client) get(ctx context.Context, path string, out any) error {
	delay := 100 * time.Millisecond
	deadline := time.Now().Add(2 * time.Minute)
	for {
		err := c.try(ctx, path, out)
		var es *errStatus
		if err == nil || errors.As(err, &es) && !transient(es.status) && !strings.Contains(es.msg, "error trying to connect") || time.Now().After(deadline) || ctx.Err() != nil {
			if err != nil {
				return fmt.Errorf("GET %s: %w", path, err)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 3*time.Second)
	}
}

func transient(status int) bool {
	switch status {
	case 502, 503, 504, 595, 596:
		return true
	}
	return false
}

func (c *client) try(ctx context.Context, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return err
	}
	if c.header != "" {
		req.Header.Set(c.header, c.value)
	}
	if c.user != "" {
		req.SetBasicAuth(c.user, c.password)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return &errStatus{resp.StatusCode, strings.TrimSpace(resp.Status + " " + string(body))}
	}
	return json.Unmarshal(body, out)
}

// getData decodes the "data" member of a PVE or PBS answer.
func (c *client) getData(ctx context.Context, path string, out any) error {
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if err := c.get(ctx, path, &env); err != nil {
		return err
	}
	if len(env.Data) == 0 || string(env.Data) == "null" {
		return nil
	}
	return json.Unmarshal(env.Data, out)
}

// item is one entry of a list answer.
type item map[string]any

func (i item) str(key string) string {
	switch v := i[key].(type) {
	case string:
		return v
	case float64:
		return fmt.Sprintf("%.0f", v)
	case nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
}
