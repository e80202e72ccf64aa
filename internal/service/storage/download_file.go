package storage

import (
	"fmt"
	"regexp"
	"strings"
)

// What pve_download_file knows of PVE's file names, from pve-storage
// 6f49432a: PVE/Storage.pm (normalize_content_filename, the extension
// patterns) and PVE/API2/Storage/Status.pm download_url (which content
// takes which names), and pve-manager's query_url_metadata (the name a
// URL gives).

// Contents a file can be downloaded as.
const (
	contentISO    = "iso"
	contentVZTmpl = "vztmpl"
	contentImport = "import"
)

var downloadContents = []string{contentISO, contentVZTmpl, contentImport}

// checksumLengths are the hex digest lengths of the checksum algorithms
// download-url accepts.
var checksumLengths = map[string]int{"md5": 32, "sha1": 40, "sha224": 56, "sha256": 64, "sha384": 96, "sha512": 128}

var checksumAlgorithms = []string{"md5", "sha1", "sha224", "sha256", "sha384", "sha512"}

// compressions are Storage::Plugin's KNOWN_COMPRESSION_FORMATS.
var compressions = []string{"gz", "lzo", "zst", "bz2"}

var (
	urlFileRE       = regexp.MustCompile(`^[^?]+/([^?/]*)(?:\?.*)?$`)
	normalizeCharRE = regexp.MustCompile(`[^a-zA-Z0-9_.-]`)
	isoNameRE       = regexp.MustCompile(`(?i)[^/]+\.(iso|img)$`)
	vztmplNameRE    = regexp.MustCompile(`(?i)[^/]+\.(tar|tar\.(gz|xz|zst|bz2))$`)
	importNameRE    = regexp.MustCompile(`[a-zA-Z0-9\-.+=_]+\.(ova|qcow2|raw|vmdk)$`)
	volumeIDRE      = regexp.MustCompile(`^([a-zA-Z][a-zA-Z0-9\-_.]*[a-zA-Z0-9]):(iso|vztmpl|import)/([^/]+)$`)
)

// fileNameFromURL is the name PVE's web interface proposes for a URL
// (query_url_metadata without a Content-Disposition: the last path
// element), normalized as PVE stores it. "" when the URL names no file.
func fileNameFromURL(u string) string {
	m := urlFileRE.FindStringSubmatch(u)
	if m == nil || m[1] == "" {
		return ""
	}
	return normalizeFileName(m[1])
}

// normalizeFileName is normalize_content_filename: the last path element,
// every character but [a-zA-Z0-9_.-] replaced by "_".
func normalizeFileName(name string) string {
	name = strings.TrimSuffix(name, "\n")
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	return normalizeCharRE.ReplaceAllString(name, "_")
}

// checkFileName is download_url's check of a (normalized) name for a
// content type, with PVE's words.
func checkFileName(content, name string) error {
	switch content {
	case contentISO:
		if !isoNameRE.MatchString(name) {
			return fmt.Errorf("wrong file extension: an ISO image ends in .iso or .img, not %q", name)
		}
	case contentVZTmpl:
		if !vztmplNameRE.MatchString(name) {
			return fmt.Errorf("wrong file extension: a container template ends in .tar, .tar.gz, .tar.xz, .tar.zst or .tar.bz2, not %q", name)
		}
	case contentImport:
		if !importNameRE.MatchString(name) {
			return fmt.Errorf("invalid filename or wrong extension: an import file ends in .ova, .qcow2, .raw or .vmdk, not %q", name)
		}
	}
	return nil
}

// checkChecksum checks a checksum's form for its algorithm.
func checkChecksum(algorithm, sum string) error {
	n, ok := checksumLengths[algorithm]
	if !ok {
		return nil
	}
	if len(sum) != n || strings.Trim(strings.ToLower(sum), "0123456789abcdef") != "" {
		return fmt.Errorf("a %s checksum is %d hexadecimal digits, got %q", algorithm, n, sum)
	}
	return nil
}

// volumeID is the ID of the volume a file becomes, e.g. local:iso/x.iso.
func volumeID(storage, content, name string) string {
	return storage + ":" + content + "/" + name
}

// parseImportID splits an import ID, node/volid (pve1/local:iso/x.iso).
func parseImportID(id string) (node, storage, content, name string, err error) {
	node, volid, ok := strings.Cut(id, "/")
	m := volumeIDRE.FindStringSubmatch(volid)
	if !ok || node == "" || m == nil {
		return "", "", "", "", fmt.Errorf("expected node/volume ID, e.g. pve1/local:iso/debian-13.1.0-amd64-netinst.iso, got %q", id)
	}
	return node, m[1], m[2], m[3], nil
}
