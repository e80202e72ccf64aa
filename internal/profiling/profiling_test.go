package profiling

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestStartWritesProfiles(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(EnvDir, dir)
	t.Setenv(EnvLive, "1")
	stop := Start()
	var keep [][]byte
	for range 64 {
		keep = append(keep, make([]byte, 64<<10))
	}
	stop()
	_ = keep
	pid := strconv.Itoa(os.Getpid())
	for _, name := range []string{"cpu-" + pid + ".pprof", "heap-" + pid + ".pprof"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v (%v bytes)", name, err, fi)
		}
	}
	exit, err := os.ReadFile(filepath.Join(dir, "heap-exit-"+pid+".txt"))
	if err != nil || !strings.HasPrefix(string(exit), "live heap after GC at exit: ") {
		t.Errorf("heap-exit: %q %v", exit, err)
	}
}

func TestStartWithoutDirDoesNothing(t *testing.T) {
	t.Setenv(EnvDir, "")
	wd := t.TempDir()
	t.Chdir(wd)
	Start()()
	if entries, _ := os.ReadDir(wd); len(entries) != 0 {
		t.Errorf("wrote %d files without %s", len(entries), EnvDir)
	}
}
