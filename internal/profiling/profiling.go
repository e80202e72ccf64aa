// Package profiling writes pprof profiles of the provider process when
// PVE_PROVIDER_PPROF_DIR names a directory: what a plan or an apply costs
// in CPU and memory, measured in the process the CLI runs (cmd/pvebench
// passes its environment through). Unset, it does nothing and costs
// nothing.
//
// Each provider process writes, named by its process ID:
//
//   - cpu-<pid>.pprof, the CPU profile of its whole life;
//   - heap-<pid>.pprof, the heap profile at exit (alloc_space shows all
//     that was allocated, inuse_space what was left);
//   - heap-peak-<pid>.pprof, the heap profile taken when the live heap was
//     at its largest (polled every 200 ms, written again when it grew by a
//     tenth). A heap profile counts what the last GC found live, and
//     objects allocated while it ran count as live: under a high
//     allocation rate that includes garbage of requests in flight. With
//     PVE_PROVIDER_PPROF_LIVE=1 each poll (every second then) forces a GC
//     first, so that the profile shows what is really retained; that costs
//     CPU, so CPU figures of such a run do not count. It also writes
//     heap-peak-<pid>.txt (that live heap) and heap-exit-<pid>.txt (the
//     live heap after a GC once the provider has served its last request:
//     what it retained).
package profiling

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strings"
	"time"
)

// EnvDir is the environment variable that turns profiling on.
const EnvDir = "PVE_PROVIDER_PPROF_DIR"

// EnvLive makes the peak heap profile exact, at a cost in CPU.
const EnvLive = "PVE_PROVIDER_PPROF_LIVE"

// Start starts profiling when EnvDir is set and returns the function that
// writes the profiles; call it once, before the process exits.
func Start() (stop func()) {
	dir := os.Getenv(EnvDir)
	if dir == "" {
		return func() {}
	}
	pid := os.Getpid()
	name := func(kind string) string { return filepath.Join(dir, fmt.Sprintf("%s-%d.pprof", kind, pid)) }
	cpu, err := os.Create(name("cpu"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "profiling:", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(cpu); err != nil {
		fmt.Fprintln(os.Stderr, "profiling:", err)
		cpu.Close()
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go watchPeak(name("heap-peak"), os.Getenv(EnvLive) == "1", done, finished)
	return func() {
		pprof.StopCPUProfile()
		cpu.Close()
		close(done)
		<-finished
		if os.Getenv(EnvLive) == "1" {
			runtime.GC()
			sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
			metrics.Read(sample)
			_ = os.WriteFile(strings.TrimSuffix(name("heap-exit"), ".pprof")+".txt",
				fmt.Appendf(nil, "live heap after GC at exit: %d bytes, %d goroutines\n", sample[0].Value.Uint64(), runtime.NumGoroutine()), 0o644)
		}
		writeHeap(name("heap"))
	}
}

// watchPeak writes a heap profile whenever the live heap grew by a tenth
// over the largest seen so far; with forceGC after a GC of its own.
func watchPeak(path string, forceGC bool, done <-chan struct{}, finished chan<- struct{}) {
	defer close(finished)
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	var peak uint64
	every := 200 * time.Millisecond
	if forceGC {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		if forceGC {
			runtime.GC()
		}
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindUint64 {
			return
		}
		if live := sample[0].Value.Uint64(); live > peak+peak/10 {
			peak = live
			writeHeap(path)
			if forceGC {
				_ = os.WriteFile(strings.TrimSuffix(path, ".pprof")+".txt", fmt.Appendf(nil, "live heap after GC: %d bytes, %d goroutines\n", live, runtime.NumGoroutine()), 0o644)
			}
		}
	}
}

func writeHeap(path string) {
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "profiling:", err)
		return
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		fmt.Fprintln(os.Stderr, "profiling:", err)
	}
}
