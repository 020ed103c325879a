package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leaf-import/leaf-import/internal/leaf/sandbox"
	"github.com/leaf-import/leaf-import/internal/report"
)

// --rate auto against a limit nobody told it (the sandbox's fixed window of 60 a second): it
// finds the limit, says so in the progress lines and the report's summary, keeps the pace for
// the next run of the account, which starts from it.
func TestRateAutoFindsTheLimitAndKeepsIt(t *testing.T) {
	ts := sandbox.NewServer(t, sandbox.WithRateLimit("60/s"))
	dir := t.TempDir()
	manifest := writeManifest(t, dir, growersOneConnection(200), nil, "")
	env := sandboxEnv(ts, nil)
	rep := filepath.Join(dir, "rep.json")
	code, out, stderr := runCLI(t, env, "apply", manifest, "--rate", "auto", "--concurrency", "16", "--report", rep,
		"--progress-every", "1s")
	require.Equal(t, 0, code, stderr)
	st := ts.Stats()
	require.Positive(t, st.Faults[sandbox.FaultRateLimit], "the limit was met")
	assert.LessOrEqual(t, float64(st.Requests.ByStatus["429"])/float64(st.Requests.Total), 0.05, "429s: %v", st.Requests.ByStatus)
	assert.Contains(t, stderr, `pace="Leaf answered 429`, "the progress line says why the pace is what it is")
	assert.Contains(t, out, "Pace (auto): ended at")

	var r report.Report
	data, err := os.ReadFile(rep)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &r))
	require.NotNil(t, r.Summary.Pace)
	assert.Equal(t, "auto", r.Summary.Pace.Mode)
	assert.InDelta(t, 60, r.Summary.Pace.Limit, 15, "the limit it found")
	assert.Positive(t, r.Summary.Pace.LimitHits)

	learned, err := accountWorkspace(t, ts).Learned()
	require.NoError(t, err)
	pace, limit, ok := learned.FreshPace(time.Now())
	require.True(t, ok, "%+v", learned)
	assert.InDelta(t, 58, pace, 15)
	assert.InDelta(t, 60, limit, 15)

	more := writeManifest(t, t.TempDir(), growersOneConnection(10), nil, "")
	code, _, stderr = runCLI(t, env, "plan", more, "--rate", "auto")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "--rate auto starts from the pace an earlier run of the account learned")
}
