package pvesim

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/sim"
)

// POST /nodes/{node}/storage/{storage}/upload (pve-storage 6f49432a,
// PVE/API2/Storage/Status.pm upload). pveproxy streams a multipart body of
// such a call into /var/tmp/pveupload-<md5> and passes that name as the
// tmpfilename parameter (pve-http-server 5119ff9b,
// PVE/APIServer/AnyEvent.pm unshift_read_header and
// file_upload_multipart; pve-manager PVE/HTTPServer.pm auth_handler marks
// the call an upload). The 'imgcopy' worker checks the checksum and copies
// the file into place, overwriting what is there.

// maxUpload bounds what the lab keeps of an upload in memory.
const maxUpload = 512 << 20

// imgcopyWork is how long the lab's imgcopy workers run.
const imgcopyWork = 150 * time.Millisecond

// uploadedFile is the temporary file of an upload.
type uploadedFile struct {
	tmpfilename string
	data        []byte
}

var uploadPathRE = regexp.MustCompile(`^/nodes/([^/]+)/storage/([^/]+)/upload$`)

// isUploadCall is auth_handler's test for a file upload.
func isUploadCall(method, rel string) bool {
	return method == http.MethodPost && uploadPathRE.MatchString(rel)
}

var uploadSeq atomic.Int64

// readUpload reads a multipart upload as file_upload_multipart does: the
// query string's parameters, then the form fields content,
// checksum-algorithm and checksum before the file, whose field must be
// "filename" and whose file name becomes the filename parameter.
func readUpload(req *http.Request) (map[string]any, *uploadedFile, *sim.Response) {
	ctype := req.Header.Get("Content-Type")
	ct, ps, _ := mime.ParseMediaType(ctype)
	if ct != "multipart/form-data" || ps["boundary"] == "" {
		return nil, nil, plainError(http.StatusInternalServerError, fmt.Sprintf("upload 'Content-Type '%s' not implemented", ctype))
	}
	if req.ContentLength < 0 {
		return nil, nil, plainError(http.StatusInternalServerError, "upload without content length header not supported")
	}
	params := queryParams(req.URL)
	if _, ok := params["tmpfilename"]; ok {
		return nil, nil, plainError(http.StatusInternalServerError, "'tmpfilename' query parameter is not allowed for file uploads")
	}
	delete(params, "_dc")
	mr := multipart.NewReader(io.LimitReader(req.Body, maxUpload+1<<20), ps["boundary"])
	sum := md5.Sum([]byte(strconv.FormatInt(uploadSeq.Add(1), 10) + strconv.FormatInt(time.Now().UnixNano(), 10)))
	up := &uploadedFile{tmpfilename: "/var/tmp/pveupload-" + hex.EncodeToString(sum[:])}
	for {
		part, err := mr.NextPart()
		if err != nil {
			return nil, nil, plainError(http.StatusInternalServerError, "upload failed")
		}
		disp, dps, _ := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
		if disp != "form-data" {
			return nil, nil, plainError(http.StatusInternalServerError, fmt.Sprintf("wrong Content-Disposition '%s' in multipart, expected 'form-data'", disp))
		}
		name := dps["name"]
		if fn, ok := dps["filename"]; ok && fn != "" {
			if name != "filename" {
				return nil, nil, plainError(http.StatusInternalServerError, fmt.Sprintf("wrong field name '%s' for file upload, expected 'filename'", name))
			}
			var buf bytes.Buffer
			n, err := io.Copy(&buf, io.LimitReader(part, maxUpload+1))
			if err != nil || n > maxUpload {
				return nil, nil, plainError(http.StatusInternalServerError, "upload failed")
			}
			up.data = buf.Bytes()
			params["filename"] = strings.TrimSpace(fn)
			params["tmpfilename"] = up.tmpfilename
			return params, up, nil
		}
		switch name {
		case "content", "checksum-algorithm", "checksum":
			b, _ := io.ReadAll(io.LimitReader(part, 4096))
			params[name] = strings.TrimSpace(string(b))
		}
	}
}

// uploadFile serves upload: its checks, then an 'imgcopy' worker that
// checks the checksum and writes the file, on this node (cp) or another
// (scp).
func (p *PVE) uploadFile(r *Request) (any, error) {
	node := r.PathParams["node"]
	sid := r.PathParams["storage"]
	content, _ := r.String("content")
	filename, _ := r.String("filename")
	checksum, _ := r.String("checksum")
	algo, _ := r.String("checksum-algorithm")
	tmp, _ := r.String("tmpfilename")
	s, err := p.storageCheckEnabled(node, sid)
	if err != nil {
		return nil, err
	}
	if s.path == "" {
		return nil, Errorf(http.StatusInternalServerError, "can't upload to storage type '%s'\n", s.typ)
	}
	if tmp == "" {
		return nil, Errorf(http.StatusInternalServerError, "missing temporary file name\n")
	}
	if r.Upload == nil || r.Upload.tmpfilename != tmp {
		return nil, Errorf(http.StatusInternalServerError, "temporary file '%s' does not exist\n", tmp)
	}
	f, err := p.fileTarget(node, sid, content, filename, false)
	if err != nil {
		return nil, err
	}
	data := r.Upload.data
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.settleLocked(now)
	cmd := "cp -- " + tmp + " " + f.dest
	if node != r.LocalNode {
		m := p.clusterInfo().member(node)
		switch {
		case m == nil:
			return nil, Errorf(http.StatusInternalServerError, "hostname lookup '%s' failed - failed to get address info for: %s: Name or service not known\n", node, node)
		case !m.online:
			return nil, Errorf(http.StatusInternalServerError, "can't activate storage '%s' on node '%s': command '/usr/bin/ssh -e none -o BatchMode=yes -o HostKeyAlias=%s %s -- /usr/sbin/pvesm status --storage %s' failed: exit code 255\n", sid, node, node, m.ip, sid)
		}
		cmd = fmt.Sprintf("/usr/bin/scp -o BatchMode=yes -o HostKeyAlias=%s -p -- %s [%s]:%s", node, tmp, m.ip, f.dest)
	}
	t := &task{node: r.LocalNode, typ: "imgcopy", user: r.User, duration: imgcopyWork + time.Duration(len(data)/(400<<10))*time.Millisecond, exit: "OK"}
	w := &worker{t: t}
	w.log("starting file import from: " + tmp)
	d := newFileDigests()
	d.Write(data)
	if algo != "" {
		if got := d.sums()[algo]; !strings.EqualFold(got, checksum) {
			w.log("calculating checksum...")
			w.fail(fmt.Sprintf("checksum mismatch: got '%s' != expect '%s'", got, checksum))
		} else {
			w.log("calculating checksum...OK, checksum verified")
		}
	}
	if !w.failed() {
		w.log("target node: "+node, "target file: "+f.dest, fmt.Sprintf("file size is: %d", len(data)), "command: "+cmd,
			"finished file import successfully")
	}
	if exit, ok := p.faults.TaskFailure(t.typ); ok {
		t.exit = dieStatus(exit)
	}
	p.spawnLocked(t, now)
	p.ops = append(p.ops, &vmOp{task: t, startAt: now, begun: true, finish: func(ok bool, at time.Time) {
		if ok {
			p.nodeLocked(node).storage.writeFile(f, d, at)
		}
	}})
	return t.upid, nil
}
