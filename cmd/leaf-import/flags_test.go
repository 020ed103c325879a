package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Flag parsing is checked through the commands' run-function seam: no Leaf, no process.
func TestApplyFlagsReachTheOptions(t *testing.T) {
	f := &Factory{IO: &IOStreams{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}, LookupEnv: func(string) (string, bool) { return "", false }}
	var got *ApplyOptions
	cmd := NewCmdApply(f, func(_ context.Context, o *ApplyOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"m.yaml", "--rate", "0", "--keep-runs", "7", "--accept-notices", "--patch", "put",
		"--metrics-file", "x.prom", "--resume", "RUN", "--concurrency", "3"})
	require.NoError(t, cmd.ExecuteContext(context.Background()))
	require.NotNil(t, got)
	assert.Equal(t, "m.yaml", got.Manifest)
	assert.Equal(t, 7, got.KeepRuns)
	assert.True(t, got.AcceptNotices)
	assert.Equal(t, "put", got.Patch)
	assert.Equal(t, "x.prom", got.MetricsFile)
	assert.Equal(t, "RUN", got.Resume)
	assert.Equal(t, 3, got.Concurrency)
	assert.False(t, got.LookupWindowSet, "the account's facts decide the window unless the flag is given")

	cmd = NewCmdApply(f, func(_ context.Context, o *ApplyOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"m.yaml", "--lookup-window", "2s"})
	require.NoError(t, cmd.ExecuteContext(context.Background()))
	assert.True(t, got.LookupWindowSet)
	assert.Equal(t, 2*time.Second, got.LookupWindow)

	for _, bad := range [][]string{{"m.yaml", "--patch", "maybe"}, {"m.yaml", "--keep-runs", "-1"}, {"m.yaml", "--concurrency", "0"}} {
		cmd = NewCmdApply(f, func(context.Context, *ApplyOptions) error { t.Fatal("must not run"); return nil })
		cmd.SetArgs(bad)
		cmd.SetOut(&bytes.Buffer{})
		cmd.SetErr(&bytes.Buffer{})
		assert.Equal(t, exitError, exitCode(cmd.ExecuteContext(context.Background())), "%v", bad)
	}
}
