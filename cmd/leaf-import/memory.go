package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
)

// minMemoryLimit is the least soft memory limit an apply sets: small pods run 512 MB, and the
// process needs some 30 MB beyond the limit (its code, stacks, connections).
const minMemoryLimit = 224 << 20

// boundMemory sets a soft memory limit for the rest of a command, once its live data is loaded:
// 1.35 times the live heap (a plan's manifest and state, which its lazy plan does not grow;
// an apply's manifest and plan, which shrink as changes are applied),
// and at least minMemoryLimit. The garbage collector then works harder only while memory is
// near the limit, instead of letting the heap grow to twice the live data. GOMEMLIMIT, when set,
// wins.
func boundMemory() {
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
	debug.SetMemoryLimit(max(minMemoryLimit, live*135/100))
}
