package pvesim

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/mirror"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/pvesim/pvetest"
)

// putFile puts one of the download server's files (package mirror) on a
// node's local storage through the API, as a user does on a fresh node:
// an upload whose imgcopy task must end OK, unless the file is there.
func putFile(t *testing.T, c *pvetest.Caller, node, name string) string {
	t.Helper()
	f, ok := mirror.Lookup(name)
	if !ok {
		t.Fatalf("the download server has no %s", name)
	}
	content := "iso"
	if strings.Contains(name, ".tar") {
		content = "vztmpl"
	}
	volid := "local:" + content + "/" + name
	for _, v := range pvetest.DataList(t, c.Form(http.MethodGet, "/nodes/"+node+"/storage/local/content", url.Values{"content": {content}})) {
		if v["volid"] == volid {
			return volid
		}
	}
	res := c.Upload(node, "local", url.Values{"content": {content}, "checksum-algorithm": {"sha256"}, "checksum": {f.SHA256}}, name, f.Data())
	if exit, lines := waitTask(t, c, upidOf(t, res)); exit != "OK" {
		t.Fatalf("upload %s to %s: %s %q", name, node, exit, lines)
	}
	return volid
}

func TestStorageLocalStartsEmpty(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{Nodes: 2})
	c := newCaller(t, lab).WithToken()
	for _, node := range []string{"pve1", "pve2"} {
		if got := pvetest.DataList(t, c.Get("/nodes/"+node+"/storage/local/content")); len(got) != 0 {
			t.Errorf("%s: local holds %v on a fresh install", node, got)
		}
	}
	// what needs a file that is not there fails as on a fresh node
	failTask(t, c, http.MethodPost, "/nodes/pve1/lxc", url.Values{"vmid": {"200"}, "ostemplate": {"local:vztmpl/" + mirror.DebianTemplate}, "rootfs": {"local-lvm:1"}},
		fmt.Sprintf("unable to create CT 200 - can't find file 'local:vztmpl/%s'", mirror.DebianTemplate))
}

