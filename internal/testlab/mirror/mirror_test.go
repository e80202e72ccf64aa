package mirror

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

func TestFiles(t *testing.T) {
	iso, ok := Lookup(ProxmoxISO)
	if !ok || string(iso.Data()[0x8001:0x8006]) != "CD001" || iso.Size != 1<<20 {
		t.Fatalf("ISO: %v %q", ok, iso.Data()[0x8000:0x8008])
	}
	// the same bytes every time: the sums are published and pinned
	if s := sha256.Sum256(isoImage("PVE", 1<<20)); hex.EncodeToString(s[:]) != iso.SHA256 {
		t.Error("the ISO is not deterministic")
	}
	tmpl, _ := Lookup(DebianTemplate)
	if !bytes.Equal(template("debian", "12", "Debian GNU/Linux 12 (bookworm)"), tmpl.Data()) {
		t.Error("the template is not deterministic")
	}
	dec, err := zstd.NewReader(bytes.NewReader(tmpl.Data()))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(dec)
	found := false
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Name == "./etc/os-release" {
			b, _ := io.ReadAll(tr)
			found = strings.Contains(string(b), "ID=debian\n")
		}
	}
	if !found {
		t.Error("the template has no Debian os-release")
	}
}

func TestServer(t *testing.T) {
	s, err := Start("")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	get := func(method, path string) (*http.Response, string) {
		req, _ := http.NewRequest(method, s.URL()+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	iso, _ := Lookup(DebianISO)
	resp, body := get(http.MethodGet, iso.Path)
	if resp.StatusCode != 200 || int64(len(body)) != iso.Size || resp.Header.Get("Content-Type") != "application/x-iso9660-image" {
		t.Errorf("GET iso: %d %d %v", resp.StatusCode, len(body), resp.Header)
	}
	if resp, _ := get(http.MethodHead, iso.Path); resp.ContentLength != iso.Size {
		t.Errorf("HEAD: %d", resp.ContentLength)
	}
	if _, body := get(http.MethodGet, "/debian-cd/13.1.0/amd64/iso-cd/SHA256SUMS"); body != iso.SHA256+"  "+iso.Name()+"\n" {
		t.Errorf("SHA256SUMS = %q", body)
	}
	if resp, _ := get(http.MethodGet, "/iso/nope.iso"); resp.StatusCode != 404 {
		t.Errorf("missing: %d", resp.StatusCode)
	}
	if resp, _ := get(http.MethodGet, "/nope/SHA256SUMS"); resp.StatusCode != 404 {
		t.Errorf("missing sums: %d", resp.StatusCode)
	}
	if s.FileURL(UbuntuTemplate) != s.URL()+"/images/system/"+UbuntuTemplate {
		t.Error(s.FileURL(UbuntuTemplate))
	}
}
