package storage

import "testing"

func TestFileNameFromURL(t *testing.T) {
	for url, want := range map[string]string{
		"https://enterprise.proxmox.com/iso/proxmox-ve_9.1-1.iso":          "proxmox-ve_9.1-1.iso",
		"http://127.0.0.1:8080/images/system/debian-12.tar.zst?x=1&y=/a.b": "debian-12.tar.zst",
		"https://example.com/dl/my%20image (1).iso":                        "my_20image__1_.iso",
		"https://example.com/":                                             "",
		"https://example.com":                                              "example.com", // as query_url_metadata takes it
		"https://cloud.debian.org/images/cloud/trixie/latest/d.qcow2#frag": "d.qcow2_frag",
	} {
		if got := fileNameFromURL(url); got != want {
			t.Errorf("fileNameFromURL(%q) = %q, want %q", url, got, want)
		}
	}
}

func TestCheckFileName(t *testing.T) {
	for _, tt := range []struct {
		content, name string
		ok            bool
	}{
		{"iso", "x.iso", true}, {"iso", "x.ISO", true}, {"iso", "x.img", true}, {"iso", "x.iso.gz", false},
		{"vztmpl", "t.tar.zst", true}, {"vztmpl", "t.tar", true}, {"vztmpl", "t.TAR.GZ", true}, {"vztmpl", "t.tgz", false},
		{"import", "d.qcow2", true}, {"import", "a.ova", true}, {"import", "d.ovf", false}, {"import", "d.QCOW2", false},
	} {
		if err := checkFileName(tt.content, tt.name); (err == nil) != tt.ok {
			t.Errorf("checkFileName(%s, %s) = %v", tt.content, tt.name, err)
		}
	}
}

func TestCheckChecksum(t *testing.T) {
	if err := checkChecksum("md5", "8D777F385D3DFEC8815D20F7496026DC"); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{"8d777f385d3dfec8815d20f7496026d", "8d777f385d3dfec8815d20f7496026dg"} {
		if checkChecksum("md5", bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestParseImportID(t *testing.T) {
	node, storage, content, name, err := parseImportID("pve1/local:iso/debian-13.1.0-amd64-netinst.iso")
	if err != nil || node != "pve1" || storage != "local" || content != "iso" || name != "debian-13.1.0-amd64-netinst.iso" {
		t.Errorf("got %q %q %q %q %v", node, storage, content, name, err)
	}
	for _, bad := range []string{"local:iso/x.iso", "pve1/local-lvm:vm-100-disk-0", "pve1/local:snippets/x.yaml", "/local:iso/x.iso"} {
		if _, _, _, _, err := parseImportID(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzFileNameFromURL(f *testing.F) {
	f.Add("https://example.com/a/b.iso?x")
	f.Fuzz(func(t *testing.T, u string) {
		n := fileNameFromURL(u)
		if normalizeFileName(n) != n {
			t.Errorf("%q: name %q is not normalized", u, n)
		}
	})
}
