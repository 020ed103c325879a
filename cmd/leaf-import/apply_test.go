package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leaf-import/leaf-import/internal/leaf"
	"github.com/leaf-import/leaf-import/internal/leaf/sandbox"
	"github.com/leaf-import/leaf-import/internal/planview"
	"github.com/leaf-import/leaf-import/internal/report"
)

var providerMix = [][]string{
	{"JohnDeere", "AgLeader"}, {"CNHI", "ClimateFieldView"}, {"Trimble", "Valley"}, {"Sentera", "AgVance"},
	{"Raven", "RavenSlingshot"}, {"Lindsay", "Stara"}, {"CLAAS", "Panorama"}, {"Agrimatics"},
}

// mixedScenario seeds a sandbox with growers to update, rotate, repair and replace, and returns
// the manifest that brings it to the desired state plus new growers and apps.
func mixedScenario(t *testing.T, ts *sandbox.TestServer, dir string, newGrowers int) string {
	t.Helper()
	jd, _ := leaf.LookupProvider("JohnDeere")
	cnhi, _ := leaf.LookupProvider("CNHI")
	tr, _ := leaf.LookupProvider("Trimble")
	ts.AddUser(&sandbox.User{ExternalID: "grower-0001", Name: "Old Name",
		Credentials: map[string]*sandbox.Credential{"JohnDeere": seedCredential(jd, "grower-0001", "")}})
	rotated := seedCredential(jd, "grower-0002", "")
	rotated.Fields["refreshToken"] = "rotated-by-leaf"
	ts.AddUser(&sandbox.User{ExternalID: "grower-0002", Name: "Rotated", Credentials: map[string]*sandbox.Credential{"JohnDeere": rotated}})
	broken := seedCredential(cnhi, "grower-0003", "-old")
	broken.Status = "INVALID"
	ts.AddUser(&sandbox.User{ExternalID: "grower-0003", Name: "Broken", Credentials: map[string]*sandbox.Credential{"CNHI": broken}})
	moved := seedCredential(tr, "grower-0004", "")
	moved.Fields["clientId"] = "another-app"
	ts.AddUser(&sandbox.User{ExternalID: "grower-0004", Name: "Moved", Credentials: map[string]*sandbox.Credential{"Trimble": moved}})
	ts.AddUser(&sandbox.User{Name: "not managed", Email: "x@example.com"})
	require.NoError(t, ts.LoadState(withApp(ts.State(), "JohnDeere", "acme", "PRODUCTION")))

	growers := []growerSpec{
		{ext: "grower-0001", name: "Jane Smith", providers: []string{"JohnDeere"}},
		{ext: "grower-0002", name: "Rotated", providers: []string{"JohnDeere"}},
		{ext: "grower-0003", name: "Broken", providers: []string{"CNHI"}},
		{ext: "grower-0004", name: "Moved", providers: []string{"Trimble"}},
	}
	for i := range newGrowers {
		ext := fmt.Sprintf("grower-%04d", 100+i)
		growers = append(growers, growerSpec{ext: ext, name: "New " + ext, email: ext + "@example.com", providers: providerMix[i%len(providerMix)]})
	}
	return writeManifest(t, dir, growers, []string{"JohnDeere", "CNHI", "AgLeader"}, "")
}

// plannedChanges is the number of changes a plan of the manifest has now.
func plannedChanges(t *testing.T, env map[string]string, manifest string) int {
	t.Helper()
	code, out, stderr := runCLI(t, env, "plan", manifest, "--rate", "0", "--format", "json")
	require.Equal(t, 0, code, stderr)
	var v struct {
		Summary struct{ Create, Update, Replace, Delete int }
	}
	require.NoError(t, json.Unmarshal([]byte(out), &v))
	return v.Summary.Create + v.Summary.Update + v.Summary.Replace + v.Summary.Delete
}

func withApp(st *sandbox.State, provider, name, env string) *sandbox.State {
	st.AppKeys = append(st.AppKeys, &sandbox.AppKey{Provider: provider, AppName: name, ClientEnvironment: env,
		CreatedTime: "2026-01-01T00:00:00.000000Z", Fields: map[string]any{}})
	return st
}

