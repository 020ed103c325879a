package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leaf-import/leaf-import/internal/change"
	"github.com/leaf-import/leaf-import/internal/leaf"
	"github.com/leaf-import/leaf-import/internal/leaf/sandbox"
	"github.com/leaf-import/leaf-import/internal/manifest"
	"github.com/leaf-import/leaf-import/internal/report"
)

// writeJournal writes journal lines to path.
func writeJournal(t *testing.T, path string, ls ...report.Line) {
	t.Helper()
	var b strings.Builder
	for _, l := range ls {
		enc, err := report.EncodeLine(l, time.Now())
		require.NoError(t, err)
		b.Write(enc)
	}
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o600))
}

func TestResumeRefusesAnotherLeafOrManifest(t *testing.T) {
	ts := sandbox.NewServer(t)
	dir := t.TempDir()
	manifest := writeManifest(t, dir, []growerSpec{{ext: "g1", providers: []string{"JohnDeere"}}}, nil, "")
	env := sandboxEnv(ts, nil)
	reportPath := filepath.Join(dir, "run.json")
	code, _, stderr := runCLI(t, env, "apply", manifest, "--rate", "0", "--report", reportPath)
	require.Equal(t, 0, code, stderr)
	journal := lastRun(t, env).Journal

	other := sandbox.NewServer(t)
	code, _, stderr = runCLI(t, sandboxEnv(other, nil), "apply", manifest, "--rate", "0", "--resume", journal)
	assert.Equal(t, exitError, code)
	assert.Contains(t, stderr, "the run was made against "+ts.URL)

	code, _, stderr = runCLI(t, sandboxEnv(ts, map[string]string{"LEAF_USERNAME": "someone-else"}), "apply", manifest, "--rate", "0", "--resume", journal)
	assert.NotEqual(t, 0, code, stderr)

	changed := writeManifest(t, t.TempDir(), []growerSpec{{ext: "g1", name: "Renamed", providers: []string{"JohnDeere"}}}, nil, "")
	code, _, stderr = runCLI(t, env, "apply", changed, "--rate", "0", "--resume", journal)
	assert.Equal(t, exitError, code)
	assert.Contains(t, stderr, "the manifest changed since the run")
	code, _, stderr = runCLI(t, env, "apply", changed, "--rate", "0", "--resume", journal, "--replan")
	assert.Equal(t, 0, code, stderr)
	assertConverged(t, ts, changed, nil)

	// The journal records the account: a header of another API owner is refused.
	foreign := filepath.Join(dir, "foreign.journal.jsonl")
	writeJournal(t, foreign, &report.Header{RunID: "r0", LeafURL: ts.URL, Account: "other-owner", ManifestDigest: "sha256:x"})
	code, _, stderr = runCLI(t, env, "apply", manifest, "--rate", "0", "--resume", foreign)
	assert.Equal(t, exitError, code)
	assert.Contains(t, stderr, `made for API owner "other-owner"`)
}

func TestResumeRefusesACorruptJournalAndToleratesATornLastLine(t *testing.T) {
	ts := sandbox.NewServer(t)
	dir := t.TempDir()
	manifest := writeManifest(t, dir, []growerSpec{{ext: "g1", providers: []string{"Valley"}}}, nil, "")
	header := &report.Header{RunID: "r0", LeafURL: ts.URL, Account: "sandbox"}
	intent := &report.Intent{StepRef: report.StepRef{ChangeID: "user:g1", Step: report.StepPost, Kind: "user", Action: "create", ExternalID: "g1"}}
	path := filepath.Join(dir, "j.jsonl")
	writeJournal(t, path, header, intent, intent)
	b, _ := os.ReadFile(path)
	corrupt := strings.Replace(string(b), `"type":"intent"`, `"type":"intent"}}`, 1)
	require.NoError(t, os.WriteFile(path, []byte(corrupt), 0o600))
	code, _, stderr := runCLI(t, sandboxEnv(ts, nil), "apply", manifest, "--rate", "0", "--resume", path)
	assert.Equal(t, exitError, code)
	assert.Contains(t, stderr, "damaged at line 2")
	assert.Zero(t, ts.Stats().Requests.Total, "nothing was sent")

	torn := string(b) + `{"type":"outcome","changeId":"user:g1","ste`
	require.NoError(t, os.WriteFile(path, []byte(torn), 0o600))
	code, _, stderr = runCLI(t, sandboxEnv(ts, nil), "apply", manifest, "--rate", "0", "--resume", path, "--report", filepath.Join(dir, "r.json"),
		"--lookup-window", "300ms")
	require.Equal(t, 0, code, stderr)
	assertConverged(t, ts, manifest, nil)
	assert.Contains(t, stderr, "settling requests earlier runs left in doubt")
	out, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Contains(t, string(out), `"status":"absent"`, "the unresolved intent was looked up and its outcome appended")
}

