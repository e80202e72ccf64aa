package pbssim

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha3"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/sim"
)

// Authentication as proxmox-auth-api does it for PBS (api/mod.rs
// http_check_auth, api/access.rs, ticket.rs): a ticket in the
// PBSAuthCookie cookie (the CSRFPreventionToken header is needed for every
// method but GET), or an API token in "Authorization: PBSAPIToken=
// <tokenid>:<secret>" (or "PBSAPIToken <tokenid>:<secret>"). Failures are
// answered 401 "authentication failed - <why>" (rest.rs). Tickets are
// "PBS:<userid>:<hex time>::<signature>" (ticket.rs); the lab signs them
// with an HMAC instead of PBS's key pair, which clients cannot tell.

// ticketLifetime is proxmox-auth-api's TICKET_LIFETIME (2 hours).
const ticketLifetime = 7200

const (
	cookieName     = "PBSAuthCookie"
	hostCookieName = "__Host-PBSAuthCookie"
	tokenPrefix    = "PBSAPIToken"
)

var (
	safeIDRE = regexp.MustCompile(`^(?:[A-Za-z0-9_][A-Za-z0-9._\-]*)$`)
	useridRE = regexp.MustCompile(`^(?:[^\s:/[:cntrl:]]+)@(?:[A-Za-z0-9_][A-Za-z0-9._\-]*)$`)
)

// apiToken is a token section of user.cfg.
type apiToken struct {
	id    string         // "root@pam!name"
	props map[string]any // comment, enable (only false is stored), expire
}

// extractCookie is proxmox-rest-server's extract_cookie.
func extractCookie(cookie, name string) (string, bool) {
	for _, pair := range strings.Split(cookie, ";") {
		k, v, ok := strings.Cut(pair, "=")
		if !ok {
			continue
		}
		if strings.TrimSpace(k) == name {
			if dec, err := url.PathUnescape(strings.TrimSpace(v)); err == nil {
				return dec, true
			}
		}
	}
	return "", false
}

// checkAuth is http_check_auth: the authenticated ID or why not.
func (s *Server) checkAuth(req *http.Request) (string, error) {
	cookie := req.Header.Get("Cookie")
	ticket, ok := extractCookie(cookie, cookieName)
	if !ok {
		ticket, ok = extractCookie(cookie, hostCookieName)
	}
	if ok {
		user, err := s.verifyTicket(ticket)
		if err != nil {
			return "", err
		}
		if user != labUser {
			return "", errors.New("user account disabled or expired.")
		}
		if req.Method != http.MethodGet {
			csrf := req.Header.Get("CSRFPreventionToken")
			if csrf == "" {
				return "", errors.New("missing CSRF prevention token")
			}
			if err := s.verifyCSRF(user, csrf); err != nil {
				return "", fmt.Errorf("invalid csrf token - %w", err)
			}
		}
		return user, nil
	}
	authz := req.Header.Get("Authorization")
	if rest, ok := strings.CutPrefix(authz, tokenPrefix); ok && (strings.HasPrefix(rest, "=") || strings.HasPrefix(rest, " ")) {
		return s.verifyToken(rest[1:])
	}
	return "", errors.New("no authentication credentials provided.")
}

// verifyToken checks "<tokenid>:<secret>".
func (s *Server) verifyToken(raw string) (string, error) {
	id, secret, hasSecret := strings.Cut(raw, ":")
	if err := parseAuthid(id); err != nil {
		return "", err
	}
	s.mu.Lock()
	tok := s.tokenLocked(id)
	active := tok != nil && strings.HasPrefix(id, labUser+"!") && tokenActive(tok)
	want, known := s.secrets[id]
	s.mu.Unlock()
	if !active {
		return "", errors.New("user account or token disabled or expired.")
	}
	if !hasSecret {
		return "", errors.New("failed to split API token header")
	}
	dec, err := url.PathUnescape(secret)
	if err != nil {
		return "", errors.New("failed to decode API token header")
	}
	if !known {
		return "", errors.New("invalid API token")
	}
	if !hmac.Equal([]byte(dec), []byte(want)) {
		return "", errors.New("invalid credentials")
	}
	return id, nil
}

func tokenActive(t *apiToken) bool {
	if en, ok := t.props["enable"].(bool); ok && !en {
		return false
	}
	if exp, ok := t.props["expire"].(int64); ok && exp > 0 && exp <= time.Now().Unix() {
		return false
	}
	return true
}

