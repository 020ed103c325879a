package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leaf-import/leaf-import/internal/leaf"
	"github.com/leaf-import/leaf-import/internal/leaf/sandbox"
	"github.com/leaf-import/leaf-import/internal/report"
	"github.com/leaf-import/leaf-import/internal/workspace"
)

// The account workspace: what one run knows, the next run knows, whatever its directory or
// file names.

// sandboxToken logs in to the sandbox and returns its token (a JWT whose subject is the login).
func sandboxToken(t *testing.T, ts *sandbox.TestServer) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"username": "sandbox", "password": "sandbox"})
	resp, err := http.Post(ts.URL+leaf.AuthenticatePath, "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	var out struct {
		IDToken string `json:"id_token"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	require.NotEmpty(t, out.IDToken)
	return out.IDToken
}

func emptyDir(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.Empty(t, names, "nothing lands in the current directory (%s)", dir)
}

// Two applies of one account started 2 s apart, from different directories with different
// report names and two spellings of one Leaf URL (127.0.0.1 and localhost with a trailing
// slash): the second exits 5 having sent nothing, and Leaf holds no duplicate. A token run of
// the same API owner is the same account; one with --account naming someone else is refused.
func TestAccountLockKeepsOverlappingRunsApart(t *testing.T) {
	ts := sandbox.NewServer(t, sandbox.WithFaults("latency=20ms"))
	dir, a, b := t.TempDir(), t.TempDir(), t.TempDir()
	manifest := writeManifest(t, dir, growersOneConnection(160), nil, "")
	started := time.Now()
	first := startProcIn(t, ts, dir, a, []string{"apply", manifest, "--rate", "0", "--concurrency", "2", "--report", "first.json"})
	require.True(t, waitFor(20*time.Second, func() bool { return ts.Stats().Mutations.UserCreates >= 3 }), "the first run is applying")
	time.Sleep(time.Until(started.Add(2 * time.Second)))
	require.False(t, first.exited(), "the first run still runs")

	auths := ts.Stats().Requests.Auth
	otherSpelling := strings.Replace(ts.URL, "127.0.0.1", "LocalHost", 1) + "/"
	second := startProcIn(t, ts, dir, b, []string{"apply", manifest, "--rate", "0", "--report", "second.csv"}, "LEAF_API_URL="+otherSpelling)
	assert.Equal(t, exitLocked, second.wait(t, 20*time.Second))
	assert.Equal(t, auths, ts.Stats().Requests.Auth, "the second run sent nothing: not even an authentication")
	errLog := readLog(t, dir, "err.log")
	assert.Contains(t, errLog, "another leaf-import run holds the lock of account sandbox at "+leaf.CanonicalURL(ts.URL))
	assert.Regexp(t, `\(run [0-9TZ]+-[0-9a-f]+, pid [0-9]+ on [^,]+, started 20`, errLog, "the holder is named")
	emptyDir(t, b)

	token := sandboxToken(t, ts)
	code, _, stderr := runCLI(t, map[string]string{"LEAF_API_URL": ts.URL, "LEAF_TOKEN": token, "LEAF_IMPORT_STATE_DIR": stateDirOf(ts)},
		"apply", manifest, "--rate", "0")
	assert.Equal(t, exitLocked, code, "a token run of the same owner is the same account: %s", stderr)

	assert.Equal(t, 0, first.wait(t, time.Minute), readLog(t, dir, "err.log"))
	assert.Zero(t, duplicateUsers(ts))
	assertConverged(t, ts, manifest, nil)
	runs := runsOf(t, sandboxEnv(ts, nil))
	require.Len(t, runs, 1, "the refused runs left no run directory")
	assert.Equal(t, filepath.Join(a, "first.json"), runs[0].UserReport, "--report is relative to the run's directory")
	_, err := os.Stat(runs[0].UserReport)
	assert.NoError(t, err)
}

// Back-to-back applies under list lag make no duplicates: the second counts the users the
// first created, which Leaf's list does not show yet. So does a plan between them.
func TestBackToBackAppliesUnderListLag(t *testing.T) {
	for _, lag := range []string{"1s", "2s"} {
		t.Run("lag="+lag, func(t *testing.T) {
			ts := sandbox.NewServer(t, sandbox.WithFaults("lag="+lag))
			manifest := writeManifest(t, t.TempDir(), growersOneConnection(60), nil, "")
			env := sandboxEnv(ts, nil)
			code, _, stderr := runCLI(t, env, "apply", manifest, "--rate", "0")
			require.Equal(t, 0, code, stderr)
			code, out, stderr := runCLI(t, env, "plan", manifest, "--rate", "0")
			require.Equal(t, 0, code, stderr)
			assert.Contains(t, out, "Plan: 0 to create", "a plan right after the run shows no false creates")
			code, out, stderr = runCLI(t, env, "apply", manifest, "--rate", "0")
			require.Equal(t, 0, code, stderr)
			assert.Contains(t, out, "Plan: 0 to create")
			assert.Positive(t, ts.Stats().Faults[sandbox.FaultLag], "the list lagged")
			assert.Zero(t, duplicateUsers(ts))
		})
	}
}

// kill -9, then a plain apply (no --resume) from another directory: it settles what the killed
// run left in doubt and makes no duplicate.
func TestPlainApplyAfterAKillFromAnotherDirectory(t *testing.T) {
	ts := sandbox.NewServer(t, sandbox.WithFaults("lag=1s,latency=10ms"))
	dir, a, b := t.TempDir(), t.TempDir(), t.TempDir()
	manifest := writeManifest(t, dir, growersOneConnection(200), nil, "")
	p := startProcIn(t, ts, dir, a, []string{"apply", manifest, "--rate", "0", "--concurrency", "4"})
	require.True(t, waitFor(20*time.Second, func() bool { return ts.Stats().Mutations.UserCreates >= 40 }))
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGKILL))
	require.Equal(t, -int(syscall.SIGKILL), p.wait(t, 10*time.Second))
	env := sandboxEnv(ts, nil)
	killed := lastRun(t, env)
	assert.Equal(t, "crashed", string(killed.Status), "a killed run shows as crashed")

	again := startProcIn(t, ts, dir, b, []string{"apply", manifest, "--rate", "0", "--lookup-window", "2s"})
	require.Equal(t, 0, again.wait(t, time.Minute), readLog(t, dir, "err.log"))
	assert.Zero(t, duplicateUsers(ts))
	assert.Zero(t, ts.Stats().Mutations.DuplicateUserCreates)
	assertConverged(t, ts, manifest, nil)
	emptyDir(t, a)
	emptyDir(t, b)
	runs := runsOf(t, env)
	require.Len(t, runs, 2)
	assert.Equal(t, "succeeded", string(runs[0].Status))
	assert.Equal(t, "crashed", string(runs[1].Status))
	lines := readJournal(t, runs[1].Journal)
	for _, l := range report.PriorFromJournal(lines).Unresolved {
		t.Errorf("the killed run's journal still has a request in doubt: %+v", l)
	}
}

func readJournal(t *testing.T, path string) []report.Line {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	lines, err := report.ReadJournal(bytes.NewReader(data))
	require.NoError(t, err)
	return lines
}

// A torn last journal line (half a line written past what the journal last made durable) is cut
// off before anything is appended: repeated resumes work.
func TestResumeTwiceAfterATornJournalTail(t *testing.T) {
	ts := sandbox.NewServer(t)
	manifest := writeManifest(t, t.TempDir(), growersOneConnection(5), nil, "")
	env := sandboxEnv(ts, nil)
	code, _, stderr := runCLI(t, env, "apply", manifest, "--rate", "0")
	require.Equal(t, 0, code, stderr)
	run := lastRun(t, env)
	f, err := os.OpenFile(run.Journal, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.WriteString(`{"type":"intent","at":"2026-12-02T00:00:00Z","runId":"`)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	for i := range 2 {
		code, _, stderr := runCLI(t, env, "apply", manifest, "--rate", "0", "--resume", run.RunID)
		require.Equal(t, 0, code, "resume %d: %s", i+1, stderr)
	}
	lines := readJournal(t, run.Journal)
	assert.IsType(t, &report.Header{}, lines[len(lines)-1], "the last resume's header is whole")
	assertConverged(t, ts, manifest, nil)
}

var fingerprint = regexp.MustCompile(`fp:[0-9a-f]{8}`)

// One secret shows one fingerprint in every plan and apply of an account, keyed by the account's
// key; another account's key gives other fingerprints.
func TestFingerprintsAreStableAcrossRuns(t *testing.T) {
	ts := sandbox.NewServer(t)
	manifest := writeManifest(t, t.TempDir(), []growerSpec{{ext: "g1", providers: []string{"JohnDeere", "AgLeader"}}}, nil, "")
	env := sandboxEnv(ts, nil)
	delete(env, "LEAF_IMPORT_FINGERPRINT_KEY")
	var seen []string
	for _, args := range [][]string{{"plan", manifest}, {"plan", manifest}, {"apply", manifest, "--dry-run"}} {
		code, out, stderr := runCLI(t, env, append(args, "--rate", "0")...)
		require.Equal(t, 0, code, stderr)
		fps := fingerprint.FindAllString(out, -1)
		require.NotEmpty(t, fps, out)
		seen = append(seen, strings.Join(fps, " "))
	}
	assert.Equal(t, seen[0], seen[1], "two plans")
	assert.Equal(t, seen[0], seen[2], "plan and apply")
	keys, err := filepath.Glob(filepath.Join(stateDirOf(ts), "*", "fingerprint.key"))
	require.NoError(t, err)
	require.Len(t, keys, 1)
	info, err := os.Stat(keys[0])
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	other := sandbox.NewServer(t)
	code, out, stderr := runCLI(t, map[string]string{"LEAF_API_URL": other.URL, "LEAF_USERNAME": "sandbox", "LEAF_PASSWORD": "sandbox",
		"LEAF_IMPORT_STATE_DIR": stateDirOf(other)}, "plan", manifest, "--rate", "0")
	require.Equal(t, 0, code, stderr)
	assert.NotEqual(t, seen[0], strings.Join(fingerprint.FindAllString(out, -1), " "), "another account, another key")
}

// Every apply is kept in the account's history with its report; --keep-runs trims the oldest.
func TestRunsListsTheHistoryAndKeepRunsTrimsIt(t *testing.T) {
	ts := sandbox.NewServer(t)
	dir := t.TempDir()
	env := sandboxEnv(ts, nil)
	code, out, _ := runCLI(t, env, "runs")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "No runs yet for sandbox at "+leaf.CanonicalURL(ts.URL))
	for i := range 3 {
		manifest := writeManifest(t, dir, growersOneConnection(2+i), nil, "")
		code, _, stderr := runCLI(t, env, "apply", manifest, "--rate", "0")
		require.Equal(t, 0, code, stderr)
		time.Sleep(1100 * time.Millisecond) // run ids sort by the second they start in
	}
	runs := runsOf(t, env)
	require.Len(t, runs, 3)
	for i, r := range runs {
		assert.Equal(t, "succeeded", string(r.Status))
		require.NotNil(t, r.FinishedAt)
		require.NotNil(t, r.Summary)
		rep, err := report.Load(r.Report)
		require.NoError(t, err, "run %s keeps its report", r.RunID)
		assert.Equal(t, r.RunID, rep.Run.ID)
		if i > 0 {
			assert.True(t, runs[i-1].StartedAt.After(r.StartedAt), "newest first")
		}
	}
	assert.Equal(t, 2, runs[0].Summary.Succeeded, "the newest run created one grower and its credential")
	code, out, _ = runCLI(t, env, "runs")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "RUN")
	assert.Contains(t, out, runs[2].RunID)

	code, _, stderr := runCLI(t, env, "apply", filepath.Join(dir, "manifest.yaml"), "--rate", "0", "--keep-runs", "2")
	require.Equal(t, 0, code, stderr)
	kept := runsOf(t, env)
	require.Len(t, kept, 2)
	assert.Equal(t, runs[0].RunID, kept[1].RunID, "the two newest are kept")
	_, err := os.Stat(runs[2].Report)
	assert.ErrorIs(t, err, os.ErrNotExist, "the oldest run's directory is gone")
}