// A credential replace cut between its DELETE and its POST is completed on resume.
func TestResumeCompletesAReplaceCutBetweenItsPhases(t *testing.T) {
	ts := sandbox.NewServer(t)
	dir := t.TempDir()
	u := ts.AddUser(&sandbox.User{ExternalID: "g1", Name: "G"}) // its CNHI credential was deleted (phase 1)
	manifest := writeManifest(t, dir, []growerSpec{{ext: "g1", name: "G", providers: []string{"CNHI"}}}, nil, "")
	digest := manifestDigest(t, manifest)
	journal := filepath.Join(dir, "run.journal.jsonl")
	step := func(typ string, stp change.Step, phase int, status change.Outcome) report.Line {
		ref := report.StepRef{RunID: "r0", ChangeID: "credential:g1/CNHI", Step: stp, Phase: phase, Kind: "credential",
			Action: "replace", ExternalID: "g1", Provider: "CNHI", LeafUserID: u.ID}
		if typ == report.LineIntent {
			return &report.Intent{StepRef: ref}
		}
		return &report.Outcome{StepRef: ref, Status: status}
	}
	writeJournal(t, journal,
		&report.Header{RunID: "r0", LeafURL: ts.URL, Account: "sandbox", ManifestDigest: digest, Report: filepath.Join(dir, "run.json")},
		step(report.LineIntent, report.StepDelete, 1, ""),
		step(report.LineOutcome, report.StepDelete, 1, report.OutcomeSucceeded),
		step(report.LineIntent, report.StepPost, 2, ""),
	)
	code, out, stderr := runCLI(t, sandboxEnv(ts, nil), "apply", manifest, "--rate", "0", "--resume", journal)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "+ credential g1/CNHI")
	assertConverged(t, ts, manifest, nil)
	assert.NoFileExists(t, filepath.Join(dir, "run.json"), "a report path read from a journal is never written")
	rep, err := report.Load(lastRun(t, sandboxEnv(ts, nil)).Report)
	require.NoError(t, err)
	require.Len(t, rep.Records, 1)
	assert.Equal(t, "credential:g1/CNHI", rep.Records[0].ChangeID)
	assert.Equal(t, report.StatusSucceeded, rep.Records[0].Status)
	assert.Equal(t, []string{"r0"}, rep.Run.Previous)
}

func manifestDigest(t *testing.T, path string) string {
	t.Helper()
	m, ps := manifest.Load(path, osSource{lookup: func(string) (string, bool) { return "", false }})
	require.Empty(t, ps)
	return m.Digest
}

