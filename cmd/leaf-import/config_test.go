package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leaf-import/leaf-import/internal/leaf/sandbox"
)

// configManifest writes n growers with an AgLeader connection each, the defaults turning
// operations sync off and every third grower turning it back on.
func configManifest(t *testing.T, dir string, n int, fieldsSync string) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "version: 1\ndefaults:\n  config: {fieldsAutoSync: %s, operationsAutoSync: false}\n  AgLeader: {publicKey: p, privateKey: k}\ngrowers:\n", fieldsSync)
	for i := range n {
		fmt.Fprintf(&b, "  - externalId: g%03d\n    name: G%d\n", i, i)
		if i%3 == 0 {
			b.WriteString("    config: {operationsAutoSync: true}\n")
		}
		fmt.Fprintf(&b, "    connections:\n      AgLeader: {refreshToken: rt-%d}\n", i)
	}
	path := filepath.Join(dir, "m.yaml")
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o600))
	return path
}

func configReads(st sandbox.Stats) int { return st.Requests.ByRoute["GET /configs/{leafUserId}"] }

func userConfigs(ts *sandbox.TestServer) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, u := range ts.State().Users {
		out[u.ExternalID] = u.Config
	}
	return out
}

func TestConfigIsSetBeforeCredentialsAndNotReadOnANoopNight(t *testing.T) {
	ts := sandbox.NewServer(t)
	dir := t.TempDir()
	manifest := configManifest(t, dir, 30, "false")
	env := sandboxEnv(ts, nil)

	code, _, stderr := runCLI(t, env, "apply", manifest, "--rate", "0", "--concurrency", "8")
	require.Equal(t, 0, code, stderr)
	st := ts.Stats()
	assert.Equal(t, 30, st.Mutations.ConfigWrites)
	assert.Zero(t, st.Mutations.ConfigsAfterCredentials, "every config was set before the grower's credential")
	assert.Zero(t, configReads(st), "new users need no config read")
	for ext, cfg := range userConfigs(ts) {
		assert.Equal(t, false, cfg["fieldsAutoSync"], ext)
		n, err := strconv.Atoi(ext[1:])
		require.NoError(t, err)
		assert.Equal(t, n%3 == 0, cfg["operationsAutoSync"], "a grower's own flag wins over the default: %s", ext)
	}

	// The nightly no-op: the workspace's record stands for the 30 reads.
	ts.ResetStats()
	code, out, stderr := runCLI(t, env, "apply", manifest, "--rate", "0")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "No changes")
	assert.Zero(t, configReads(ts.Stats()), "a no-op night reads no config")
	assert.Equal(t, 1, ts.Stats().Requests.ByRoute["GET /users"], "one page of users, nothing else")

	// A changed default is read only where it changes something: every grower here.
	manifest = configManifest(t, dir, 30, "true")
	ts.ResetStats()
	code, out, stderr = runCLI(t, env, "plan", manifest, "--rate", "0")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, 30, configReads(ts.Stats()))
	assert.Contains(t, out, "fieldsAutoSync false -> true")
	assert.Contains(t, out, "30 to update")
}

func TestRefreshConfigFindsDrift(t *testing.T) {
	ts := sandbox.NewServer(t)
	dir := t.TempDir()
	manifest := configManifest(t, dir, 6, "false")
	env := sandboxEnv(ts, nil)
	code, _, stderr := runCLI(t, env, "apply", manifest, "--rate", "0")
	require.Equal(t, 0, code, stderr)

	// Someone turns a flag back on in Leaf.
	st := ts.State()
	for _, u := range st.Users {
		if u.ExternalID == "g004" {
			u.Config["fieldsAutoSync"] = true
		}
	}
	require.NoError(t, ts.LoadState(st))

	ts.ResetStats()
	code, out, _ := runCLI(t, env, "plan", manifest, "--rate", "0", "--detailed-exitcode")
	assert.Equal(t, 0, code, "the record is trusted by default: %s", out)
	assert.Zero(t, configReads(ts.Stats()))

	code, out, _ = runCLI(t, env, "plan", manifest, "--rate", "0", "--detailed-exitcode", "--refresh-config")
	assert.Equal(t, 2, code, out)
	assert.Equal(t, 6, configReads(ts.Stats()), "--refresh-config reads every managed grower's config")
	assert.Contains(t, out, "~ config g004: fieldsAutoSync true -> false")

	code, _, stderr = runCLI(t, env, "apply", manifest, "--rate", "0", "--refresh-config")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, false, userConfigs(ts)["g004"]["fieldsAutoSync"])
}

