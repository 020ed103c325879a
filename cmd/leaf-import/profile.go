package main

import (
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"time"
)

// startProfiles writes a CPU profile and, at the end, a heap profile into the directory
// LEAF_IMPORT_PROFILE_DIR names (unset: nothing), for measuring the binary as a user runs it.
// The returned function ends them.
func startProfiles() func() {
	dir := os.Getenv("LEAF_IMPORT_PROFILE_DIR")
	if dir == "" {
		return func() {}
	}
	cpu, err := os.Create(filepath.Join(dir, "cpu.pprof"))
	if err != nil || pprof.StartCPUProfile(cpu) != nil {
		return func() {}
	}
	// heap-peak.pprof is the heap when it was largest (checked twice a second).
	done := make(chan struct{})
	go func() {
		var peak uint64
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak+peak/10 {
				peak = ms.HeapInuse
				if f, err := os.Create(filepath.Join(dir, "heap-peak.pprof")); err == nil {
					_ = pprof.Lookup("heap").WriteTo(f, 0)
					f.Close()
				}
			}
		}
	}()
	return func() {
		close(done)
		pprof.StopCPUProfile()
		cpu.Close()
		if heap, err := os.Create(filepath.Join(dir, "heap.pprof")); err == nil {
			runtime.GC()
			_ = pprof.Lookup("allocs").WriteTo(heap, 0)
			heap.Close()
		}
	}
}
