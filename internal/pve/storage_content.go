package pve

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The content of a node's storage (/nodes/{node}/storage/{storage}/content,
// pve-storage's PVE/API2/Storage/Content.pm) and what puts files there
// (download-url, PVE/API2/Storage/Status.pm).

// Volume is one entry of a storage's content list.
type Volume struct {
	VolID   string `json:"volid"`
	Content string `json:"content"` // iso, vztmpl, images, rootdir, backup, import, snippets
	Format  string `json:"format"`  // iso, tzst, raw, qcow2, ...
	Size    int64  `json:"size"`
	Used    int64  `json:"used,omitempty"`
	VMID    int    `json:"vmid,omitempty"`
	CTime   int64  `json:"ctime,omitempty"`
}

// VolumeInfo is what GET .../content/{volume} reports of a volume.
type VolumeInfo struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	Used   int64  `json:"used"`
	Format string `json:"format"`
}

func contentPath(node, storage string) string {
	return "/nodes/" + url.PathEscape(node) + "/storage/" + url.PathEscape(storage) + "/content"
}

// StorageContent lists the volumes of a storage on a node; content ("" for
// all) and vmid (0 for all) filter it as PVE does.
func (c *Client) StorageContent(ctx context.Context, node, storage, content string, vmid int) ([]Volume, error) {
	q := url.Values{}
	if content != "" {
		q.Set("content", content)
	}
	if vmid != 0 {
		q.Set("vmid", strconv.Itoa(vmid))
	}
	var out []Volume
	if err := c.Get(ctx, contentPath(node, storage), q, &out); err != nil {
		return nil, fmt.Errorf("listing the content of storage %s on %s: %w", storage, node, err)
	}
	return out, nil
}

// Volume reads a volume's attributes. A volume that is not there is
// ErrNotFound: PVE answers with a 500 whose text depends on the storage
// type ("volume_size_info on '…' failed - no format" for a file), so a
// failed read is checked against the storage's content list.
func (c *Client) Volume(ctx context.Context, node, storage, volid string) (*VolumeInfo, error) {
	var out VolumeInfo
	err := c.Get(ctx, contentPath(node, storage)+"/"+url.PathEscape(volid), nil, &out)
	if err == nil {
		return &out, nil
	}
	var ae *APIError
	if errors.As(err, &ae) {
		vols, lerr := c.StorageContent(ctx, node, storage, "", 0)
		if lerr == nil && !slices.ContainsFunc(vols, func(v Volume) bool { return v.VolID == volid }) {
			return nil, fmt.Errorf("volume %s on %s: %w: %w", volid, node, ErrNotFound, err)
		}
	}
	return nil, fmt.Errorf("reading volume %s on %s: %w", volid, node, err)
}

// DeleteVolume deletes a volume and waits for PVE's imgdel task.
func (c *Client) DeleteVolume(ctx context.Context, node, storage, volid string, opts WaitOptions) (*TaskResult, error) {
	var upid string
	if err := c.Delete(ctx, contentPath(node, storage)+"/"+url.PathEscape(volid), nil, &upid); err != nil {
		return nil, fmt.Errorf("deleting volume %s on %s: %w", volid, node, err)
	}
	res, err := c.WaitTask(ctx, upid, opts)
	if err != nil {
		return nil, fmt.Errorf("deleting volume %s on %s: %w", volid, node, err)
	}
	return res, nil
}

// Download is a download-url request: PVE fetches URL into a file of
// Content (iso, vztmpl or import) named Filename on a file based storage,
// checks the checksum if one is given, and decompresses ISO images.
type Download struct {
	URL                string
	Content            string
	Filename           string
	Checksum           string
	ChecksumAlgorithm  string // md5, sha1, sha224, sha256, sha384, sha512
	Compression        string // gz, lzo, zst, bz2
	VerifyCertificates *bool  // nil: PVE's default (verify)
}

// StartDownload starts a download on node's storage and returns the UPID of
// its 'download' task. A request whose answer was lost (596, a connection
// lost after it went out) may have started the download: pve-storage's
// download_url (PVE/API2/Storage/Status.pm) forks a worker of type
// 'download' whose ID is PVE::Tools::encode_text of the file name, so the
// node's task list (pve-manager PVE/API2/Tasks.pm node_tasks, which lists
// running and ended tasks with source=all) is asked for such a task
// started since the request went out: it is taken as this request's when
// it shows up within inDoubtWait, and the request is sent again when none
// does. Sent blindly, a second download of the same file would run beside
// the first, or fail on the file the first put there ("refusing to
// override existing file").
func (c *Client) StartDownload(ctx context.Context, node, storage string, d Download) (string, error) {
	p := url.Values{"url": {d.URL}, "content": {d.Content}, "filename": {d.Filename}}
	if d.Checksum != "" {
		p.Set("checksum", d.Checksum)
		p.Set("checksum-algorithm", d.ChecksumAlgorithm)
	}
	if d.Compression != "" {
		p.Set("compression", d.Compression)
	}
	if d.VerifyCertificates != nil {
		p.Set("verify-certificates", boolParam(*d.VerifyCertificates))
	}
	path := "/nodes/" + url.PathEscape(node) + "/storage/" + url.PathEscape(storage) + "/download-url"
	for {
		sent := time.Now()
		var upid string
		err := c.Post(ctx, path, p, &upid)
		if err == nil {
			return upid, nil
		}
		if !inDoubt(err) {
			return "", fmt.Errorf("downloading %s to %s on %s: %w", d.URL, storage, node, err)
		}
		var found string
		_, xerr := awaitExists(ctx, func(ctx context.Context) (bool, error) {
			var ferr error
			found, ferr = c.findWorker(ctx, node, "download", encodeText(d.Filename), sent)
			return found != "", ferr
		})
		switch {
		case xerr != nil:
			return "", fmt.Errorf("downloading %s to %s on %s: %w (while finding out whether the download started: %w)", d.URL, storage, node, err, xerr)
		case found != "":
			return found, nil
		}
	}
}

// findWorker returns the UPID of the oldest task of type typ with worker
// ID id that node started at or after since (a second earlier: task start
// times are whole seconds), or "" when there is none. The task list's
// vmid filter takes only VM IDs, so the ID is matched here.
func (c *Client) findWorker(ctx context.Context, node, typ, id string, since time.Time) (string, error) {
	var tasks []struct {
		UPID      string `json:"upid"`
		ID        string `json:"id"`
		StartTime int64  `json:"starttime"`
	}
	q := url.Values{"typefilter": {typ}, "source": {"all"}, "since": {strconv.FormatInt(since.Unix()-1, 10)}}
	if err := c.Get(ctx, "/nodes/"+url.PathEscape(node)+"/tasks", q, &tasks); err != nil {
		return "", err
	}
	best := ""
	var bestStart int64
	for _, t := range tasks {
		if t.ID == id && (best == "" || t.StartTime < bestStart) {
			best, bestStart = t.UPID, t.StartTime
		}
	}
	return best, nil
}

// encodeText is PVE::Tools::encode_text (pve-common PVE/ParseUtils.pm):
// the UTF-8 bytes of s with control and non-ASCII characters, ':' and '%'
// percent-encoded, as a worker ID made of a file name is written into its
// UPID.
func encodeText(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if c >= 0x20 && c <= 0x7e && c != '%' && c != ':' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func boolParam(b bool) string {
	if b {
		return "1"
	}
	return "0"
}