// The final report of a resumed run covers the whole migration, earlier runs' records with
// their run id.
func TestResumedReportCoversTheWholeMigration(t *testing.T) {
	ts := failingSandbox(t)
	dir := t.TempDir()
	manifest := writeManifest(t, dir, []growerSpec{
		{ext: "grower-0001", providers: []string{"JohnDeere"}},
		{ext: "grower-0002", providers: []string{"JohnDeere"}},
		{ext: "grower-0003", providers: []string{"Valley"}},
	}, nil, "")
	reportPath := filepath.Join(dir, "run.csv")
	code, _, _ := runCLI(t, sandboxEnv(ts, nil), "apply", manifest, "--rate", "0", "--report", reportPath, "--lookup-window", "10ms")
	require.Equal(t, exitFailed, code)
	first, err := report.Load(reportPath)
	require.NoError(t, err)
	firstRun := first.Records[0].RunID

	ts.HTTP.Config.Handler = ts.Server // Leaf recovered
	code, _, stderr := runCLI(t, sandboxEnv(ts, nil), "apply", manifest, "--rate", "0", "--resume", reportPath)
	require.Equal(t, 0, code, stderr)
	rep, err := report.Load(reportPath)
	require.NoError(t, err)
	require.Len(t, rep.Records, 6, "one record per change of the migration")
	runs := map[string]int{}
	for _, r := range rep.Records {
		assert.Equal(t, report.StatusSucceeded, r.Status, "%+v", r)
		runs[r.RunID]++
	}
	assert.Equal(t, 3, runs[firstRun], "the first run's successes keep their run id")
	assert.Len(t, runs, 2)
	// The CSV copy has records only; the run's JSON report in the workspace has the summary.
	full, err := report.Load(lastRun(t, sandboxEnv(ts, nil)).Report)
	require.NoError(t, err)
	assert.Len(t, full.Records, 6)
	assert.Equal(t, 6, full.Summary.Succeeded, "the summary covers every record, not only the last run's")
	require.Len(t, full.Summary.ByRun, 2, "and counts each run")
	assert.Equal(t, 3, full.Summary.ByRun[firstRun].Succeeded)
	assertConverged(t, ts, manifest, nil)
}

// Token expiry mid-run costs one re-authentication each time, not a failed change.
func TestTokenExpiryMidRunCostsOnlyReauthentication(t *testing.T) {
	ts := sandbox.NewServer(t, sandbox.WithFaults("token-ttl=400ms"))
	dir := t.TempDir()
	var growers []growerSpec
	for i := range 30 {
		growers = append(growers, growerSpec{ext: "g" + string(rune('a'+i/26)) + string(rune('a'+i%26)), providers: []string{"AgLeader"}})
	}
	manifest := writeManifest(t, dir, growers, nil, "")
	reportPath := filepath.Join(dir, "r.json")
	code, _, stderr := runCLI(t, sandboxEnv(ts, nil), "apply", manifest, "--rate", "40", "--report", reportPath)
	require.Equal(t, 0, code, stderr)
	st := ts.Stats()
	require.Positive(t, st.Faults[sandbox.FaultTokenExpired], "tokens expired during the run")
	assert.LessOrEqual(t, st.Requests.Auth, 1+st.Faults[sandbox.FaultTokenExpired], "one authentication per expiry at most")
	rep, err := report.Load(reportPath)
	require.NoError(t, err)
	assert.Equal(t, 60, rep.Summary.Succeeded)
	assert.Zero(t, rep.Summary.Failed)
}

// Two applies on the same files: the second exits 5 at once naming the holder; a lock left by
// a killed process is taken over.
func TestLockKeepsConcurrentRunsApart(t *testing.T) {
	ts := sandbox.NewServer(t, sandbox.WithFaults("latency=100ms"))
	dir := t.TempDir()
	manifest := writeManifest(t, dir, growersOneConnection(200), nil, "")
	reportPath := filepath.Join(dir, "run.json")
	p := startProc(t, ts, dir, "apply", manifest, "--rate", "0", "--concurrency", "2", "--report", reportPath)
	require.True(t, waitFor(20*time.Second, func() bool { return ts.Stats().Mutations.UserCreates >= 3 }), "the first run is applying")

	start := time.Now()
	code, _, stderr := runCLI(t, sandboxEnv(ts, nil), "apply", manifest, "--rate", "0", "--report", reportPath)
	assert.Equal(t, exitLocked, code)
	assert.Less(t, time.Since(start), 5*time.Second, "at once, not after the first run (10 s or more)")
	assert.Contains(t, stderr, "another leaf-import run holds the lock of account sandbox at "+leaf.CanonicalURL(ts.URL))
	assert.Contains(t, stderr, "pid ")
	assert.Contains(t, stderr, "started ")

	require.NoError(t, p.cmd.Process.Signal(syscall.SIGKILL))
	assert.Equal(t, -int(syscall.SIGKILL), p.wait(t, 10*time.Second))
	require.NoError(t, ts.SetFaults(""))
	code, _, stderr = runCLI(t, sandboxEnv(ts, nil), "apply", manifest, "--rate", "0", "--resume", reportPath)
	require.Contains(t, []int{0, exitFailed}, code, stderr)
	if code != 0 {
		code, _, stderr = runCLI(t, sandboxEnv(ts, nil), "apply", manifest, "--rate", "0", "--resume", reportPath)
		require.Equal(t, 0, code, stderr)
	}
	assertConverged(t, ts, manifest, nil)
	assert.Zero(t, duplicateUsers(ts))
}

