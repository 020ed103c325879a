package main

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/leaf-import/leaf-import/internal/leaf"
	"github.com/leaf-import/leaf-import/internal/leaf/sandbox"
	"github.com/leaf-import/leaf-import/internal/report"
)

// The apply benchmarks run `leaf-import apply` in-process against the sandbox on loopback with
// 20 ms of latency and report the figures of the apply issue. Run them with -benchtime 1x
// (make bench).

// growersOneConnection returns n new growers with one connection each: 2n changes.
func growersOneConnection(n int) []growerSpec {
	providers := []string{"JohnDeere", "CNHI", "AgLeader", "Trimble", "Valley"}
	out := make([]growerSpec, n)
	for i := range out {
		out[i] = growerSpec{ext: fmt.Sprintf("g-%06d", i), name: "Grower", providers: []string{providers[i%len(providers)]}}
	}
	return out
}

func applyOnce(b *testing.B, ts *sandbox.TestServer, manifest string, args ...string) (*report.Report, time.Duration) {
	dir := b.TempDir()
	reportPath := filepath.Join(dir, "run.json")
	start := time.Now()
	code, _, stderr := runCLI(b, sandboxEnv(ts, nil), append([]string{"apply", manifest, "--report", reportPath, "--log-format", "json"}, args...)...)
	elapsed := time.Since(start)
	if code != 0 && code != exitFailed {
		b.Fatalf("apply exited %d: %s", code, stderr)
	}
	rep, err := report.Load(reportPath)
	if err != nil {
		b.Fatal(err)
	}
	return rep, elapsed
}

// BenchmarkApplyRateEfficiency: 5,000 changes at --rate 200, faults off, 20 ms latency.
// efficiency = achieved rate / --rate (target at least 0.97); requests/minimal (target at most
// 1.01).
func BenchmarkApplyRateEfficiency(b *testing.B) {
	for range b.N {
		ts := sandbox.NewServer(b, sandbox.WithFaults("latency=20ms"))
		manifest := writeManifest(b, b.TempDir(), growersOneConnection(2500), nil, "")
		rep, _ := applyOnce(b, ts, manifest, "--rate", "200")
		st := ts.Stats()
		minimal := 1 + 1 + 5000 // authentication, one page of an empty user list, the changes
		rate := float64(rep.Summary.Requests) / (float64(rep.Summary.DurationMs) / 1000)
		b.ReportMetric(rate/200, "efficiency")
		b.ReportMetric(rate, "req/s")
		b.ReportMetric(float64(st.Requests.Total)/float64(minimal), "requests/minimal")
		b.ReportMetric(float64(st.MaxPerMinute), "max-req/min")
		if rep.Summary.Succeeded != 5000 {
			b.Fatalf("%d changes succeeded", rep.Summary.Succeeded)
		}
	}
}

// BenchmarkApplyFaultOverhead: 1,000 changes under the fault mix
// 503=0.1,429=0.05,reset-after-commit=0.02,reset-before-commit=0.01,lag=200ms, resumed until
// done. excess = requests - minimal - forced retries - lookup requests, as a share of minimal
// (target at most 2%). A fault that strikes before the request is handled forces the request to
// be sent again; reset-after-commit does not (the change is done, a lookup finds it), so it
// counts only through the lookup requests.
func BenchmarkApplyFaultOverhead(b *testing.B) {
	for range b.N {
		ts := sandbox.NewServer(b)
		dir := b.TempDir()
		manifest := writeManifest(b, dir, growersOneConnection(500), nil, "")
		if err := ts.SetFaults("503=0.1,429=0.05,reset-after-commit=0.02,reset-before-commit=0.01,lag=200ms,latency=20ms,seed=5"); err != nil {
			b.Fatal(err)
		}
		reportPath := filepath.Join(dir, "run.json")
		args := []string{"apply", manifest, "--rate", "0", "--report", reportPath, "--lookup-window", "1s", "--log-format", "json"}
		runs := 0
		for ; runs < 20; runs++ {
			code, _, stderr := runCLI(b, sandboxEnv(ts, nil), args...)
			if code == 0 {
				break
			}
			if code != exitFailed {
				b.Fatalf("apply exited %d: %s", code, stderr)
			}
			args = []string{"apply", manifest, "--rate", "0", "--resume", reportPath, "--lookup-window", "1s", "--log-format", "json"}
		}
		st := ts.Stats()
		minimal := 1 + 1 + 1000
		injected := 0
		for _, k := range []string{sandbox.Fault500, sandbox.Fault502, sandbox.Fault503, sandbox.Fault504, sandbox.Fault429,
			sandbox.Fault429Bare, sandbox.FaultResetBeforeCommit, sandbox.FaultTokenExpired} {
			injected += st.Faults[k]
		}
		// Lookup requests that a fault struck are already counted as forced retries.
		lookups := 0
		for _, route := range []string{"GET /users?externalId", "GET /users/{id}/{credential-path}", "GET /users/{id}"} {
			lookups += st.Requests.ByRoute[route] - st.FaultsByRoute[route]
		}
		excess := st.Requests.Total - minimal - injected - lookups
		b.ReportMetric(float64(runs+1), "runs")
		b.ReportMetric(float64(st.Requests.Total)/float64(minimal), "requests/minimal")
		b.ReportMetric(float64(excess)/float64(minimal)*100, "excess-%")
		b.ReportMetric(float64(injected), "forced-retries")
		b.ReportMetric(float64(lookups), "lookup-requests")
		b.ReportMetric(float64(st.Mutations.DuplicateUserCreates), "duplicate-creates")
		if d := duplicateUsersB(ts); d != 0 {
			b.Fatalf("%d duplicate users", d)
		}
	}
}

