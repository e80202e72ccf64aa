package cephlab

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"
	"time"
)

// keyEntry is one entity of a keyring.
type keyEntry struct {
	name string
	key  string
	caps [][2]string // service, capability
}

// newKey returns a new cephx secret as keyrings hold it: the base64 of
// CryptoKey's encoding (type AES, creation time, length, 16 random bytes).
func newKey() string {
	secret := make([]byte, 16)
	if _, err := rand.Read(secret); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	now := time.Now()
	b := make([]byte, 0, 28)
	b = binary.LittleEndian.AppendUint16(b, 1) // CEPH_CRYPTO_AES
	b = binary.LittleEndian.AppendUint32(b, uint32(now.Unix()))
	b = binary.LittleEndian.AppendUint32(b, uint32(now.Nanosecond()))
	b = binary.LittleEndian.AppendUint16(b, uint16(len(secret)))
	b = append(b, secret...)
	return base64.StdEncoding.EncodeToString(b)
}

// keyringText is a keyring file as ceph-authtool writes it.
func keyringText(entries []keyEntry) string {
	var b strings.Builder
	for _, e := range entries {
		fmt.Fprintf(&b, "[%s]\n\tkey = %s\n", e.name, e.key)
		for _, cp := range e.caps {
			fmt.Fprintf(&b, "\tcaps %s = %q\n", cp[0], cp[1])
		}
	}
	return b.String()
}
