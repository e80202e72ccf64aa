package testlab

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

// labCA is the certificate authority of a lab.
type labCA struct {
	cert    *x509.Certificate
	key     crypto.Signer
	certPEM []byte
}

// labCert is the certificate one node serves.
type labCert struct {
	cert        tls.Certificate
	certPEM     []byte
	fingerprint string
}

func newKey() (*ecdsa.PrivateKey, error) {
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

// newLabCA generates the self-signed CA, named like gen_pveca_cert names it.
func newLabCA() (*labCA, error) {
	key, err := newKey()
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
			OrganizationalUnit: []string{randomUUID()},
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
	return &labCA{cert: cert, key: key, certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}, nil
}

// nodeCert issues a node certificate the way gen_pve_ssl_cert does: for
// 127.0.0.1, ::1, localhost, the node's IP and its name. key is the node's
// key (pve-ssl.key), which PVE keeps when it renews the certificate.
func (ca *labCA) nodeCert(name, ip string, key *ecdsa.PrivateKey) (*labCert, error) {
	ips := []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	if parsed := net.ParseIP(ip); parsed != nil {
		ips = append(ips, parsed)
	}
	subject := pkix.Name{
		CommonName:         name,
		OrganizationalUnit: []string{"PVE Cluster Node"},
		Organization:       []string{"Proxmox Virtual Environment"},
	}
	return ca.serverCert(subject, []string{"localhost", name}, ips, key)
}

// serverCert issues a TLS server certificate for the names and addresses.
func (ca *labCA) serverCert(subject pkix.Name, dnsNames []string, ips []net.IP, key *ecdsa.PrivateKey) (*labCert, error) {
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
	return &labCert{
		cert:        tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key},
		certPEM:     pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		fingerprint: fingerprintOf(der),
	}, nil
}

// fingerprintOf returns the SHA-256 of der as "AB:CD:...", the form PVE shows.
func fingerprintOf(der []byte) string {
	sum := sha256.Sum256(der)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}

// serverTLSConfig returns the TLS configuration of a node's listener: it
// serves whatever certificate the node has at the time of the handshake.
// pveproxy speaks HTTP/1.1 only.
func serverTLSConfig(current func() *labCert) *tls.Config {
	return &tls.Config{
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &current().cert, nil },
		MinVersion:     tls.VersionTLS12,
		NextProtos:     []string{"http/1.1"},
	}
}
