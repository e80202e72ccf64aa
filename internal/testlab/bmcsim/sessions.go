package bmcsim

import (
	"crypto/subtle"
	"encoding/json"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/sim"
)

// Sessions (DSP0266): POST SessionService/Sessions logs in and answers 201
// with X-Auth-Token and Location, DELETE of the session logs out, idle
// sessions expire after SessionTimeout; a BMC has Variant.MaxSessions
// slots.

// session is one Redfish session.
type session struct {
	id       string
	token    string
	user     string
	origin   string
	created  time.Time
	lastUsed time.Time
}

// credentialsOK checks a user and password.
func (b *BMC) credentialsOK(user, pass string) bool {
	return user == b.user && subtle.ConstantTimeCompare([]byte(pass), []byte(b.password)) == 1
}

// expireSessionsLocked drops the sessions idle longer than the timeout.
func (b *BMC) expireSessionsLocked(now time.Time) {
	for t, s := range b.sessions {
		if now.Sub(s.lastUsed) >= b.sessionTimeout {
			delete(b.sessions, t)
		}
	}
}

func sessionURI(id string) string { return "/redfish/v1/SessionService/Sessions/" + id }

func (s *session) resource() map[string]any {
	return map[string]any{
		"@odata.id":             sessionURI(s.id),
		"@odata.type":           "#Session.v1_6_0.Session",
		"Id":                    s.id,
		"Name":                  "User Session",
		"Description":           "Manager User Session",
		"UserName":              s.user,
		"SessionType":           "Redfish",
		"ClientOriginIPAddress": s.origin,
		"CreatedTime":           formatTime(s.created),
	}
}

func (b *BMC) sessionByID(id string) *session {
	for _, s := range b.sessions {
		if s.id == id {
			return s
		}
	}
	return nil
}

// login serves POST /redfish/v1/SessionService/Sessions.
func (b *BMC) login(q *request) (*response, *apiError) {
	obj, err := parseObject(q.body)
	if err != nil {
		return nil, err
	}
	var user, pass string
	for _, k := range sortedKeys(obj) {
		v := obj[k]
		switch k {
		case "UserName", "Password":
			s, ok := asString(v)
			if !ok {
				return nil, errPropertyType(rawText(v), k)
			}
			if k == "UserName" {
				user = s
			} else {
				pass = s
			}
		case "Context", "Oem":
		default:
			return nil, errPropertyUnknown(k)
		}
	}
	var missing []message
	if user == "" {
		missing = append(missing, msg("PropertyMissing", "UserName"))
	}
	if pass == "" {
		missing = append(missing, msg("PropertyMissing", "Password"))
	}
	if len(missing) > 0 {
		return nil, newError(http.StatusBadRequest, missing...)
	}
	if !b.credentialsOK(user, pass) {
		return nil, newError(http.StatusUnauthorized, msg("ResourceAtUriUnauthorized", q.path, "Invalid username or password"))
	}
	if len(b.sessions) >= b.maxSessions() {
		return nil, newError(http.StatusServiceUnavailable, msg("SessionLimitExceeded"))
	}
	b.sessionSeq++
	s := &session{
		id:       strconv.Itoa(b.sessionSeq),
		token:    sim.RandomHex(16),
		user:     user,
		created:  q.now,
		lastUsed: q.now,
	}
	if host, _, err := net.SplitHostPort(q.r.RemoteAddr); err == nil {
		s.origin = host
	}
	b.sessions[s.token] = s
	resp := jsonResponse(http.StatusCreated, s.resource())
	resp.header = http.Header{"X-Auth-Token": {s.token}, "Location": {sessionURI(s.id)}}
	return resp, nil
}

func (b *BMC) maxSessions() int {
	if b.variant.MaxSessions > 0 {
		return b.variant.MaxSessions
	}
	return defaultMaxSessions
}

// sessionRoute serves /redfish/v1/SessionService and its sessions.
func (b *BMC) sessionRoute(q *request, rest []string) (*response, *apiError) {
	switch {
	case len(rest) == 0:
		if err := allow(q, http.MethodGet, http.MethodPatch); err != nil {
			return nil, err
		}
		if q.method == http.MethodPatch {
			return b.patchSessionService(q)
		}
		return jsonResponse(http.StatusOK, b.sessionService()), nil
	case len(rest) == 1 && rest[0] == "Sessions":
		methods := []string{http.MethodGet, http.MethodPost}
		if b.variant.NoSessions {
			methods = methods[:1]
		}
		if err := allow(q, methods...); err != nil {
			return nil, err
		}
		if q.method == http.MethodPost {
			return b.login(q)
		}
		var members []string
		for _, s := range b.sessionsByID() {
			members = append(members, sessionURI(s.id))
		}
		return jsonResponse(http.StatusOK, collection("/redfish/v1/SessionService/Sessions",
			"#SessionCollection.SessionCollection", "Session Collection", members...)), nil
	case len(rest) == 2 && rest[0] == "Sessions":
		if err := allow(q, http.MethodGet, http.MethodDelete); err != nil {
			return nil, err
		}
		s := b.sessionByID(rest[1])
		if s == nil {
			return nil, errNotFound("Session", rest[1])
		}
		if q.method == http.MethodDelete {
			delete(b.sessions, s.token)
			return jsonResponse(http.StatusOK, s.resource()), nil // as bmcweb: the deleted session
		}
		return jsonResponse(http.StatusOK, s.resource()), nil
	}
	return nil, newError(http.StatusNotFound, msg("ResourceMissingAtURI", q.path))
}

// sessionsByID returns the sessions in the order they were created.
func (b *BMC) sessionsByID() []*session {
	var out []*session
	for _, s := range b.sessions {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, c *session) int { return a.created.Compare(c.created)*2 + strings.Compare(a.id, c.id) })
	return out
}

func (b *BMC) sessionService() map[string]any {
	return map[string]any{
		"@odata.id":      "/redfish/v1/SessionService",
		"@odata.type":    "#SessionService.v1_1_8.SessionService",
		"Id":             "SessionService",
		"Name":           "Session Service",
		"Description":    "Session Service",
		"Status":         map[string]any{"State": "Enabled", "Health": "OK"},
		"ServiceEnabled": true,
		"SessionTimeout": int(b.sessionTimeout / time.Second),
		"Sessions":       link("/redfish/v1/SessionService/Sessions"),
	}
}

// patchSessionService changes SessionTimeout (30 to 86400 seconds, as
// DSP0266 and bmcweb have it).
func (b *BMC) patchSessionService(q *request) (*response, *apiError) {
	current := b.sessionService()
	if err := checkIfMatch(q, current); err != nil {
		return nil, err
	}
	obj, err := parseObject(q.body)
	if err != nil {
		return nil, err
	}
	if len(obj) == 0 {
		return nil, newError(http.StatusBadRequest, msg("EmptyJSON"))
	}
	timeout := b.sessionTimeout
	for _, k := range sortedKeys(obj) {
		v := obj[k]
		if k != "SessionTimeout" {
			if _, ok := current[k]; ok {
				return nil, errPropertyNotWritable(k)
			}
			return nil, errPropertyUnknown(k)
		}
		var secs float64
		if isNull(v) || json.Unmarshal(v, &secs) != nil || secs != math.Trunc(secs) {
			return nil, errPropertyType(rawText(v), k)
		}
		if secs < 30 || secs > 86400 {
			return nil, errNotInList(rawText(v), k)
		}
		timeout = time.Duration(secs) * time.Second
	}
	b.sessionTimeout = timeout
	return jsonResponse(http.StatusOK, b.sessionService()), nil
}
