package pvesim

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Authentication as pveproxy does it (PVE::HTTPServer::auth_handler): a
// ticket in the PVEAuthCookie cookie (or in an "Authorization:
// PVEAuthCookie=..." header), with a CSRFPreventionToken header on every
// call but GET; or an API token in "Authorization: PVEAPIToken=...",
// which needs no CSRF token.

// Ticket lifetime limits of PVE::AccessControl (seconds).
const (
	ticketMinAge = -300
	ticketMaxAge = 7200
)

// authInfo is the result of authenticating a request.
type authInfo struct {
	user     string // the user, or the token ID for token calls
	apiToken string // raw token header value, also when not verified
}

var (
	ticketRE      = regexp.MustCompile(`^(PVE:\S+)::([^:\s]+)$`)
	ticketPlainRE = regexp.MustCompile(`^PVE:(?:(\S+):)?([A-Z0-9]{8})$`)
	csrfRE        = regexp.MustCompile(`^([A-Z0-9]{8}):(\S+)$`)
	tokenValueRE  = regexp.MustCompile(`^(.*)=(.*)$`)
	tokenIDRE     = regexp.MustCompile(`^([^\s:/]+@[A-Za-z][A-Za-z0-9.\-_]+)!([A-Za-z][A-Za-z0-9.\-_]+)$`)
)

// noAuthRequired lists the calls PVE serves without authentication.
func noAuthRequired(method, rel string) bool {
	switch rel {
	case "/access/domains":
		return method == http.MethodGet
	case "/access/ticket":
		return method == http.MethodGet || method == http.MethodPost
	case "/access/vncticket", "/access/openid/login", "/access/openid/auth-url":
		return method == http.MethodPost
	}
	return false
}

var (
	cookieAuthRE = authValueRE("PVEAuthCookie")
	tokenAuthRE  = authValueRE("PVEAPIToken")
)

func authValueRE(key string) *regexp.Regexp {
	return regexp.MustCompile(`(?:^|\s)` + regexp.QuoteMeta(key) + `(?:=| )([^;]*)`)
}

// authValue extracts "key=value" from a Cookie or Authorization header,
// like PVE::APIServer::Formatter::extract_auth_value.
func authValue(header string, re *regexp.Regexp) string {
	m := re.FindStringSubmatch(header)
	if m == nil {
		return ""
	}
	if v, err := url.PathUnescape(m[1]); err == nil {
		return v
	}
	return m[1]
}

// authError is an authentication failure: pveproxy answers 401 with the
// message in the status line.
func authError(msg string) *APIError {
	return &APIError{Status: http.StatusUnauthorized, Message: msg}
}

// authenticate checks the credentials of a request.
func (p *PVE) authenticate(req *http.Request, rel string) (*authInfo, *APIError) {
	ticket := authValue(req.Header.Get("Cookie"), cookieAuthRE)
	authz := req.Header.Get("Authorization")
	if ticket == "" {
		ticket = authValue(authz, cookieAuthRE)
	}
	info := &authInfo{}
	if ticket == "" {
		info.apiToken = authValue(authz, tokenAuthRE)
	}
	if noAuthRequired(req.Method, rel) {
		return info, nil
	}
	if info.apiToken != "" {
		id, err := p.verifyToken(info.apiToken)
		if err != nil {
			return nil, err
		}
		info.user = id
		return info, nil
	}
	if ticket == "" {
		return nil, authError("No ticket\n")
	}
	user, ok := p.verifyTicket(ticket)
	if !ok {
		return nil, authError("permission denied - invalid PVE ticket\n")
	}
	info.user = user
	if req.Method != http.MethodGet && !p.verifyCSRF(user, req.Header.Get("CSRFPreventionToken")) {
		return nil, authError("Permission denied - invalid csrf token\n")
	}
	return info, nil
}

