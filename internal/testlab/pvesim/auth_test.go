package pvesim

import (
	"net/http"
	"net/url"
	"regexp"
	"testing"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/pvesim/pvetest"
)

func TestTicketLogin(t *testing.T) {
	lab := startLab(t, Options{})
	c := newCaller(t, lab)
	ticketRE := regexp.MustCompile(`^PVE:root@pam:[0-9A-F]{8}::\S+$`)
	csrfRE := regexp.MustCompile(`^[0-9A-F]{8}:\S+$`)

	for name, res := range map[string]pvetest.Result{
		"form": c.Form(http.MethodPost, "/access/ticket", url.Values{"username": {"root@pam"}, "password": {lab.Password()}}),
		"json": c.JSON(http.MethodPost, "/access/ticket", map[string]string{"username": "root@pam", "password": lab.Password()}),
		"realm": c.Form(http.MethodPost, "/access/ticket", url.Values{
			"username": {"root"}, "realm": {"pam"}, "password": {lab.Password()}, "otp": {"123456"}, "new-format": {"1"},
		}),
	} {
		t.Run(name, func(t *testing.T) {
			pvetest.Expect(t, res, http.StatusOK, "OK")
			data := res.Body["data"].(map[string]any)
			if data["username"] != "root@pam" || !ticketRE.MatchString(data["ticket"].(string)) || !csrfRE.MatchString(data["CSRFPreventionToken"].(string)) {
				t.Fatalf("unexpected login answer %s", res.Raw)
			}
			if data["clustername"] != "pvelab" {
				t.Errorf("clustername = %v", data["clustername"])
			}
			caps := data["cap"].(map[string]any)
			if caps["vms"].(map[string]any)["VM.Allocate"] != float64(1) {
				t.Errorf("cap = %v", caps)
			}
		})
	}
}

func TestTicketLoginFailure(t *testing.T) {
	lab := startLab(t, Options{})
	c := newCaller(t, lab)
	for name, params := range map[string]url.Values{
		"wrong password": {"username": {"root@pam"}, "password": {"nope"}},
		"unknown user":   {"username": {"bob@pve"}, "password": {lab.Password()}},
		"realm twice":    {"username": {"root@pam"}, "realm": {"pam"}, "password": {lab.Password()}},
	} {
		t.Run(name, func(t *testing.T) {
			res := c.Form(http.MethodPost, "/access/ticket", params)
			pvetest.Expect(t, res, http.StatusUnauthorized, "authentication failure")
			if res.Raw != `{"data":null,"message":"authentication failure\n"}` {
				t.Fatalf("body %s", res.Raw)
			}
		})
	}
}

func TestTicketRenewalAndStandalone(t *testing.T) {
	lab := startLab(t, Options{Nodes: 1})
	c := newCaller(t, lab).WithTicket()
	ticket, _ := url.QueryUnescape(c.Headers["Cookie"][len("PVEAuthCookie="):])
	res := c.Form(http.MethodPost, "/access/ticket", url.Values{"username": {"root@pam"}, "password": {ticket}})
	pvetest.Expect(t, res, http.StatusOK, "OK")
	data := res.Body["data"].(map[string]any)
	if _, ok := data["clustername"]; ok {
		t.Errorf("a standalone node has no cluster name: %s", res.Raw)
	}
	status := c.Get("/cluster/status")
	if list := status.Body["data"].([]any); len(list) != 1 || list[0].(map[string]any)["type"] != "node" {
		t.Errorf("standalone /cluster/status = %s", status.Raw)
	}
}

func TestTicketAuthAndCSRF(t *testing.T) {
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithTicket()
	pvetest.Expect(t, c.Get("/version"), http.StatusOK, "OK")

	upid := lab.StartTask("pve1", "srvreload", "networking", "root@pam", time.Minute, nil)
	path := "/nodes/pve1/tasks/" + url.PathEscape(upid)

	csrf := c.Headers["CSRFPreventionToken"]
	delete(c.Headers, "CSRFPreventionToken")
	res := c.Form(http.MethodDelete, path, nil)
	pvetest.Expect(t, res, http.StatusUnauthorized, "Permission denied - invalid csrf token")

	c.Headers["CSRFPreventionToken"] = csrf[:9] + "AAAA" + csrf[13:]
	pvetest.Expect(t, c.Form(http.MethodDelete, path, nil), http.StatusUnauthorized, "Permission denied - invalid csrf token")

	c.Headers["CSRFPreventionToken"] = csrf
	pvetest.Expect(t, c.Form(http.MethodDelete, path, nil), http.StatusOK, "OK")
}

func TestUnauthorized(t *testing.T) {
	lab := startLab(t, Options{})
	for name, tc := range map[string]struct {
		headers map[string]string
		reason  string
	}{
		"no credentials":  {nil, "No ticket"},
		"bad ticket":      {map[string]string{"Cookie": "PVEAuthCookie=PVE:root@pam:65000000::c2lnbmF0dXJl"}, "permission denied - invalid PVE ticket"},
		"wrong secret":    {map[string]string{"Authorization": "PVEAPIToken=root@pam!lab=00000000-0000-0000-0000-000000000000"}, "invalid token value!"},
		"unknown token":   {map[string]string{"Authorization": "PVEAPIToken=root@pam!other=x"}, "no such token 'other' for user 'root@pam'"},
		"unknown user":    {map[string]string{"Authorization": "PVEAPIToken=bob@pve!lab=x"}, "no such user ('bob@pve')"},
		"malformed token": {map[string]string{"Authorization": "PVEAPIToken=root@pam=x"}, "'root@pam' is not a valid token ID - not able to split into user and token parts"},
	} {
		t.Run(name, func(t *testing.T) {
			c := newCaller(t, lab)
			for k, v := range tc.headers {
				c.Headers[k] = v
			}
			res := c.Get("/nodes")
			pvetest.Expect(t, res, http.StatusUnauthorized, tc.reason)
			if res.Raw != tc.reason {
				t.Errorf("body %q, want the message", res.Raw)
			}
		})
	}
}

func TestTokenAuth(t *testing.T) {
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()
	pvetest.Expect(t, c.Get("/nodes"), http.StatusOK, "OK")

	// Tokens need no CSRF token for modifying calls.
	upid := lab.StartTask("pve2", "vzdump", "", "root@pam!lab", time.Minute, nil)
	pvetest.Expect(t, c.Form(http.MethodDelete, "/nodes/pve2/tasks/"+url.PathEscape(upid), nil), http.StatusOK, "OK")

	// Methods with allowtoken 0 refuse tokens.
	requireSchema(t, lab)
	res := c.Form(http.MethodPost, "/access/ticket", url.Values{"username": {"root@pam"}, "password": {lab.Password()}})
	pvetest.Expect(t, res, http.StatusForbidden, "Permission check failed (URI '/access/ticket' not available with API token, need proper ticket.")
}

func TestAuthFailureDelay(t *testing.T) {
	lab := startLab(t, Options{})
	lab.Faults().SetAuthFailureDelay(50 * time.Millisecond)
	start := time.Now()
	pvetest.Expect(t, newCaller(t, lab).Get("/version"), http.StatusUnauthorized, "No ticket")
	if elapsed := time.Since(start); elapsed < 50*time.Millisecond {
		t.Errorf("401 came after %v, want it held back", elapsed)
	}
}