// A resume from a report whose journal is gone cannot know the requests sent after the
// report's last write: it waits until Leaf's lists show what they created, says so, and makes
// no duplicate.
func TestResumeFromAReportWithoutItsJournal(t *testing.T) {
	ts := sandbox.NewServer(t, sandbox.WithFaults("lag=2s,latency=10ms"))
	dir := t.TempDir()
	manifest := writeManifest(t, dir, growersOneConnection(200), nil, "")
	reportPath := filepath.Join(dir, "run.json")
	p := startProc(t, ts, dir, "apply", manifest, "--rate", "0", "--concurrency", "4", "--report", reportPath)
	require.True(t, waitFor(20*time.Second, func() bool { return ts.Stats().Mutations.UserCreates >= 60 }))
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGKILL))
	p.wait(t, 10*time.Second)
	env := sandboxEnv(ts, nil)
	run := lastRun(t, env)
	require.NoError(t, os.Remove(run.Journal))

	code, _, stderr := runCLI(t, env, "apply", manifest, "--rate", "0", "--resume", reportPath, "--lookup-window", "3s")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "known only from its report")
	assert.Zero(t, duplicateUsers(ts))
	assert.Zero(t, ts.Stats().Mutations.DuplicateUserCreates)
	assertConverged(t, ts, manifest, nil)
	rep, err := report.Load(reportPath)
	require.NoError(t, err)
	assert.Equal(t, rep.Summary.StatusCounts.Total(), len(rep.Records), "the summary covers every record")
}

