package lifecycle

import (
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leaf-import/leaf-import/internal/leaf/sandbox"
	"github.com/leaf-import/leaf-import/internal/workspace"
)

func growers(n int) string {
	var b strings.Builder
	b.WriteString("growers:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - externalId: g%d\n    name: G\n", i)
	}
	return b.String()
}

func applyOptions(t *testing.T, ts *sandbox.TestServer, root, manifest string) ApplyOptions {
	o := ApplyOptions{Options: options(t, ts, root), ManifestPath: "m.yaml", Concurrency: 2, Out: io.Discard}
	o.Manifest = manifestOf(t, manifest)
	o.Valves.MaxChanges = -1
	return o
}

// A run stopped before it sent anything, then resumed: the resume continues the run's directory
// and is recorded in it, so that the resume's own id finds the run.
func TestAResumeIsRecordedInTheRunItContinues(t *testing.T) {
	ts := sandbox.NewServer(t)
	root := t.TempDir()
	o := applyOptions(t, ts, root, growers(5))
	stop := make(chan struct{})
	o.Stop = stop
	o.OnApplying = func() { close(stop) }
	first, err := Apply(t.Context(), o)
	require.NoError(t, err)
	assert.Equal(t, workspace.RunInterrupted, first.Status)
	assert.Empty(t, ts.State().Users, "stopped before the first change")

	o = applyOptions(t, ts, root, growers(5))
	o.Resume = first.RunID
	second, err := Apply(t.Context(), o)
	require.NoError(t, err)
	assert.Equal(t, workspace.RunSucceeded, second.Status)
	assert.Equal(t, first.RunID, second.RunID, "the resume continues the run")
	assert.Len(t, ts.State().Users, 5)

	ws, err := workspace.Open(root, o.Account)
	require.NoError(t, err)
	runs, err := ws.Runs()
	require.NoError(t, err)
	require.Len(t, runs, 1)
	require.Len(t, runs[0].Meta.Resumes, 1, "the resume is recorded in the run")
	found, err := ws.FindRun(runs[0].Meta.Resumes[0])
	require.NoError(t, err)
	require.NotNil(t, found, "the resume's id finds the run")
	assert.Equal(t, first.RunID, found.Meta.RunID)
}
