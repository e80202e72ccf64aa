// Package release checks a release of the provider against the rules of the
// Terraform and OpenTofu registries before it is published: the archive
// names, the checksum file's lines, the registry manifest and the version of
// the binaries inside. make release-check runs it (cmd/release-check) on the
// snapshot GoReleaser builds.
//
// The registries read a release through one file,
// terraform-provider-pve_{VERSION}_SHA256SUMS, and its signature: it may
// list only the platform archives terraform-provider-pve_{VERSION}_{OS}_{ARCH}.zip
// and the manifest terraform-provider-pve_{VERSION}_manifest.json (the
// Terraform Registry rejects a release whose checksum file lists anything
// else). The librados (ceph) build is published beside them with a checksum
// file of its own (CheckCeph).
package release

import (
	"archive/zip"
	"bufio"
	"bytes"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
)

// Name is the provider's project name: the prefix of every release file.
const Name = "terraform-provider-pve"

// ModulePath is the main module of the provider's binary.
const ModulePath = "github.com/hcilab/terraform-provider-pve"

// Platforms both registries serve: the OpenTofu registry looks for archives
// of these operating systems and architectures only (registry
// src/internal/provider/version.go); the Terraform Registry takes any Go
// platform.
var (
	registryOS   = []string{"darwin", "freebsd", "linux", "openbsd", "solaris", "windows"}
	registryArch = []string{"386", "amd64", "arm", "arm64"}
)

// semverRE is a semantic version without a leading v, as the registries and
// the CLIs read it from the tag and the file names.
var semverRE = regexp.MustCompile(`^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$`)

// sumLineRE is one line of a checksum file as sha256sum and GoReleaser
// write it: the hex digest, two spaces, the file name.
var sumLineRE = regexp.MustCompile(`^([0-9a-f]{64})  (\S+)$`)

// Options say what the binaries in the archives must be.
type Options struct {
	// ModulePath is the main module the binaries are built from; empty
	// means ModulePath.
	ModulePath string
	// Signed requires the checksum files' detached signatures (.sig).
	Signed bool
	// Manifest is the file uploaded as the manifest when it is not in the
	// release folder: GoReleaser checksums and uploads
	// terraform-registry-manifest.json in place (extra_files).
	Manifest string
}

func (o Options) modulePath() string {
	if o.ModulePath == "" {
		return ModulePath
	}
	return o.ModulePath
}

// SumsName is the registry checksum file of version.
func SumsName(version string) string { return Name + "_" + version + "_SHA256SUMS" }

// ManifestName is the registry manifest of version.
func ManifestName(version string) string { return Name + "_" + version + "_manifest.json" }

// CephSumsName is the checksum file of the librados (ceph) build of version.
func CephSumsName(version string) string { return Name + "_" + version + "_ceph_checksums.txt" }