// A config write that fails (Leaf may have applied it in part) leaves no record claiming a
// config: the next plan reads those users.
func TestConfigRecordIsDroppedForAFailedWrite(t *testing.T) {
	ts := sandbox.NewServer(t)
	dir := t.TempDir()
	env := sandboxEnv(ts, nil)
	manifest := configManifest(t, dir, 3, "false")
	code, _, stderr := runCLI(t, env, "apply", manifest, "--rate", "0")
	require.Equal(t, 0, code, stderr)

	// The next run's config writes all fail: its plan had changes, so no record may claim
	// them applied, and the night after must read (and fix) the configs.
	manifest = configManifest(t, dir, 3, "true")
	require.NoError(t, ts.SetFaults("500=1,route=PATCH /configs/{leafUserId}"))
	code, _, _ = runCLI(t, env, "apply", manifest, "--rate", "0")
	assert.Equal(t, 3, code, "the config changes failed")
	for ext, cfg := range userConfigs(ts) {
		assert.Equal(t, false, cfg["fieldsAutoSync"], "%s: nothing was set", ext)
	}
	require.NoError(t, ts.SetFaults(""))

	// Back to the first manifest: Leaf holds it, and the plan must read to know that.
	manifest = configManifest(t, dir, 3, "false")
	ts.ResetStats()
	code, out, stderr := runCLI(t, env, "plan", manifest, "--rate", "0")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "No changes")
	assert.Equal(t, 3, configReads(ts.Stats()), "the failed writes dropped their records: the plan reads")

	manifest = configManifest(t, dir, 3, "true")
	code, _, stderr = runCLI(t, env, "apply", manifest, "--rate", "0")
	require.Equal(t, 0, code, stderr)
	for ext, cfg := range userConfigs(ts) {
		assert.Equal(t, true, cfg["fieldsAutoSync"], ext)
	}
}

// A crash costs the reads of what was in doubt only: the configs the killed run's journal shows
// written are recorded by the next run, which reads back only the writes in flight at the kill
// (at most one per worker), not every grower the killed run created.
func TestACrashCostsTheConfigReadsOfWhatWasInDoubtOnly(t *testing.T) {
	ts := sandbox.NewServer(t, sandbox.WithFaults("latency=5ms"))
	dir := t.TempDir()
	manifest := configManifest(t, dir, 150, "false")
	p := startProc(t, ts, dir, "apply", manifest, "--rate", "0", "--concurrency", "4")
	require.True(t, waitFor(30*time.Second, func() bool { return ts.Stats().Mutations.ConfigWrites >= 60 }))
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGKILL))
	require.Equal(t, -int(syscall.SIGKILL), p.wait(t, 10*time.Second))
	written := ts.Stats().Mutations.ConfigWrites

	env := sandboxEnv(ts, nil)
	ts.ResetStats()
	code, _, stderr := runCLI(t, env, "apply", manifest, "--rate", "0")
	require.Equal(t, 0, code, stderr)
	assert.LessOrEqual(t, configReads(ts.Stats()), 4, "only the writes in flight are read back, not the %d written", written)
	assert.Contains(t, stderr, "settled the requests earlier runs left in doubt")
	assertConverged(t, ts, manifest, nil)

	ts.ResetStats()
	code, out, stderr := runCLI(t, env, "plan", manifest, "--rate", "0")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "No changes")
	assert.Zero(t, configReads(ts.Stats()), "the run after recorded every config")
}
