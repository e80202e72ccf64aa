package sim

import (
	"strconv"
	"strings"
)

// PercentDecode decodes %XX escapes, leaving malformed ones as they are,
// and turns invalid UTF-8 in the result into replacement characters. It is
// PVE::Tools::decode_text (URI::Escape's uri_unescape, then Encode::decode
// of UTF-8).
func PercentDecode(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			n, _ := strconv.ParseUint(s[i+1:i+3], 16, 8)
			b.WriteByte(byte(n))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return strings.ToValidUTF8(b.String(), "\uFFFD")
}

// UnescapeForm decodes one name or value of an
// application/x-www-form-urlencoded body or query string: '+' becomes a
// space, then PercentDecode. It models both servers' decoders, which agree
// on this: pveproxy's decode_urlencoded (pve-http-server,
// PVE::APIServer::AnyEvent: s/\+/ /g, then
// s/%([0-9a-fA-F][0-9a-fA-F])/chr(hex($1))/eg, then Encode::decode('utf8'),
// which it applies to values only; the lab's parameter names are ASCII) and
// proxmox-rest-server's form parsing with the url crate's form_urlencoded
// ('+' as space, percent-decoding that keeps malformed escapes, lossy
// UTF-8). How a body is split into pairs and what a repeated name means
// differ between them and stay with each simulator.
func UnescapeForm(s string) string {
	return PercentDecode(strings.ReplaceAll(s, "+", " "))
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}