// Readers take no lock and write nothing but the fingerprint key; a run that fails before it
// changes anything leaves no run directory and nothing in the current directory.
func TestReadersAndFailedRunsLeaveNothingBehind(t *testing.T) {
	ts := sandbox.NewServer(t)
	dir, cwd := t.TempDir(), t.TempDir()
	manifest := writeManifest(t, dir, growersOneConnection(3), nil, "")
	env := sandboxEnv(ts, nil)

	acct := workspace.Account{URL: ts.URL, Owner: "sandbox"}
	ws, err := workspace.Open(stateDirOf(ts), acct)
	require.NoError(t, err)
	lock, err := ws.Lock(workspace.Holder{RunID: "someone", PID: os.Getpid(), Host: "elsewhere"})
	require.NoError(t, err)
	code, _, stderr := runCLI(t, env, "plan", manifest, "--rate", "0")
	assert.Equal(t, 0, code, "plan takes no lock: %s", stderr)
	code, _, stderr = runCLI(t, env, "apply", manifest, "--rate", "0", "--dry-run")
	assert.Equal(t, 0, code, "a dry run takes no lock: %s", stderr)
	code, _, stderr = runCLI(t, env, "apply", manifest, "--rate", "0")
	assert.Equal(t, exitLocked, code, stderr)
	assert.Contains(t, stderr, "(run someone, pid ")
	lock.Release()

	bad := startProcIn(t, ts, dir, cwd, []string{"apply", manifest, "--rate", "0"}, "LEAF_PASSWORD=wrong")
	assert.Equal(t, exitAuth, bad.wait(t, 20*time.Second))
	badURL := startProcIn(t, ts, dir, cwd, []string{"apply", manifest}, "LEAF_API_URL=http://example.com")
	assert.Equal(t, exitError, badURL.wait(t, 20*time.Second))
	invalid := filepath.Join(dir, "invalid.yaml")
	require.NoError(t, os.WriteFile(invalid, []byte("version: 1\ngrowers:\n  - name: x\n"), 0o600))
	inv := startProcIn(t, ts, dir, cwd, []string{"apply", invalid})
	assert.Equal(t, exitError, inv.wait(t, 20*time.Second))
	emptyDir(t, cwd)
	assert.Empty(t, runsOf(t, env), "no run directory for runs that changed nothing")
	entries, err := os.ReadDir(ws.Dir)
	require.NoError(t, err)
	for _, e := range entries {
		assert.Contains(t, []string{"fingerprint.key", "lock", "runs"}, e.Name())
	}

	ok := startProcIn(t, ts, dir, cwd, []string{"apply", manifest, "--rate", "0"})
	assert.Equal(t, 0, ok.wait(t, 20*time.Second), readLog(t, dir, "err.log"))
	emptyDir(t, cwd)
	assert.Len(t, runsOf(t, env), 1)
}

