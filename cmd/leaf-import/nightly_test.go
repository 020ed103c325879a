package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leaf-import/leaf-import/internal/leaf/sandbox"
)

// labelsOf returns the label sets of every series of the metric name.
func labelsOf(t *testing.T, fams map[string]*promFamily, name string) []map[string]string {
	t.Helper()
	fam, ok := fams[name]
	require.True(t, ok, "metric %s is written", name)
	var out []map[string]string
	for _, m := range fam.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		out = append(out, have)
	}
	return out
}

// One account has one account label, from apply, status and a run that fails before it reads
// its manifest, whatever the spelling of the URL; the same series are written on every run,
// zeros included; a failed run carries the last success forward.
func TestMetricsCarryOneAccountAndTheSameSeriesEveryRun(t *testing.T) {
	ts, manifest := attentionScenario(t, "")
	dir := t.TempDir()
	env := sandboxEnv(ts, nil)
	ok := filepath.Join(dir, "ok.prom")
	code, _, stderr := runCLI(t, env, "apply", manifest, "--rate", "0", "--metrics-file", ok)
	require.Equal(t, exitAttention, code, stderr)
	good := parseProm(t, ok)
	account := labelsOf(t, good, "leaf_import_requests")[0]["account"]
	assert.Regexp(t, `^sandbox@localhost:\d+$`, account)
	success := value(t, good, "leaf_import_last_success_timestamp_seconds")
	assert.Positive(t, success, "a run with growers needing a person ended well")

	status := filepath.Join(dir, "status.prom")
	other := sandboxEnv(ts, map[string]string{"LEAF_API_URL": strings.Replace(ts.URL, "127.0.0.1", "localhost", 1) + "/"})
	code, _, _ = runCLI(t, other, "status", manifest, "--rate", "0", "--metrics-file", status)
	require.Equal(t, exitAttention, code)

	bad := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("version: 1\ngrowers:\n  - {email: nope}\n"), 0o600))
	failed := filepath.Join(dir, "failed.prom")
	code, _, _ = runCLI(t, env, "apply", bad, "--rate", "0", "--metrics-file", failed)
	require.Equal(t, exitError, code)
	fail := parseProm(t, failed)

	for file, fams := range map[string]map[string]*promFamily{ok: good, status: parseProm(t, status), failed: fail} {
		for name := range fams {
			for _, l := range labelsOf(t, fams, name) {
				assert.Equal(t, account, l["account"], "%s: %s", filepath.Base(file), name)
			}
		}
	}
	assert.Equal(t, 1.0, value(t, fail, "leaf_import_last_run_outcome", "outcome", "failed"))
	assert.Equal(t, success, value(t, fail, "leaf_import_last_success_timestamp_seconds"), "carried forward from the history")
	for name, fam := range good {
		assert.Equal(t, len(fam.GetMetric()), len(fail[name].GetMetric()), "%s: the failed run writes the same series", name)
	}
	assert.Equal(t, 4*6*4, len(good["leaf_import_changes"].GetMetric()), "every kind, action and status")
	assert.Zero(t, value(t, fail, "leaf_import_retries", "cause", "lost-create"))
	assert.Zero(t, value(t, fail, "leaf_import_lookups"))
}

// Every re-sent request is counted by cause, the creates sent again after a lookup proved a lost
// answer created nothing included; the lookups are counted too.
func TestMetricsCountEveryResentRequest(t *testing.T) {
	ts := sandbox.NewServer(t, sandbox.WithFaults("reset-before-commit=0.3,503=0.1,route=POST /users,seed=5"))
	dir := t.TempDir()
	manifest := writeManifest(t, dir, growersOneConnection(40), nil, "")
	prom := filepath.Join(dir, "m.prom")
	code, _, stderr := runCLI(t, sandboxEnv(ts, nil), "apply", manifest, "--rate", "0", "--lookup-window", "10ms", "--metrics-file", prom)
	require.Equal(t, 0, code, stderr)
	fams := parseProm(t, prom)
	assert.Positive(t, value(t, fams, "leaf_import_retries", "cause", "lost-create"), "creates sent again after a lookup")
	assert.Positive(t, value(t, fams, "leaf_import_lookups"))
	st := ts.Stats()
	var resent float64
	for _, l := range labelsOf(t, fams, "leaf_import_retries") {
		resent += value(t, fams, "leaf_import_retries", "cause", l["cause"])
	}
	posts := st.Requests.ByRoute["POST /users"]
	assert.Equal(t, float64(posts-40), resent, "every POST beyond one per grower is counted as re-sent")
}

// --attention-exit-code maps "growers need a person" to the code a scheduler wants; the other
// codes stay.
func TestAttentionExitCode(t *testing.T) {
	ts, manifest := attentionScenario(t, "")
	env := sandboxEnv(ts, nil)
	for _, c := range []struct {
		flag string
		want int
	}{{"", exitAttention}, {"0", 0}, {"9", 9}} {
		args := []string{"status", manifest, "--rate", "0"}
		if c.flag != "" {
			args = append(args, "--attention-exit-code", c.flag)
		}
		code, _, stderr := runCLI(t, env, args...)
		assert.Equal(t, c.want, code, "--attention-exit-code %q", c.flag)
		assert.Contains(t, stderr, "need a person", "the news is still said")
	}
	for _, bad := range []string{"3", "130", "-1"} {
		code, _, stderr := runCLI(t, env, "status", manifest, "--rate", "0", "--attention-exit-code", bad)
		assert.Equal(t, exitError, code, bad)
		assert.Contains(t, stderr, "--attention-exit-code must be")
	}
	code, _, _ := runCLI(t, env, "apply", filepath.Join(t.TempDir(), "missing.yaml"), "--attention-exit-code", "0")
	assert.Equal(t, exitError, code, "an error is still an error")
}

// The metric names the alert rules use are the names leaf-import writes.
func TestAlertRulesUseTheMetricsWritten(t *testing.T) {
	rules, err := os.ReadFile("../../deploy/prometheus/rules.yaml")
	require.NoError(t, err)
	ts, manifest := attentionScenario(t, "")
	env := sandboxEnv(ts, nil)
	dir := t.TempDir()
	runCLI(t, env, "apply", manifest, "--rate", "0", "--metrics-file", filepath.Join(dir, "a.prom"))
	runCLI(t, env, "status", manifest, "--rate", "0", "--metrics-file", filepath.Join(dir, "s.prom"))
	written := map[string]bool{}
	for _, f := range []string{"a.prom", "s.prom"} {
		for name := range parseProm(t, filepath.Join(dir, f)) {
			written[name] = true
		}
	}
	used := regexp.MustCompile(`\bleaf_import_[a-z_]+\b`).FindAllString(string(rules), -1)
	require.NotEmpty(t, used)
	for _, name := range used {
		assert.True(t, written[name], "rules.yaml uses %s, which leaf-import does not write", name)
	}
}
