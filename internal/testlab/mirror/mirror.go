// Package mirror is the lab's download server: a small HTTP file server on
// loopback that serves what a fresh PVE node has to download before it can
// run guests (a fresh install's local storage has no ISO image and no
// container template): installer ISOs and container templates, laid out
// like the mirrors a real user downloads them from, each folder with the
// SHA256SUMS and SHA512SUMS files those mirrors publish.
//
//	/iso/proxmox-ve_9.1-1.iso                         enterprise.proxmox.com/iso/
//	/debian-cd/13.1.0/amd64/iso-cd/debian-13.1.0-amd64-netinst.iso
//	                                                  cdimage.debian.org/debian-cd/
//	/images/system/debian-12-standard_12.7-1_amd64.tar.zst
//	/images/system/ubuntu-24.04-standard_24.04-2_amd64.tar.zst
//	                                                  download.proxmox.com/images/system/
//
// The files are small and generated, the same bytes in every run: ISO 9660
// images with the volume descriptor of their name, and zstd-compressed tar
// archives of a root file system's identifying files.
package mirror

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"
)

// File is one file the server serves.
type File struct {
	Path   string // URL path, e.g. "/iso/proxmox-ve_9.1-1.iso"
	Size   int64
	SHA256 string // hex
	SHA512 string // hex
	data   []byte
}

// Name is the file's name, the last element of its path.
func (f File) Name() string { return path.Base(f.Path) }

// The files, by name.
const (
	ProxmoxISO     = "proxmox-ve_9.1-1.iso"
	DebianISO      = "debian-13.1.0-amd64-netinst.iso"
	DebianTemplate = "debian-12-standard_12.7-1_amd64.tar.zst"
	UbuntuTemplate = "ubuntu-24.04-standard_24.04-2_amd64.tar.zst"
)

// epoch is the modification time of every file and archive member.
var epoch = time.Date(2025, 11, 19, 12, 0, 0, 0, time.UTC)

var (
	filesOnce sync.Once
	files     []File
)

// Files returns the files the server serves (without the sums files).
func Files() []File {
	filesOnce.Do(func() {
		files = []File{
			newFile("/iso/"+ProxmoxISO, isoImage("PVE", 1<<20)),
			newFile("/debian-cd/13.1.0/amd64/iso-cd/"+DebianISO, isoImage("Debian 13.1.0 amd64 n", 768<<10)),
			newFile("/images/system/"+DebianTemplate, template("debian", "12", "Debian GNU/Linux 12 (bookworm)")),
			newFile("/images/system/"+UbuntuTemplate, template("ubuntu", "24.04", "Ubuntu 24.04 LTS")),
		}
	})
	return files
}

// Lookup returns the file of a name.
func Lookup(name string) (File, bool) {
	i := slices.IndexFunc(Files(), func(f File) bool { return f.Name() == name })
	if i < 0 {
		return File{}, false
	}
	return Files()[i], true
}

// Data returns the file's content.
func (f File) Data() []byte { return f.data }

func newFile(p string, data []byte) File {
	s256, s512 := sha256.Sum256(data), sha512.Sum512(data)
	return File{Path: p, Size: int64(len(data)), SHA256: hex.EncodeToString(s256[:]), SHA512: hex.EncodeToString(s512[:]), data: data}
}

// stream is a deterministic byte stream: SHA-256 of a seed and a counter.
func stream(seed string, n int) []byte {
	out := make([]byte, 0, n+32)
	for i := 0; len(out) < n; i++ {
		s := sha256.Sum256(fmt.Appendf(nil, "%s/%d", seed, i))
		out = append(out, s[:]...)
	}
	return out[:n]
}

// isoImage is an ISO 9660 image of size bytes: 16 empty system sectors, the
// primary volume descriptor with the volume ID, the terminator, then data.
func isoImage(volumeID string, size int) []byte {
	img := stream(volumeID, size)
	clear(img[:0x8000])
	pvd := img[0x8000:0x8800]
	clear(pvd)
	pvd[0], pvd[6] = 1, 1
	copy(pvd[1:6], "CD001")
	copy(pvd[8:40], fmt.Sprintf("%-32s", "LINUX"))
	copy(pvd[40:72], fmt.Sprintf("%-32s", volumeID))
	term := img[0x8800:0x9000]
	clear(term)
	term[0], term[6] = 255, 1
	copy(term[1:6], "CD001")
	return img
}

// template is a container template: a zstd-compressed tar of the files by
// which pve-container's setup detects the distribution.
func template(id, version, pretty string) []byte {
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	add := func(name, body string, dir bool) {
		h := &tar.Header{Name: name, ModTime: epoch, Mode: 0o644, Uname: "root", Gname: "root", Format: tar.FormatGNU}
		if dir {
			h.Typeflag, h.Mode = tar.TypeDir, 0o755
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(body))
		}
		if err := tw.WriteHeader(h); err != nil {
			panic(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			panic(err)
		}
	}
	add("./", "", true)
	add("./etc/", "", true)
	add("./etc/os-release", fmt.Sprintf("PRETTY_NAME=%q\nID=%s\nVERSION_ID=%q\n", pretty, id, version), false)
	if id == "debian" {
		add("./etc/debian_version", version+".7\n", false)
	}
	add("./etc/hostname", "localhost\n", false)
	add("./usr/", "", true)
	add("./usr/share/", "", true)
	add("./usr/share/lab-filler", string(stream(id+version, 96<<10)), false)
	if err := tw.Close(); err != nil {
		panic(err)
	}
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedDefault))
	if err != nil {
		panic(err)
	}
	return enc.EncodeAll(tb.Bytes(), nil)
}

// sums is a SHA256SUMS or SHA512SUMS file for the files in dir, as
// sha256sum writes it.
func sums(dir string, sha512 bool) []byte {
	var b strings.Builder
	for _, f := range Files() {
		if path.Dir(f.Path) != dir {
			continue
		}
		s := f.SHA256
		if sha512 {
			s = f.SHA512
		}
		fmt.Fprintf(&b, "%s  %s\n", s, f.Name())
	}
	return []byte(b.String())
}

// Server is a running download server.
type Server struct {
	srv *http.Server
	ln  net.Listener
}

// Start serves the files on addr ("127.0.0.1:0" for a random loopback
// port).
func Start(addr string) (*Server, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{ln: ln, srv: &http.Server{Handler: Handler(), ReadHeaderTimeout: 10 * time.Second}}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// URL is the server's base URL, e.g. "http://127.0.0.1:38123".
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// FileURL is the URL of a file by name ("" if the server has no such file).
func (s *Server) FileURL(name string) string {
	f, ok := Lookup(name)
	if !ok {
		return ""
	}
	return s.URL() + f.Path
}

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

// Handler serves the files, their folders' SHA256SUMS and SHA512SUMS, GET
// and HEAD, with ranges, like a static file server.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		var data []byte
		ctype := "application/octet-stream"
		switch base := path.Base(r.URL.Path); base {
		case "SHA256SUMS", "SHA512SUMS":
			data, ctype = sums(path.Dir(r.URL.Path), base == "SHA512SUMS"), "text/plain; charset=utf-8"
			if len(data) == 0 {
				data = nil
			}
		default:
			for _, f := range Files() {
				if f.Path == r.URL.Path {
					data = f.data
					if strings.HasSuffix(f.Path, ".iso") {
						ctype = "application/x-iso9660-image"
					}
				}
			}
		}
		if data == nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", ctype)
		http.ServeContent(w, r, "", epoch, bytes.NewReader(data))
	})
}
