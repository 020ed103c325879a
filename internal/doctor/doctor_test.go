package doctor

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leaf-import/leaf-import/internal/leaf/sandbox"
	"github.com/leaf-import/leaf-import/internal/workspace"
)

func check(rep *Report, name string) *Check {
	for i := range rep.Checks {
		if rep.Checks[i].Name == name {
			return &rep.Checks[i]
		}
	}
	return nil
}

// A doctor whose probe create lost its answer, on an account whose lists lag, leaves a probe
// that neither it nor a list read right after can see. Its intent is journaled in the doctor's
// run, so the next doctor settles it by lookup and deletes the probe.
func TestTheNextDoctorDeletesAProbeTheListsDoNotShowYet(t *testing.T) {
	ts := sandbox.NewServer(t)
	require.NoError(t, ts.SetFaults("reset-after-commit=1,route=POST /users,lag=2s"))
	root := t.TempDir()
	o := Options{Options: options(t, ts, root), Wait: 5 * time.Second, Poll: 50 * time.Millisecond}
	rep, err := Run(t.Context(), o)
	require.NoError(t, err)
	require.NotNil(t, check(rep, "probe-create"))
	assert.False(t, check(rep, "probe-create").OK)
	require.Len(t, probes(ts), 1, "the probe was created; its answer was lost")

	require.NoError(t, ts.SetFaults("lag=2s"))
	o.Client = ts.Client(t)
	rep, err = Run(t.Context(), o)
	require.NoError(t, err)
	assert.Equal(t, 1, check(rep, "probe-cleanup").Observed, "the earlier probe was deleted")
	assert.True(t, check(rep, "probe-deleted").OK)
	assert.Empty(t, probes(ts), "no probe is left")

	ws, err := workspace.Open(root, o.Account)
	require.NoError(t, err)
	runs, err := ws.Runs()
	require.NoError(t, err)
	require.Len(t, runs, 2, "each doctor is a run of the account")
	for _, r := range runs {
		assert.Equal(t, "doctor", r.Meta.Command)
		assert.True(t, r.Meta.Settled, "run %s", r.Meta.RunID)
	}
}
