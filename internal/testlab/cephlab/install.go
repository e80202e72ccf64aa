package cephlab

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// installScript installs the Debian packages the lab's Ceph needs
// (ceph-install.sh; make ceph-deps runs the same file).
//
//go:embed ceph-install.sh
var installScript string

// SkipEnv is the environment variable that lets Ceph tests skip: with
// PVE_LAB_CEPH=skip, Require skips the test. Nothing else skips them:
// without it, a test that cannot have Ceph fails.
const SkipEnv = "PVE_LAB_CEPH"

var installState struct {
	once sync.Once
	err  error
}

// Install makes sure the Debian packages Start needs are installed:
// when a binary is missing and the process runs as root, it installs them
// with apt-get (once per process; concurrent processes wait for each
// other). It fails when they are missing and cannot be installed.
func Install() error {
	installState.once.Do(func() { installState.err = install() })
	return installState.err
}

func install() error {
	missing := missingBinaries()
	if len(missing) == 0 {
		return nil
	}
	fix := fmt.Sprintf("install them as root with `make ceph-deps` (internal/testlab/cephlab/ceph-install.sh) or `apt-get install %s`, or set %s=skip to skip the Ceph tests",
		strings.Join(packages, " "), SkipEnv)
	if os.Geteuid() != 0 {
		return fmt.Errorf("cephlab: Ceph is not installed (%s missing) and the tests do not run as root: %s", strings.Join(missing, ", "), fix)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", installScript, "ceph-install.sh")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("cephlab: installing Ceph (%s) failed: %w\n%s\n%s", strings.Join(packages, " "), err, tailLines(string(out), 20), fix)
	}
	if missing := missingBinaries(); len(missing) > 0 {
		return fmt.Errorf("cephlab: %s still missing after installing %s", strings.Join(missing, ", "), strings.Join(packages, " "))
	}
	return nil
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Require makes sure the test can start a Ceph cluster (Start):
// the packages are installed, by Install when the test runs as root.
// When they are missing and cannot be installed the test fails, saying
// why. With PVE_LAB_CEPH=skip it is skipped instead, always.
func Require(t testing.TB) {
	t.Helper()
	if os.Getenv(SkipEnv) == "skip" {
		t.Skipf("%s=skip: the tests that need Ceph are skipped", SkipEnv)
	}
	if err := Install(); err != nil {
		t.Fatal(err)
	}
}
