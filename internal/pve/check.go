package pve

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"

	"github.com/hcilab/terraform-provider-pve/internal/apiclient"
)

// The checks below are the single place where the provider's settings and
// PVE's identifiers are validated; the provider turns them into plan-time
// attribute validators, and Config.Validate uses the same rules.

// CheckEndpoint reports whether s is a usable endpoint URL.
func CheckEndpoint(s string) error {
	_, err := normalizeEndpoint(s)
	return err
}

// CheckAPIToken reports whether s has the form user@realm!tokenid=secret.
// The message never repeats s, which holds the secret.
func CheckAPIToken(s string) error {
	if !tokenPattern.MatchString(s) {
		return errors.New("invalid api_token: expected the form user@realm!tokenid=secret")
	}
	return nil
}

// CheckFingerprint reports whether s is a SHA-256 fingerprint (64 hex
// digits, any case, colons optional).
func CheckFingerprint(s string) error {
	_, err := apiclient.ParseFingerprint(s)
	return err
}

// nodeNamePattern is PVE's pve-node format: a host name label.
var nodeNamePattern = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$`)

// CheckNodeName reports whether s is a valid PVE node name.
func CheckNodeName(s string) error {
	if !nodeNamePattern.MatchString(s) {
		return fmt.Errorf("invalid node name %q: a node name is a host name label (letters, digits and inner hyphens, at most 63 characters)", s)
	}
	return nil
}

// poolIDPattern is PVE's pve-poolid format: up to three levels of letters,
// digits, '.', '-' and '_', separated by '/'.
var poolIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+){0,2}$`)

// CheckPoolID reports whether s is a valid pool ID.
func CheckPoolID(s string) error {
	if !poolIDPattern.MatchString(s) {
		return fmt.Errorf("invalid pool ID %q: letters, digits, '.', '-' and '_', nested at most three levels as a/b/c", s)
	}
	return nil
}

// IsUnreachable reports whether err means the endpoint could not be reached
// at all, as opposed to a definitive failure such as rejected credentials.
func IsUnreachable(err error) bool {
	return errors.Is(err, ErrUnreachable)
}

var (
	// tagRE is pve-common's $PVE_TAG_RE (JSONSchema.pm pve_verify_tag).
	tagRE = regexp.MustCompile(`(?i)^[a-z0-9_][a-z0-9_\-+.]*$`)
	// dnsNameRE is pve_verify_dns_name: dot-separated labels of letters,
	// digits and inner hyphens.
	dnsNameRE = regexp.MustCompile(`^([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?\.)*[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$`)
)

// CheckTag reports whether s is a guest tag PVE accepts (format pve-tag).
func CheckTag(s string) error {
	if !tagRE.MatchString(s) {
		return fmt.Errorf("invalid tag %q: PVE allows letters, digits, '_', '-', '+' and '.', not starting with '-', '+' or '.'", s)
	}
	return nil
}

// CheckDNSName reports whether s is a DNS name as PVE checks it (format
// dns-name: a VM's name, a container's hostname).
func CheckDNSName(s string) error {
	if !dnsNameRE.MatchString(s) {
		return fmt.Errorf("%q is not a DNS name: labels of letters, digits and hyphens (not at either end), separated by dots", s)
	}
	return nil
}

// CheckCorosyncLink reports whether s is a corosync link as pve-cluster's
// Corosync.pm parses it: "[address=]<IP or DNS name>[,priority=<0..255>]".
func CheckCorosyncLink(s string) error {
	ps, err := ParsePropertyString(s, "address")
	if err != nil {
		return fmt.Errorf("invalid corosync link %q: %w", s, err)
	}
	for _, k := range ps.Keys() {
		v := ps.Value(k)
		switch k {
		case "address":
			if net.ParseIP(v) == nil && CheckDNSName(v) != nil {
				return fmt.Errorf("invalid corosync link %q: address %q is neither an IP address nor a DNS name", s, v)
			}
		case "priority":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 255 {
				return fmt.Errorf("invalid corosync link %q: priority must be 0 to 255", s)
			}
		default:
			return fmt.Errorf("invalid corosync link %q: unknown key %q (address and priority only)", s, k)
		}
	}
	if ps.Value("address") == "" {
		return fmt.Errorf("invalid corosync link %q: no address", s)
	}
	return nil
}

// CheckServer reports whether s is a storage server as pve-storage's
// pve-storage-server format takes it: an IP address or a DNS name.
func CheckServer(s string) error {
	if net.ParseIP(s) == nil && CheckDNSName(s) != nil {
		return fmt.Errorf("%q is neither an IP address nor a DNS name", s)
	}
	return nil
}

// pbsSafeIDRE is proxmox-backup's PROXMOX_SAFE_ID_REGEX (pbs-api-types),
// which datastore names and namespace components follow.
var pbsSafeIDRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._\-]*$`)

// CheckPBSDatastore reports whether s is a PBS datastore name
// (pbs-api-types DATASTORE_SCHEMA: a safe ID of 3 to 32 characters).
func CheckPBSDatastore(s string) error {
	if len(s) < 3 || len(s) > 32 || !pbsSafeIDRE.MatchString(s) {
		return fmt.Errorf("%q is not a PBS datastore name: 3 to 32 letters, digits, '_', '.' and '-', not starting with '.' or '-'", s)
	}
	return nil
}

// CheckPBSNamespace reports whether s is a PBS namespace (pbs-api-types
// BACKUP_NAMESPACE_SCHEMA): up to 7 safe IDs separated by "/".
func CheckPBSNamespace(s string) error {
	parts := strings.Split(s, "/")
	if len(parts) > 7 {
		return fmt.Errorf("namespace %q is %d levels deep: PBS allows 7", s, len(parts))
	}
	for _, p := range parts {
		if !pbsSafeIDRE.MatchString(p) {
			return fmt.Errorf("namespace %q: %q is not a valid component (letters, digits, '_', '.' and '-', separated by '/')", s, p)
		}
	}
	return nil
}