// parseAuthid is Authid's FromStr (recalled from pbs-api-types, not
// found in the indexed sources).
func parseAuthid(id string) error {
	at := strings.LastIndexByte(id, '@')
	if at < 0 {
		return errors.New("not a valid user id")
	}
	user := id
	if bang := strings.LastIndexByte(id, '!'); bang > at {
		if bang == len(id)-1 {
			return errors.New("empty token name in userid")
		}
		user = id[:bang]
		if !safeIDRE.MatchString(id[bang+1:]) {
			return errors.New("value does not match the regex pattern")
		}
	}
	if !useridRE.MatchString(user) {
		return errors.New("value does not match the regex pattern")
	}
	return nil
}

// assembleTicket signs a full ticket for user.
func (s *Server) assembleTicket(user string, now time.Time) string {
	data := fmt.Sprintf("PBS:%s:%08X", ticketEscape(user), now.Unix())
	mac := hmac.New(sha256.New, s.ticketKey)
	mac.Write([]byte(data))
	return data + "::" + base64.RawStdEncoding.EncodeToString(mac.Sum(nil))
}

// ticketEscape percent-encodes control characters and colons, as the
// ticket data is written (TICKET_ASCIISET).
func ticketEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f || c == ':' {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// verifyTicket is Ticket::parse plus verify_with_time_frame(-300..7200)
// and require_full; it returns the user.
func (s *Server) verifyTicket(ticket string) (string, error) {
	parts := strings.SplitN(ticket, ":", 4)
	if len(parts) < 2 {
		return "", errors.New("ticket without data")
	}
	if len(parts) < 3 {
		return "", errors.New("ticket without timestamp")
	}
	ts, err := strconv.ParseInt(parts[2], 16, 64)
	if err != nil {
		return "", fmt.Errorf("ticket with bad timestamp: %s", rustIntError(parts[2]))
	}
	if len(parts) < 4 {
		return "", errors.New("ticket without signature")
	}
	if !strings.HasPrefix(parts[3], ":") {
		return "", errors.New("ticket without signature separator")
	}
	sig, err := base64.RawStdEncoding.DecodeString(parts[3][1:])
	if err != nil {
		return "", fmt.Errorf("ticket with bad signature: %s", err) // guessed: the base64 crate's wording differs
	}
	prefix, _ := url.PathUnescape(parts[0])
	if prefix != "PBS" {
		return "", errors.New("ticket with invalid prefix")
	}
	age := time.Now().Unix() - ts
	if age < -300 {
		return "", errors.New("invalid ticket - timestamp newer than expected")
	}
	if age > ticketLifetime {
		return "", errors.New("invalid ticket - expired")
	}
	mac := hmac.New(sha256.New, s.ticketKey)
	mac.Write([]byte(strings.Join(parts[:3], ":")))
	if !hmac.Equal(sig, mac.Sum(nil)) {
		return "", errors.New("ticket with invalid signature")
	}
	user, _ := url.PathUnescape(parts[1])
	if strings.HasPrefix(user, "!tfa!") {
		return "", errors.New("ticket is a partial ticket") // guessed
	}
	return user, nil
}

// rustIntError is the message of Rust's integer parsing for v.
func rustIntError(v string) string {
	if v == "" {
		return "cannot parse integer from empty string"
	}
	return "invalid digit found in string"
}

// csrfToken is assemble_csrf_prevention_token: "<hex time>:<base64 of
// an HMAC-SHA3-256 over "<hex time>:<userid>:">".
func (s *Server) csrfToken(user string, now time.Time) string {
	ts := fmt.Sprintf("%08X", now.Unix())
	return ts + ":" + base64.RawStdEncoding.EncodeToString(s.csrfDigest(ts, user))
}

func (s *Server) csrfDigest(ts, user string) []byte {
	mac := hmac.New(func() hash.Hash { return sha3.New256() }, s.csrfKey)
	mac.Write([]byte(ts + ":" + user + ":"))
	return mac.Sum(nil)
}

// verifyCSRF is verify_csrf_prevention_token_do with -300..7200.
func (s *Server) verifyCSRF(user, token string) error {
	ts, sigText, ok := strings.Cut(token, ":")
	if !ok || strings.Contains(sigText, ":") {
		return errors.New("format error - wrong number of parts.")
	}
	sig, err := base64.RawStdEncoding.DecodeString(sigText)
	if err != nil {
		return fmt.Errorf("could not base64 decode csrf signature - %s", err) // guessed wording of the base64 error
	}
	t, err := strconv.ParseInt(ts, 16, 64)
	if err != nil {
		return fmt.Errorf("timestamp format error - %s", rustIntError(ts))
	}
	if !hmac.Equal(sig, s.csrfDigest(ts, user)) {
		return errors.New("invalid signature.")
	}
	age := time.Now().Unix() - t
	if age < -300 {
		return errors.New("timestamp newer than expected.")
	}
	if age > ticketLifetime {
		return errors.New("timestamp too old.")
	}
	return nil
}

func (s *Server) registerAuthRoutes() {
	s.routes.handle(http.MethodPost, "/access/ticket", s.createTicket, true)
	s.routes.handle(http.MethodDelete, "/access/ticket", s.logout, true)
	s.routes.handle(http.MethodGet, "/access/users", s.listUsers, false)
	s.routes.handle(http.MethodGet, "/access/users/{userid}/token", s.listTokens, false)
	s.routes.handle(http.MethodGet, "/access/users/{userid}/token/{token-name}", s.readToken, false)
	s.routes.handle(http.MethodPost, "/access/users/{userid}/token/{token-name}", s.generateToken, false)
	s.routes.handle(http.MethodPut, "/access/users/{userid}/token/{token-name}", s.updateToken, false)
	s.routes.handle(http.MethodDelete, "/access/users/{userid}/token/{token-name}", s.deleteToken, false)
}

// createTicket serves POST /access/ticket (create_ticket_http_only). Every
// authentication failure is the same answer: 401 "permission check
// failed.".
func (s *Server) createTicket(r *request) (any, error) {
	username, _ := r.str("username")
	password, ok := r.str("password")
	httpOnly := r.boolean("http-only", false)
	if httpOnly && !ok { // a ticket in the __Host- cookie may stand for the password
		if t, found := extractCookie(r.header.Get("Cookie"), hostCookieName); found {
			password, ok = t, true
		}
	}
	if !ok {
		return nil, errors.New("no password provided")
	}
	fail := httpErr(http.StatusUnauthorized, "permission check failed.")
	if username != labUser {
		return nil, fail // unknown realm or user
	}
	if strings.HasPrefix(password, "PBS:") {
		user, err := s.verifyTicket(password)
		if err != nil || user != username {
			if password != s.password {
				return nil, fail
			}
		}
	} else if password != s.password {
		return nil, fail
	}
	now := time.Now()
	ticket := s.assembleTicket(username, now)
	res := map[string]any{"username": username, "CSRFPreventionToken": s.csrfToken(username, now)}
	if !httpOnly {
		res["ticket"] = ticket
		return res, nil
	}
	// Guessed: the HttpOnly flow returns the unsigned ticket data as
	// ticket-info and the ticket in a __Host- cookie.
	res["ticket-info"] = ticket[:strings.Index(ticket, "::")]
	body, _ := json.Marshal(map[string]any{"data": res})
	expire := now.Add(ticketLifetime * time.Second).UTC().Format(http.TimeFormat)
	return &rawResponse{ctype: "application/json", body: body, headers: [][2]string{{"set-cookie",
		hostCookieName + "=" + ticket + "; Expires=" + expire + "; Secure; SameSite=Lax; HttpOnly; Path=/;"}}}, nil
}

// logout serves DELETE /access/ticket: it unsets the cookie.
func (s *Server) logout(*request) (any, error) {
	return &rawResponse{headers: [][2]string{{"set-cookie",
		hostCookieName + "=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Secure; SameSite=Lax; HttpOnly; Path=/;"}}}, nil
}

func (s *Server) tokenLocked(id string) *apiToken {
	for _, t := range s.tokens {
		if t.id == id {
			return t
		}
	}
	return nil
}

// userCfgLocked is user.cfg as PBS writes it (section config: keys in
// sorted order, sections separated by a blank line). Guessed: the installer
// gives root@pam the comment "Superuser".
func (s *Server) userCfgLocked() string {
	sections := []string{"user: root@pam\n\tcomment Superuser\n\tenable true\n\texpire 0\n"}
	for _, t := range s.tokens {
		sections = append(sections, sectionText("token", t.id, t.props))
	}
	return strings.Join(sections, "\n")
}

func (s *Server) userDigestLocked() string { return sha256Hex(s.userCfgLocked()) }

func sha256Hex(text string) string {
	sum := sha256.Sum256([]byte(text))
	return hex.EncodeToString(sum[:])
}

// checkDigest is detect_modified_configuration_file.
func checkDigest(r *request, current string) error {
	if d, ok := r.str("digest"); ok && d != current {
		return errors.New("detected modified configuration - file changed by other user? Try again.")
	}
	return nil
}

func tokenEntry(t *apiToken) map[string]any {
	m := maps.Clone(t.props)
	m["tokenid"] = t.id
	return m
}

// listUsers serves GET /access/users.
func (s *Server) listUsers(r *request) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := map[string]any{"userid": labUser, "comment": "Superuser", "enable": true, "expire": 0}
	if r.boolean("include_tokens", false) {
		toks := []map[string]any{}
		for _, t := range s.tokens {
			toks = append(toks, tokenEntry(t))
		}
		u["tokens"] = toks
	}
	r.attrs["digest"] = s.userDigestLocked()
	return []map[string]any{u}, nil
}

