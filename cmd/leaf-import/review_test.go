package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leaf-import/leaf-import/internal/leaf/sandbox"
	"github.com/leaf-import/leaf-import/internal/planview"
)

// plan --format markdown is a pull-request comment: the summary table first, the changes in
// collapsible sections by kind and action, cut to 65,536 characters with a line saying how many
// were left out; a backtick fence in a value cannot break out of its block.
func TestPlanAsMarkdownForAPullRequest(t *testing.T) {
	ts := sandbox.NewServer(t)
	dir := t.TempDir()
	var growers []growerSpec
	for i := range 3000 {
		growers = append(growers, growerSpec{ext: fmt.Sprintf("g-%05d", i), name: "Name ```" + fmt.Sprint(i), providers: []string{"AgLeader"}})
	}
	manifest := writeManifest(t, dir, growers, nil, "")
	code, out, stderr := runCLI(t, sandboxEnv(ts, nil), "plan", manifest, "--rate", "0", "--format", "markdown")
	require.Equal(t, 0, code, stderr)
	assert.LessOrEqual(t, len(out), planview.MaxMarkdown)
	assert.True(t, strings.HasPrefix(out, "### leaf-import plan\n"), out[:100])
	assert.Less(t, strings.Index(out, "| **all** | 6,000 |"), strings.Index(out, "<details>"), "the summary comes first")
	assert.Contains(t, out, "<details><summary>create user: 3,000</summary>")
	assert.Regexp(t, `_[\d,]+ of 6,000 changes are not shown: a comment holds 65,536 characters`, out)
	assert.Equal(t, strings.Count(out, "<details>"), strings.Count(out, "</details>"), "every section is closed")
	assert.Equal(t, 0, strings.Count(out, "```")%2, "every fence is closed; no value opened one")

	small := writeManifest(t, t.TempDir(), growers[:2], nil, "")
	code, out, _ = runCLI(t, sandboxEnv(ts, nil), "plan", small, "--rate", "0", "--format", "markdown")
	require.Equal(t, 0, code)
	assert.NotContains(t, out, "not shown")
	assert.Contains(t, out, "+ credential g-00001/AgLeader")
}

// show renders a saved plan as text, JSON or Markdown from the file alone: nothing is sent, no
// credential is needed.
func TestShowRendersASavedPlanWithoutLeaf(t *testing.T) {
	ts := sandbox.NewServer(t)
	dir := t.TempDir()
	manifest := writeManifest(t, dir, growersOneConnection(3), nil, "")
	saved := filepath.Join(dir, "plan.json")
	code, text, stderr := runCLI(t, sandboxEnv(ts, nil), "plan", manifest, "--rate", "0", "--out", saved)
	require.Equal(t, 0, code, stderr)
	before := ts.Stats().Requests.Total

	code, out, stderr := runCLI(t, nil, "show", saved)
	require.Equal(t, 0, code, stderr)
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		if strings.HasPrefix(line, "+ ") {
			assert.Contains(t, out, line, "show prints each change as plan did")
		}
	}
	assert.Contains(t, out, "Plan: 6 to create")
	assert.Contains(t, out, "Saved plan: account sandbox at ")

	code, out, _ = runCLI(t, nil, "show", saved, "--format", "json")
	require.Equal(t, 0, code)
	var v planview.View
	require.NoError(t, json.Unmarshal([]byte(out), &v))
	assert.Len(t, v.Changes, 6)

	code, out, _ = runCLI(t, nil, "show", saved, "--format", "markdown")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "| **all** | 6 |")
	assert.Equal(t, before, ts.Stats().Requests.Total, "show sent nothing")

	code, _, stderr = runCLI(t, nil, "show", manifest)
	assert.Equal(t, exitError, code)
	assert.NotEmpty(t, stderr)
}

// apply lists a short plan's changes, and shows a long one (or any with --quiet) as its summary.
func TestApplyShowsTheSummaryOfALongPlan(t *testing.T) {
	ts := sandbox.NewServer(t)
	small := writeManifest(t, t.TempDir(), growersOneConnection(2), nil, "")
	code, out, stderr := runCLI(t, sandboxEnv(ts, nil), "apply", small, "--rate", "0", "--quiet")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "Plan: 4 to create")
	assert.Contains(t, out, "(4 changes, not listed: --quiet;")
	assert.NotContains(t, out, "+ user")

	long := writeManifest(t, t.TempDir(), growersOneConnection(160), nil, "")
	code, out, stderr = runCLI(t, sandboxEnv(ts, nil), "apply", long, "--rate", "0")
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `\(3\d\d changes, not listed: more than 300;`, out)
	assert.NotContains(t, out, "+ user")

	other := writeManifest(t, t.TempDir(), []growerSpec{{ext: "solo"}}, nil, "")
	code, out, _ = runCLI(t, sandboxEnv(ts, nil), "apply", other, "--rate", "0")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "+ user solo")
}

// apply --format json is a stream of versioned events on stdout, one per line: a start, each
// change started and finished, progress, and a summary whose counts are the report's.
func TestApplyStreamsJSONEvents(t *testing.T) {
	ts := sandbox.NewServer(t, sandbox.WithFaults("503=0.2,seed=4"))
	dir := t.TempDir()
	manifest := writeManifest(t, dir, growersOneConnection(20), nil, "")
	code, out, stderr := runCLI(t, sandboxEnv(ts, nil), "apply", manifest, "--rate", "0", "--format", "json", "--progress-every", "1ms", "--lookup-window", "10ms")
	require.Equal(t, 0, code, stderr)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	types := map[string]int{}
	var last map[string]any
	for i, l := range lines {
		var ev map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &ev), "line %d is one JSON object: %s", i+1, l)
		assert.Equal(t, 1.0, ev["v"], l)
		types[ev["type"].(string)]++
		last = ev
	}
	assert.Equal(t, 1, types["start"])
	assert.GreaterOrEqual(t, types["change_start"], 40, "a create sent again after a lookup starts again")
	assert.Equal(t, 40, types["change"])
	assert.Positive(t, types["progress"])
	assert.Equal(t, "summary", last["type"], "the summary is the last event")

	var sum struct {
		RunID   string         `json:"runId"`
		Summary map[string]any `json:"summary"`
	}
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &sum))
	rep := lastRun(t, sandboxEnv(ts, nil)).Report
	var report struct {
		Summary map[string]any `json:"summary"`
	}
	require.NoError(t, json.Unmarshal(mustRead(t, rep), &report))
	for _, k := range []string{"succeeded", "failed", "skipped", "pending", "requests", "retries", "lookups"} {
		assert.Equal(t, report.Summary[k], sum.Summary[k], "summary.%s equals the report's", k)
	}
	assert.NotContains(t, out, "Plan:", "stdout holds JSON only")

	code, _, stderr = runCLI(t, sandboxEnv(ts, nil), "apply", manifest, "--format", "json", "--dry-run")
	assert.Equal(t, exitError, code)
	assert.Contains(t, stderr, "plan --format json")
}
