package pvesim

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/sim"
)

// PVE's side of a PBS storage (PBSPlugin.pm with PVE::APIClient::LWP): a
// real HTTPS connection to server:port (default 8007). With a fingerprint
// configured only the leaf certificate's SHA-256 counts; without one the
// certificate must verify against the system's CAs and name the host,
// which a lab certificate does not, so PVE refuses it the same way:
// "fingerprint '<fp of the server>' not verified, abort!". A user logs in
// (POST /access/ticket, cookie PBSAuthCookie); a username that is an API
// token ID sends "Authorization: PBSAPIToken=<id>:<password>". Errors read
// like LWP's: "401 Unauthorized", "500 Can't connect to host:port
// (Connection refused)".

// pbsTimeFormat is proxmox_time::epoch_to_rfc3339 (local time with
// offset), as PBS tools write times (a key file's created and modified).
const pbsTimeFormat = "2006-01-02T15:04:05-07:00"

// pbsTokenIDRE is PBSPlugin's auth_id_is_api_token.
var pbsTokenIDRE = regexp.MustCompile(`^[^\s:/[:cntrl:]]+@(?:[A-Za-z0-9_][A-Za-z0-9._\-]*)!(?:[A-Za-z0-9_][A-Za-z0-9._\-]*)$`)

// pbsConn is a PVE::APIClient::LWP object for a PBS.
type pbsConn struct {
	host     string
	port     int
	client   *http.Client
	username string
	password string
	apitoken string
	ticket   string

	mu          sync.Mutex
	lastUnknown string // the fingerprint of a certificate that failed verification
}

// pbsAPIConnect is pbs_api_connect.
func (p *PVE) pbsAPIConnect(s *storageDef, password string, timeout time.Duration) *pbsConn {
	c := &pbsConn{host: s.opts["server"], port: 8007}
	if port, err := strconv.Atoi(s.opts["port"]); err == nil && port > 0 {
		c.port = port
	}
	authID := s.opts["username"]
	if authID == "" {
		authID = "root@pam"
	}
	if pbsTokenIDRE.MatchString(authID) {
		c.apitoken = "PBSAPIToken=" + authID + ":" + password
	} else {
		c.username, c.password = authID, password
	}
	want := strings.ToUpper(s.opts["fingerprint"])
	tlsConf := &tls.Config{
		InsecureSkipVerify: true, //nolint:gosec // verified below, as LWP's SSL_verify_callback does
		MinVersion:         tls.VersionTLS12,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return errors.New("no certificate")
			}
			fp := sim.FingerprintOf(raw[0])
			if want != "" {
				if fp == want {
					return nil
				}
			} else if verifySystemTrust(raw, c.host) == nil {
				return nil
			}
			c.mu.Lock()
			c.lastUnknown = fp
			c.mu.Unlock()
			return errors.New("certificate verify failed")
		},
	}
	c.client = &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			TLSClientConfig:   tlsConf,
			DisableKeepAlives: true,
			Proxy:             nil,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return c
}

// verifySystemTrust is OpenSSL's verification with the system's CAs and
// the host name (verify_hostname).
func verifySystemTrust(raw [][]byte, host string) error {
	leaf, err := x509.ParseCertificate(raw[0])
	if err != nil {
		return err
	}
	inter := x509.NewCertPool()
	for _, r := range raw[1:] {
		if c, err := x509.ParseCertificate(r); err == nil {
			inter.AddCert(c)
		}
	}
	_, err = leaf.Verify(x509.VerifyOptions{DNSName: host, Intermediates: inter})
	return err
}

// pbsClientError is a PVE::APIClient::Exception as it stringifies.
type pbsClientError struct{ msg string }

func (e *pbsClientError) Error() string { return e.msg }

// transportError turns a failed request into LWP's answer: a certificate
// that failed verification is refused by manual_verify_fingerprint, any
// other failure is LWP's internal "500 Can't connect to ...".
func (c *pbsConn) transportError(err error) error {
	c.mu.Lock()
	fp := c.lastUnknown
	c.lastUnknown = ""
	c.mu.Unlock()
	if fp != "" {
		return &pbsClientError{fmt.Sprintf("fingerprint '%s' not verified, abort!\n", fp)}
	}
	why := "Connection refused"
	var dnsErr *net.DNSError
	var netErr net.Error
	switch {
	case errors.As(err, &dnsErr):
		why = "Name or service not known"
	case errors.Is(err, syscall.ECONNREFUSED):
	case errors.As(err, &netErr) && netErr.Timeout():
		why = "Connection timed out" // guessed: LWP's text for a timeout
	case errors.Is(err, syscall.EHOSTUNREACH):
		why = "No route to host"
	}
	return &pbsClientError{fmt.Sprintf("500 Can't connect to %s (%s)\n", net.JoinHostPort(c.host, strconv.Itoa(c.port)), why)}
}

func (c *pbsConn) url(path string) string {
	return "https://" + net.JoinHostPort(c.host, strconv.Itoa(c.port)) + path
}

