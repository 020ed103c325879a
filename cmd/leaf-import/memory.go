package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"

	"github.com/KimMachineGun/automemlimit/memlimit"
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
// changes as they go and hold none beyond those in flight), and at least floor, but never above
// 90% of the container's memory limit. The garbage collector then works harder only while memory
// is near the limit, instead of letting the heap grow to twice the live data. GOMEMLIMIT, when
// set, wins.
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
	debug.SetMemoryLimit(memoryLimit(floor, live, containerLimit()))
}

// boundToContainer keeps the heap inside the container's memory limit from the start: a Pod's
// limits.memory is a cgroup limit the kernel enforces by killing the process, while Go's
// collector knows nothing of it unless told. GOMEMLIMIT, when set, wins.
func boundToContainer() {
	if _, set := os.LookupEnv("GOMEMLIMIT"); set {
		return
	}
	if c := containerLimit(); c > 0 {
		debug.SetMemoryLimit(c)
	}
}

// containerShare is the part of the container's limit the Go heap may use: the rest is the
// runtime's own, stacks, and the kernel's page cache of the journal.
const containerShare = 0.9

// containerLimit is the share of the cgroup's memory limit the heap may use (automemlimit reads
// cgroup v1 and v2); 0 when the process has no limit.
func containerLimit() int64 {
	l, err := memlimit.FromCgroup()
	if err != nil || l == 0 || l > 1<<50 {
		return 0
	}
	return int64(float64(l) * containerShare)
}

// memoryLimit is the soft limit for live bytes of live data: 1.35 times live, at least floor,
// at most container when there is one.
func memoryLimit(floor, live, container int64) int64 {
	limit := max(floor, live*135/100)
	if container > 0 {
		limit = min(limit, container)
	}
	return limit
}
