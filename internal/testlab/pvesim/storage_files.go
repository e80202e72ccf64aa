package pvesim

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// What upload and download-url (storage_upload.go, storage_download.go)
// share: the target storage's checks and the file name rules of
// pve-storage 6f49432a, PVE/API2/Storage/Status.pm, and the files they
// write as volumes.

// checksumAlgorithms are the checksum-algorithm enum of upload and
// download-url, as PVE::Tools::get_file_hash knows them.
var checksumAlgorithms = map[string]func() hash.Hash{
	"md5": md5.New, "sha1": sha1.New, "sha224": sha256.New224, "sha256": sha256.New,
	"sha384": sha512.New384, "sha512": sha512.New,
}

// fileDigests hashes what is written to it with every algorithm.
type fileDigests struct {
	hashes map[string]hash.Hash
	size   uint64
}

func newFileDigests() *fileDigests {
	d := &fileDigests{hashes: map[string]hash.Hash{}}
	for k, f := range checksumAlgorithms {
		d.hashes[k] = f()
	}
	return d
}

func (d *fileDigests) Write(b []byte) (int, error) {
	for _, h := range d.hashes {
		h.Write(b)
	}
	d.size += uint64(len(b))
	return len(b), nil
}

// sums returns the hex digests (get_file_hash: lower case).
func (d *fileDigests) sums() map[string]string {
	out := map[string]string{}
	for k, h := range d.hashes {
		out[k] = hex.EncodeToString(h.Sum(nil))
	}
	return out
}

var (
	normalizeStripRE = regexp.MustCompile(`^.*[/\\]`)
	normalizeCharRE  = regexp.MustCompile(`[^a-zA-Z0-9_.-]`)
	// Storage.pm: m![^/]+$ISO_EXT_RE_0$!, m![^/]+$VZTMPL_EXT_RE_1$! and
	// m!${SAFE_CHAR_CLASS_RE}+$UPLOAD_IMPORT_EXT_RE_1$! (neither anchored
	// at the start)
	uploadISORE    = regexp.MustCompile(`[^/]+\.(?i:iso|img)$`)
	uploadTmplRE   = regexp.MustCompile(`[^/]+\.(?i:(tar)|tar\.(gz|xz|zst|bz2))$`)
	uploadImportRE = regexp.MustCompile(`[a-zA-Z0-9\-.+=_]+\.(ova|qcow2|raw|vmdk)$`)
)

// normalizeContentFilename is PVE::Storage::normalize_content_filename:
// the last path component, every character but [a-zA-Z0-9_.-] made "_".
func normalizeContentFilename(name string) string {
	name = strings.TrimSuffix(name, "\n") // chomp
	name = normalizeStripRE.ReplaceAllString(name, "")
	return normalizeCharRE.ReplaceAllString(name, "_")
}

// fileTarget is where upload or download-url writes a file: the storage,
// the volume it becomes and its path.
type fileTarget struct {
	storage *storageDef
	content string
	name    string // normalized file name
	volname string // e.g. "iso/x.iso"
	format  string // as the content list reports it
	dest    string // file path, e.g. /var/lib/vz/template/iso/x.iso
}

func (f *fileTarget) volid() string { return f.storage.id + ":" + f.volname }

// storageCheckEnabled is PVE::Storage::storage_check_enabled.
func (p *PVE) storageCheckEnabled(node, sid string) (*storageDef, error) {
	s := p.storageDefOf(sid)
	switch {
	case s == nil:
		return nil, errNoStorage(sid)
	case s.disabled:
		return nil, Errorf(http.StatusInternalServerError, "storage '%s' is disabled\n", sid)
	case !s.availableOn(node):
		return nil, Errorf(http.StatusInternalServerError, "storage '%s' is not available on node '%s'\n", sid, node)
	}
	return s, nil
}