// A LEAF_TOKEN run needs to know its API owner before it may change anything.
// A token without a subject needs --account; one with a subject and an --account naming someone
// else is refused by every command, having sent nothing.
func TestTokenWithoutOwnerIsRefused(t *testing.T) {
	ts := sandbox.NewServer(t)
	manifest := writeManifest(t, t.TempDir(), growersOneConnection(1), nil, "")
	opaque := base64.RawURLEncoding.EncodeToString([]byte("not-a-jwt"))
	env := map[string]string{"LEAF_API_URL": ts.URL, "LEAF_TOKEN": opaque, "LEAF_IMPORT_STATE_DIR": stateDirOf(ts)}
	code, _, stderr := runCLI(t, env, "apply", manifest, "--rate", "0")
	assert.Equal(t, exitError, code)
	assert.Contains(t, stderr, "--account")
	assert.Zero(t, ts.Stats().Requests.Total, "nothing was sent")

	env["LEAF_TOKEN"] = sandboxToken(t, ts)
	requests := ts.Stats().Requests.Total
	for _, cmd := range [][]string{{"apply", manifest}, {"plan", manifest}, {"status"}} {
		code, _, stderr = runCLI(t, env, append(cmd, "--rate", "0", "--account", "someone-else")...)
		assert.Equal(t, exitError, code, "%s: --account that is not the token's subject is refused: %s", cmd[0], stderr)
		assert.Contains(t, stderr, `"someone-else"`)
		assert.Contains(t, stderr, "LEAF_TOKEN's subject")
	}
	assert.Equal(t, requests, ts.Stats().Requests.Total, "the refused runs sent nothing")
	env["LEAF_ACCOUNT"] = "Sandbox"
	code, _, stderr = runCLI(t, env, "apply", manifest, "--rate", "0")
	require.Equal(t, 0, code, stderr)
	assert.Len(t, runsOf(t, sandboxEnv(ts, nil)), 1, "a token run of the owner is in the password runs' history")
}

