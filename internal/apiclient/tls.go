package apiclient

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
)

// TLSOptions are a client's certificate settings.
type TLSOptions struct {
	// Insecure skips verification.
	Insecure bool
	// CACertificate is a PEM bundle trusted besides the system roots.
	CACertificate string
	// Fingerprint pins the server's leaf certificate (SHA-256).
	Fingerprint string
}

// NewTLSConfig builds the TLS settings of validated options.
//
// A fingerprint pins the server's leaf certificate and replaces chain and
// host name verification, as Proxmox's own tools (pvesh, proxmox-backup-client,
// PVE's PBS storage) do. Otherwise insecure skips verification, and a CA bundle is
// trusted in addition to the system roots.
func NewTLSConfig(endpoint string, cfg TLSOptions) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	switch {
	case cfg.Fingerprint != "":
		want, err := ParseFingerprint(cfg.Fingerprint)
		if err != nil {
			return nil, err
		}
		// Chain verification is replaced by the pin checked in VerifyConnection.
		tc.InsecureSkipVerify = true //nolint:gosec // the leaf certificate is pinned below
		tc.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return fmt.Errorf("TLS fingerprint check for %s: server presented no certificate", endpoint)
			}
			if got := sha256.Sum256(cs.PeerCertificates[0].Raw); got != want {
				return &FingerprintError{Endpoint: endpoint, Got: got, Want: want}
			}
			return nil
		}
	case cfg.Insecure:
		tc.InsecureSkipVerify = true //nolint:gosec // asked for with insecure = true
	case cfg.CACertificate != "":
		certs, err := ParseCertificates(cfg.CACertificate)
		if err != nil {
			return nil, err
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		for _, c := range certs {
			pool.AddCert(c)
		}
		tc.RootCAs = pool
	}
	return tc, nil
}

// ParseFingerprint reads a SHA-256 fingerprint: 64 hex digits in either case,
// optionally separated by colons.
func ParseFingerprint(s string) ([sha256.Size]byte, error) {
	var d [sha256.Size]byte
	h := strings.ReplaceAll(strings.TrimSpace(s), ":", "")
	if len(h) != 2*sha256.Size {
		return d, fmt.Errorf("invalid tls_fingerprint %q: expected a SHA-256 fingerprint of 64 hex digits, optionally colon-separated", s)
	}
	if _, err := hex.Decode(d[:], []byte(h)); err != nil {
		return d, fmt.Errorf("invalid tls_fingerprint %q: expected a SHA-256 fingerprint of 64 hex digits, optionally colon-separated", s)
	}
	return d, nil
}

// FormatFingerprint renders a fingerprint as PVE and PBS show it: AA:BB:...
func FormatFingerprint(d [sha256.Size]byte) string {
	const digits = "0123456789ABCDEF"
	b := make([]byte, 0, 3*len(d)-1)
	for i, x := range d {
		if i > 0 {
			b = append(b, ':')
		}
		b = append(b, digits[x>>4], digits[x&0x0f])
	}
	return string(b)
}

// ParseCertificates reads every certificate of a PEM bundle; there must be
// at least one.
func ParseCertificates(bundle string) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	rest := []byte(bundle)
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("invalid ca_certificate: certificate %d: %w", len(certs)+1, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("invalid ca_certificate: no PEM \"CERTIFICATE\" block found")
	}
	return certs, nil
}

// fingerprintError: the server's certificate is not the pinned one.
type FingerprintError struct {
	Endpoint  string
	Got, Want [sha256.Size]byte
}

func (e *FingerprintError) Error() string {
	return fmt.Sprintf("TLS fingerprint mismatch for %s: server presented SHA256 %s, expected %s",
		e.Endpoint, FormatFingerprint(e.Got), FormatFingerprint(e.Want))
}

// DescribeTLSError explains a failed certificate check in the provider's
// terms, or returns nil when err is not one.
func DescribeTLSError(endpoint string, err error) error {
	var fe *FingerprintError
	if errors.As(err, &fe) {
		return fe
	}
	var ua x509.UnknownAuthorityError
	if errors.As(err, &ua) {
		return fmt.Errorf("the certificate of %s is not trusted: set ca_certificate or tls_fingerprint, or insecure = true: %w", endpoint, err)
	}
	var he x509.HostnameError
	if errors.As(err, &he) {
		return fmt.Errorf("the certificate of %s is not valid for the name %s: connect by a name it lists, or set tls_fingerprint or insecure = true: %w", endpoint, he.Host, err)
	}
	var ci x509.CertificateInvalidError
	if errors.As(err, &ci) {
		return fmt.Errorf("the certificate of %s is invalid: %w", endpoint, err)
	}
	var cv *tls.CertificateVerificationError
	if errors.As(err, &cv) {
		return fmt.Errorf("cannot verify the certificate of %s: %w", endpoint, err)
	}
	return nil
}

// ServerFingerprint connects to the server and returns the SHA-256
// fingerprint of its leaf certificate as Proxmox displays it (upper-case hex,
// colon-separated): the value PVE's PBS storage wants as "fingerprint". The
// connection is checked as the client's requests are (CA, pin or insecure),
// so an untrusted server is an error unless the client was told to accept
// it.
func ServerFingerprint(ctx context.Context, endpoint string, tc *tls.Config, timeout time.Duration) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", err
	}
	if u.Scheme != "https" {
		return "", fmt.Errorf("server fingerprint of %s: the endpoint does not use https, so there is no certificate", endpoint)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "443")
	}
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: timeout}, Config: tc.Clone()}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := d.DialContext(dctx, "tcp", addr)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return "", fmt.Errorf("server fingerprint of %s: %w", endpoint, cerr)
		}
		if terr := DescribeTLSError(endpoint, err); terr != nil {
			return "", terr
		}
		return "", &NetError{Msg: "cannot reach " + endpoint, Err: err, Transient: true, Unsent: true}
	}
	defer func() { _ = conn.Close() }()
	certs := conn.(*tls.Conn).ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return "", fmt.Errorf("server fingerprint of %s: the server presented no certificate", endpoint)
	}
	return FormatFingerprint(sha256.Sum256(certs[0].Raw)), nil
}