func tokenID(r *request) string {
	user, _ := r.str("userid")
	name, _ := r.str("token-name")
	return user + "!" + name
}

// listTokens serves GET /access/users/{userid}/token.
func (s *Server) listTokens(r *request) (any, error) {
	user, _ := r.str("userid")
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []map[string]any{}
	for _, t := range s.tokens {
		if u, name, _ := strings.Cut(t.id, "!"); u == user {
			e := tokenEntry(t)
			e["token-name"] = name
			out = append(out, e)
		}
	}
	r.attrs["digest"] = s.userDigestLocked()
	return out, nil
}

// readToken serves GET /access/users/{userid}/token/{token-name}.
func (s *Server) readToken(r *request) (any, error) {
	id := tokenID(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tokenLocked(id)
	if t == nil {
		return nil, fmt.Errorf("no such token '%s'", id)
	}
	r.attrs["digest"] = s.userDigestLocked()
	return tokenEntry(t), nil
}

// generateToken serves POST /access/users/{userid}/token/{token-name}.
func (s *Server) generateToken(r *request) (any, error) {
	user, _ := r.str("userid")
	name, _ := r.str("token-name")
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := checkDigest(r, s.userDigestLocked()); err != nil {
		return nil, err
	}
	props := map[string]any{}
	if c, ok := r.str("comment"); ok {
		props["comment"] = c
	}
	if e, ok := r.Params["enable"].(bool); ok {
		props["enable"] = e
	}
	if e, ok := r.integer("expire"); ok {
		props["expire"] = e
	}
	return s.generateTokenLocked(user, name, props)
}

func (s *Server) generateTokenLocked(user, name string, props map[string]any) (map[string]any, error) {
	id := user + "!" + name
	if s.tokenLocked(id) != nil {
		return nil, fmt.Errorf("token '%s' for user '%s' already exists.", name, user)
	}
	secret := sim.RandomUUID()
	s.secrets[id] = secret
	s.tokens = append(s.tokens, &apiToken{id: id, props: props})
	return map[string]any{"tokenid": id, "value": secret}, nil
}

// updateToken serves PUT /access/users/{userid}/token/{token-name}.
func (s *Server) updateToken(r *request) (any, error) {
	id := tokenID(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := checkDigest(r, s.userDigestLocked()); err != nil {
		return nil, err
	}
	t := s.tokenLocked(id)
	if t == nil {
		return nil, fmt.Errorf("no such token '%s'", id)
	}
	if del, ok := r.Params["delete"].([]any); ok {
		for _, d := range del {
			if d == "comment" {
				delete(t.props, "comment")
			}
		}
	}
	if c, ok := r.str("comment"); ok {
		if c = strings.TrimSpace(c); c == "" {
			delete(t.props, "comment")
		} else {
			t.props["comment"] = c
		}
	}
	if e, ok := r.Params["enable"].(bool); ok {
		if e {
			delete(t.props, "enable")
		} else {
			t.props["enable"] = false
		}
	}
	if e, ok := r.integer("expire"); ok {
		if e > 0 {
			t.props["expire"] = e
		} else {
			delete(t.props, "expire")
		}
	}
	if r.boolean("regenerate", false) {
		secret := sim.RandomUUID()
		s.secrets[id] = secret
		return map[string]any{"secret": secret}, nil
	}
	return nil, nil
}

// deleteToken serves DELETE /access/users/{userid}/token/{token-name}.
func (s *Server) deleteToken(r *request) (any, error) {
	user, _ := r.str("userid")
	name, _ := r.str("token-name")
	id := user + "!" + name
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := checkDigest(r, s.userDigestLocked()); err != nil {
		return nil, err
	}
	i := slices.IndexFunc(s.tokens, func(t *apiToken) bool { return t.id == id })
	if i < 0 {
		return nil, fmt.Errorf("token '%s' of user '%s' does not exist.", name, user)
	}
	s.tokens = slices.Delete(s.tokens, i, i+1)
	delete(s.secrets, id)
	return nil, nil
}
