package main

import (
	"bytes"
	"context"
	"github.com/leaf-import/leaf-import/internal/lifecycle"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Flag parsing is checked through the commands' run-function seam: no Leaf, no process.
func TestApplyFlagsReachTheOptions(t *testing.T) {
	f := &Factory{IO: &IOStreams{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}, LookupEnv: func(string) (string, bool) { return "", false }}
	var got *ApplyOptions
	cmd := NewCmdApply(f, func(_ context.Context, o *ApplyOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"m.yaml", "--rate", "0", "--keep-runs", "7", "--accept-notices", "--patch", "put",
		"--metrics-file", "x.prom", "--metrics-push", "http://pg:9091", "--resume", "RUN", "--concurrency", "3"})
	require.NoError(t, cmd.ExecuteContext(context.Background()))
	require.NotNil(t, got)
	assert.Equal(t, "m.yaml", got.Manifest)
	assert.Equal(t, 7, got.KeepRuns)
	assert.True(t, got.AcceptNotices)
	assert.Equal(t, lifecycle.PatchPut, got.Patch)
	assert.Equal(t, metricsFlags{file: "x.prom", push: "http://pg:9091"}, got.Metrics)
	assert.Equal(t, "RUN", got.Resume)
	assert.Equal(t, 3, got.Concurrency)
	assert.False(t, got.LookupWindowSet, "the account's facts decide the window unless the flag is given")

	cmd = NewCmdApply(f, func(_ context.Context, o *ApplyOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"m.yaml", "--lookup-window", "2s"})
	require.NoError(t, cmd.ExecuteContext(context.Background()))
	assert.True(t, got.LookupWindowSet)
	assert.Equal(t, 2*time.Second, got.LookupWindow)

	for _, bad := range [][]string{{"m.yaml", "--patch", "maybe"}, {"m.yaml", "--keep-runs", "-1"}, {"m.yaml", "--concurrency", "0"},
		{"m.yaml", "--progress-every", "0s"}} {
		cmd = NewCmdApply(f, func(context.Context, *ApplyOptions) error { t.Fatal("must not run"); return nil })
		cmd.SetArgs(bad)
		cmd.SetOut(&bytes.Buffer{})
		cmd.SetErr(&bytes.Buffer{})
		assert.Equal(t, exitError, exitCode(cmd.ExecuteContext(context.Background())), "%v", bad)
	}
}

// --rate takes a number or "auto" (any case) on every command that talks to Leaf; a negative or
// unreadable value is a usage error before anything runs.
func TestRateFlagOnEveryCommand(t *testing.T) {
	f := &Factory{IO: &IOStreams{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}, LookupEnv: func(string) (string, bool) { return "", false }}
	commands := map[string]func(got *rateFlag) *cobra.Command{
		"apply": func(got *rateFlag) *cobra.Command {
			return NewCmdApply(f, func(_ context.Context, o *ApplyOptions) error { *got = o.Diff.Rate; return nil })
		},
		"plan": func(got *rateFlag) *cobra.Command {
			return NewCmdPlan(f, func(_ context.Context, o *PlanOptions) error { *got = o.Diff.Rate; return nil })
		},
		"status": func(got *rateFlag) *cobra.Command {
			return NewCmdStatus(f, func(_ context.Context, o *StatusOptions) error { *got = o.Rate; return nil })
		},
		"export": func(got *rateFlag) *cobra.Command {
			return NewCmdExport(f, func(_ context.Context, o *ExportOptions) error { *got = o.Rate; return nil })
		},
		"link-keys": func(got *rateFlag) *cobra.Command {
			return NewCmdLinkKeys(f, func(_ context.Context, o *LinkKeysOptions) error { *got = o.Rate; return nil })
		},
		"doctor": func(got *rateFlag) *cobra.Command {
			return NewCmdDoctor(f, func(_ context.Context, o *DoctorOptions) error { *got = o.Rate; return nil })
		},
	}
	args := map[string][]string{"apply": {"m.yaml"}, "plan": {"m.yaml"}, "export": {"--out", "d"}, "link-keys": {"m.yaml", "--out", "k.csv"}}
	for name, mk := range commands {
		for _, c := range []struct {
			value string
			want  rateFlag
		}{{"", rateFlag{perSecond: defaultRate}}, {"auto", rateFlag{auto: true}}, {"AUTO", rateFlag{auto: true}}, {"2.5", rateFlag{perSecond: 2.5}}, {"0", rateFlag{}}} {
			var got rateFlag
			cmd := mk(&got)
			a := args[name]
			if c.value != "" {
				a = append(append([]string{}, a...), "--rate", c.value)
			}
			cmd.SetArgs(a)
			require.NoError(t, cmd.ExecuteContext(context.Background()), "%s --rate %q", name, c.value)
			assert.Equal(t, c.want, got, "%s --rate %q", name, c.value)
		}
		for _, bad := range []string{"-1", "fast", "NaN"} {
			var got rateFlag
			cmd := mk(&got)
			cmd.SetArgs(append(append([]string{}, args[name]...), "--rate", bad))
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			assert.Equal(t, exitError, exitCode(cmd.ExecuteContext(context.Background())), "%s --rate %s", name, bad)
		}
	}
}