func TestApplyConvergesAMixedManifest(t *testing.T) {
	ts := sandbox.NewServer(t)
	dir := t.TempDir()
	manifest := mixedScenario(t, ts, dir, 16)
	env := sandboxEnv(ts, nil)
	reportPath := filepath.Join(dir, "run.json")

	code, out, stderr := runCLI(t, env, "apply", manifest, "--rate", "0", "--report", reportPath)
	require.Equal(t, 0, code, "%s\n%s", out, stderr)
	assert.Contains(t, out, "~ user grower-0001: name \"Old Name\" -> \"Jane Smith\"")
	assert.Contains(t, out, "± credential grower-0003/CNHI: status INVALID -> replace")
	assert.Contains(t, out, "± credential grower-0004/Trimble: clientId")
	assert.NotContains(t, out, "grower-0002", "a rotated token is not a change")
	assertConverged(t, ts, manifest, nil)

	rep, err := report.Load(reportPath)
	require.NoError(t, err)
	assert.Equal(t, 51, len(rep.Records), "one record per change: 16 new users, 30 new credentials, 1 update, 2 replaces, 2 apps")
	for _, r := range rep.Records {
		assert.Equal(t, report.StatusSucceeded, r.Status, "%+v", r)
		assert.Positive(t, r.Attempts)
	}
	assert.Equal(t, len(rep.Records), rep.Summary.Succeeded)
	info, err := os.Stat(reportPath)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	last := lastRun(t, env)
	assert.Equal(t, "succeeded", string(last.Status))
	for _, f := range []string{last.Journal, last.Report} {
		info, err = os.Stat(f)
		require.NoError(t, err, "the run's journal and report are in its directory")
		assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), f)
	}
	info, err = os.Stat(filepath.Dir(last.Report))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), info.Mode().Perm(), "run directories are private")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.ElementsMatch(t, []string{"manifest.yaml", "run.json"}, names, "nothing lands beside the report but what was asked for")

	// The user without externalId was never touched.
	for _, u := range ts.State().Users {
		if u.ExternalID == "" {
			assert.Equal(t, "not managed", u.Name)
		}
	}
}

func TestApplyUnderFaultsConvergesWithoutDuplicates(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: 429s pause every worker for a second")
	}
	ts := sandbox.NewServer(t)
	dir := t.TempDir()
	manifest := mixedScenario(t, ts, dir, 120)
	env := sandboxEnv(ts, nil)
	planned := plannedChanges(t, env, manifest)
	require.NoError(t, ts.SetFaults("503=0.1,429=0.05,reset-after-commit=0.02,reset-before-commit=0.01,lag=200ms,seed=11"))
	reportPath := filepath.Join(dir, "run.json")

	args := []string{"apply", manifest, "--rate", "0", "--report", reportPath, "--lookup-window", "1s"}
	var codes []int
	for run := 0; run < 10; run++ {
		code, _, stderr := runCLI(t, env, args...)
		codes = append(codes, code)
		if code == 0 {
			break
		}
		require.Equal(t, exitFailed, code, stderr)
		args = []string{"apply", manifest, "--rate", "0", "--resume", lastRun(t, env).RunID, "--lookup-window", "1s"}
	}
	require.Equal(t, 0, codes[len(codes)-1], "converged after resumes: exit codes %v", codes)
	t.Logf("runs: %v", codes)

	st := ts.Stats()
	require.NoError(t, ts.SetFaults(""))
	assertConverged(t, ts, manifest, nil)
	assert.Zero(t, duplicateUsers(ts), "no duplicate users")
	assert.Zero(t, st.Mutations.DuplicateUserCreates, "no POST /users for an externalId that already existed")
	assert.Zero(t, st.Mutations.CredentialConflicts, "no second credential POST")
	assert.Zero(t, st.Mutations.AppKeyConflicts, "no second app POST")
	// Not vacuous: faults fired, and creates were committed with their answers dropped (about 2%
	// of some 400 creates; the chance that none was is below one in a million).
	for _, kind := range []string{sandbox.Fault503, sandbox.Fault429, sandbox.FaultResetAfterCommit} {
		assert.Positive(t, st.Faults[kind], "fault %s fired", kind)
	}
	dropped := st.Mutations.DroppedAfterCommit["POST /users"] + st.Mutations.DroppedAfterCommit["POST /users/{id}/{credential-path}"]
	require.Positive(t, dropped, "some creates were committed and their answers dropped")

	rep, err := report.Load(reportPath)
	require.NoError(t, err)
	resolved := 0
	seen := map[string]bool{}
	for _, r := range rep.Records {
		assert.False(t, seen[r.ChangeID], "one record per change: %s", r.ChangeID)
		seen[r.ChangeID] = true
		if r.ResolvedByLookup {
			resolved++
		}
		assert.Equal(t, report.StatusSucceeded, r.Status, "%+v", r)
	}
	assert.Positive(t, resolved, "commit-then-drop creates were resolved by lookup")
	assert.Equal(t, planned, len(rep.Records), "the final report accounts for every change once")
}