// login is LWP's login: POST /api2/json/access/ticket.
func (c *pbsConn) login() error {
	form := url.Values{"username": {c.username}, "password": {c.password}}
	resp, err := c.client.PostForm(c.url("/api2/json/access/ticket"), form)
	if err != nil {
		return c.transportError(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return &pbsClientError{fmt.Sprintf("%d %s\n", resp.StatusCode, http.StatusText(resp.StatusCode))}
	}
	var res struct {
		Data struct {
			Ticket string `json:"ticket"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &res); err != nil {
		return &pbsClientError{fmt.Sprintf("malformed JSON string: %s\n", err)}
	}
	c.ticket = res.Data.Ticket
	return nil
}

// get is LWP's get: the "data" of a GET, logging in first when it has a
// user and a password.
func (c *pbsConn) get(path string, params url.Values) (any, error) {
	if c.ticket == "" && c.apitoken == "" && c.username != "" && c.password != "" {
		if err := c.login(); err != nil {
			return nil, err
		}
	}
	u := c.url(path)
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	if c.ticket != "" {
		req.Header.Set("Cookie", "PBSAuthCookie="+url.QueryEscape(c.ticket)+"; path=/; secure; SameSite=Strict;")
	}
	if c.apitoken != "" {
		req.Header.Set("Authorization", c.apitoken)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, c.transportError(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, &pbsClientError{fmt.Sprintf("%d %s\n", resp.StatusCode, http.StatusText(resp.StatusCode))}
	}
	if !strings.Contains(resp.Header.Get("Content-Type"), "application/json") {
		return nil, &pbsClientError{fmt.Sprintf("%d got unexpected content type\n", resp.StatusCode)}
	}
	var res map[string]any
	if err := json.Unmarshal(body, &res); err != nil {
		return nil, &pbsClientError{fmt.Sprintf("malformed JSON string: %s\n", err)}
	}
	data, ok := res["data"]
	if !ok {
		return nil, &pbsClientError{"undefined result data\n"}
	}
	return data, nil
}

// pbsPassword is pbs_get_password: the first line of <id>.pw.
func (p *PVE) pbsPassword(id string) string {
	pw, _ := p.PrivFile(privPath(id, "pw"))
	first, _, _ := strings.Cut(pw, "\n")
	return first
}

// pbsScanDatastores is scan_datastores: the datastores the user may see.
func (p *PVE) pbsScanDatastores(c *pbsConn) ([]any, error) {
	data, err := c.get("/api2/json/admin/datastore", nil)
	if err != nil {
		return nil, fmt.Errorf("error fetching datastores - %s", err)
	}
	list, _ := data.([]any)
	return list, nil
}

// pbsActivateStorage is PBSPlugin's activate_storage.
func (p *PVE) pbsActivateStorage(s *storageDef) error {
	c := p.pbsAPIConnect(s, p.pbsPassword(s.id), 7*time.Second)
	return p.pbsActivate(c, s)
}

func (p *PVE) pbsActivate(c *pbsConn, s *storageDef) error {
	list, err := p.pbsScanDatastores(c)
	if err != nil {
		return fmt.Errorf("%s: %s", s.id, err)
	}
	for _, e := range list {
		if m, ok := e.(map[string]any); ok && m["store"] == s.opts["datastore"] {
			return nil
		}
	}
	return fmt.Errorf("%s: Cannot find datastore '%s', check permissions and existence!\n", s.id, s.opts["datastore"])
}

// pbsStorageStatus is storage_info for a PBS storage: activation, then
// the plugin's status (proxmox-backup-client status, which asks the
// datastore's status): total, used, avail.
func (p *PVE) pbsStorageStatus(s *storageDef) ([3]uint64, error) {
	c := p.pbsAPIConnect(s, p.pbsPassword(s.id), 7*time.Second)
	if err := p.pbsActivate(c, s); err != nil {
		return [3]uint64{}, err
	}
	data, err := c.get("/api2/json/admin/datastore/"+url.PathEscape(s.opts["datastore"])+"/status", nil)
	if err != nil {
		return [3]uint64{}, err
	}
	m, _ := data.(map[string]any)
	num := func(k string) uint64 { f, _ := m[k].(float64); return uint64(f) }
	return [3]uint64{num("total"), num("used"), num("avail")}, nil
}

// pbsListSnapshots is list_volumes' call: activation, then the backups of
// the datastore (in the storage's namespace).
func (p *PVE) pbsListSnapshots(s *storageDef) error {
	c := p.pbsAPIConnect(s, p.pbsPassword(s.id), 120*time.Second)
	if err := p.pbsActivate(c, s); err != nil {
		return err
	}
	params := url.Values{}
	if ns := s.opts["namespace"]; ns != "" {
		params.Set("ns", ns)
	}
	if _, err := c.get("/api2/json/admin/datastore/"+url.PathEscape(s.opts["datastore"])+"/snapshots", params); err != nil {
		return fmt.Errorf("error listing snapshots - %s", err)
	}
	return nil
}
