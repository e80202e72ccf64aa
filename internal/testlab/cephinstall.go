package testlab

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

// cephInstallScript installs the Debian packages the lab's Ceph needs
// (ceph-install.sh; make ceph-deps runs the same file).
//
//go:embed ceph-install.sh
var cephInstallScript string

// CephEnv is the environment variable that lets Ceph tests skip: with
// PVE_LAB_CEPH=skip, RequireCeph skips the test. Nothing else skips them:
// without it, a test that cannot have Ceph fails.
const CephEnv = "PVE_LAB_CEPH"

var cephInstall struct {
	once sync.Once
	err  error
}

// InstallCeph makes sure the Debian packages StartCeph needs are installed:
// when a binary is missing and the process runs as root, it installs them
// with apt-get (once per process; concurrent processes wait for each
// other). It fails when they are missing and cannot be installed.
func InstallCeph() error {
	cephInstall.once.Do(func() { cephInstall.err = installCeph() })
	return cephInstall.err
}

func installCeph() error {
	missing := missingCephBinaries()
	if len(missing) == 0 {
		return nil
	}
	fix := fmt.Sprintf("install them as root with `make ceph-deps` (internal/testlab/ceph-install.sh) or `apt-get install %s`, or set %s=skip to skip the Ceph tests",
		strings.Join(cephPackages, " "), CephEnv)
	if os.Geteuid() != 0 {
		return fmt.Errorf("testlab: Ceph is not installed (%s missing) and the tests do not run as root: %s", strings.Join(missing, ", "), fix)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", cephInstallScript, "ceph-install.sh")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("testlab: installing Ceph (%s) failed: %w\n%s\n%s", strings.Join(cephPackages, " "), err, tailLines(string(out), 20), fix)
	}
	if missing := missingCephBinaries(); len(missing) > 0 {
		return fmt.Errorf("testlab: %s still missing after installing %s", strings.Join(missing, ", "), strings.Join(cephPackages, " "))
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

// RequireCeph makes sure the test can start a Ceph cluster (StartCeph):
// the packages are installed, by InstallCeph when the test runs as root.
// When they are missing and cannot be installed the test fails, saying
// why. With PVE_LAB_CEPH=skip it is skipped instead, always.
func RequireCeph(t testing.TB) {
	t.Helper()
	if os.Getenv(CephEnv) == "skip" {
		t.Skipf("%s=skip: the tests that need Ceph are skipped", CephEnv)
	}
	if err := InstallCeph(); err != nil {
		t.Fatal(err)
	}
}