func TestApplyDryRunSendsNoMutatingRequest(t *testing.T) {
	ts := sandbox.NewServer(t)
	dir := t.TempDir()
	manifest := mixedScenario(t, ts, dir, 5)
	ts.ResetStats()
	code, out, stderr := runCLI(t, sandboxEnv(ts, nil), "apply", manifest, "--dry-run", "--rate", "0", "--report", filepath.Join(dir, "r.json"))
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "to create")
	st := ts.Stats()
	assert.Zero(t, mutations(st), "non-GET requests: %v", st.Requests.ByMethod)
	assert.Positive(t, st.Requests.ByMethod["GET"])
	_, err := os.Stat(filepath.Join(dir, "r.json"))
	assert.True(t, os.IsNotExist(err), "a dry run writes no report")
}

func TestApplySavedPlanRefusesStaleChanges(t *testing.T) {
	ts := sandbox.NewServer(t)
	dir := t.TempDir()
	manifest := mixedScenario(t, ts, dir, 3)
	env := sandboxEnv(ts, nil)
	planPath := filepath.Join(dir, "plan.json")
	code, _, stderr := runCLI(t, env, "plan", manifest, "--rate", "0", "--out", planPath)
	require.Equal(t, 0, code, stderr)

	// Leaf changes after the review: grower-0001 is renamed, grower-0004's credential is replaced.
	c := ts.Client(t)
	users, err := c.ListUsers(t.Context(), leaf.UserFilter{ExternalID: "grower-0001"})
	require.NoError(t, err)
	renamed := "Renamed Meanwhile"
	_, err = c.UpdateUser(t.Context(), users[0].ID, leaf.UserFields{Name: &renamed})
	require.NoError(t, err)
	users, err = c.ListUsers(t.Context(), leaf.UserFilter{ExternalID: "grower-0004"})
	require.NoError(t, err)
	_, err = ts.UpdateCredential(users[0].ID, mustProvider("Trimble"), map[string]string{"status": "INVALID"})
	require.NoError(t, err)

	ts.ResetStats()
	code, _, stderr = runCLI(t, env, "apply", manifest, "--plan", planPath, "--rate", "0", "--report", filepath.Join(dir, "a.json"))
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "went stale")
	assert.Zero(t, mutations(ts.Stats()), "nothing was sent")

	reportPath := filepath.Join(dir, "b.json")
	code, _, stderr = runCLI(t, env, "apply", manifest, "--plan", planPath, "--skip-stale", "--rate", "0", "--report", reportPath)
	require.Equal(t, 0, code, stderr)
	rep, err := report.Load(reportPath)
	require.NoError(t, err)
	stale := map[string]bool{}
	for _, r := range rep.Records {
		if r.Status == report.StatusSkipped && r.ErrorCode == report.CodeStale {
			stale[r.ChangeID] = true
		}
	}
	assert.Equal(t, map[string]bool{"user:grower-0001": true, "credential:grower-0004/Trimble": true}, stale)
	// Every other change of the saved plan was applied, and nothing else.
	f, err := os.Open(planPath)
	require.NoError(t, err)
	saved, err := planview.ReadSaved(f)
	f.Close()
	require.NoError(t, err)
	succeeded := map[string]bool{}
	for _, r := range rep.Records {
		if r.Status == report.StatusSucceeded {
			succeeded[r.ChangeID] = true
		}
	}
	for _, sc := range saved.Changes {
		assert.Equal(t, !stale[sc.ID], succeeded[sc.ID], sc.ID)
	}
	assert.Len(t, succeeded, len(saved.Changes)-2)
	users, err = c.ListUsers(t.Context(), leaf.UserFilter{ExternalID: "grower-0001"})
	require.NoError(t, err)
	assert.Equal(t, renamed, users[0].Name, "the stale change was not applied")

	// A plan made against another Leaf is refused.
	other := sandbox.NewServer(t)
	code, _, stderr = runCLI(t, sandboxEnv(other, nil), "apply", manifest, "--plan", planPath, "--rate", "0", "--report", filepath.Join(dir, "c.json"))
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "the plan was made against")
}