// CheckRegistry checks the registry files of version in dir (GoReleaser's
// dist/). It returns every problem found, joined, or nil.
func CheckRegistry(dir, version string, opts Options) error {
	var errs []error
	if !semverRE.MatchString(version) {
		return fmt.Errorf("version %q is not a semantic version without a leading v (X.Y.Z or X.Y.Z-pre)", version)
	}
	sums, err := readSums(filepath.Join(dir, SumsName(version)))
	if err != nil {
		return err
	}
	platformRE := regexp.MustCompile(`^` + regexp.QuoteMeta(Name+"_"+version+"_") + `([a-z0-9]+)_([a-z0-9]+)\.zip$`)
	manifests, archives := 0, 0
	for _, s := range sums {
		switch m := platformRE.FindStringSubmatch(s.name); {
		case s.name == ManifestName(version):
			manifests++
			path := filepath.Join(dir, s.name)
			if _, err := os.Stat(path); err != nil && opts.Manifest != "" {
				path = opts.Manifest
			}
			errs = append(errs, checkManifest(path), s.verifyFile(path))
			continue
		case m != nil:
			archives++
			if !slices.Contains(registryOS, m[1]) || !slices.Contains(registryArch, m[2]) {
				errs = append(errs, fmt.Errorf("%s: %s_%s is not a platform the registries serve", s.name, m[1], m[2]))
				continue
			}
			errs = append(errs, checkArchive(filepath.Join(dir, s.name), version, m[1], m[2], false, opts))
		default:
			errs = append(errs, fmt.Errorf("%s line %d lists %s: the registries accept only %s_%s_{OS}_{ARCH}.zip and %s",
				SumsName(version), s.line, s.name, Name, version, ManifestName(version)))
			continue
		}
		errs = append(errs, s.verify(dir))
	}
	if manifests != 1 {
		errs = append(errs, fmt.Errorf("%s lists the manifest %s %d times, want once", SumsName(version), ManifestName(version), manifests))
	}
	if archives == 0 {
		errs = append(errs, fmt.Errorf("%s lists no platform archive", SumsName(version)))
	}
	// Every platform archive built must be in the checksum file, or the
	// registries never offer it.
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if platformRE.MatchString(e.Name()) && !slices.ContainsFunc(sums, func(s sum) bool { return s.name == e.Name() }) {
			errs = append(errs, fmt.Errorf("%s is not in %s", e.Name(), SumsName(version)))
		}
	}
	if opts.Signed {
		errs = append(errs, nonEmpty(filepath.Join(dir, SumsName(version)+".sig")))
	}
	return errors.Join(errs...)
}

// CheckCeph checks the librados (ceph) build of version in dir
// (scripts/release-ceph.sh's output): its own checksum file listing only
// terraform-provider-pve_{VERSION}_{OS}_{ARCH}_ceph.zip archives, each
// holding a cgo binary built with the ceph tag.
func CheckCeph(dir, version string, opts Options) error {
	sums, err := readSums(filepath.Join(dir, CephSumsName(version)))
	if err != nil {
		return err
	}
	cephRE := regexp.MustCompile(`^` + regexp.QuoteMeta(Name+"_"+version+"_") + `([a-z0-9]+)_([a-z0-9]+)_ceph\.zip$`)
	var errs []error
	for _, s := range sums {
		m := cephRE.FindStringSubmatch(s.name)
		if m == nil {
			errs = append(errs, fmt.Errorf("%s line %d lists %s: want %s_%s_{OS}_{ARCH}_ceph.zip", CephSumsName(version), s.line, s.name, Name, version))
			continue
		}
		errs = append(errs, s.verify(dir), checkArchive(filepath.Join(dir, s.name), version, m[1], m[2], true, opts))
	}
	if len(sums) == 0 {
		errs = append(errs, fmt.Errorf("%s lists no archive", CephSumsName(version)))
	}
	if opts.Signed {
		errs = append(errs, nonEmpty(filepath.Join(dir, CephSumsName(version)+".sig")))
	}
	return errors.Join(errs...)
}

type sum struct {
	digest, name string
	line         int
}

// verify checks that the file the line names is in dir with that digest.
func (s sum) verify(dir string) error { return s.verifyFile(filepath.Join(dir, s.name)) }

// verifyFile checks that the file at path has the line's digest.
func (s sum) verifyFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%s is listed but not there: %w", s.name, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != s.digest {
		return fmt.Errorf("%s: SHA-256 %s, the checksum file says %s", s.name, got, s.digest)
	}
	return nil
}

// readSums reads a checksum file; a line that is not "DIGEST  NAME" and a
// name listed twice are errors.
func readSums(path string) ([]sum, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var sums []sum
	var errs []error
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		m := sumLineRE.FindStringSubmatch(sc.Text())
		if m == nil {
			errs = append(errs, fmt.Errorf("%s line %d: %q is not \"SHA256  FILE\"", filepath.Base(path), n, sc.Text()))
			continue
		}
		if seen[m[2]] {
			errs = append(errs, fmt.Errorf("%s line %d lists %s again", filepath.Base(path), n, m[2]))
			continue
		}
		seen[m[2]] = true
		sums = append(sums, sum{digest: m[1], name: m[2], line: n})
	}
	return sums, errors.Join(errs...)
}

