package sim

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"net"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// EndpointHost returns host:port for a listener address, replacing an
// unspecified IP with the loopback address so that the endpoint is dialable.
func EndpointHost(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return addr.String()
	}
	ip := tcp.IP
	if ip == nil || ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
	}
	return net.JoinHostPort(ip.String(), fmt.Sprint(tcp.Port))
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./-]+$`)

// ShellQuote quotes s for POSIX shells when it contains anything but safe characters.
func ShellQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// RandomBytes returns n random bytes from crypto/rand.
func RandomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return b
}

// RandomHex returns n random bytes, hex-encoded (2n characters).
func RandomHex(n int) string { return hex.EncodeToString(RandomBytes(n)) }

// RandomUUID returns a random version 4 UUID, the form PVE uses for token secrets.
func RandomUUID() string {
	b := RandomBytes(16)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// SplitPath splits a path into its non-empty segments.
func SplitPath(p string) []string {
	var segs []string
	for _, s := range strings.Split(p, "/") {
		if s != "" {
			segs = append(segs, s)
		}
	}
	return segs
}

// RequestStats counts requests per "METHOD /template", and keeps the
// last RequestLogSize keys in the order they came. The zero value is ready
// to use; it is safe for concurrent use.
type RequestStats struct {
	mu     sync.Mutex
	counts map[string]int
	log    []string
}

// RequestLogSize is how many requests RequestStats.Log keeps.
const RequestLogSize = 4096

// Inc counts one request under key.
func (s *RequestStats) Inc(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.counts == nil {
		s.counts = map[string]int{}
	}
	s.counts[key]++
	if len(s.log) == RequestLogSize {
		s.log = append(s.log[:0:0], s.log[RequestLogSize/2:]...)
	}
	s.log = append(s.log, key)
}

// Log returns the keys of the last requests (up to RequestLogSize), oldest
// first.
func (s *RequestStats) Log() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log)
}

// Snapshot returns a copy of the counts.
func (s *RequestStats) Snapshot() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.counts))
	maps.Copy(out, s.counts)
	return out
}

// Reset sets all counts to zero.
func (s *RequestStats) Reset() {
	s.mu.Lock()
	s.counts = nil
	s.log = nil
	s.mu.Unlock()
}
