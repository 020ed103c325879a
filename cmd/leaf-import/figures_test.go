package main

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	osexec "os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/leaf-import/leaf-import/internal/leaf"
	"github.com/leaf-import/leaf-import/internal/leaf/sandbox"
)

// BenchmarkFigures measures the built binary as a user runs it, each run a process of its own
// against a sandbox process of its own, output written to files: wall time, CPU (user+sys) and
// peak RSS from the process's rusage. It prints every figure of the speed issue as a ratio
// measured in the same run, with its target, and fails when one misses. make bench runs it.
// Linux only (ru_maxrss in KB).
func BenchmarkFigures(b *testing.B) {
	if testing.Short() {
		b.Skip("minutes long: make bench")
	}
	bin := leafImportBinary(b)
	dir := b.TempDir()
	var figs []figure
	add := func(name string, value, target float64, atMost bool, how string) {
		figs = append(figs, figure{name, value, target, atMost, how})
		b.ReportMetric(value, strings.ReplaceAll(name, " ", "_"))
	}

	g100k := writeGrowersCSV(b, filepath.Join(dir, "g100k.csv"), 100_000)
	g1m := writeGrowersCSV(b, filepath.Join(dir, "g1m.csv"), 1_000_000)
	g10k := writeGrowersCSV(b, filepath.Join(dir, "g10k.csv"), 10_000)

	// Plans of 100,000 new growers (two connections each) and of 1,000,000.
	// A 100k plan takes a second or two, noisy on two cores: each form is run three times,
	// interleaved, and its median wall time (and CPU) taken; peaks are the highest of the three.
	sb := startSandboxProc(b, bin)
	var texts, jss, outs []measured
	for range 3 {
		texts = append(texts, measure(b, bin, sb.env(dir), filepath.Join(dir, "plan.txt"), "plan", g100k, "--rate", "0"))
		jss = append(jss, measure(b, bin, sb.env(dir), filepath.Join(dir, "plan.json"), "plan", g100k, "--rate", "0", "--format", "json"))
		outs = append(outs, measure(b, bin, sb.env(dir), filepath.Join(dir, "plan-out.txt"), "plan", g100k, "--rate", "0", "--out", filepath.Join(dir, "saved.json")))
	}
	big := measure(b, bin, sb.env(dir), filepath.Join(dir, "plan1m.txt"), "plan", g1m, "--rate", "0")
	sb.stop()
	text, js, out := median(texts), median(jss), median(outs)
	add("plan json time / text", js.wall.Seconds()/text.wall.Seconds(), 1.5, true, fmt.Sprintf("%s vs %s", js.wall.Round(time.Millisecond), text.wall.Round(time.Millisecond)))
	add("plan json peak MB", peakMB(jss), 400, true, "")
	add("plan --out time / text", out.wall.Seconds()/text.wall.Seconds(), 1.5, true, out.wall.Round(time.Millisecond).String())
	add("plan --out peak MB", peakMB(outs), 400, true, "")
	add("plan 1M bytes per grower", big.rssKB*1024/1e6, 1200, true, fmt.Sprintf("%.0f MB peak", big.rssMB()))
	add("plan CPU per grower 1M / 100k", (big.cpu.Seconds()/1e6)/(text.cpu.Seconds()/1e5), 1.2, true,
		fmt.Sprintf("%.1f vs %.1f us", big.cpu.Seconds(), text.cpu.Seconds()*10))

	// Applies of 10,000 and 100,000 new growers, unlimited rate, 32 workers.
	// The 10k run is a few CPU-seconds, noisy on two cores shared with the sandbox: the median
	// of three.
	var smalls []measured
	for range 3 {
		smalls = append(smalls, applyFresh(b, bin, dir, g10k, "--rate", "0", "--concurrency", "32"))
	}
	small := median(smalls)
	large := applyFresh(b, bin, dir, g100k, "--rate", "0", "--concurrency", "32")
	add("apply 100k peak MB", large.rssMB(), 300, true, large.wall.Round(time.Second).String())
	add("apply CPU per change 100k / 10k", (large.cpu.Seconds()/3e5)/(small.cpu.Seconds()/3e4), 1.3, true,
		fmt.Sprintf("%.0f vs %.0f us", large.cpu.Seconds()/3e5*1e6, small.cpu.Seconds()/3e4*1e6))
	// The reviewed workflow, plan --out then apply --plan: the issue sets no target for it; 400 MB
	// is this project's bound (it holds the saved plan's change records while comparing).
	saved := applySaved(b, bin, dir, g100k, "--rate", "0", "--concurrency", "32")
	add("apply --plan 100k peak MB", saved.rssMB(), 400, true, fmt.Sprintf("%s, CPU %s", saved.wall.Round(time.Second), saved.cpu.Round(time.Second)))

	faultFigures(b, bin, dir, add)
	paceFigures(b, bin, dir, add)

	// A state read of 100,000 users (one credential each) with 20 ms of latency.
	state := writeStateFile(b, filepath.Join(dir, "state100k.json"), 100_000)
	one := writeGrowersCSV(b, filepath.Join(dir, "one.csv"), 1)
	sb = startSandboxProc(b, bin, "--state", state, "--faults", "latency=20ms")
	free := measure(b, bin, sb.env(dir), filepath.Join(dir, "read0.txt"), "plan", one, "--rate", "0")
	paced := measure(b, bin, sb.env(dir), filepath.Join(dir, "read100.txt"), "plan", one, "--rate", "100")
	sb.stop()
	add("read at --rate 0 / (pages x latency)", free.wall.Seconds()/(1000*0.020), 0.3, true, free.wall.Round(100*time.Millisecond).String())
	add("read at --rate 100 / (pages / rate)", paced.wall.Seconds()/(1000.0/100), 1.2, true, paced.wall.Round(100*time.Millisecond).String())

	// A sandbox limited to 1,200 requests a minute, leaf-import set above it at 30/s.
	sb = startSandboxProc(b, bin, "--rate-limit", "1200/m")
	limited := measure(b, bin, sb.env(dir), filepath.Join(dir, "limited.txt"), "apply", writeGrowersCSV(b, filepath.Join(dir, "g600.csv"), 600),
		"--rate", "30", "--concurrency", "8")
	st := sb.stats(b)
	sb.stop()
	rate := float64(st.Requests.Total) / limited.wall.Seconds()
	add("rate-limit efficiency", rate/20, 0.95, false, fmt.Sprintf("%d requests in %s", st.Requests.Total, limited.wall.Round(10*time.Millisecond)))
	add("rate-limit 429s / requests", float64(st.Requests.ByStatus["429"])/float64(st.Requests.Total), 0.02, true,
		fmt.Sprint(st.Requests.ByStatus["429"], " 429s"))

	fmt.Printf("(plan 100k text: %s, %.0f MB; apply 100k: %s, CPU %s)\n", text.wall.Round(time.Millisecond), text.rssMB(),
		large.wall.Round(time.Second), large.cpu.Round(time.Second))
	printFigures(b, figs)
}