func mustProvider(name string) *leaf.Provider {
	p, _ := leaf.LookupProvider(name)
	return p
}

// A user update through PUT (where Leaf has no PATCH) keeps the user's credentials.
func TestApplyPutUpdateKeepsCredentials(t *testing.T) {
	ts := sandbox.NewServer(t, sandbox.WithPatchDisabled())
	dir := t.TempDir()
	jd, cnhi := mustProvider("JohnDeere"), mustProvider("CNHI")
	ts.AddUser(&sandbox.User{ExternalID: "grower-0001", Name: "Old", Credentials: map[string]*sandbox.Credential{
		"JohnDeere": seedCredential(jd, "grower-0001", ""), "CNHI": seedCredential(cnhi, "grower-0001", "")}})
	manifest := writeManifest(t, dir, []growerSpec{{ext: "grower-0001", name: "New", providers: []string{"JohnDeere", "CNHI"}}}, nil, "")
	code, _, stderr := runCLI(t, sandboxEnv(ts, nil), "apply", manifest, "--rate", "0", "--report", filepath.Join(dir, "r.json"))
	require.Equal(t, 0, code, stderr)
	st := ts.Stats()
	assert.Equal(t, 1, st.Requests.ByMethod["PUT"], "the update went through PUT")
	u := ts.State().Users[0]
	assert.Equal(t, "New", u.Name)
	assert.Len(t, u.Credentials, 2, "PUT re-sent the credential ids")
	assertConverged(t, ts, manifest, nil)
}

func TestApplyExitCodes(t *testing.T) {
	ts := sandbox.NewServer(t)
	dir := t.TempDir()
	manifest := writeManifest(t, dir, []growerSpec{{ext: "g1", providers: []string{"JohnDeere"}}}, nil, "")
	code, _, stderr := runCLI(t, sandboxEnv(ts, map[string]string{"LEAF_PASSWORD": "wrong"}), "apply", manifest, "--report", filepath.Join(dir, "r.json"))
	assert.Equal(t, exitAuth, code, stderr)
	code, _, _ = runCLI(t, sandboxEnv(ts, nil), "apply", manifest, "--concurrency", "0")
	assert.Equal(t, exitError, code)
	code, _, stderr = runCLI(t, sandboxEnv(ts, nil), "apply", manifest, "--max-changes", "1", "--rate", "0", "--report", filepath.Join(dir, "r.json"))
	assert.Equal(t, exitError, code, "2 changes > --max-changes 1")
	assert.Contains(t, stderr, "--max-changes")
	assert.Zero(t, mutations(ts.Stats()))
}

// failingSandbox answers 400 to grower-0002's John Deere credential and 500 to grower-0003's
// user create, so that a run ends with failures.
func failingSandbox(t *testing.T) *sandbox.TestServer {
	ts := sandbox.NewServer(t)
	ts.HTTP.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/users") {
			var body map[string]any
			raw := readBody(r)
			_ = json.Unmarshal(raw, &body)
			if body["externalId"] == "grower-0003" {
				http.Error(w, `{"title":"Internal Server Error","status":500}`, http.StatusInternalServerError)
				return
			}
			restoreBody(r, raw)
		}
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/john-deere-credentials") {
			st := ts.State()
			for _, u := range st.Users {
				if u.ExternalID == "grower-0002" && strings.Contains(r.URL.Path, u.ID) {
					w.Header().Set("Content-Type", "application/problem+json")
					w.WriteHeader(http.StatusBadRequest)
					_, _ = w.Write([]byte(`{"title":"Bad Request","status":400,"detail":"the provider refused the token"}`))
					return
				}
			}
		}
		ts.Server.ServeHTTP(w, r)
	})
	return ts
}

var volatile = regexp.MustCompile(`"(runId|id|startedAt|endedAt|at)": "[^"]*"|"(durationMs|achievedRate|requests)": [0-9.e+-]+|"leafUrl": "[^"]*"|"tool": "[^"]*"|"previousRuns": \[[^\]]*\]`)

// runDirPath matches the path of a run's directory in the workspace.
var runDirPath = regexp.MustCompile(`"[^"]*/runs/[0-9TZ]+-[0-9a-f]+/`)

