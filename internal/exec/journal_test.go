package exec

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leaf-import/leaf-import/internal/plan"
	"github.com/leaf-import/leaf-import/internal/report"
)

// A torn last line (a crash or a full disk mid-write) is cut off before anything is appended,
// so that the journal stays readable through any number of later runs.
func TestJournalCutsATornTailBeforeAppending(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.jsonl")
	j, err := OpenJournal(path, report.Header{RunID: "r1"})
	require.NoError(t, err)
	c := &plan.Change{ID: "user:a", Kind: plan.KindUser, Action: plan.ActionCreate, ExternalID: "a"}
	require.NoError(t, j.Intent(c, report.StepPost, 0, ""))
	assert.Equal(t, 1, j.Open(), "an intent without outcome is open")
	require.NoError(t, j.Outcome(c, report.StepPost, 0, "", report.OutcomeSucceeded, "u1", 201, ""))
	assert.Zero(t, j.Open())
	require.NoError(t, j.Close())
	whole, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.Truncate(path, int64(len(whole)-20)))

	for run := range 2 {
		j, err := OpenJournal(path, report.Header{RunID: "r2"})
		require.NoError(t, err, "run %d", run)
		require.NoError(t, j.Intent(c, report.StepPost, 0, ""))
		require.NoError(t, j.Close())
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		lines, err := report.ReadJournal(bytes.NewReader(data))
		require.NoError(t, err, "readable after run %d:\n%s", run, data)
		assert.IsType(t, &report.Intent{}, lines[len(lines)-1])
	}
	data, _ := os.ReadFile(path)
	assert.Equal(t, 2+2*2, bytes.Count(data, []byte("\n")), "header and intent kept, torn outcome cut, two runs of header and intent")
}