// printFigures prints the figures as a table with their targets, and fails b when one missed.
func printFigures(b *testing.B, figs []figure) {
	var report strings.Builder
	fmt.Fprintf(&report, "\n%-44s %10s %8s  %s\n", "figure", "measured", "target", "")
	failed := 0
	for _, f := range figs {
		ok := f.value <= f.target
		cmp := "<="
		if !f.atMost {
			ok, cmp = f.value >= f.target, ">="
		}
		mark := "ok"
		if !ok {
			mark, failed = "MISSED", failed+1
		}
		fmt.Fprintf(&report, "%-44s %10.3f %2s%6.2f  %-6s %s\n", f.name, f.value, cmp, f.target, mark, f.how)
	}
	b.Log(report.String())
	fmt.Print(report.String())
	if failed > 0 {
		b.Errorf("%d figure(s) missed their target", failed)
	}
}

type figure struct {
	name          string
	value, target float64
	atMost        bool
	how           string
}

// measured is one run of the binary.
type measured struct {
	wall, cpu time.Duration
	rssKB     float64
	exit      int
	stats     sandbox.Stats
}

func (m measured) rssMB() float64 { return m.rssKB / 1024 }

// median returns the run of median wall time, with the median CPU time of the runs.
func median(runs []measured) measured {
	ms := slices.Clone(runs)
	slices.SortFunc(ms, func(x, y measured) int { return cmp.Compare(x.cpu, y.cpu) })
	cpu := ms[len(ms)/2].cpu
	slices.SortFunc(ms, func(x, y measured) int { return cmp.Compare(x.wall, y.wall) })
	m := ms[len(ms)/2]
	m.cpu = cpu
	return m
}