// kill -9 under a 2 s list lag, then the journal cut (to half its bytes, or to its header line,
// which leaves no request in doubt to look up): --resume refuses it (nothing sent), and the plain
// apply that follows at once treats the killed run as wholly in doubt, waits out the list lag
// from the journal's last write, and makes no duplicate of the users the lost lines recorded.
func TestADamagedJournalIsRefusedForResumeAndCostsNoDuplicate(t *testing.T) {
	for name, cut := range map[string]func(data []byte) int64{
		"to half its bytes": func(data []byte) int64 { return int64(len(data) / 2) },
		"to its header":     func(data []byte) int64 { return int64(bytes.IndexByte(data, '\n') + 1) },
	} {
		t.Run(name, func(t *testing.T) {
			ts := sandbox.NewServer(t, sandbox.WithFaults("lag=2s,latency=10ms"))
			dir := t.TempDir()
			manifest := writeManifest(t, dir, growersOneConnection(160), nil, "")
			p := startProc(t, ts, dir, "apply", manifest, "--rate", "0", "--concurrency", "4")
			require.True(t, waitFor(20*time.Second, func() bool { return ts.Stats().Mutations.UserCreates >= 60 }))
			require.NoError(t, p.cmd.Process.Signal(syscall.SIGKILL))
			require.Equal(t, -int(syscall.SIGKILL), p.wait(t, 10*time.Second))
			env := sandboxEnv(ts, nil)
			killed := lastRun(t, env)
			data, err := os.ReadFile(killed.Journal)
			require.NoError(t, err)
			require.NoError(t, os.Truncate(killed.Journal, cut(data)))

			before := mutations(ts.Stats())
			code, _, stderr := runCLI(t, env, "apply", manifest, "--rate", "0", "--resume", killed.RunID)
			assert.Equal(t, exitError, code, stderr)
			assert.Contains(t, stderr, "damaged")
			assert.Contains(t, stderr, "it was cut")
			assert.Contains(t, stderr, "run apply without --resume")
			assert.Equal(t, before, mutations(ts.Stats()), "the refused resume sent nothing")

			code, _, stderr = runCLI(t, env, "apply", manifest, "--rate", "0")
			require.Equal(t, 0, code, stderr)
			assert.Contains(t, stderr, "journal is damaged")
			// Without the wait, the cut to its header left 60 duplicates (checked by removing it).
			assert.Zero(t, duplicateUsers(ts))
			assertConverged(t, ts, manifest, nil)
		})
	}
}

