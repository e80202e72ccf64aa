package pvesim

import (
	"compress/bzip2"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/klauspost/compress/zstd"
)

// POST /nodes/{node}/storage/{storage}/download-url (pve-storage 6f49432a,
// PVE/API2/Storage/Status.pm download_url) and GET
// /nodes/{node}/query-url-metadata (pve-manager 2a3384a4, PVE/API2/Nodes.pm
// query_url_metadata). The 'download' worker is pve-common e92ce457
// PVE::Tools::download_file_from_url: it runs wget to a temporary file,
// checks the checksum, decompresses and renames it into place. The lab
// fetches the URL for real, over HTTP(S) from this process (no proxy: PVE
// uses only datacenter.cfg's http_proxy, which the lab does not have), and
// the volume appears when the task ends.

// downloadMinWork is the least a download worker runs; it ends when the
// fetch is done.
const downloadMinWork = 150 * time.Millisecond

// downloadTimeout bounds a fetch (wget's own read timeout is 900 s).
const downloadTimeout = 10 * time.Minute

func (p *PVE) registerStorageDownloadRoutes() {
	p.Handle(http.MethodPost, "/nodes/{node}/storage/{storage}/download-url", p.downloadURL, WithoutConfigLock(), WithoutQuorum())
	p.Handle(http.MethodPost, "/nodes/{node}/storage/{storage}/upload", p.uploadFile, WithoutConfigLock(), WithoutQuorum())
	p.Handle(http.MethodGet, "/nodes/{node}/query-url-metadata", p.queryURLMetadata)
}

// decompressors are Storage.pm decompressor_info's for 'iso'.
var decompressors = map[string]func(io.Reader) (io.Reader, error){
	"gz":  func(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) },
	"bz2": func(r io.Reader) (io.Reader, error) { return bzip2.NewReader(r), nil },
	"zst": func(r io.Reader) (io.Reader, error) {
		d, err := zstd.NewReader(r)
		if err != nil {
			return nil, err
		}
		return d.IOReadCloser(), nil
	},
}

// downloadURL serves download-url: the checks the API call makes, then a
// 'download' worker named after the file.
func (p *PVE) downloadURL(r *Request) (any, error) {
	node := r.PathParams["node"]
	content, _ := r.String("content")
	filename, _ := r.String("filename")
	rawURL, _ := r.String("url")
	compression, _ := r.String("compression")
	checksum, _ := r.String("checksum")
	algo, _ := r.String("checksum-algorithm")
	verify := r.Bool("verify-certificates", true)
	f, err := p.fileTarget(node, r.PathParams["storage"], content, filename, true)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.settleLocked(now)
	t := &task{node: node, typ: "download", id: workerIDText(f.name), user: r.User, duration: 24 * time.Hour, exit: "OK"}
	p.spawnLocked(t, now)
	var existing map[string]string
	if v := p.nodeLocked(node).storage.vols[f.volid()]; v != nil {
		existing = v.sums
		if existing == nil {
			existing = map[string]string{}
		}
	}
	go p.runDownload(t, f, rawURL, compression, checksum, algo, verify, existing)
	return t.upid, nil
}

// runDownload is the download worker; when it is done it sets the task's
// log, exit status and end, and the volume appears at the end.
func (p *PVE) runDownload(t *task, f *fileTarget, rawURL, compression, checksum, algo string, verify bool, existing map[string]string) {
	w := &worker{t: &task{exit: "OK"}}
	d, ok := p.download(w, t, f, rawURL, compression, checksum, algo, verify, existing)
	p.mu.Lock()
	defer p.mu.Unlock()
	if !t.killedAt.IsZero() {
		return // SIGINT: the worker removes its temporary files
	}
	now := time.Now()
	t.lines, t.exit = w.t.lines, w.t.exit
	if exit, failed := p.faults.TaskFailure(t.typ); failed {
		t.exit, ok = dieStatus(exit), false
	}
	t.duration = max(now.Sub(t.start), downloadMinWork)
	if d == nil || !ok {
		return
	}
	p.ops = append(p.ops, &vmOp{task: t, startAt: t.start, begun: true, finish: func(ok bool, at time.Time) {
		if ok {
			p.nodeLocked(t.node).storage.writeFile(f, d, at)
		}
	}})
}