// peakMB is the highest peak RSS of runs.
func peakMB(runs []measured) float64 {
	return slices.MaxFunc(runs, func(x, y measured) int { return cmp.Compare(x.rssKB, y.rssKB) }).rssMB()
}

// measure runs the binary with env, stdout to outFile, and returns its figures.
func measure(b *testing.B, bin string, env []string, outFile string, args ...string) measured {
	b.Helper()
	out, err := os.Create(outFile)
	if err != nil {
		b.Fatal(err)
	}
	defer out.Close()
	var stderr strings.Builder
	cmd := osexec.Command(bin, args...)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, out, &stderr
	start := time.Now()
	err = cmd.Run()
	m := measured{wall: time.Since(start)}
	if cmd.ProcessState == nil {
		b.Fatalf("%v: %v", args, err)
	}
	m.exit = cmd.ProcessState.ExitCode()
	m.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		m.rssKB = float64(ru.Maxrss)
	}
	if m.exit != 0 && m.exit != exitFailed {
		b.Fatalf("%v exited %d: %s", args, m.exit, tail(stderr.String(), 10))
	}
	return m
}

// applyFresh applies manifest to an empty sandbox process of its own.
func applyFresh(b *testing.B, bin, dir, manifest string, args ...string) measured {
	sb := startSandboxProc(b, bin)
	defer sb.stop()
	return measure(b, bin, sb.env(dir), filepath.Join(dir, "apply.txt"), append([]string{"apply", manifest}, args...)...)
}

// applySaved plans manifest into a saved plan, then applies that plan, against an empty sandbox
// process of its own; it measures the apply.
func applySaved(b *testing.B, bin, dir, manifest string, args ...string) measured {
	sb := startSandboxProc(b, bin)
	defer sb.stop()
	env, planFile := sb.env(dir), filepath.Join(dir, "saved-apply.json")
	measure(b, bin, env, filepath.Join(dir, "plan-for-apply.txt"), "plan", manifest, "--rate", "0", "--out", planFile)
	return measure(b, bin, env, filepath.Join(dir, "apply-plan.txt"), append([]string{"apply", manifest, "--plan", planFile}, args...)...)
}

// faultFigures applies 2,000 growers under the fault mix, at a rate that is the bottleneck, as
// in production: faults alone, and faults with a 1 s list lag (two seeds), each as a ratio to
// the fault-free run.
func faultFigures(b *testing.B, bin, dir string, add func(name string, value, target float64, atMost bool, how string)) {
	m2000 := writeGrowersCSV(b, filepath.Join(dir, "g2000.csv"), 2000)
	calm := applyFaulted(b, bin, dir, m2000, "latency=20ms")
	const mix = "503=0.05,reset-after-commit=0.01,reset-before-commit=0.01,latency=20ms"
	stormy := applyFaulted(b, bin, dir, m2000, mix+",seed=5")
	minimal := 1.0 + 1 + 6000 // authentication, one page of an empty account, 2,000 users and 4,000 credentials
	add("faults wall / fault-free", stormy.wall.Seconds()/calm.wall.Seconds(), 1.5, true,
		fmt.Sprintf("%s vs %s", stormy.wall.Round(100*time.Millisecond), calm.wall.Round(100*time.Millisecond)))
	add("faults requests / minimal", float64(stormy.stats.Requests.Total)/minimal, 1.10, true, fmt.Sprint(stormy.stats.Requests.Total, " requests"))
	add("faults exit code", float64(stormy.exit), 0, true, fmt.Sprint(stormy.stats.Mutations.DuplicateUserCreates, " duplicate users"))
	for _, seed := range []int{1, 2} {
		lagged := applyFaulted(b, bin, dir, m2000, fmt.Sprintf("%s,lag=1s,seed=%d", mix, seed))
		name := fmt.Sprintf("faults+lag seed %d", seed)
		add(name+" wall / fault-free", lagged.wall.Seconds()/calm.wall.Seconds(), 1.5, true,
			fmt.Sprintf("%s, %d requests", lagged.wall.Round(100*time.Millisecond), lagged.stats.Requests.Total))
		add(name+" exit code + duplicates", float64(lagged.exit+lagged.stats.Mutations.DuplicateUserCreates), 0, true,
			fmt.Sprintf("exit %d, %d duplicate users", lagged.exit, lagged.stats.Mutations.DuplicateUserCreates))
	}
}