func TestStorageDownloadURL(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()
	files, err := mirror.Start("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = files.Close() })
	iso, _ := mirror.Lookup(mirror.DebianISO)
	isoURL := files.FileURL(iso.Name())
	path := "/nodes/pve2/storage/local/download-url"
	dl := func(kv ...string) url.Values {
		v := url.Values{"url": {isoURL}, "content": {"iso"}, "filename": {iso.Name()}}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}

	// checks of the call
	expectError(t, c.Form(http.MethodPost, "/nodes/pve2/storage/local-lvm/download-url", dl()), "can't upload to storage type 'lvmthin', not a file based storage!")
	expectError(t, c.Form(http.MethodPost, "/nodes/pve2/storage/nfs/download-url", dl()), "storage 'nfs' does not exist")
	pvetest.ExpectParamError(t, c.Form(http.MethodPost, path, dl("filename", "debian.qcow2")), "filename", "wrong file extension")
	pvetest.ExpectParamError(t, c.Form(http.MethodPost, path, dl("content", "vztmpl")), "filename", "wrong file extension")
	pvetest.ExpectParamError(t, c.Form(http.MethodPost, path, dl("content", "images")), "content", "value 'images' does not have a value in the enumeration 'iso, vztmpl, import'")
	pvetest.ExpectParamError(t, c.Form(http.MethodPost, path, dl("url", "ftp://x/y.iso")), "url", "value does not match the regex pattern")

	// a download: a 'download' task named after the file; the volume has
	// the size of what was fetched
	upid := upidOf(t, c.Form(http.MethodPost, path, dl("checksum", iso.SHA256, "checksum-algorithm", "sha256")))
	if !strings.Contains(upid, ":download:"+iso.Name()+":root@pam!lab:") || !strings.HasPrefix(upid, "UPID:pve2:") {
		t.Errorf("UPID = %s", upid)
	}
	exit, lines := waitTask(t, c, upid)
	dest := "/var/lib/vz/template/iso/" + iso.Name()
	if exit != "OK" || lines[0] != "downloading "+isoURL+" to "+dest || !slices.Contains(lines, "calculating checksum...OK, checksum verified") ||
		!slices.Contains(lines, fmt.Sprintf("download of '%s' to '%s' finished", isoURL, dest)) || !slices.Contains(lines, "HTTP request sent, awaiting response... 200 OK") {
		t.Errorf("download: %s %q", exit, lines)
	}
	info := dataMap(t, c.Get("/nodes/pve2/storage/local/content/local:iso/"+iso.Name()))
	if info["size"] != float64(iso.Size) || info["format"] != "iso" || info["path"] != dest {
		t.Errorf("volume = %v", info)
	}
	// only on that node
	if got := pvetest.DataList(t, c.Get("/nodes/pve1/storage/local/content")); len(got) != 0 {
		t.Errorf("pve1 local = %v", got)
	}

	// again: the file is there; with the right checksum nothing to do,
	// else PVE refuses to overwrite it
	exit, lines = waitTask(t, c, upidOf(t, c.Form(http.MethodPost, path, dl("checksum", iso.SHA512, "checksum-algorithm", "sha512"))))
	if exit != "OK" || !slices.Contains(lines, "calculating checksum of existing file...OK, got correct file already, no need to download") {
		t.Errorf("again: %s %q", exit, lines)
	}
	failTask(t, c, http.MethodPost, path, dl(), fmt.Sprintf("refusing to override existing file '%s'", dest))
	bad := strings.Repeat("0", 64)
	failTask(t, c, http.MethodPost, path, dl("checksum", bad, "checksum-algorithm", "sha256"),
		fmt.Sprintf("checksum mismatch: got '%s' != expect '%s', aborting", iso.SHA256, bad))

	// a wrong checksum fails the task and writes nothing
	lines = failTask(t, c, http.MethodPost, path, dl("filename", "other.iso", "checksum", bad, "checksum-algorithm", "sha256"),
		fmt.Sprintf("checksum mismatch: got '%s' != expect '%s'", iso.SHA256, bad))
	if lines[len(lines)-2] != "calculating checksum..." {
		t.Errorf("log = %q", lines)
	}
	expectError(t, c.Get("/nodes/pve2/storage/local/content/local:iso/other.iso"), "volume_size_info on 'local:iso/other.iso' failed - no format")

	// wget's failures
	tmp := func(upid string) string {
		return fmt.Sprintf("/var/lib/vz/template/iso/missing.iso.tmp_dwnl.%d", mustPID(t, upid))
	}
	upid = upidOf(t, c.Form(http.MethodPost, path, dl("url", files.URL()+"/iso/missing.iso", "filename", "missing.iso")))
	exit, lines = waitTask(t, c, upid)
	if want := fmt.Sprintf("download failed: command 'wget --progress=dot:giga -O %s %s/iso/missing.iso' failed: exit code 8", tmp(upid), files.URL()); exit != want ||
		!slices.Contains(lines, "HTTP request sent, awaiting response... 404 Not Found") {
		t.Errorf("404: %s\n%q", exit, lines)
	}

	// a compressed ISO is decompressed; other content cannot be
	failTask(t, c, http.MethodPost, path, dl("filename", "x.tar.zst", "content", "vztmpl", "compression", "gz"), "decompression not supported for vztmpl")

	// the file name is normalized
	exit, _ = waitTask(t, c, upidOf(t, c.Form(http.MethodPost, path, dl("filename", "../my image (1).iso"))))
	if exit != "OK" {
		t.Fatal(exit)
	}
	dataMap(t, c.Get("/nodes/pve2/storage/local/content/local:iso/my_image__1_.iso"))

	// query-url-metadata
	if m := dataMap(t, c.Form(http.MethodGet, "/nodes/pve2/query-url-metadata", url.Values{"url": {isoURL}})); m["filename"] != iso.Name() ||
		m["size"] != float64(iso.Size) || m["mimetype"] != "application/x-iso9660-image" {
		t.Errorf("metadata = %v", m)
	}
	expectError(t, c.Form(http.MethodGet, "/nodes/pve2/query-url-metadata", url.Values{"url": {files.URL() + "/nope.iso"}}), "invalid server response: '404 Not Found'")
}

func mustPID(t *testing.T, upid string) int64 {
	t.Helper()
	m := upidRE.FindStringSubmatch(upid)
	if m == nil {
		t.Fatalf("UPID %q", upid)
	}
	var pid int64
	fmt.Sscanf(m[3], "%X", &pid)
	return pid
}

func TestStorageUpload(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()
	tmpl, _ := mirror.Lookup(mirror.UbuntuTemplate)

	// uploaded to pve1 for pve2: copied there with scp
	res := c.Upload("pve2", "local", url.Values{"content": {"vztmpl"}, "checksum-algorithm": {"sha512"}, "checksum": {tmpl.SHA512}}, tmpl.Name(), tmpl.Data())
	upid := upidOf(t, res)
	if !strings.Contains(upid, ":imgcopy::root@pam!lab:") {
		t.Errorf("UPID = %s", upid)
	}
	exit, lines := waitTask(t, c, upid)
	if exit != "OK" || !strings.HasPrefix(lines[0], "starting file import from: /var/tmp/pveupload-") || lines[1] != "calculating checksum...OK, checksum verified" ||
		lines[2] != "target node: pve2" || lines[5] != fmt.Sprintf("command: /usr/bin/scp -o BatchMode=yes -o HostKeyAlias=pve2 -p -- %s [%s]:/var/lib/vz/template/cache/%s",
		strings.TrimPrefix(lines[0], "starting file import from: "), lab.clusterInfo().member("pve2").ip, tmpl.Name()) {
		t.Errorf("upload: %s\n%q", exit, lines)
	}
	vols := pvetest.DataList(t, c.Form(http.MethodGet, "/nodes/pve2/storage/local/content", url.Values{"content": {"vztmpl"}}))
	if len(vols) != 1 || vols[0]["volid"] != "local:vztmpl/"+tmpl.Name() || vols[0]["size"] != float64(tmpl.Size) || vols[0]["format"] != "tzst" {
		t.Errorf("content = %v", vols)
	}
	// an upload overwrites
	exit, _ = waitTask(t, c, upidOf(t, c.Upload("pve2", "local", url.Values{"content": {"vztmpl"}}, tmpl.Name(), []byte("short"))))
	if v := dataMap(t, c.Get("/nodes/pve2/storage/local/content/local:vztmpl/"+tmpl.Name())); exit != "OK" || v["size"] != float64(5) {
		t.Errorf("overwrite: %s %v", exit, v)
	}
	// checks
	failTask2 := func(res pvetest.Result, want string) {
		t.Helper()
		if exit, lines := waitTask(t, c, upidOf(t, res)); exit != want {
			t.Errorf("got %q, want %q; %q", exit, want, lines)
		}
	}
	failTask2(c.Upload("pve1", "local", url.Values{"content": {"iso"}, "checksum-algorithm": {"md5"}, "checksum": {"abc"}}, "x.iso", []byte("data")),
		"checksum mismatch: got '8d777f385d3dfec8815d20f7496026dc' != expect 'abc'")
	pvetest.ExpectParamError(t, c.Upload("pve1", "local", url.Values{"content": {"iso"}}, "x.img.gz", []byte("data")), "filename", "wrong file extension")
	pvetest.ExpectParamError(t, c.Upload("pve1", "local", url.Values{"content": {"import"}}, "x.iso", []byte("data")), "filename", "invalid filename or wrong extension")
	expectError(t, c.Upload("pve1", "local-lvm", url.Values{"content": {"iso"}}, "x.iso", []byte("data")), "can't upload to storage type 'lvmthin'")
	// pveproxy takes only multipart bodies for uploads; without a body the
	// temporary file must exist
	pvetest.Expect(t, c.Form(http.MethodPost, "/nodes/pve1/storage/local/upload", url.Values{"content": {"iso"}, "filename": {"x.iso"}}),
		http.StatusInternalServerError, "upload 'Content-Type 'application/x-www-form-urlencoded' not implemented")
	req, _ := http.NewRequest(http.MethodPost, lab.Endpoint()+"/api2/json/nodes/pve1/storage/local/upload?content=iso&filename=x.iso&tmpfilename=/var/tmp/pveupload-0123", nil)
	expectError(t, c.Do(req), "temporary file '/var/tmp/pveupload-0123' does not exist")
}

func TestQemuStartMissingVolume(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()
	volid := putFile(t, c, "pve1", mirror.ProxmoxISO)
	createSimpleVM(t, c, "pve1", 100, url.Values{"ide2": {volid + ",media=cdrom"}})
	// the ISO goes away (another VM's owner deleted it): the VM cannot start
	runTask(t, c, http.MethodDelete, "/nodes/pve1/storage/local/content/"+volid, nil)
	failTask(t, c, http.MethodPost, "/nodes/pve1/qemu/100/status/start", nil, fmt.Sprintf("volume '%s' does not exist", volid))
	putFile(t, c, "pve1", mirror.ProxmoxISO)
	runTask(t, c, http.MethodPost, "/nodes/pve1/qemu/100/status/start", nil)
}

func TestStorageDeleteFile(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()
	volid := putFile(t, c, "pve1", mirror.DebianISO)
	lines := runTask(t, c, http.MethodDelete, "/nodes/pve1/storage/local/content/"+volid, nil)
	if lines[len(lines)-2] != "Removed volume '"+volid+"'" {
		t.Errorf("log = %q", lines)
	}
	// a file that is not there: free_image warns
	exit, lines := waitTask(t, c, upidOf(t, c.Form(http.MethodDelete, "/nodes/pve1/storage/local/content/"+volid, nil)))
	if exit != "WARNINGS: 1" || lines[0] != "WARN: disk image '/var/lib/vz/template/iso/"+mirror.DebianISO+"' does not exist" {
		t.Errorf("again: %s %q", exit, lines)
	}
	expectError(t, c.Form(http.MethodDelete, "/nodes/pve1/storage/local/content/local:iso/x.txt", nil), "unable to parse directory volume name 'iso/x.txt'")
}

// An ISO image served compressed is decompressed (the checksum is the
// download's); an HTTPS server whose certificate the node cannot verify
// fails as wget does, unless verify-certificates is off.
func TestStorageDownloadCompressedAndTLS(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{})
	c := newCaller(t, lab).WithToken()
	iso, _ := mirror.Lookup(mirror.ProxmoxISO)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(iso.Data())
	_ = zw.Close()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(gz.Bytes()) }))
	t.Cleanup(srv.Close)
	sum := sha256.Sum256(gz.Bytes())
	params := url.Values{"url": {srv.URL + "/pve.iso.gz"}, "content": {"iso"}, "filename": {"pve.iso"}, "compression": {"gz"},
		"checksum": {hex.EncodeToString(sum[:])}, "checksum-algorithm": {"sha256"}}
	upid := upidOf(t, c.Form(http.MethodPost, "/nodes/pve1/storage/local/download-url", params))
	exit, lines := waitTask(t, c, upid)
	host, _ := hostOf(srv.URL)
	if want := fmt.Sprintf("download failed: command 'wget --progress=dot:giga -O /var/lib/vz/template/iso/pve.iso.tmp_dwnl.%d %s/pve.iso.gz' failed: exit code 5", mustPID(t, upid), srv.URL); exit != want ||
		!slices.Contains(lines, fmt.Sprintf("To connect to %s insecurely, use `--no-check-certificate'.", host)) {
		t.Errorf("unverified: %s\n%q", exit, lines)
	}
	params.Set("verify-certificates", "0")
	exit, lines = waitTask(t, c, upidOf(t, c.Form(http.MethodPost, "/nodes/pve1/storage/local/download-url", params)))
	if exit != "OK" || !slices.ContainsFunc(lines, func(l string) bool {
		return strings.HasPrefix(l, "decompressing /var/lib/vz/template/iso/pve.iso.tmp_dwnl.")
	}) {
		t.Errorf("insecure: %s\n%q", exit, lines)
	}
	if v := dataMap(t, c.Get("/nodes/pve1/storage/local/content/local:iso/pve.iso")); v["size"] != float64(iso.Size) {
		t.Errorf("decompressed volume = %v", v)
	}
	// what is not compressed fails the decompression
	params.Set("compression", "zst")
	params.Set("filename", "other.iso")
	exit, _ = waitTask(t, c, upidOf(t, c.Form(http.MethodPost, "/nodes/pve1/storage/local/download-url", params)))
	if !strings.HasPrefix(exit, "command 'zstd -q -d -c /var/lib/vz/template/iso/other.iso.tmp_dwnl.") {
		t.Errorf("bad zst: %s", exit)
	}
	expectError(t, c.Get("/nodes/pve1/storage/local/content/local:iso/other.iso"), "volume_size_info on 'local:iso/other.iso' failed - no format")
}