func (p *PVE) assembleTicket(user string, now time.Time) string {
	plain := fmt.Sprintf("PVE:%s:%08X", user, now.Unix())
	mac := hmac.New(sha256.New, p.ticketKey)
	mac.Write([]byte(plain))
	return plain + "::" + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// verifyTicket checks signature and age of a ticket
// (PVE::Ticket::verify_rsa_ticket) and returns its user.
func (p *PVE) verifyTicket(ticket string) (string, bool) {
	m := ticketRE.FindStringSubmatch(ticket)
	if m == nil {
		return "", false
	}
	sig, err := base64.StdEncoding.DecodeString(m[2])
	if err != nil {
		return "", false
	}
	mac := hmac.New(sha256.New, p.ticketKey)
	mac.Write([]byte(m[1]))
	if !hmac.Equal(sig, mac.Sum(nil)) {
		return "", false
	}
	pm := ticketPlainRE.FindStringSubmatch(m[1])
	if pm == nil || pm[1] == "" || !ageOK(pm[2]) {
		return "", false
	}
	return pm[1], true
}

func (p *PVE) csrfToken(user string, now time.Time) string {
	ts := fmt.Sprintf("%08X", now.Unix())
	return ts + ":" + p.csrfDigest(ts, user)
}

func (p *PVE) csrfDigest(ts, user string) string {
	mac := hmac.New(sha1.New, p.csrfKey)
	mac.Write([]byte(ts + ":" + user))
	return base64.RawStdEncoding.EncodeToString(mac.Sum(nil))
}

// verifyCSRF checks a CSRFPreventionToken (PVE::Ticket::verify_csrf_prevention_token).
func (p *PVE) verifyCSRF(user, token string) bool {
	m := csrfRE.FindStringSubmatch(token)
	return m != nil && hmac.Equal([]byte(m[2]), []byte(p.csrfDigest(m[1], user))) && ageOK(m[1])
}

// ageOK checks a hex timestamp against the ticket lifetime.
func ageOK(hexTime string) bool {
	t, err := strconv.ParseInt(hexTime, 16, 64)
	if err != nil {
		return false
	}
	age := time.Now().Unix() - t
	return age > ticketMinAge && age < ticketMaxAge
}

// verifyToken checks "user@realm!tokenid=secret" (PVE::AccessControl::verify_token)
// and returns the token ID, which is the user of token calls.
func (p *PVE) verifyToken(raw string) (string, *APIError) {
	m := tokenValueRE.FindStringSubmatch(raw)
	if m == nil {
		return "", authError("no tokenid specified\n")
	}
	id, value := m[1], m[2]
	parts := tokenIDRE.FindStringSubmatch(id)
	if parts == nil {
		return "", authError(fmt.Sprintf("'%s' is not a valid token ID - not able to split into user and token parts\n", id))
	}
	if parts[1] != labUser {
		return "", authError(fmt.Sprintf("no such user ('%s')\n", parts[1]))
	}
	if parts[2] != labTokenName {
		return "", authError(fmt.Sprintf("no such token '%s' for user '%s'\n", parts[2], parts[1]))
	}
	if !hmac.Equal([]byte(value), []byte(p.lab.token)) {
		return "", authError("invalid token value!\n")
	}
	return id, nil
}

// createTicket serves POST /access/ticket (create_ticket).
func (p *PVE) createTicket(r *Request) (any, error) {
	username, _ := r.String("username")
	if realm, ok := r.String("realm"); ok && realm != "" {
		username += "@" + realm
	}
	password, _ := r.String("password")

	// Any failure is the same answer, to prevent user enumeration.
	fail := &APIError{Status: http.StatusUnauthorized, Message: "authentication failure\n"}
	if username != labUser {
		return nil, fail
	}
	if password != p.lab.password {
		user, ok := p.verifyTicket(password)
		if !ok || user != username {
			return nil, fail
		}
	}

	res := map[string]any{"username": username}
	path, hasPath := r.String("path")
	privs, hasPrivs := r.String("privs")
	if !(hasPath && path != "" && hasPrivs && privs != "") {
		now := time.Now()
		res["ticket"] = p.assembleTicket(username, now)
		res["CSRFPreventionToken"] = p.csrfToken(username, now)
	}
	res["cap"] = rootCapabilities()
	if name := p.clusterName(); name != "" {
		res["clustername"] = name
	}
	return res, nil
}

// rootCapabilities is what compute_api_permission returns for root@pam:
// every privilege, per area of the GUI.
func rootCapabilities() map[string]map[string]int {
	areas := map[string]string{
		"vms": "VM.Allocate VM.Audit VM.Backup VM.Clone VM.Config.CDROM VM.Config.CPU VM.Config.Cloudinit " +
			"VM.Config.Disk VM.Config.HWType VM.Config.Memory VM.Config.Network VM.Config.Options VM.Console " +
			"VM.GuestAgent.Audit VM.GuestAgent.FileRead VM.GuestAgent.FileSystemMgmt VM.GuestAgent.FileWrite " +
			"VM.GuestAgent.Unrestricted VM.Migrate VM.PowerMgmt VM.Replicate VM.Snapshot VM.Snapshot.Rollback Permissions.Modify",
		"storage": "Datastore.Allocate Datastore.AllocateSpace Datastore.AllocateTemplate Datastore.Audit Permissions.Modify",
		"access":  "Group.Allocate Permissions.Modify Realm.Allocate Realm.AllocateUser User.Modify",
		"nodes":   "Permissions.Modify Sys.AccessNetwork Sys.Audit Sys.Console Sys.Incoming Sys.Modify Sys.PowerMgmt Sys.Syslog",
		"dc":      "SDN.Allocate SDN.Audit Sys.AccessNetwork Sys.Audit Sys.Modify",
		"sdn":     "Permissions.Modify SDN.Allocate SDN.Audit SDN.Use",
		"mapping": "Mapping.Audit Mapping.Modify Mapping.Use Permissions.Modify",
	}
	out := map[string]map[string]int{}
	for area, privs := range areas {
		out[area] = map[string]int{}
		for _, priv := range strings.Fields(privs) {
			out[area][priv] = 1
		}
	}
	return out
}