func normalizeReport(s string) string {
	s = runDirPath.ReplaceAllString(s, `"<run-dir>/`)
	return volatile.ReplaceAllStringFunc(s, func(m string) string {
		k, _, _ := strings.Cut(m, ":")
		return k + `: "<volatile>"`
	})
}

// normalizeCSV blanks the CSV report's columns that change from run to run.
func normalizeCSV(t *testing.T, s string) string {
	rows, err := csv.NewReader(strings.NewReader(s)).ReadAll()
	require.NoError(t, err)
	require.NotEmpty(t, rows)
	for i, h := range rows[0] {
		if h == "runId" || h == "startedAt" || h == "durationMs" {
			for _, r := range rows[1:] {
				r[i] = "<volatile>"
			}
		}
	}
	var b strings.Builder
	w := csv.NewWriter(&b)
	require.NoError(t, w.WriteAll(rows))
	return b.String()
}

func readBody(r *http.Request) []byte {
	raw, _ := io.ReadAll(r.Body)
	return raw
}

func restoreBody(r *http.Request, raw []byte) { r.Body = io.NopCloser(bytes.NewReader(raw)) }

func TestApplyReportGoldenWithFailures(t *testing.T) {
	for _, format := range []string{"json", "csv"} {
		t.Run(format, func(t *testing.T) {
			ts := failingSandbox(t)
			dir := t.TempDir()
			manifest := writeManifest(t, dir, []growerSpec{
				{ext: "grower-0001", name: "Jane", providers: []string{"JohnDeere", "AgLeader"}},
				{ext: "grower-0002", name: "Carlos", providers: []string{"JohnDeere"}},
				{ext: "grower-0003", name: "Priya", providers: []string{"Valley"}},
			}, []string{"CNHI"}, "")
			reportPath := filepath.Join(dir, "run."+format)
			code, _, stderr := runCLI(t, sandboxEnv(ts, nil), "apply", manifest, "--rate", "0", "--concurrency", "1",
				"--lookup-window", "10ms", "--report", reportPath)
			require.Equal(t, exitFailed, code, stderr)
			assert.Contains(t, stderr, "2 change(s) failed")
			raw := string(mustRead(t, reportPath))
			var got string
			if format == "json" {
				got = normalizeReport(raw)
			} else {
				got = normalizeCSV(t, raw)
			}
			got = strings.ReplaceAll(got, dir+string(filepath.Separator), "")
			golden(t, filepath.Join("..", "..", "testdata", "report", "failures."+format), got)
		})
	}
}

func TestApplyNeverLeaksSecrets(t *testing.T) {
	ts := sandbox.NewServer(t, sandbox.WithFaults("503=0.1,reset-after-commit=0.05,seed=3"))
	dir := t.TempDir()
	var growers []growerSpec
	for i := range 10 {
		growers = append(growers, growerSpec{ext: fmt.Sprintf("g-%02d", i), providers: providerMix[i%len(providerMix)]})
	}
	manifest := writeManifest(t, dir, growers, []string{"JohnDeere", "Stara"}, canary)
	reportPath := filepath.Join(dir, "run.json")
	var outputs []string
	env := sandboxEnv(ts, nil)
	for i, extra := range [][]string{{"--report", reportPath}, {"--resume", reportPath}, {"--resume", reportPath, "--report", filepath.Join(dir, "run.csv")}} {
		args := append([]string{"apply", manifest, "--rate", "0", "--lookup-window", "10ms", "-v", "--log-format", []string{"text", "json"}[i%2]}, extra...)
		_, out, errOut := runCLI(t, env, args...)
		outputs = append(outputs, out, errOut)
	}
	runs := runsOf(t, env)
	require.Len(t, runs, 1, "the resumes continued the first run")
	for _, f := range []string{reportPath, filepath.Join(dir, "run.csv"), runs[0].Journal, runs[0].Report} {
		b, err := os.ReadFile(f)
		if err == nil {
			outputs = append(outputs, string(b))
		}
	}
	require.GreaterOrEqual(t, len(outputs), 8)
	for i, o := range outputs {
		assertNoCanary(t, fmt.Sprintf("output %d", i), o)
	}
	st := ts.State()
	found := false
	for _, u := range st.Users {
		for _, c := range u.Credentials {
			for _, v := range c.Fields {
				found = found || strings.Contains(v, canary)
			}
		}
	}
	assert.True(t, found, "the canaries did reach Leaf, where they belong")
}