// download is download_file_from_url; it returns the file's digests when
// it wrote the file, nil when the file was already there.
func (p *PVE) download(w *worker, t *task, f *fileTarget, rawURL, compression, checksum, algo string, verify bool, existing map[string]string) (*fileDigests, bool) {
	if compression != "" {
		if f.content != "iso" {
			w.fail(fmt.Sprintf("decompression not supported for %s", f.content))
			return nil, false
		}
		if decompressors[compression] == nil { // lzo: the lab has no lzop
			w.fail("no decompression method found (lab: lzo is not modelled)")
			return nil, false
		}
	}
	w.log(fmt.Sprintf("downloading %s to %s", rawURL, f.dest))
	if existing != nil {
		if algo != "" {
			got := existing[algo]
			if strings.EqualFold(got, checksum) {
				w.log("calculating checksum of existing file...OK, got correct file already, no need to download")
				return nil, true
			}
			w.log("calculating checksum of existing file...")
			w.fail(fmt.Sprintf("checksum mismatch: got '%s' != expect '%s', aborting", got, checksum))
			return nil, false
		}
		w.fail(fmt.Sprintf("refusing to override existing file '%s'", f.dest))
		return nil, false
	}
	tmp := fmt.Sprintf("%s.tmp_dwnl.%d", f.dest, t.pid)
	cmd := "wget --progress=dot:giga -O " + tmp + " " + rawURL
	if !verify {
		cmd += " --no-check-certificate"
	}
	d, raw, code := p.wget(w, rawURL, tmp, verify, compression)
	if code != 0 {
		w.fail(fmt.Sprintf("download failed: command '%s' failed: exit code %d", cmd, code))
		return nil, false
	}
	if algo != "" {
		got := raw.sums()[algo]
		if !strings.EqualFold(got, checksum) {
			w.log("calculating checksum...")
			w.fail(fmt.Sprintf("checksum mismatch: got '%s' != expect '%s'", got, checksum))
			return nil, false
		}
		w.log("calculating checksum...OK, checksum verified")
	}
	if compression != "" {
		w.log(fmt.Sprintf("decompressing %s to %s.tmp_dcom.%d", tmp, f.dest, t.pid))
		if d == nil {
			w.fail(fmt.Sprintf("command '%s' failed: exit code 1", strings.Join(map[string][]string{"gz": {"zcat"}, "zst": {"zstd", "-q", "-d", "-c"}, "bz2": {"bzcat", "-q"}}[compression], " ")+" "+tmp))
			return nil, false
		}
	} else {
		d = raw
	}
	w.log(fmt.Sprintf("download of '%s' to '%s' finished", rawURL, f.dest))
	return d, true
}