// The first SIGINT stops scheduling and lets requests in flight finish; the report is written
// and the exit code is 130. A second SIGINT aborts the requests in flight: here they are held
// for a minute by the sandbox, so only the abort lets the run end within the wait. A resume
// finishes the job either way.
//
// A SIGHUP (a closed terminal or SSH session) is drained the same way, not a crash.
func TestInterruptDrainsAndResumes(t *testing.T) {
	for _, c := range []struct {
		name    string
		sig     syscall.Signal
		signals int
	}{{"one SIGINT", syscall.SIGINT, 1}, {"two SIGINTs", syscall.SIGINT, 2}, {"one SIGHUP", syscall.SIGHUP, 1}} {
		signals := c.signals
		t.Run(c.name, func(t *testing.T) {
			ts := sandbox.NewServer(t, sandbox.WithFaults("latency=50ms"))
			dir := t.TempDir()
			manifest := writeManifest(t, dir, growersOneConnection(150), nil, "")
			reportPath := filepath.Join(dir, "run.json")
			p := startProc(t, ts, dir, "apply", manifest, "--rate", "0", "--concurrency", "4", "--report", reportPath)
			require.True(t, waitFor(20*time.Second, func() bool { return ts.Stats().Mutations.UserCreates >= 10 }))
			if signals == 2 {
				// The requests now in flight finish; the ones after them hang.
				require.NoError(t, ts.SetFaults("latency=60s"))
				time.Sleep(300 * time.Millisecond)
			}
			require.NoError(t, p.cmd.Process.Signal(c.sig))
			if signals == 2 {
				require.True(t, waitFor(10*time.Second, func() bool {
					return strings.Contains(readLog(t, dir, "err.log"), "stopping: no new changes start")
				}), "the first SIGINT was taken")
				require.NoError(t, p.cmd.Process.Signal(syscall.SIGINT))
			}
			assert.Equal(t, exitInterrupted, p.wait(t, 30*time.Second), readLog(t, dir, "err.log"))
			errLog := readLog(t, dir, "err.log")
			assert.Contains(t, errLog, "stopping: no new changes start")
			rep, err := report.Load(reportPath)
			require.NoError(t, err, "the --report copy is written")
			assert.True(t, rep.Run.Interrupted)
			assert.Equal(t, "interrupted", string(lastRun(t, sandboxEnv(ts, nil)).Status))
			assert.Positive(t, rep.Summary.Pending, "unscheduled changes are pending")
			assert.Positive(t, rep.Summary.Succeeded)
			if signals == 1 {
				assert.Zero(t, rep.Summary.Failed, "requests in flight finished")
				assert.NotContains(t, errLog, "aborting the requests in flight")
			} else {
				assert.Contains(t, errLog, "aborting the requests in flight")
			}
			require.NoError(t, ts.SetFaults(""))
			// Creates aborted mid-request are looked up, not resent; the sandbox has no lag, so
			// a short lookup window keeps the test quick.
			code, _, stderr := runCLI(t, sandboxEnv(ts, nil), "apply", manifest, "--rate", "0", "--resume", reportPath,
				"--lookup-window", "500ms")
			require.Equal(t, 0, code, stderr)
			assertConverged(t, ts, manifest, nil)
			assert.Zero(t, duplicateUsers(ts))
			rep, err = report.Load(reportPath)
			require.NoError(t, err)
			assert.Equal(t, 300, len(rep.Records))
		})
	}
}
