package apiclient

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/url"
	"strings"
	"unicode/utf8"
)

// logBody is a request or response body for the trace log: secret fields of
// form and JSON bodies are masked, as is every known secret anywhere, and
// only the first maxLoggedBody bytes are shown. It is rendered only if the
// entry is actually written, and then only as far as it is shown: a JSON
// body is re-encoded token by token up to the cap, not decoded whole (a
// /cluster/resources of a thousand guests is hundreds of KiB).
type logBody struct {
	contentType string
	data        []byte
	streamed    bool // the body was sent as a stream and is not at hand
	secrets     []string
}

func (b logBody) String() string {
	if b.streamed {
		return "(streamed body not shown)"
	}
	if len(b.data) == 0 {
		return ""
	}
	// Render a little more than is shown, so that a secret that starts
	// before the cut is whole, and masked, before the cut is made.
	longest := 0
	for _, s := range b.secrets {
		longest = max(longest, len(s))
	}
	limit := maxLoggedBody + longest
	for {
		s, truncated, ok := b.render(limit)
		if !ok || !truncated || len(s) >= maxLoggedBody || limit >= len(b.data) {
			return b.finish(s, truncated)
		}
		limit *= 2 // masking shortened it below the cap: render more
	}
}

// render renders up to about limit bytes of the body, masked: ok is false
// when s is a note that the body is not shown.
func (b logBody) render(limit int) (s string, truncated, ok bool) {
	mt, _, _ := mime.ParseMediaType(b.contentType)
	switch {
	case mt == "application/x-www-form-urlencoded":
		vals, err := url.ParseQuery(string(b.data))
		if err != nil {
			return fmt.Sprintf("(%d bytes of malformed form data not shown)", len(b.data)), false, false
		}
		s = redactValues(vals)
	case mt == "application/json" || json.Valid(b.data):
		var err error
		if s, truncated, err = redactJSONPrefix(b.data, limit); err != nil {
			return fmt.Sprintf("(%d bytes of malformed JSON not shown)", len(b.data)), false, false
		}
	default:
		s = string(b.data[:min(len(b.data), limit)])
		truncated = len(b.data) > limit
	}
	for _, secret := range b.secrets {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, redacted)
		}
	}
	return s, truncated, true
}

// finish cuts a rendered body to the cap.
func (b logBody) finish(s string, truncated bool) string {
	if truncated || len(s) > maxLoggedBody {
		cut := min(len(s), maxLoggedBody)
		for cut > 0 && cut < len(s) && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = fmt.Sprintf("%s... (%d bytes in all)", s[:cut], len(b.data))
	}
	return s
}

// MarshalJSON renders the body as a JSON string for JSON loggers.
func (b logBody) MarshalJSON() ([]byte, error) { return json.Marshal(b.String()) }

// redactJSONPrefix re-encodes JSON with the values of secret fields
// (SensitiveKey, at any depth) masked, in the order the fields came, and
// stops once it has written limit bytes (truncated is then true).
func redactJSONPrefix(data []byte, limit int) (out string, truncated bool, err error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var buf bytes.Buffer
	type frame struct {
		object  bool
		n       int  // members (object) or elements (array) so far
		wantKey bool // an object's next token is a key
	}
	var stack []*frame
	scalar := func(tok json.Token) error {
		switch v := tok.(type) {
		case string:
			enc, err := json.Marshal(v)
			if err != nil {
				return err
			}
			buf.Write(enc)
		case json.Number:
			buf.WriteString(v.String())
		case bool:
			fmt.Fprint(&buf, v)
		case nil:
			buf.WriteString("null")
		default:
			return fmt.Errorf("unexpected token %v", tok)
		}
		return nil
	}
	for {
		if buf.Len() >= limit {
			return buf.String(), true, nil
		}
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			if len(stack) > 0 {
				return "", false, io.ErrUnexpectedEOF
			}
			break
		}
		if err != nil {
			return "", false, err
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			buf.WriteByte(byte(d))
			if len(stack) > 0 && stack[len(stack)-1].object {
				stack[len(stack)-1].wantKey = true
			}
			continue
		}
		if top != nil && top.object && top.wantKey {
			key, _ := tok.(string)
			if top.n > 0 {
				buf.WriteByte(',')
			}
			top.n++
			if err := scalar(key); err != nil {
				return "", false, err
			}
			buf.WriteByte(':')
			top.wantKey = false
			if SensitiveKey(key) {
				var skip json.RawMessage
				if err := dec.Decode(&skip); err != nil {
					return "", false, err
				}
				buf.WriteString(`"` + redacted + `"`)
				top.wantKey = true
			}
			continue
		}
		if top != nil && !top.object {
			if top.n > 0 {
				buf.WriteByte(',')
			}
			top.n++
		}
		if d, ok := tok.(json.Delim); ok {
			buf.WriteByte(byte(d))
			stack = append(stack, &frame{object: d == '{', wantKey: d == '{'})
			continue
		}
		if err := scalar(tok); err != nil {
			return "", false, err
		}
		if top != nil && top.object {
			top.wantKey = true
		}
	}
	return buf.String(), false, nil
}