func duplicateUsersB(ts *sandbox.TestServer) int {
	seen := map[string]bool{}
	n := 0
	for _, u := range ts.State().Users {
		if seen[u.ExternalID] {
			n++
		}
		seen[u.ExternalID] = true
	}
	return n
}

// BenchmarkApplyNightlyNoop: 10,000 existing growers that match the manifest. The run must send
// one authentication, ceil(10000/100) list requests and one app-key read per app provider, and
// nothing else.
func BenchmarkApplyNightlyNoop(b *testing.B) {
	const n = 10000
	growers := growersOneConnection(n)
	st := &sandbox.State{Version: sandbox.StateVersion}
	for i, g := range growers {
		p, _ := leaf.LookupProvider(g.providers[0])
		st.Users = append(st.Users, &sandbox.User{ID: fmt.Sprintf("%08x-0000-4000-8000-%012x", i+1, i), ExternalID: g.ext, Name: g.name,
			CreatedAt: time.Now().Add(-time.Hour), Credentials: map[string]*sandbox.Credential{p.Name: {ID: fmt.Sprintf("c-%d", i),
				Status: "OK", CreatedTime: "2026-01-01T00:00:00.000000Z", Fields: credValues(p, g.ext, "", "")}}})
	}
	st.Seq = n + 1
	apps := []string{"JohnDeere", "AgLeader"}
	withApp(st, "JohnDeere", "acme", "PRODUCTION")
	withApp(st, "AgLeader", "acme", "PRODUCTION")
	for range b.N {
		ts := sandbox.NewServer(b, sandbox.WithState(st), sandbox.WithFaults("latency=20ms"))
		manifest := writeManifest(b, b.TempDir(), growers, apps, "")
		_, elapsed := applyOnce(b, ts, manifest, "--rate", "0")
		s := ts.Stats()
		b.ReportMetric(float64(s.Requests.Total), "requests")
		b.ReportMetric(float64(s.Requests.Auth), "auth")
		b.ReportMetric(float64(s.Requests.ByRoute["GET /users"]), "list-pages")
		b.ReportMetric(float64(s.Requests.ByRoute["GET /app-keys/{p}"]), "app-reads")
		b.ReportMetric(elapsed.Seconds(), "s/run")
		if s.Requests.Total != 1+n/100+len(apps) || mutations(s) != 0 {
			b.Fatalf("the no-op sent %d requests (%v)", s.Requests.Total, s.Requests.ByRoute)
		}
	}
}

// BenchmarkApplyCeiling: the tool's own ceiling, --rate 0 and 32 workers, 20 ms latency.
func BenchmarkApplyCeiling(b *testing.B) {
	for range b.N {
		ts := sandbox.NewServer(b, sandbox.WithFaults("latency=20ms"))
		manifest := writeManifest(b, b.TempDir(), growersOneConnection(2500), nil, "")
		rep, _ := applyOnce(b, ts, manifest, "--rate", "0", "--concurrency", "32")
		b.ReportMetric(float64(rep.Summary.Requests)/(float64(rep.Summary.DurationMs)/1000), "req/s")
		b.ReportMetric(float64(ts.Stats().Connections.Peak), "peak-connections")
	}
}