// fileTarget checks a storage for a file of content on node
// (storage_check_enabled, a path) and the file name for that content
// (normalize_content_filename, then the extension checks). The storage's
// content is checked before the name by download_url, after it by upload,
// and the two methods word their errors differently.
func (p *PVE) fileTarget(node, sid, content, filename string, download bool) (*fileTarget, error) {
	s, err := p.storageCheckEnabled(node, sid)
	if err != nil {
		return nil, err
	}
	switch {
	case s.path == "" && download:
		return nil, Errorf(http.StatusInternalServerError, "can't upload to storage type '%s', not a file based storage!\n", s.typ)
	case s.path == "":
		return nil, Errorf(http.StatusInternalServerError, "can't upload to storage type '%s'\n", s.typ)
	case download && !s.hasContent(content):
		return nil, Errorf(http.StatusInternalServerError, "storage '%s' is not configured for content-type '%s'\n", sid, content)
	}
	f := &fileTarget{storage: s, content: content, name: normalizeContentFilename(filename)}
	switch content {
	case "iso":
		if !uploadISORE.MatchString(f.name) {
			return nil, ParamError(map[string]string{"filename": "wrong file extension"})
		}
		f.volname, f.format = "iso/"+f.name, "iso"
	case "vztmpl":
		m := uploadTmplRE.FindStringSubmatch(f.name)
		if m == nil {
			return nil, ParamError(map[string]string{"filename": "wrong file extension"})
		}
		// Plugin::get_subdir_files: format "tar", or "t" and the compression
		f.volname, f.format = "vztmpl/"+f.name, "t"+strings.ToLower(m[2])
		if m[1] != "" {
			f.format = "tar"
		}
	case "import":
		m := uploadImportRE.FindStringSubmatch(f.name)
		if m == nil {
			return nil, ParamError(map[string]string{"filename": "invalid filename or wrong extension"})
		}
		f.volname, f.format = "import/"+f.name, m[1]
	default:
		if download {
			return nil, ParamError(map[string]string{"content": fmt.Sprintf("upload content-type '%s' is not allowed", content)})
		}
		return nil, ParamError(map[string]string{"content": fmt.Sprintf("upload content type '%s' not allowed", content)})
	}
	if !download && !s.hasContent(content) {
		return nil, Errorf(http.StatusInternalServerError, "storage '%s' does not support '%s' content\n", sid, content)
	}
	f.dest = volumePath(s, &volume{storage: s.id, name: f.volname, content: content})
	return f, nil
}

// writeFile puts the file on the node's storage as a volume of its
// real size, replacing what was there (rename).
func (ns *nodeStorage) writeFile(f *fileTarget, d *fileDigests, at time.Time) {
	v := &volume{storage: f.storage.id, name: f.volname, content: f.content, format: f.format,
		size: d.size, used: d.size, ctime: at.Unix(), sums: d.sums()}
	ns.vols[v.volid()] = v
}

// workerIDText is PVE::Tools::encode_text: control and non-ASCII
// characters, ':' and '%' percent-encoded (uri_escape with the unsafe
// class "^\x20-\x24\x26-\x39\x3b-\x7e").
func workerIDText(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if (c >= 0x20 && c <= 0x24) || (c >= 0x26 && c <= 0x39) || (c >= 0x3b && c <= 0x7e) {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// urlFilename is the file name query_url_metadata takes from a URL
// without a Content-Disposition: m!^[^?]+/([^?/]*)(?:\?.*)?$!.
func urlFilename(raw string) string {
	m := regexp.MustCompile(`^[^?]+/([^?/]*)(?:\?.*)?$`).FindStringSubmatch(raw)
	if m == nil {
		return ""
	}
	return m[1]
}

// hostOf is the host of a URL as wget prints it.
func hostOf(raw string) (host, port string) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", ""
	}
	port = u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	return u.Hostname(), port
}

// humanSize is wget's size in parentheses, e.g. "(1.0M)".
func humanSize(n uint64) string {
	switch {
	case n < 1024:
		return fmt.Sprintf("%d", n)
	case n < 1024*1024:
		return fmt.Sprintf("%.0fK", float64(n)/1024)
	case n < 1024*1024*1024:
		return fmt.Sprintf("%.1fM", float64(n)/1024/1024)
	}
	return fmt.Sprintf("%.1fG", float64(n)/1024/1024/1024)
}