// figureGroup is a function that measures some figures and adds them.
type figureGroup func(b *testing.B, bin, dir string, add func(name string, value, target float64, atMost bool, how string))

// runGroup measures one group of figures alone and prints them (BenchmarkFigures runs every
// group together).
func runGroup(b *testing.B, group figureGroup) {
	if testing.Short() {
		b.Skip("minutes long")
	}
	var figs []figure
	group(b, leafImportBinary(b), b.TempDir(), func(name string, value, target float64, atMost bool, how string) {
		figs = append(figs, figure{name, value, target, atMost, how})
	})
	printFigures(b, figs)
}

// BenchmarkLagFaults measures the fault figures alone.
func BenchmarkLagFaults(b *testing.B) { runGroup(b, faultFigures) }

// applyFaulted applies manifest at --rate 100 with 8 workers against a sandbox with faults.
func applyFaulted(b *testing.B, bin, dir, manifest, faults string) measured {
	sb := startSandboxProc(b, bin, "--faults", faults)
	defer sb.stop()
	m := measure(b, bin, sb.env(dir), filepath.Join(dir, "faulted.txt"), "apply", manifest, "--rate", "100", "--concurrency", "8")
	m.stats = sb.stats(b)
	return m
}

// sandboxProc is a `leaf-import sandbox` process.
type sandboxProc struct {
	cmd *osexec.Cmd
	url string
}

func startSandboxProc(b *testing.B, bin string, args ...string) *sandboxProc {
	b.Helper()
	cmd := osexec.Command(bin, append([]string{"sandbox", "--addr", "127.0.0.1:0"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		re := regexp.MustCompile(`listening on (http://\S+)`)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	select {
	case url := <-found:
		return &sandboxProc{cmd: cmd, url: url}
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		b.Fatal("the sandbox did not start")
	}
	return nil
}

func (s *sandboxProc) env(dir string) []string {
	state, _ := os.MkdirTemp(dir, "state-")
	return append(os.Environ(), "LEAF_API_URL="+s.url, "LEAF_USERNAME=sandbox", "LEAF_PASSWORD=sandbox",
		"LEAF_IMPORT_STATE_DIR="+state)
}

func (s *sandboxProc) stats(b *testing.B) sandbox.Stats {
	resp, err := http.Get(s.url + "/__sandbox/stats")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var st sandbox.Stats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		b.Fatal(err)
	}
	return st
}

func (s *sandboxProc) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	_ = s.cmd.Wait()
}

// writeGrowersCSV writes n growers with a John Deere and an AgLeader connection each.
func writeGrowersCSV(b *testing.B, path string, n int) string {
	b.Helper()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	io.WriteString(w, "externalId,provider,name,email,refreshToken,clientKey,clientSecret,clientEnvironment,publicKey,privateKey\n")
	for i := range n {
		fmt.Fprintf(w, "g-%07d,JohnDeere,Grower %d,g%d@example.com,rt-%d,ck,cs,PRODUCTION,,\n", i, i, i, i)
		fmt.Fprintf(w, "g-%07d,AgLeader,,,art-%d,,,,pk,prk\n", i, i)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	return path
}

// writeStateFile writes a sandbox state of n users with a John Deere credential each.
func writeStateFile(b *testing.B, path string, n int) string {
	b.Helper()
	jd, _ := leaf.LookupProvider("JohnDeere")
	st := &sandbox.State{Version: sandbox.StateVersion, Seq: uint64(n + 1)}
	for i := range n {
		ext := fmt.Sprintf("u-%07d", i)
		cred := seedCredential(jd, ext, "")
		cred.ID, cred.Status, cred.CreatedTime = fmt.Sprintf("c-%07d", i), "OK", "2026-01-01T00:00:00.000000Z"
		st.Users = append(st.Users, &sandbox.User{ID: fmt.Sprintf("%08x-0000-4000-8000-000000000000", i+1), ExternalID: ext,
			Name: "User", Credentials: map[string]*sandbox.Credential{"JohnDeere": cred}})
	}
	data, err := sandbox.MarshalState(st)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		b.Fatal(err)
	}
	return path
}
