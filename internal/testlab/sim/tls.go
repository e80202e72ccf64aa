package sim

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"strings"
	"time"
)

// Certificates as a PVE installation has them: a CA of its own
// (/etc/pve/pve-root-ca.pem, "PVE Cluster Manager CA") that signs each
// node's certificate (/etc/pve/nodes/<node>/pve-ssl.pem), which pveproxy
// serves. The lab has one CA for all its nodes, so that a client trusting
// it (CACertPEM) can talk to every node, before and after they form a
// cluster; each node has a certificate of its own, with its own
// fingerprint.

// CA is the certificate authority of a lab.
type CA struct {
	cert *x509.Certificate
	key  crypto.Signer
	// CertPEM is the CA's certificate, PEM-encoded.
	CertPEM []byte
}

// Cert is the certificate one server serves.
type Cert struct {
	// TLS is the certificate with its private key.
	TLS tls.Certificate
	// PEM is the certificate, PEM-encoded.
	PEM []byte
	// Fingerprint is its SHA-256 fingerprint, as FingerprintOf gives it.
	Fingerprint string
}

// NewKey generates a server key (ECDSA P-256).
func NewKey() (*ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("testlab: generate key: %w", err)
	}
	return key, nil
}

func newSerial() (*big.Int, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, fmt.Errorf("testlab: serial: %w", err)
	}
	return serial, nil
}

// NewCA generates the self-signed CA, named like gen_pveca_cert names it.
func NewCA() (*CA, error) {
	key, err := NewKey()
	if err != nil {
		return nil, err
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			CommonName:         "Proxmox Virtual Environment",
			OrganizationalUnit: []string{RandomUUID()},
			Organization:       []string{"PVE Cluster Manager CA"},
		},
		NotBefore:             now.Add(-24 * time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("testlab: create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("testlab: parse CA certificate: %w", err)
	}
	return &CA{cert: cert, key: key, CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}, nil
}

// NodeCert issues a node certificate the way gen_pve_ssl_cert does: for
// 127.0.0.1, ::1, localhost, the node's IP and its name. key is the node's
// key (pve-ssl.key), which PVE keeps when it renews the certificate.
func (ca *CA) NodeCert(name, ip string, key *ecdsa.PrivateKey) (*Cert, error) {
	ips := []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	if parsed := net.ParseIP(ip); parsed != nil {
		ips = append(ips, parsed)
	}
	subject := pkix.Name{
		CommonName:         name,
		OrganizationalUnit: []string{"PVE Cluster Node"},
		Organization:       []string{"Proxmox Virtual Environment"},
	}
	return ca.ServerCert(subject, []string{"localhost", name}, ips, key)
}

// ServerCert issues a TLS server certificate for the names and addresses.
func (ca *CA) ServerCert(subject pkix.Name, dnsNames []string, ips []net.IP, key *ecdsa.PrivateKey) (*Cert, error) {
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               subject,
		NotBefore:             now.Add(-24 * time.Hour),
		NotAfter:              now.AddDate(2, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              dnsNames,
		IPAddresses:           ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, fmt.Errorf("testlab: create server certificate: %w", err)
	}
	return &Cert{
		TLS:         tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key},
		PEM:         pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		Fingerprint: FingerprintOf(der),
	}, nil
}

// FingerprintOf returns the SHA-256 of der as "AB:CD:...", the form PVE shows.
func FingerprintOf(der []byte) string {
	sum := sha256.Sum256(der)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}

// ServerTLSConfig returns the TLS configuration of a node's listener: it
// serves whatever certificate the node has at the time of the handshake.
// pveproxy speaks HTTP/1.1 only.
func ServerTLSConfig(current func() *Cert) *tls.Config {
	return &tls.Config{
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &current().TLS, nil },
		MinVersion:     tls.VersionTLS12,
		NextProtos:     []string{"http/1.1"},
	}
}