// wget fetches a URL as wget does and logs what wget prints; it returns the
// digests of the data (raw) and, with compression, of the decompressed
// data (nil if that fails), and wget's exit code: 4 for a network
// failure, 5 for a certificate wget cannot verify, 8 for an error answer.
func (p *PVE) wget(w *worker, rawURL, tmp string, verify bool, compression string) (dec, raw *fileDigests, code int) {
	host, port := hostOf(rawURL)
	w.log(fmt.Sprintf("--%s--  %s", time.Now().Format("2006-01-02 15:04:05"), rawURL))
	target := host + ":" + port
	if net.ParseIP(host) == nil {
		addrs, err := net.LookupHost(host)
		if err != nil || len(addrs) == 0 {
			w.log(fmt.Sprintf("Resolving %s (%s)... failed: Name or service not known.", host, host),
				fmt.Sprintf("wget: unable to resolve host address '%s'", host))
			return nil, nil, 4
		}
		w.log(fmt.Sprintf("Resolving %s (%s)... %s", host, host, strings.Join(addrs, ", ")))
		target = fmt.Sprintf("%s (%s)|%s|:%s", host, host, addrs[0], port)
	}
	ctx, cancel := context.WithTimeout(context.Background(), downloadTimeout)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{
		Proxy:           nil,
		TLSClientConfig: &tls.Config{InsecureSkipVerify: !verify}, //nolint:gosec // verify-certificates=0
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		w.log(fmt.Sprintf("%s: Invalid URL %s: %v", rawURL, rawURL, err))
		return nil, nil, 1
	}
	req.Header.Set("User-Agent", "Wget/1.25.0")
	resp, err := client.Do(req)
	if err != nil {
		var uerr x509.UnknownAuthorityError
		var herr x509.HostnameError
		var cerr *tls.CertificateVerificationError
		switch {
		case errors.As(err, &uerr), errors.As(err, &cerr), errors.As(err, &herr):
			w.log(fmt.Sprintf("Connecting to %s... connected.", target),
				fmt.Sprintf("ERROR: cannot verify %s's certificate:", host),
				"  Unable to locally verify the issuer's authority.",
				fmt.Sprintf("To connect to %s insecurely, use `--no-check-certificate'.", host))
			return nil, nil, 5
		case errors.Is(err, syscall.ECONNREFUSED):
			w.log(fmt.Sprintf("Connecting to %s... failed: Connection refused.", target))
		default:
			w.log(fmt.Sprintf("Connecting to %s... failed: %v.", target, err))
		}
		return nil, nil, 4
	}
	defer resp.Body.Close()
	w.log(fmt.Sprintf("Connecting to %s... connected.", target),
		fmt.Sprintf("HTTP request sent, awaiting response... %s", resp.Status))
	if resp.StatusCode != http.StatusOK {
		w.log(fmt.Sprintf("%s ERROR %s.", time.Now().Format("2006-01-02 15:04:05"), resp.Status))
		return nil, nil, 8
	}
	ctype := resp.Header.Get("Content-Type")
	if resp.ContentLength >= 0 {
		w.log(fmt.Sprintf("Length: %d (%s) [%s]", resp.ContentLength, humanSize(uint64(resp.ContentLength)), ctype))
	} else {
		w.log(fmt.Sprintf("Length: unspecified [%s]", ctype))
	}
	w.log(fmt.Sprintf("Saving to: '%s'", tmp), "")
	start := time.Now()
	raw = newFileDigests()
	body := io.TeeReader(resp.Body, raw)
	if compression == "" {
		_, err = io.Copy(io.Discard, body)
	} else {
		pr, pw := io.Pipe()
		done := make(chan *fileDigests)
		go func() {
			d := newFileDigests()
			r, err := decompressors[compression](pr)
			if err == nil {
				_, err = io.Copy(d, r)
			}
			_, _ = io.Copy(io.Discard, pr)
			if err != nil {
				d = nil
			}
			done <- d
		}()
		_, err = io.Copy(pw, body)
		_ = pw.Close()
		dec = <-done
	}
	if err != nil {
		w.log(fmt.Sprintf("%s (%s) - Read error at byte %d (%v).", time.Now().Format("2006-01-02 15:04:05"), "0 B/s", raw.size, err))
		return nil, nil, 4
	}
	secs := max(time.Since(start).Seconds(), 0.001)
	w.log(fmt.Sprintf("     0K ........ ........ ........ ........ ........ ........ 100%% %.0fM=%.3fs", float64(raw.size)/secs/1e6, secs), "",
		fmt.Sprintf("%s (%.1f MB/s) - '%s' saved [%d/%d]", time.Now().Format("2006-01-02 15:04:05"), float64(raw.size)/secs/1e6, tmp, raw.size, raw.size), "")
	return dec, raw, 0
}

// dispositionRE is query_url_metadata's file name in Content-Disposition.
var dispositionRE = regexp.MustCompile(`filename="([^"]*)"|filename=([^;]*)`)

// queryURLMetadata serves GET /nodes/{node}/query-url-metadata: a HEAD
// request; the file name from Content-Disposition or the URL.
func (p *PVE) queryURLMetadata(r *Request) (any, error) {
	rawURL, _ := r.String("url")
	client := &http.Client{Transport: &http.Transport{Proxy: nil,
		TLSClientConfig: &tls.Config{InsecureSkipVerify: !r.Bool("verify-certificates", true)}}} //nolint:gosec // verify-certificates=0
	ctx, cancel := context.WithTimeout(r.Context, time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, rawURL, nil)
	if err != nil {
		return nil, Errorf(http.StatusInternalServerError, "invalid server response: '400 URL must be absolute'\n")
	}
	req.Header.Set("User-Agent", "Proxmox VE")
	resp, err := client.Do(req)
	if err != nil {
		// LWP's internal response for a failed connection
		return nil, Errorf(http.StatusInternalServerError, "invalid server response: '500 Can't connect to %s'\n", req.URL.Host)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, Errorf(http.StatusInternalServerError, "invalid server response: '%s'\n", resp.Status)
	}
	out := map[string]any{}
	name := ""
	if disp := resp.Header.Get("Content-Disposition"); disp != "" {
		if m := dispositionRE.FindStringSubmatch(disp); m != nil {
			name = m[1] + m[2]
		}
	}
	if name == "" {
		name = urlFilename(rawURL)
	}
	if name != "" {
		out["filename"] = name
	}
	if resp.ContentLength > 0 {
		out["size"] = resp.ContentLength
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		if i := strings.Index(ct, ";"); i >= 0 {
			ct = ct[:i]
		}
		out["mimetype"] = ct
	}
	return out, nil
}
