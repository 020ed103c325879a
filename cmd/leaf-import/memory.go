package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
)

// Least soft memory limits. An apply's runs 32 connections and its journal beside the plan,
// and small pods run 512 MB (the process needs some 30 MB beyond the limit); a plan's is kept
// low, so that it works with the same headroom over its live data at every size: the share of
// time spent collecting garbage, and so the CPU per grower, does not grow with the manifest.
const (
	applyMemoryFloor = 224 << 20
	planMemoryFloor  = 32 << 20
)

// boundMemory sets a soft memory limit for the rest of a command, once its live data is loaded:
// 1.35 times the live heap (the manifest and the state: plan and apply both compute their
// changes as they go and hold none beyond those in flight), and at least floor. The
// garbage collector then works harder only while memory is near the limit, instead of letting
// the heap grow to twice the live data. GOMEMLIMIT, when set, wins.
func boundMemory(floor int64) {
	if _, set := os.LookupEnv("GOMEMLIMIT"); set || testing.Testing() {
		return // a test binary runs many applies in one process: the limit is the process's
	}
	runtime.GC()
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(sample)
	live := int64(0)
	if sample[0].Value.Kind() == metrics.KindUint64 {
		live = int64(sample[0].Value.Uint64())
	}
	debug.SetMemoryLimit(max(floor, live*135/100))
}