// A run's journal and report are derived from its directory, never read from run.json: an
// edited run.json pointing elsewhere is neither read nor written by a resume or a re-run.
func TestRunFilesAreDerivedFromTheRunDirectory(t *testing.T) {
	ts := sandbox.NewServer(t)
	dir := t.TempDir()
	manifest := writeManifest(t, dir, growersOneConnection(3), nil, "")
	env := sandboxEnv(ts, nil)
	copyPath := filepath.Join(dir, "copy.jsonl")
	code, _, stderr := runCLI(t, env, "apply", manifest, "--rate", "0", "--journal", copyPath)
	require.Equal(t, 0, code, stderr)
	run := lastRun(t, env)
	assert.Equal(t, "journal.jsonl", filepath.Base(run.Journal), "the run's journal stays in its directory")
	assert.Equal(t, string(mustRead(t, run.Journal)), string(mustRead(t, copyPath)), "--journal writes a copy")

	victim := filepath.Join(t.TempDir(), "victim.jsonl")
	const untouched = "not a journal; must stay as it is\n"
	require.NoError(t, os.WriteFile(victim, []byte(untouched), 0o600))
	metaPath := filepath.Join(filepath.Dir(run.Journal), "run.json")
	var meta map[string]any
	require.NoError(t, json.Unmarshal(mustRead(t, metaPath), &meta))
	meta["journal"], meta["journalCopy"], meta["userReport"] = victim, victim, victim
	b, err := json.Marshal(meta)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(metaPath, b, 0o600))

	code, _, stderr = runCLI(t, env, "apply", manifest, "--rate", "0", "--resume", run.RunID)
	require.Equal(t, 0, code, stderr)
	code, _, stderr = runCLI(t, env, "apply", manifest, "--rate", "0")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, untouched, string(mustRead(t, victim)), "the file run.json names was not written")
	lines := readJournal(t, run.Journal)
	assert.IsType(t, &report.Header{}, lines[len(lines)-1], "the resume appended to the run's own journal")
}