// checkManifest checks the registry manifest: version 1, plugin protocol
// 6.0 only (the provider serves protocol 6; a CLI told 5.0 would refuse it).
func checkManifest(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var m struct {
		Version  int `json:"version"`
		Metadata struct {
			ProtocolVersions []string `json:"protocol_versions"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("the manifest %s: %w", filepath.Base(path), err)
	}
	if m.Version != 1 || !slices.Equal(m.Metadata.ProtocolVersions, []string{"6.0"}) {
		return fmt.Errorf("the manifest %s: version %d, protocol_versions %v; want version 1 and [6.0]", filepath.Base(path), m.Version, m.Metadata.ProtocolVersions)
	}
	return nil
}

// checkArchive checks that a zip holds the binary
// terraform-provider-pve_v{VERSION} (.exe on Windows) built for its
// platform, from the provider's module, that says it is {VERSION} (-version); a
// ceph build with cgo and the ceph tag, any other without either.
func checkArchive(path, version, goos, goarch string, ceph bool, opts Options) error {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	defer zr.Close()
	want := Name + "_v" + version
	if goos == "windows" {
		want += ".exe"
	}
	var bin *zip.File
	for _, f := range zr.File {
		if f.Name == want {
			bin = f
		}
	}
	if bin == nil {
		return fmt.Errorf("%s holds no %s", filepath.Base(path), want)
	}
	rc, err := bin.Open()
	if err != nil {
		return err
	}
	data, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return err
	}
	bi, err := buildinfo.Read(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("%s: %s: %w", filepath.Base(path), want, err)
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s: %s", filepath.Base(path), want, fmt.Sprintf(format, args...)))
	}
	if bi.Path != opts.modulePath() {
		bad("built from %s, want %s", bi.Path, opts.modulePath())
	}
	// -trimpath leaves -ldflags out of the build information, so the
	// version is what the binary says (-version) where it runs, and
	// otherwise a string it must hold.
	if goos == runtime.GOOS && goarch == runtime.GOARCH {
		if got, err := runVersion(data); err != nil {
			bad("-version: %v", err)
		} else if got != version {
			bad("says it is version %q, want %s", got, version)
		}
	} else if !bytes.Contains(data, []byte(version)) {
		bad("holds no version string %s", version)
	}
	if settings["GOOS"] != goos || settings["GOARCH"] != goarch {
		bad("built for %s_%s, the archive's name says %s_%s", settings["GOOS"], settings["GOARCH"], goos, goarch)
	}
	tags := strings.Split(settings["-tags"], ",")
	switch {
	case ceph && (settings["CGO_ENABLED"] != "1" || !slices.Contains(tags, "ceph")):
		bad("the ceph build needs cgo and the ceph tag (CGO_ENABLED=%q, -tags %q)", settings["CGO_ENABLED"], settings["-tags"])
	case !ceph && (settings["CGO_ENABLED"] != "0" || slices.Contains(tags, "ceph")):
		bad("a registry build has no cgo and no ceph tag (CGO_ENABLED=%q, -tags %q)", settings["CGO_ENABLED"], settings["-tags"])
	}
	return errors.Join(errs...)
}

// runVersion runs a binary of this platform with -version and returns what
// it printed.
func runVersion(data []byte) (string, error) {
	f, err := os.CreateTemp("", "release-check-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	if err := os.Chmod(f.Name(), 0o755); err != nil {
		return "", err
	}
	out, err := exec.Command(f.Name(), "-version").Output()
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

func nonEmpty(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("no signature: %w", err)
	}
	if fi.Size() == 0 {
		return fmt.Errorf("%s is empty", filepath.Base(path))
	}
	return nil
}
