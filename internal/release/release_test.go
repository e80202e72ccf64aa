package release

import (
	"archive/zip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

const testVersion = "1.2.3"

var testOpts = Options{ModulePath: "command-line-arguments", Signed: true}

// fakeBinary builds testdata/fakeprovider.go for this machine with
// -X main.version=version, once per version.
var (
	binMu    sync.Mutex
	binCache = map[string]string{}
	binDir   string
)

func fakeBinary(t *testing.T, version string) []byte {
	t.Helper()
	binMu.Lock()
	defer binMu.Unlock()
	if binDir == "" {
		d, err := os.MkdirTemp("", "release-test-*")
		if err != nil {
			t.Fatal(err)
		}
		binDir = d
	}
	path, ok := binCache[version]
	if !ok {
		path = filepath.Join(binDir, "bin-"+version)
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -X main.version="+version, "-o", path, "testdata/fakeprovider.go")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("building the fake provider: %v\n%s", err, out)
		}
		binCache[version] = path
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func writeZip(t *testing.T, path, name string, data []byte) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	w, err := zw.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func digest(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// goodDist lays out what GoReleaser writes for testVersion on this
// platform: the zip, the manifest, the checksum file and its signature.
func goodDist(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	zipName := fmt.Sprintf("%s_%s_%s_%s.zip", Name, testVersion, runtime.GOOS, runtime.GOARCH)
	writeZip(t, filepath.Join(dir, zipName), Name+"_v"+testVersion+exe(), fakeBinary(t, testVersion))
	manifest := `{"version": 1, "metadata": {"protocol_versions": ["6.0"]}}`
	if err := os.WriteFile(filepath.Join(dir, ManifestName(testVersion)), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	writeSums(t, dir, SumsName(testVersion), ManifestName(testVersion), zipName)
	if err := os.WriteFile(filepath.Join(dir, SumsName(testVersion)+".sig"), []byte("sig"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func exe() string {
	if runtime.GOOS == "windows" {
		return ".exe"
	}
	return ""
}

// writeSums writes a checksum file of the named files of dir, as
// GoReleaser and sha256sum do.
func writeSums(t *testing.T, dir, sumsName string, names ...string) {
	t.Helper()
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "%s  %s\n", digest(t, filepath.Join(dir, n)), n)
	}
	if err := os.WriteFile(filepath.Join(dir, sumsName), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCheckRegistry(t *testing.T) {
	zipName := fmt.Sprintf("%s_%s_%s_%s.zip", Name, testVersion, runtime.GOOS, runtime.GOARCH)
	cephZip := fmt.Sprintf("%s_%s_%s_%s_ceph.zip", Name, testVersion, runtime.GOOS, runtime.GOARCH)
	cases := []struct {
		name    string
		change  func(t *testing.T, dir string)
		opts    Options
		wantErr string // "" passes
	}{
		{name: "a good release", change: func(*testing.T, string) {}},
		{
			// What got other providers' releases rejected: one line more
			// than the platform archives and the manifest.
			name: "an extra line in the checksum file",
			change: func(t *testing.T, dir string) {
				writeZip(t, filepath.Join(dir, cephZip), Name+"_v"+testVersion, fakeBinary(t, testVersion))
				writeSums(t, dir, SumsName(testVersion), ManifestName(testVersion), zipName, cephZip)
			},
			wantErr: "lists " + cephZip + ": the registries accept only",
		},
		{
			name: "the manifest not in the checksum file",
			change: func(t *testing.T, dir string) {
				writeSums(t, dir, SumsName(testVersion), zipName)
			},
			wantErr: "lists the manifest " + ManifestName(testVersion) + " 0 times",
		},
		{
			name: "an archive not in the checksum file",
			change: func(t *testing.T, dir string) {
				writeSums(t, dir, SumsName(testVersion), ManifestName(testVersion))
			},
			wantErr: zipName + " is not in",
		},
		{
			name: "a digest that does not match",
			change: func(t *testing.T, dir string) {
				writeZip(t, filepath.Join(dir, zipName), Name+"_v"+testVersion+exe(), append(fakeBinary(t, testVersion), 0))
			},
			wantErr: "the checksum file says",
		},
		{
			name: "a line that is not DIGEST  NAME",
			change: func(t *testing.T, dir string) {
				f, _ := os.OpenFile(filepath.Join(dir, SumsName(testVersion)), os.O_APPEND|os.O_WRONLY, 0)
				fmt.Fprintln(f, "0123 notes.txt")
				f.Close()
			},
			wantErr: `is not "SHA256  FILE"`,
		},
		{
			name: "a manifest for protocol 5",
			change: func(t *testing.T, dir string) {
				os.WriteFile(filepath.Join(dir, ManifestName(testVersion)), []byte(`{"version":1,"metadata":{"protocol_versions":["5.0"]}}`), 0o644)
				writeSums(t, dir, SumsName(testVersion), ManifestName(testVersion), zipName)
			},
			wantErr: "want version 1 and [6.0]",
		},
		{
			name: "a binary of another version",
			change: func(t *testing.T, dir string) {
				writeZip(t, filepath.Join(dir, zipName), Name+"_v"+testVersion+exe(), fakeBinary(t, "1.2.4"))
				writeSums(t, dir, SumsName(testVersion), ManifestName(testVersion), zipName)
			},
			wantErr: `says it is version "1.2.4", want ` + testVersion,
		},
		{
			name: "a binary under another name",
			change: func(t *testing.T, dir string) {
				writeZip(t, filepath.Join(dir, zipName), Name+exe(), fakeBinary(t, testVersion))
				writeSums(t, dir, SumsName(testVersion), ManifestName(testVersion), zipName)
			},
			wantErr: "holds no " + Name + "_v" + testVersion,
		},
		{
			name: "no signature",
			change: func(t *testing.T, dir string) {
				os.Remove(filepath.Join(dir, SumsName(testVersion)+".sig"))
			},
			wantErr: "no signature",
		},
		{
			name:    "another module",
			change:  func(*testing.T, string) {},
			opts:    Options{Signed: true},
			wantErr: "built from command-line-arguments, want " + ModulePath,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := goodDist(t)
			tc.change(t, dir)
			opts := testOpts
			if tc.opts != (Options{}) {
				opts = tc.opts
			}
			err := CheckRegistry(dir, testVersion, opts)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("CheckRegistry: %v", err)
			case tc.wantErr != "" && err == nil:
				t.Fatalf("CheckRegistry passed, want an error with %q", tc.wantErr)
			case tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr):
				t.Fatalf("CheckRegistry: %v\nwant an error with %q", err, tc.wantErr)
			}
		})
	}
}

func TestCheckRegistry_version(t *testing.T) {
	for _, v := range []string{"v1.2.3", "1.2", "1.2.3.4", "01.2.3"} {
		if err := CheckRegistry(t.TempDir(), v, testOpts); err == nil || !strings.Contains(err.Error(), "not a semantic version") {
			t.Errorf("version %q: %v, want not a semantic version", v, err)
		}
	}
}

// A ceph archive must hold a cgo build with the ceph tag: the fake
// provider, built without either, is refused.
func TestCheckCeph(t *testing.T) {
	dir := t.TempDir()
	cephZip := fmt.Sprintf("%s_%s_%s_%s_ceph.zip", Name, testVersion, runtime.GOOS, runtime.GOARCH)
	writeZip(t, filepath.Join(dir, cephZip), Name+"_v"+testVersion+exe(), fakeBinary(t, testVersion))
	writeSums(t, dir, CephSumsName(testVersion), cephZip)
	os.WriteFile(filepath.Join(dir, CephSumsName(testVersion)+".sig"), []byte("sig"), 0o644)
	err := CheckCeph(dir, testVersion, testOpts)
	if err == nil || !strings.Contains(err.Error(), "the ceph build needs cgo and the ceph tag") {
		t.Fatalf("CheckCeph: %v, want the ceph build's error", err)
	}
	// A registry archive in the ceph checksum file is refused too.
	zipName := fmt.Sprintf("%s_%s_%s_%s.zip", Name, testVersion, runtime.GOOS, runtime.GOARCH)
	writeZip(t, filepath.Join(dir, zipName), Name+"_v"+testVersion+exe(), fakeBinary(t, testVersion))
	writeSums(t, dir, CephSumsName(testVersion), zipName)
	if err := CheckCeph(dir, testVersion, testOpts); err == nil || !strings.Contains(err.Error(), "_ceph.zip") {
		t.Fatalf("CheckCeph: %v, want an error naming the ceph archives' form", err)
	}
}

// GoReleaser checksums and uploads the manifest from the repository
// (checksum.extra_files), so it is not in dist/: Options.Manifest names it.
func TestCheckRegistry_manifestBesideDist(t *testing.T) {
	dir := goodDist(t)
	elsewhere := filepath.Join(t.TempDir(), "terraform-registry-manifest.json")
	if err := os.Rename(filepath.Join(dir, ManifestName(testVersion)), elsewhere); err != nil {
		t.Fatal(err)
	}
	if err := CheckRegistry(dir, testVersion, testOpts); err == nil || !strings.Contains(err.Error(), ManifestName(testVersion)) {
		t.Fatalf("without Options.Manifest: %v, want an error naming the manifest", err)
	}
	opts := testOpts
	opts.Manifest = elsewhere
	if err := CheckRegistry(dir, testVersion, opts); err != nil {
		t.Fatalf("with Options.Manifest: %v", err)
	}
	// The file there must be the one the checksum file lists.
	if err := os.WriteFile(elsewhere, []byte(`{"version":1,"metadata":{"protocol_versions":["6.0"]}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := CheckRegistry(dir, testVersion, opts); err == nil || !strings.Contains(err.Error(), "the checksum file says") {
		t.Fatalf("another manifest: %v, want a digest mismatch", err)
	}
}
