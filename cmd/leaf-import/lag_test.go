package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leaf-import/leaf-import/internal/leaf"
	"github.com/leaf-import/leaf-import/internal/leaf/sandbox"
	"github.com/leaf-import/leaf-import/internal/workspace"
)

// The lookup window is measured, never assumed: a facts file only raises it from its 5 s floor,
// whatever it says, and a run that sees a longer lag than its window grows it and keeps it for
// the next run.

func accountWorkspace(t *testing.T, ts *sandbox.TestServer) *workspace.Workspace {
	t.Helper()
	ws, err := workspace.Open(stateDirOf(ts), workspace.Account{URL: leaf.CanonicalURL(ts.URL), Owner: "sandbox"})
	require.NoError(t, err)
	return ws
}

// Doctor measured a 0.5 s lag on a quiet day (or the file was edited to say -100 s); today the
// lag is 3 s and 30% of the answers to POST /users are lost. No duplicate: the window stays at its
// floor, and a hostile file is named and ignored.
func TestAMeasuredLagOnlyRaisesTheLookupWindow(t *testing.T) {
	for _, tc := range []struct {
		name, facts string
		warn        string
	}{
		{"a short lag measured earlier", fmt.Sprintf(`{"measuredAt": %q, "listLagSeconds": 0.5, "patch": true}`, time.Now().UTC().Format(time.RFC3339)), ""},
		{"a negative lag", fmt.Sprintf(`{"measuredAt": %q, "listLagSeconds": -100, "patch": true}`, time.Now().UTC().Format(time.RFC3339)), "is negative"},
		{"garbage", `garbage`, "not valid JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := sandbox.NewServer(t, sandbox.WithFaults("lag=3s,reset-after-commit=0.3,route=POST /users,seed=3"))
			ws := accountWorkspace(t, ts)
			require.NoError(t, os.WriteFile(filepath.Join(ws.Dir, "facts.json"), []byte(tc.facts), 0o600))
			manifest := writeManifest(t, t.TempDir(), growersOneConnection(60), nil, "")
			code, _, stderr := runCLI(t, sandboxEnv(ts, nil), "apply", manifest, "--rate", "0", "--concurrency", "4")
			assert.Equal(t, 0, code, stderr)
			assert.Positive(t, ts.Stats().Faults[sandbox.FaultResetAfterCommit], "answers were lost")
			assert.Zero(t, duplicateUsers(ts))
			assertConverged(t, ts, manifest, nil)
			assert.NotContains(t, stderr, "lookup window from the account's measured list lag", "a short lag never lowers the window")
			if tc.warn != "" {
				assert.Contains(t, stderr, "ignoring the account's facts")
				assert.Contains(t, stderr, filepath.Join(ws.Dir, "facts.json"), "the file is named")
				assert.Contains(t, stderr, tc.warn)
			}
		})
	}
}

// Only --lookup-window on the command line goes below the floor, and even then the run grows
// it on what it sees: told 1 s under a 3 s lag, it makes no duplicate and keeps the lag it saw
// for the next run, which starts with a longer window. Facts older than a week are not used.
func TestARunLearnsTheLagOfItsOwnCreates(t *testing.T) {
	ts := sandbox.NewServer(t, sandbox.WithFaults("lag=3s,reset-after-commit=0.3,route=POST /users,seed=5"))
	ws := accountWorkspace(t, ts)
	old := fmt.Sprintf(`{"measuredAt": %q, "listLagSeconds": 0.2, "patch": false}`, time.Now().Add(-8*24*time.Hour).UTC().Format(time.RFC3339))
	require.NoError(t, os.WriteFile(filepath.Join(ws.Dir, "facts.json"), []byte(old), 0o600))
	manifest := writeManifest(t, t.TempDir(), growersOneConnection(60), nil, "")
	code, _, stderr := runCLI(t, sandboxEnv(ts, nil), "apply", manifest, "--rate", "0", "--concurrency", "4", "--lookup-window", "1s")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "too old to use")
	assert.Contains(t, stderr, "Leaf's user list lags more than the lookup window")
	assert.Zero(t, duplicateUsers(ts))
	assertConverged(t, ts, manifest, nil)
	learned, err := ws.Learned()
	require.NoError(t, err)
	lag, ok := learned.FreshLag(time.Now())
	require.True(t, ok, "the lag is kept: %+v", learned)
	assert.GreaterOrEqual(t, lag, time.Second)

	more := writeManifest(t, t.TempDir(), growersOneConnection(70), nil, "")
	code, _, stderr = runCLI(t, sandboxEnv(ts, nil), "apply", more, "--rate", "0", "--concurrency", "4")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "lookup window from the list lag an earlier run saw")
	assert.Zero(t, duplicateUsers(ts))
}

// Lag and faults at once, on 520 growers: the run's own creates keep appearing while parked
// creates are settled by reads of every page (the total moves under them), and the run still
// settles every create and exits 0, with no duplicate, for two seeds.
func TestLagAndFaultsTogetherSettle(t *testing.T) {
	for _, seed := range []int{2, 4} {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			ts := sandbox.NewServer(t, sandbox.WithFaults(fmt.Sprintf(
				"503=0.05,reset-after-commit=0.02,reset-before-commit=0.02,lag=1s,latency=20ms,seed=%d", seed)))
			manifest := writeManifest(t, t.TempDir(), growersOneConnection(520), nil, "")
			code, _, stderr := runCLI(t, sandboxEnv(ts, nil), "apply", manifest, "--rate", "0", "--concurrency", "8")
			require.Equal(t, 0, code, stderr)
			st := ts.Stats()
			t.Logf("faults: %v", st.Faults) // the lag shows only when a list is read within 1 s of a create
			assert.Positive(t, st.Faults[sandbox.FaultResetAfterCommit], "answers were lost")
			assert.Zero(t, duplicateUsers(ts))
			assert.Zero(t, st.Mutations.DuplicateUserCreates)
			assertConverged(t, ts, manifest, nil)
		})
	}
}
